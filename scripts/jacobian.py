"""Singular values of the purifier's exact Jacobian at clean images (Fig. 3a)."""

from diffrob.data import load_image_set
from diffrob.experiments import jacobian_spectrum
from diffrob.io import write_json
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
result = jacobian_spectrum(snakemake.input.ddpm, load_image_set(snakemake.input.eval), p.chain, p.n_images, p.seed)
write_json(result, snakemake.output[0])
