"""Typed results gathered into `paper/results.csv` (long format: artifact, dataset, row, column, value, sd, n; an
accuracy also has the images it was measured on and its 95% interval over them, a paired comparison its
p-value) and `paper/omissions.csv`. The measurement layer writes its rows with :func:`result_row`; the paper-facing
names of rows and columns are made here and in :mod:`diffrob.paper.targets`, never by the measurements."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from diffrob.attack.names import AUTOATTACK
from diffrob.io import read_json
from diffrob.paper.checks import lookup
from diffrob.paper.labels import (
    ATTACK_LABELS,
    ATTACK_TITLES,
    COMPARISON_LABELS,
    MODEL_LABELS,
    PROTOCOL_LABELS,
    SAMPLER_LABELS,
    input_label,
    table5_rows,
)
from diffrob.stats.fit import leave_one_out_unavailable
from diffrob.stats.intervals import wilson_interval
from diffrob.stats.records import mean_sd, uniform_input

RESULT_COLUMNS = ["artifact", "dataset", "row", "column", "value", "sd", "n", "images", "ci_low", "ci_high", "p_value"]


def over_images(value: float, images: int | None) -> dict[str, Any]:
    """The interval columns of an accuracy (%) measured on ``images`` images (none without a count): the images
    and the Wilson interval (:func:`diffrob.stats.intervals.wilson_interval`)."""
    if images is None:
        return {}
    low, high = wilson_interval(value, int(images))
    return {"images": int(images), "ci_low": low, "ci_high": high}


def result_row(
    artifact: str, dataset: str, row: str, column: str, values: Sequence[float], images: int | None = None
) -> dict[str, Any]:
    """One row of ``paper/results.csv``: the mean, sd and n of ``values``; for an accuracy measured on ``images``
    images, its interval over them."""
    mean, sd, n = mean_sd(values)
    named = {"artifact": artifact, "dataset": dataset, "row": row, "column": column}
    return {**named, "value": mean, "sd": sd, "n": n, **over_images(mean, images)}


def images_of(records: Sequence[Mapping[str, Any]]) -> int | None:
    """The number of images a group of accuracy records was measured on (``n`` of each metrics file): one count
    for the group, None for none, an error when they differ."""
    counts = {int(r["n"]) for r in records if r.get("n") is not None}
    if len(counts) > 1:
        raise ValueError(f"accuracies averaged over different numbers of images: {sorted(counts)}")
    return counts.pop() if counts else None


def present(records: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """The values of ``key`` in ``records`` that were measured (None marks a value not measured)."""
    return [r[key] for r in records if r.get(key) is not None]


def select_shards(
    shards: Sequence[Mapping[str, Any]], sampler: str, t: int, attack: str | None = None, randomness: str | None = None
) -> list[Mapping[str, Any]]:
    """The shards of ``sampler`` at ``t``, of ``attack`` and ``randomness`` where given."""
    return [
        s
        for s in shards
        if s["sampler"] == sampler
        and int(s["t_star"]) == t
        and (attack is None or s["attack"] == attack)
        and (randomness is None or s["randomness"] == randomness)
    ]


def select_clean(purified: Sequence[Mapping[str, Any]], sampler: str, t: int) -> list[Mapping[str, Any]]:
    """The per-seed clean accuracies of ``sampler`` at ``t``."""
    return [p for p in purified if p["sampler"] == sampler and int(p["t_star"]) == t]


def accuracy_row(
    dataset: str, name: tuple[str, str, str], group: Sequence[Mapping[str, Any]], key: str
) -> dict[str, Any]:
    """The results row ``name`` = (artifact, row, column): mean ± sd over the members of ``group`` that measured
    ``key``, with the interval over their images."""
    artifact, row, column = name
    measured = [g for g in group if g.get(key) is not None]
    return result_row(artifact, dataset, row, column, [g[key] for g in measured], images_of(measured))


def main_accuracy_rows(
    dataset: str,
    main: tuple[str, int, str],
    purified: Sequence[Mapping[str, Any]],
    shards: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Table 2 (clean, the main attack free and fixed, its EOT variant, the fixed set tested on fresh draws),
    Table 4 (transfer across seeds) and the fixed-randomness reference of the N-evaluation, for the ``main``
    (sampler, t*, attack)."""
    sampler, t, attack = main
    label = SAMPLER_LABELS[sampler]
    rows = []
    main_clean = select_clean(purified, sampler, t)
    if main_clean:
        rows += [
            accuracy_row(dataset, ("table2", f"{label} free", "clean_acc"), main_clean, "acc_free"),
            accuracy_row(dataset, ("table2", f"{label} fixed", "clean_acc"), main_clean, "acc_fixed"),
        ]
    free, fixed = select_shards(shards, sampler, t, attack, "free"), select_shards(shards, sampler, t, attack, "fixed")
    eot = select_shards(shards, sampler, t, f"{attack}_eot", "free")
    if free:
        rows.append(accuracy_row(dataset, ("table2", f"{label} free", attack), free, "acc_own"))
    if eot:
        rows.append(accuracy_row(dataset, ("table2", f"{label} free", f"{attack}_eot"), eot, "acc_own"))
    if fixed:
        rows += [
            accuracy_row(dataset, ("table2", f"{label} fixed", attack), fixed, "acc_own"),
            accuracy_row(dataset, ("table2", f"{label} fixed", f"{attack}_fresh_test"), fixed, "acc_fresh"),
        ]
        if present(fixed, "acc_transfer"):
            rows.append(accuracy_row(dataset, ("table4", "transfer across seeds", attack), fixed, "acc_transfer"))
        reference = f"{label} {ATTACK_LABELS[attack]} fixed (reference)"
        rows.append(accuracy_row(dataset, ("n_evaluation", reference, "fixed"), fixed, "acc_own"))
    strongest = select_shards(shards, sampler, t, AUTOATTACK, "fixed")
    if strongest:
        rows.append(accuracy_row(dataset, ("table2", f"{label} fixed", AUTOATTACK), strongest, "acc_own"))
    return rows


