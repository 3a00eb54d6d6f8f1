"""`make plan`: the projected bill of a configuration (evaluations, FLOPs, hours, peak memory) per rule.

python scripts/plan.py config/cifar10.yaml [--gflops 60000] [--bench paper/benchmarks.csv]
"""

import argparse
import sys
from pathlib import Path

import yaml

from diffrob.workflow.checks import ConfigError, check_consistency, merged_config
from diffrob.workflow.plan import bill, bill_table, measured_rate

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("profile", nargs="?", default="config.yaml", help="a profile merged over config.yaml")
parser.add_argument("--gflops", type=float, help="the device's rate in GFLOP/s (default: what make bench measured)")
parser.add_argument("--bench", default="paper/benchmarks.csv", help="make bench's output")
parser.add_argument("--set", action="append", default=[], metavar="YAML", help="an overlay, e.g. 'data: {folder: x}'")
args = parser.parse_args()

overlays = [] if args.profile == "config.yaml" else [Path(args.profile).read_text()]
layers = [yaml.safe_load(text) for text in [Path("config.yaml").read_text(), *overlays, *args.set]]
config = merged_config(layers, "config/schema.yaml")
if config["dataset"] == "imagenet" and not config["data"].get("folder"):
    config["data"]["folder"] = "(not needed to plan)"
try:
    check_consistency(config)
except ConfigError as err:
    sys.exit(f"{args.profile}: invalid configuration: {err}")

rate = (args.gflops, "the rate given") if args.gflops else measured_rate(args.bench)
table = bill_table(bill(config), rate[0] if rate else None)
print(f"Projected bill of {args.profile} ({config['dataset']}, {config['data']['n_eval']} images)")
print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
if rate:
    print(f"Hours at {rate[0]:.4g} GFLOP/s ({rate[1]}).")
else:
    print(f"No rate: run `make bench` on the device ({args.bench}) or give --gflops for hours.")
print("FLOPs: FlopCounterMode on one forward pass of the real architectures (meta device), times the evaluations.")
print("Peak memory: an upper bound from the chunk sizes (purification.chunks) and attack.batch_size.")
