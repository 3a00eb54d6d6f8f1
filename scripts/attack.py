"""One attack shard: adversarial examples against the purified classifier."""

from diffrob.data import load_image_set
from diffrob.evaluate import run_attack_shard, save_shard
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
w = snakemake.wildcards
shard = run_attack_shard(
    snakemake.input.ddpm,
    snakemake.input.classifier,
    load_image_set(snakemake.input.eval),
    snakemake.params.chain,
    snakemake.params.attack,
    w.attack,
    w.randomness,
    int(w.seed),
)
save_shard(shard, snakemake.output[0])
