"""A training loop's resumable state: model, EMA, optimiser and random-generator states saved every N steps.

A fine-tune of the paper-scale profiles runs for hours (ADDT: ~50 epochs of CIFAR-10, ~12 h on four GPUs) and a
SLURM job may be stopped at its time limit; the loop saves its whole state every ``every`` steps (one epoch by
default) and a rerun continues from the last saved step. Everything that decides the next step is saved, so on
the CPU a resumed run ends with the same weights, bit for bit, as an uninterrupted one.

The state file (``state.pt``) is written atomically and flushed; it carries the job's identity (a digest of its
settings, starting weights and code: :func:`diffrob.resume.job_identity`) and is ignored under another identity.
It holds only tensors, numbers, strings and lists, and is read back with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from diffrob.io import atomic_path

LOG = logging.getLogger(__name__)


STATE_FILE = "state.pt"


@dataclass(frozen=True)
class StepCheckpoints:
    """Where a training loop keeps its state (``folder``), under which ``identity``, and how often (``every``
    steps; ``0``: never)."""

    folder: Path
    identity: str
    every: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder))  # a str from the workflow's params is a path too

    def due(self, finished_steps: int, total_steps: int) -> bool:
        """Whether the state after ``finished_steps`` steps is to be saved (never after the last step: the
        finished model is the job's output)."""
        return self.every > 0 and finished_steps % self.every == 0 and finished_steps < total_steps

    def save(self, state: Mapping[str, Any]) -> None:
        """Write ``state`` (with this identity) atomically over the previous one."""
        with atomic_path(self.folder / STATE_FILE) as tmp:
            torch.save({**state, "identity": self.identity}, tmp)
        LOG.info("saved the training state after step %d to %s", state["step"], self.folder / STATE_FILE)

    def load(self) -> dict[str, Any] | None:
        """The saved state of this identity, or None (no file, an unreadable one, or another identity's)."""
        path = self.folder / STATE_FILE
        if not path.is_file():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - a damaged state is never used: the loop starts over
            LOG.warning("ignoring the unreadable training state %s (%s)", path, error)
            return None
        if not isinstance(state, dict) or state.get("identity") != self.identity:
            LOG.warning("ignoring the training state %s: saved by another job (settings, weights or code)", path)
            return None
        LOG.info("resuming after step %d from %s", state["step"], path)
        return state

    def clear(self) -> None:
        """Remove the saved state (the job's output is written: nothing is left to resume)."""
        (self.folder / STATE_FILE).unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()


def random_states(device: torch.device) -> dict[str, torch.Tensor]:
    """The global random states a step draws from (dropout): the CPU's, and the device's when it is a GPU."""
    states = {"cpu_rng": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda_rng"] = torch.cuda.get_rng_state(device)
    return states


def restore_random_states(state: Mapping[str, Any], device: torch.device) -> None:
    """Set the global random states saved by :func:`random_states`."""
    torch.set_rng_state(state["cpu_rng"])
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
