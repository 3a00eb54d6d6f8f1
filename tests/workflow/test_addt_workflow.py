"""ADDT in the workflow (config `addt`): the tiny run's DDPM fine-tuned as ADDT and as the clean control, then the
three models attacked under EOT and DW-box in l_inf and l2, measured by compression, and tabled beside ADDT's numbers
(the tiny run continued with an addt section: only ADDT's jobs and the paper's collection run)."""

import json
import shutil

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

from diffrob.attack.shards import load_shard
from tests.helpers import ADDT_OVERLAY as OVERLAY
from tests.helpers import FAST, ROOT, run, snakemake


@pytest.fixture(scope="module")
def addt_run(tiny_run, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("addt-run") / "run"
    shutil.copytree(tiny_run, workdir, copy_function=shutil.copy2, symlinks=True)
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    (workdir / "config.yaml").write_text(yaml.safe_dump({**config, "addt": OVERLAY}))
    result = run(snakemake(workdir, *FAST.split()), workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def _weights(folder):
    return load_file(str(folder / "diffusion_pytorch_model.safetensors"))


@pytest.mark.workflow
def test_both_fine_tunes_start_from_the_ddpm_and_change_it(addt_run, tiny_run):
    base = _weights(addt_run / "data/models/ddpm")
    tuned = {mode: _weights(addt_run / f"data/models/addt/{mode}") for mode in ("clean", "addt")}
    reused = _weights(tiny_run / "data/models/ddpm")
    assert all(torch.equal(base[k], reused[k]) for k in base), "the tiny run's DDPM was not reused"
    log = (addt_run / "logs/finetune_ddpm/addt.log").read_text()
    assert "fine-tune (addt)" in log  # its progress bar
    for mode, weights in tuned.items():
        assert weights.keys() == base.keys(), mode
        assert any(not torch.equal(weights[k], base[k]) for k in base), f"{mode} left the DDPM unchanged"
        assert (addt_run / f"benchmarks/finetune_ddpm/{mode}.tsv").is_file()
    assert any(not torch.equal(tuned["clean"][k], tuned["addt"][k]) for k in base)


@pytest.mark.workflow
@pytest.mark.parametrize("model", ["base", "clean", "addt"])
def test_every_model_is_attacked_in_both_norms_under_eot_and_dwbox(addt_run, model):
    for norm, size in (("linf", lambda d: d.abs().amax(1)), ("l2", lambda d: d.norm(dim=1))):
        for setting in ("eot", "dwbox"):
            stem = addt_run / f"data/adversarial/addt/{model}/{norm}-{setting}-seed0"
            metrics = json.loads(stem.with_suffix(".json").read_text())
            assert metrics["model"] == model and metrics["n"] == 8
            assert metrics["eot_samples"] == (2 if setting == "eot" else 1)
            assert metrics["randomness"] == ("free" if setting == "eot" else "fixed")
            assert 0 <= metrics["acc_robust"] <= 100 and 0 <= metrics["acc_clean"] <= 100
            shard = load_shard(stem.with_suffix(".safetensors"))
            assert len(shard.indices) == 8
            assert metrics["acc_robust"] == pytest.approx(100 * shard.correct.float().mean().item())
            inputs = load_file(str(addt_run / "data/inputs/eval.safetensors"))["images"][:8]
            delta = (shard.adversarial - inputs).flatten(1)
            assert float(size(delta).max()) <= OVERLAY["evaluate"][norm]["epsilon"] + 1e-5


@pytest.mark.workflow
def test_each_model_has_its_compression_rates(addt_run):
    for model in ("base", "clean", "addt"):
        result = json.loads((addt_run / f"data/measurements/addt/{model}/compression.json").read_text())
        inputs = {r["input"] for r in result["records"]}
        assert "uniform" in inputs and inputs <= {"uniform", "pgd_robust", "pgd_nonrobust"}
        assert all(r["n"] > 0 for r in result["records"])


@pytest.mark.workflow
def test_the_addt_table_sets_our_models_beside_the_papers(addt_run):
    table = (addt_run / "paper/tables/addt.md").read_text()
    for label in ("DDPM", "Clean fine-tune", "ADDT"):
        assert f"| {label}" in table, label
    assert "16.8" in table and "39.16" in table  # ADDT's DW-box numbers beside ours
    results = pd.read_csv(addt_run / "paper/results.csv")
    ours = results[results["artifact"] == "addt"]
    columns = {"clean_eot", "clean_dwbox", "linf_eot", "linf_dwbox", "l2_eot", "l2_dwbox", "compression_uniform"}
    assert columns <= set(ours["column"]) and len(set(ours["row"])) == 3
