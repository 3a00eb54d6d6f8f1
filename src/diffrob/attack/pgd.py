"""PGD with foolbox (``LinfPGD``; ``L2PGD`` for ADDT's l2 protocol) on the purified classifier, in batches, with its
settings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from diffrob.attack.names import uses_eot
from diffrob.attack.purified import PurifiedClassifier
from diffrob.purify.finite import NonFiniteError
from diffrob.purify.noise import seeded
from diffrob.resume import BatchStore, resumable

NORMS: tuple[str, ...] = ("linf", "l2")


EOT_LOSSES: tuple[str, ...] = ("logits", "sum")  # EOT over averaged logits (foolbox's wrapper) or summed losses


def linf_pgd(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, settings: AttackSettings, seed: int
) -> torch.Tensor:
    """Untargeted l_inf PGD (Madry et al.) with foolbox's ``LinfPGD`` at ``settings``' budget, steps, relative step and
    random start; returns x_adv in the eps-ball and [0, 1].

    With ``settings.eot_samples`` K > 1 the model is wrapped in foolbox's ``ExpectationOverTransformationWrapper``.

    foolbox draws the random start from torch's global generator: it runs under
    :func:`diffrob.purify.noise.seeded` so the start is reproducible.
    """
    import foolbox

    if settings.epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {settings.epsilon}")
    fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0.0, 1.0), device=images.device)
    if settings.eot_samples > 1:
        fmodel = foolbox.models.ExpectationOverTransformationWrapper(fmodel, n_steps=settings.eot_samples)
    attack = foolbox.attacks.LinfPGD(
        rel_stepsize=settings.rel_stepsize, steps=settings.steps, random_start=settings.random_start
    )
    with seeded(seed):
        _, clipped, _ = attack(fmodel, images, labels, epsilons=settings.epsilon)
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
        parts.append(linf_pgd(model, images[rows], labels[rows], replace(settings, eot_samples=1), seed + number))
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


def _recording(base: type, keep: Callable[[int, torch.Tensor], None]) -> type:
    """``base`` (a foolbox gradient attack) handing ``keep(j, x)`` the iterate after j steps before each gradient
    step (foolbox's ``value_and_grad``, the method it documents as the one to override)."""

    class RecordingPGD(base):  # type: ignore[misc, valid-type]
        steps_taken = 0

        def value_and_grad(self, loss_fn: Callable[[Any], Any], x: Any) -> Any:
            keep(self.steps_taken, x.raw)
            self.steps_taken += 1
            return super().value_and_grad(loss_fn, x)

    return RecordingPGD


def pgd(
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AttackSettings,
    seed: int,
    keep: Callable[[int, torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Untargeted PGD on a purified classifier as ``settings`` say (foolbox ``LinfPGD`` or ``L2PGD``); returns x_adv in
    the epsilon-ball and [0, 1]. The model runs K = ``settings.eot_samples`` draws per call, averaging logits, or
    log-probabilities under the summed-loss EOT; the random start (if any) is drawn under ``seeded(seed)``. With
    ``keep``, each iterate is handed to ``keep(j, x)`` (x after j steps) before the step from it."""
    import foolbox

    if settings.epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {settings.epsilon}")
    fmodel = foolbox.PyTorchModel(model.eval(), bounds=(0.0, 1.0), device=images.device)
    attack_class = _foolbox_pgd(settings.norm, settings.eot_loss == "sum")
    attack = (attack_class if keep is None else _recording(attack_class, keep))(
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
    from ``attack_seed + b`` (a shard passes :func:`diffrob.purify.noise.shard_start_seed`). The test uses the same
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
