"""Singular values of the purifier's exact Jacobian at clean images (Fig. 3a), resumable per image."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.compression import jacobian_spectrum
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
eval_set = load_image_set(snakemake.input.eval)
settings = {"chain": p.chain, "n_images": p.n_images, "patch": p.patch, "seed": p.seed}
store = BatchStore(p.partial, job_identity(settings, snakemake.input))
purifier = load_purifier(snakemake.input.ddpm, p.chain, eval_set.indices.tolist())
result = jacobian_spectrum(purifier, eval_set, p.n_images, p.seed, p.patch, store)
write_json(result, snakemake.output[0])
store.finish()
