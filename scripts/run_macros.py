"""paper/tables/run.tex: the LaTeX macros naming this run's data set, for paper/ms.tex."""

from diffrob.paper.tables import write_run_macros
from diffrob.runtime import configure

configure(1, snakemake.log[0])
write_run_macros(snakemake.input[0], snakemake.output[0])
