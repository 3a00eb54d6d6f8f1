"""N-evaluation of one free-randomness adversarial set (DiffHammer's worst-of-N, DiffBreak's majority vote): its
images under N draws of the evaluation stream; resumable per draw."""

from diffrob.attack.purified import frozen
from diffrob.attack.shards import load_evaluation_shard
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.n_evaluation import n_evaluation
from diffrob.models.classifier import load_classifier
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure, device

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
settings = {"chain": p.chain, "draws": p.draws, "key": p.key}
eval_set = load_image_set(i.eval)
if hasattr(p, "n_images"):  # ADDT's evaluation: its first n_images
    eval_set, settings["n_images"] = eval_set.head(p.n_images), p.n_images
store = BatchStore(p.partial, job_identity(settings, [i.shard, i.ddpm, i.classifier]))
shard = load_evaluation_shard(i.shard, eval_set)
purifier = load_purifier(i.ddpm, p.chain, eval_set.indices.tolist())
classifier = frozen(load_classifier(i.classifier)).to(device())
write_json(n_evaluation(purifier, classifier, shard, p.draws, p.key, p.batch_size, store), snakemake.output[0])
store.finish()
