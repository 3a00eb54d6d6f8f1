"""The CIFAR-10 profile rehearsed end to end (make rehearse-cifar10): every rule, downloads included, from
file:// stand-ins in each source's format, on the real architectures with the counts shrunk; then DVC
versions the profile's run folder (runs/, a DVC project of its own) with a push / delete / pull round trip."""

import json
import math
import sys

import pandas as pd
import pytest
import yaml
from safetensors import safe_open

from diffrob.io import sha256_file
from tests.helpers import FAST, ROOT, dvc_round_trip, run, scratch_repository

EVERY_RULE = {
    "download_cifar10", "prepare_inputs", "download_classifier", "import_classifier", "download_diffusion",
    "import_diffusion", "download_inception", "classifier_metrics", "purify_clean", "attack", "trajectories",
    "table1_distances", "randomness", "jacobian", "compression", "correlations", "gradient_alignment",
    "base_classifier", "fit_sigmoid", "results", "table2", "table", "run_macros", "figure", "report", "build_info",
    "metrics_summary", "finetune_ddpm", "addt_attack", "addt_compression", "addt_summary", "paired_comparisons",
    "n_evaluation", "addt_n_evaluation", "screen", "convergence",
}  # fmt: skip
CACHED = ["data/inputs", "data/models", "data/adversarial", "data/measurements", "paper/results.csv", "paper/tables"]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    repo = scratch_repository(tmp_path_factory.mktemp("rehearsal"), config=ROOT / "config.yaml")
    command = [sys.executable, "scripts/rehearse.py", "config/cifar10.yaml", "config/rehearsal/cifar10.yaml"]
    # single-threaded jobs, two at a time (as the other workflow tests): a two-thread job beside the other test
    # worker's jobs oversubscribes the 2 cores, and OpenMP's waiting threads then spin away much of the time
    options = ["--cores", "2", "--gpus", "2", "--", "--max-threads", "1"]
    result = run([*command, "--directory", "runs/cifar10", *options], repo, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return repo, result.stdout


@pytest.mark.workflow
def test_every_rule_ran_on_full_size_models_and_no_peak_exceeds_its_chunk_bound(rehearsed):
    repo, stdout = rehearsed
    workdir = repo / "runs/cifar10"
    table = pd.read_csv(workdir / "paper/rehearsal.csv")
    assert set(table["rule"]) >= EVERY_RULE, EVERY_RULE - set(table["rule"])
    assert table["within"].all(), table.to_string()
    assert "peak resident memory per rule" in stdout
    for name in ("report.html", "report.md", "results.csv", "omissions.csv", "tables/table2.md"):
        assert (workdir / "paper" / name).is_file(), name
    with safe_open(str(workdir / "data/models/ddpm/diffusion_pytorch_model.safetensors"), "pt") as weights:
        unet_parameters = sum(math.prod(weights.get_slice(k).get_shape()) for k in weights.keys())  # noqa: SIM118
    assert unet_parameters == 35_746_307  # google/ddpm-cifar10-32's UNet
    with safe_open(str(workdir / "data/inputs/eval.safetensors"), "pt") as inputs:
        assert inputs.get_slice("images").get_shape() == [4, 3, 32, 32]
    for mode in ("clean", "addt"):  # fine-tuned on the five training batches, a state saved after step 1
        assert "saved the training state after step 1" in (workdir / f"logs/finetune_ddpm/{mode}.log").read_text()
        assert not (workdir / f"data/partial/finetune/{mode}").exists()  # cleared once the model was saved
    assert (workdir / "paper/tables/addt.md").is_file()
    for seed in (0, 1):  # standard AutoAttack's four attacks under fixed xi, counts shrunk, on every seed
        shard = json.loads((workdir / f"data/adversarial/ddpm-t100/autoattack-fixed-seed{seed}.json").read_text())
        assert shard["attacks"] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert json.loads((workdir / "data/measurements/ddpm-t100/convergence.json").read_text())["reproduces_shard"]


@pytest.mark.workflow
def test_snakemakes_report_builds_on_the_profile_run(rehearsed):
    repo, _ = rehearsed
    html = (repo / "runs/cifar10/paper/snakemake-report.html").read_text()
    for category in ("0 Claims", "4 Compression (Sec. 5)", "5 ADDT"):
        assert category in html, category
    assert "fig3b_sigmoid.png" in html and "n_evaluation.csv" in html and "addt.csv" in html


@pytest.mark.workflow
def test_the_downloads_read_the_file_stand_ins_and_keep_their_digests(rehearsed):
    repo, _ = rehearsed
    workdir = repo / "runs/cifar10"
    sources = yaml.safe_load((workdir / "sources.yaml").read_text())
    hub = workdir / "data/checkpoints/hub/google--ddpm-cifar10-32/diffusion_pytorch_model.safetensors"
    assert sha256_file(hub) == sources["diffusion"]["hub"]["sha256"]
    classifier = workdir / "data/checkpoints/robustbench/cifar10/Linf/Standard.pt"
    assert sha256_file(classifier) == sources["classifier"]["robustbench"]["sha256"]
    table1 = json.loads((workdir / "data/measurements/ddpm-t100/table1.json").read_text())
    assert (table1["fid_features"], table1["fid_dims"]) == ("inception", 768)


@pytest.mark.workflow
def test_dvc_versions_the_profile_run_with_a_push_pull_round_trip(rehearsed, tmp_path):
    repo, _ = rehearsed
    profiles = {"profiles": {"cifar10": {
        "profile": "config/cifar10.yaml",
        "configs": "../../config.yaml ../../config/cifar10.yaml ../../config/rehearsal/cifar10.yaml sources.yaml",
    }}}  # fmt: skip
    runs = repo / "runs"
    (runs / "profiles.yaml").write_text(yaml.safe_dump(profiles))
    (runs / "dvc.yaml").write_text((runs / "dvc.yaml").read_text().replace("--cores all --resources gpu=1", FAST))
    result = run(["dvc", "repro"], runs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lock = yaml.safe_load((runs / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"models@cifar10", "attacks@cifar10", "measurements@cifar10", "paper@cifar10"}
    # models, attacks and measurements (persisted outputs) were current; DVC removes the paper stage's
    # outputs before running it, so that stage remakes them
    assert "Nothing to be done" in result.stdout + result.stderr
    assert not (repo / "dvc.lock").exists()  # the default's project never ran the profile's stages

    dvc_round_trip(runs, runs / "cifar10", CACHED, tmp_path / "store")
    status = run(["dvc", "status"], runs)
    assert "Data and pipelines are up to date" in status.stdout, status.stdout
