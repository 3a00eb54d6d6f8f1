"""Each DVC stage's Snakemake target makes only that stage's outputs (rules/targets.smk lists them once)."""

from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, run, snakemake
from tests.workflow.test_addt_workflow import OVERLAY

STAGES = ["models", "attacks", "measurements", "paper"]


def _stage_targets_and_outs() -> dict[str, tuple[str, list[str]]]:
    """dvc.yaml's stages: each one's Snakemake target and its declared outputs."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name in STAGES:
        outs = [o if isinstance(o, str) else next(iter(o)) for o in stages[name]["outs"]]
        metrics = [m if isinstance(m, str) else next(iter(m)) for m in stages[name].get("metrics", [])]
        out[name] = (stages[name]["cmd"].split()[1], outs + metrics)
    return out


def stray_outputs(made: dict[str, set[str]], outs: dict[str, list[str]], order: list[str]) -> dict[str, list[str]]:
    """Per stage, the files its target makes beyond the earlier stages' targets that lie outside its outs."""
    earlier: set[str] = set()
    stray = {}
    for stage in order:
        new = made[stage] - earlier
        outside = sorted(f for f in new if not any(f == o or f.startswith(o.rstrip("/") + "/") for o in outs[stage]))
        if outside:
            stray[stage] = outside
        earlier |= made[stage]
    return stray


def _summary(workdir: Path, target: str) -> set[str]:
    """The output files of every job a target needs (``snakemake --summary``), on a fresh folder."""
    result = run(snakemake(workdir, "--summary", target), workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines and lines[0].startswith("output_file"), result.stdout[:500]
    return {line.split("\t")[0] for line in lines[1:] if line.strip()}


@pytest.fixture(scope="module")
def addt_config(tmp_path_factory) -> Path:
    """.test/config.yaml with ADDT on (its N-evaluation too: .test draws 3)."""
    workdir = tmp_path_factory.mktemp("targets")
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    (workdir / "config.yaml").write_text(yaml.safe_dump({**config, "addt": OVERLAY}))
    return workdir


def test_each_dvc_stage_makes_only_its_own_outputs_with_addt_on(addt_config):
    stages = _stage_targets_and_outs()
    made = {name: _summary(addt_config, target) for name, (target, _) in stages.items()}
    assert any("n_evaluation/addt/" in f for f in made["measurements"])  # ADDT's N-evaluation is planned
    assert stray_outputs(made, {name: outs for name, (_, outs) in stages.items()}, STAGES) == {}


def test_a_file_made_by_a_later_stage_is_stray():
    made = {"measurements": {"data/measurements/a.json"}, "paper": {"data/measurements/a.json", "paper/r.csv",
                                                                     "data/measurements/b.json"}}  # fmt: skip
    outs = {"measurements": ["data/measurements"], "paper": ["paper/r.csv"]}
    assert stray_outputs(made, outs, ["measurements", "paper"]) == {"paper": ["data/measurements/b.json"]}
