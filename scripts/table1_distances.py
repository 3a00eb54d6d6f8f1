"""Table 1: l2, l_inf, SSIM, FID before -> after purification (resumable per shard)."""

from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.distances import table1
from diffrob.measure.features import fid_features
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure, device

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
fid = p.fid
store = BatchStore(p.partial, job_identity({"chain": p.chain, "fid": fid}, i))
features = fid_features(fid["features"], device(), i.classifier, i.get("inception"), fid["dims"])
eval_set = load_image_set(i.eval)
result = table1(load_purifier(i.ddpm, p.chain, eval_set.indices.tolist()), eval_set, i.shards, features, store)
write_json({**result, "fid_features": fid["features"], "fid_dims": fid["dims"]}, snakemake.output[0])
store.finish()
