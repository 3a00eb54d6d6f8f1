"""Guided diffusion (Dhariwal & Nichol): the 256x256 unconditional ImageNet UNet built from its configuration and
loaded from its checkpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from diffrob.io import atomic_dir, load_state_dict_file, require_file


def save_guided_diffusion(unet: nn.Module, scheduler: Any, folder: str | Path) -> None:
    """Save a guided-diffusion UNet (safetensors + its ``create_model`` arguments) and scheduler, atomically."""

    state = {k: v.contiguous() for k, v in unet.model.state_dict().items()}  # type: ignore[union-attr]
    with atomic_dir(folder) as tmp:
        save_file(state, str(tmp / GUIDED_WEIGHTS))
        (tmp / GUIDED_CONFIG).write_text(json.dumps({"model": unet.model_config}, indent=2) + "\n")
        scheduler.save_pretrained(str(tmp))


def load_guided_folder(folder: Path) -> tuple[nn.Module, Any]:
    from diffusers import DDPMScheduler

    model_config = json.loads(
        require_file(folder / GUIDED_CONFIG, "guided-diffusion create_model arguments").read_text()
    )
    unet = build_guided_unet(model_config["model"])
    weights = require_file(folder / GUIDED_WEIGHTS, "guided-diffusion weights (safetensors)")
    try:
        unet.model.load_state_dict(load_file(str(weights)))
    except (SafetensorError, RuntimeError) as err:
        raise ValueError(f"{weights}: could not load the guided-diffusion weights: {err}") from err
    return unet.eval(), DDPMScheduler.from_pretrained(str(folder))


GUIDED_CONFIG = "guided_diffusion.json"


GUIDED_WEIGHTS = "guided_diffusion.safetensors"


class GuidedUNet(nn.Module):
    """An openai guided-diffusion ``UNetModel`` called like a diffusers UNet: ``unet(x, t) -> eps (and variance)``."""

    def __init__(self, model: nn.Module, model_config: Mapping[str, Any]):
        super().__init__()
        self.model = model
        self.model_config = dict(model_config)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """The network output (B, C or 2C, H, W); learned-sigma models return (eps, variance) channels."""
        return self.model(x, timesteps)


def build_guided_unet(model_config: Mapping[str, Any]) -> GuidedUNet:
    """A guided-diffusion UNet from ``create_model`` keyword arguments (as the paper's 256x256 model)."""
    from guided_diffusion.script_util import create_model

    return GuidedUNet(create_model(**dict(model_config)), model_config)


def load_guided_weights(path: str | Path, model_config: Mapping[str, Any]) -> GuidedUNet:
    """A guided-diffusion UNet with the weights of an openai ``.pt`` state dict, in eval mode."""
    unet = build_guided_unet(model_config)
    try:
        unet.model.load_state_dict(load_state_dict_file(path))
    except RuntimeError as err:
        raise ValueError(
            f"{path}: weights do not fit guided-diffusion create_model({dict(model_config)}): {err}"
        ) from err
    return unet.eval()
