"""The paper's names for our samplers, attacks and inputs: the one table every rendering reads."""

from __future__ import annotations

SAMPLER_LABELS = {"ddpm": "DDPM", "reverse": "Reverse", "ddim": "DDIM"}


ATTACK_LABELS = {"pgd": "PGD (Full)", "pgd_eot": "PGD-EOT", "bpda": "BPDA", "bpda_eot": "BPDA-EOT"}


ATTACK_TITLES = {"pgd": "PGD", "pgd_eot": "PGD-EOT", "bpda": "BPDA", "bpda_eot": "BPDA-EOT"}


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
