"""The paper's claims, in order, each with the numbers that test it and a direction check.

A check reads only ``paper/results.csv``; it says whether the *direction* of the claim holds in our
run (``True``/``False``), or ``None`` where the numbers are missing. Magnitudes are shown beside the
paper's, never tuned towards them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

Key = tuple[str, str, str]


def value(results: pd.DataFrame, artifact: str, row: str, column: str) -> float:
    """Our value for a key (NaN if absent)."""
    hit = results[(results["artifact"] == artifact) & (results["row"] == row) & (results["column"] == column)]
    return float(hit["value"].iloc[0]) if not hit.empty else math.nan


def rows_of(results: pd.DataFrame, artifact: str) -> list[str]:
    """The distinct row names of an artifact, in order of appearance."""
    return list(dict.fromkeys(results.loc[results["artifact"] == artifact, "row"]))


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (NaN for fewer than 3 points)."""
    if len(x) < 3:
        return math.nan
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


@dataclass(frozen=True)
class Claim:
    """One claim: where the paper makes it, what it says, the evidence keys, and the direction check."""

    section: str
    statement: str
    evidence: list[tuple[str, Key, Key | None]]  # (label, our key, the paper's key)
    check: Callable[[pd.DataFrame], bool | None]
    figures: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


def _all(flags: list[float | bool]) -> bool | None:
    flags = [f for f in flags if not (isinstance(f, float) and math.isnan(f))]
    return None if not flags else all(bool(f) for f in flags)


def _per_sampler(results: pd.DataFrame, artifact: str, test: Callable[[str], float | bool]) -> bool | None:
    return _all([test(r) for r in rows_of(results, artifact)])


def _cmp(a: float, b: float, op: Callable[[float, float], bool]) -> bool | None:
    return None if math.isnan(a) or math.isnan(b) else op(a, b)


def _table7_trend(results: pd.DataFrame, prefix: str, sampler: str, sign: int, upto: int = 200) -> bool | None:
    t7 = results[(results["artifact"] == "table7") & (results["row"] == sampler)]
    t7 = t7[t7["column"].str.startswith(prefix)]
    ts = t7["column"].str.removeprefix(prefix).astype(int)
    keep = ts <= upto
    rho = spearman(list(ts[keep]), list(t7["value"][keep]))
    return None if math.isnan(rho) else sign * rho > 0


def _sampler_ranking(results: pd.DataFrame) -> bool | None:
    samplers = rows_of(results, "table6")
    comp = [value(results, "table6", s, "compression_uniform") for s in samplers]
    acc = [value(results, "table6", s, "pgd_fix") for s in samplers]
    if len(samplers) < 2 or any(math.isnan(v) for v in comp + acc):
        return None
    if len(samplers) == 2:
        return (comp[0] - comp[1]) * (acc[0] - acc[1]) < 0
    return spearman(comp, acc) < 0


ATTACK_NAMES = {"pgd": "PGD", "bpda": "BPDA"}


