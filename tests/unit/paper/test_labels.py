"""The paper's names: AutoAttack is called so only when it is the standard one."""

from diffrob.paper.labels import autoattack_label

STANDARD = {
    "attacks": ["apgd-ce", "apgd-t", "fab-t", "square"],
    "n_iter": 100,
    "n_target_classes": 9,
    "n_queries": 5000,
}


def test_only_standard_autoattack_is_called_autoattack_and_a_reduced_one_names_its_attacks_and_budgets():
    assert autoattack_label(STANDARD) == "AutoAttack"
    assert autoattack_label({**STANDARD, "n_queries": 2}) == (
        "APGD-CE (100 steps) + APGD-T (100 steps, 9 targets) + FAB-T (100 steps, 9 targets) + Square (2 queries)"
    )
    reduced = {**STANDARD, "attacks": ["apgd-ce", "apgd-t"], "n_target_classes": 1}
    assert autoattack_label(reduced) == "APGD-CE (100 steps) + APGD-T (100 steps, 1 target)"
