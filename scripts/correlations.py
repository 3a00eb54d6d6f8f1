"""Table 5, first row: correlations of adversarial perturbations made under different fixed xi."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.gradients import correlations
from diffrob.runtime import configure

configure(1, snakemake.log[0])
result = correlations(load_image_set(snakemake.input.eval), snakemake.params.pairs)
write_json(result, snakemake.output[0])
