"""AutoAttack (Croce & Hein 2020) on the purified classifier under fixed randomness, through ``pyautoattack`` (the
MIT-licensed PyPI packaging of fra31/auto-attack that RobustBench installs), one attack of the ensemble after the
other on the samples still robust, so the accuracy after each is known.

Under fixed xi the purified classifier is a deterministic function, the case AutoAttack was built for; it sees it
through :class:`diffrob.attack.anchored.AnchoredClassifier`, which it may call on any subset of a batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from diffrob.attack.anchored import AnchoredClassifier, disjoint_groups
from diffrob.attack.names import AUTOATTACK_PARTS, STANDARD_AUTOATTACK_ATTACKS, STANDARD_AUTOATTACK_BUDGETS
from diffrob.attack.purified import PurifiedClassifier
from diffrob.purify.finite import NonFiniteError
from diffrob.purify.noise import seeded
from diffrob.resume import BatchStore, resumable

AUTOATTACK_NORMS: dict[str, str] = {"linf": "Linf", "l2": "L2"}


@dataclass(frozen=True)
class AutoAttackSettings:
    """The ensemble and its budgets: the attacks run in order, APGD's and FAB's iterations, the target classes of
    the targeted attacks and Square's queries. The defaults are standard AutoAttack (Croce & Hein 2020)."""

    epsilon: float
    norm: str = "linf"
    attacks: tuple[str, ...] = STANDARD_AUTOATTACK_ATTACKS
    n_iter: int = STANDARD_AUTOATTACK_BUDGETS["n_iter"]
    n_target_classes: int = STANDARD_AUTOATTACK_BUDGETS["n_target_classes"]
    n_queries: int = STANDARD_AUTOATTACK_BUDGETS["n_queries"]
    batch_size: int = 128

    def __post_init__(self) -> None:
        unknown = [a for a in self.attacks if a not in AUTOATTACK_PARTS]
        if unknown or not self.attacks:
            raise ValueError(f"unknown AutoAttack attacks {unknown}; expected some of {', '.join(AUTOATTACK_PARTS)}")
        if self.norm not in AUTOATTACK_NORMS:
            raise ValueError(f"AutoAttack norm {self.norm!r}; expected one of {', '.join(AUTOATTACK_NORMS)}")
        if self.epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {self.epsilon}")

    @classmethod
    def from_mapping(cls, attack: Mapping[str, Any], norm: str = "linf") -> AutoAttackSettings:
        """From the config's ``attack`` section: ``epsilon``, ``batch_size`` and the ``autoattack`` block (the schema
        requires its attacks and budgets)."""
        block = attack["autoattack"]
        return cls(
            epsilon=float(attack["epsilon"]),
            norm=norm,
            attacks=tuple(block["attacks"]),
            n_iter=int(block["n_iter"]),
            n_target_classes=int(block["n_target_classes"]),
            n_queries=int(block["n_queries"]),
            batch_size=int(attack["batch_size"]),
        )


def _adversary(module: AnchoredClassifier, settings: AutoAttackSettings, name: str, seed: int, device: Any) -> Any:
    """pyautoattack's ``AutoAttack`` running only ``name``, at standard AutoAttack's restarts and ``settings``'
    budgets."""
    from pyautoattack import AutoAttack

    adversary = AutoAttack(
        module,
        attacks=[name],
        device=device,
        eps=settings.epsilon,
        norm=AUTOATTACK_NORMS[settings.norm],
        seed=seed,
        version="custom",
    )
    adversary.apgd.n_restarts = adversary.apgd_targeted.n_restarts = adversary.fab.n_restarts = 1
    adversary.apgd.n_iter = adversary.apgd_targeted.n_iter = adversary.fab.n_iter = settings.n_iter
    adversary.apgd_targeted.n_target_classes = adversary.fab.n_target_classes = settings.n_target_classes
    adversary.square.n_queries = settings.n_queries
    return adversary


