"""Attacks on the purified classifier g(f_xi(x)) under fixed or free randomness (Sec. 4).

* fixed: xi_attack = xi_test = xi_s, the chain noise of base seed s for each sample.
* free: a fresh xi at every call of the purifier (every attack step, and the test).

Attacks (PGD with foolbox: ``LinfPGD``, or ``L2PGD`` for the l2 protocol of ADDT, :data:`NORMS`):

* ``pgd``: exact gradients through the whole purification chain, each reverse step
  gradient-checkpointed (unless ``chunks.checkpoint_steps`` is off) so memory stays flat in t*;
* ``bpda``: the purifier's backward pass replaced by the identity (advertorch ``BPDAWrapper``,
  Athalye et al. 2018);
* ``pgd_eot`` / ``bpda_eot``: the gradient of the ensemble ``E_xi g(f_xi(x))`` (Sec. 4, eq. 9):
  the logits averaged over K draws of xi (K fresh xi under free randomness), the K draws batched
  through the chain in one call (the same draws and average as foolbox's
  ``ExpectationOverTransformationWrapper`` making K calls);
* with ``eot_loss="sum"`` (ADDT's protocol, eq. 9 taken literally) the attack ascends the *sum over draws of the
  cross-entropies* instead: the pipeline averages log-probabilities over the K draws and the loss is their
  negative log-likelihood, K times smaller than the sum, which neither the sign step nor the l2-normalised
  step sees.

Speed options (:class:`SpeedOptions`): bfloat16 autocast, channels_last and ``torch.compile``;
each keeps the gradient within cosine 0.99 of the fp32 one (tested).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from diffrob.finite import NonFiniteError, check_finite
from diffrob.noise import ChainNoise, fresh_seed, seeded
from diffrob.pipeline import DiffusionPurifier, PurifierSpec, build_purifier
from diffrob.resume import BatchStore, resumable

Randomness = Literal["fixed", "free"]
RANDOMNESS: tuple[str, ...] = ("fixed", "free")
ATTACKS: tuple[str, ...] = ("pgd", "pgd_eot", "bpda", "bpda_eot")
NORMS: tuple[str, ...] = ("linf", "l2")
EOT_LOSSES: tuple[str, ...] = ("logits", "sum")  # EOT over averaged logits (foolbox's wrapper) or summed losses


def attack_gradient(attack: str) -> str:
    """``"full"`` for PGD attacks, ``"bpda"`` for BPDA attacks."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; expected one of {', '.join(ATTACKS)}")
    return "bpda" if attack.startswith("bpda") else "full"


def uses_eot(attack: str) -> bool:
    """Whether an attack averages over K randomness draws (EOT)."""
    return attack.endswith("_eot")


class PurifiedClassifier(nn.Module):
    """``x -> g(f_xi(x))``: the purification pipeline followed by a classifier, with controlled randomness.

    Call :meth:`use_batch` with the positions (in the evaluation set) of the batch's samples before
    calling the module; their noise comes from the pipeline's keys. Under ``fixed`` randomness every
    call uses xi_s; under ``free`` randomness each call draws the next fresh xi
    (:func:`diffrob.noise.fresh_seed`), counting from ``first_draw`` so that independent test streams
    of one base seed never share draws. With ``eot_samples`` K > 1 the logits are averaged over K
    draws (eq. 9), through the pipeline's chunked expectation; with ``log_probs`` the output is the mean over
    draws of the log-probabilities instead (the summed-loss EOT of :func:`pgd`).
    """

    def __init__(
        self,
        purifier: DiffusionPurifier,
        classifier: nn.Module,
        base_seed: int,
        randomness: str = "fixed",
        first_draw: int = 0,
        gradient: str = "full",
        eot_samples: int = 1,
        bf16: bool = False,
        log_probs: bool = False,
    ):
        super().__init__()
        if gradient not in ("full", "bpda"):
            raise ValueError(f"gradient must be 'full' or 'bpda', got {gradient!r}")
        if randomness not in RANDOMNESS:
            raise ValueError(f"unknown randomness {randomness!r}; expected one of {', '.join(RANDOMNESS)}")
        self.purifier = purifier
        self.unet = purifier.unet
        self.classifier = classifier
        self.gradient = gradient
        self.call_hook: Callable[[], object] | None = None
        self.base_seed = base_seed
        self.randomness = randomness
        self.calls = first_draw
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
            from diffrob.compat import import_advertorch

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


