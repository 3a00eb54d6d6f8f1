"""Helpers of the crash test: run a workflow command, kill its whole process group with SIGKILL at chosen
moments, and record what had finished (and so must never be computed again) and what was running."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import environment

IN_A_SHARD = "inside an attack shard"  # a kill moment: as soon as a shard has saved a batch and not finished
REUSED = re.compile(r"batches reused from (\S+): \[([\d, ]*)\]; computed: \[([\d, ]*)\]")


@dataclass
class Kill:
    """One kill -9: when (seconds after the start, or IN_A_SHARD), the jobs running (their outputs), the
    finished outputs with their (inode, mtime_ns), the saved batch that made an IN_A_SHARD kill, and the
    batch reuse the job logs recorded by then (:func:`reuse_in_logs`; a job run again overwrites its log)."""

    when: float | str
    running: set[str]
    finished: dict[Path, tuple[int, int]]
    batch: Path | None = None
    reuse: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)


@dataclass
class Crashes:
    """The kills of one crash run, in order."""

    kills: list[Kill] = field(default_factory=list)

    def describe(self) -> str:
        """One line per kill: when, and which jobs it interrupted."""
        lines = []
        for k in self.kills:
            when = k.when if isinstance(k.when, str) else f"{k.when:.1f} s"
            lines.append(f"kill at {when}: {len(k.finished)} finished outputs, running {sorted(k.running) or '-'}")
        return "\n".join(lines)


def _files(root: Path) -> list[Path]:
    """Every file under ``root``, skipping hidden ones and hidden folders (interrupted writes' temporaries);
    folders that vanish during the walk (a job finishing, a temporary renamed) are skipped."""
    found = []
    for folder, subfolders, names in os.walk(root, onerror=lambda error: None):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        found += [Path(folder) / n for n in names if not n.startswith(".")]
    return found


def incomplete(workdir: Path, since: float | None = None) -> set[str]:
    """Outputs Snakemake has marked incomplete (jobs started, not finished), relative to ``workdir``; with
    ``since`` (a time.time()), only those marked at or after it (the jobs of the current run).

    Snakemake keeps one file per output under ``.snakemake/incomplete``, named by the output path's
    url-safe base64, split into folders prefixed ``@`` when longer than a file name may be."""
    markers = workdir / ".snakemake" / "incomplete"
    keys = set()
    for marker in _files(markers) if markers.is_dir() else []:
        if marker.name == "migration_underway":
            continue
        try:
            if since is not None and marker.stat().st_mtime < since:
                continue
        except FileNotFoundError:
            continue
        encoded = "".join(part.removeprefix("@") for part in marker.relative_to(markers).parts)
        key = base64.urlsafe_b64decode(encoded).decode()
        keys.add(key.removeprefix(f"{workdir}/").rstrip("/"))
    return keys


def finished(workdir: Path) -> dict[Path, tuple[int, int]]:
    """Every output file under data/ that Snakemake does not mark incomplete: (inode, mtime_ns).

    Outputs are written to a temporary and renamed, so a recomputed file has a new inode."""
    running = incomplete(workdir)
    done = {}
    for path in _files(workdir / "data"):
        relative = str(path.relative_to(workdir))
        if "partial" in path.parts or any(relative == k or relative.startswith(k + "/") for k in running):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        done[path] = (stat.st_ino, stat.st_mtime_ns)
    return done


def _first_batches(workdir: Path) -> set[Path]:
    """Saved first batches of attack shards whose second batch is not saved yet."""
    batches = {p for p in _files(workdir / "data" / "partial" / "adversarial") if p.name.startswith("batch-")}
    first = {p for p in batches if p.name == "batch-00000.safetensors"}
    return {p for p in first if p.with_name("batch-00001.safetensors") not in batches}


def wait_for_a_batch(workdir: Path, process: subprocess.Popen, timeout: float = 900) -> Path | None:
    """Stop the run (SIGSTOP to its process group) as soon as an attack shard has saved its first batch and
    not its second, one that was not there when it started; that batch, or None if the run ended first."""
    before = _first_batches(workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        fresh = _first_batches(workdir) - before
        if fresh:
            os.killpg(process.pid, signal.SIGSTOP)
            return sorted(fresh)[0]
        time.sleep(0.01)
    return None


def kill_repeatedly(command: list[str], workdir: Path, moments: list[float | str]) -> Crashes:
    """Start ``command`` in ``workdir`` once per moment, stop its process group at that moment (seconds after
    the start, or IN_A_SHARD), note what had finished and what was running, and kill it with SIGKILL; a run
    that ends before its moment is an error."""
    crashes = Crashes()
    for when in moments:
        started = time.time()
        process = subprocess.Popen(
            command, cwd=workdir, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        batch = None
        if when == IN_A_SHARD:
            batch = wait_for_a_batch(workdir, process)
        else:
            deadline = time.monotonic() + float(when)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.05)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGSTOP)
        if process.poll() is not None:
            raise AssertionError(f"{command} ended (code {process.returncode}) before the kill at {when}")
        kill = Kill(when, incomplete(workdir, since=started), finished(workdir), batch, reuse_in_logs(workdir))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        crashes.kills.append(kill)
    return crashes


def reuse_in_logs(workdir: Path) -> dict[str, tuple[list[int], list[int]]]:
    """From every job log: the saved batches a resumable job loaded back and those it computed, by folder."""
    found = {}
    for log in (workdir / "logs").rglob("*.log"):
        for folder, reused, computed in REUSED.findall(log.read_text()):
            numbers = [[int(n) for n in group.split(",") if n.strip()] for group in (reused, computed)]
            found[folder] = (numbers[0], numbers[1])
    return found
