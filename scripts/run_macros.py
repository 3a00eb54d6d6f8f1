"""paper/tables/run.tex: the LaTeX macros naming this run's data set, for paper/ms.tex."""

from diffrob.runtime import configure
from diffrob.tables import write_run_macros

configure(1, snakemake.log[0])
write_run_macros(snakemake.input[0], snakemake.output[0])
