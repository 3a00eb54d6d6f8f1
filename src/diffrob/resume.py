"""Resumable batch loops: each finished batch of a long job saved as it finishes, reused after a kill.

A job's batches are deterministic (noise keyed per sample, PGD starts seeded per batch), so a batch
loaded back is the batch a rerun would compute, and a resumed job's output is byte-identical to an
uninterrupted one's. Each batch is its own safetensors file, written atomically and flushed, carrying the
job's identity (a digest of everything that determines its batches) and the sample indices of its rows;
a file of another identity, or for other samples, or unreadable, is never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from diffrob.io import atomic_path, read_tensors

LOG = logging.getLogger(__name__)


def code_digest() -> str:
    """sha256 of this package's source files: batches saved by other code are never reused."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def job_identity(settings: Mapping[str, Any], files: Iterable[str | Path] = ()) -> str:
    """sha256 of ``settings`` (JSON, sorted keys), of the contents of ``files`` (each file under a folder) and
    of the package's code (:func:`code_digest`)."""
    from diffrob.io import sha256_file

    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(code_digest().encode())
    for path in map(Path, files):
        members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for member in members:
            digest.update(f"{member.name}:{sha256_file(member)}".encode())
    return digest.hexdigest()


@dataclass
class BatchStore:
    """The finished batches of one job in ``folder`` (``batch-00003.safetensors``), for ``identity``.

    ``reused`` and ``saved`` list the batch numbers loaded back and written by this process.
    """

    folder: Path
    identity: str
    reused: list[int] = field(default_factory=list)
    saved: list[int] = field(default_factory=list)

    def path(self, number: int) -> Path:
        """The file of batch ``number``."""
        return Path(self.folder) / f"batch-{number:05d}.safetensors"

    def load(self, number: int, indices: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """Batch ``number``'s tensors if it was finished for this identity and these sample ``indices``, else None."""
        path = self.path(number)
        if not path.is_file():
            return None
        try:
            tensors, metadata = read_tensors(path, "a saved batch", ("indices",))
        except ValueError as err:
            LOG.warning("%s: unusable saved batch, computing it again (%s)", path, err)
            return None
        if metadata.get("identity") != self.identity:
            LOG.warning("%s: saved for other settings or inputs, computing it again", path)
            return None
        if not torch.equal(tensors.pop("indices"), indices.cpu()):
            LOG.warning("%s: saved for other samples, computing it again", path)
            return None
        self.reused.append(number)
        return tensors

    def save(self, number: int, indices: torch.Tensor, tensors: Mapping[str, torch.Tensor]) -> None:
        """Write batch ``number`` (its tensors and the sample ``indices`` of its rows), atomically and flushed."""
        payload = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
        payload["indices"] = indices.cpu().contiguous()
        with atomic_path(self.path(number)) as tmp:
            save_file(payload, str(tmp), metadata={"identity": self.identity, "batch": str(number)})
        self.saved.append(number)

    def clear(self) -> None:
        """Remove the saved batches (once the job's output is written); the folders above stay, as other jobs
        running at the same time may be about to save in them."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def finish(self) -> None:
        """Log which batches were loaded back and which computed, then remove them (the job's output is written)."""
        LOG.info("batches reused from %s: %s; computed: %s", self.folder, self.reused, self.saved)
        self.clear()


def resumable(
    store: BatchStore | None, number: int, samples: torch.Tensor, compute: Callable[[], Mapping[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Item ``number`` of a job (over the sample indices ``samples``): loaded from ``store`` when it was saved
    there, else computed and saved; without a store, just computed."""
    if store is not None:
        saved = store.load(number, samples)
        if saved is not None:
            return saved
    out = dict(compute())
    if store is not None:
        store.save(number, samples, out)
    return out
