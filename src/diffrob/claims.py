"""The paper's claims as data: where the paper makes each, what it says, the numbers that test it, and the
named checks (with their tolerances) that decide whether its direction holds in our run.

A check reads only ``paper/results.csv`` through :class:`Results`, the one lookup of results; it says
``True``/``False``, or ``None`` where the numbers are missing. Magnitudes are shown beside the paper's,
never tuned towards them. Each check is a small pure function in :data:`CHECKS`; a claim lists
:class:`Condition` entries (a check's name and its parameters), and holds when all of them hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (NaN for fewer than 3 points or a constant series)."""
    if len(x) < 3:
        return math.nan
    return float(pd.Series(list(x)).rank().corr(pd.Series(list(y)).rank()))


def _known(*numbers: float) -> bool:
    return not any(math.isnan(n) for n in numbers)


def _all(verdicts: Sequence[Verdict]) -> Verdict:
    known = [v for v in verdicts if v is not None]
    return None if not known else all(known)


# -- the named checks ---------------------------------------------------------------------------------


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


ATTACK_NAMES = {"pgd": "PGD", "bpda": "BPDA"}
SAMPLERS = ("DDPM", "Reverse", "DDIM")
TRANSFER_TOLERANCE = 10.0  # points between transfer and free-randomness accuracy ("about as badly")
CLEAN_TOLERANCE = 3.0  # points between fixed- and free-randomness clean accuracy
SNR_CEILING = 0.1  # "SNR << 1": at least an order of magnitude below 1 (the paper: 6e-3)
DIRECTION_MARGIN = 0.2  # "far more": the paper's 0.93 vs 0.22
CORRELATION_CEILING = 0.5  # "nearly uncorrelated" / "far from": the paper's 0.08 and 0.17
BASE_CURVE_TOLERANCE = 15.0  # points between the shrunk-budget classifier and the purifier (Fig. 3c)
SIGMOID_TOLERANCE = 10.0  # points between ADDT's and the DDPM's residuals from the Fig. 3b sigmoid


def C(check: str, **args: Any) -> Condition:  # noqa: N802 - reads as a table entry
    """A :class:`Condition` (short, for the table below)."""
    return Condition(check, args)


def push_away_claims(main: str, smallest_uniform: str, uniform_rows: Sequence[str]) -> list[Claim]:
    """Sec. 3.1's claims: purification pushes inputs away from the clean images (ℓ2, SSIM, FID; uniform noise as
    small as the budget too), the ℓ2 ones also checked at every uniform budget in ``uniform_rows``."""
    uniform = ("tableS3", f"{main} {smallest_uniform}")
    push_away_by_budget = tuple(
        (
            f"uniform ε = {row.removeprefix('Uniform ')}",
            C("above", a=("tableS3", f"{main} {row}", "l2_end"), b=("tableS3", f"{main} {row}", "l2_init")),
        )
        for row in uniform_rows
    )

    def table1_evidence(metric: str, label: str) -> list[tuple[str, Key, Key | None]]:
        return [
            (f"{s} {label} {w}", ("table1", s, f"{metric}_{w}"), ("table1", s, f"{metric}_{w}"))
            for s in SAMPLERS
            for w in ("before", "after")
        ]

    return [
        Claim(
            "Sec. 3.1",
            "Purification increases the ℓ2 distance to the clean image (push-away), for every sampler.",
            table1_evidence("l2", "ℓ2"),
            (C("each_row", artifact="table1", first="l2_after", relation="above", second="l2_before"),),
            ["fig1c_l2", "figS1_linf"],
            ["table1"],
            push_away_by_budget,
        ),
        Claim(
            "Sec. 3.1, App. C.2",
            "The push-away holds for uniform noise as small as the attack budget, not only for attacks.",
            [
                ("uniform ℓ2 init", (*uniform, "l2_init"), ("tableS3", "Uniform 8/255", "l2_init")),
                ("uniform ℓ2 end", (*uniform, "l2_end"), ("tableS3", "Uniform 8/255", "l2_end_t200")),
            ],
            (C("above", a=(*uniform, "l2_end"), b=(*uniform, "l2_init")),),
            ["figS3_uniform"],
            ["tableS3", "tableS4"],
            push_away_by_budget,
        ),
        Claim(
            "Sec. 3.1",
            "Purified images are perceptually less similar to the clean image (SSIM drops).",
            table1_evidence("ssim", "SSIM"),
            (C("each_row", artifact="table1", first="ssim_after", relation="below", second="ssim_before"),),
        ),
        Claim(
            "Sec. 3.1",
            "Purification brings the adversarial distribution closer to the clean one (FID drops).",
            table1_evidence("fid", "FID"),
            (C("each_row", artifact="table1", first="fid_after", relation="below", second="fid_before"),),
        ),
    ]


