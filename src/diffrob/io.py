"""Safe file handling: atomic writes and clear errors for missing or damaged inputs."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TEMPORARY_SUFFIX = ".tmp"
"""Suffix of the temporaries :func:`atomic_path` and :func:`atomic_dir` write (``.<name>.<random>.tmp``)."""


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for child in sorted(folder.rglob("*")):
        _fsync(child)
    _fsync(folder)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; flush it to the disk and rename it onto ``path`` only if the
    block succeeds.

    A crash inside the block leaves no half-written ``path``; a kill -9 may leave the temporary
    (``.<name>.<random>.tmp``), which :func:`remove_stale_temporaries` clears.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; move it onto ``path`` only if the block succeeds."""
    import shutil

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent))
    try:
        yield tmp
        _fsync_tree(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        _fsync(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def remove_stale_temporaries(folders: Iterable[str | Path]) -> list[Path]:
    """Remove what :func:`atomic_path` / :func:`atomic_dir` left under ``folders`` when killed; the removed paths.

    Only safe when no writer is running there (the workflow calls it holding its run lock).
    """
    import shutil

    removed = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob(f".*{TEMPORARY_SUFFIX}"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue  # inside a temporary folder already removed
            removed.append(path)
    return removed


def try_exclusive_lock(path: str | Path) -> int | None:
    """An open descriptor holding an exclusive ``flock`` on ``path`` (created if missing), or None when
    another live process holds it. The kernel releases it when the holder exits, kill -9 included."""
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def write_json(data: Any, path: str | Path) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    """Parse a JSON file written by :func:`write_json`; a missing, empty or damaged one raises naming it."""
    p = require_file(path, "a JSON file written by the workflow")
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{p}: not valid JSON (truncated or corrupted?): {err}") from err


def write_text(text: str, path: str | Path) -> None:
    """Write ``text``, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_tensors(
    path: str | Path, what: str, names: Iterable[str], framework: str = "pt"
) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors (torch's, or numpy arrays with ``framework="numpy"``) and metadata of a safetensors file holding
    at least ``names``; a missing, empty, truncated or corrupted file, or one without those tensors, raises
    ``ValueError``/``FileNotFoundError`` naming it and ``what`` was expected. Reads only: the file is never changed."""
    from safetensors import SafetensorError, safe_open

    if framework == "numpy":
        from safetensors.numpy import load_file
    else:
        from safetensors.torch import load_file

    p = require_file(path, what)
    try:
        with safe_open(str(p), framework=framework) as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{p}: unreadable (truncated or corrupted?); expected {what}: {err}") from err
    missing = sorted(set(names) - set(tensors))
    if missing:
        raise ValueError(f"{p}: missing tensors {missing}; expected {what}")
    return tensors, metadata


def require_file(path: str | Path, what: str) -> Path:
    """``path`` if it is a non-empty file, else ``FileNotFoundError`` naming it and ``what`` was expected."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: missing; expected {what}")
    if p.stat().st_size == 0:
        raise ValueError(f"{p}: empty file; expected {what}")
    return p
