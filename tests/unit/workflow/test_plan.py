"""The projected bill: evaluation counts by hand, FLOPs of a known network, and the same jobs as the workflow."""

import subprocess
import sys

import pytest
import torch
import yaml
from snakemake.utils import validate

from diffrob.workflow.checks import merged_config
from diffrob.workflow.costs import Workload, measure_network
from diffrob.workflow.design import Point
from diffrob.workflow.plan import bill, rule_evaluations
from tests.helpers import ROOT, environment, snakemake


def _config(*overlays: str) -> dict:
    layers = [yaml.safe_load((ROOT / name).read_text()) for name in ("config.yaml", *overlays)]
    return merged_config(layers, ROOT / "config/schema.yaml")


def test_attack_evaluations_follow_the_chain_the_steps_k_and_the_chunk_recomputation():
    work = Workload(
        n_eval=12, steps=2, batch=8, eot=2, chain_chunk=8, jacobian_rows=64, reverse_steps=2, trajectory_chunk=8
    )
    point = Point("ddpm", 20)
    # PGD: 2 steps x (4 evaluations per reverse step x 2 steps) + foolbox's closing check's 2 + the test's 2.
    assert work.attack_evals(point, "pgd") == (12 * (2 * 8 + 2 + 2), 12 * (2 * 3 + 1 + 1))
    # PGD-EOT: 8 images x K = 2 > chunk 8, so each step recomputes the chain once more: 2 x 2 x (8 + 2); the
    # closing check takes K = 2 draws of 2 steps, the test one.
    assert work.attack_evals(point, "pgd_eot") == (12 * (2 * 2 * 10 + 2 * 2 + 2), 12 * (2 * 2 * 3 + 2 + 1))
    assert work.attack_evals(point, "bpda")[0] == 12 * (2 * 2 + 2 + 2)
    assert work.attack_evals(Point("ddpm", 1), "pgd")[0] == 12 * (2 * 4 + 1 + 1)  # t* = 1: one reverse step


def test_autoattack_is_billed_as_if_every_image_stayed_robust_through_every_attack():
    from diffrob.workflow.costs import autoattack_calls

    settings = {"n_iter": 10, "n_target_classes": 3, "n_queries": 50}
    # APGD-CE 11 gradients, APGD-T 3 x 11; each attack 9 forwards of checks and accuracies; the clean pass
    assert autoattack_calls({**settings, "attacks": ["apgd-ce", "apgd-t"]}, 10) == (11 + 33, 18 + 1)
    # FAB-T 3 x 11 gradients and 3 x 10 forwards; Square 51 forwards; untargeted FAB a gradient per class
    assert autoattack_calls({**settings, "attacks": ["fab-t", "square"]}, 10) == (33, 30 + 51 + 18 + 1)
    assert autoattack_calls({**settings, "attacks": ["fab"]}, 1000) == (1000 * 11, 10 + 9 + 1)
    work = Workload(
        n_eval=12,
        steps=2,
        batch=8,
        eot=2,
        chain_chunk=8,
        jacobian_rows=64,
        reverse_steps=2,
        trajectory_chunk=8,
        autoattack=(44, 19),
    )
    # each gradient 4 evaluations per reverse step x 2 steps, each forward 2; the classifier 3 per gradient
    assert work.attack_evals(Point("ddpm", 20), "autoattack") == (12 * (44 * 8 + 19 * 2), 12 * (44 * 3 + 19))


def test_without_step_checkpointing_a_gradient_step_costs_less_and_holds_every_steps_activations():
    from dataclasses import replace

    from diffrob.workflow.costs import NetworkCost
    from diffrob.workflow.plan import peak_bytes

    work = Workload(
        n_eval=12, steps=2, batch=8, eot=1, chain_chunk=8, jacobian_rows=64, reverse_steps=5, trajectory_chunk=8
    )
    plain = replace(work, checkpoint_steps=False)
    point = Point("ddpm", 20)
    assert plain.attack_evals(point, "pgd")[0] == 12 * (2 * 3 * 5 + 5 + 5) < work.attack_evals(point, "pgd")[0]
    unet, classifier = NetworkCost(1.0, 100, 1000), NetworkCost(1.0, 10, 50)
    checkpointed, held = (peak_bytes("attack", w, unet, classifier, 4) for w in (work, plain))
    assert held - checkpointed == 8 * 4 * 1000  # a chunk of 8 images holds 4 more steps' UNet activations


