"""Uncertainty of accuracies measured on a finite set of images.

* :func:`wilson_interval` -- the Wilson score interval of an accuracy over its images (one run, or the mean of
  runs on the same images: the mean is still a proportion of those images, and seeds add no new images).
* :func:`paired_comparison` -- two accuracies measured on the same images (fixed against free randomness; ADDT
  against its clean control): the difference, and McNemar's exact test with its interval (both from one binomial
  test of the discordant images, scipy's ``binomtest``, so the interval excludes 0 when p < 0.05).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

CONFIDENCE = 0.95
"""Coverage of every interval diffrob reports."""


def student_interval(mean: float, sd: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student's t interval of a mean of ``n`` >= 2 values with sample standard deviation ``sd``."""
    from scipy.stats import t as student

    half = float(student.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def _normal_quantile(confidence: float) -> float:
    from scipy.stats import norm

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(accuracy_pct: float, images: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval (in %) of an accuracy of ``accuracy_pct`` % over ``images`` images:
    ``(p + z^2/2n ± z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with z the normal quantile of ``confidence``.

    NaN bounds for a NaN accuracy; an error for no images or an accuracy outside [0, 100].
    """
    if images < 1:
        raise ValueError(f"an accuracy's interval needs at least one image, got {images}")
    if math.isnan(accuracy_pct):
        return math.nan, math.nan
    if not -1e-9 <= accuracy_pct <= 100.0 + 1e-9:
        raise ValueError(f"accuracy {accuracy_pct} % is outside [0, 100]")
    p, n, z = min(max(accuracy_pct / 100.0, 0.0), 1.0), float(images), _normal_quantile(confidence)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # the bounds hold p exactly (at p = 0 or 1 rounding would leave it a hair outside)
    return 100.0 * max(min(centre - half, p), 0.0), 100.0 * min(max(centre + half, p), 1.0)


@dataclass(frozen=True)
class PairedComparison:
    """Accuracy A minus accuracy B on the same images, in points, with its interval and McNemar's p-value."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    only_first: int  # images A classifies correctly and B does not
    only_second: int  # images B classifies correctly and A does not
    images: int

    def as_dict(self) -> dict[str, Any]:
        """The comparison as a plain mapping (for JSON and results rows)."""
        return dict(self.__dict__)


def paired_comparison(first: Any, second: Any, confidence: float = CONFIDENCE) -> PairedComparison:
    """Compare two per-image correctness vectors of the same images (``first`` - ``second``, in points).

    With b images only ``first`` classifies correctly, c only ``second``, and D = b + c, the difference is
    (b - c) / n. McNemar's exact test is ``binomtest(b, D, 1/2)``; its Clopper-Pearson interval for the share b / D
    maps to the difference as ``D / n * (2 * share - 1)`` (conditional on D; 0 and p = 1 when D = 0).
    """
    from scipy.stats import binomtest

    a, b = np.asarray(first, dtype=bool).ravel(), np.asarray(second, dtype=bool).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a paired comparison needs the same images: {a.size} against {b.size} results")
    n = int(a.size)
    if n == 0:
        raise ValueError("a paired comparison needs at least one image")
    only_first, only_second = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_first + only_second
    difference = (only_first - only_second) / n
    low = high = 0.0
    p_value = 1.0
    if discordant:
        test = binomtest(only_first, discordant, 0.5)
        share = test.proportion_ci(confidence, method="exact")
        low, high = (discordant / n * (2 * share.low - 1), discordant / n * (2 * share.high - 1))
        p_value = float(test.pvalue)
    return PairedComparison(
        100.0 * difference,
        100.0 * low,
        100.0 * high,
        p_value,
        only_first,
        only_second,
        n,
    )
