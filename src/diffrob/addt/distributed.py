"""Data-parallel training on the GPUs of one node: one process per GPU, gradients averaged by torch's DDP.

:func:`launch` runs a function in ``world`` processes joined by a process group (NCCL on GPUs, gloo on the
CPU, where the tests run it) and in this process when ``world`` is 1; the function receives its :class:`Ranks`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Ranks:
    """This process's place among the data-parallel processes: ``rank`` of ``world``."""

    rank: int = 0
    world: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world:
            raise ValueError(f"rank {self.rank} is not in [0, {self.world})")

    @property
    def main(self) -> bool:
        """Whether this process writes (logs, checkpoints, the result): rank 0."""
        return self.rank == 0

    def device(self) -> torch.device:
        """This rank's GPU when there are GPUs, else the CPU."""
        return torch.device("cuda", self.rank) if torch.cuda.is_available() else torch.device("cpu")

    def share(self, global_batch: int) -> slice:
        """The rows of a global batch this rank trains on (every ``world``-th from ``rank``); the batch must
        divide evenly, so that averaging the ranks' mean losses gives the global batch's mean loss."""
        if global_batch % self.world:
            raise ValueError(f"a batch of {global_batch} does not divide among {self.world} data-parallel processes")
        return slice(self.rank, global_batch, self.world)


def visible_gpus() -> int:
    """How many GPUs this process sees (SLURM and CUDA_VISIBLE_DEVICES decide), at least 1 process."""
    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _worker(rank: int, world: int, port: int, threads: int, target: Callable[..., None], args: tuple) -> None:
    import torch.distributed as dist

    torch.set_num_threads(threads)
    if torch.cuda.is_available():
        torch.cuda.set_device(rank)
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        target(Ranks(rank, world), *args)
    finally:
        dist.destroy_process_group()


def launch(world: int, target: Callable[..., None], *args: Any) -> None:
    """Run ``target(ranks, *args)`` in ``world`` processes (``torch.multiprocessing.spawn``; ``target`` and
    ``args`` must pickle) or, when ``world`` is 1, here; an exception in any process is raised here.

    Tensors in ``args`` reach the processes in shared memory (torch.multiprocessing): a process that trains a
    model must load or copy its own (:func:`diffrob.addt.finetune.finetune_files` loads from files).
    """
    if world < 1:
        raise ValueError(f"need at least one process, got {world}")
    if world == 1:
        target(Ranks(), *args)
        return
    threads = max(1, torch.get_num_threads() // world) if not torch.cuda.is_available() else 1
    torch.multiprocessing.spawn(_worker, args=(world, _free_port(), threads, target, args), nprocs=world, join=True)
