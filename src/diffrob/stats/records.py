"""Typed measurements: what a measurement job writes, before any paper name is given to it.

A record is a flat mapping: the ``quantity`` measured, its tidy key (``sampler``, ``t_star``, ``attack``,
``randomness``, ``input``, ``norm``, ``stage``, ... as the quantity needs) and the mean, sample standard
deviation and count of its values, stored unscaled. :func:`diffrob.paper.results.paper_rows` is the one place
that turns records into the paper's (artifact, row, column) names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

# Each quantity a measurement writes, and the key fields its records carry.
QUANTITIES: dict[str, tuple[str, ...]] = {
    "distance_along_chain": ("sampler", "t_star", "input", "epsilon", "norm", "stage"),  # Tables S3, S4
    "distance_to_clean": ("sampler", "metric", "stage"),  # Table 1
    "output_variance": ("part",),  # Table S5 (eq. 11): total, input, internal
    "snr": (),  # Table S5 (eq. 7)
    "centroid_radius": ("centroid",),  # Table S6
    "direction_correlation": ("held",),  # Fig. 2d-f: image (seeds vary) or noise (images vary)
    "singular_value_share": ("sampler", "relation", "threshold"),  # Fig. 3a
    "median_singular_value": ("sampler",),  # Fig. 3a
    "compression_rate": ("sampler", "t_star", "input"),  # Tables 6, 7 (eq. 10)
    "perturbation_correlation": ("attack", "randomness"),  # Table 5, row 1
    "gradient_correlation": ("attack",),  # Table 5, row 2
    "undefended_accuracy_pct": ("scale",),  # Fig. 3c
    "addt_accuracy_pct": ("model", "norm", "setting", "input"),  # ADDT: clean or adversarial, EOT or DW-box
    "addt_compression_rate": ("model", "input"),  # ADDT: each model's compression (eq. 10)
    "addt_sigmoid_residual": ("model",),  # ADDT: DW-box l_inf accuracy minus the Fig. 3b sigmoid at its compression
    "paired_difference_pct": ("comparison", "attack", "seed"),  # accuracy A - B on the same images (McNemar)
    "n_evaluation_accuracy_pct": ("model", "attack", "seed", "statistic", "draws"),  # average, worst, majority of N
    "screen_estimate": ("purifier", "estimate"),  # diffrob screen: compression, clean and predicted accuracy
    "convergence_accuracy_pct": ("attack", "seed", "budget"),  # fixed xi: PGD after k steps, AutoAttack's stages
}


def uniform_input(epsilon: float) -> str:
    """The name of the uniform-noise input of radius ``epsilon`` (a trajectories series; a distance record's
    input with its ``epsilon``)."""
    return f"uniform {float(epsilon):g}"


def mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof 1; NaN for one value) and count (NaN mean for none)."""
    numbers = [float(v) for v in values]
    n = len(numbers)
    if n == 0:
        return math.nan, math.nan, 0
    mean = math.fsum(numbers) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in numbers) / (n - 1)) if n > 1 else math.nan
    return mean, sd, n


def record(quantity: str, values: Iterable[float], images: int | None = None, **key: Any) -> dict[str, Any]:
    """A typed measurement: ``quantity``, its key fields and the mean, sd and n of ``values``; an accuracy also
        carries the number of ``images`` each value was measured on (its interval over images,
    :mod:`diffrob.stats.intervals`).

        The key must name exactly the fields :data:`QUANTITIES` lists for the quantity.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    expected = set(QUANTITIES[quantity])
    if set(key) != expected:
        raise ValueError(f"a {quantity} record is keyed by {sorted(expected)}, got {sorted(key)}")
    mean, sd, n = mean_sd(list(values))
    counted = {} if images is None else {"images": int(images)}
    return {"quantity": quantity, **key, "value": mean, "sd": sd, "n": n, **counted}
