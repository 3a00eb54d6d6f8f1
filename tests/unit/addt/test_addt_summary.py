"""ADDT's summary: accuracies over seeds and compression rates as typed records, and their paper names."""

import math

import pytest

from diffrob.addt.summary import summarize
from diffrob.paper.results import paper_rows


def _metrics(model, norm, setting, seed, robust, clean, images=64):
    key = {"model": model, "norm": norm, "setting": setting, "seed": seed}
    return {**key, "acc_robust": robust, "acc_clean": clean, "n": images}


def _compression(*inputs):
    return {"records": [{"quantity": "compression_rate", "input": i, "value": v, "sd": 0.1, "n": 8} for i, v in inputs]}


def test_accuracies_are_averaged_over_seeds_and_clean_comes_from_the_linf_jobs():
    metrics = [
        _metrics("addt", "linf", "dwbox", 0, 40.0, 90.0),
        _metrics("addt", "linf", "dwbox", 1, 50.0, 80.0),
        _metrics("addt", "l2", "dwbox", 0, 70.0, 10.0),  # its clean accuracy is the linf jobs' and is not counted
    ]
    records = summarize(metrics, {"addt": _compression(("uniform", 0.5), ("pgd_robust", 0.3))})["records"]
    by_key = {(r["quantity"], r.get("norm"), r.get("input")): r for r in records}
    linf = by_key[("addt_accuracy_pct", "linf", "adversarial")]
    assert (linf["value"], linf["n"], linf["images"]) == (45.0, 2, 64) and math.isclose(linf["sd"], math.sqrt(50.0))
    clean = by_key[("addt_accuracy_pct", "none", "clean")]
    assert (clean["value"], clean["n"]) == (85.0, 2)
    assert by_key[("addt_accuracy_pct", "l2", "adversarial")]["value"] == 70.0
    uniform = by_key[("addt_compression_rate", None, "uniform")]
    assert (uniform["model"], uniform["value"], uniform["n"]) == ("addt", 0.5, 8)


def test_the_records_get_the_addt_tables_names():
    records = summarize(
        [_metrics("base", "l2", "eot", 0, 30.0, 60.0), _metrics("base", "linf", "eot", 0, 20.0, 60.0)],
        {"clean": _compression(("pgd_nonrobust", 0.9))},
    )["records"]
    names = {(row["row"], row["column"]) for r in records for row in paper_rows(r, "digits", 100)}
    assert names == {
        ("DDPM", "l2_eot"),
        ("DDPM", "linf_eot"),
        ("DDPM", "clean_eot"),
        ("Clean fine-tune", "compression_pgd_nonrobust"),
    }
    assert {row["artifact"] for r in records for row in paper_rows(r, "digits", 100)} == {"addt"}


def test_a_compression_file_of_another_quantity_is_refused_naming_the_model():
    wrong = {"records": [{"quantity": "snr", "value": 1.0, "sd": 0.0, "n": 1}]}
    with pytest.raises(ValueError, match="compression_rate records for model 'addt', got 'snr'"):
        summarize([], {"addt": wrong})


def test_the_sigmoid_residual_is_the_dwbox_accuracy_minus_the_sigmoid_at_the_uniform_rate():
    fit = {"top": 80.0, "midpoint": 0.5, "width": 0.1}  # at the midpoint the sigmoid is top / 2 = 40
    metrics = [
        _metrics("addt", "linf", "dwbox", 0, 50.0, 90.0),
        _metrics("addt", "linf", "dwbox", 1, 46.0, 90.0),
        _metrics("addt", "linf", "eot", 0, 99.0, 90.0),  # not the sigmoid's attack
    ]
    records = summarize(metrics, {"addt": _compression(("uniform", 0.5))}, fit)["records"]
    (residual,) = [r for r in records if r["quantity"] == "addt_sigmoid_residual"]
    assert (residual["model"], residual["value"], residual["n"]) == ("addt", 8.0, 2)
    assert not [
        r
        for r in summarize(metrics, {"addt": _compression(("uniform", 0.5))}, None)["records"]
        if "sigmoid" in r["quantity"]
    ]


def test_accuracies_over_different_numbers_of_images_are_refused():
    metrics = [_metrics("addt", "linf", "dwbox", 0, 40.0, 90.0), _metrics("addt", "linf", "dwbox", 1, 50.0, 80.0, 32)]
    with pytest.raises(ValueError, match="different numbers of images"):
        summarize(metrics, {"addt": _compression(("uniform", 0.5))})
