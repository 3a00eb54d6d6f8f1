"""The paper's names for our samplers, attacks and inputs: the one table every rendering reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffrob.attack.names import AUTOATTACK_PARTS, STANDARD_AUTOATTACK_ATTACKS, STANDARD_AUTOATTACK_BUDGETS

SAMPLER_LABELS = {"ddpm": "DDPM", "reverse": "Reverse", "ddim": "DDIM"}


ATTACK_LABELS = {
    "pgd": "PGD (Full)",
    "pgd_eot": "PGD-EOT",
    "bpda": "BPDA",
    "bpda_eot": "BPDA-EOT",
    "autoattack": "AutoAttack",
}


ATTACK_TITLES = {"pgd": "PGD", "pgd_eot": "PGD-EOT", "bpda": "BPDA", "bpda_eot": "BPDA-EOT", "autoattack": "AutoAttack"}


def autoattack_label(settings: Mapping[str, Any]) -> str:
    """What the tables call an AutoAttack run (``attack.autoattack``): ``AutoAttack`` when it is the standard one
    (Croce & Hein 2020: APGD-CE, APGD-T, FAB-T, Square at 100 steps, 9 targets, 5000 queries), else its attacks
    with their budgets, e.g. ``APGD-CE (100 steps) + APGD-T (100 steps, 3 targets)``."""
    budgets = {key: int(settings[key]) for key in STANDARD_AUTOATTACK_BUDGETS}
    if tuple(settings["attacks"]) == STANDARD_AUTOATTACK_ATTACKS and budgets == STANDARD_AUTOATTACK_BUDGETS:
        return "AutoAttack"
    parts = []
    for name in settings["attacks"]:
        budget = f"{settings['n_queries']} queries" if name == "square" else f"{settings['n_iter']} steps"
        count = int(settings["n_target_classes"])
        targets = f", {count} target{'s' * (count != 1)}" if name.endswith("-t") else ""
        parts.append(f"{AUTOATTACK_PARTS[name]} ({budget}{targets})")
    return " + ".join(parts)


DATASET_NAMES = {"digits": "8x8 digits (scikit-learn)", "cifar10": "CIFAR-10", "imagenet": "ImageNet"}


# ADDT's models (the workflow's DDPM, then its fine-tunes) and evaluations
MODEL_LABELS = {
    "base": "DDPM",
    "clean": "Clean fine-tune",
    "addt": "ADDT",
    "addt_no_rbgm": "ADDT w/o RBGM",
    "addt_no_guidance": "ADDT w/o guidance",
}


SETTING_LABELS = {"eot": "EOT", "dwbox": "DW-box"}


PROTOCOL_LABELS = {"addt_linf": "ADDT l_inf EOT", "addt_l2": "ADDT l2 EOT"}  # ADDT's EOT sets, N-evaluated


COMPARISON_LABELS = {  # paired comparisons on the same images (diffrob.stats.comparisons): first - second
    "fixed_vs_free": "fixed - free randomness",
    "addt_vs_clean": "ADDT - clean fine-tune",
    "attack_vs_autoattack": "main attack - AutoAttack (fixed randomness)",
}


def table5_rows(attack: str) -> tuple[str, str]:
    """Table 5's row names for a main ``attack`` (pgd, bpda): perturbations under two fixed xi; the EOT
    attack's gradient against the test system's."""
    name = ATTACK_TITLES[attack]
    return f"{name}(fix) vs {name}(fix)", f"{ATTACK_TITLES[f'{attack}_eot']} vs {name}(fix)"


def input_label(name: str) -> str:
    """The paper's name of a purification input: an attack's (``pgd``: PGD (Full)) or ``Uniform <eps>``."""
    if name in ATTACK_LABELS:
        return ATTACK_LABELS[name]
    kind, _, epsilon = name.partition(" ")
    if kind != "uniform" or not epsilon:
        raise ValueError(f"unknown purification input {name!r}: expected an attack or 'uniform <eps>'")
    return f"Uniform {epsilon}"
