"""Compare accuracies image by image (fixed against free randomness; ADDT against its clean control): the
difference, its interval and McNemar's p-value, as typed records."""

from diffrob.io import write_json
from diffrob.runtime import configure
from diffrob.stats.comparisons import comparison_records

configure(1, snakemake.log[0])
write_json({"records": comparison_records(snakemake.params.comparisons)}, snakemake.output[0])
