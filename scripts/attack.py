"""One attack shard, then its accuracies under its own, a fresh and the partner seed's randomness; each resumable
batch by batch."""

from diffrob.attack.evaluate import Defence, measure_shard, run_attack_shard
from diffrob.attack.shards import save_shard
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
w, p, i, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
eval_set = load_image_set(i.eval)
store = BatchStore(p.partial, job_identity({"chain": p.chain, "attack": p.attack, "wildcards": dict(w)}, i))
defence = Defence(i.ddpm, i.classifier, p.chain)
shard = run_attack_shard(defence, eval_set, p.attack, w.attack, w.randomness, int(w.seed), store)
save_shard(shard, out.shard)
measured = BatchStore(p.measured, job_identity({"chain": p.chain, "partner": p.partner}, [*i, out.shard]))
metrics = measure_shard(out.shard, eval_set, defence, p.partner, measured)
write_json(metrics, out.metrics)
measured.finish()
store.finish()