def linf_pgd_in_batches(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AttackSettings,
    seed: int,
) -> torch.Tensor:
    """:func:`linf_pgd` on a plain model, ``settings.batch_size`` images at a time (batch b starts at ``seed + b``)."""
    parts = []
    for number, start in enumerate(range(0, images.shape[0], settings.batch_size)):
        rows = slice(start, start + settings.batch_size)
        parts.append(
            linf_pgd(
                model,
                images[rows],
                labels[rows],
                settings.epsilon,
                settings.steps,
                settings.rel_stepsize,
                settings.random_start,
                seed + number,
            )
        )
    return torch.cat(parts)


@dataclass(frozen=True)
class AttackSettings:
    """What an attack shard runs: PGD's norm, budget and schedule, K for EOT attacks and how EOT combines draws.

    The step is ``abs_stepsize`` when given, else ``rel_stepsize`` times epsilon (foolbox's convention).
    """

    epsilon: float
    steps: int
    rel_stepsize: float
    random_start: bool = True
    batch_size: int = 64
    eot_samples: int = 1
    norm: str = "linf"
    abs_stepsize: float | None = None
    eot_loss: str = "logits"

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; expected one of {', '.join(NORMS)}")
        if self.eot_loss not in EOT_LOSSES:
            raise ValueError(f"unknown eot_loss {self.eot_loss!r}; expected one of {', '.join(EOT_LOSSES)}")

    @classmethod
    def from_mapping(cls, attack: Mapping[str, Any], attack_name: str = "pgd", scale: float = 1.0) -> AttackSettings:
        """The settings of ``attack_name`` from the config's ``attack`` section, the budget scaled by ``scale``."""
        return cls(
            float(attack["epsilon"]) * scale,
            int(attack["steps"]),
            float(attack["rel_stepsize"]),
            bool(attack["random_start"]),
            int(attack["batch_size"]),
            int(attack["eot_samples"]) if uses_eot(attack_name) else 1,
        )

    @classmethod
    def protocol(cls, values: Mapping[str, Any], norm: str, eot_samples: int, batch_size: int) -> AttackSettings:
        """ADDT's evaluation attack in ``norm`` from ``values`` (``steps``, and per norm ``epsilon`` and ``step``):
        no random start, an absolute step, and with K > 1 the gradient of the losses summed over the K draws."""
        budget = values[norm]
        return cls(
            float(budget["epsilon"]),
            int(values["steps"]),
            rel_stepsize=float(budget["step"]) / float(budget["epsilon"]),
            random_start=False,
            batch_size=batch_size,
            eot_samples=int(eot_samples),
            norm=norm,
            abs_stepsize=float(budget["step"]),
            eot_loss="sum",
        )


@functools.cache
def _foolbox_pgd(norm: str, summed_loss: bool) -> type:
    """foolbox's PGD class of ``norm``; with ``summed_loss``, a subclass whose loss is the negative log-likelihood of
    the model's output taken as log-probabilities averaged over K draws (K times it: the summed cross-entropies)."""
    import eagerpy as ep
    import foolbox

    base = {"linf": foolbox.attacks.LinfPGD, "l2": foolbox.attacks.L2PGD}[norm]
    if not summed_loss:
        return base

    class SummedLossPGD(base):  # type: ignore[misc, valid-type]
        def get_loss_fn(self, model: Any, labels: Any) -> Callable[[Any], Any]:
            def loss_fn(inputs: Any) -> Any:
                log_probs = model(inputs)
                return -(log_probs * ep.onehot_like(log_probs, labels)).sum()

            return loss_fn

    SummedLossPGD.__name__ = f"SummedLoss{base.__name__}"
    return SummedLossPGD


