"""Direction checks of the report: true, false, and missing numbers."""

import pandas as pd

from diffrob.claims import claims, spearman
from diffrob.report import blocks_to_html, blocks_to_markdown, claim_blocks

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
