"""Fig. 3b: fit robustness against compression over every (sampler, t*) point."""

from diffrob.fit import sigmoid_from_files
from diffrob.io import write_json
from diffrob.runtime import configure

configure(1, snakemake.log[0])
write_json(sigmoid_from_files(snakemake.input.compression, snakemake.input.metrics), snakemake.output[0])
