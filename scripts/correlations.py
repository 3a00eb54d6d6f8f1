"""Table 5: correlations of adversarial perturbations across seeds and with PGD-EOT."""

from diffrob.data import load_image_set
from diffrob.experiments import correlations
from diffrob.io import write_json
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i = snakemake.input
pairs = [(label, i.pairs[2 * k], i.pairs[2 * k + 1]) for k, label in enumerate(snakemake.params.labels)]
result = correlations(load_image_set(i.eval), pairs)
write_json(result, snakemake.output[0])
