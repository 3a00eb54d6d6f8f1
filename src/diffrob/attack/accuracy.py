"""Accuracy of a classifier on a set of images: clean, under a purifier's xi, in resumable batches."""

from __future__ import annotations

import torch
from torch import nn

from diffrob.attack.purified import PurifiedClassifier, predict
from diffrob.data import ImageSet
from diffrob.resume import BatchStore, resumable


def accuracy_percent(correct: torch.Tensor) -> float:
    """Share of ``True`` in a boolean tensor, in percent."""
    return 100.0 * float(correct.float().mean())


def correct_under(model: PurifiedClassifier, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample correctness of ``model`` on the whole evaluation set (row p at position p), in one call.

    The pipeline chunks the work; under free randomness the call draws one fresh xi for the set.
    """
    model.use_batch(range(images.shape[0]))
    return predict(model, images, max(1, images.shape[0])) == labels


def clean_correct(classifier: nn.Module, eval_set: ImageSet, batch_size: int = 256) -> torch.Tensor:
    """Per-sample correctness of the classifier alone on clean images."""
    return predict(classifier, eval_set.images, batch_size) == eval_set.labels


def correct_resumably(
    store: BatchStore | None,
    number: int,
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
) -> torch.Tensor:
    """:func:`correct_under` as item ``number`` of a resumable job: loaded from ``store`` when saved there."""
    return resumable(store, number, indices, lambda: {"correct": correct_under(model, images, labels)})["correct"]


def purified_clean_correct(
    fixed: PurifiedClassifier, free: PurifiedClassifier, eval_set: ImageSet, store: BatchStore | None = None
) -> dict[str, torch.Tensor]:
    """Correctness on purified clean images under xi_s (``fixed``) and under a fresh xi (``free``); with a
    ``store``, each saved as it finishes and reused after a kill."""
    args = (eval_set.images, eval_set.labels, eval_set.indices)
    return {
        "correct_fixed": correct_resumably(store, 0, fixed, *args),
        "correct_free": correct_resumably(store, 1, free, *args),
    }