def autoattack_group(
    purified: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    positions: Sequence[int],
    settings: AutoAttackSettings,
    seed: int,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The ensemble on images at evaluation-set ``positions`` whose balls are disjoint: x_adv and, after each attack,
    which samples are still classified correctly under their fixed xi (key ``clean`` before any attack).

    Each attack runs on the samples the previous ones left robust; its random draws come from ``seed``
    (under :func:`diffrob.purify.noise.seeded`, so torch's global generator is left as it was).
    """
    module = AnchoredClassifier(purified, images, settings.epsilon, settings.norm, positions)
    with torch.no_grad():
        robust = module(images).argmax(1) == labels
    after = {"clean": robust.clone()}
    x_adv = images.clone()
    for name in settings.attacks:
        rows = torch.nonzero(robust).flatten()
        if len(rows):
            adversary = _adversary(module, settings, name, seed, images.device)
            with seeded(seed):
                found, predicted = adversary.run_standard_evaluation(images[rows], labels[rows], batch_size=len(rows))
            broken = predicted != labels[rows]
            x_adv[rows[broken]] = found[broken]
            robust[rows[broken]] = False
        after[name] = robust.clone()
    return x_adv, after


def autoattack_batch(
    purified: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    positions: Sequence[int],
    settings: AutoAttackSettings,
    seed: int,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """:func:`autoattack_group` on each group of :func:`diffrob.attack.anchored.disjoint_groups` of one batch,
    reassembled in the batch's order."""
    x_adv = images.clone()
    after: dict[str, torch.Tensor] = {}
    for group in disjoint_groups(images, settings.epsilon, settings.norm):
        rows = torch.tensor(group, device=images.device)
        found, robust = autoattack_group(
            purified, images[rows], labels[rows], [positions[i] for i in group], settings, seed
        )
        x_adv[rows] = found
        for name, flags in robust.items():
            after.setdefault(name, torch.zeros(len(labels), dtype=torch.bool, device=images.device))[rows] = flags
    return x_adv, after


def autoattack_set(
    purified: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AutoAttackSettings,
    attack_seed: int,
    store: BatchStore | None = None,
    indices: torch.Tensor | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """AutoAttack for the whole evaluation set, ``settings.batch_size`` samples at a time as
    :func:`diffrob.attack.pgd.attack_set` cuts them (row p is the sample at position p; batch b's draws from
    ``attack_seed + b``): x_adv and, after each attack, which samples are still correct under xi_s. With a
    ``store``, resumable batch by batch."""
    indices = torch.arange(len(labels)) if indices is None else indices
    starts = range(0, len(labels), settings.batch_size)
    adversarial: list[torch.Tensor] = []
    after: dict[str, list[torch.Tensor]] = {}
    for number, start in enumerate(tqdm(starts, desc="AutoAttack (fixed), batches", disable=not progress)):
        rows = slice(start, start + settings.batch_size)
        positions = list(range(start, min(start + settings.batch_size, len(labels))))

        def attack_batch(rows: slice = rows, positions: list[int] = positions, number: int = number) -> dict:
            try:
                x_adv, robust = autoattack_batch(
                    purified, images[rows], labels[rows], positions, settings, attack_seed + number
                )
            except NonFiniteError as err:
                raise NonFiniteError(
                    f"batch {number} (sample indices {indices[rows].tolist()}): {err}; nothing was saved for this batch"
                ) from None
            return {"adversarial": x_adv, **{f"robust_{k}": v.to(torch.uint8) for k, v in robust.items()}}

        done = resumable(store, number, indices[rows], attack_batch)
        adversarial.append(done["adversarial"].to(images.device))
        for key in ("clean", *settings.attacks):
            after.setdefault(key, []).append(done[f"robust_{key}"].bool().to(labels.device))
    return torch.cat(adversarial), {key: torch.cat(flags) for key, flags in after.items()}
