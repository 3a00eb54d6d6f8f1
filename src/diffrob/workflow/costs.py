"""Network costs: each network's FLOPs and activations per call, measured on the meta device."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrob.attack.names import AUTOATTACK
from diffrob.data import DATASET_CLASSES
from diffrob.workflow.checks import IMAGE_SIDES
from diffrob.workflow.design import Point
from diffrob.workflow.parameters import reverse_steps_at

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


@dataclass(frozen=True)
class Workload:
    """The counts the bill multiplies: images, attack steps and batch, EOT draws, chunk sizes."""

    n_eval: int
    steps: int
    batch: int
    eot: int
    chain_chunk: int
    jacobian_rows: int
    reverse_steps: int
    trajectory_chunk: int
    checkpoint_steps: bool = True
    finetune_batch: int = 0  # ADDT's fine-tuning batch (config addt.finetune.batch_size); 0 without ADDT
    autoattack: tuple[int, int] = (0, 0)  # (gradient, forward) calls per image of an AutoAttack shard

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Workload:
        """The counts of a validated configuration."""
        attack, chunks = config["attack"], config["purification"]["chunks"]
        return cls(
            int(config["data"]["n_eval"]),
            int(attack["steps"]),
            int(attack["batch_size"]),
            int(attack["eot_samples"]),
            int(chunks["chain"]),
            int(chunks["jacobian_rows"]),
            int(config["purification"]["reverse_steps"]),
            int(chunks["trajectory"]),
            bool(chunks.get("checkpoint_steps", True)),
            int(((config.get("addt") or {}).get("finetune") or {}).get("batch_size", 0)),
            autoattack_calls(config["attack"]["autoattack"], DATASET_CLASSES[config["dataset"]])
            if config["attack"].get("autoattack") is not None
            else (0, 0),
        )

    @property
    def gradient_step_evals(self) -> int:
        """UNet evaluations per reverse step of a gradient through the chain: 4 checkpointed, 3 not."""
        return GRADIENT_STEP_EVALS if self.checkpoint_steps else PLAIN_GRADIENT_STEP_EVALS

    def chain(self, point: Point) -> int:
        """Reverse steps (UNet evaluations) of one purification at ``point``."""
        return reverse_steps_at(self.reverse_steps, point.t_star)

    def attack_evals(self, point: Point, attack: str) -> tuple[float, float]:
        """(UNet, classifier) evaluations of one attack shard: every step's gradient, foolbox's closing check of the
        adversarial examples (K draws) and the final test."""
        k = self.eot if attack.endswith("_eot") else 1
        n = self.chain(point)
        if attack == AUTOATTACK:
            gradients, forwards = self.autoattack
            per_gradient = self.gradient_step_evals * n + (n if min(self.batch, self.n_eval) > self.chain_chunk else 0)
            unet = self.n_eval * (gradients * per_gradient + forwards * n)
            return unet, self.n_eval * (gradients * CLASSIFIER_GRADIENT_EVALS + forwards)
        if attack.startswith("bpda"):
            per_step = n
        else:
            per_step = self.gradient_step_evals * n + (n if min(self.batch, self.n_eval) * k > self.chain_chunk else 0)
        # every step's gradient, foolbox's closing misclassification check (K draws) and the test (one draw)
        unet = self.n_eval * (self.steps * k * per_step + (k + 1) * n)
        classifier = self.n_eval * (self.steps * k * CLASSIFIER_GRADIENT_EVALS + k + 1)
        return unet, classifier


def autoattack_calls(autoattack: Mapping[str, Any], classes: int) -> tuple[int, int]:
    """(gradient, forward-only) calls of the purified classifier per image of an AutoAttack shard if every image
    stayed robust through every attack (an upper bound; the attacks after the first see only the robust ones).

    Per attack: AutoAttack's checks (randomness 5 forwards, output range 1, dynamic 1) and its accuracy before and
    after (2); APGD n_iter + 1 gradients, APGD-T that per target; FAB-T n_iter + 1 gradients and n_iter forwards per
    target, untargeted FAB one gradient per class an iteration; Square n_queries + 1 forwards. Then the clean pass.
    """
    n_iter, targets, queries = (int(autoattack[k]) for k in ("n_iter", "n_target_classes", "n_queries"))
    per_attack = {
        "apgd-ce": (n_iter + 1, 0),
        "apgd-dlr": (n_iter + 1, 0),
        "apgd-t": (targets * (n_iter + 1), 0),
        "fab-t": (targets * (n_iter + 1), targets * n_iter),
        "fab": (classes * (n_iter + 1), n_iter),
        "square": (0, queries + 1),
    }
    gradients = sum(per_attack[name][0] for name in autoattack["attacks"])
    forwards = sum(per_attack[name][1] + 9 for name in autoattack["attacks"])
    return gradients, forwards + 1
