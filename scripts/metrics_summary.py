"""The headline numbers as one small JSON file (DVC metrics)."""

from diffrob.io import write_json
from diffrob.paper.results import headline_metrics
from diffrob.runtime import configure

configure(1, snakemake.log[0])
p = snakemake.params
write_json(headline_metrics(snakemake.input[0], p.sampler, p.attack), snakemake.output[0])
