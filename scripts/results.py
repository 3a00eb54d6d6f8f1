"""Collect every metric and measurement file into paper/results.csv, and what was not measured into omissions.csv."""

from diffrob.io import atomic_path
from diffrob.paper.results import collect_omissions, collect_results
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i, p = snakemake.input, snakemake.params
frame = collect_results(
    p.dataset, p.main_sampler, p.main_t, i.classifier, i.purified, i.shards, i.measurements, p.main_attack
)
with atomic_path(snakemake.output.results) as tmp:
    frame.to_csv(tmp, index=False)
with atomic_path(snakemake.output.omissions) as tmp:
    collect_omissions(p.omissions, i.sigmoid, p.screened).to_csv(tmp, index=False)
