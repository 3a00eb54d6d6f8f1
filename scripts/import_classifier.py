"""Load a downloaded RobustBench classifier (weights only) and save it as the workflow's classifier file."""

from diffrob.models.classifier import save_classifier
from diffrob.models.robustbench import load_robustbench_weights
from diffrob.runtime import configure

configure(1, snakemake.log[0])
rb = snakemake.params.source
model = load_robustbench_weights(snakemake.input[0], rb["name"], rb["dataset"], rb["threat_model"])
architecture = {"kind": "robustbench", "name": rb["name"], "dataset": rb["dataset"], "threat_model": rb["threat_model"]}
save_classifier(model, snakemake.output[0], architecture)
