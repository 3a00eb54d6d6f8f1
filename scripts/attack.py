"""One attack shard: adversarial examples against the purified classifier, resumable batch by batch."""

from diffrob.data import load_image_set
from diffrob.evaluate import run_attack_shard, save_shard
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
w = snakemake.wildcards
settings = {"chain": snakemake.params.chain, "attack": snakemake.params.attack, "wildcards": dict(w)}
store = BatchStore(snakemake.params.partial, job_identity(settings, snakemake.input))
shard = run_attack_shard(
    snakemake.input.ddpm,
    snakemake.input.classifier,
    load_image_set(snakemake.input.eval),
    snakemake.params.chain,
    snakemake.params.attack,
    w.attack,
    w.randomness,
    int(w.seed),
    store,
)
save_shard(shard, snakemake.output[0])
store.finish()
