"""ADDT's accuracies over seeds, each model's compression rates and its residual from the sigmoid, as typed records."""

from diffrob.addt.summary import summarize
from diffrob.io import read_json, write_json
from diffrob.runtime import configure

configure(1, snakemake.log[0])
i = snakemake.input
compression = {model: read_json(path) for model, path in zip(snakemake.params.models, i.compression, strict=True)}
fit = read_json(i.sigmoid).get("fit") if snakemake.params.on_sigmoid else None
write_json(summarize([read_json(path) for path in i.metrics], compression, fit), snakemake.output[0])