def group_accuracy_rows(
    dataset: str, main_t: int, purified: Sequence[Mapping[str, Any]], shards: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every (sampler, t*, attack, randomness) group's accuracies (``accuracy``), and from the fixed-randomness
    PGD groups Table 6 (at ``main_t``) and Table 7 (every t*, beside the clean accuracy under fixed draws)."""
    rows = []
    for sampler, t, attack, randomness in sorted(
        {(s["sampler"], int(s["t_star"]), s["attack"], s["randomness"]) for s in shards}
    ):
        group = select_shards(shards, sampler, t, attack, randomness)
        label = SAMPLER_LABELS[sampler]
        name = f"{label} t={t} {ATTACK_LABELS[attack]} {randomness}"
        for column in ("acc_own", "acc_fresh", "acc_transfer"):
            if present(group, column):
                rows.append(accuracy_row(dataset, ("accuracy", name, column), group, column))
        if attack == "pgd" and randomness == "fixed":
            if t == main_t:
                rows.append(accuracy_row(dataset, ("table6", label, "pgd_fix"), group, "acc_own"))
            rows.append(accuracy_row(dataset, ("table7", label, f"pgd_fix_t{t}"), group, "acc_own"))
            clean = select_clean(purified, sampler, t)
            rows.append(accuracy_row(dataset, ("table7", label, f"clean_fix_t{t}"), clean, "acc_fixed"))
    return rows


def accuracy_rows(
    dataset: str,
    main_sampler: str,
    main_t: int,
    purified: Sequence[Mapping[str, Any]],
    shards: Sequence[Mapping[str, Any]],
    main_attack: str = "pgd",
) -> list[dict[str, Any]]:
    """Accuracy rows: Table 2 (+ its EOT column), Table 4, Table 6/7 PGD(fix), and every shard group.

    ``purified``: per-seed clean accuracies ``{"sampler", "t_star", "acc_fixed", "acc_free"}``;
    ``shards``: per-shard ``{"sampler", "t_star", "attack", "randomness", "acc_own", "acc_fresh", "acc_transfer"}``.
    Table 2 and 4 columns are named by ``main_attack`` (``pgd`` on CIFAR-10, ``bpda`` on ImageNet, as in
    the paper's Tables 2-4) and its EOT variant.
    """
    return main_accuracy_rows(dataset, (main_sampler, main_t, main_attack), purified, shards) + group_accuracy_rows(
        dataset, main_t, purified, shards
    )


Name = tuple[str, str, str]  # (artifact, row, column) in results.csv


def _trajectory_name(r: Mapping[str, Any]) -> Name:
    source = r["input"] if r["input"] != "uniform" else uniform_input(r["epsilon"])
    artifact = "tableS3" if r["norm"] == "l2" else "tableS4"
    return artifact, f"{SAMPLER_LABELS[r['sampler']]} {input_label(source)}", f"{r['norm']}_{r['stage']}"


def _compression_names(r: Mapping[str, Any], main_t: int) -> list[Name]:
    label, t = SAMPLER_LABELS[r["sampler"]], int(r["t_star"])
    names = [("compression", f"{label} t={t}", r["input"])]
    if t == main_t:
        names.append(("table6", label, f"compression_{r['input']}"))
    if r["input"] == "uniform":
        names.append(("table7", label, f"compress_t{t}"))
    return names


def _jacobian_row(r: Mapping[str, Any]) -> str:
    return f"jacobian {SAMPLER_LABELS[r['sampler']]}"


def _addt_accuracy_column(r: Mapping[str, Any]) -> str:
    return f"clean_{r['setting']}" if r["input"] == "clean" else f"{r['norm']}_{r['setting']}"


def _n_evaluation_name(r: Mapping[str, Any]) -> Name:
    attack = ATTACK_LABELS.get(r["attack"]) or PROTOCOL_LABELS[r["attack"]]
    row = f"{MODEL_LABELS[r['model']]} {attack} free, seed {r['seed']}"
    return "n_evaluation", row, f"{r['statistic']}_N{r['draws']}"


DIRECTION_COLUMNS = {"image": "fixed_image_vary_noise", "noise": "fixed_noise_vary_image"}


# quantity -> (its paper names given the record and the main t*, the factor from the stored value to the named one)
PAPER_NAMES: dict[str, tuple[Callable[[Mapping[str, Any], int], list[Name]], float]] = {
    "distance_along_chain": (lambda r, _: [_trajectory_name(r)], 1.0),
    "distance_to_clean": (lambda r, _: [("table1", SAMPLER_LABELS[r["sampler"]], f"{r['metric']}_{r['stage']}")], 1.0),
    "output_variance": (lambda r, _: [("tableS5", "variance", f"{r['part']}_var_e-3")], 1e3),
    "snr": (lambda r, _: [("tableS5", "variance", "snr_e-3")], 1e3),
    "centroid_radius": (lambda r, _: [("tableS6", "centroid_l2", r["centroid"])], 1.0),
    "direction_correlation": (lambda r, _: [("fig2", "direction_corr", DIRECTION_COLUMNS[r["held"]])], 1.0),
    "singular_value_share": (
        lambda r, _: [("fig3a", _jacobian_row(r), f"frac_sv_{r['relation']}_{r['threshold']:g}")],
        1.0,
    ),
    "median_singular_value": (lambda r, _: [("fig3a", _jacobian_row(r), "median_sv")], 1.0),
    "compression_rate": (_compression_names, 1.0),
    "perturbation_correlation": (lambda r, _: [("table5", table5_rows(r["attack"])[0], "correlation")], 1.0),
    "gradient_correlation": (
        lambda r, _: [("table5", table5_rows(r["attack"].removesuffix("_eot"))[1], "correlation")],
        1.0,
    ),
    "undefended_accuracy_pct": (lambda r, _: [("fig3c", "base classifier", f"pgd_scale_{r['scale']:g}")], 1.0),
    "addt_accuracy_pct": (lambda r, _: [("addt", MODEL_LABELS[r["model"]], _addt_accuracy_column(r))], 1.0),
    "addt_compression_rate": (lambda r, _: [("addt", MODEL_LABELS[r["model"]], f"compression_{r['input']}")], 1.0),
    "addt_sigmoid_residual": (lambda r, _: [("addt", MODEL_LABELS[r["model"]], "sigmoid_residual_linf_dwbox")], 1.0),
    "n_evaluation_accuracy_pct": (lambda r, _: [_n_evaluation_name(r)], 1.0),
    "screen_estimate": (lambda r, _: [("screen", r["purifier"], r["estimate"])], 1.0),
    "convergence_accuracy_pct": (
        lambda r, _: [("convergence", f"{ATTACK_TITLES[r['attack']]} fixed, seed {r['seed']}", r["budget"])],
        1.0,
    ),
    "paired_difference_pct": (
        lambda r, _: [("paired", COMPARISON_LABELS[r["comparison"]], f"{r['attack']}_seed{r['seed']}")],
        1.0,
    ),
}


def paper_rows(record: Mapping[str, Any], dataset: str, main_t: int) -> list[dict[str, Any]]:
    """The rows of ``paper/results.csv`` a typed record (:mod:`diffrob.stats.records`) gives: its paper names and its
    values in the named unit (``_e-3`` columns hold the value x 1e3). The one place records get paper names."""
    quantity = record["quantity"]
    if quantity not in PAPER_NAMES:
        raise ValueError(f"no paper name for quantity {quantity!r}")
    names, factor = PAPER_NAMES[quantity]
    value, sd = float(record["value"]) * factor, float(record["sd"]) * factor
    if "ci_low" in record:  # a record with an interval of its own (a paired comparison, a screen's estimate)
        low, high = float(record["ci_low"]) * factor, float(record["ci_high"]) * factor
        counted = {"images": int(record["images"]), "ci_low": low, "ci_high": high}
        if "p_value" in record:
            counted["p_value"] = float(record["p_value"])
    else:
        counted = over_images(value, record.get("images"))
    return [
        {"artifact": a, "dataset": dataset, "row": row, "column": c, "value": value, "sd": sd, "n": int(record["n"])}
        | counted
        for a, row, c in names(record, main_t)
    ]


def results_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``paper/results.csv`` as a frame with the columns of ``paper_targets.csv`` (plus ``n``, and the images,
    interval and p-value columns where they apply)."""
    frame = pd.DataFrame(list(rows), columns=RESULT_COLUMNS)
    frame["images"] = frame["images"].astype("Int64")
    return frame


def collect_results(
    dataset: str,
    main_sampler: str,
    main_t: int,
    classifier_json: str | Path,
    purified_jsons: Sequence[str | Path],
    shard_jsons: Sequence[str | Path],
    measurement_jsons: Sequence[str | Path],
    main_attack: str = "pgd",
) -> pd.DataFrame:
    """``paper/results.csv``: every metric and measurement file gathered into long format."""
    classifier = read_json(classifier_json)
    rows: list[dict[str, Any]] = [
        result_row("setup", dataset, "classifier", "clean_acc", [classifier["clean_acc"]], classifier.get("n")),
        result_row("setup", dataset, "classifier", "pgd_undefended", [classifier["pgd_acc"]], classifier.get("n")),
    ]
    purified = [read_json(p) for p in purified_jsons]
    shards = [read_json(p) for p in shard_jsons]
    rows += accuracy_rows(dataset, main_sampler, main_t, purified, shards, main_attack)
    for path in measurement_jsons:
        m = read_json(path)
        if "rows" in m and "records" not in m:
            raise ValueError(f"{path}: a measurement file of an older format (rows, not records); run its job again")
        rows += [row for r in m.get("records", []) for row in paper_rows(r, dataset, main_t)]
        if m.get("fit"):
            rows += [
                result_row("fig3b", dataset, "sigmoid", key, [m["fit"][key]])
                for key in ("top", "midpoint", "width", "r2", "at_zero", "n_points")
            ]
        if m.get("leave_one_out"):  # each (sampler, t*) point predicted from a fit on the others
            rows += [
                result_row("fig3b", dataset, "leave-one-out", key, [m["leave_one_out"][key]])
                for key in ("mae", "rmse", "coverage", "failed")
            ]
    frame = results_frame(rows)
    return frame.drop_duplicates(subset=["artifact", "dataset", "row", "column"], keep="first")


OMISSION_COLUMNS = ["artifact", "item", "reason"]


def collect_omissions(
    planned: Sequence[Mapping[str, str]], sigmoid_json: str | Path, screened: Sequence[str] = ()
) -> pd.DataFrame:
    """``paper/omissions.csv``: what this run does not produce and why.

    ``planned``: the experiment design's omissions (:meth:`diffrob.workflow.design.Design.omissions`). To them are added
    what hangs on the sigmoid fit (``sigmoid.json``): the fit itself when it is ``null`` (with its ``reason``),
    the leave-one-out check when it was not run, and the predicted accuracy of each purifier in ``screened``
    (the names of the screened purifiers) when there is no fit to predict from.
    """
    rows = [dict(o) for o in planned]
    sigmoid = read_json(sigmoid_json)
    no_fit = f"no Fig. 3b sigmoid to predict from ({sigmoid['reason']})"
    if sigmoid["fit"] is None:
        rows.append({"artifact": "fig3b", "item": "sigmoid fit", "reason": sigmoid["reason"]})
        rows += [{"artifact": "screen", "item": f"{name}: predicted accuracy", "reason": no_fit} for name in screened]
    if not sigmoid.get("leave_one_out"):
        reason = no_fit if sigmoid["fit"] is None else leave_one_out_unavailable(len(sigmoid["points"]))
        rows.append({"artifact": "screen", "item": "leave-one-out over the (sampler, t*) points", "reason": reason})
    frame = pd.DataFrame(rows, columns=OMISSION_COLUMNS)
    return frame.drop_duplicates(subset=["artifact", "item"], keep="first")


def read_omissions(path: str | Path | None) -> pd.DataFrame:
    """``omissions.csv`` as a frame (empty without a file)."""
    if path is None or not Path(path).exists():
        return pd.DataFrame(columns=OMISSION_COLUMNS)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run_dataset(results: pd.DataFrame) -> str:
    """The dataset of a run, read from its results (``digits`` for an empty frame)."""
    return str(results["dataset"].iloc[0]) if "dataset" in results and not results.empty else "digits"


def headline_metrics(results_csv: str | Path, sampler: str = "ddpm", attack: str = "pgd") -> dict[str, float | None]:
    """The headline numbers of a run, each named with its unit: accuracies in percent (``_pct``: Table 2 of the
    main ``sampler`` and ``attack``, Table 4), the SNR of eq. 7 unscaled, the sigmoid fit's R^2.

    None where a number is absent.
    """
    label = SAMPLER_LABELS.get(sampler, sampler)
    keys = {  # name -> (results key, factor from the results.csv value to the named unit)
        "classifier_clean_acc_pct": (("setup", "classifier", "clean_acc"), 1.0),
        "classifier_pgd_acc_pct": (("setup", "classifier", "pgd_undefended"), 1.0),
        f"table2_{attack}_free_acc_pct": (("table2", f"{label} free", attack), 1.0),
        f"table2_{attack}_fixed_acc_pct": (("table2", f"{label} fixed", attack), 1.0),
        f"table2_{attack}_eot_free_acc_pct": (("table2", f"{label} free", f"{attack}_eot"), 1.0),
        "table4_transfer_acc_pct": (("table4", "transfer across seeds", attack), 1.0),
        "snr": (("tableS5", "variance", "snr_e-3"), 1e-3),  # results.csv holds SNR x 1e3
        "sigmoid_r2": (("fig3b", "sigmoid", "r2"), 1.0),
    }
    results = pd.read_csv(results_csv)
    out: dict[str, float | None] = {}
    for name, (key, factor) in keys.items():
        v, _ = lookup(results, *key)
        out[name] = None if math.isnan(v) else float(f"{v * factor:.4g}")
    return out
