"""The checks a claim is made of: typed lookups in results.csv and the comparisons (below, within, trend, ...) that
decide a claim's direction."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from diffrob.stats.correlations import spearman

Key = tuple[str, str, str]


Operand = Key | float


Verdict = bool | None


class Results:
    """``paper/results.csv`` looked up by (artifact, row, column): value and sd (NaN where absent)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def get(self, artifact: str, row: str, column: str) -> tuple[float, float]:
        """(value, sd) of one key; NaN for what is absent."""
        frame = self.frame
        hit = frame[(frame["artifact"] == artifact) & (frame["row"] == row) & (frame["column"] == column)]
        if hit.empty:
            return math.nan, math.nan
        sd = hit["sd"].iloc[0] if "sd" in hit else math.nan
        return float(hit["value"].iloc[0]), float(sd) if pd.notna(sd) else math.nan

    def value(self, operand: Operand) -> float:
        """A key's value, or the number itself."""
        return float(operand) if isinstance(operand, int | float) else self.get(*operand)[0]

    def sd(self, key: Key) -> float:
        """A key's seed-to-seed standard deviation (NaN where there is none)."""
        return self.get(*key)[1]

    def standard_error(self, key: Key) -> float:
        """sd / sqrt(n) of a key (NaN without an sd or a count)."""
        frame = self.frame
        hit = frame[(frame["artifact"] == key[0]) & (frame["row"] == key[1]) & (frame["column"] == key[2])]
        if hit.empty or "n" not in hit or pd.isna(hit["n"].iloc[0]) or int(hit["n"].iloc[0]) < 1:
            return math.nan
        return self.sd(key) / math.sqrt(int(hit["n"].iloc[0]))

    def rows(self, artifact: str) -> list[str]:
        """The distinct row names of an artifact, in order of appearance."""
        return list(dict.fromkeys(self.frame.loc[self.frame["artifact"] == artifact, "row"]))

    def columns(self, artifact: str, row: str, prefix: str) -> dict[str, float]:
        """Every column of (artifact, row) that starts with ``prefix``, keyed by the rest of its name."""
        hit = self.frame[(self.frame["artifact"] == artifact) & (self.frame["row"] == row)]
        hit = hit[hit["column"].str.startswith(prefix)]
        return {c.removeprefix(prefix): float(v) for c, v in zip(hit["column"], hit["value"], strict=True)}


def lookup(frame: pd.DataFrame, artifact: str, row: str, column: str) -> tuple[float, float]:
    """(value, sd) of one key of a results or targets frame (NaN where absent)."""
    return Results(frame).get(artifact, row, column)


def _known(*numbers: float) -> bool:
    return not any(math.isnan(n) for n in numbers)


def _all(verdicts: Sequence[Verdict]) -> Verdict:
    known = [v for v in verdicts if v is not None]
    return None if not known else all(known)


def below(r: Results, a: Operand, b: Operand, margin: float = 0.0) -> Verdict:
    """a < b - margin."""
    x, y = r.value(a), r.value(b)
    return x < y - margin if _known(x, y) else None


def above(r: Results, a: Operand, b: Operand, margin: float = 0.0) -> Verdict:
    """a > b + margin."""
    x, y = r.value(a), r.value(b)
    return x > y + margin if _known(x, y) else None


def at_least(r: Results, a: Operand, b: Operand) -> Verdict:
    """a >= b."""
    x, y = r.value(a), r.value(b)
    return x >= y if _known(x, y) else None


def within(r: Results, a: Operand, b: Operand, tolerance: float) -> Verdict:
    """|a - b| <= tolerance."""
    x, y = r.value(a), r.value(b)
    return abs(x - y) <= tolerance if _known(x, y) else None


def each_row(r: Results, artifact: str, first: str, relation: str, second: str, margin: float = 0.0) -> Verdict:
    """For every row of ``artifact``: column ``first`` is ``below``/``above`` column ``second`` (by ``margin``)."""
    check = CHECKS[relation]
    return _all([check(r, (artifact, row, first), (artifact, row, second), margin) for row in r.rows(artifact)])


def combined_spread(r: Results, a: Key, b: Key) -> float:
    """sqrt(sd_a^2 + sd_b^2), the seed-to-seed spread of a difference (a key of one seed adds none)."""
    return math.sqrt(sum(s**2 for s in (r.sd(a), r.sd(b)) if not math.isnan(s)))


def gap_beyond_spread(r: Results, low: Key, high: Key, spreads: float = 2.0) -> Verdict:
    """high - low > ``spreads`` x :func:`combined_spread` of the two, and high > low."""
    x, y = r.value(low), r.value(high)
    if not _known(x, y):
        return None
    return y - x > spreads * combined_spread(r, low, high) and y > x


def gain_exceeds(r: Results, high_a: Key, low_a: Key, high_b: Key, low_b: Key) -> Verdict:
    """(high_a - low_a) > (high_b - low_b): one gain exceeds another."""
    values = [r.value(k) for k in (high_a, low_a, high_b, low_b)]
    return values[0] - values[1] > values[2] - values[3] if _known(*values) else None


