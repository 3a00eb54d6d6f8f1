"""Process set-up for entry points: CPU threads, log file, device."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch


def configure(threads: int, log_path: str | Path | None = None) -> None:
    """Use ``threads`` CPU threads and send stderr (tqdm, warnings, logging) to ``log_path`` if given."""
    torch.set_num_threads(max(1, int(threads)))
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_path, "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def device() -> torch.device:
    """The CUDA device when one is visible, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
