"""The N-evaluation's predictions: each adversarial image classified under N independent draws of the defence, and the
accuracies of those votes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from tqdm.auto import tqdm

from diffrob.attack.purified import predict
from diffrob.attack.shards import AttackShard
from diffrob.purify.noise import evaluation_seed
from diffrob.purify.pipeline import DiffusionPurifier
from diffrob.resume import BatchStore, resumable
from diffrob.runtime import device
from diffrob.stats.records import record
from diffrob.stats.votes import STATISTICS, accuracy_curves


def n_evaluation_predictions(
    purifier: DiffusionPurifier,
    classifier: torch.nn.Module,
    images: torch.Tensor,
    draws: int,
    batch_size: int,
    store: BatchStore | None = None,
) -> torch.Tensor:
    """The classes ``classifier`` predicts for ``images`` (the evaluation set's rows in order) purified under each
    of ``draws`` N-evaluation draws (:func:`diffrob.purify.noise.evaluation_seed`): shape (draws, images). With a
    ``store``, each finished draw is saved and reused after a kill."""
    positions, samples = list(range(images.shape[0])), torch.arange(images.shape[0])

    def one_draw(draw: int) -> dict[str, torch.Tensor]:
        purified = purifier(images, positions, evaluation_seed(draw))
        return {"predicted": predict(classifier, purified.to(device()), batch_size).cpu()}

    rows = [
        resumable(store, draw, samples, partial(one_draw, draw))["predicted"]
        for draw in tqdm(range(draws), desc="N-evaluation draws")
    ]
    return torch.stack(rows)


def n_evaluation(
    purifier: DiffusionPurifier,
    classifier: torch.nn.Module,
    shard: AttackShard,
    draws: int,
    key: Mapping[str, Any],
    batch_size: int,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """DiffHammer's and DiffBreak's evaluation of an adversarial set (:mod:`diffrob.stats.votes`): a shard's images
    (rows in evaluation-set order, :func:`diffrob.attack.shards.load_evaluation_shard`) under ``draws`` independent xi,
    as average, worst-of-N' and majority-vote accuracy for N' = 1 .. draws (``curves``) and as records at
    N' = draws, keyed by ``key`` (the shard's model, attack and seed); ``batch_size`` images are classified at once."""
    images, labels = shard.adversarial.to(device()), shard.labels
    predictions = n_evaluation_predictions(purifier, classifier, images, draws, batch_size, store)
    curves = accuracy_curves(predictions.numpy(), labels.numpy())
    records = [
        record("n_evaluation_accuracy_pct", [curves[s][-1]], len(labels), statistic=s, draws=int(draws), **key)
        for s in STATISTICS
    ]
    return {**dict(key), "curves": {k: v.tolist() for k, v in curves.items()}, "n": len(labels), "records": records}
