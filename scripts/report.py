"""The report: each claim of the paper with our numbers beside the paper's (Markdown and HTML)."""

from pathlib import Path

from diffrob.paper.report import write_report
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i, o = snakemake.input, snakemake.output
write_report(i.results, i.targets, i.build, Path(i.tables[0]).parent, o.md, o.html, i.get("speed"), i.omissions)