def randomness_claims() -> list[Claim]:
    """Sec. 3.2's claims: internal randomness dominates the output (SNR), the input ball is compressed within one
    ξ and expanded across ξ, and purification directions follow ξ more than the input."""
    radii = ("initial", "fixed_noise", "fixed_input", "vary_both", "inputs_about_mean")
    radius = {k: ("tableS6", "centroid_l2", k) for k in radii}
    directions = {k: ("fig2", "direction_corr", k) for k in ("fixed_image_vary_noise", "fixed_noise_vary_image")}
    return [
        Claim(
            "Sec. 3.2, App. C.3",
            f"Internal randomness dominates the output: SNR = input / internal variance ≪ 1 (eq. 7, 11; "
            f"here: below {SNR_CEILING:g}).",
            [
                (k, ("tableS5", "variance", k), ("tableS5", "variance", k))
                for k in ("total_var_e-3", "input_var_e-3", "internal_var_e-3", "snr_e-3")
            ],
            (C("below", a=("tableS5", "variance", "snr_e-3"), b=SNR_CEILING * 1e3),),
            ["fig2_randomness"],
            ["tableS5"],
        ),
        Claim(
            "Sec. 3.2",
            "Within one randomness configuration the input ball is compressed; across configurations it expands "
            "(radii about each set's own mean, the inputs' included).",
            [
                ("radius, inputs", radius["initial"], radius["initial"]),
                ("radius, inputs about their mean", radius["inputs_about_mean"], None),
                ("radius, fixed ξ", radius["fixed_noise"], ("tableS6", "centroid_l2", "fix_inputs")),
                ("radius, fixed input", radius["fixed_input"], ("tableS6", "centroid_l2", "fix_random")),
                ("radius, both vary", radius["vary_both"], radius["vary_both"]),
            ],
            (
                C("below", a=radius["fixed_noise"], b=radius["inputs_about_mean"]),
                C("above", a=radius["fixed_input"], b=radius["inputs_about_mean"]),
            ),
            ["fig2_randomness"],
            ["tableS6"],
        ),
        Claim(
            "Sec. 3.2",
            f"Purification directions agree across inputs under one ξ far more (by {DIRECTION_MARGIN:g} or more in "
            "correlation) than across ξ for one input.",
            [
                ("same input, ξ varies", directions["fixed_image_vary_noise"], directions["fixed_image_vary_noise"]),
                ("same ξ, input varies", directions["fixed_noise_vary_image"], directions["fixed_noise_vary_image"]),
            ],
            (
                C(
                    "above",
                    a=directions["fixed_noise_vary_image"],
                    b=directions["fixed_image_vary_noise"],
                    margin=DIRECTION_MARGIN,
                ),
            ),
            ["fig2_randomness"],
            ["fig2"],
        ),
    ]


