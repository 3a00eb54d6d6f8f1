"""Fig. 3c: the undefended classifier's PGD accuracy at budgets shrunk by the measured compression rates."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.compression import base_classifier_curve
from diffrob.runtime import configure
from diffrob.stats.fit import budget_scales

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params
scales = budget_scales(snakemake.input.compression, p.scales)
result = base_classifier_curve(snakemake.input.classifier, load_image_set(snakemake.input.eval), p.attack, scales)
write_json(result, snakemake.output[0])
