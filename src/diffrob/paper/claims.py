"""The paper's claims as data: where the paper makes each, what it says, the numbers that test it, and the
named checks (with their tolerances) that decide whether its direction holds in our run.

A check reads only ``paper/results.csv`` through :class:`Results`, the one lookup of results; it says
``True``/``False``, or ``None`` where the numbers are missing. Magnitudes are shown beside the paper's,
never tuned towards them. Each check is a small pure function in :data:`CHECKS`; a claim lists
:class:`Condition` entries (a check's name and its parameters), and holds when all of them hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diffrob.paper.checks import Claim, Condition, Key

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
