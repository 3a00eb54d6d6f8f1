"""The headline numbers as one small JSON file (DVC metrics)."""

from diffrob.io import write_json
from diffrob.report import headline_metrics
from diffrob.runtime import configure

configure(1, snakemake.log[0])
write_json(headline_metrics(snakemake.input[0], snakemake.params.sampler), snakemake.output[0])
