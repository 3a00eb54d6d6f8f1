"""Rank correlation of two series (no torch): the trend checks of the claims."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (NaN for fewer than 3 points or a constant series)."""
    if len(x) < 3:
        return math.nan
    return float(pd.Series(list(x)).rank().corr(pd.Series(list(y)).rank()))
