"""The attacks by name, and what each name implies (its gradient, EOT; AutoAttack's parts and its standard
version): torch-free, so that planning and the paper's tables can read them."""

from __future__ import annotations

RANDOMNESS: tuple[str, ...] = ("fixed", "free")


AUTOATTACK = "autoattack"
"""The shards of AutoAttack under fixed randomness (config ``attack.autoattack``)."""


AUTOATTACK_PARTS: dict[str, str] = {
    "apgd-ce": "APGD-CE",
    "apgd-dlr": "APGD-DLR",
    "apgd-t": "APGD-T",
    "fab": "FAB",
    "fab-t": "FAB-T",
    "square": "Square",
}
"""The attacks of AutoAttack's ensemble (pyautoattack's names) and what the tables call them."""


STANDARD_AUTOATTACK_ATTACKS: tuple[str, ...] = ("apgd-ce", "apgd-t", "fab-t", "square")
"""Standard AutoAttack's attacks (Croce & Hein 2020), in the order they run."""


STANDARD_AUTOATTACK_BUDGETS: dict[str, int] = {"n_iter": 100, "n_target_classes": 9, "n_queries": 5000}
"""Standard AutoAttack's budgets: APGD's and FAB's iterations, the targeted attacks' targets, Square's queries."""


ATTACKS: tuple[str, ...] = ("pgd", "pgd_eot", "bpda", "bpda_eot")
"""The attacks of the main shards: PGD through the chain, BPDA, and their EOT variants."""


def attack_gradient(attack: str) -> str:
    """``"full"`` for PGD attacks (and AutoAttack), ``"bpda"`` for BPDA attacks."""
    if attack == AUTOATTACK:
        return "full"
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; expected one of {', '.join((*ATTACKS, AUTOATTACK))}")
    return "bpda" if attack.startswith("bpda") else "full"


def uses_eot(attack: str) -> bool:
    """Whether an attack averages over K randomness draws (EOT)."""
    return attack.endswith("_eot")
