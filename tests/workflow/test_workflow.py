"""The workflow end to end on the tiny .test config, in a scratch folder."""

import json

import pandas as pd
import pytest
import yaml

from diffrob.paper.labels import COMPARISON_LABELS
from diffrob.paper.results import RESULT_COLUMNS
from tests.helpers import FAST, ROOT, not_ignored, run, snakemake


@pytest.fixture(scope="module")
def finished_run(tiny_run):
    return tiny_run


def _run(workdir, *args):
    return run(snakemake(workdir, *FAST.split(), *args), workdir)


@pytest.mark.workflow
def test_workflow_produces_results_and_table2(finished_run):
    results = pd.read_csv(finished_run / "paper" / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS
    table2 = results[results["artifact"] == "table2"]
    assert set(table2["row"]) == {"DDPM fixed", "DDPM free"}
    assert table2["value"].between(0, 100).all()
    assert (table2["images"] == 12).all()  # data.n_eval: each accuracy's interval is over its 12 images
    assert (table2["ci_low"] <= table2["value"]).all() and (table2["value"] <= table2["ci_high"]).all()
    assert table2["ci_high"].sub(table2["ci_low"]).gt(20).all()  # 12 images: wide intervals
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
def test_fixed_and_free_randomness_are_compared_image_by_image(finished_run):
    results = pd.read_csv(finished_run / "paper" / "results.csv")
    paired = results[(results["artifact"] == "paired") & (results["row"] == COMPARISON_LABELS["fixed_vs_free"])]
    paired = paired.set_index("column")
    assert set(paired.index) == {"pgd_seed0", "pgd_seed1"}  # both seeds are attacked under fixed and free
    assert (paired["images"] == 12).all() and paired["p_value"].between(0, 1).all()
    assert (paired["ci_low"] <= paired["value"]).all() and (paired["value"] <= paired["ci_high"]).all()
    assert "McNemar" in (finished_run / "paper" / "tables" / "paired.md").read_text()


@pytest.mark.workflow
def test_snakemakes_report_collects_the_figures_and_tables_by_section(finished_run, tmp_path):
    target = tmp_path / "report.html"
    result = _run(finished_run, "--report", str(target))
    assert result.returncode == 0, result.stderr[-3000:]
    html = target.read_text()
    for category in ("0 Claims", "2 Randomness (Sec. 4)", "4 Compression (Sec. 5)"):
        assert category in html, category
    assert "with the fitted sigmoid" in html  # Fig. 3b's caption, from diffrob.paper.captions
    assert "fig3b_sigmoid.png" in html and "table7.csv" in html


@pytest.mark.workflow
def test_every_file_the_workflow_writes_is_ignored_by_git(finished_run):
    written = [
        p.relative_to(finished_run).as_posix()
        for p in finished_run.rglob("*")
        if p.is_file() and p.name != "config.yaml" and ".snakemake" not in p.relative_to(finished_run).parts
    ]
    assert any(w.startswith("paper/") for w in written) and any(w.startswith("data/") for w in written)
    assert not_ignored(written) == []


def test_the_ignore_check_names_a_file_git_would_track():
    assert not_ignored(["paper/results.csv", "paper/a_new_output.csv", "data/models/x"]) == ["paper/a_new_output.csv"]


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


@pytest.mark.workflow
def test_autoattack_runs_beside_pgd_under_fixed_randomness_and_the_convergence_check_reproduces_the_shard(
    finished_run,
):
    results = pd.read_csv(finished_run / "paper" / "results.csv")
    fixed = results[(results["artifact"] == "table2") & (results["row"] == "DDPM fixed")].set_index("column")
    assert fixed.loc["autoattack", "n"] == 2 and fixed.loc["autoattack", "images"] == 12  # seeds 0 and 1
    strength = results[(results["row"] == COMPARISON_LABELS["attack_vs_autoattack"])].set_index("column")
    assert set(strength.index) == {"pgd_ddpm_t20_seed0", "pgd_ddpm_t20_seed1"}
    assert strength["p_value"].between(0, 1).all()
    for seed in (0, 1):  # PGD's accuracy minus AutoAttack's on the same images: the paired difference
        shard = json.loads((finished_run / f"data/adversarial/ddpm-t20/autoattack-fixed-seed{seed}.json").read_text())
        pgd = json.loads((finished_run / f"data/adversarial/ddpm-t20/pgd-fixed-seed{seed}.json").read_text())
        assert strength.loc[f"pgd_ddpm_t20_seed{seed}", "value"] == pytest.approx(pgd["acc_own"] - shard["acc_own"])
        assert shard["acc_after_apgd-t"] == shard["acc_own"] <= shard["acc_after_apgd-ce"] <= shard["acc_after_clean"]
    check = json.loads((finished_run / "data/measurements/ddpm-t20/convergence.json").read_text())
    assert check["reproduces_shard"] is True and check["shard_steps"] == 2
    convergence = results[results["artifact"] == "convergence"]
    assert set(convergence["column"]) == {"steps_1", "steps_2", "steps_3", "after_apgd-ce", "after_apgd-t"}
    assert (finished_run / "paper/figures/convergence.png").is_file()
    assert "AutoAttack" in (finished_run / "paper/tables/table2.md").read_text()
