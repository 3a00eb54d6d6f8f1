"""Direction checks of the report: true, false, and missing numbers."""

import pandas as pd

from diffrob.paper.claims import claims
from diffrob.paper.report import blocks_to_html, blocks_to_markdown, claim_blocks
from diffrob.stats.correlations import spearman

COLUMNS = ["artifact", "dataset", "row", "column", "value", "sd", "n"]


def _frame(rows):
    return pd.DataFrame([(a, "digits", r, c, v, s, 3) for a, r, c, v, s in rows], columns=COLUMNS)


def _claim(text):
    return next(c for c in claims() if text in c.statement)


def test_push_away_check_follows_the_numbers():
    claim = _claim("push-away")
    away = _frame([("table1", "DDPM", "l2_before", 1.0, 0.1), ("table1", "DDPM", "l2_after", 2.0, 0.1)])
    closer = _frame([("table1", "DDPM", "l2_before", 2.0, 0.1), ("table1", "DDPM", "l2_after", 1.0, 0.1)])
    assert claim.check(away) is True
    assert claim.check(closer) is False
    assert claim.check(_frame([])) is None


def test_fixed_vs_free_check_needs_a_gap_beyond_twice_the_spread():
    claim = _claim("falls well below")
    rows = [("table2", "DDPM fixed", "pgd", 20.0, 1.0), ("table2", "DDPM free", "pgd", 50.0, 1.0)]
    assert claim.check(_frame(rows)) is True
    rows[1] = ("table2", "DDPM free", "pgd", 21.0, 1.0)
    assert claim.check(_frame(rows)) is False


def test_spearman_of_monotone_series():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0


def test_report_renders_every_claim_in_markdown_and_html(tmp_path):
    results = _frame([("table1", "DDPM", "l2_before", 1.0, 0.1), ("table1", "DDPM", "l2_after", 2.0, 0.1)])
    targets = pd.DataFrame(
        [("table1", "cifar10", "DDPM", "l2_before", 1.077, None, "", "")],
        columns=["artifact", "dataset", "row", "column", "value", "sd", "unit", "note"],
    )
    blocks = claim_blocks(results, targets, {"config": {"dataset": "digits"}}, tmp_path)
    markdown = blocks_to_markdown(blocks)
    assert markdown.count("\n## ") >= len(claims())
    assert "1.077" in markdown and "1 of " in markdown
    assert "<table" in blocks_to_html(blocks, "t")


def test_claims_of_a_bpda_run_read_the_bpda_columns():
    claim = next(c for c in claims(attack="bpda") if "falls well below" in c.statement)
    assert "BPDA accuracy" in claim.statement
    rows = [("table2", "DDPM fixed", "bpda", 29.5, 0.4), ("table2", "DDPM free", "bpda", 63.7, 1.2)]
    assert claim.check(_frame(rows)) is True
    pgd_only = [("table2", "DDPM fixed", "pgd", 29.5, 0.4), ("table2", "DDPM free", "pgd", 63.7, 1.2)]
    assert claim.check(_frame(pgd_only)) is None


def test_table5_check_needs_both_correlations_far_from_one():
    claim = _claim("nearly uncorrelated")
    rows = [("table5", "PGD(fix) vs PGD(fix)", "correlation", 0.08, 0.07)]
    rows.append(("table5", "PGD-EOT vs PGD(fix)", "correlation", 0.17, 0.1))
    assert claim.check(_frame(rows)) is True
    rows[1] = ("table5", "PGD-EOT vs PGD(fix)", "correlation", 0.9, 0.05)  # EOT recovers the test's gradient
    assert claim.check(_frame(rows)) is False
    rows[1] = ("table5", "PGD-EOT vs PGD(fix)", "correlation", 0.17, 0.1)
    rows[0] = ("table5", "PGD(fix) vs PGD(fix)", "correlation", 0.7, 0.1)  # one perturbation for every xi
    assert claim.check(_frame(rows)) is False


# -- every named check: a case where it holds, one where it must fail, one without numbers ----------------


def _results(rows):
    from diffrob.paper.checks import Results

    return Results(_frame(rows))


def test_comparisons_hold_fail_and_abstain():
    from diffrob.paper.checks import above, at_least, below, within

    r = _results([("t", "a", "x", 1.0, None), ("t", "b", "x", 2.0, None)])
    a, b, missing = ("t", "a", "x"), ("t", "b", "x"), ("t", "c", "x")
    assert below(r, a, b) is True and below(r, b, a) is False and below(r, a, b, margin=1.5) is False
    assert above(r, b, a) is True and above(r, a, b) is False and above(r, b, a, margin=1.0) is False
    assert at_least(r, a, 1.0) is True and at_least(r, a, 1.01) is False
    assert within(r, a, b, tolerance=1.0) is True and within(r, a, b, tolerance=0.9) is False
    assert below(r, missing, b) is None and within(r, a, missing, 1.0) is None


