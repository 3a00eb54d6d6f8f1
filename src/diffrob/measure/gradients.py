"""Gradients and perturbations (Table 5): correlations of adversarial perturbations made under two fixed xi, and the
PGD-EOT gradient's alignment with the gradient the test faces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from diffrob.attack.evaluate import Defence
from diffrob.attack.names import attack_gradient
from diffrob.attack.pgd import AttackSettings
from diffrob.attack.purified import PurifiedClassifier, SpeedOptions, XiStream, purified_classifier
from diffrob.attack.shards import load_evaluation_shard
from diffrob.data import ImageSet
from diffrob.measure.common import as_record
from diffrob.measure.distances import flat
from diffrob.purify.streams import ALIGNMENT_DRAWS, ALIGNMENT_TEST_DRAWS
from diffrob.resume import BatchStore, resumable
from diffrob.runtime import device


def perturbation_correlation(delta_a: torch.Tensor, delta_b: torch.Tensor) -> torch.Tensor:
    """Per-image Pearson correlation of two perturbations of the same images (Table 5)."""
    a, b = flat(delta_a), flat(delta_b)
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def input_gradient(model: PurifiedClassifier, x: torch.Tensor, labels: torch.Tensor, positions: range) -> torch.Tensor:
    """The gradient PGD steps along: d CE(model(x), labels) / dx, for the samples at ``positions``."""
    model.use_batch(positions)
    x = x.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(x), labels, reduction="sum").backward()  # the chain is checkpointed
    return x.grad.detach()


def gradient_alignment(
    defence: Defence,
    eval_set: ImageSet,
    shard_path: str | Path,
    attack: Mapping[str, Any],
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Table 5, second row: how well the EOT attack's gradient points where the test system's does.

    At each adversarial image x of the EOT shard (a point the attack reached), the per-image Pearson
    correlation between the EOT gradient -- of the cross-entropy of the logits averaged over K fresh draws
    of xi (eq. 9), as the attack computes it -- and the gradient of g(f_{xi_test}(x)) under one further
    fresh xi, the system the test then faces (the paper's "optimal attack"). Both use the shard's gradient
    (full or BPDA). The draws come from their own range (:data:`diffrob.purify.streams.ALIGNMENT_DRAWS`); with a
    ``store``, each batch is saved as it finishes, with the draw counters, and reused after a kill.
    """
    shard = load_evaluation_shard(shard_path, eval_set)
    name, seed = str(shard.info["attack"]), int(shard.info["seed"])
    settings = AttackSettings.from_mapping(attack, name)
    unet, scheduler, classifier = defence.load()
    spec, indices, gradient = defence.spec, eval_set.indices.tolist(), attack_gradient(name)
    speed = SpeedOptions.from_mapping(attack.get("speed"))  # the gradient as the attack computed it
    models = [
        purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "free", first), gradient, speed)
        for first in (ALIGNMENT_DRAWS, ALIGNMENT_TEST_DRAWS)
    ]
    eot, test = models
    eot.eot_samples = settings.eot_samples
    images, labels = shard.adversarial.to(device()), shard.labels.to(device())
    parts = []
    for number, start in enumerate(tqdm(range(0, len(labels), settings.batch_size), desc="gradient alignment")):
        rows = range(start, min(start + settings.batch_size, len(labels)))

        def align(rows: range = rows) -> dict[str, torch.Tensor]:
            x, y = images[rows.start : rows.stop], labels[rows.start : rows.stop]
            pair = [input_gradient(model, x, y, rows) for model in models]
            draws = torch.tensor([eot.calls, test.calls])
            return {"correlation": perturbation_correlation(*pair).double().cpu(), "draws": draws}

        done = resumable(store, number, eval_set.indices[rows.start : rows.stop], align)
        eot.calls, test.calls = (int(d) for d in done["draws"])  # the next batch draws on from here
        parts.append(done["correlation"])
    records = [as_record("gradient_correlation", torch.cat(parts), attack=name)]
    return {"records": records, "eot_samples": settings.eot_samples}


def correlations(eval_set: ImageSet, pairs: Sequence[tuple[str | Path, str | Path]]) -> dict[str, Any]:
    """Table 5: per-image Pearson correlation of the adversarial perturbations x_adv - x0 of shard pairs.

    ``pairs`` holds two shards of one attack and randomness under different base seeds each, as the experiment
    design pairs them (:meth:`diffrob.workflow.design.Design.correlation_pairs`); pairs of one (attack, randomness)
    are pooled into one record.
    """
    pooled: dict[tuple[str, str], list[torch.Tensor]] = {}
    for first, second in pairs:
        shards = [load_evaluation_shard(path, eval_set) for path in (first, second)]
        keys = {(str(s.info["attack"]), str(s.info["randomness"])) for s in shards}
        if len(keys) != 1:
            why = f"a Table 5 pair needs one attack and randomness, got {sorted(keys)}"
            raise ValueError(f"{first} and {second}: {why}")
        deltas = [s.adversarial - eval_set.images for s in shards]
        pooled.setdefault(keys.pop(), []).append(perturbation_correlation(*deltas))
    records = [
        as_record("perturbation_correlation", torch.cat(parts), attack=attack, randomness=randomness)
        for (attack, randomness), parts in pooled.items()
    ]
    return {"records": records}
