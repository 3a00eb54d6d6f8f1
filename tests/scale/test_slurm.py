"""SLURM for real: a one-node cluster on localhost runs the tiny workflow's models and its main attack shard
through profiles/slurm (GPU rules both), byte-identical to the local run.

Needs root (the cluster script installs Debian's slurm-wlm and munge when missing and runs the daemons).
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, digests, environment, snakemake

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="a SLURM cluster needs root"),
]
GPU_RULES = [
    "train_ddpm",
    "attack",
    "purify_clean",
    "trajectories",
    "table1_distances",
    "randomness",
    "jacobian",
    "compression",
    "classifier_metrics",
    "base_classifier",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm-state")
    started = subprocess.run(
        [ROOT / "tests" / "scale" / "slurm" / "start-cluster", state], capture_output=True, text=True, timeout=600
    )
    assert started.returncode == 0, started.stdout + started.stderr
    partition = started.stdout.strip().splitlines()[-1].split("=", 1)[1]
    yield partition
    subprocess.run([ROOT / "tests" / "scale" / "slurm" / "stop-cluster", state], capture_output=True, timeout=120)


def _slurm_run(workdir, partition, *extra, env_extra=None, timeout=1500):
    (workdir / "config.yaml").write_text((ROOT / ".test" / "config.yaml").read_text())
    env = {
        **environment(),
        "DIFFROB_SLURM_ACCOUNT": "diffrob",
        "DIFFROB_SLURM_PARTITION": partition,
        **(env_extra or {}),
    }
    # The test node has no GPU: GPU rules ask for none here; everything else is the profile's.
    no_gpu = [f"{rule}:gpu=0" for rule in GPU_RULES]
    args = snakemake(
        workdir,
        "--workflow-profile",
        str(ROOT / "profiles" / "slurm"),
        "--jobs",
        "4",
        "--max-threads",
        "1",
        "--set-resources",
        *no_gpu,
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--seconds-between-status-checks",
        "2",
        *extra,
    )
    started = time.monotonic()
    result = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - started


MAIN_SHARD = "data/adversarial/ddpm-t20/pgd-fixed-seed0.safetensors"


def test_models_and_an_attack_shard_made_on_slurm_match_the_local_run(cluster, tiny_run, tmp_path):
    result, _ = _slurm_run(tmp_path, cluster, "models", MAIN_SHARD)
    assert result.returncode == 0, result.stderr[-4000:]
    log = result.stdout + result.stderr
    assert "submitted with SLURM jobid" in log
    made = ["data/inputs", "data/models", MAIN_SHARD]
    assert digests(tmp_path, made) == digests(tiny_run, made)


def test_a_missing_partition_fails_fast_with_the_schedulers_message(cluster, tmp_path):
    result, seconds = _slurm_run(tmp_path, "no_such_partition", timeout=600)
    assert result.returncode != 0
    assert "invalid partition specified" in result.stderr + result.stdout
    assert seconds < 300


def test_an_unreachable_controller_fails_with_the_schedulers_message(cluster, tmp_path):
    conf = tmp_path / "unreachable.conf"
    conf.write_text(
        Path("/etc/slurm/slurm.conf")
        .read_text()
        .replace("SlurmctldHost=localhost", "SlurmctldHost=localhost\nSlurmctldPort=6999")
    )
    result, seconds = _slurm_run(tmp_path, cluster, env_extra={"SLURM_CONF": str(conf)}, timeout=600)
    assert result.returncode != 0
    assert "Unable to contact slurm controller" in result.stderr + result.stdout
    assert seconds < 300
