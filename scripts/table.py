"""One comparison table (ours beside the paper's), named by the {table} wildcard, as csv, Markdown and LaTeX."""

from pathlib import Path

from diffrob.paper.tables import write_table
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i = snakemake.input
write_table(i.results, i.targets, snakemake.wildcards.table, Path(snakemake.output.csv).parent, i.omissions)
