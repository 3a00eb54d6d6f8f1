"""The attacks by name, and what each name implies (its gradient, EOT, its randomness): torch-free, so that planning
and the paper's tables can read them."""

from __future__ import annotations

RANDOMNESS: tuple[str, ...] = ("fixed", "free")


AUTOATTACK = "autoattack"
"""The shards of AutoAttack under fixed randomness (config ``attack.autoattack``)."""


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