def test_each_row_needs_every_row():
    from diffrob.paper.checks import each_row

    rows = [("table1", "DDPM", "l2_before", 1.0, None), ("table1", "DDPM", "l2_after", 2.0, None)]
    rows += [("table1", "DDIM", "l2_before", 1.0, None), ("table1", "DDIM", "l2_after", 3.0, None)]
    args = {"artifact": "table1", "first": "l2_after", "relation": "above", "second": "l2_before"}
    assert each_row(_results(rows), **args) is True
    rows[3] = ("table1", "DDIM", "l2_after", 0.5, None)
    assert each_row(_results(rows), **args) is False
    assert each_row(_results([]), **args) is None


def test_a_gap_must_exceed_the_combined_spread():
    from diffrob.paper.checks import gap_beyond_spread

    keys = {"low": ("table2", "DDPM fixed", "pgd"), "high": ("table2", "DDPM free", "pgd")}
    wide = [("table2", "DDPM fixed", "pgd", 20.0, 3.0), ("table2", "DDPM free", "pgd", 40.0, 4.0)]
    assert gap_beyond_spread(_results(wide), **keys) is True  # 20 > 2 x 5
    narrow = [("table2", "DDPM fixed", "pgd", 20.0, 3.0), ("table2", "DDPM free", "pgd", 29.0, 4.0)]
    assert gap_beyond_spread(_results(narrow), **keys) is False  # 9 < 10
    assert gap_beyond_spread(_results(wide[:1]), **keys) is None


def test_trends_and_orderings():
    from diffrob.paper.checks import opposite_order, trend

    falling = [("table7", "DDPM", f"compress_t{t}", 1.0 - t / 400, None) for t in (10, 50, 100, 300)]
    assert trend(_results(falling), "table7", "DDPM", "compress_t", -1) is True
    assert trend(_results(falling), "table7", "DDPM", "compress_t", +1) is False
    assert trend(_results(falling[:2]), "table7", "DDPM", "compress_t", -1) is None  # two points
    opposite = [("table6", s, "compression_uniform", c, None) for s, c in (("DDPM", 0.5), ("DDIM", 0.8))]
    opposite += [("table6", s, "pgd_fix", a, None) for s, a in (("DDPM", 30.0), ("DDIM", 10.0))]
    assert opposite_order(_results(opposite), "table6", "compression_uniform", "pgd_fix") is True
    opposite[-1] = ("table6", "DDIM", "pgd_fix", 50.0, None)
    assert opposite_order(_results(opposite), "table6", "compression_uniform", "pgd_fix") is False


def test_the_base_classifier_curve_must_match_the_purifier_at_its_compression_rates():
    from diffrob.paper.checks import base_curve_matches

    points = [("table7", "DDPM", f"compress_t{t}", rate, None) for t, rate in ((10, 0.9), (50, 0.6), (100, 0.3))]
    points += [("table7", "DDPM", f"pgd_fix_t{t}", acc, None) for t, acc in ((10, 12.0), (50, 30.0), (100, 60.0))]
    scales = ((0.9, 10.0), (0.6, 35.0), (0.3, 55.0), (1.0, 5.0))
    curve = [("fig3c", "base classifier", f"pgd_scale_{s:g}", acc, None) for s, acc in scales]
    assert base_curve_matches(_results(points + curve), tolerance=15.0) is True
    far = [(a, r, c, v - 40.0 if c != "pgd_scale_1" else v, s) for a, r, c, v, s in curve]  # 40 points below
    assert base_curve_matches(_results(points + far), tolerance=15.0) is False
    reversed_curve = [(a, r, c, 100.0 - v, s) for a, r, c, v, s in curve]  # rises where the purifier falls
    assert base_curve_matches(_results(points + reversed_curve), tolerance=60.0) is False
    assert base_curve_matches(_results(curve), tolerance=15.0) is None  # no purifier points


def test_transfer_must_be_near_free_randomness_not_only_above_fixed():
    claim = _claim("about as badly")
    rows = [("table2", "DDPM fixed", "pgd", 20.0, 1.0), ("table2", "DDPM free", "pgd", 60.0, 1.0)]
    assert claim.check(_frame([*rows, ("table4", "transfer across seeds", "pgd", 55.0, 2.0)])) is True
    assert claim.check(_frame([*rows, ("table4", "transfer across seeds", "pgd", 30.0, 2.0)])) is False  # only > fixed


def test_every_condition_names_a_known_check_and_describes_its_tolerance():
    from diffrob.paper.checks import CHECKS

    for claim in claims():
        assert claim.conditions, claim.statement
        for condition in claim.conditions:
            assert condition.check in CHECKS
    snr = _claim("Internal randomness")
    assert "b=100" in snr.conditions[0].describe()  # SNR x 1e3 below 100: SNR < 0.1


