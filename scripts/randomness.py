"""Randomness dominance: variance decomposition, SNR, centroid radii, direction correlations (resumable per image)."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.randomness import randomness
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
sizes = p.sizes
store = BatchStore(p.partial, job_identity({"chain": p.chain, "sizes": sizes, "epsilon": p.epsilon}, snakemake.input))
eval_set = load_image_set(snakemake.input.eval)
result = randomness(
    load_purifier(snakemake.input.ddpm, p.chain, eval_set.indices.tolist()),
    eval_set,
    sizes["n_images"],
    sizes["n_perturbations"],
    sizes["n_seeds"],
    p.epsilon,
    store,
)
write_json(result, snakemake.output[0])
store.finish()
