"""Attacks on the purified classifier g(f_xi(x)) under fixed or free randomness (Sec. 4).

* fixed: xi_attack = xi_test = xi_s, the chain noise of base seed s for each sample.
* free: a fresh xi at every call of the purifier (every attack step, and the test).

Attacks (all l_inf PGD with foolbox ``LinfPGD``):

* ``pgd``: exact gradients through the whole purification chain, each reverse step
  gradient-checkpointed so memory stays flat in t*;
* ``bpda``: the purifier's backward pass replaced by the identity (advertorch ``BPDAWrapper``,
  Athalye et al. 2018);
* ``pgd_eot`` / ``bpda_eot``: the gradient of the ensemble ``E_xi g(f_xi(x))`` (Sec. 4, eq. 9):
  the logits averaged over K draws of xi (K fresh xi under free randomness), the K draws batched
  through the chain in one call (the same draws and average as foolbox's
  ``ExpectationOverTransformationWrapper`` making K calls).

Speed options (:class:`SpeedOptions`): bfloat16 autocast, channels_last and ``torch.compile``;
each keeps the gradient within cosine 0.99 of the fp32 one (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from diffrob.noise import ChainNoise, Keying, chain_noise, fresh_seed, seeded
from diffrob.purify import Chain, Schedule, make_chain, purify

Randomness = Literal["fixed", "free"]
RANDOMNESS: tuple[str, ...] = ("fixed", "free")
ATTACKS: tuple[str, ...] = ("pgd", "pgd_eot", "bpda", "bpda_eot")


def attack_gradient(attack: str) -> str:
    """``"full"`` for PGD attacks, ``"bpda"`` for BPDA attacks."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; expected one of {', '.join(ATTACKS)}")
    return "bpda" if attack.startswith("bpda") else "full"


def uses_eot(attack: str) -> bool:
    """Whether an attack averages over K randomness draws (EOT)."""
    return attack.endswith("_eot")


class PurifiedClassifier(nn.Module):
    """``x -> g(f_xi(x))``: a purifier followed by a classifier, with controlled randomness.

    Call :meth:`use_batch` with the data-set indices of the batch before calling the module.
    Under ``fixed`` randomness every call uses xi_s of those samples; under ``free`` randomness
    each call draws the next fresh xi (:func:`diffrob.noise.fresh_seed`), counting from ``first_draw``
    so that independent test streams of one base seed never share draws.
    """

    def __init__(
        self,
        unet: nn.Module,
        schedule: Schedule,
        chain: Chain,
        classifier: nn.Module,
        base_seed: int,
        randomness: str = "fixed",
        keying: Keying = "sample",
        checkpointed: bool = True,
        first_draw: int = 0,
        gradient: str = "full",
        eot_samples: int = 1,
        bf16: bool = False,
    ):
        super().__init__()
        if gradient not in ("full", "bpda"):
            raise ValueError(f"gradient must be 'full' or 'bpda', got {gradient!r}")
        self.gradient = gradient
        self.call_hook: Callable[[], object] | None = None
        if randomness not in RANDOMNESS:
            raise ValueError(f"unknown randomness {randomness!r}; expected one of {', '.join(RANDOMNESS)}")
        self.unet = unet
        self.classifier = classifier
        self.schedule = schedule
        self.chain = chain
        self.base_seed = base_seed
        self.randomness = randomness
        self.keying: Keying = keying
        self.checkpointed = checkpointed
        self.calls = first_draw
        self._keys: list[int] = []
        self._fixed: ChainNoise | None = None
        self.eot_samples = int(eot_samples)
        self.bf16 = bf16

    def use_batch(self, keys: Sequence[int]) -> None:
        """Set the noise keys (sample indices, or the batch index) of the next calls."""
        self._keys = [int(k) for k in keys]
        self._fixed = None

    def noise_for(self, seed: int, image_shape: Sequence[int]) -> ChainNoise:
        """The chain noise of base seed ``seed`` for the current batch."""
        return chain_noise(
            seed, self._keys, image_shape, self.chain.forward_timesteps, self.chain.reverse_timesteps, self.keying
        )

    def current_noise(self, image_shape: Sequence[int]) -> ChainNoise:
        """xi for this call: xi_s (fixed, drawn once per batch) or a fresh draw (free)."""
        if self.randomness == "fixed":
            if self._fixed is None:
                self._fixed = self.noise_for(self.base_seed, image_shape)
            return self._fixed
        self.calls += 1
        return self.noise_for(fresh_seed(self.base_seed, self.calls), image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the classifier on the purified images (averaged over K draws of xi when ``eot_samples`` > 1)."""
        if len(self._keys) != x.shape[0]:
            raise RuntimeError(f"use_batch() was given {len(self._keys)} keys for a batch of {x.shape[0]}")
        draws = [self.current_noise(x.shape[1:]) for _ in range(self.eot_samples)]
        noise = ChainNoise(
            torch.cat([d.forward for d in draws], dim=1), torch.cat([d.reverse for d in draws], dim=1)
        ).to(x.device)
        for _ in draws:
            if self.call_hook is not None:
                self.call_hook()
        batch = x.repeat(self.eot_samples, 1, 1, 1) if self.eot_samples > 1 else x
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.classifier(self._purified(batch, noise)).float()
        return logits.view(self.eot_samples, x.shape[0], -1).mean(0)

    def _purified(self, x: torch.Tensor, noise: ChainNoise) -> torch.Tensor:
        if self.gradient == "bpda":
            from diffrob.compat import import_advertorch

            import_advertorch()
            from advertorch.bpda import BPDAWrapper

            purifier = BPDAWrapper(lambda z: purify(self.unet, self.schedule, self.chain, z, noise))
            return purifier(x)
        return purify(self.unet, self.schedule, self.chain, x, noise, self.checkpointed)


def batch_keys(indices: torch.Tensor, batch_number: int, keying: Keying) -> list[int]:
    """Noise keys of a batch: the samples' data-set indices, or the batch number repeated (paper)."""
    if keying == "sample":
        return [int(i) for i in indices]
    return [batch_number] * len(indices)


def linf_pgd(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    steps: int,
    rel_stepsize: float,
    random_start: bool,
    seed: int,
    eot_samples: int = 1,
) -> torch.Tensor:
    """Untargeted l_inf PGD (Madry et al.) with foolbox's ``LinfPGD``; returns x_adv in the eps-ball and [0, 1].

    With ``eot_samples`` K > 1 the model is wrapped in foolbox's ``ExpectationOverTransformationWrapper``.

    foolbox draws the random start from torch's global generator: it runs under
    :func:`diffrob.noise.seeded` so the start is reproducible.
    """
    import foolbox

    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0.0, 1.0), device=images.device)
    if eot_samples > 1:
        fmodel = foolbox.models.ExpectationOverTransformationWrapper(fmodel, n_steps=eot_samples)
    attack = foolbox.attacks.LinfPGD(rel_stepsize=rel_stepsize, steps=steps, random_start=random_start)
    with seeded(seed):
        _, clipped, _ = attack(fmodel, images, labels, epsilons=epsilon)
    return clipped.detach()


