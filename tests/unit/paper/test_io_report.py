"""Atomic writes and the report's arithmetic."""

import math
from pathlib import Path

import pandas as pd
import pytest

from diffrob.io import atomic_path, require_file
from diffrob.paper.results import accuracy_rows, results_frame
from diffrob.paper.tables import comparison_table, fixed_vs_free_verdict, render_latex, table2
from diffrob.paper.targets import paper_value, read_targets
from diffrob.stats.records import mean_sd
from tests.helpers import ROOT


def test_atomic_path_leaves_nothing_behind_on_a_crash(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_require_file_names_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="x.bin: missing; expected weights"):
        require_file(tmp_path / "x.bin", "weights")
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="x.bin: empty file"):
        require_file(tmp_path / "x.bin", "weights")


def test_mean_sd_uses_the_sample_standard_deviation():
    mean, sd, n = mean_sd([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3)
    assert sd == pytest.approx(1.0)
    assert math.isnan(mean_sd([5.0])[1])


def _results(fixed, free, sd=1.0):
    rows = [
        ("table2", "digits", "DDPM fixed", "pgd", fixed, sd, 3),
        ("table2", "digits", "DDPM free", "pgd", free, sd, 3),
        ("table2", "digits", "DDPM fixed", "clean_acc", 95.0, 0.5, 3),
        ("table2", "digits", "DDPM free", "clean_acc", 96.0, 0.5, 3),
    ]
    return pd.DataFrame(rows, columns=["artifact", "dataset", "row", "column", "value", "sd", "n"])


def test_verdict_distinguishes_reproduced_weak_and_reversed():
    assert "reproduces the paper's direction" in fixed_vs_free_verdict(_results(20.0, 60.0))
    assert "within twice" in fixed_vs_free_verdict(_results(20.0, 21.0))
    assert "does NOT reproduce" in fixed_vs_free_verdict(_results(60.0, 20.0))


def test_table2_puts_the_papers_values_beside_ours():
    targets = pd.read_csv(ROOT / "paper" / "paper_targets.csv")
    frame = table2(_results(20.0, 60.0), targets)
    fixed = frame[frame["Fix random"] == "✓"].iloc[0]
    assert fixed["PGD (ours)"] == "20.0 ± 1.0"
    assert fixed["PGD (paper)"] == "23.7 ± 0.7"
    assert "\\checkmark" in render_latex(frame, "caption", "tab:x")


def _imagenet_shards():
    """Per-shard metrics of an ImageNet run: BPDA fixed and free over three seeds, BPDA-EOT once."""
    shards = []
    for seed, (fixed, free) in enumerate([(30.0, 64.0), (29.0, 63.0), (29.5, 64.5)]):
        for randomness, acc in (("fixed", fixed), ("free", free)):
            shards.append(
                {
                    "sampler": "ddpm",
                    "t_star": 150,
                    "attack": "bpda",
                    "randomness": randomness,
                    "seed": seed,
                    "acc_own": acc,
                    "acc_fresh": acc + 30.0,
                    "acc_transfer": acc + 35.0,
                }
            )
    shards.append(
        {
            "sampler": "ddpm",
            "t_star": 150,
            "attack": "bpda_eot",
            "randomness": "free",
            "seed": 0,
            "acc_own": 58.0,
            "acc_fresh": 58.0,
            "acc_transfer": 58.0,
        }
    )
    return shards


def test_imagenet_bpda_results_sit_beside_the_papers_table3_and_table4():
    purified = [{"sampler": "ddpm", "t_star": 150, "acc_fixed": 68.0, "acc_free": 67.0}] * 3
    results = results_frame(accuracy_rows("imagenet", "ddpm", 150, purified, _imagenet_shards(), "bpda"))
    table2_rows = results[results["artifact"] == "table2"]
    assert set(table2_rows["column"]) == {"clean_acc", "bpda", "bpda_eot", "bpda_fresh_test"}
    assert "pgd" not in set(results["column"])
    targets = read_targets(ROOT / "paper" / "paper_targets.csv")

    frame = table2(results, targets, "ddpm", "bpda", "imagenet")
    fixed = frame[frame["Fix random"] == "✓"].iloc[0]
    free = frame[frame["Fix random"] == "✗"].iloc[0]
    assert fixed["BPDA (ours)"] == "29.5 ± 0.5"
    assert fixed["BPDA (paper)"] == "29.5 ± 0.4"  # Table 3, Guided fixed
    assert free["BPDA-EOT (ours)"] == "58.0"
    assert free["BPDA-EOT (paper)"] == "59.0"
    assert "reproduces the paper's direction" in fixed_vs_free_verdict(results, "ddpm", "bpda")

    transfer = comparison_table(results, targets, "table4")
    assert list(transfer.columns)[-1] == "paper (ImageNet)"
    assert transfer.iloc[0]["paper (ImageNet)"] == "66.300 ± 2.320"


def test_an_imagenet_run_is_not_compared_with_cifar10_numbers():
    targets = read_targets(ROOT / "paper" / "paper_targets.csv")
    assert (
        paper_value(targets, "imagenet", "table1", "DDPM", "l2_before")[0]
        != paper_value(targets, "digits", "table1", "DDPM", "l2_before")[0]
    )
    assert math.isnan(paper_value(targets, "imagenet", "table1", "DDPM", "l2_before")[0])
    assert paper_value(targets, "digits", "table2", "DDPM fixed", "pgd") == (23.7, 0.7)
    assert paper_value(targets, "imagenet", "table2", "DDPM fixed", "bpda") == (29.5, 0.4)


def test_a_missing_transfer_partner_leaves_table4_out_and_omissions_say_why(tmp_path):
    from diffrob.io import write_json
    from diffrob.paper.results import accuracy_rows, collect_omissions
    from diffrob.paper.tables import omission_notes

    shard = {"sampler": "ddpm", "t_star": 20, "attack": "pgd", "randomness": "fixed", "acc_own": 10.0}
    alone = [{**shard, "acc_fresh": 40.0, "acc_transfer": None}]
    rows = accuracy_rows("digits", "ddpm", 20, [], alone)
    assert not [r for r in rows if r["artifact"] == "table4"]
    assert {r["column"] for r in rows if r["artifact"] == "accuracy"} == {"acc_own", "acc_fresh"}
    paired = accuracy_rows("digits", "ddpm", 20, [], [{**alone[0], "acc_transfer": 35.0}])
    assert [r["value"] for r in paired if r["artifact"] == "table4"] == [35.0]

    sigmoid = tmp_path / "sigmoid.json"
    write_json({"points": [], "fit": None, "reason": "0 points"}, sigmoid)
    planned = [{"artifact": "table4", "item": "transfer", "reason": "one base seed"}]
    omissions = collect_omissions(planned, sigmoid)
    assert list(omissions["artifact"]) == ["table4", "fig3b", "screen"]
    assert omission_notes(omissions, ["table4"]) == ["Not measured: transfer: one base seed."]
    assert omission_notes(omissions, ["table1"]) == []


def test_without_a_sigmoid_fit_the_screens_prediction_and_leave_one_out_are_omitted_with_the_reason(tmp_path):
    from diffrob.io import write_json
    from diffrob.paper.report import screen_blocks
    from diffrob.paper.results import collect_omissions

    sigmoid = tmp_path / "sigmoid.json"
    write_json({"points": [{}], "fit": None, "reason": "1 (sampler, t*) point(s)"}, sigmoid)
    omissions = collect_omissions([], sigmoid, ["ddpm-t100"])
    reasons = dict(zip(omissions["item"], omissions["reason"], strict=True))
    assert reasons["ddpm-t100: predicted accuracy"] == "no Fig. 3b sigmoid to predict from (1 (sampler, t*) point(s))"
    assert reasons["leave-one-out over the (sampler, t*) points"].startswith("no Fig. 3b sigmoid")
    empty = pd.DataFrame(columns=["artifact", "dataset", "row", "column", "value", "sd", "n"])
    targets = pd.DataFrame(columns=["artifact", "row", "column", "value"])
    blocks = screen_blocks(empty, targets, omissions)
    assert blocks[0] == ("h2", "Screening by compression (diffrob screen)")
    assert "Not measured: ddpm-t100: predicted accuracy: no Fig. 3b sigmoid" in blocks[-1][1]
    assert screen_blocks(empty, targets, omissions.iloc[:0]) == []  # nothing measured, nothing omitted: no section

    fitted = {"points": [{}] * 4, "fit": {"a": 1.0}, "leave_one_out": None, "reason": None}
    write_json(fitted, sigmoid)
    omissions = collect_omissions([], sigmoid, ["ddpm-t100"])  # a fit: the prediction stands, leave-one-out does not
    assert list(omissions["item"]) == ["leave-one-out over the (sampler, t*) points"]
    assert omissions["reason"].iloc[0] == "4 (sampler, t*) points; leaving one out needs more than 4"
    write_json({**fitted, "leave_one_out": {"mae": 1.0}}, sigmoid)
    assert collect_omissions([], sigmoid, ["ddpm-t100"]).empty


def test_the_report_says_why_a_claim_has_no_numbers():
    from diffrob.paper.claims import claims
    from diffrob.paper.report import claim_blocks

    results = pd.DataFrame(columns=["artifact", "dataset", "row", "column", "value", "sd", "n"])
    targets = pd.DataFrame(columns=["artifact", "row", "column", "value"])
    omissions = pd.DataFrame([{"artifact": "table4", "item": "transfer", "reason": "one base seed at DDPM"}])
    build = {"config": {"dataset": "digits", "purification": {"samplers": ["ddpm"]}}}
    blocks = claim_blocks(results, targets, build, Path("/nonexistent"), omissions)
    texts = [content for kind, content in blocks if kind in ("h2", "p")]
    table4 = next(k for k, c in enumerate(claims()) if c.section == "Sec. 4, Table 4")
    heading = texts.index(f"{table4 + 1}. Sec. 4, Table 4: –")
    assert texts[heading + 2].startswith("Checked: within(") and "tolerance=10" in texts[heading + 2]
    assert texts[heading + 3] == "Not measured: transfer: one base seed at DDPM."
    assert "Not measured in this configuration" in texts
    unexplained = texts.index("1. Sec. 3.1: –")
    assert texts[unexplained + 3].startswith("Not measured: the numbers this check reads are absent")


def test_headline_metrics_carry_their_units_and_the_snr_is_unscaled(tmp_path):
    from diffrob.paper.results import headline_metrics

    rows = [
        ("tableS5", "digits", "variance", "snr_e-3", 201.4, 10.0, 16),
        ("table2", "digits", "DDPM fixed", "pgd", 23.7, 1.0, 3),
    ]
    path = tmp_path / "results.csv"
    pd.DataFrame(rows, columns=["artifact", "dataset", "row", "column", "value", "sd", "n"]).to_csv(path, index=False)
    metrics = headline_metrics(path)
    assert metrics["snr"] == 0.2014 and metrics["table2_pgd_fixed_acc_pct"] == 23.7
    assert metrics["table2_pgd_free_acc_pct"] is None
    assert all(name.endswith(("_pct", "_r2")) or name == "snr" for name in metrics)


def test_the_report_and_manuscript_speak_of_the_runs_own_data():
    from diffrob.paper.targets import how_magnitudes_differ, run_subtitle

    digits = {"dataset": "digits", "purification": {"t_star": 100, "reverse_steps": 20}}
    cifar = {"dataset": "cifar10", "purification": {"t_star": 100, "reverse_steps": 100}}
    assert "miniature" in run_subtitle("digits") and "miniature" not in run_subtitle("cifar10")
    digits_text = how_magnitudes_differ(digits)
    assert "other data" in digits_text and "respaced to 20 of t* = 100" in digits_text
    cifar_text = how_magnitudes_differ(cifar)
    assert "Same data set" in cifar_text and "other data" not in cifar_text and "respaced" not in cifar_text


def test_a_table_without_a_caption_is_refused(tmp_path):
    from diffrob.paper.tables import write_table

    with pytest.raises(ValueError, match="no table 'table3'"):
        write_table(tmp_path / "results.csv", tmp_path / "targets.csv", "table3", tmp_path)
