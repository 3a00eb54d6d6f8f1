"""Paired comparisons of two accuracies measured on the same images, as typed records (no torch: the shards'
per-image results are read as numpy arrays).

Each comparison names two attack shards: the fixed- and the free-randomness main attack of one base seed at the
main point (does fixing xi remove robustness, image by image?), or ADDT's and its clean control's shard of one
norm, setting and seed. :func:`diffrob.stats.intervals.paired_comparison` gives the difference, its interval and
McNemar's p-value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diffrob.io import read_tensors
from diffrob.stats.intervals import paired_comparison
from diffrob.stats.records import record

SHARD_RESULTS = "an attack shard (safetensors with the tensors indices and correct)"


def shard_results(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation-set indices of a shard's images and whether each was classified correctly under the shard's
    own test (as :func:`diffrob.attack.shards.save_shard` writes them)."""
    tensors, _ = read_tensors(path, SHARD_RESULTS, ("indices", "correct"), framework="numpy")
    indices, correct = np.asarray(tensors["indices"]).ravel(), np.asarray(tensors["correct"]).ravel()
    if indices.shape != correct.shape:
        raise ValueError(f"{path}: {indices.size} indices but {correct.size} results; expected {SHARD_RESULTS}")
    return indices, correct.astype(bool)


def compare_shards(first: str | Path, second: str | Path) -> dict[str, Any]:
    """The paired comparison (first - second, points) of two shards of the same images, in the same order."""
    first_indices, first_correct = shard_results(first)
    second_indices, second_correct = shard_results(second)
    if not np.array_equal(first_indices, second_indices):
        raise ValueError(f"{first} and {second} hold different images; a paired comparison needs the same ones")
    return paired_comparison(first_correct, second_correct).as_dict()


def comparison_record(comparison: str, attack: str, seed: int, result: Mapping[str, Any]) -> dict[str, Any]:
    """A typed record of one paired comparison: the difference in points over its images, with the interval and
    p-value of :class:`diffrob.stats.intervals.PairedComparison`."""
    typed = record(
        "paired_difference_pct",
        [result["difference"]],
        result["images"],
        **{"comparison": comparison, "attack": attack, "seed": int(seed)},
    )
    extra = ("ci_low", "ci_high", "p_value", "only_first", "only_second")
    return {**typed, **{k: result[k] for k in extra}}


def comparison_records(comparisons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records of every comparison given as ``{"comparison", "attack", "seed", "first", "second"}`` (shard files)."""
    return [
        comparison_record(c["comparison"], c["attack"], c["seed"], compare_shards(c["first"], c["second"]))
        for c in comparisons
    ]
