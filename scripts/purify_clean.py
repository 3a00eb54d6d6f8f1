"""Accuracy on purified clean images under xi_s and under fresh xi, for one base seed (resumable)."""

from diffrob.attack.evaluate import Defence, purified_clean_metrics
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p, seed = snakemake.params, int(snakemake.wildcards.seed)
store = BatchStore(p.partial, job_identity({"chain": p.chain, "seed": seed}, snakemake.input))
defence = Defence(snakemake.input.ddpm, snakemake.input.classifier, p.chain)
metrics = purified_clean_metrics(defence, load_image_set(snakemake.input.eval), seed, store)
write_json(metrics, snakemake.output[0])
store.finish()
