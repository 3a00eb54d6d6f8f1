"""Render Table 2 (fixed vs free randomness) with the paper's values beside ours."""

from diffrob.paper.tables import write_table2
from diffrob.runtime import configure

configure(1, snakemake.log[0])
write_table2(
    snakemake.input.results,
    snakemake.input.targets,
    snakemake.params.sampler,
    snakemake.params.settings,
    snakemake.output,
    snakemake.input.omissions,
)