def pgd(
    model: PurifiedClassifier, images: torch.Tensor, labels: torch.Tensor, settings: AttackSettings, seed: int
) -> torch.Tensor:
    """Untargeted PGD on a purified classifier as ``settings`` say (foolbox ``LinfPGD`` or ``L2PGD``); returns x_adv in
    the epsilon-ball and [0, 1]. The model runs K = ``settings.eot_samples`` draws per call, averaging logits, or
    log-probabilities under the summed-loss EOT; the random start (if any) is drawn under ``seeded(seed)``."""
    import foolbox

    if settings.epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {settings.epsilon}")
    fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0.0, 1.0), device=images.device)
    attack = _foolbox_pgd(settings.norm, settings.eot_loss == "sum")(
        rel_stepsize=settings.rel_stepsize,
        abs_stepsize=settings.abs_stepsize,
        steps=settings.steps,
        random_start=settings.random_start,
    )
    model.eot_samples, model.log_probs = settings.eot_samples, settings.eot_loss == "sum"
    try:
        with seeded(seed):
            _, clipped, _ = attack(fmodel, images, labels, epsilons=settings.epsilon)
    finally:
        model.eot_samples, model.log_probs = 1, False
    return clipped.detach()


def attack_set(
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AttackSettings,
    attack_seed: int,
    progress: bool = True,
    store: BatchStore | None = None,
    indices: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PGD adversarial examples for the whole evaluation set, batch by batch; returns (x_adv, correct under xi_test).

    Row p of ``images`` is the sample at position p of the evaluation set. Batch b's random start is drawn
    from ``attack_seed + b`` (a shard passes :func:`diffrob.noise.shard_start_seed`). The test uses the same
    model: xi_s under fixed randomness, a fresh xi under free randomness. With a ``store``, each finished
    batch is saved as it finishes and a batch saved before (same job, same sample ``indices``) is loaded
    instead of attacked again.
    """
    indices = torch.arange(len(labels)) if indices is None else indices
    adversarial, correct = [], []
    starts = range(0, len(labels), settings.batch_size)
    calls_per_batch = settings.steps * settings.eot_samples + settings.eot_samples + 1
    bar = tqdm(
        total=len(starts) * calls_per_batch, desc=f"attack ({model.randomness}), purifier calls", disable=not progress
    )
    model.call_hook = bar.update
    for number, start in enumerate(starts):
        rows = slice(start, start + settings.batch_size)

        def attack_batch(start: int = start, rows: slice = rows, number: int = number) -> dict[str, torch.Tensor]:
            model.use_batch(range(start, min(start + settings.batch_size, len(labels))))
            try:
                x_adv, hit = _attack_batch(model, images[rows], labels[rows], settings, attack_seed + number)
            except NonFiniteError as err:
                raise NonFiniteError(
                    f"batch {number} (sample indices {indices[rows].tolist()}): {err}; nothing was saved for this batch"
                ) from None
            return {"adversarial": x_adv, "correct": hit.to(torch.uint8), "draws": torch.tensor(model.calls)}

        done = resumable(store, number, indices[rows], attack_batch)
        x_adv, batch_correct = done["adversarial"].to(images.device), done["correct"].bool().to(labels.device)
        model.calls = int(done["draws"])  # free randomness: the next batch draws on from where this one ended
        bar.update((number + 1) * calls_per_batch - bar.n)  # a batch loaded back counts as done
        adversarial.append(x_adv)
        correct.append(batch_correct)
    model.call_hook = None
    bar.close()
    return torch.cat(adversarial), torch.cat(correct)


def _attack_batch(
    model: PurifiedClassifier, images: torch.Tensor, labels: torch.Tensor, settings: AttackSettings, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of :func:`attack_set` (``model`` already set to the batch): x_adv and correct under xi_test (one
    draw: xi_s under fixed randomness, a fresh xi under free)."""
    x_adv = pgd(model, images, labels, settings, seed)  # the K draws go through the chain in chunks
    with torch.no_grad():
        return x_adv, model(x_adv).argmax(1) == labels


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
    seed: int,
    randomness: str,
    first_draw: int = 0,
    gradient: str = "full",
    speed: SpeedOptions | None = None,
) -> PurifiedClassifier:
    """``g(f_xi(.))`` from a loaded UNet, scheduler and classifier, over an evaluation set with data-set ``indices``."""
    speed = speed or SpeedOptions()
    unet, classifier = accelerated(frozen(unet), frozen(classifier), speed)
    purifier = build_purifier(unet, scheduler, spec, indices)
    return PurifiedClassifier(
        purifier, classifier, seed, randomness, first_draw=first_draw, gradient=gradient, bf16=speed.bf16
    )
