"""The paper's side: its data sets and numbers (`paper_targets.csv`), and how our results' keys map onto its
tables' (names, dataset-specific tables, misprints)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from diffrob.paper.checks import lookup
from diffrob.paper.labels import DATASET_NAMES, SAMPLER_LABELS


def paper_dataset(dataset: str) -> str:
    """The paper's dataset a run is compared with: ImageNet runs with ImageNet, every other with CIFAR-10."""
    return "imagenet" if dataset == "imagenet" else "cifar10"


def paper_column(dataset: str) -> str:
    """The heading of the paper's column in a comparison, e.g. ``paper (CIFAR-10)``."""
    return f"paper ({DATASET_NAMES[paper_dataset(dataset)]})"


def how_magnitudes_differ(config: Mapping[str, Any]) -> str:
    """Why our magnitudes may differ from the paper's, for this run's data set and chain (report, ms.tex)."""
    dataset = config.get("dataset", "digits")
    purification = config.get("purification", {})
    t_star, steps = purification.get("t_star"), purification.get("reverse_steps")
    chain = f"a chain respaced to {steps} of t* = {t_star} reverse steps" if steps and t_star and steps < t_star else ""
    if dataset == "digits":
        return "Magnitudes differ by design: other data (8x8 digits), small models trained here" + (
            f", {chain}." if chain else "."
        )
    differences = ", ".join(filter(None, [chain, "the counts (images, seeds, steps) of this configuration"]))
    return f"Same data set and model architectures as the paper; magnitudes may differ through {differences}."


def run_subtitle(dataset: str) -> str:
    """The subtitle of the regenerated paper: a miniature on the digits, a regeneration on the paper's data."""
    name = DATASET_NAMES.get(dataset, dataset)
    return f"A regenerated miniature on {name}" if dataset == "digits" else f"Regenerated on {name}"


def read_targets(path: str | Path) -> pd.DataFrame:
    """The paper's numbers (``paper_targets.csv``)."""
    frame = pd.read_csv(path)
    missing = {"artifact", "row", "column", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return frame


def paper_value(targets: pd.DataFrame, dataset: str, artifact: str, row: str, column: str) -> tuple[float, float]:
    """The paper's value and sd for one of our keys in a run on ``dataset`` (NaN where it has none).

    Only the paper's numbers for :func:`paper_dataset` are considered; names are mapped by :func:`paper_key`.
    """
    if "dataset" in targets:
        targets = targets[targets["dataset"] == paper_dataset(dataset)]
    return lookup(targets, *paper_key(artifact, row, column, dataset))


# The paper's table of fixed vs free randomness, and its settings, for each of its datasets.
PAPER_TABLE2 = {
    "cifar10": ("Table 2", "CIFAR-10, eps = 8/255, t* = 100 full chain, PGD-40 full gradient, EOT over 15"),
    "imagenet": ("Table 3", "ImageNet, eps = 4/255, t* = 150 full chain, BPDA, BPDA-EOT"),
}


# Our (artifact, row, column) -> the paper's, where the names differ (paper_targets.csv).
def paper_key(artifact: str, row: str, column: str, dataset: str = "cifar10") -> tuple[str, str, str]:
    """The key in ``paper_targets.csv`` that one of our results rows is compared with.

    On ImageNet our Table 2 rows (``<sampler> free|fixed``) are the paper's Table 3 (``Guided free|fixed``).
    """
    if artifact == "table2" and paper_dataset(dataset) == "imagenet":
        return "table3", f"Guided {row.rsplit(' ', 1)[-1]}", column
    if artifact == "tableS6":
        # The text of Sec. 3.2 calls 0.241 the fixed-randomness radius (Table S6 labels it "fix inputs").
        return artifact, "centroid_l2", {"fixed_noise": "fix_inputs", "fixed_input": "fix_random"}.get(column, column)
    if artifact in ("tableS3", "tableS4") and row.split(" ", 1)[0] in SAMPLER_LABELS.values():
        name = row.split(" ", 1)[1]
        if name.startswith("Uniform"):
            eps = float(name.split()[1])
            name = f"Uniform {round(eps * 255):d}/255"
        suffix = {"init": "init", "max": "max_t100", "end": "end_t200"}[column.split("_", 1)[1]]
        return artifact, name, f"{column.split('_', 1)[0]}_{suffix}"
    if artifact == "fig3a":
        return artifact, "jacobian", column
    return artifact, row, column


PAPER_ATTACK_SCALE = (1.077, 8.980)  # Table S3, CIFAR-10: PGD's l2 size, and the distance at t* = 100
