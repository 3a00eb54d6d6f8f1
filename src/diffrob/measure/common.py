"""What every measurement experiment shares: the job's purification pipeline, and typed records of tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffrob.attack.purified import frozen
from diffrob.models.diffusion import load_diffusion
from diffrob.purify.pipeline import DiffusionPurifier, PurifierSpec, build_purifier
from diffrob.runtime import device
from diffrob.stats.records import record


def as_record(
    quantity: str, values: Sequence[float] | torch.Tensor, images: int | None = None, **key: Any
) -> dict[str, Any]:
    """A typed record (:func:`diffrob.stats.records.record`) of ``values`` (a tensor is flattened)."""
    flat_values = values.detach().cpu().flatten().tolist() if isinstance(values, torch.Tensor) else list(values)
    return record(quantity, [float(v) for v in np.ravel(flat_values)], images, **key)


def load_purifier(
    ddpm_dir: str | Path, chain: Mapping[str, Any], indices: Sequence[int], revision: str | None = None
) -> DiffusionPurifier:
    """The purification pipeline of a job: the diffusion model of ``ddpm_dir`` (a folder, or a hub id at
    ``revision``) on the device, run as ``chain`` says. Noise is keyed over an evaluation set with data-set
    ``indices``.
    """
    unet, scheduler = load_diffusion(ddpm_dir, revision)
    return build_purifier(frozen(unet.to(device())), scheduler, PurifierSpec.from_mapping(chain), indices)
