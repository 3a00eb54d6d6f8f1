"""One figure of the paper, named by the {figure} wildcard."""

import json
from pathlib import Path

from diffrob.paper import figures
from diffrob.paper.results import read_omissions
from diffrob.paper.tables import omission_notes
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i, out = snakemake.input, [snakemake.output.png, snakemake.output.pdf]
main_trajectory = i.trajectories[0]
omissions = read_omissions(i.omissions)
why = {
    artifact: " ".join(omission_notes(omissions, [artifact]))
    for artifact in ("fig1c", "table7", "addt", "n_evaluation", "convergence")
}
clean_accuracy = json.loads(Path(i.classifier).read_text())["clean_acc"]
makers = {
    "fig1c_l2": lambda: figures.trajectories(i.trajectories, "l2", out, snakemake.params.attack, why["fig1c"]),
    "figS1_linf": lambda: figures.trajectories(i.trajectories, "linf", out, snakemake.params.attack, why["fig1c"]),
    "figS3_uniform": lambda: figures.uniform_noise(main_trajectory, out),
    "fig2_randomness": lambda: figures.randomness(i.randomness, out),
    "fig3a_jacobian": lambda: figures.jacobian(i.jacobian, out),
    "fig3b_sigmoid": lambda: figures.sigmoid(i.sigmoid, clean_accuracy, out, figures.addt_points(i.results)),
    "fig3c_base_classifier": lambda: figures.base_classifier(i.base_classifier, i.sigmoid, out),
    "figS4_timesteps": lambda: figures.timesteps(i.results, out, why["table7"]),
    "addt_models": lambda: figures.addt_models(i.results, out, why["addt"]),
    "n_evaluation": lambda: figures.n_evaluation(i.n_evaluation, i.results, out, why["n_evaluation"]),
    "convergence": lambda: figures.convergence(i.results, out, snakemake.params.steps, why["convergence"]),
}
makers[snakemake.wildcards.figure]()
