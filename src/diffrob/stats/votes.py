"""N-evaluation of a stochastic defence (numpy only): each adversarial image classified under N independent draws
of the purifier's randomness, summarised three ways for every N' = 1 .. N:

* **average** -- the accuracy of one draw, averaged over the N' draws (the usual single-draw number);
* **worst-of-N'** -- an image counts as defended only if every one of its N' purifications is classified
  correctly (DiffHammer's N-evaluation);
* **majority vote** -- an image counts as defended if the class most of its N' purifications get is its label
  (DiffBreak); a tie goes to the lowest class index among the tied classes.

The predictions come from :func:`diffrob.measure.n_evaluation.n_evaluation_predictions`; the draws are the
N-evaluation's
own noise stream (:func:`diffrob.purify.noise.evaluation_seed`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

STATISTICS = ("average", "worst", "majority")


def _check(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions, labels = np.asarray(predictions), np.asarray(labels).ravel()
    if predictions.ndim != 2 or predictions.shape[0] < 1:
        raise ValueError(f"predictions must be (draws, images) with at least one draw, got {predictions.shape}")
    if predictions.shape[1] != labels.size:
        raise ValueError(f"{predictions.shape[1]} images predicted but {labels.size} labels")
    if predictions.min(initial=0) < 0 or labels.min(initial=0) < 0:
        raise ValueError("class indices must be non-negative")
    return predictions.astype(np.int64), labels.astype(np.int64)


def majority_votes(predictions: np.ndarray, classes: int) -> np.ndarray:
    """The majority class of each image over the first N' draws, for every N' (shape (draws, images)); ties go to
    the lowest tied class."""
    draws, images = predictions.shape
    counts = np.zeros((images, classes), dtype=np.int64)
    votes = np.empty((draws, images), dtype=np.int64)
    for n in range(draws):
        counts[np.arange(images), predictions[n]] += 1
        votes[n] = counts.argmax(axis=1)  # the first maximum: the lowest tied class
    return votes


def accuracy_curves(predictions: Any, labels: Any) -> dict[str, np.ndarray]:
    """Average, worst-of-N' and majority-vote accuracy (%) for N' = 1 .. N (each an array of N values) from the
    predicted classes of N draws (``predictions``, shape (N, images)) and the true ``labels``."""
    predictions, labels = _check(predictions, labels)
    correct = predictions == labels[None, :]
    draws = np.arange(1, correct.shape[0] + 1)
    classes = int(max(predictions.max(), labels.max())) + 1
    return {
        "draws": draws,
        "average": 100.0 * np.cumsum(correct.mean(axis=1)) / draws,
        "worst": 100.0 * np.logical_and.accumulate(correct, axis=0).mean(axis=1),
        "majority": 100.0 * (majority_votes(predictions, classes) == labels[None, :]).mean(axis=1),
    }
