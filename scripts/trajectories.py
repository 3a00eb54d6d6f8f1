"""Distances to the clean images along the purification chain (Fig. 1c, S1, S3; Tables S3, S4), resumable."""

from diffrob.data import load_image_set
from diffrob.experiments import trajectories
from diffrob.io import write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
shards = {attack: snakemake.input[attack] for attack in p.attacks}
settings = {"chain": p.chain, "attacks": p.attacks, "uniform_epsilons": p.uniform_epsilons, "seed": p.seed}
store = BatchStore(p.partial, job_identity(settings, snakemake.input))
result = trajectories(
    snakemake.input.ddpm, load_image_set(snakemake.input.eval), p.chain, shards, p.uniform_epsilons, p.seed, store
)
write_json(result, snakemake.output[0])
store.finish()