def test_flops_of_a_linear_layer_are_counted_exactly_on_the_meta_device():
    with torch.device("meta"):
        layer = torch.nn.Linear(64, 10, bias=False)
    cost = measure_network(layer, (torch.zeros((4, 64), device="meta"),))
    assert cost.flops == 2 * 64 * 10
    assert cost.parameter_bytes == 64 * 10 * 4


@pytest.mark.parametrize("with_addt", [False, True], ids=["tiny", "tiny+addt"])
def test_the_bill_has_a_line_for_every_rule_that_computes_with_as_many_jobs_as_the_workflow(tmp_path, with_addt):
    import yaml

    from tests.helpers import ADDT_OVERLAY as OVERLAY

    config = _config(".test/config.yaml")
    if with_addt:
        config["addt"] = OVERLAY
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    jobs = {rule: n for rule, (n, _, _) in rule_evaluations(config).items()}
    assert ("finetune_ddpm" in jobs) == with_addt
    out = subprocess.run(
        snakemake(tmp_path, "-n", "--configfile", str(configfile)),
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    ).stdout
    rows = [line.split() for line in out.splitlines()]
    planned = {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit()}
    for rule, n in jobs.items():
        assert planned.get(rule) == n, (rule, n, planned.get(rule))
    assert all(r.flops > 0 for r in bill(config) if r.unet_evals or r.classifier_evals)


@pytest.mark.parametrize("profile", ["config/cifar10.yaml", "config/imagenet.yaml"])
def test_make_plan_prints_the_bill_of_each_profile(profile):
    out = subprocess.run(
        [sys.executable, "scripts/plan.py", profile, "--gflops", "50000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    ).stdout
    lines = out.splitlines()
    total = next(line for line in lines if line.split()[0] == "total")
    assert float(total.split()[5]) > 1.0  # hours: a paper-scale reproduction is GPU-hours, not seconds
    assert "Hours at 5e+04 GFLOP/s" in out


def test_cluster_runtime_follows_each_jobs_projected_work_unless_the_table_fixes_it():
    from diffrob.workflow.costs import NetworkCost
    from diffrob.workflow.plan import runtime_minutes
    from diffrob.workflow.resources import job_resources, projects_runtime

    config = _config("config/cifar10.yaml")
    costs = (NetworkCost(12.4e9, 0, 0), NetworkCost(10.5e9, 0, 0))
    shard = {"sampler": "ddpm", "attack": "pgd", "randomness": "fixed", "seed": "0"}
    minutes = {t: runtime_minutes(config, "attack", {**shard, "t": str(t)}, 44000, costs) for t in (20, 100, 300)}
    assert minutes[20] < minutes[100] < minutes[300]
    # PGD-40 on 1000 images through 100 steps (batch 100 fits the chunk of 250): per image 40 x 400 + 100 + 100
    # UNet and 40 x 3 + 1 + 1 classifier evaluations (the steps, foolbox's closing check, the test); then the
    # shard's accuracies under a fresh and the partner seed's xi (2 x 100 UNet, 2 classifier evaluations); at
    # 44 TFLOP/s, x 1.5, + 10 minutes.
    flops = 1000 * (40 * 400 + 200 + 200) * 12.4e9 + 1000 * (40 * 3 + 2 + 2) * 10.5e9
    assert minutes[100] == int(flops / 44e12 / 60 * 1.5) + 10
    assert projects_runtime(config, "attack") and job_resources(config, "attack")["mem_mb"] == 32000
    config["resources"]["attack"]["runtime"] = 90
    assert not projects_runtime(config, "attack") and job_resources(config, "attack")["runtime"] == 90
    bad = _config()
    bad["resources"] = {"atack": {"mem_mb": 1}}
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match="atack"):
        validate(bad, str(ROOT / "config/schema.yaml"))


def test_a_fine_tune_holds_five_copies_of_the_unets_weights_and_one_batch():
    from dataclasses import replace

    from diffrob.workflow.costs import NetworkCost
    from diffrob.workflow.plan import chunk_of, peak_bytes

    work = Workload(
        n_eval=12, steps=2, batch=8, eot=1, chain_chunk=8, jacobian_rows=64, reverse_steps=5, trajectory_chunk=8
    )
    tuned = replace(work, finetune_batch=16)
    unet, classifier = NetworkCost(1.0, 100, 1000), NetworkCost(1.0, 10, 50)
    assert chunk_of("finetune_ddpm", tuned) == 16 and chunk_of("attack", tuned) == 8
    assert peak_bytes("finetune_ddpm", tuned, unet, classifier, 4) == 5 * 100 + 10 + 16 * (1000 + 50 + 4 * 4)
