"""The projected bill of a configuration, before anyone spends it: network evaluations, FLOPs, time, memory.

Per rule of the workflow, from the experiment design (:mod:`diffrob.workflow.design`) and the settings:

* UNet and classifier evaluations, counted per image as the code runs them. A full-gradient attack
  step costs each reverse step 4 UNet evaluations (forward, the checkpoint's recomputation, and a
  backward of about twice a forward; 3 without checkpointing), plus one more forward when an attack
  batch times K exceeds ``purification.chunks.chain`` (the chunked expectation recomputes each chunk);
  a BPDA step costs 1. A classifier gradient costs 3 evaluations. The Jacobian takes one backward pass per row.
* FLOPs: the evaluations times the FLOPs of one evaluation of each network, counted by
  ``FlopCounterMode`` on one forward pass of the configuration's real architectures, built on the
  ``meta`` device (no weights, no compute).
* Wall time: FLOPs over a rate in GFLOP/s, the one ``make bench`` measured on the device or a named one.
* Peak memory: parameters plus, per image in a chunk, the activations a gradient step saves (counted
  on the meta device; an upper bound, as tensors saved by several operations count once each; every
  reverse step's without checkpointing) and the chain's checkpointed states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from diffrob.workflow.checks import training_images
from diffrob.workflow.costs import (
    CLASSIFIER_GRADIENT_EVALS,
    NetworkCost,
    RuleBill,
    Workload,
    image_shape,
    network_costs,
)
from diffrob.workflow.design import Design, Point
from diffrob.workflow.parameters import screened_purifiers
from diffrob.workflow.resources import job_gpus


@dataclass(frozen=True)
class Job:
    """One job of the workflow: its rule, its wildcards (as the rule names them) and its evaluations."""

    rule: str
    wildcards: tuple[tuple[str, str], ...]
    unet_evals: float
    classifier_evals: float

    def flops(self, unet: NetworkCost, classifier: NetworkCost) -> float:
        """The job's FLOPs."""
        return self.unet_evals * unet.flops + self.classifier_evals * classifier.flops


def _point(point: Point, **more: Any) -> tuple[tuple[str, str], ...]:
    return (("sampler", point.sampler), ("t", str(point.t_star)), *((k, str(v)) for k, v in more.items()))


def jobs(config: Mapping[str, Any]) -> list[Job]:
    """Every job that computes, with the UNet and classifier evaluations it makes."""
    design, work = Design.from_config(config), Workload.from_config(config)
    measure = config["measure"]
    n = work.n_eval
    out: list[Job] = []
    for key in design.shards():
        wildcards = _point(key.point, attack=key.attack, randomness=key.randomness, seed=key.seed)
        unet, classifier = work.attack_evals(key.point, key.attack)
        tests = 1 + (design.transfer_partner(key) is not None)  # the shard's accuracies: fresh xi, partner's xi
        out.append(Job("attack", wildcards, unet + tests * n * work.chain(key.point), classifier + tests * n))
    for point in design.clean_points():
        for seed in design.seeds_at(point):
            out.append(Job("purify_clean", _point(point, seed=seed), 2 * n * work.chain(point), 2 * n))
    channels, side, _ = image_shape(config)
    rows = channels * (measure.get("jacobian_patch") or side) ** 2
    for point in design.main_depth_points():
        inputs = len(design.trajectory_inputs(point)) + len(measure["uniform_epsilons"])
        out.append(Job("trajectories", _point(point), inputs * n * work.chain(point), 0))
        shards = len(design.fixed_shards(point))
        if shards:
            out.append(Job("table1_distances", _point(point), shards * n * work.chain(point), (2 * shards + 1) * n))
        jacobian = measure["jacobian_images"] * rows * work.gradient_step_evals * work.chain(point)
        out.append(Job("jacobian", _point(point), jacobian, 0))
    for point in design.compression_points():
        evals = (2 * len(design.compression_seeds(point)) + len(design.fixed_shards(point))) * n * work.chain(point)
        out.append(Job("compression", _point(point), evals, 0))
    alignment = design.alignment_shard()
    if alignment is not None:  # the K-draw EOT gradient and the test system's gradient at every image
        draws = (work.eot if alignment.attack.endswith("_eot") else 1) + 1
        unet_evals = n * draws * work.gradient_step_evals * work.chain(design.main)
        out.append(Job("gradient_alignment", _point(design.main), unet_evals, n * draws * CLASSIFIER_GRADIENT_EVALS))
    convergence = design.convergence_shard()
    if convergence is not None:  # one run of the longest budget, foolbox's closing check and a test per budget
        budgets = design.convergence_steps
        unet, classifier = replace(work, steps=max(budgets)).attack_evals(convergence.point, convergence.attack)
        more = (len(budgets) - 1) * n
        out.append(Job("convergence", _point(design.main), unet + more * work.chain(design.main), classifier + more))
    r = measure["randomness"]
    evals = r["n_images"] * r["n_perturbations"] * r["n_seeds"] * work.chain(design.main)
    out.append(Job("randomness", _point(design.main), evals, 0))
    pgd = n * (work.steps * CLASSIFIER_GRADIENT_EVALS + 2)
    out.append(Job("classifier_metrics", (), 0, pgd))
    out.append(Job("base_classifier", (), 0, len(measure["base_classifier_scales"]) * pgd))
    draws = int(measure.get("n_evaluation", {}).get("draws", 0))
    for key in design.free_sets() if draws else ():  # each adversarial image purified and classified N times
        wildcards = _point(key.point, attack=key.attack, randomness=key.randomness, seed=key.seed)
        out.append(Job("n_evaluation", wildcards, draws * n * work.chain(key.point), draws * n))
    seeds = len((config.get("screen") or {}).get("seeds") or [0])
    for name, entry in screened_purifiers(config)[0].items():  # clean and noisy inputs, per seed
        point = Point(entry["sampler"], int(entry["t_star"])) if "sampler" in entry else None
        unet = 0 if point is None else 2 * seeds * n * work.chain(point)
        out.append(Job("screen", (("name", name),), unet, n))
    return out + addt_jobs(config, design, work)


