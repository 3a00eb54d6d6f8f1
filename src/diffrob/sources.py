"""Pretrained models of the paper-scale profiles, built and loaded from their sources' on-disk formats.

* RobustBench classifiers: the architecture from RobustBench's model zoo, the weights from the
  zoo's ``.pt`` file (a state dict, possibly under ``"state_dict"`` and with ``module.`` prefixes)
  or, for ImageNet ``Standard_*``, torchvision's ``.pth`` state dict behind RobustBench's
  input normaliser. We read the file with ``torch.load(..., weights_only=True)`` ourselves rather
  than through ``robustbench.utils.load_model``, which calls ``torch.load`` without saying so and,
  for ImageNet ``Standard_*``, downloads inside the architecture constructor.
* openai guided-diffusion UNets (``256x256_diffusion_uncond.pt``): the architecture from the
  ``guided-diffusion-sdk`` package's ``create_model``, the weights a plain state dict ``.pt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffrob.io import require_file

GUIDED_CONFIG = "guided_diffusion.json"
GUIDED_WEIGHTS = "guided_diffusion.safetensors"
# RobustBench entries that are torchvision's pretrained models behind its normaliser:
# name -> (torchvision architecture, torchvision weights enum). Their weights come from torchvision.
TORCHVISION_BACKED = {("Standard_R50", "imagenet"): ("resnet50", "ResNet50_Weights.IMAGENET1K_V1")}


def torchvision_weights_url(name: str, dataset: str) -> str | None:
    """torchvision's download URL for a torchvision-backed RobustBench model (None for the others)."""
    if (name, dataset) not in TORCHVISION_BACKED:
        return None
    import torchvision

    return torchvision.models.get_weight(TORCHVISION_BACKED[name, dataset][1]).url


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a ``.pt``/``.pth`` file, read with ``weights_only=True`` (no arbitrary unpickling).

    Unwraps a top-level ``"state_dict"`` entry if present.
    """
    p = require_file(path, "a PyTorch state dict (.pt / .pth)")
    try:
        checkpoint = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError... on damaged files
        raise ValueError(f"{p}: not a readable weights-only PyTorch checkpoint (truncated?): {err}") from err
    if isinstance(checkpoint, Mapping) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{p}: expected a state dict (a mapping of tensors), found {type(checkpoint).__name__}")
    return dict(checkpoint)


def robustbench_architecture(name: str, dataset: str, threat_model: str) -> nn.Module:
    """The untrained architecture of a RobustBench model (ImageNet ``Standard_R50``: normalised ResNet-50)."""
    from diffrob.checkpoints import robustbench_entry

    if (name, dataset) in TORCHVISION_BACKED:
        import torchvision

        from diffrob.compat import import_robustbench

        import_robustbench()
        from robustbench.model_zoo.architectures.utils_architectures import normalize_model
        from robustbench.model_zoo.imagenet import mu, sigma

        network = torchvision.models.get_model(TORCHVISION_BACKED[name, dataset][0], weights=None)
        return normalize_model(network, mu, sigma)
    return robustbench_entry(name, dataset, threat_model)["model"]()


def load_robustbench_weights(path: str | Path, name: str, dataset: str, threat_model: str) -> nn.Module:
    """A RobustBench classifier with the weights of the file ``path`` in the source's format, in eval mode."""
    model = robustbench_architecture(name, dataset, threat_model)
    state = load_state_dict_file(path)
    target = model.model if (name, dataset) in TORCHVISION_BACKED else model
    if target is model:  # the prefixes RobustBench's load_model removes: module. (DataParallel), model.
        from robustbench.utils import rm_substr_from_state_dict

        state = rm_substr_from_state_dict(rm_substr_from_state_dict(state, "module."), "model.")
    try:
        target.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit RobustBench {name} ({dataset}, {threat_model}): {err}") from err
    return model.eval()


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
