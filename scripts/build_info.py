"""Record how the results were made: package version, versions of key libraries, the config."""

from diffrob.io import write_json
from diffrob.paper.build import build_info
from diffrob.runtime import configure

configure(1, snakemake.log[0])
write_json(build_info(snakemake.params.config), snakemake.output[0])