FINETUNE_PARAMETER_COPIES = 5  # the UNet's weights, their gradients, AdamW's two moment buffers, the EMA weights


# UNet and classifier evaluations per training image and step of each fine-tune: the update is a forward and a
# backward (3); each CGPO or pixel-PGD step is a UNet forward and backward, and (guided) a classifier's.
FINETUNE_EVALS = {
    "clean": lambda k: (3, 0),
    "addt": lambda k: (3 * k + 3, 3 * k),
    "addt_no_rbgm": lambda k: (3 * k + 3, 3 * k),
    "addt_no_guidance": lambda k: (3 * k + 3, 0),
}


def addt_jobs(config: Mapping[str, Any], design: Design, work: Workload) -> list[Job]:
    """ADDT's jobs (config ``addt``): each fine-tune, each model's attacks under EOT and DW-box with their clean
    test, and each model's compression rates."""
    addt = config.get("addt")
    if not addt:
        return []
    tune, evaluate = addt["finetune"], addt["evaluate"]
    out = []
    for mode in addt["models"]:
        unet, classifier = FINETUNE_EVALS[mode](int(tune.get("cgpo_steps", 5)))
        images = int(tune["steps"]) * int(tune["batch_size"])
        out.append(Job("finetune_ddpm", (("mode", mode),), images * unet, images * classifier))
    n, chain, steps = int(evaluate["n_images"]), work.chain(design.main), int(evaluate["steps"])
    batch = min(int(evaluate["batch_size"]), n)
    for model in ("base", *addt["models"]):
        for setting, k in (("eot", int(evaluate["eot_samples"])), ("dwbox", 1)):
            recompute = chain if batch * k > work.chain_chunk else 0
            # every step's gradient, foolbox's closing check (K draws), the test and the clean test (one each)
            unet = n * (steps * k * (work.gradient_step_evals * chain + recompute) + (k + 2) * chain)
            classifier = n * (steps * k * CLASSIFIER_GRADIENT_EVALS + k + 2)
            for norm in ("linf", "l2"):
                for seed in evaluate["seeds"]:
                    wildcards = (("model", model), ("norm", norm), ("setting", setting), ("seed", str(seed)))
                    out.append(Job("addt_attack", wildcards, unet, classifier))
        evals = (2 * len(evaluate["seeds"]) + len(evaluate["seeds"])) * n * chain  # clean and uniform per seed, shards
        out.append(Job("addt_compression", (("model", model),), evals, 0))
        draws = int(config["measure"].get("n_evaluation", {}).get("draws", 0))
        for norm in ("linf", "l2") if draws else ():  # the EOT sets under N draws
            for seed in evaluate["seeds"]:
                wildcards = (("model", model), ("norm", norm), ("setting", "eot"), ("seed", str(seed)))
                out.append(Job("addt_n_evaluation", wildcards, draws * n * chain, draws * n))
    return out


