"""Every comparison table (ours beside the paper's) as csv, Markdown and LaTeX."""

from pathlib import Path

from diffrob.report import write_tables
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i = snakemake.input
write_tables(i.results, i.targets, Path(snakemake.output[0]).parent, i.omissions)