@dataclass(frozen=True)
class AttackSettings:
    """What an attack shard runs: l_inf PGD's budget and schedule, and K for EOT attacks."""

    epsilon: float
    steps: int
    rel_stepsize: float
    random_start: bool = True
    batch_size: int = 64
    eot_samples: int = 1


def attack_set(
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
    settings: AttackSettings,
    attack_seed: int,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PGD adversarial examples for a whole set, batch by batch; returns (x_adv, correct under xi_test).

    The test uses the same model: xi_s under fixed randomness, a fresh xi under free randomness.
    """
    adversarial, correct = [], []
    starts = range(0, len(labels), settings.batch_size)
    calls_per_batch = settings.steps * settings.eot_samples + settings.eot_samples + 1
    bar = tqdm(
        total=len(starts) * calls_per_batch, desc=f"attack ({model.randomness}), purifier calls", disable=not progress
    )
    model.call_hook = bar.update
    for number, start in enumerate(starts):
        rows = slice(start, start + settings.batch_size)
        model.use_batch(batch_keys(indices[rows], number, model.keying))
        model.eot_samples = settings.eot_samples  # the K draws go through the chain as one batch
        try:
            x_adv = linf_pgd(
                model,
                images[rows],
                labels[rows],
                settings.epsilon,
                settings.steps,
                settings.rel_stepsize,
                settings.random_start,
                attack_seed + number,
            )
        finally:
            model.eot_samples = 1
        with torch.no_grad():
            correct.append(model(x_adv).argmax(1) == labels[rows])
        adversarial.append(x_adv)
    model.call_hook = None
    bar.close()
    return torch.cat(adversarial), torch.cat(correct)


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
            out.append(model(images[rows]).argmax(1))
    return torch.cat(out)


@dataclass(frozen=True)
class PurifierSpec:
    """Which purifier a shard uses: sampler, t*, reverse steps, noise keying, batch size."""

    sampler: str
    t_star: int
    reverse_steps: int
    keying: Keying = "sample"
    batch_size: int = 128

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PurifierSpec:
        """Build from a plain mapping with the same keys."""
        return cls(**{k: values[k] for k in ("sampler", "t_star", "reverse_steps", "keying", "batch_size")})


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
    seed: int,
    randomness: str,
    first_draw: int = 0,
    gradient: str = "full",
    speed: SpeedOptions | None = None,
) -> PurifiedClassifier:
    """``g(f_xi(.))`` for a loaded UNet/scheduler/classifier and a :class:`PurifierSpec`."""
    schedule = Schedule.from_scheduler(scheduler)
    chain = make_chain(spec.sampler, spec.t_star, schedule.num_train_timesteps, spec.reverse_steps)
    speed = speed or SpeedOptions()
    unet, classifier = accelerated(frozen(unet), frozen(classifier), speed)
    return PurifiedClassifier(
        unet,
        schedule,
        chain,
        classifier,
        seed,
        randomness,
        spec.keying,
        first_draw=first_draw,
        gradient=gradient,
        bf16=speed.bf16,
    )
