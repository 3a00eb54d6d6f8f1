"""Helpers for tests that run the workflow in a scratch copy of the repository."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Two single-threaded jobs at a time: the tiny jobs are dominated by start-up, not compute.
FAST = "--cores 2 --max-threads 1 --resources gpu=2"


def snakemake(workdir: Path, *args: str) -> list[str]:
    """A snakemake command line running this repository's Snakefile in ``workdir``."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]


def environment() -> dict[str, str]:
    """The current environment with this interpreter's bin folder first on PATH (snakemake, dvc)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(args: list[str], cwd: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run a command in ``cwd`` and return the completed process (stdout and stderr captured)."""
    return subprocess.run(args, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout)


def scratch_repository(target: Path, config: Path = ROOT / ".test" / "config.yaml") -> Path:
    """A git repository at ``target`` holding this working tree's files (tracked and untracked, not ignored),
    with ``config`` as its config.yaml."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copy(config, target / "config.yaml")
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scratch"],
    ):
        subprocess.run(command, cwd=target, check=True, capture_output=True)
    return target


def digests(root: Path, folders: list[str]) -> dict[str, str]:
    """sha256 of every file under ``folders`` of ``root``, keyed by relative path."""
    out = {}
    for folder in folders:
        base = root / folder
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def dvc_round_trip(project: Path, workdir: Path, outputs: list[str], store: Path) -> None:
    """Push ``project``'s cache to a local remote ``store``, delete the cache and ``outputs`` (under
    ``workdir``), pull them back, and assert every file came back byte-identical."""
    assert run(["dvc", "remote", "add", "--local", "-d", "store", str(store)], project).returncode == 0
    pushed = run(["dvc", "push"], project)
    assert pushed.returncode == 0, pushed.stderr
    before = digests(workdir, outputs)
    shutil.rmtree(project / ".dvc" / "cache")
    for path in outputs:
        target = workdir / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    pulled = run(["dvc", "pull"], project)
    assert pulled.returncode == 0, pulled.stderr
    assert digests(workdir, outputs) == before