def fixed_randomness_claims(main: str, attack: str) -> list[Claim]:
    """Sec. 4's claims (Tables 2, 4, 5) on the run's ``main`` sampler, its ``attack`` and that attack's EOT
    variant: with ξ fixed during attack and test robustness falls and clean accuracy does not; EOT and transfer
    across seeds stay between; perturbations found under different ξ are nearly uncorrelated."""
    name, eot = ATTACK_NAMES[attack], f"{attack}_eot"
    fixed_pair, eot_pair = f"{name}(fix) vs {name}(fix)", f"{name}-EOT vs {name}(fix)"
    free, fixed = ("table2", f"{main} free", attack), ("table2", f"{main} fixed", attack)
    return [
        Claim(
            "Sec. 4, Table 2",
            f"With randomness fixed during attack and test, {name} accuracy falls well below its "
            "free-randomness value (by more than twice the combined seed-to-seed spread).",
            [
                (f"{name}, free ξ", free, ("table2", "DDPM free", attack)),
                (f"{name}, fixed ξ", fixed, ("table2", "DDPM fixed", attack)),
            ],
            (C("gap_beyond_spread", low=fixed, high=free, spreads=2.0),),
            [],
            ["table2"],
        ),
        Claim(
            "Sec. 4, Table 2",
            f"Fixing the randomness does not change clean accuracy (within {CLEAN_TOLERANCE:g} points).",
            [
                ("clean, free ξ", ("table2", f"{main} free", "clean_acc"), ("table2", "DDPM free", "clean_acc")),
                ("clean, fixed ξ", ("table2", f"{main} fixed", "clean_acc"), ("table2", "DDPM fixed", "clean_acc")),
            ],
            (
                C(
                    "within",
                    a=("table2", f"{main} fixed", "clean_acc"),
                    b=("table2", f"{main} free", "clean_acc"),
                    tolerance=CLEAN_TOLERANCE,
                ),
            ),
        ),
        Claim(
            "Sec. 4, Table 2",
            "EOT strengthens the free-randomness attack but stays a transfer attack: accuracy lies between the two.",
            [(f"{name}-EOT, free ξ", ("table2", f"{main} free", eot), ("table2", "DDPM free", eot))],
            (
                C("below", a=("table2", f"{main} free", eot), b=free),
                C("above", a=("table2", f"{main} free", eot), b=fixed),
            ),
        ),
        Claim(
            "Sec. 4, Table 4",
            f"An attack made under ξ_s and tested under ξ_s' does about as badly as a free-randomness attack "
            f"(within {TRANSFER_TOLERANCE:g} points of it, and above the fixed-randomness accuracy).",
            [
                (
                    "transfer across seeds",
                    ("table4", "transfer across seeds", attack),
                    ("table4", "transfer across seeds", attack),
                ),
                (f"{name}, free ξ", free, ("table2", "DDPM free", attack)),
            ],
            (
                C("within", a=("table4", "transfer across seeds", attack), b=free, tolerance=TRANSFER_TOLERANCE),
                C("above", a=("table4", "transfer across seeds", attack), b=fixed),
            ),
            [],
            ["table4"],
        ),
        Claim(
            "Sec. 4, Table 5",
            f"Perturbations found under different fixed ξ are nearly uncorrelated, and the {name}-EOT gradient "
            f"is far from the gradient of the system it is tested on (g∘f under the test's ξ): both correlations "
            f"below {CORRELATION_CEILING:g}.",
            [
                (fixed_pair, ("table5", fixed_pair, "correlation"), ("table5", fixed_pair, "correlation")),
                (eot_pair, ("table5", eot_pair, "correlation"), ("table5", eot_pair, "correlation")),
            ],
            (
                C("below", a=("table5", fixed_pair, "correlation"), b=CORRELATION_CEILING),
                C("below", a=("table5", eot_pair, "correlation"), b=CORRELATION_CEILING),
            ),
            [],
            ["table5"],
        ),
    ]


