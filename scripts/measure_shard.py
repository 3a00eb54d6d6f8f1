"""Accuracies of one attack shard under its own, a fresh, and another seed's randomness (resumable)."""

from diffrob.data import load_image_set
from diffrob.evaluate import measure_shard
from diffrob.io import write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
store = BatchStore(p.partial, job_identity({"chain": p.chain, "partner": p.partner}, snakemake.input))
metrics = measure_shard(
    snakemake.input.shard,
    load_image_set(snakemake.input.eval),
    snakemake.input.ddpm,
    snakemake.input.classifier,
    p.chain,
    p.partner,
    store,
)
write_json(metrics, snakemake.output[0])
store.finish()
