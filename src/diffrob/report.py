"""Long-format results, and the paper's tables rendered with the paper's values beside ours."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

RESULT_COLUMNS = ["artifact", "dataset", "row", "column", "value", "sd", "n"]
SAMPLER_LABELS = {"ddpm": "DDPM", "reverse": "Reverse", "ddim": "DDIM"}


def mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof 1; NaN for one value) and count."""
    series = pd.Series(list(values), dtype=float)
    sd = float(series.std(ddof=1)) if len(series) > 1 else math.nan
    return float(series.mean()), sd, int(len(series))


def result_row(artifact: str, dataset: str, row: str, column: str, values: Sequence[float]) -> dict[str, Any]:
    """One row of ``paper/results.csv``: the mean, sd and n of ``values``."""
    mean, sd, n = mean_sd(values)
    return {"artifact": artifact, "dataset": dataset, "row": row, "column": column, "value": mean, "sd": sd, "n": n}


def table2_rows(
    dataset: str,
    sampler: str,
    classifier: Mapping[str, float],
    purified: Iterable[Mapping[str, Any]],
    shards: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Rows for Table 2 (clean and PGD accuracy, fixed vs free) and Table 4 (transfer across seeds).

    ``purified``: per-seed clean accuracies ``{"acc_fixed", "acc_free"}``; ``shards``: per-shard
    accuracies ``{"randomness", "acc_own", "acc_fresh", "acc_transfer"}``.
    """
    label = SAMPLER_LABELS.get(sampler, sampler)
    purified, shards = list(purified), list(shards)
    by = {r: [s for s in shards if s["randomness"] == r] for r in ("fixed", "free")}
    rows = [
        result_row("setup", dataset, "classifier", "clean_acc", [classifier["clean_acc"]]),
        result_row("setup", dataset, "classifier", "pgd_undefended", [classifier["pgd_acc"]]),
        result_row("table2", dataset, f"{label} free", "clean_acc", [p["acc_free"] for p in purified]),
        result_row("table2", dataset, f"{label} fixed", "clean_acc", [p["acc_fixed"] for p in purified]),
    ]
    if by["free"]:
        rows.append(result_row("table2", dataset, f"{label} free", "pgd", [s["acc_own"] for s in by["free"]]))
    if by["fixed"]:
        fixed = by["fixed"]
        rows += [
            result_row("table2", dataset, f"{label} fixed", "pgd", [s["acc_own"] for s in fixed]),
            result_row("table2", dataset, f"{label} fixed", "pgd_fresh_test", [s["acc_fresh"] for s in fixed]),
            result_row("table4", dataset, "transfer across seeds", "pgd", [s["acc_transfer"] for s in fixed]),
        ]
    return rows


def results_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``paper/results.csv`` as a frame with the columns of ``paper_targets.csv`` (plus ``n``)."""
    return pd.DataFrame(list(rows), columns=RESULT_COLUMNS)


def read_targets(path: str | Path) -> pd.DataFrame:
    """The paper's numbers (``paper_targets.csv``)."""
    frame = pd.read_csv(path)
    missing = {"artifact", "row", "column", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return frame


def fmt(value: float, sd: float = math.nan, digits: int = 1) -> str:
    """``value ± sd`` (or ``value``, or ``–`` for a missing value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {sd:.{digits}f}"


def _lookup(frame: pd.DataFrame, artifact: str, row: str, column: str) -> tuple[float, float]:
    hit = frame[(frame["artifact"] == artifact) & (frame["row"] == row) & (frame["column"] == column)]
    if hit.empty:
        return math.nan, math.nan
    sd = hit["sd"].iloc[0] if "sd" in hit else math.nan
    return float(hit["value"].iloc[0]), float(sd) if pd.notna(sd) else math.nan


def table2(results: pd.DataFrame, targets: pd.DataFrame, sampler: str = "ddpm") -> pd.DataFrame:
    """Table 2: clean and PGD accuracy (%) with free and fixed randomness, ours beside the paper's CIFAR-10."""
    label = SAMPLER_LABELS.get(sampler, sampler)
    paper = targets[targets["artifact"] == "table2"]
    records = []
    for mode in ("free", "fixed"):
        row = f"{label} {mode}"
        paper_row = f"DDPM {mode}"
        record = {"Model": label, "Fix random": "✓" if mode == "fixed" else "✗"}
        for column, title in (("clean_acc", "Clean acc."), ("pgd", "PGD")):
            ours = _lookup(results, "table2", row, column)
            theirs = _lookup(paper, "table2", paper_row, column)
            record[f"{title} (ours)"] = fmt(*ours)
            record[f"{title} (paper)"] = fmt(*theirs)
        records.append(record)
    return pd.DataFrame(records)


def fixed_vs_free_verdict(results: pd.DataFrame, sampler: str = "ddpm") -> str:
    """A sentence saying whether fixed-randomness PGD accuracy falls well below free-randomness accuracy.

    "Well below" means a gap larger than twice the combined seed-to-seed standard deviation.
    """
    label = SAMPLER_LABELS.get(sampler, sampler)
    fixed, sd_fixed = _lookup(results, "table2", f"{label} fixed", "pgd")
    free, sd_free = _lookup(results, "table2", f"{label} free", "pgd")
    if math.isnan(fixed) or math.isnan(free):
        return "Fixed- and free-randomness PGD accuracies are not both available."
    spread = math.sqrt(sum(s**2 for s in (sd_fixed, sd_free) if not math.isnan(s)))
    gap = free - fixed
    if gap > 2 * spread and gap > 0:
        verdict = "reproduces the paper's direction: fixed randomness removes much of the apparent robustness"
    elif gap > 0:
        verdict = "points the paper's way, but the gap is within twice the seed-to-seed spread"
    else:
        verdict = "does NOT reproduce the paper's direction"
    return (
        f"PGD accuracy with fixed randomness {fmt(fixed, sd_fixed)}% vs free randomness "
        f"{fmt(free, sd_free)}% (gap {gap:.1f} points, seed spread {spread:.1f}): this {verdict}."
    )


def render_markdown(frame: pd.DataFrame, caption: str, notes: Sequence[str] = ()) -> str:
    """A Markdown table with a caption line above and notes below."""
    lines = [f"**{caption}**", "", frame.to_markdown(index=False), ""]
    lines += [f"{note}" for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def render_latex(frame: pd.DataFrame, caption: str, label: str) -> str:
    """A LaTeX ``table`` environment for ``frame`` (booktabs)."""
    body = frame.to_latex(index=False, escape=True).replace("±", r"$\pm$").replace("✓", r"\checkmark")
    body = body.replace("✗", r"$\times$").replace("–", "--")
    return f"\\begin{{table}}[t]\n\\centering\n\\caption{{{caption}}}\n\\label{{{label}}}\n{body}\\end{{table}}\n"


def _read_json(path: str | Path) -> dict[str, Any]:
    import json

    return json.loads(Path(path).read_text())


def collect_results(
    dataset: str, classifier_json: str | Path, purified_jsons: Sequence[str | Path], shard_jsons: Sequence[str | Path]
) -> pd.DataFrame:
    """``paper/results.csv``: every metric file gathered into long format, one block per sampler."""
    classifier = _read_json(classifier_json)
    purified = [_read_json(p) for p in purified_jsons]
    shards = [_read_json(p) for p in shard_jsons]
    rows: list[dict[str, Any]] = []
    for sampler in dict.fromkeys(p["sampler"] for p in purified):
        rows += table2_rows(
            dataset,
            sampler,
            classifier,
            [p for p in purified if p["sampler"] == sampler],
            [s for s in shards if s["sampler"] == sampler],
        )
    frame = results_frame(rows)
    return frame.drop_duplicates(subset=["artifact", "dataset", "row", "column"], keep="first")


def write_table2(
    results_csv: str | Path, targets_csv: str | Path, sampler: str, settings: Mapping[str, Any], outputs: Any
) -> None:
    """Write Table 2 as csv, Markdown (with the verdict on fixed vs free) and LaTeX, atomically."""
    from diffrob.io import atomic_path, write_text

    results = pd.read_csv(results_csv)
    frame = table2(results, read_targets(targets_csv), sampler)
    caption = (
        f"Table 2 in miniature: accuracy (%) with and without fixed randomness "
        f"({settings['dataset']}, l_inf eps = {settings['epsilon']:.3g}, t* = {settings['t_star']} "
        f"with {settings['reverse_steps']} reverse steps, PGD-{settings['steps']}; "
        f"paper: CIFAR-10, eps = 8/255, t* = 100 full chain, PGD-40). Mean ± sd over seeds."
    )
    transfer = _lookup(results, "table4", "transfer across seeds", "pgd")
    notes = [
        fixed_vs_free_verdict(results, sampler),
        "",
        f"Transfer across seeds (Table 4: attack under xi_s, test under xi_s'): {fmt(*transfer)}% "
        "(paper, CIFAR-10: 77.4 ± 0.4%).",
    ]
    with atomic_path(outputs.csv) as tmp:
        frame.to_csv(tmp, index=False)
    write_text(render_markdown(frame, caption, notes), outputs.md)
    write_text(render_latex(frame, caption, "tab:table2"), outputs.tex)


def build_info(config: Mapping[str, Any]) -> dict[str, Any]:
    """How the results were made: diffrob and library versions, the configuration, the time."""
    import datetime
    import importlib.metadata as metadata
    import platform

    import diffrob

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    libraries = ["torch", "diffusers", "foolbox", "snakemake", "pandas", "numpy"]
    return {
        "diffrob": diffrob.__version__,
        "python": platform.python_version(),
        "libraries": {name: version(name) for name in libraries},
        "config": dict(config),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
