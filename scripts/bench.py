"""`make bench`: speed and memory of purification and of the full-gradient attack (not a test).

Writes paper/benchmarks.csv (and .json with the summary); the report quotes it when present.
"""

import argparse
import platform

import pandas as pd
import torch

from diffrob.io import atomic_path, write_json
from diffrob.runtime import device
from diffrob.workflow.bench import projected_minutes, run_benchmark, summary

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="paper/benchmarks.csv")
parser.add_argument("--threads", type=int, default=torch.get_num_threads())
parser.add_argument("--batch", type=int, default=256, help="images per attack batch, embedded model")
parser.add_argument("--cifar-batch", type=int, default=None, help="images per batch, CIFAR-10 UNet (CPU 4, GPU 128)")
args = parser.parse_args()

torch.set_num_threads(args.threads)
dev = device()
name = (
    torch.cuda.get_device_name(dev)
    if dev.type == "cuda"
    else f"{platform.processor() or 'cpu'}, {args.threads} threads"
)
print(f"device: {name}")
cifar_batch = args.cifar_batch or (128 if dev.type == "cuda" else 4)
rows = run_benchmark(dev, args.threads, batch=args.batch, cifar_batch=cifar_batch)
for row in rows:
    row["device"] = name
figures = summary(rows)
figures["projected_table2_fixed_pgd_minutes"] = projected_minutes(rows)
figures["device"] = name
with atomic_path(args.out) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
write_json(figures, args.out.removesuffix(".csv") + ".json")
for key, value in figures.items():
    print(f"{key}: {value:.3g}" if isinstance(value, float) else f"{key}: {value}")
