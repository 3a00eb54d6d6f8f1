"""Table 1: l2, l_inf, SSIM, FID before -> after purification."""

from diffrob.data import load_image_set
from diffrob.experiments import table1
from diffrob.io import write_json
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
i = snakemake.input
result = table1(i.ddpm, i.classifier, load_image_set(i.eval), snakemake.params.chain, i.shards)
write_json(result, snakemake.output[0])
