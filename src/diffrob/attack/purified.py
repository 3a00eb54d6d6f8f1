"""The purified classifier g(f_xi(x)) that every attack differentiates: its randomness (fixed or free), its gradient
(full or BPDA, with or without EOT), predictions in batches, and the speed options (bfloat16 autocast,
channels_last, ``torch.compile``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from diffrob.attack.names import RANDOMNESS
from diffrob.purify.finite import NonFiniteError, check_finite
from diffrob.purify.noise import ChainNoise, fresh_seed
from diffrob.purify.pipeline import DiffusionPurifier, PurifierSpec, build_purifier

Randomness = Literal["fixed", "free"]


@dataclass(frozen=True)
class XiStream:
    """Which xi a purified classifier draws: base seed s, and ``fixed`` (xi_s at every call) or ``free`` (a fresh
    xi at every call, counting from draw ``first_draw`` of s so that independent test streams never share draws)."""

    seed: int
    randomness: str = "fixed"
    first_draw: int = 0


class PurifiedClassifier(nn.Module):
    """``x -> g(f_xi(x))``: the purification pipeline followed by a classifier, with controlled randomness.

    Call :meth:`use_batch` with the positions (in the evaluation set) of the batch's samples before
    calling the module; their noise comes from the pipeline's keys. Under ``fixed`` randomness every
    call uses xi_s; under ``free`` randomness each call draws the next fresh xi
    (:func:`diffrob.purify.noise.fresh_seed`), counting from ``first_draw`` so that independent test streams
    of one base seed never share draws. With ``eot_samples`` K > 1 the logits are averaged over K
    draws (eq. 9), through the pipeline's chunked expectation; with ``log_probs`` the output is the mean over
    draws of the log-probabilities instead (the summed-loss EOT of :func:`pgd`).
    """

    def __init__(
        self,
        purifier: DiffusionPurifier,
        classifier: nn.Module,
        xi: XiStream,
        gradient: str = "full",
        eot_samples: int = 1,
        bf16: bool = False,
        log_probs: bool = False,
    ):
        super().__init__()
        if gradient not in ("full", "bpda"):
            raise ValueError(f"gradient must be 'full' or 'bpda', got {gradient!r}")
        if xi.randomness not in RANDOMNESS:
            raise ValueError(f"unknown randomness {xi.randomness!r}; expected one of {', '.join(RANDOMNESS)}")
        self.purifier = purifier
        self.unet = purifier.unet
        self.classifier = classifier
        self.gradient = gradient
        self.call_hook: Callable[[], object] | None = None
        self.base_seed = xi.seed
        self.randomness = xi.randomness
        self.calls = xi.first_draw
        self._positions: list[int] = []
        self.batch_calls = 0
        self.eot_samples = int(eot_samples)
        self.bf16 = bf16
        self.log_probs = log_probs

    def use_batch(self, positions: Sequence[int]) -> None:
        """Set the evaluation-set positions of the samples of the next calls (and count the calls from 0)."""
        self._positions = [int(p) for p in positions]
        self.batch_calls = 0

    def next_seed(self) -> int:
        """Base seed of xi for this call: s (fixed) or the next fresh draw (free)."""
        if self.randomness == "fixed":
            return self.base_seed
        self.calls += 1
        return fresh_seed(self.base_seed, self.calls)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the classifier on the purified images (averaged over K draws of xi when ``eot_samples`` > 1)."""
        if len(self._positions) != x.shape[0]:
            raise RuntimeError(f"use_batch() was given {len(self._positions)} positions for a batch of {x.shape[0]}")
        seeds = [self.next_seed() for _ in range(self.eot_samples)]
        for _ in seeds:
            if self.call_hook is not None:
                self.call_hook()
        self.batch_calls += 1
        where, samples = f"purifier call {self.batch_calls} of the batch", list(self._positions)
        try:
            logits = self.purifier.expectation(self._logits, x, samples, seeds).float()
        except NonFiniteError as err:
            raise NonFiniteError(f"{where}, samples {samples}: {err}") from None
        if x.requires_grad:  # the gradient PGD steps along, checked as the backward pass reaches the input

            def check_gradient(gradient: torch.Tensor) -> None:
                check_finite(gradient, f"input gradient at {where}", samples)

            x.register_hook(check_gradient)
        return check_finite(logits, f"logits at {where}", samples)

    def _logits(self, x: torch.Tensor, noise: ChainNoise, kept: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """Logits of one chunk; BPDA keeps the purified chunk of the no-gradient pass for the backward pass."""
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            if self.gradient == "full":
                return self._output(self.classifier(self.purifier.purify(x, noise))), None
            from diffrob.attack.advertorch import import_advertorch

            import_advertorch()
            from advertorch.bpda import BPDAWrapper

            if kept is None:
                with torch.no_grad():
                    kept = self.purifier.purify(x.detach(), noise)
            purified = kept
            return self._output(self.classifier(BPDAWrapper(lambda _x: purified)(x))), purified

    def _output(self, logits: torch.Tensor) -> torch.Tensor:
        """What one draw contributes to the average: its logits, or its log-probabilities (``log_probs``)."""
        logits = logits.float()
        return torch.log_softmax(logits, dim=1) if self.log_probs else logits


def predict(
    model: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    batch_size: int = 256,
    before_batch: Callable[[slice, int], None] | None = None,
) -> torch.Tensor:
    """Predicted labels of ``model`` for ``images``, batch by batch, without gradients."""
    out = []
    with torch.no_grad():
        for number, start in enumerate(range(0, images.shape[0], batch_size)):
            rows = slice(start, start + batch_size)
            if before_batch is not None:
                before_batch(rows, number)
            logits = check_finite(model(images[rows]), "logits", range(start, start + len(images[rows])))
            out.append(logits.argmax(1))
    return torch.cat(out)


@dataclass(frozen=True)
class SpeedOptions:
    """Options of the full-gradient attack that change speed, not the method (``attack.speed`` in the config)."""

    bf16: bool = False
    channels_last: bool = False
    compile: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SpeedOptions:
        """Build from ``attack.speed`` (missing keys: off)."""
        values = values or {}
        return cls(**{k: bool(values.get(k, False)) for k in ("bf16", "channels_last", "compile")})


def accelerated(unet: nn.Module, classifier: nn.Module, options: SpeedOptions) -> tuple[nn.Module, nn.Module]:
    """UNet and classifier in channels_last memory format and/or ``torch.compile``d, as ``options`` say."""
    if options.channels_last:
        unet = unet.to(memory_format=torch.channels_last)
        classifier = classifier.to(memory_format=torch.channels_last)
    if options.compile:
        unet = torch.compile(unet)
    return unet, classifier


def frozen(model: nn.Module) -> nn.Module:
    """``model`` in eval mode with gradients off for its parameters (attacks need input gradients only)."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.eval()


def purified_classifier(
    unet: nn.Module,
    scheduler: Any,
    classifier: nn.Module,
    spec: PurifierSpec,
    indices: Sequence[int],
    xi: XiStream,
    gradient: str = "full",
    speed: SpeedOptions | None = None,
) -> PurifiedClassifier:
    """``g(f_xi(.))`` from a loaded UNet, scheduler and classifier, over an evaluation set with data-set ``indices``."""
    speed = speed or SpeedOptions()
    unet, classifier = accelerated(frozen(unet), frozen(classifier), speed)
    purifier = build_purifier(unet, scheduler, spec, indices)
    return PurifiedClassifier(purifier, classifier, xi, gradient=gradient, bf16=speed.bf16)
