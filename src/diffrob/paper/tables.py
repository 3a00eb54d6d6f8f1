"""The paper's tables with its values beside ours (csv, Markdown, LaTeX): Table 2 with its verdict on fixed vs
free randomness, every other table as a comparison, what a configuration does not measure, and the run's LaTeX
macros."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from diffrob.attack.names import AUTOATTACK
from diffrob.paper.captions import TABLE_CAPTIONS
from diffrob.paper.checks import Results, combined_spread, gap_beyond_spread, lookup
from diffrob.paper.labels import (
    ATTACK_TITLES,
    COMPARISON_LABELS,
    DATASET_NAMES,
    SAMPLER_LABELS,
    autoattack_label,
)
from diffrob.paper.results import read_omissions, run_dataset
from diffrob.paper.targets import PAPER_TABLE2, paper_column, paper_dataset, paper_value, read_targets, run_subtitle


def fmt(value: float, sd: float = math.nan, digits: int = 1) -> str:
    """``value ± sd`` (or ``value``, or ``–`` for a missing value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {sd:.{digits}f}"


def interval_text(row: Mapping[str, Any], digits: int = 1) -> str:
    """``[low, high]`` of a results row's 95% interval over its images (``–`` without one)."""
    low, high = row.get("ci_low", math.nan), row.get("ci_high", math.nan)
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def interval_of(results: pd.DataFrame, artifact: str, row: str, column: str) -> str:
    """The 95% interval over images of one key of ``results`` (``–`` where there is none)."""
    if "ci_low" not in results:
        return "–"
    hit = results[(results["artifact"] == artifact) & (results["row"] == row) & (results["column"] == column)]
    return "–" if hit.empty else interval_text(hit.iloc[0].to_dict())


def table2(
    results: pd.DataFrame,
    targets: pd.DataFrame,
    sampler: str = "ddpm",
    attack: str = "pgd",
    dataset: str = "cifar10",
) -> pd.DataFrame:
    """Table 2 (Table 3 on ImageNet): clean and ``attack`` accuracy (%) with free and fixed randomness.

    Ours beside the paper's values for :func:`paper_dataset` of ``dataset``.
    """
    label = SAMPLER_LABELS.get(sampler, sampler)
    columns = [("clean_acc", "Clean acc.")] + [(a, ATTACK_TITLES[a]) for a in (attack, f"{attack}_eot", AUTOATTACK)]
    records = []
    for mode in ("free", "fixed"):
        row = f"{label} {mode}"
        paper_row = f"DDPM {mode}"
        record = {"Model": label, "Fix random": "✓" if mode == "fixed" else "✗"}
        for column, title in columns:
            ours = lookup(results, "table2", row, column)
            theirs = paper_value(targets, dataset, "table2", paper_row, column)
            interval = interval_of(results, "table2", row, column)
            record[f"{title} (ours)"] = fmt(*ours) + ("" if interval == "–" else f" {interval}")
            record[f"{title} (paper)"] = fmt(*theirs)
        records.append(record)
    return pd.DataFrame(records)


def fixed_vs_free_verdict(results: pd.DataFrame, sampler: str = "ddpm", attack: str = "pgd") -> str:
    """A sentence saying whether fixed-randomness ``attack`` accuracy falls well below free-randomness accuracy.

    "Well below" means a gap larger than twice the combined seed-to-seed standard deviation.
    """
    label = SAMPLER_LABELS.get(sampler, sampler)
    title = ATTACK_TITLES[attack]
    fixed, sd_fixed = lookup(results, "table2", f"{label} fixed", attack)
    free, sd_free = lookup(results, "table2", f"{label} free", attack)
    if math.isnan(fixed) or math.isnan(free):
        return f"Fixed- and free-randomness {title} accuracies are not both available."
    keys = {"low": ("table2", f"{label} fixed", attack), "high": ("table2", f"{label} free", attack)}
    gap, spread = free - fixed, combined_spread(Results(results), keys["low"], keys["high"])
    if gap_beyond_spread(Results(results), **keys, spreads=2.0):
        verdict = "reproduces the paper's direction: fixed randomness removes much of the apparent robustness"
    elif free > fixed:
        verdict = "points the paper's way, but the gap is within twice the seed-to-seed spread"
    else:
        verdict = "does NOT reproduce the paper's direction"
    return (
        f"{title} accuracy with fixed randomness {fmt(fixed, sd_fixed)}% vs free randomness "
        f"{fmt(free, sd_free)}% (gap {gap:.1f} points, seed spread {spread:.1f}): this {verdict}."
    )


def strength_verdict(results: pd.DataFrame, sampler: str, t_star: int, attack: str = "pgd") -> str:
    """A sentence on how far AutoAttack lowers the fixed-randomness accuracy ``attack`` left at (``sampler``,
    ``t_star``): the mean accuracies and, seed by seed, the paired difference with its exact McNemar p-value."""
    label, title = SAMPLER_LABELS.get(sampler, sampler), ATTACK_TITLES[attack]
    ours, sd = lookup(results, "table2", f"{label} fixed", attack)
    strongest, sd_strongest = lookup(results, "table2", f"{label} fixed", AUTOATTACK)
    if math.isnan(strongest):
        return "AutoAttack under fixed randomness was not run."
    paired = results[
        (results["artifact"] == "paired")
        & (results["row"] == COMPARISON_LABELS["attack_vs_autoattack"])
        & results["column"].str.startswith(f"{attack}_{sampler}_t{t_star}_seed")
    ]
    seeds = [
        f"seed {c.rsplit('seed', 1)[1]}: {v:+.1f} points (p = {pv:.2g})"
        for c, v, pv in zip(paired["column"], paired["value"], paired["p_value"], strict=True)
    ]
    return (
        f"Under fixed randomness AutoAttack leaves {fmt(strongest, sd_strongest)}% where {title} left {fmt(ours, sd)}% "
        f"({title} - AutoAttack on the same images and xi, exact McNemar test: {'; '.join(seeds) or 'not compared'})."
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


def omission_notes(omissions: pd.DataFrame, artifacts: Iterable[str]) -> list[str]:
    """One line per omission of ``artifacts``: ``Not measured: <item>: <reason>.``"""
    wanted = set(artifacts)
    hit = omissions[omissions["artifact"].isin(wanted)]
    return [f"Not measured: {r.item}: {r.reason}." for r in hit.itertuples()]


def write_table2(
    results_csv: str | Path,
    targets_csv: str | Path,
    sampler: str,
    settings: Mapping[str, Any],
    outputs: Any,
    omissions_csv: str | Path | None = None,
) -> None:
    """Write Table 2 as csv, Markdown (with the verdict on fixed vs free, and what was not measured) and LaTeX."""
    from diffrob.io import atomic_path, write_text

    results, targets = pd.read_csv(results_csv), read_targets(targets_csv)
    dataset, attack = settings["dataset"], settings.get("attack", "pgd")
    frame = table2(results, targets, sampler, attack, dataset)
    paper_table, paper_settings = PAPER_TABLE2[paper_dataset(dataset)]
    if dataset == "digits":
        paper_table += " in miniature"
    caption = (
        f"{paper_table}: accuracy (%) with and without fixed randomness "
        f"({dataset}, l_inf eps = {settings['epsilon']:.3g}, t* = {settings['t_star']} "
        f"with {settings['reverse_steps']} reverse steps, {ATTACK_TITLES[attack]}-{settings['steps']}, "
        f"EOT over {settings['eot_samples']}; paper: {paper_settings}). Mean ± sd over seeds [95% Wilson interval "
        "over the images]. The EOT attacks "
        "step along the gradient of the cross-entropy of the logits averaged over the draws (foolbox's "
        "ExpectationOverTransformationWrapper), not the average of the draws' gradients: the case of eq. 9's "
        "footnote, where the expectation does not commute with the loss."
    )
    if settings.get("autoattack"):
        caption += (
            f" AutoAttack: {autoattack_label(settings['autoattack'])} (pyautoattack) under the fixed xi_s and on the "
            f"images of the {ATTACK_TITLES[attack]} shard of each seed."
        )
    transfer = lookup(results, "table4", "transfer across seeds", attack)
    paper_transfer = paper_value(targets, dataset, "table4", "transfer across seeds", attack)
    notes = [
        fixed_vs_free_verdict(results, sampler, attack),
        "",
        strength_verdict(results, sampler, int(settings["t_star"]), attack),
        "",
        f"Transfer across seeds (Table 4: attack under xi_s, test under xi_s'): {fmt(*transfer)}% "
        f"({paper_column(dataset)}: {fmt(*paper_transfer)}{'' if math.isnan(paper_transfer[0]) else '%'}).",
    ]
    missing = omission_notes(read_omissions(omissions_csv), ["table2", "table4"])
    notes += [""] + missing if missing else []
    with atomic_path(outputs.csv) as tmp:
        frame.to_csv(tmp, index=False)
    write_text(render_markdown(frame, caption, notes), outputs.md)
    write_text(render_latex(frame, caption, "tab:table2"), outputs.tex)


def comparison_table(results: pd.DataFrame, targets: pd.DataFrame, artifact: str, digits: int = 3) -> pd.DataFrame:
    """Every row of ``artifact`` in our results beside the paper's value (``–`` where the paper has none)."""
    dataset = run_dataset(results)
    heading = paper_column(dataset)
    ours = results[results["artifact"] == artifact]
    with_interval = "ci_low" in ours and ours["ci_low"].notna().any()
    with_p = "p_value" in ours and ours["p_value"].notna().any()
    records = []
    for _, r in ours.iterrows():
        theirs = paper_value(targets, dataset, artifact, r["row"], r["column"])
        record = {"row": r["row"], "quantity": r["column"], "ours": fmt(r["value"], r["sd"], digits), "n": int(r["n"])}
        if with_interval:
            record["95% interval"] = interval_text(r.to_dict(), digits)
            record["images"] = "–" if pd.isna(r["images"]) else str(int(r["images"]))
        if with_p:
            record["p (McNemar)"] = "–" if pd.isna(r["p_value"]) else f"{r['p_value']:.3g}"
        records.append({**record, heading: fmt(*theirs, digits)})
    columns = ["row", "quantity", "ours", "n"] + (["95% interval", "images"] if with_interval else [])
    columns += (["p (McNemar)"] if with_p else []) + [heading]
    return pd.DataFrame(records, columns=columns)


def write_table(
    results_csv: str | Path,
    targets_csv: str | Path,
    artifact: str,
    folder: str | Path,
    omissions_csv: str | Path | None = None,
) -> list[Path]:
    """Write the comparison table of ``artifact`` (one of :data:`diffrob.paper.captions.TABLE_CAPTIONS`) as csv,
    Markdown and LaTeX into ``folder``; the Markdown notes what of it this configuration does not measure, and why."""
    from diffrob.io import atomic_path, write_text

    if artifact not in TABLE_CAPTIONS:
        raise ValueError(f"no table {artifact!r}; expected one of {', '.join(TABLE_CAPTIONS)}")
    results, targets = pd.read_csv(results_csv), read_targets(targets_csv)
    caption = TABLE_CAPTIONS[artifact]
    frame = comparison_table(results, targets, artifact)
    base = Path(folder) / artifact
    with atomic_path(base.with_suffix(".csv")) as tmp:
        frame.to_csv(tmp, index=False)
    notes = omission_notes(read_omissions(omissions_csv), [artifact])
    write_text(render_markdown(frame, caption, notes), base.with_suffix(".md"))
    write_text(render_latex(frame, caption, f"tab:{artifact}"), base.with_suffix(".tex"))
    return [base.with_suffix(ext) for ext in (".csv", ".md", ".tex")]


def write_run_macros(results_csv: str | Path, path: str | Path) -> None:
    """``run.tex``: the macros ``\\runsubtitle`` and ``\\paperdataset`` that ms.tex uses, for this run's data set."""
    from diffrob.io import write_text

    dataset = run_dataset(pd.read_csv(results_csv))
    run = (
        f"\\newcommand{{\\runsubtitle}}{{{run_subtitle(dataset)} (diffrob)}}\n"
        f"\\newcommand{{\\paperdataset}}{{{DATASET_NAMES[paper_dataset(dataset)]}}}\n"
    )
    write_text(run, path)
