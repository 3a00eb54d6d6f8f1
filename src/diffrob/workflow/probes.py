"""What the benchmarks run: the subjects (the embedded UNet and classifier, CIFAR-10's UNet) and one purification or
attack step of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrob.models.classifier import SmallCNN
from diffrob.models.diffusion import build_scheduler, build_unet
from diffrob.models.hub import cifar10_unet
from diffrob.purify.noise import chain_noise, gaussian, seeded, uniform
from diffrob.purify.samplers import Schedule, make_chain, purify, reverse_step

SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02}


EMBEDDED_UNET = {"block_out_channels": [32, 64], "layers_per_block": 1}


@dataclass(frozen=True)
class Subject:
    """A UNet and classifier at an image shape."""

    name: str
    unet: nn.Module
    classifier: nn.Module
    shape: tuple[int, int, int]


def subjects(which: str) -> Subject:
    """``embedded``: the default's 0.65 M UNet at 8x8x1 and its CNN; ``cifar10``: the CIFAR-10 architectures."""
    if which not in ("embedded", "cifar10"):
        raise ValueError(f"unknown benchmark subject {which!r}; expected embedded or cifar10")
    with seeded(0):
        if which == "embedded":
            unet, classifier, shape = build_unet(EMBEDDED_UNET, 8, 1), SmallCNN(1, 8, 10, 32), (1, 8, 8)
        else:
            unet, classifier, shape = cifar10_unet(), SmallCNN(3, 32, 10, 32), (3, 32, 32)
    for module in (unet, classifier):
        module.eval().requires_grad_(False)
    return Subject(which, unet, classifier, shape)


def purification_step(subject: Subject, batch: int, device: torch.device) -> Callable[[], Any]:
    """One DDPM reverse step at t = 50 for ``batch`` images, without gradients."""
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    z = gaussian((batch, *subject.shape), 0).to(device)
    noise = chain_noise(0, list(range(batch)), subject.shape, (), (50, 49)).to(device)

    def call():
        with torch.no_grad():
            return reverse_step(subject.unet, schedule, "ddpm", 50, 49, z, noise, 0)

    return call


def attack_step(subject: Subject, batch: int, steps: int, checkpointed: bool, device: torch.device) -> Callable:
    """One full-gradient attack step: input gradient of the loss through a DDPM chain of ``steps`` reverse steps."""
    schedule = Schedule.from_scheduler(build_scheduler(SCHEDULE))
    chain = make_chain("ddpm", steps, 1000, steps)
    noise = chain_noise(0, list(range(batch)), subject.shape, chain.forward_timesteps, chain.reverse_timesteps)
    noise = noise.to(device)
    images = uniform((batch, *subject.shape), 0.0, 1.0, 1).to(device)
    labels = torch.arange(batch, device=device) % 10

    def call():
        x = images.clone().requires_grad_(True)
        logits = subject.classifier(purify(subject.unet, schedule, chain, x, noise, checkpointed))
        nn.functional.cross_entropy(logits, labels).backward()
        return x.grad

    return call
