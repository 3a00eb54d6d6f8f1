"""Distances to the clean images along the purification chain (Fig. 1c, S1, S3; Tables S3, S4), resumable."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.distances import trajectories
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
shards = {attack: snakemake.input[attack] for attack in p.attacks}
settings = {"chain": p.chain, "attacks": p.attacks, "uniform_epsilons": p.uniform_epsilons, "seed": p.seed}
store = BatchStore(p.partial, job_identity(settings, snakemake.input))
eval_set = load_image_set(snakemake.input.eval)
purifier = load_purifier(snakemake.input.ddpm, p.chain, eval_set.indices.tolist())
result = trajectories(purifier, eval_set, shards, p.uniform_epsilons, p.seed, store)
write_json(result, snakemake.output[0])
store.finish()