def compression_claims(main: str) -> list[Claim]:
    """Sec. 5's claims: the purifier compresses (its Jacobian; eq. 10's rate below 1), lower compression goes with
    higher fixed-randomness robustness across samplers and t*, along a sigmoid that the undefended classifier at
    shrunk budgets reproduces. ``main``: the run's main sampler label (its Jacobian)."""
    return [
        Claim(
            "Sec. 5, Fig. 3a",
            "The purifier's Jacobian at clean images compresses: most singular values are below 0.25.",
            [
                (
                    "share of singular values < 0.25",
                    ("fig3a", f"jacobian {main}", "frac_sv_below_0.25"),
                    ("fig3a", "jacobian", "frac_sv_below_0.25"),
                ),
                (
                    "share > 1",
                    ("fig3a", f"jacobian {main}", "frac_sv_above_1"),
                    ("fig3a", "jacobian", "frac_sv_above_1"),
                ),
            ],
            (C("above", a=("fig3a", f"jacobian {main}", "frac_sv_below_0.25"), b=0.5),),
            ["fig3a_jacobian"],
            ["fig3a"],
        ),
        Claim(
            "Sec. 5, Table 6",
            "Every sampler compresses uniform perturbations (compression rate < 1, eq. 10).",
            [
                (
                    f"{s} compression (uniform)",
                    ("table6", s, "compression_uniform"),
                    ("table6", s, "compression_uniform"),
                )
                for s in SAMPLERS
            ],
            tuple(C("below", a=("table6", s, "compression_uniform"), b=1.0) for s in SAMPLERS),
            [],
            ["table6"],
        ),
        Claim(
            "Sec. 5, Table 6",
            "Across samplers, lower compression rate goes with higher fixed-randomness robustness.",
            [(f"{s} PGD(fix)", ("table6", s, "pgd_fix"), ("table6", s, "pgd_fix")) for s in SAMPLERS],
            (C("opposite_order", artifact="table6", x="compression_uniform", y="pgd_fix"),),
            [],
            ["table6"],
        ),
        Claim(
            "Sec. 5, Table 7",
            "For DDPM, deeper purification (t* up to 200) compresses more and is more robust under fixed randomness.",
            [
                (f"DDPM {label} t*={t}", ("table7", "DDPM", f"{column}{t}"), ("table7", "DDPM", f"{column}{t}"))
                for label, column in (("compression", "compress_t"), ("PGD(fix) %", "pgd_fix_t"))
                for t in (10, 20, 50, 100, 150, 200, 300)
            ],
            (
                C("trend", artifact="table7", row="DDPM", prefix="compress_t", sign=-1),
                C("trend", artifact="table7", row="DDPM", prefix="pgd_fix_t", sign=+1),
            ),
            ["figS4_timesteps"],
            ["table7"],
        ),
        Claim(
            "Sec. 5, Fig. 3b",
            "Robustness follows a sigmoid of the compression rate across samplers and t* (R² ≥ 0.8).",
            [("R²", ("fig3b", "sigmoid", "r2"), None), ("points", ("fig3b", "sigmoid", "n_points"), None)],
            (C("at_least", a=("fig3b", "sigmoid", "r2"), b=0.8),),
            ["fig3b_sigmoid"],
            ["fig3b"],
        ),
        Claim(
            "Sec. 5, Fig. 3b",
            "The fitted sigmoid extrapolated to compression 0 predicts the clean accuracy (within 15 points).",
            [
                ("sigmoid at 0", ("fig3b", "sigmoid", "at_zero"), None),
                ("classifier clean accuracy", ("setup", "classifier", "clean_acc"), None),
            ],
            (C("within", a=("fig3b", "sigmoid", "at_zero"), b=("setup", "classifier", "clean_acc"), tolerance=15.0),),
            ["fig3b_sigmoid"],
        ),
        Claim(
            "Sec. 5, Fig. 3c",
            "The undefended classifier at budgets shrunk by each point's compression rate is about as robust as "
            f"the purifier there under fixed randomness (mean gap within {BASE_CURVE_TOLERANCE:g} points, same "
            "ordering).",
            [("classifier, full budget", ("fig3c", "base classifier", "pgd_scale_1"), None)],
            (C("base_curve_matches", tolerance=BASE_CURVE_TOLERANCE),),
            ["fig3c_base_classifier"],
            ["fig3c"],
        ),
    ]


