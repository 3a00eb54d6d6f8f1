"""The second paper's (ADDT's) claims as data, checked on its models' records."""

from __future__ import annotations

from collections.abc import Sequence

from diffrob.paper.checks import Claim, Key
from diffrob.paper.claims import SIGMOID_TOLERANCE, C


def addt_claims() -> list[Claim]:
    """ADDT's claims (Liu et al., ICLR 2025) and the question that joins the two papers, as data. The control is
    the clean fine-tune with identical settings; the paper's numbers are those of its repository's figure."""

    def key(model: str, column: str) -> Key:
        return ("addt", model, column)

    addt, control, base = "ADDT", "Clean fine-tune", "DDPM"
    paper = {base, addt}

    def evidence(columns: Sequence[str]) -> list[tuple[str, Key, Key | None]]:
        models = (base, control, addt)
        return [(f"{m} {c}", key(m, c), key(m, c) if m in paper else None) for c in columns for m in models]

    return [
        Claim(
            "ADDT",
            "Under the deterministic white box (DW-box: ξ fixed and known to the attacker) ADDT is more robust "
            "than the clean fine-tune with identical settings, in ℓ∞ and in ℓ2.",
            evidence(["linf_dwbox", "l2_dwbox"]),
            (
                C("above", a=key(addt, "linf_dwbox"), b=key(control, "linf_dwbox")),
                C("above", a=key(addt, "l2_dwbox"), b=key(control, "l2_dwbox")),
            ),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT",
            "ADDT's gain over the control is larger under DW-box than under stochastic EOT (ADDT's figure: +22.4 "
            "against +4.2 points over the pretrained DDPM, ℓ∞ 8/255).",
            evidence(["linf_dwbox", "linf_eot"]),
            (
                C(
                    "gain_exceeds",
                    high_a=key(addt, "linf_dwbox"),
                    low_a=key(control, "linf_dwbox"),
                    high_b=key(addt, "linf_eot"),
                    low_b=key(control, "linf_eot"),
                ),
            ),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT × Sec. 5",
            "ADDT's gain shows as compression: its uniform-noise compression rate (eq. 10) is below the clean "
            "fine-tune's, by more than twice the standard error of the difference (over images).",
            evidence(["compression_uniform"]),
            (C("below_beyond_error", a=key(addt, "compression_uniform"), b=key(control, "compression_uniform")),),
            ["addt_models"],
            ["addt"],
        ),
        Claim(
            "ADDT × Fig. 3b",
            f"ADDT lands on the robustness–compression sigmoid of the samplers × t* as the DDPM does: its residual "
            f"from the sigmoid (DW-box ℓ∞ accuracy minus the sigmoid at its uniform compression rate) is within "
            f"{SIGMOID_TOLERANCE:g} points of the DDPM's, whose point is one of the sigmoid's own, so the protocol's "
            "offset (no random start, its step, its images) cancels. The residuals are shown whichever way they go.",
            [(f"{m} residual", key(m, "sigmoid_residual_linf_dwbox"), None) for m in (base, control, addt)],
            (
                C(
                    "within",
                    a=key(addt, "sigmoid_residual_linf_dwbox"),
                    b=key(base, "sigmoid_residual_linf_dwbox"),
                    tolerance=SIGMOID_TOLERANCE,
                ),
            ),
            ["fig3b_sigmoid", "addt_models"],
            ["addt", "fig3b"],
        ),
    ]
