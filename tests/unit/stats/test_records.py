"""Typed records: the measurement layer writes quantities with tidy keys; one place gives them paper names."""

import math

import pytest

from diffrob.paper.results import PAPER_NAMES, paper_rows
from diffrob.stats.records import QUANTITIES, mean_sd, record


def test_every_quantity_has_exactly_one_paper_name_rule():
    assert set(PAPER_NAMES) == set(QUANTITIES)


def test_a_record_must_carry_exactly_its_quantitys_key():
    with pytest.raises(ValueError, match="keyed by"):
        record("compression_rate", [0.5], sampler="ddpm", t_star=100)  # no input
    with pytest.raises(ValueError, match="unknown quantity"):
        record("compression", [0.5])
    r = record("compression_rate", [0.5, 0.7], sampler="ddpm", t_star=100, input="uniform")
    assert (r["value"], r["n"]) == (pytest.approx(0.6), 2) and r["sd"] == pytest.approx(math.sqrt(0.02))


def test_mean_sd_of_one_and_of_no_value():
    assert math.isnan(mean_sd([3.0])[1]) and mean_sd([3.0])[0] == 3.0
    assert mean_sd([])[2] == 0 and math.isnan(mean_sd([])[0])


def test_paper_names_scale_the_e3_columns_and_fan_compression_out_to_its_tables():
    snr = record("snr", [0.002, 0.004])
    (row,) = paper_rows(snr, "digits", main_t=100)
    assert (row["artifact"], row["row"], row["column"]) == ("tableS5", "variance", "snr_e-3")
    assert row["value"] == pytest.approx(3.0) and row["sd"] == pytest.approx(math.sqrt(2.0))
    uniform = record("compression_rate", [0.4], sampler="reverse", t_star=100, input="uniform")
    names = {(r["artifact"], r["row"], r["column"]) for r in paper_rows(uniform, "digits", main_t=100)}
    assert names == {
        ("compression", "Reverse t=100", "uniform"),
        ("table6", "Reverse", "compression_uniform"),
        ("table7", "Reverse", "compress_t100"),
    }
    robust = record("compression_rate", [0.4], sampler="ddpm", t_star=50, input="pgd_robust")
    assert [r["artifact"] for r in paper_rows(robust, "digits", main_t=100)] == ["compression"]  # not the main t*
    key = {"sampler": "ddpm", "t_star": 100, "input": "uniform", "epsilon": 0.031}
    along = record("distance_along_chain", [1.0], **key, norm="linf", stage="end")
    assert [(r["artifact"], r["row"], r["column"]) for r in paper_rows(along, "digits", 100)] == [
        ("tableS4", "DDPM Uniform 0.031", "linf_end")
    ]
    eot = record("gradient_correlation", [0.2], attack="bpda_eot")
    assert paper_rows(eot, "imagenet", 150)[0]["row"] == "BPDA-EOT vs BPDA(fix)"


def test_an_unknown_quantity_has_no_paper_name():
    with pytest.raises(ValueError, match="no paper name"):
        paper_rows({"quantity": "made_up", "value": 1.0, "sd": 0.0, "n": 1}, "digits", 100)


def test_a_measurement_file_of_the_older_format_is_refused_not_skipped(tmp_path):
    from diffrob.io import write_json
    from diffrob.paper.results import collect_results

    classifier, old, new = tmp_path / "c.json", tmp_path / "old.json", tmp_path / "new.json"
    write_json({"clean_acc": 99.0, "pgd_acc": 1.0}, classifier)
    write_json({"rows": [{"artifact": "tableS5", "row": "variance", "column": "snr_e-3", "value": 1.0}]}, old)
    write_json({"records": [record("snr", [0.002])]}, new)
    frame = collect_results("digits", "ddpm", 100, classifier, [], [], [new])
    assert frame.loc[frame["column"] == "snr_e-3", "value"].item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="older format"):
        collect_results("digits", "ddpm", 100, classifier, [], [], [old])