def claims(
    main: str = "DDPM", smallest_uniform: str = "", attack: str = "pgd", uniform_rows: Sequence[str] = ()
) -> list[Claim]:
    """The paper's chain of evidence, Sec. 3.1 to Sec. 5, as data.

    ``main`` is the run's main sampler label, ``smallest_uniform`` its smallest uniform-noise row (e.g.
    ``Uniform 0.031``) and ``attack`` its main attack (``pgd``, or ``bpda`` as in the paper's ImageNet
    Table 3); the Table 2 and 4 claims read its columns and those of its EOT variant. ``uniform_rows``
    (every uniform-noise row, smallest first) gives the push-away claims their smaller budgets.
    """
    return (
        push_away_claims(main, smallest_uniform, uniform_rows)
        + randomness_claims()
        + fixed_randomness_claims(main, attack)
        + compression_claims(main)
    )


def addt_claims() -> list[Claim]:
    """ADDT's claims (Liu et al., ICLR 2025) and the question that joins the two papers, as data. The control is
    the clean fine-tune with identical settings; the paper's numbers are those of its repository's figure."""

    def key(model: str, column: str) -> Key:
        return ("addt", model, column)

    addt, control, base = "ADDT", "Clean fine-tune", "DDPM"
    paper = {base, addt}

    def evidence(columns: Sequence[str]) -> list[tuple[str, Key, Key | None]]:
        models = (base, control, addt)
        return [(f"{m} {c}", key(m, c), key(m, c) if m in paper else None) for c in columns for m in models]

    return [
        Claim(
            "ADDT",
            "Under the deterministic white box (DW-box: ξ fixed and known to the attacker) ADDT is more robust "
            "than the clean fine-tune with identical settings, in ℓ∞ and in ℓ2.",
            evidence(["linf_dwbox", "l2_dwbox"]),
            (
                C("above", a=key(addt, "linf_dwbox"), b=key(control, "linf_dwbox")),
                C("above", a=key(addt, "l2_dwbox"), b=key(control, "l2_dwbox")),
            ),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT",
            "ADDT's gain over the control is larger under DW-box than under stochastic EOT (ADDT's figure: +22.4 "
            "against +4.2 points over the pretrained DDPM, ℓ∞ 8/255).",
            evidence(["linf_dwbox", "linf_eot"]),
            (
                C(
                    "gain_exceeds",
                    high_a=key(addt, "linf_dwbox"),
                    low_a=key(control, "linf_dwbox"),
                    high_b=key(addt, "linf_eot"),
                    low_b=key(control, "linf_eot"),
                ),
            ),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT × Sec. 5",
            "ADDT's gain shows as compression: its uniform-noise compression rate (eq. 10) is below the clean "
            "fine-tune's, by more than twice the standard error of the difference (over images).",
            evidence(["compression_uniform"]),
            (C("below_beyond_error", a=key(addt, "compression_uniform"), b=key(control, "compression_uniform")),),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT × Fig. 3b",
            f"ADDT lands on the robustness–compression sigmoid of the samplers × t* as the DDPM does: its residual "
            f"from the sigmoid (DW-box ℓ∞ accuracy minus the sigmoid at its uniform compression rate) is within "
            f"{SIGMOID_TOLERANCE:g} points of the DDPM's, whose point is one of the sigmoid's own, so the protocol's "
            "offset (no random start, its step, its images) cancels. The residuals are shown whichever way they go.",
            [(f"{m} residual", key(m, "sigmoid_residual_linf_dwbox"), None) for m in (base, control, addt)],
            (
                C(
                    "within",
                    a=key(addt, "sigmoid_residual_linf_dwbox"),
                    b=key(base, "sigmoid_residual_linf_dwbox"),
                    tolerance=SIGMOID_TOLERANCE,
                ),
            ),
            ["fig3b_sigmoid", "addt_models"],
            ["addt", "fig3b"],
        ),
    ]
