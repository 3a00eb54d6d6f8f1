"""What each table and figure shows, in words (the Markdown tables' captions, the Snakemake report's captions),
and the section of the paper each belongs to (the report's categories). No heavy imports: the workflow reads it
when it plans."""

TABLE_CAPTIONS = {
    "table1": "Table 1: distances to the clean images before and after purification (PGD under fixed xi_s)",
    "table4": "Table 4: transfer attack across randomness configurations (attack under xi_s, test under xi_s')",
    "table5": (
        "Table 5: per-image Pearson correlations. Row 1: adversarial perturbations x_adv − x0 made under two "
        "fixed ξ; each shard's random start is its own draw, so the start adds uncorrelated noise to both. "
        "Row 2: the EOT attack's gradient (logits averaged over K fresh ξ) against the gradient of g∘f under "
        "one further fresh ξ (the test's system), both at the EOT shard's adversarial images; the random "
        "start enters only through where those images are"
    ),
    "table6": "Table 6: compression rates (eq. 10) and fixed-randomness PGD accuracy (%)",
    "table7": "Table 7: uniform-noise compression rate and fixed-randomness PGD / clean accuracy (%) over t*",
    "tableS3": (
        "Table S3: l2 distance to the clean image at the start, at t* (max) and at the end of purification. "
        "Uniform budgets as App. C.2's text gives them (8, 32, 64, 128 /255): the paper's tables print the "
        "middle rows as 16/255 and 32/255, but their l_inf starts (0.125, 0.251) are 32/255 and 64/255"
    ),
    "tableS4": "Table S4: l_inf distance to the clean image at the start, at t* (max) and at the end of purification",
    "tableS5": "Table S5: variance decomposition (eq. 11, x 1e-3) and SNR (eq. 7, x 1e-3)",
    "tableS6": "Table S6: l2 distance to the centroid (fixed_noise: inputs vary under one xi; fixed_input: xi varies)",
    "fig2": "Fig. 2d-e: correlation of purification directions f(x|xi) - x",
    "fig3a": "Fig. 3a: singular values of the purifier's Jacobian at clean images",
    "fig3b": "Fig. 3b: sigmoid fit of fixed-randomness PGD accuracy against the uniform compression rate",
    "fig3c": "Fig. 3c: undefended classifier's PGD accuracy (%) at budget scale x eps",
    "accuracy": "Accuracy (%) of every attack shard group: own test xi, a fresh xi, another seed's xi",
    "setup": "Set-up: the classifier alone (clean and undefended PGD accuracy, %)",
    "n_evaluation": (
        "N-evaluation of every free-randomness adversarial set (accuracy %, N independent draws of an evaluation "
        "stream of the purifier's randomness): average over draws, worst-of-N (DiffHammer) and majority vote "
        "(DiffBreak, ties to the lowest class), beside the main attack's fixed-randomness accuracy"
    ),
    "screen": (
        "diffrob screen: each listed purifier's uniform-noise compression rate (eq. 10, fixed xi; 95% t interval "
        "over images), its clean accuracy after purification (Wilson interval) and the fixed-randomness PGD "
        "accuracy the Fig. 3b sigmoid predicts at that rate (95% prediction band), without an attack"
    ),
    "paired": (
        "Paired comparisons on the same images (points): fixed minus free randomness (the main attack of one base "
        "seed, attacked and tested under each), and ADDT minus its clean control (each norm and setting). p is "
        "McNemar's exact test of the images only one of the two classifies correctly, and the interval the exact "
        "one of the same binomial test"
    ),
    "addt": (
        "ADDT (Liu et al., ICLR 2025): accuracy (%) of each purifier model under ADDT's attack (PGD, no random "
        "start; EOT: free randomness, the gradient of the cross-entropies summed over K draws, tested under one "
        "fresh draw; DW-box: xi_s fixed and known, one draw) and its compression rates (eq. 10; uniform noise at "
        "the l_inf budget, and the DW-box l_inf examples split by whether the attack failed)"
    ),
}


