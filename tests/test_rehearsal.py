"""The CIFAR-10 profile rehearsed end to end (make rehearse-cifar10): every rule, downloads included, from
file:// stand-ins in each source's format, on the real architectures with the counts shrunk."""

import json
import math
import sys

import pandas as pd
import pytest
import yaml
from safetensors import safe_open

from diffrob.checkpoints import sha256_file
from tests.helpers import ROOT, run, scratch_repository

EVERY_RULE = {
    "download_cifar10", "prepare_inputs", "download_classifier", "import_classifier", "download_diffusion",
    "import_diffusion", "download_inception", "classifier_metrics", "purify_clean", "attack", "measure_shard",
    "trajectories", "table1_distances", "randomness", "jacobian", "compression", "correlations",
    "base_classifier", "fit_sigmoid", "results", "table2", "tables", "figure", "report", "build_info",
    "metrics_summary",
}  # fmt: skip
CACHED = ["data/inputs", "data/models", "data/adversarial", "data/measurements", "paper/results.csv", "paper/tables"]


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    repo = scratch_repository(tmp_path_factory.mktemp("rehearsal"), config=ROOT / "config.yaml")
    command = [sys.executable, "scripts/rehearse.py", "config/cifar10.yaml", "config/rehearsal/cifar10.yaml"]
    result = run([*command, "--directory", "runs/cifar10", "--cores", "2"], repo, timeout=3600)
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
