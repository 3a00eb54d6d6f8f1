"""Safe file handling: atomic writes, clear errors for missing or damaged inputs, weights-only state dicts, and pinned,
sha256-checked downloads."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

LOG = logging.getLogger(__name__)


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


class ChecksumError(ValueError):
    """A downloaded file's sha256 differs from the expected one."""


def sha256_file(path: str | Path, chunk_size: int = 1 << 20, algorithm: str = "sha256") -> str:
    """The hex digest (sha256 unless ``algorithm`` says otherwise) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def digest_record(dest: str | Path) -> Path:
    """Where the first download of ``dest`` records its digest (trust on first use)."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".sha256")


def expected_digest(dest: str | Path, sha256: str | None) -> str | None:
    """The digest a download of ``dest`` must have: the given one, else the recorded one, else None."""
    if sha256:
        return sha256.lower()
    record = digest_record(dest)
    return record.read_text().split()[0] if record.is_file() else None


def verify_sha256(path: str | Path, expected: str | None, name: str | None = None, algorithm: str = "sha256") -> str:
    """Check ``path`` against ``expected`` (full digest or a prefix >= 8 hex digits); return the digest.

    On a mismatch the file is removed and :class:`ChecksumError` names it, the expected and the
    actual digest. ``algorithm``: ``"sha256"``, or ``"md5"`` where only that is published.
    """
    path = Path(path)
    actual = sha256_file(path, algorithm=algorithm)
    if expected is not None:
        if len(expected) < 8:
            raise ValueError(f"expected sha256 {expected!r} of {name or path}: give at least 8 hex digits")
        if not actual.startswith(expected.lower()):
            size = path.stat().st_size
            path.unlink()
            raise ChecksumError(
                f"{name or path}: {algorithm} mismatch: expected {expected}, got {actual} ({size} bytes); "
                "the file was removed, run again to re-download"
            )
    return actual


def fetch_checked(
    fetch: Callable[[Path], None], dest: str | Path, sha256: str | None, algorithm: str = "sha256"
) -> str:
    """Download with ``fetch(temporary_path)``, check the digest, then move into ``dest``; return the digest.

    With no digest given or recorded, the first download's digest is recorded in ``<dest>.sha256``
    and a warning says how to pin it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    expected = expected_digest(dest, sha256) if algorithm == "sha256" else sha256
    try:
        fetch(tmp)
        if not tmp.is_file():
            raise FileNotFoundError(f"{dest}: the download produced no file")
        actual = verify_sha256(tmp, expected, name=str(dest), algorithm=algorithm)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dest)
    if expected is None and algorithm == "sha256":
        write_text(f"{actual}  {dest.name}\n", digest_record(dest))
        LOG.warning("%s: no sha256 given; recorded %s in %s (pin it in the config)", dest, actual, digest_record(dest))
    return actual


def url_fetcher(url: str) -> Callable[[Path], None]:
    """A fetcher for a plain URL (``torch.hub.download_url_to_file``, with a progress bar)."""
    import torch.hub

    return lambda tmp: torch.hub.download_url_to_file(url, str(tmp), progress=True)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a ``.pt``/``.pth`` file, read with ``weights_only=True`` (no arbitrary unpickling).

    Unwraps a top-level ``"state_dict"`` entry if present.
    """
    import torch

    p = require_file(path, "a PyTorch state dict (.pt / .pth)")
    try:
        checkpoint = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError... on damaged files
        raise ValueError(f"{p}: not a readable weights-only PyTorch checkpoint (truncated?): {err}") from err
    if isinstance(checkpoint, Mapping) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{p}: expected a state dict (a mapping of tensors), found {type(checkpoint).__name__}")
    return dict(checkpoint)