FIGURE_CAPTIONS = {
    "fig1c_l2": (
        "Fig. 1c: l2 distance to the clean image along the purification chain (forward noising to t*, then the "
        "reverse steps), for clean, uniform-noise and adversarial inputs"
    ),
    "figS1_linf": "Fig. S1: l_inf distance to the clean image along the purification chain",
    "figS3_uniform": "Fig. S3: distance to the clean image along the chain, uniform noise of each budget and attacks",
    "fig2_randomness": (
        "Fig. 2d-f: correlation of purification directions f(x|xi) - x with the image or the noise held fixed, "
        "and the distances to the centroids (the purifier's internal randomness against its input's)"
    ),
    "fig3a_jacobian": "Fig. 3a: singular values of the purifier's Jacobian at clean images, per sampler",
    "fig3b_sigmoid": (
        "Fig. 3b: fixed-randomness PGD accuracy against the uniform-noise compression rate (eq. 10) of every "
        "sampler and t*, with the fitted sigmoid; ADDT's models at their compression rates where evaluated"
    ),
    "fig3c_base_classifier": (
        "Fig. 3c: the undefended classifier's PGD accuracy at budgets scaled as the purifiers compress, beside "
        "the purifiers' fixed-randomness accuracy"
    ),
    "figS4_timesteps": "Fig. S4: fixed-randomness PGD and clean accuracy, and compression rate, over t*",
    "n_evaluation": (
        "N-evaluation: each free-randomness adversarial set classified under N independent draws of the purifier's "
        "randomness (a stream of its own), as the average over draws, worst-of-N (DiffHammer: broken if any draw "
        "is fooled) and majority vote (DiffBreak), against N; the line is the same purifier's fixed-randomness "
        "accuracy (DW-box for ADDT's models)"
    ),
    "addt_models": (
        "ADDT: robust accuracy of the DDPM, the clean fine-tune and ADDT under EOT and DW-box in l_inf and l2, "
        "and each model's compression rate"
    ),
    "convergence": (
        "Convergence: the main attack's accuracy under fixed randomness after k steps (one run of the longest "
        "budget from the start of the main point's first fixed shard; its own budget marked), and AutoAttack's "
        "after each of its attacks on the same images and xi (lines)"
    ),
}


SECTIONS = {  # artifact -> the part of the papers it belongs to (the Snakemake report's categories)
    "setup": "1 Set-up",
    "table2": "2 Randomness (Sec. 4)",
    "table4": "2 Randomness (Sec. 4)",
    "table5": "2 Randomness (Sec. 4)",
    "tableS5": "2 Randomness (Sec. 4)",
    "tableS6": "2 Randomness (Sec. 4)",
    "fig2": "2 Randomness (Sec. 4)",
    "accuracy": "2 Randomness (Sec. 4)",
    "paired": "2 Randomness (Sec. 4)",
    "n_evaluation": "2 Randomness (Sec. 4)",
    "convergence": "2 Randomness (Sec. 4)",
    "screen": "4 Compression (Sec. 5)",
    "table1": "3 Purification moves inputs (Sec. 3)",
    "tableS3": "3 Purification moves inputs (Sec. 3)",
    "tableS4": "3 Purification moves inputs (Sec. 3)",
    "fig1c": "3 Purification moves inputs (Sec. 3)",
    "figS1": "3 Purification moves inputs (Sec. 3)",
    "figS3": "3 Purification moves inputs (Sec. 3)",
    "table6": "4 Compression (Sec. 5)",
    "table7": "4 Compression (Sec. 5)",
    "fig3a": "4 Compression (Sec. 5)",
    "fig3b": "4 Compression (Sec. 5)",
    "fig3c": "4 Compression (Sec. 5)",
    "figS4": "4 Compression (Sec. 5)",
    "addt": "5 ADDT (Liu et al., ICLR 2025)",
}


def section_of(name: str) -> str:
    """The report category of a table or figure (``fig3b_sigmoid`` -> ``fig3b``'s section)."""
    key = name if name in SECTIONS else name.split("_")[0]
    if key not in SECTIONS:
        raise KeyError(f"no section for the table or figure {name!r}")
    return SECTIONS[key]
