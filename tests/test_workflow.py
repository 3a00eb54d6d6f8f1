"""The workflow end to end on the tiny .test config, in a scratch folder."""

import pandas as pd
import pytest
import yaml

from tests.helpers import FAST, ROOT, run, snakemake


@pytest.fixture(scope="module")
def finished_run(tiny_run):
    return tiny_run


def _run(workdir, *args):
    return run(snakemake(workdir, *FAST.split(), *args), workdir)


@pytest.mark.workflow
def test_workflow_produces_results_and_table2(finished_run):
    results = pd.read_csv(finished_run / "paper" / "results.csv")
    assert list(results.columns) == ["artifact", "dataset", "row", "column", "value", "sd", "n"]
    table2 = results[results["artifact"] == "table2"]
    assert set(table2["row"]) == {"DDPM fixed", "DDPM free"}
    assert table2["value"].between(0, 100).all()
    eot = table2["column"] == "pgd_eot"
    assert (table2.loc[~eot, "n"] == 2).all()  # two seeds in .test/config.yaml
    assert (table2.loc[eot, "n"] == 1).all()  # EOT runs once (attack.extra_seeds), as in the paper
    markdown = (finished_run / "paper" / "tables" / "table2.md").read_text()
    assert "23.7 ± 0.7" in markdown  # the paper's value beside ours
    assert "PGD accuracy with fixed randomness" in markdown
    for rule in ("train_ddpm", "attack", "trajectories", "jacobian", "fit_sigmoid", "report"):
        assert any((finished_run / "benchmarks").glob(f"**/{rule}*")) or (finished_run / "benchmarks" / rule).is_dir()


@pytest.mark.workflow
def test_workflow_produces_every_table_figure_and_the_report(finished_run):
    paper = finished_run / "paper"
    for table in ("table1", "table5", "table6", "table7", "tableS3", "tableS5", "tableS6", "fig3b"):
        for ext in ("csv", "md", "tex"):
            assert (paper / "tables" / f"{table}.{ext}").stat().st_size > 0
    for figure in ("fig1c_l2", "fig2_randomness", "fig3a_jacobian", "fig3b_sigmoid", "figS4_timesteps"):
        assert (paper / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
        assert (paper / "figures" / f"{figure}.pdf").read_bytes()[:4] == b"%PDF"
    report = (paper / "report.md").read_text()
    assert "## Summary" in report and "directions reproduced" in report
    assert "<img src=" in (paper / "report.html").read_text()
    results = pd.read_csv(paper / "results.csv")
    for artifact in ("table1", "table5", "table6", "table7", "tableS3", "tableS5", "tableS6", "fig2", "fig3a", "fig3b"):
        assert (results["artifact"] == artifact).any(), artifact


@pytest.mark.workflow
def test_a_finished_workflow_has_nothing_left_to_do(finished_run):
    result = _run(finished_run, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.workflow
def test_a_bad_config_fails_before_any_job_naming_the_key(tmp_path):
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["attack"]["epsilon"] = 0
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = _run(tmp_path)
    assert result.returncode != 0
    assert "epsilon" in result.stderr
    assert not (tmp_path / "data").exists()