def rule_evaluations(config: Mapping[str, Any]) -> dict[str, tuple[int, float, float]]:
    """Per rule: (jobs, UNet evaluations, classifier evaluations) of the whole configuration."""
    out: dict[str, list[float]] = {}
    for job in jobs(config):
        entry = out.setdefault(job.rule, [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += job.unet_evals
        entry[2] += job.classifier_evals
    return {rule: (int(v[0]), v[1], v[2]) for rule, v in out.items()}


def runtime_minutes(
    config: Mapping[str, Any],
    rule: str,
    wildcards: Mapping[str, str],
    gflops: float,
    costs: tuple[NetworkCost, NetworkCost],
    margin: float = 1.5,
) -> int:
    """Wall time (minutes) to ask for one job: its projected time at ``gflops`` on each of its GPUs (a
    data-parallel job's work is shared by ``resources.<rule>.gpus``), times ``margin``, plus 10 minutes.

    The job is found by its rule and wildcards; a rule without a planned job gets 10 minutes.
    """
    wanted = {k: str(v) for k, v in wildcards.items()}
    flops = max(
        (
            job.flops(*costs)
            for job in jobs(config)
            if job.rule == rule and dict(job.wildcards).items() <= wanted.items()
        ),
        default=0.0,
    )
    return int(flops / (gflops * 1e9 * job_gpus(config, rule)) / 60 * margin) + 10


CLASSIFIER_RULES = ("classifier_metrics", "base_classifier")


def chunk_of(rule: str, work: Workload) -> int:
    """How many images (or Jacobian rows) one job of ``rule`` holds in memory at once."""
    if rule == "jacobian":
        return work.jacobian_rows
    if rule == "trajectories":
        return work.trajectory_chunk
    if rule in CLASSIFIER_RULES:
        return min(work.batch, work.n_eval)
    if rule == "finetune_ddpm":
        return work.finetune_batch
    return work.chain_chunk


def bounding_setting(rule: str, config: Mapping[str, Any]) -> str:
    """The setting that bounds the memory of a rule's jobs, as ``key = value`` (empty for unchunked rules)."""
    chunks = config["purification"]["chunks"]
    if rule == "jacobian":
        return f"purification.chunks.jacobian_rows = {chunks['jacobian_rows']}"
    if rule == "trajectories":
        return f"purification.chunks.trajectory = {chunks['trajectory']}"
    if rule in CLASSIFIER_RULES:
        return f"attack.batch_size = {config['attack']['batch_size']}"
    if rule == "finetune_ddpm":
        return f"addt.finetune.batch_size = {config['addt']['finetune']['batch_size']}"
    if rule in rule_evaluations(config):
        return f"purification.chunks.chain = {chunks['chain']}"
    return ""


def peak_bytes(rule: str, work: Workload, unet: NetworkCost, classifier: NetworkCost, image_bytes: int) -> int:
    """Projected peak memory of one job of ``rule``: parameters plus one chunk's gradient activations and states."""
    chunk = chunk_of(rule, work)
    if rule in CLASSIFIER_RULES:  # PGD on the classifier alone, attack batches
        return classifier.parameter_bytes + chunk * (classifier.activation_bytes + image_bytes)
    if rule == "finetune_ddpm":  # weights, gradients, AdamW's two moments, the EMA copy; one batch's activations
        per_image = unet.activation_bytes + classifier.activation_bytes + 4 * image_bytes
        return FINETUNE_PARAMETER_COPIES * unet.parameter_bytes + classifier.parameter_bytes + chunk * per_image
    steps_held = 1 if work.checkpoint_steps else work.reverse_steps  # activations of one step, or of every step
    unet_bytes = steps_held * unet.activation_bytes
    per_image = unet_bytes + classifier.activation_bytes + (work.reverse_steps + 2) * image_bytes
    return unet.parameter_bytes + classifier.parameter_bytes + chunk * per_image


RESIDENT_ALLOWANCE = 256 * 2**20
"""Run-to-run variation of one job's measured resident peak: the CIFAR-10 rehearsal's ``classifier_metrics``
peaked at 1029 MiB run alone and at 1300 MiB in the full run beside other jobs (the allocator's arenas and
shared-library pages), with the same inputs and settings."""


def process_peak_bound(
    rule: str,
    config: Mapping[str, Any],
    costs: tuple[NetworkCost, NetworkCost],
    baseline_bytes: int,
    extra_network: NetworkCost | None = None,
) -> int:
    """Bound on the resident memory of one CPU job of ``rule``: the interpreter's ``baseline_bytes``, each
    loaded network's weights twice (the file's tensors and the module's while loading; three times in the
    import rules, which also serialise them), the chunk's activations as :func:`peak_bytes` counts them,
    ``extra_network`` (Table 1's Inception) likewise, the training images three times in a fine-tune (the
    batches being joined, the joined set, its [-1, 1] copy), and :data:`RESIDENT_ALLOWANCE`."""
    unet, classifier = costs
    work = Workload.from_config(config)
    channels, side, _ = image_shape(config)
    image_bytes = 4 * channels * side * side
    eval_set = 2 * work.n_eval * image_bytes  # the evaluation images and one working copy
    base = baseline_bytes + RESIDENT_ALLOWANCE
    if rule == "import_classifier":
        return base + 3 * classifier.parameter_bytes
    if rule == "import_diffusion":
        return base + 3 * unet.parameter_bytes
    if rule not in rule_evaluations(config):
        return base + eval_set
    bound = base + eval_set + peak_bytes(rule, work, unet, classifier, image_bytes)
    bound += classifier.parameter_bytes + (0 if rule in CLASSIFIER_RULES else unet.parameter_bytes)
    if rule == "finetune_ddpm":
        bound += 3 * training_images(config) * image_bytes
    if extra_network is not None:
        bound += 2 * extra_network.parameter_bytes + chunk_of(rule, work) * extra_network.activation_bytes
    return bound


def bill(config: Mapping[str, Any], costs: tuple[NetworkCost, NetworkCost] | None = None) -> list[RuleBill]:
    """The per-rule bill of a validated configuration (``costs``: measured on its architectures when None)."""
    unet, classifier = costs or network_costs(config)
    work = Workload.from_config(config)
    channels, side, _ = image_shape(config)
    image_bytes = 4 * channels * side * side
    rows = []
    for rule, (jobs, unet_evals, classifier_evals) in rule_evaluations(config).items():
        flops = unet_evals * unet.flops + classifier_evals * classifier.flops
        rows.append(
            RuleBill(
                rule, jobs, unet_evals, classifier_evals, flops, peak_bytes(rule, work, unet, classifier, image_bytes)
            )
        )
    return rows


def measured_rate(benchmarks_csv: str) -> tuple[float, str] | None:
    """(GFLOP/s, device) of the CIFAR-10 full-gradient attack step ``make bench`` measured, if it ran."""
    from pathlib import Path

    import pandas as pd

    if not Path(benchmarks_csv).is_file():
        return None
    frame = pd.read_csv(benchmarks_csv)
    rows = frame[
        (frame["subject"] == "cifar10") & (frame["stage"] == "attack_step") & frame["method"].str.startswith("ours")
    ]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return float(row["achieved_gflops"]), str(row.get("device", "the benchmarked device"))


def bill_table(rows: list[RuleBill], gflops: float | None) -> Any:
    """The bill as a table (pandas), one line per rule and a total; hours only when a rate is given."""
    import pandas as pd

    records = [
        {
            "rule": r.rule,
            "jobs": r.jobs,
            "UNet evals": f"{r.unet_evals:.3g}",
            "classifier evals": f"{r.classifier_evals:.3g}",
            "PFLOP": r.flops / 1e15,
            "hours": r.hours(gflops) if gflops else float("nan"),
            "peak GiB (bound)": r.peak_bytes / 2**30,
        }
        for r in rows
    ]
    total = {
        "rule": "total",
        "jobs": sum(r.jobs for r in rows),
        "UNet evals": f"{sum(r.unet_evals for r in rows):.3g}",
        "classifier evals": f"{sum(r.classifier_evals for r in rows):.3g}",
        "PFLOP": sum(r.flops for r in rows) / 1e15,
        "hours": sum(r.hours(gflops) for r in rows) if gflops else float("nan"),
        "peak GiB (bound)": max(r.peak_bytes for r in rows) / 2**30,
    }
    return pd.DataFrame([*records, total])
