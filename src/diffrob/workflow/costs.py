"""Network costs: each network's FLOPs and activations per call, measured on the meta device."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrob.workflow.checks import IMAGE_SIDES

CHANNELS = {"digits": 1, "cifar10": 3, "imagenet": 3}


GRADIENT_STEP_EVALS = 4  # forward + checkpoint recomputation + backward (~2 forwards) per reverse step


PLAIN_GRADIENT_STEP_EVALS = 3  # forward + backward, without checkpointing


CLASSIFIER_GRADIENT_EVALS = 3


@dataclass(frozen=True)
class NetworkCost:
    """FLOPs of one forward evaluation per image, parameter bytes, saved activation bytes per image (gradient)."""

    flops: float
    parameter_bytes: int
    activation_bytes: int


@dataclass(frozen=True)
class RuleBill:
    """One rule's share of the bill."""

    rule: str
    jobs: int
    unet_evals: float
    classifier_evals: float
    flops: float
    peak_bytes: int

    def hours(self, gflops: float) -> float:
        """Projected device hours at ``gflops`` GFLOP/s."""
        return self.flops / (gflops * 1e9) / 3600


def measure_network(network: nn.Module, inputs: tuple[torch.Tensor, ...]) -> NetworkCost:
    """FLOPs of one forward pass per image of ``inputs``; saved-activation bytes of a gradient pass (meta)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        network(*inputs)
    saved: list[int] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.requires_grad:
            saved.append(tensor.numel() * tensor.element_size())
        return tensor

    x = inputs[0].detach().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        network(x, *inputs[1:])
    params = sum(p.numel() * p.element_size() for p in network.parameters())
    n = inputs[0].shape[0]
    return NetworkCost(counter.get_total_flops() / n, params, sum(saved) // n)


def image_shape(config: Mapping[str, Any]) -> tuple[int, int, int]:
    """(C, H, W) of the data set's images."""
    side = IMAGE_SIDES[config["dataset"]]
    return CHANNELS[config["dataset"]], side, side


def build_networks(config: Mapping[str, Any]) -> tuple[nn.Module, nn.Module, int]:
    """The configuration's UNet and classifier on the meta device, and the size the UNet runs at."""
    from diffrob.models.classifier import SmallCNN
    from diffrob.models.diffusion import build_unet

    channels, side, _ = image_shape(config)
    diffusion, classifier = config["diffusion"], config["classifier"]
    with torch.device("meta"):
        if diffusion.get("source", "train") == "train":
            unet, unet_side = build_unet(diffusion["unet"], side, channels), side
        elif diffusion["source"] == "guided":
            from diffrob.models.guided import build_guided_unet

            unet, unet_side = (
                build_guided_unet(diffusion["guided"]["model"]),
                int(diffusion["guided"]["model"]["image_size"]),
            )
        else:
            from diffrob.models.hub import cifar10_unet

            unet, unet_side = cifar10_unet(), side
        if classifier.get("source", "train") == "train":
            net: nn.Module = SmallCNN(channels, side, 10, int(classifier.get("width", 32)))
        else:
            from diffrob.models.robustbench import robustbench_architecture

            rb = classifier["robustbench"]
            net = robustbench_architecture(rb["name"], rb["dataset"], rb["threat_model"])
    return unet.eval().requires_grad_(False), net.eval().requires_grad_(False), unet_side


def network_costs(config: Mapping[str, Any]) -> tuple[NetworkCost, NetworkCost]:
    """(UNet, classifier) costs of the configuration's architectures at its image sizes."""
    unet, classifier, unet_side = build_networks(config)
    channels, side, _ = image_shape(config)
    x_unet = torch.zeros((1, channels, unet_side, unet_side), device="meta")
    t = torch.zeros((1,), dtype=torch.long, device="meta")
    return (
        measure_network(unet, (x_unet, t)),
        measure_network(classifier, (torch.zeros((1, channels, side, side), device="meta"),)),
    )
