"""Compression rates of one purifier (eq. 10; Tables 6, 7): a (sampler, t*), or an ADDT model; resumable per seed and
shard."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.compression import compression
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
settings = {"chain": p.chain, "seeds": p.seeds, "epsilon": p.epsilon}
eval_set = load_image_set(i.eval)
if hasattr(p, "n_images"):  # ADDT's evaluation: its first n_images
    eval_set, settings["n_images"] = eval_set.head(p.n_images), p.n_images
store = BatchStore(p.partial, job_identity(settings, i))
purifier = load_purifier(i.ddpm, p.chain, eval_set.indices.tolist())
result = compression(purifier, eval_set, p.seeds, i.shards, p.epsilon, store)
write_json(result, snakemake.output[0])
store.finish()
