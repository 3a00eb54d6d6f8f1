# Two commands: `make reproduce` and `make test`. Both create .venv with the pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: reproduce test check lint dag clean restore bench plan rehearse rehearse-cifar10 rehearse-imagenet

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# With a GPU, one GPU job at a time (profiles/default); without, the per-shard jobs side by side (profiles/cpu).
LOCAL = $(if $(shell nvidia-smi -L 2>/dev/null | grep '^GPU'),--resources gpu=1,--workflow-profile profiles/cpu)

reproduce: $(STAMP)
	$(BIN)/snakemake --cores all $(LOCAL)
	@echo
	@echo "Report:  paper/report.html (and report.md): each claim, ours beside the paper's"
	@echo "Results: paper/results.csv (what this configuration leaves out, and why: paper/omissions.csv)"
	@echo "Tables:  paper/tables/ (csv, md, tex)"
	@echo "Figures: paper/figures/ (png, pdf)"
	@echo "Build:   paper/build.json; per-rule times in benchmarks/, logs in logs/"

# Two pytest-xdist workers, a test module at a time each (its module fixtures run once), in collection order: the
# modules that run whole workflows start first (tests/conftest.py). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Every tier: tests/unit (no workflow run), tests/workflow (the tiny run, DVC, the fuzzer, ADDT's rules) and
# tests/scale (the CIFAR-10 rehearsal, memory, SLURM).
test: lint
	$(PYTEST) --durations=25 tests

# The edit loop (a few minutes on 2 cores): the lints and the unit tier.
check: lint
	$(PYTEST) tests/unit

# ruff, snakefmt and Snakemake's own lint on the default and the tiny configuration (shfmt, for the shell
# blocks, is in .venv/bin).
lint: $(STAMP)
	$(BIN)/ruff check src scripts tests
	$(BIN)/ruff format --check src scripts tests
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint
	$(BIN)/snakemake --lint --configfile .test/config.yaml

# Speed and memory of purification and of the full-gradient attack (not a test; a few minutes on 2 cores).
bench: $(STAMP)
	$(BIN)/python scripts/bench.py --out paper/benchmarks.csv

# The projected bill of a profile before running it: `make plan PROFILE=config/cifar10.yaml [GFLOPS=60000]`.
PROFILE ?= config.yaml
plan: $(STAMP)
	$(BIN)/python scripts/plan.py $(PROFILE) $(if $(GFLOPS),--gflops $(GFLOPS))

# Both paper-scale profiles through every rule on random-weight stand-ins of their sources, counts shrunk
# (config/rehearsal/); CPU. Outputs, reports and the per-rule memory table under rehearsal/<profile>/.
rehearse: rehearse-cifar10 rehearse-imagenet

rehearse-cifar10 rehearse-imagenet: rehearse-%: $(STAMP)
	$(BIN)/python scripts/rehearse.py config/$*.yaml config/rehearsal/$*.yaml --directory rehearsal/$*

# The paper-scale profiles' DVC stages (runs/, a DVC project of its own), derived from dvc.yaml's.
runs/dvc.yaml: dvc.yaml scripts/profile_dvc.py $(STAMP)
	$(BIN)/python scripts/profile_dvc.py

# After `dvc pull` / `dvc checkout`: the restored files have new timestamps; tell Snakemake they are current.
restore: $(STAMP)
	$(BIN)/snakemake --touch --cores 1 --quiet

dag: $(STAMP)
	$(BIN)/snakemake --dag | dot -Tpng > paper/figures/dag.png

clean:
	rm -rf data/inputs data/models data/purified data/adversarial data/metrics data/measurements \
		paper/results.csv paper/omissions.csv paper/tables paper/figures paper/report.md paper/report.html paper/build.json \
		paper/metrics.json logs benchmarks .snakemake
