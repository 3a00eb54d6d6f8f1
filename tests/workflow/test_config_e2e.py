"""The configuration fuzzer's end-to-end runs: the issue's configuration and the accepted configurations that
together cover every risky feature the generator draws run to the report, reusing the tiny run's models, and
every artifact their design leaves out must be named, with its reason, in the report (a module of its own so
that these runs and the planning runs can go to different test workers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from snakemake.utils import update_config

from tests.fuzz import dump, omitted_artifacts, rejection
from tests.helpers import FAST, run, snakemake
from tests.workflow.test_config_fuzz import END_TO_END, ISSUE_FEATURES, ISSUE_OVERLAY, RISKY, SCHEMA, SUMMARY, _base


def _run_to_report(config: dict, tiny_run: Path, workdir: Path) -> Path:
    """Run ``config`` to the report in ``workdir``, reusing the tiny run's inputs and models (same settings)."""
    for folder in ("data/inputs", "data/models"):
        shutil.copytree(tiny_run / folder, workdir / folder, copy_function=shutil.copy2)
    (workdir / "config.yaml").write_text(dump(config))
    result = run(snakemake(workdir, *FAST.split()), workdir)
    assert result.returncode == 0, f"{dump(config)}\n{result.stderr[-4000:]}"
    assert not (workdir / "benchmarks" / "train_ddpm.tsv").exists(), "the tiny run's models were not reused"
    return workdir / "paper"


def _check_report(paper: Path, config: dict) -> None:
    """Every omission of the design is in omissions.csv, and every claim without numbers says why."""
    omissions = pd.read_csv(paper / "omissions.csv", dtype=str, keep_default_na=False)
    listed = set(zip(omissions["artifact"], omissions["item"], strict=True))
    assert omitted_artifacts(config) <= listed
    results = pd.read_csv(paper / "results.csv")
    has_table4 = (results["artifact"] == "table4").any()
    assert has_table4 == (("table4", "transfer") not in listed), "Table 4 exists exactly when the design keeps it"
    accuracy = results[results["artifact"].isin(["table2", "table4", "table6", "table7", "accuracy"])]
    accuracy = accuracy[~accuracy["column"].str.startswith("compress")]
    assert accuracy["value"].between(0, 100).all()
    report = (paper / "report.md").read_text()
    for block in report.split("\n## ")[1:]:
        heading = block.splitlines()[0]
        if heading.endswith(": –"):
            assert "Not measured" in block, f"claim '{heading}' has no numbers and does not say why"
    for table in ("table1", "table5", "table7"):
        assert (paper / "tables" / f"{table}.md").exists()


@pytest.mark.workflow
def test_the_issue_configuration_runs_to_the_report(tiny_run, tmp_path):
    """Main seeds [3, 4, 5], sweep seed 7, EOT seed 3: the transfer partner of seed 7 exists only at the main t*."""
    config = _base()
    update_config(config, ISSUE_OVERLAY)
    assert rejection(config, SCHEMA) is None
    paper = _run_to_report(config, tiny_run, tmp_path)
    _check_report(paper, config)
    results = pd.read_csv(paper / "results.csv")
    table4 = results[results["artifact"] == "table4"]
    assert table4["n"].tolist() == [4]  # seeds 3, 4, 5 and the sweep's 7 at the main t*
    sweep_only = results[(results["row"] == "DDPM t=5 PGD (Full) fixed") & (results["artifact"] == "accuracy")]
    assert set(sweep_only["column"]) == {"acc_own", "acc_fresh"}
    assert "one base seed at DDPM at t* = 5 ([7])" in (paper / "tables" / "accuracy.md").read_text()


@pytest.mark.workflow
@pytest.mark.parametrize("index", range(len(END_TO_END)), ids=lambda k: f"cover{k}")
def test_covering_configurations_run_to_the_report(index, tiny_run, tmp_path):
    draw = END_TO_END[index]
    paper = _run_to_report(draw.config, tiny_run, tmp_path)
    _check_report(paper, draw.config)
    ran = SUMMARY.setdefault("end_to_end", [])
    ran.append(sorted(draw.features))


def test_the_covering_subset_exercises_the_risky_features():
    issue = _base()
    update_config(issue, ISSUE_OVERLAY)
    assert set(issue["sweep"]["seeds"]) - set(issue["purification"]["seeds"]), "the issue's sweep seed is not outside"
    covered = set(ISSUE_FEATURES).union(*(d.features for d in END_TO_END))
    for feature in RISKY:
        assert feature in covered, f"no end-to-end configuration has '{feature}'"
