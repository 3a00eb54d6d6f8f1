"""Has the attack converged? PGD's accuracy against its number of steps on one fixed-randomness shard.

With a fixed step size the first k iterates of PGD-K are PGD-k's, from the same random start; so one run of the
longest budget gives the accuracy after every shorter one, and the budget of the workflow's own shard reproduces
that shard's accuracy exactly (the same start seed, the same xi).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
from tqdm.auto import tqdm

from diffrob.attack.names import AUTOATTACK
from diffrob.attack.pgd import AttackSettings, pgd
from diffrob.attack.purified import PurifiedClassifier
from diffrob.purify.finite import NonFiniteError
from diffrob.resume import BatchStore, resumable
from diffrob.stats.records import record


def pgd_iterates(
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AttackSettings,
    seed: int,
    budgets: Sequence[int],
) -> dict[int, torch.Tensor]:
    """:func:`diffrob.attack.pgd.pgd` for max(``budgets``) steps: the iterate after each number of steps in
    ``budgets``, that is PGD-k's adversarial examples for each k."""
    longest, wanted, kept = max(budgets), set(budgets), {}

    def keep(steps: int, x: torch.Tensor) -> None:
        if steps in wanted:
            kept[steps] = x.detach().clone()

    kept[longest] = pgd(model, images, labels, replace(settings, steps=longest), seed, keep)
    return {k: kept[k] for k in sorted(wanted)}


def convergence_set(
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: AttackSettings,
    attack_seed: int,
    budgets: Sequence[int],
    store: BatchStore | None = None,
    indices: torch.Tensor | None = None,
    progress: bool = True,
) -> dict[int, torch.Tensor]:
    """For each number of steps in ``budgets``, which samples PGD-k leaves correct under the model's xi, batch by
    batch as :func:`diffrob.attack.pgd.attack_set` cuts them (batch b starts from ``attack_seed + b``); with a
    ``store``, resumable batch by batch."""
    if not budgets or min(budgets) < 1:
        raise ValueError(f"budgets must be step counts >= 1, got {list(budgets)}")
    indices = torch.arange(len(labels)) if indices is None else indices
    single = replace(settings, eot_samples=1)
    correct: dict[int, list[torch.Tensor]] = {k: [] for k in sorted(set(budgets))}
    starts = range(0, len(labels), settings.batch_size)
    for number, start in enumerate(tqdm(starts, desc=f"PGD-{max(budgets)} convergence, batches", disable=not progress)):
        rows = slice(start, start + settings.batch_size)

        def batch(start: int = start, rows: slice = rows, number: int = number) -> dict[str, torch.Tensor]:
            model.use_batch(range(start, min(start + settings.batch_size, len(labels))))
            try:
                iterates = pgd_iterates(model, images[rows], labels[rows], single, attack_seed + number, budgets)
                with torch.no_grad():
                    return {
                        f"correct_{k}": (model(x).argmax(1) == labels[rows]).to(torch.uint8)
                        for k, x in iterates.items()
                    }
            except NonFiniteError as err:
                raise NonFiniteError(f"batch {number} (sample indices {indices[rows].tolist()}): {err}") from None

        done = resumable(store, number, indices[rows], batch)
        for k in correct:
            correct[k].append(done[f"correct_{k}"].bool())
    return {k: torch.cat(flags) for k, flags in correct.items()}


def convergence_measurement(
    accuracy_after: Mapping[str, float],
    attack: str,
    seed: int,
    images: int,
    shard: Mapping[str, Any],
    autoattack: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The convergence check's measurement: a record per budget (``steps_<k>``, and AutoAttack's ``after_<attack>``
    from its shard of the same seed), and whether the budget of the workflow's own shard (``shard``'s ``steps``)
    reproduced that shard's accuracy, as it must."""
    records = [
        record("convergence_accuracy_pct", [value], images, attack=attack, seed=int(seed), budget=budget)
        for budget, value in accuracy_after.items()
    ]
    if autoattack is not None:
        records += [
            record(
                "convergence_accuracy_pct",
                [autoattack[f"acc_after_{name}"]],
                images,
                attack=AUTOATTACK,
                seed=int(seed),
                budget=f"after_{name}",
            )
            for name in autoattack["attacks"]
        ]
    own = accuracy_after.get(f"steps_{int(shard['steps'])}")
    return {
        "records": records,
        "shard_steps": int(shard["steps"]),
        "shard_accuracy": float(shard["acc_own"]),
        "reproduces_shard": None if own is None else bool(abs(own - float(shard["acc_own"])) < 1e-9),
    }
