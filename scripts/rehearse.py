"""`make rehearse`: a paper-scale profile through every rule on random-weight stand-ins of its sources.

python scripts/rehearse.py config/cifar10.yaml config/rehearsal/cifar10.yaml --directory rehearsal/cifar10 \
    [--cores 2] [--gpus 1] [-- extra snakemake arguments]

Writes the stand-ins (diffrob.models.standins) and the overlay that serves them from file:// once, runs the
workflow in --directory on config.yaml + profile + counts + sources, then prints and writes the memory
table (paper/rehearsal.md, .csv): per rule the measured peak of its jobs against the bound the chunk
sizes give, and builds Snakemake's own report of the run (paper/snakemake-report.html). Exits non-zero
when the workflow or the report fails or a peak exceeds its bound.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from diffrob.io import write_text
from diffrob.models.standins import write_sources
from diffrob.workflow.checks import merged_config
from diffrob.workflow.memory import interpreter_baseline_bytes, memory_table, read_benchmarks

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("profile", type=Path, help="the paper-scale profile, e.g. config/cifar10.yaml")
parser.add_argument("counts", type=Path, help="its rehearsal counts, e.g. config/rehearsal/cifar10.yaml")
parser.add_argument("--directory", type=Path, required=True, help="where the rehearsal runs and writes")
parser.add_argument("--cores", default="2")
parser.add_argument("--gpus", default="1", help="GPU-tagged jobs at once (snakemake --resources gpu=N)")
argv = sys.argv[1:]
cut = argv.index("--") if "--" in argv else len(argv)
args, snakemake_args = parser.parse_args(argv[:cut]), argv[cut + 1 :]  # after --: passed to snakemake

layers = [ROOT / "config.yaml", args.profile.resolve(), args.counts.resolve()]
config = merged_config([yaml.safe_load(path.read_text()) for path in layers], ROOT / "config" / "schema.yaml")

workdir = args.directory.resolve()
sources = workdir / "sources.yaml"
if not sources.is_file():  # written last: its presence means every stand-in is complete
    print(f"Writing random-weight stand-ins of {args.profile}'s sources into {workdir / 'sources'} ...", flush=True)
    overlay = write_sources(config, workdir / "sources")
    write_text(yaml.safe_dump(overlay, sort_keys=False), sources)
config = merged_config([config, yaml.safe_load(sources.read_text())], ROOT / "config" / "schema.yaml")

# extra arguments first: a target after a list option such as --resources would join its list
command = [
    sys.executable, "-m", "snakemake", *snakemake_args,
    "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
    "--configfile", *map(str, [*layers, sources]), "--cores", args.cores, "--resources", f"gpu={args.gpus}",
]  # fmt: skip
if subprocess.run(command, cwd=ROOT).returncode != 0:
    sys.exit(f"rehearsal of {args.profile} failed; logs in {workdir / 'logs'}")
snakemake_report = workdir / "paper/snakemake-report.html"
if subprocess.run([*command, "--report", str(snakemake_report)], cwd=ROOT).returncode != 0:
    sys.exit(f"snakemake --report failed on the rehearsal of {args.profile} in {workdir}")

table = memory_table(config, read_benchmarks(workdir / "benchmarks"), interpreter_baseline_bytes())
shown = table.to_string(index=False, float_format=lambda v: f"{v:.0f}")
heading = (
    f"Rehearsal of {args.profile} with {args.counts}: peak resident memory per rule (Snakemake benchmarks, "
    "largest job) against the bound the chunk sizes give (interpreter + 256 MiB allowance + 2 x loaded weights "
    "(3 x in the import rules) + chunk activations)"
)
write_text(f"# {heading}\n\n" + table.to_markdown(index=False, floatfmt=".0f") + "\n", workdir / "paper/rehearsal.md")
table.to_csv(workdir / "paper/rehearsal.csv", index=False)
print(
    f"\n{heading}\n{shown}\nReport: {workdir / 'paper/report.html'}; Snakemake's report: {snakemake_report}; "
    f"memory table: {workdir / 'paper/rehearsal.md'}"
)
over = table[~table["within"]]
if not over.empty:
    sys.exit(f"peak memory above its bound in: {', '.join(over['rule'])}")
