"""Singular values of the purifier's exact Jacobian at clean images (Fig. 3a)."""

from diffrob.data import load_image_set
from diffrob.experiments import jacobian_spectrum
from diffrob.io import write_json
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
eval_set = load_image_set(snakemake.input.eval)
result = jacobian_spectrum(snakemake.input.ddpm, eval_set, p.chain, p.n_images, p.seed, p.patch)
write_json(result, snakemake.output[0])
