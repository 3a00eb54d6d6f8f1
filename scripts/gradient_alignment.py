"""Table 5, second row: the EOT attack's gradient against the test system's, at the EOT shard's images (resumable)."""

from diffrob.attack.evaluate import Defence
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.gradients import gradient_alignment
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
store = BatchStore(p.partial, job_identity({"chain": p.chain, "attack": p.attack}, i))
defence = Defence(i.ddpm, i.classifier, p.chain)
result = gradient_alignment(defence, load_image_set(i.eval), i.shard, p.attack, store)
write_json(result, snakemake.output[0])
store.finish()