def below_beyond_error(r: Results, a: Key, b: Key, errors: float = 2.0) -> Verdict:
    """a < b by more than ``errors`` standard errors of the difference, sqrt(se_a^2 + se_b^2) (se = sd / sqrt(n))."""
    x, y, se = r.value(a), r.value(b), math.hypot(r.standard_error(a), r.standard_error(b))
    if not _known(x, y, se):
        return None
    return y - x > errors * se


def trend(r: Results, artifact: str, row: str, prefix: str, sign: int, upto: int = 200) -> Verdict:
    """Columns ``<prefix><t>`` of a row rise (sign +1) or fall (-1) with t <= ``upto`` (Spearman, 3+ points)."""
    series = {int(t): v for t, v in r.columns(artifact, row, prefix).items() if int(t) <= upto}
    rho = spearman(list(series), list(series.values()))
    return None if math.isnan(rho) else sign * rho > 0


def opposite_order(r: Results, artifact: str, x: str, y: str) -> Verdict:
    """Across the rows of ``artifact``, column ``x`` and column ``y`` are ordered oppositely (two rows: the
    differences have opposite signs; more: negative Spearman correlation)."""
    rows = r.rows(artifact)
    xs, ys = [r.value((artifact, s, x)) for s in rows], [r.value((artifact, s, y)) for s in rows]
    if len(rows) < 2 or not _known(*xs, *ys):
        return None
    if len(rows) == 2:
        return (xs[0] - xs[1]) * (ys[0] - ys[1]) < 0
    rho = spearman(xs, ys)
    return None if math.isnan(rho) else rho < 0


def fixed_points(r: Results) -> list[tuple[float, float]]:
    """(uniform compression rate, fixed-randomness accuracy %) of every measured (sampler, t*) (Table 7)."""
    points = []
    for row in r.rows("table7"):
        rates, accuracies = r.columns("table7", row, "compress_t"), r.columns("table7", row, "pgd_fix_t")
        points += [(rates[t], accuracies[t]) for t in rates if t in accuracies]
    return points


def base_curve_matches(r: Results, tolerance: float) -> Verdict:
    """Fig. 3c: the undefended classifier at budgets shrunk by each point's compression rate is about as
    accurate as the purifier at that point under fixed randomness: mean |difference| <= ``tolerance`` points,
    and (with 3+ points that vary) the two rise together (Spearman >= 0)."""
    scales = {float(s): v for s, v in r.columns("fig3c", "base classifier", "pgd_scale_").items()}
    pairs = []
    for rate, accuracy in fixed_points(r):
        nearest = min(scales, key=lambda s: abs(s - rate), default=math.nan)
        if not math.isnan(nearest) and abs(nearest - rate) <= 1e-3:
            pairs.append((scales[nearest], accuracy))
    if not pairs:
        return None
    base, purified = zip(*pairs, strict=True)
    close = sum(abs(b - p) for b, p in pairs) / len(pairs) <= tolerance
    rho = spearman(base, purified)
    return close and (math.isnan(rho) or rho >= 0)


CHECKS: dict[str, Callable[..., Verdict]] = {
    "below": below,
    "above": above,
    "at_least": at_least,
    "within": within,
    "each_row": each_row,
    "gap_beyond_spread": gap_beyond_spread,
    "trend": trend,
    "opposite_order": opposite_order,
    "base_curve_matches": base_curve_matches,
    "gain_exceeds": gain_exceeds,
    "below_beyond_error": below_beyond_error,
}


@dataclass(frozen=True)
class Condition:
    """One named check of :data:`CHECKS` with its parameters (the tolerance is one of them)."""

    check: str
    args: Mapping[str, Any]

    def holds(self, results: Results) -> Verdict:
        """The check's verdict on ``results``."""
        return CHECKS[self.check](results, **self.args)

    def describe(self) -> str:
        """The check as the report prints it, e.g. ``below(tableS5/variance/snr_e-3, 100.0)``."""

        def show(value: Any) -> str:
            return (
                "/".join(value)
                if isinstance(value, tuple)
                else f"{value:g}"
                if isinstance(value, float)
                else str(value)
            )

        return f"{self.check}({', '.join(f'{k}={show(v)}' for k, v in self.args.items())})"


@dataclass(frozen=True)
class Claim:
    """One claim: where the paper makes it, what it says, the evidence keys, and the conditions that test it."""

    section: str
    statement: str
    evidence: list[tuple[str, Key, Key | None]]  # (label, our key, the paper's key)
    conditions: tuple[Condition, ...]
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    smaller_budgets: tuple[tuple[str, Condition], ...] = ()  # the same direction at budgets below the attack's

    def at_smaller_budgets(self, results: pd.DataFrame | Results) -> list[tuple[str, Verdict]]:
        """The claim's direction at each smaller budget the run measures, as (budget, verdict)."""
        r = results if isinstance(results, Results) else Results(results)
        return [(budget, condition.holds(r)) for budget, condition in self.smaller_budgets]

    def check(self, results: pd.DataFrame | Results) -> Verdict:
        """True when every condition holds, False when one fails, None when none could be evaluated."""
        r = results if isinstance(results, Results) else Results(results)
        return _all([c.holds(r) for c in self.conditions])
