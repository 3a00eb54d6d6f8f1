"""Accuracy on purified clean images under xi_s and under fresh xi, for one base seed."""

from diffrob.data import load_image_set
from diffrob.evaluate import purified_clean_metrics
from diffrob.io import write_json
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
metrics = purified_clean_metrics(
    snakemake.input.ddpm,
    snakemake.input.classifier,
    load_image_set(snakemake.input.eval),
    snakemake.params.chain,
    int(snakemake.wildcards.seed),
)
write_json(metrics, snakemake.output[0])
