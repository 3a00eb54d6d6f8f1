"""ADDT's evaluation attack on one purifier (a norm, EOT or DW-box, a base seed), resumable batch by batch."""

from diffrob.attack.evaluate import Defence, run_protocol_shard
from diffrob.attack.shards import save_shard
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
w, p, i, out = snakemake.wildcards, snakemake.params, snakemake.input, snakemake.output
eval_set = load_image_set(i.eval).head(p.n_images)
identity = job_identity({"chain": p.chain, "evaluation": p.evaluation, "wildcards": dict(w)}, i)
store = BatchStore(p.partial, identity)
defence = Defence(i.ddpm, i.classifier, p.chain)
shard, metrics = run_protocol_shard(defence, eval_set, p.evaluation, w.norm, w.setting, int(w.seed), store)
save_shard(shard, out.shard)
write_json({"model": w.model, **metrics}, out.metrics)
store.finish()
