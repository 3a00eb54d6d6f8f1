"""Restarting after kill -9: the run lock dies with its process, and interrupted writes leave nothing used."""

import signal
import subprocess
import sys

from diffrob.io import atomic_path, remove_stale_temporaries, try_exclusive_lock

HOLD = "import sys, time; from diffrob.io import try_exclusive_lock; fd = try_exclusive_lock(sys.argv[1]); "
HOLD += "print('held' if fd is not None else 'busy', flush=True); time.sleep(120)"


def test_the_run_lock_is_held_by_a_live_process_only_and_freed_by_kill_9(tmp_path):
    lock = tmp_path / ".snakemake" / "diffrob-run.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert try_exclusive_lock(lock) is None  # a live run holds it
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert try_exclusive_lock(lock) is not None  # the kernel released it with the killed process


def test_stale_temporaries_are_removed_and_everything_else_kept(tmp_path):
    data = tmp_path / "data"
    (data / "adversarial").mkdir(parents=True)
    left_file = data / "adversarial" / ".pgd-fixed-seed0.safetensors.k2j9x.tmp"
    left_folder = data / ".ddpm.a8f3.tmp"
    (left_folder / "unet").mkdir(parents=True)
    (left_folder / "unet" / "weights.safetensors").write_bytes(b"partial")
    kept = [data / "adversarial" / "pgd-fixed-seed0.safetensors", data / ".hidden", data / "notes.tmp"]
    for path in [left_file, *kept]:
        path.write_bytes(b"x")
    removed = remove_stale_temporaries([data, tmp_path / "paper"])  # a missing folder is skipped
    assert set(removed) == {left_file, left_folder}
    assert all(path.exists() for path in kept) and not left_file.exists() and not left_folder.exists()


def test_an_interrupted_atomic_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
