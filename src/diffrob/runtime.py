"""Process set-up for entry points: CPU threads, log file, device.

Nothing here imports torch at module level: the paper's tables, figures and report are made by jobs that
never need it, and a job that does not import torch starts in a fraction of a second instead of seconds.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def configure(threads: int, log_path: str | Path | None = None) -> None:
    """Use ``threads`` CPU threads and send stderr (tqdm, warnings, logging) to ``log_path`` if given.

    Torch, if already imported, is told directly; otherwise the OpenMP/BLAS variables it reads when it loads.
    """
    threads = max(1, int(threads))
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_path, "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


def device() -> torch.device:
    """The CUDA device when one is visible, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
