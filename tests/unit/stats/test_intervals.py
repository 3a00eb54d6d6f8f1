"""Intervals over images and paired comparisons: Wilson's interval against scipy's, McNemar's exact test on known
counts, the shards' per-image results read back, and the interval columns of results.csv."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import binomtest

from diffrob.attack.shards import AttackShard, save_shard
from diffrob.paper.results import accuracy_rows, paper_rows, result_row
from diffrob.stats.comparisons import compare_shards, comparison_records
from diffrob.stats.intervals import paired_comparison, wilson_interval
from diffrob.stats.records import record


@pytest.mark.parametrize(("correct", "images"), [(0, 12), (3, 12), (64, 128), (127, 128), (128, 128), (1, 1)])
def test_wilson_interval_is_scipys_for_whole_counts(correct, images):
    expected = binomtest(correct, images).proportion_ci(0.95, method="wilson")
    low, high = wilson_interval(100.0 * correct / images, images)
    assert low == pytest.approx(100 * expected.low, abs=1e-9)
    assert high == pytest.approx(100 * expected.high, abs=1e-9)


def test_wilson_interval_narrows_with_images_and_holds_its_estimate():
    wide, narrow = wilson_interval(50.0, 16), wilson_interval(50.0, 1024)
    assert wide[0] < narrow[0] < 50.0 < narrow[1] < wide[1]
    assert wilson_interval(100.0, 64)[1] == pytest.approx(100.0) and wilson_interval(0.0, 64)[0] == pytest.approx(0.0)
    for images in (7, 12, 64, 1000):  # exactly, not a rounding hair beyond the estimate
        assert wilson_interval(0.0, images)[0] == 0.0 and wilson_interval(100.0, images)[1] == 100.0


@pytest.mark.parametrize(("value", "images", "message"), [(50.0, 0, "at least one image"), (120.0, 10, "outside")])
def test_wilson_interval_rejects_what_is_no_accuracy(value, images, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(value, images)


def test_paired_comparison_counts_discordant_images_and_is_mcnemars_exact_test():
    first = np.array([1] * 10 + [1] * 20 + [0] * 5)  # 10 only first, 20 both, 5 neither
    second = np.array([0] * 10 + [1] * 20 + [0] * 5)
    result = paired_comparison(first, second)
    assert (result.only_first, result.only_second, result.images) == (10, 0, 35)
    assert result.difference == pytest.approx(100 * 10 / 35)
    assert result.p_value == pytest.approx(2 * 0.5**10)  # every discordant image one way
    assert 0 < result.ci_low < result.difference == pytest.approx(result.ci_high)  # every discordant image one way
    swapped = paired_comparison(second, first)
    assert swapped.difference == pytest.approx(-result.difference) and swapped.p_value == result.p_value


@pytest.mark.parametrize(("only_first", "only_second"), [(4, 0), (5, 0), (6, 0), (12, 4), (9, 7), (0, 9), (30, 18)])
def test_paired_interval_excludes_zero_when_mcnemar_rejects(only_first, only_second):
    first = np.array([1] * only_first + [0] * only_second + [1] * 20)
    second = np.array([0] * only_first + [1] * only_second + [1] * 20)
    result = paired_comparison(first, second)
    assert result.ci_low <= result.difference <= result.ci_high
    assert (result.ci_low > 0 or result.ci_high < 0) == (result.p_value < 0.05)


def test_paired_comparison_of_equal_results_finds_nothing():
    same = np.array([1, 0, 1, 1, 0], dtype=bool)
    result = paired_comparison(same, same)
    assert (result.difference, result.p_value, result.ci_low, result.ci_high) == (0.0, 1.0, 0.0, 0.0)


def test_paired_comparison_needs_the_same_images():
    with pytest.raises(ValueError, match="same images"):
        paired_comparison([1, 0, 1], [1, 0])


def _shard(path, indices, correct):
    n = len(indices)
    shard = AttackShard(
        torch.zeros(n, 1, 2, 2), torch.zeros(n, dtype=torch.long), torch.tensor(indices), torch.tensor(correct), {}
    )
    save_shard(shard, path)
    return path


def test_shards_are_compared_image_by_image(tmp_path):
    first = _shard(tmp_path / "fixed.safetensors", [3, 5, 7, 9], [False, False, True, False])
    second = _shard(tmp_path / "free.safetensors", [3, 5, 7, 9], [True, True, True, False])
    records = comparison_records(
        [{"comparison": "fixed_vs_free", "attack": "pgd", "seed": 0, "first": first, "second": second}]
    )
    (r,) = records
    assert r["quantity"] == "paired_difference_pct" and r["images"] == 4
    assert r["value"] == pytest.approx(-50.0) and (r["only_first"], r["only_second"]) == (0, 2)
    (row,) = paper_rows(r, "digits", 100)
    assert (row["artifact"], row["row"], row["column"]) == ("paired", "fixed - free randomness", "pgd_seed0")
    assert row["p_value"] == pytest.approx(0.5) and row["ci_low"] == pytest.approx(r["ci_low"])


def test_shards_of_other_images_are_not_compared(tmp_path):
    first = _shard(tmp_path / "a.safetensors", [3, 5], [True, False])
    second = _shard(tmp_path / "b.safetensors", [3, 6], [True, True])
    with pytest.raises(ValueError, match="different images"):
        compare_shards(first, second)


def test_accuracy_rows_carry_their_interval_over_images():
    shards = [
        {"sampler": "ddpm", "t_star": 100, "attack": "pgd", "randomness": r, "seed": s, "acc_own": a, "n": 64}
        for r, s, a in (("fixed", 0, 25.0), ("fixed", 1, 31.25), ("free", 0, 60.0))
    ]
    rows = {(r["row"], r["column"]): r for r in accuracy_rows("digits", "ddpm", 100, [], shards)}
    fixed = rows[("DDPM fixed", "pgd")]
    assert fixed["images"] == 64 and fixed["n"] == 2
    assert (fixed["ci_low"], fixed["ci_high"]) == pytest.approx(wilson_interval(28.125, 64))
    shards[1]["n"] = 32
    with pytest.raises(ValueError, match="different numbers of images"):
        accuracy_rows("digits", "ddpm", 100, [], shards)


def test_only_accuracies_get_an_interval():
    measured = paper_rows(record("undefended_accuracy_pct", [40.0], 128, scale=0.5), "digits", 100)[0]
    assert measured["images"] == 128 and measured["ci_low"] < 40.0 < measured["ci_high"]
    rate = paper_rows(record("snr", [0.2, 0.3]), "digits", 100)[0]
    assert "ci_low" not in rate and math.isnan(result_row("x", "digits", "r", "c", [1.0]).get("ci_low", math.nan))
