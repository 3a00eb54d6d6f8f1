"""Collect every metric file into paper/results.csv."""

from diffrob.io import atomic_path
from diffrob.report import collect_results
from diffrob.runtime import configure

configure(1, snakemake.log[0])
frame = collect_results(
    snakemake.params.dataset, snakemake.input.classifier, snakemake.input.purified, snakemake.input.shards
)
with atomic_path(snakemake.output[0]) as tmp:
    frame.to_csv(tmp, index=False)