def test_the_report_gives_the_attacks_scale_and_a_failed_claims_smaller_budgets():
    from diffrob.paper.report import attack_scale_sentence, smaller_budget_sentence

    rows = [("tableS3", "DDPM PGD (Full)", "l2_init", 1.0, None), ("tableS3", "DDPM PGD (Full)", "l2_max", 1.1, None)]
    assert "a ratio of 0.91" in attack_scale_sentence(_frame(rows), "DDPM", "pgd")
    assert "0.12" in attack_scale_sentence(_frame(rows), "DDPM", "pgd")  # the paper's 1.077 / 8.980
    assert "not measured" in attack_scale_sentence(_frame([]), "DDPM", "pgd")
    uniform = ["Uniform 0.031", "Uniform 0.2"]
    claim = next(c for c in claims(uniform_rows=uniform) if "push-away), for every sampler" in c.statement)
    budgets = [
        ("tableS3", "DDPM Uniform 0.031", "l2_init", 0.25, None),
        ("tableS3", "DDPM Uniform 0.031", "l2_end", 0.9, None),
    ]
    budgets += [
        ("tableS3", "DDPM Uniform 0.2", "l2_init", 1.6, None),
        ("tableS3", "DDPM Uniform 0.2", "l2_end", 1.2, None),
    ]
    sentence = smaller_budget_sentence(claim, _frame(budgets))
    assert sentence == "At the budgets this run also measures: uniform ε = 0.031: ✓, uniform ε = 0.2: ✗."
    snr = _claim("Internal randomness")
    assert smaller_budget_sentence(snr, _frame(budgets)).endswith("at the attack's budget only.")


def test_the_compression_claim_fails_for_a_purifier_that_does_nothing():
    claim = _claim("input ball is compressed")
    identity = [("tableS6", "centroid_l2", k, v, None) for k, v in (("initial", 1.0), ("inputs_about_mean", 0.97))]
    identity += [("tableS6", "centroid_l2", k, 0.97, None) for k in ("fixed_noise", "fixed_input")]
    assert claim.check(_frame(identity)) is False  # below its own-mean radius only by the sqrt(1 - 1/n) bias
    purifier = identity[:2] + [("tableS6", "centroid_l2", "fixed_noise", 0.24, None)]
    purifier += [("tableS6", "centroid_l2", "fixed_input", 3.28, None)]
    assert claim.check(_frame(purifier)) is True


def test_one_gain_must_exceed_another():
    from diffrob.paper.checks import gain_exceeds

    keys = [("t", "hi", "a"), ("t", "lo", "a"), ("t", "hi", "b"), ("t", "lo", "b")]
    values = {"smaller": (40.0, 20.0, 52.0, 45.0), "larger": (40.0, 20.0, 52.0, 20.0)}  # +20 against +7 / +32
    r = {name: _results([(*k, v, None) for k, v in zip(keys, vs, strict=True)]) for name, vs in values.items()}
    assert gain_exceeds(r["smaller"], *keys) is True
    assert gain_exceeds(r["larger"], *keys) is False
    assert gain_exceeds(_results([]), *keys) is None


MODELS = ("DDPM", "Clean fine-tune", "ADDT")


def _addt_frame(linf_dwbox, linf_eot, compression, residual):
    rows = []
    for k, model in enumerate(MODELS):
        rows += [
            ("addt", model, "linf_dwbox", linf_dwbox[k], None),
            ("addt", model, "l2_dwbox", linf_dwbox[k] + 5, None),
            ("addt", model, "linf_eot", linf_eot[k], None),
            ("addt", model, "compression_uniform", compression[k], 0.1),  # n = 3: standard error 0.058
            ("addt", model, "sigmoid_residual_linf_dwbox", residual[k], None),
        ]
    return _frame(rows)


def test_a_lower_rate_must_beat_twice_the_standard_error_of_the_difference():
    from diffrob.paper.checks import below_beyond_error

    a, b = ("addt", "ADDT", "compression_uniform"), ("addt", "Clean fine-tune", "compression_uniform")
    far = _results([(*a, 0.6, 0.1), (*b, 0.9, 0.1)])  # 0.3 apart, 2 se = 0.163
    near = _results([(*a, 0.8, 0.1), (*b, 0.9, 0.1)])  # 0.1 apart: lower, but within the noise
    assert below_beyond_error(far, a, b) is True
    assert below_beyond_error(near, a, b) is False
    assert below_beyond_error(_results([(*a, 0.6, None), (*b, 0.9, None)]), a, b) is None


def test_addt_claims_hold_on_the_papers_pattern_and_fail_on_its_reverse():
    from diffrob.paper.addt_claims import addt_claims

    holds = _addt_frame((17, 18, 39), (47, 48, 51), (0.9, 0.9, 0.6), (-20, 1, -27))  # residuals 7 apart
    fails = _addt_frame((17, 39, 18), (47, 30, 51), (0.9, 0.6, 0.9), (-20, 1, -5))  # 15 apart
    verdicts = {c.statement[:30]: (c.check(holds), c.check(fails)) for c in addt_claims()}
    assert len(verdicts) == 4
    assert all(v == (True, False) for v in verdicts.values()), verdicts
    assert all(c.check(_frame([])) is None for c in addt_claims())
