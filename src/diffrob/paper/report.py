"""The report: each claim with its evidence and checks, in Markdown and HTML, and the build information (the
tables themselves are written by :mod:`diffrob.paper.tables`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from diffrob.io import read_json
from diffrob.paper.addt_claims import addt_claims
from diffrob.paper.captions import TABLE_CAPTIONS
from diffrob.paper.checks import lookup
from diffrob.paper.claims import claims
from diffrob.paper.labels import ATTACK_LABELS, ATTACK_TITLES, DATASET_NAMES, SAMPLER_LABELS
from diffrob.paper.results import OMISSION_COLUMNS, read_omissions, run_dataset
from diffrob.paper.tables import comparison_table, fmt, interval_of, omission_notes
from diffrob.paper.targets import (
    PAPER_ATTACK_SCALE,
    how_magnitudes_differ,
    paper_column,
    paper_dataset,
    paper_value,
    read_targets,
)


def _mark(flag: bool | None) -> str:
    return {True: "✓", False: "✗", None: "–"}[flag]


def claim_artifacts(claim: Any) -> set[str]:
    """The artifacts a claim reads or shows: its evidence keys, tables and figures (``fig1c_l2`` -> ``fig1c``)."""
    return {ours[0] for _, ours, _ in claim.evidence} | set(claim.tables) | {f.split("_")[0] for f in claim.figures}


def method_sentences(config: Mapping[str, Any]) -> str:
    """Report text on choices that change numbers: reverse-step variance, resizing, FID features, Jacobian size."""
    schedule = config.get("diffusion", {}).get("schedule", {})
    variance = schedule.get("variance_type", "fixed_large")
    words = {
        "fixed_large": "the fixed variance β_t",
        "fixed_small": "the fixed posterior variance β̃_t",
        "learned_range": "the variance the model predicts (learned range, as DiffPure on ImageNet)",
    }
    sentence = f"Reverse DDPM steps use {words.get(variance, variance)}."
    if config.get("dataset") == "imagenet":
        sentence += " The 224x224 crops are resized to 256x256 before purification and back after it (bilinear)."
    measure = config.get("measure", {})
    fid = measure.get("fid", {})
    if fid.get("features", "classifier") == "inception":
        sentence += f" FID on pytorch-fid's InceptionV3 features ({fid.get('dims', 768)}-d), as the paper."
    else:
        sentence += " FID on the classifier's penultimate features, an offline stand-in for Inception features."
    if measure.get("jacobian_patch"):
        patch = measure["jacobian_patch"]
        sentence += f" Fig. 3a's Jacobian is its block on the central {patch}x{patch} pixels, not the whole image."
    return sentence


def attack_scale_sentence(results: pd.DataFrame, main: str, attack: str) -> str:
    """How large the attack is next to the chain's forward noise at t*, measured (Table S3's init and max
    rows), beside the paper's CIFAR-10 ratio: the scale at which the paper's effects were observed."""
    row = f"{main} {ATTACK_LABELS[attack]}"
    size, noise = lookup(results, "tableS3", row, "l2_init")[0], lookup(results, "tableS3", row, "l2_max")[0]
    paper = PAPER_ATTACK_SCALE[0] / PAPER_ATTACK_SCALE[1]
    theirs = f"the paper's CIFAR-10: {PAPER_ATTACK_SCALE[0]} / {PAPER_ATTACK_SCALE[1]} = {paper:.2f}"
    if math.isnan(size) or math.isnan(noise) or noise == 0:
        return f"The attack's size against the forward noise at t* is not measured in this run ({theirs})."
    return (
        f"Scale: the {ATTACK_TITLES[attack]} perturbation's ℓ2 size is {size:.3g} and the forward noise at t* puts "
        f"the state {noise:.3g} from the clean image, a ratio of {size / noise:.2f} ({theirs}). Effects the paper "
        "sees at its ratio need not appear at a much larger one."
    )


def smaller_budget_sentence(claim: Any, results: pd.DataFrame) -> str:
    """Under a claim that fails: whether its direction holds at the smaller budgets the run measures."""
    budgets = claim.at_smaller_budgets(results)
    if not budgets:
        return "This run measures this claim at the attack's budget only."
    shown = ", ".join(f"{budget}: {_mark(verdict)}" for budget, verdict in budgets)
    return f"At the budgets this run also measures: {shown}."


def main_sampler_label(config: Mapping[str, Any]) -> str:
    """The paper's label of the run's main sampler (the first configured; DDPM by default)."""
    return SAMPLER_LABELS.get(config.get("purification", {}).get("samplers", ["ddpm"])[0], "DDPM")


def run_claims(config: Mapping[str, Any]) -> list:
    """The claims this run's configuration checks (:func:`diffrob.paper.claims.claims`, and ADDT's when it has one)."""
    main = main_sampler_label(config)
    epsilons = config.get("measure", {}).get("uniform_epsilons", [])
    smallest = f"Uniform {min(epsilons):g}" if epsilons else ""
    uniform_rows = [f"Uniform {e:g}" for e in sorted(epsilons)]
    found = claims(main, smallest, config.get("attack", {}).get("main", "pgd"), uniform_rows)
    return found + addt_claims() if config.get("addt") else found


def heading_blocks(config: Mapping[str, Any], build: Mapping[str, Any], results: pd.DataFrame) -> list:
    """The report's title, how to read it, and the run's settings."""
    main = main_sampler_label(config)
    attack = config.get("attack", {})
    dataset = config.get("dataset", run_dataset(results))
    purification = config.get("purification", {})
    return [
        ("h1", f"diffrob report: {config.get('dataset', '?')}"),
        (
            "p",
            "Every number below is read from paper/results.csv, produced by this run; the paper's values are "
            f"{DATASET_NAMES[paper_dataset(dataset)]} (paper_targets.csv), – where the paper gives none for it. "
            "A ✓ says the *direction* of the paper's claim holds in our run, "
            f"a ✗ that it does not, – that the numbers are missing. {how_magnitudes_differ(config)}",
        ),
        (
            "p",
            f"Settings: ε = {attack.get('epsilon')} (ℓ∞, pixels in [0, 1]), "
            f"{ATTACK_TITLES[attack.get('main', 'pgd')]}-{attack.get('steps')} with "
            f"relative step {attack.get('rel_stepsize')}, EOT over {attack.get('eot_samples')} draws; t* = "
            f"{purification.get('t_star')} with {purification.get('reverse_steps')} respaced reverse steps; "
            f"base seeds {purification.get('seeds')}; {config.get('data', {}).get('n_eval')} evaluation images. "
            f"{method_sentences(config)} "
            f"diffrob {build.get('diffrob')}, created {build.get('created')}.",
        ),
        ("p", attack_scale_sentence(results, main, attack.get("main", "pgd"))),
    ]


def summary_blocks(all_claims: Sequence[Any], verdicts: Sequence[bool | None], omissions: pd.DataFrame) -> list:
    """The summary table of every claim's verdict, their count, and what the configuration does not measure."""
    blocks: list = [
        ("h2", "Summary"),
        (
            "table",
            pd.DataFrame(
                {
                    "#": range(1, len(all_claims) + 1),
                    "where": [c.section for c in all_claims],
                    "claim": [c.statement for c in all_claims],
                    "direction reproduced": [_mark(v) for v in verdicts],
                }
            ),
        ),
        (
            "p",
            f"{sum(v is True for v in verdicts)} of {len(verdicts)} directions reproduced, "
            f"{sum(v is False for v in verdicts)} not, {sum(v is None for v in verdicts)} without numbers.",
        ),
    ]
    if not omissions.empty:
        blocks += [
            ("h2", "Not measured in this configuration"),
            ("p", "What the configuration does not produce, and why (paper/omissions.csv)."),
            ("table", omissions.reset_index(drop=True)),
        ]
    return blocks