def claims(main: str = "DDPM", smallest_uniform: str = "", attack: str = "pgd") -> list[Claim]:
    """The paper's chain of evidence, Sec. 3.1 to Sec. 5.

    ``attack`` is the run's main attack (``pgd``, or ``bpda`` as in the paper's ImageNet Table 3); the
    Table 2 and 4 claims read its columns and those of its EOT variant.
    """
    t1 = "table1"
    name, eot = ATTACK_NAMES[attack], f"{attack}_eot"
    fixed_pair, eot_pair = f"{name}(fix) vs {name}(fix)", f"{name}-EOT vs {name}(fix)"

    def before_after(metric: str, op: Callable[[float, float], bool]) -> Callable[[pd.DataFrame], bool | None]:
        return lambda r: _per_sampler(
            r, t1, lambda s: _cmp(value(r, t1, s, f"{metric}_after"), value(r, t1, s, f"{metric}_before"), op)
        )

    def gt(a: float, b: float) -> bool:
        return a > b

    def lt(a: float, b: float) -> bool:
        return a < b

    return [
        Claim(
            "Sec. 3.1",
            "Purification increases the ℓ2 distance to the clean image (push-away), for every sampler.",
            [
                (f"{s} ℓ2 {w}", (t1, s, f"l2_{w}"), (t1, s, f"l2_{w}"))
                for s in ("DDPM", "Reverse", "DDIM")
                for w in ("before", "after")
            ],
            before_after("l2", gt),
            ["fig1c_l2", "figS1_linf"],
            ["table1"],
        ),
        Claim(
            "Sec. 3.1, App. C.2",
            "The push-away holds for uniform noise as small as the attack budget, not only for attacks.",
            [
                (
                    "uniform ℓ2 init",
                    ("tableS3", f"{main} {smallest_uniform}", "l2_init"),
                    ("tableS3", "Uniform 8/255", "l2_init"),
                ),
                (
                    "uniform ℓ2 end",
                    ("tableS3", f"{main} {smallest_uniform}", "l2_end"),
                    ("tableS3", "Uniform 8/255", "l2_end_t200"),
                ),
            ],
            lambda r: _cmp(
                value(r, "tableS3", f"{main} {smallest_uniform}", "l2_end"),
                value(r, "tableS3", f"{main} {smallest_uniform}", "l2_init"),
                gt,
            ),
            ["figS3_uniform"],
            ["tableS3", "tableS4"],
        ),
        Claim(
            "Sec. 3.1",
            "Purified images are perceptually less similar to the clean image (SSIM drops).",
            [
                (f"{s} SSIM {w}", (t1, s, f"ssim_{w}"), (t1, s, f"ssim_{w}"))
                for s in ("DDPM", "Reverse", "DDIM")
                for w in ("before", "after")
            ],
            before_after("ssim", lt),
        ),
        Claim(
            "Sec. 3.1",
            "Purification brings the adversarial distribution closer to the clean one (FID drops).",
            [
                (f"{s} FID {w}", (t1, s, f"fid_{w}"), (t1, s, f"fid_{w}"))
                for s in ("DDPM", "Reverse", "DDIM")
                for w in ("before", "after")
            ],
            before_after("fid", lt),
        ),
        Claim(
            "Sec. 3.2, App. C.3",
            "Internal randomness dominates the output: SNR = input / internal variance ≪ 1 (eq. 7, 11).",
            [
                (k, ("tableS5", "variance", k), ("tableS5", "variance", k))
                for k in ("total_var_e-3", "input_var_e-3", "internal_var_e-3", "snr_e-3")
            ],
            lambda r: _cmp(value(r, "tableS5", "variance", "snr_e-3") / 1e3, 1.0, lt),
            ["fig2_randomness"],
            ["tableS5"],
        ),
        Claim(
            "Sec. 3.2",
            "Within one randomness configuration the input ball is compressed; across configurations it expands.",
            [
                ("radius, inputs", ("tableS6", "centroid_l2", "initial"), ("tableS6", "centroid_l2", "initial")),
                (
                    "radius, fixed ξ",
                    ("tableS6", "centroid_l2", "fixed_noise"),
                    ("tableS6", "centroid_l2", "fix_inputs"),
                ),
                (
                    "radius, fixed input",
                    ("tableS6", "centroid_l2", "fixed_input"),
                    ("tableS6", "centroid_l2", "fix_random"),
                ),
                ("radius, both vary", ("tableS6", "centroid_l2", "vary_both"), ("tableS6", "centroid_l2", "vary_both")),
            ],
            lambda r: _all(
                [
                    _cmp(
                        value(r, "tableS6", "centroid_l2", "fixed_noise"),
                        value(r, "tableS6", "centroid_l2", "initial"),
                        lt,
                    ),
                    _cmp(
                        value(r, "tableS6", "centroid_l2", "fixed_input"),
                        value(r, "tableS6", "centroid_l2", "initial"),
                        gt,
                    ),
                ]
            ),
            ["fig2_randomness"],
            ["tableS6"],
        ),
        Claim(
            "Sec. 3.2",
            "Purification directions agree across inputs under one ξ far more than across ξ for one input.",
            [
                (
                    "same input, ξ varies",
                    ("fig2", "direction_corr", "fixed_image_vary_noise"),
                    ("fig2", "direction_corr", "fixed_image_vary_noise"),
                ),
                (
                    "same ξ, input varies",
                    ("fig2", "direction_corr", "fixed_noise_vary_image"),
                    ("fig2", "direction_corr", "fixed_noise_vary_image"),
                ),
            ],
            lambda r: _cmp(
                value(r, "fig2", "direction_corr", "fixed_noise_vary_image"),
                value(r, "fig2", "direction_corr", "fixed_image_vary_noise"),
                gt,
            ),
            ["fig2_randomness"],
            ["fig2"],
        ),
        Claim(
            "Sec. 4, Table 2",
            f"With randomness fixed during attack and test, {name} accuracy falls well below its "
            "free-randomness value.",
            [
                (f"{name}, free ξ", ("table2", f"{main} free", attack), ("table2", "DDPM free", attack)),
                (f"{name}, fixed ξ", ("table2", f"{main} fixed", attack), ("table2", "DDPM fixed", attack)),
            ],
            lambda r: _fixed_well_below_free(r, main, attack),
            [],
            ["table2"],
        ),
        Claim(
            "Sec. 4, Table 2",
            "Fixing the randomness does not change clean accuracy (within 3 points).",
            [
                ("clean, free ξ", ("table2", f"{main} free", "clean_acc"), ("table2", "DDPM free", "clean_acc")),
                ("clean, fixed ξ", ("table2", f"{main} fixed", "clean_acc"), ("table2", "DDPM fixed", "clean_acc")),
            ],
            lambda r: _cmp(
                abs(value(r, "table2", f"{main} fixed", "clean_acc") - value(r, "table2", f"{main} free", "clean_acc")),
                3.0,
                lt,
            ),
        ),
        Claim(
            "Sec. 4, Table 2",
            "EOT strengthens the free-randomness attack but stays a transfer attack: accuracy lies between the two.",
            [(f"{name}-EOT, free ξ", ("table2", f"{main} free", eot), ("table2", "DDPM free", eot))],
            lambda r: _all(
                [
                    _cmp(value(r, "table2", f"{main} free", eot), value(r, "table2", f"{main} free", attack), lt),
                    _cmp(value(r, "table2", f"{main} free", eot), value(r, "table2", f"{main} fixed", attack), gt),
                ]
            ),
        ),
        Claim(
            "Sec. 4, Table 4",
            "An attack made under ξ_s and tested under ξ_s' does about as badly as a free-randomness attack.",
            [
                (
                    "transfer across seeds",
                    ("table4", "transfer across seeds", attack),
                    ("table4", "transfer across seeds", attack),
                )
            ],
            lambda r: _cmp(
                value(r, "table4", "transfer across seeds", attack), value(r, "table2", f"{main} fixed", attack), gt
            ),
            [],
            ["table4"],
        ),
        Claim(
            "Sec. 4, Table 5",
            f"Perturbations found under different fixed ξ are nearly uncorrelated, and the {name}-EOT gradient "
            f"is far from the gradient of the system it is tested on (g∘f under the test's ξ).",
            [
                (fixed_pair, ("table5", fixed_pair, "correlation"), ("table5", fixed_pair, "correlation")),
                (eot_pair, ("table5", eot_pair, "correlation"), ("table5", eot_pair, "correlation")),
            ],
            lambda r: _all(
                [
                    _cmp(value(r, "table5", fixed_pair, "correlation"), 0.5, lt),
                    _cmp(value(r, "table5", eot_pair, "correlation"), 0.5, lt),
                ]
            ),
            [],
            ["table5"],
        ),
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
            lambda r: _cmp(value(r, "fig3a", f"jacobian {main}", "frac_sv_below_0.25"), 0.5, gt),
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
                for s in ("DDPM", "Reverse", "DDIM")
            ],
            lambda r: _per_sampler(r, "table6", lambda s: _cmp(value(r, "table6", s, "compression_uniform"), 1.0, lt)),
            [],
            ["table6"],
        ),
        Claim(
            "Sec. 5, Table 6",
            "Across samplers, lower compression rate goes with higher fixed-randomness robustness.",
            [
                (f"{s} PGD(fix)", ("table6", s, "pgd_fix"), ("table6", s, "pgd_fix"))
                for s in ("DDPM", "Reverse", "DDIM")
            ],
            _sampler_ranking,
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
            lambda r: _all([_table7_trend(r, "compress_t", "DDPM", -1), _table7_trend(r, "pgd_fix_t", "DDPM", +1)]),
            ["figS4_timesteps"],
            ["table7"],
        ),
        Claim(
            "Sec. 5, Fig. 3b",
            "Robustness follows a sigmoid of the compression rate across samplers and t* (R² ≥ 0.8).",
            [("R²", ("fig3b", "sigmoid", "r2"), None), ("points", ("fig3b", "sigmoid", "n_points"), None)],
            lambda r: _cmp(value(r, "fig3b", "sigmoid", "r2"), 0.8, lambda a, b: a >= b),
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
            lambda r: _cmp(
                abs(value(r, "fig3b", "sigmoid", "at_zero") - value(r, "setup", "classifier", "clean_acc")), 15.0, lt
            ),
            ["fig3b_sigmoid"],
        ),
        Claim(
            "Sec. 5, Fig. 3c",
            "The undefended classifier at budgets shrunk by the compression rate gives a similar decreasing curve.",
            [("classifier, full budget", ("fig3c", "base classifier", "pgd_scale_1"), None)],
            lambda r: _base_curve_decreasing(r),
            ["fig3c_base_classifier"],
            ["fig3c"],
        ),
    ]


def _fixed_well_below_free(results: pd.DataFrame, main: str, attack: str = "pgd") -> bool | None:
    hit = results[results["artifact"] == "table2"]
    fixed = hit[(hit["row"] == f"{main} fixed") & (hit["column"] == attack)]
    free = hit[(hit["row"] == f"{main} free") & (hit["column"] == attack)]
    if fixed.empty or free.empty:
        return None
    sds = [s for s in (fixed["sd"].iloc[0], free["sd"].iloc[0]) if pd.notna(s)]
    spread = float(np.sqrt(sum(s**2 for s in sds)))
    return float(free["value"].iloc[0] - fixed["value"].iloc[0]) > 2 * spread


def _base_curve_decreasing(results: pd.DataFrame) -> bool | None:
    fig3c = results[results["artifact"] == "fig3c"]
    if len(fig3c) < 3:
        return None
    scales = fig3c["column"].str.removeprefix("pgd_scale_").astype(float)
    return spearman(list(scales), list(fig3c["value"])) < 0
