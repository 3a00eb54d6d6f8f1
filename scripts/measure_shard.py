"""Accuracies of one attack shard under its own, a fresh, and another seed's randomness."""

from diffrob.data import load_image_set
from diffrob.evaluate import measure_shard
from diffrob.io import write_json
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
metrics = measure_shard(
    snakemake.input.shard,
    load_image_set(snakemake.input.eval),
    snakemake.input.ddpm,
    snakemake.input.classifier,
    snakemake.params.chain,
    snakemake.params.partner,
)
write_json(metrics, snakemake.output[0])