def evidence_table(claim: Any, results: pd.DataFrame, targets: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """A claim's evidence: each quantity ours (± spread over seeds), its interval over images, and the paper's."""
    heading = paper_column(dataset)
    rows = []
    for label, ours, theirs in claim.evidence:
        mine = fmt(*lookup(results, *ours), 3)
        paper = fmt(*paper_value(targets, dataset, *theirs), 3) if theirs else "–"
        rows.append(
            {"quantity": label, "ours": mine, "95% interval (images)": interval_of(results, *ours), heading: paper}
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ClaimContext:
    """What every claim's section reads: the run's results, the paper's targets, the run's dataset, what it
    did not measure (``omissions.csv``) and the folder of its tables."""

    results: pd.DataFrame
    targets: pd.DataFrame
    dataset: str
    omissions: pd.DataFrame
    tables_dir: Path


def claim_section_blocks(number: int, claim: Any, verdict: bool | None, context: ClaimContext) -> list:
    """One claim's section: verdict, statement, evidence, the conditions checked, why it fails or is not
    measured, and its tables and figures."""
    results, omissions, tables_dir = context.results, context.omissions, context.tables_dir
    blocks: list = [
        ("h2", f"{number}. {claim.section}: {_mark(verdict)}"),
        ("p", claim.statement),
        ("table", evidence_table(claim, results, context.targets, context.dataset)),
        ("p", "Checked: " + "; ".join(c.describe() for c in claim.conditions) + "."),
    ]
    if verdict is False:
        blocks.append(("p", smaller_budget_sentence(claim, results)))
    missing = omission_notes(omissions, claim_artifacts(claim))
    if missing:
        blocks.append(("p", " ".join(missing)))
    elif verdict is None:
        blocks.append(("p", "Not measured: the numbers this check reads are absent from results.csv."))
    if "table2" in claim.tables and (tables_dir / "table2.md").exists():
        blocks.append(("md", (tables_dir / "table2.md").read_text()))
    blocks += [("img", f"figures/{name}.png") for name in claim.figures]
    others = [t for t in claim.tables if t != "table2"]
    if others:
        blocks.append(("p", "Full tables: " + ", ".join(f"tables/{t}.md" for t in others)))
    return blocks


def claim_blocks(
    results: pd.DataFrame,
    targets: pd.DataFrame,
    build: Mapping[str, Any],
    tables_dir: Path,
    omissions: pd.DataFrame | None = None,
) -> list:
    """The report as blocks: ("h1"|"h2"|"p", text), ("table", DataFrame), ("img", path), ("md", text).

    ``omissions`` (``omissions.csv``) says, under each claim, what of its evidence was not measured and why.
    """
    omissions = omissions if omissions is not None else pd.DataFrame(columns=OMISSION_COLUMNS)
    config = build.get("config", {})
    dataset = config.get("dataset", run_dataset(results))
    all_claims = run_claims(config)
    verdicts = [c.check(results) for c in all_claims]
    context = ClaimContext(results, targets, dataset, omissions, tables_dir)
    sections = [
        block
        for number, (claim, verdict) in enumerate(zip(all_claims, verdicts, strict=True), start=1)
        for block in claim_section_blocks(number, claim, verdict, context)
    ]
    return (
        heading_blocks(config, build, results)
        + summary_blocks(all_claims, verdicts, omissions)
        + sections
        + n_evaluation_blocks(results, targets)
        + screen_blocks(results, targets, omissions)
        + paired_blocks(results, targets)
    )


def screen_blocks(results: pd.DataFrame, targets: pd.DataFrame, omissions: pd.DataFrame) -> list:
    """The report's section on screening by compression: the sigmoid's leave-one-out error over the (sampler, t*)
    points, each screened purifier's estimates, and what of them was not measured (``omissions``; the section
    is empty when there is none of these)."""
    mae, _ = lookup(results, "fig3b", "leave-one-out", "mae")
    rmse, _ = lookup(results, "fig3b", "leave-one-out", "rmse")
    coverage, _ = lookup(results, "fig3b", "leave-one-out", "coverage")
    table = comparison_table(results, targets, "screen")
    notes = omission_notes(omissions, ["screen"])
    if math.isnan(mae) and table.empty and not notes:
        return []
    blocks: list = [("h2", "Screening by compression (diffrob screen)")]
    if not math.isnan(mae):
        blocks.append(
            (
                "p",
                "Leave-one-out over the (sampler, t*) points: each point's fixed-randomness PGD accuracy predicted "
                f"from the sigmoid fitted on the others is off by {mae:.1f} points on average (RMSE {rmse:.1f}); "
                f"{100 * coverage:.0f}% of the points lie inside their 95% prediction band.",
            )
        )
    if not table.empty:
        blocks += [("p", TABLE_CAPTIONS["screen"] + "."), ("table", table)]
    if notes:
        blocks.append(("p", " ".join(notes)))
    return blocks


def n_evaluation_blocks(results: pd.DataFrame, targets: pd.DataFrame) -> list:
    """The report's section on the N-evaluation (average, worst-of-N, majority vote; none without it)."""
    table = comparison_table(results, targets, "n_evaluation")
    if table.empty:
        return []
    caption = TABLE_CAPTIONS["n_evaluation"] + "."
    return [("h2", "N-evaluation"), ("p", caption), ("table", table), ("img", "figures/n_evaluation.png")]


def paired_blocks(results: pd.DataFrame, targets: pd.DataFrame) -> list:
    """The report's section of paired comparisons on the same images (none without any)."""
    paired = comparison_table(results, targets, "paired")
    if paired.empty:
        return []
    return [("h2", "Paired comparisons on the same images"), ("p", TABLE_CAPTIONS["paired"] + "."), ("table", paired)]


def blocks_to_markdown(blocks: Sequence) -> str:
    """Render report blocks as Markdown."""
    out = []
    for kind, content in blocks:
        if kind == "h1":
            out.append(f"# {content}\n")
        elif kind == "h2":
            out.append(f"## {content}\n")
        elif kind == "p":
            out.append(f"{content}\n")
        elif kind == "table":
            out.append(content.to_markdown(index=False) + "\n")
        elif kind == "img":
            out.append(f"![{Path(content).stem}]({content})\n")
        elif kind == "md":
            out.append(content + "\n")
    return "\n".join(out)


def blocks_to_html(blocks: Sequence, title: str) -> str:
    """Render report blocks as a standalone HTML page (images referenced relative to paper/)."""
    import html

    body = []
    for kind, content in blocks:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(content)}</p>")
        elif kind == "table":
            body.append(content.to_html(index=False, border=0, classes="t"))
        elif kind == "img":
            body.append(f'<p><img src="{html.escape(content)}" alt="{html.escape(Path(content).stem)}"></p>')
        elif kind == "md":
            body.append(f"<pre>{html.escape(content)}</pre>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table.t{border-collapse:collapse;margin:.5em 0}table.t td,table.t th{border-bottom:1px solid #ddd;"
        "padding:.2em .6em;text-align:left}img{max-width:100%}pre{background:#f6f6f6;padding:.6em;overflow:auto}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def speed_blocks(speed: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A report section from ``paper/benchmarks.json`` (``make bench``)."""
    line = (
        f"On {speed['device']}: the full-gradient attack step reaches "
        f"{100 * speed['attack_fraction_of_matmul']:.0f}% of the measured fp32 matmul rate on the embedded model "
        f"and runs {speed['speedup_per_image']:.1f}x faster per image than batch 1 without checkpointing "
        f"({100 * speed['paper_fraction_of_matmul']:.0f}% of matmul)"
    )
    if "memory_ratio_ours" in speed:
        line += (
            f"; peak memory at t* = 300 is {speed['memory_ratio_ours']:.2f}x that at t* = 30 with checkpointing, "
            f"{speed['memory_ratio_not_checkpointed']:.1f}x without"
        )
    line += (
        f". Projected fixed-randomness PGD-40 on 1000 CIFAR-10 images at t* = 100 on this device: "
        f"{speed['projected_table2_fixed_pgd_minutes']:.0f} min. Details: `paper/benchmarks.csv`."
    )
    return [("h2", "Speed (`make bench`)"), ("p", line)]


def write_report(
    results_csv: str | Path,
    targets_csv: str | Path,
    build_json: str | Path,
    tables_dir: str | Path,
    markdown_out: str | Path,
    html_out: str | Path,
    speed_json: str | Path | None = None,
    omissions_csv: str | Path | None = None,
) -> None:
    """Write ``paper/report.md`` and ``paper/report.html`` from results.csv (and ``make bench``'s summary)."""
    from diffrob.io import write_text

    blocks = claim_blocks(
        pd.read_csv(results_csv),
        read_targets(targets_csv),
        read_json(build_json),
        Path(tables_dir),
        read_omissions(omissions_csv),
    )
    if speed_json is not None:
        blocks += speed_blocks(read_json(speed_json))
    write_text(blocks_to_markdown(blocks), markdown_out)
    write_text(blocks_to_html(blocks, "diffrob report"), html_out)
