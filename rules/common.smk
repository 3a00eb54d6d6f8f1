# Validation before any job, and the helpers that name every file of the flow.
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from diffrob.design import Design, Point, ShardKey
from diffrob.checkpoints import fid_weights_url
from diffrob.io import remove_stale_temporaries, try_exclusive_lock
from diffrob.settings import CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES, ConfigError, check_consistency
from diffrob.settings import job_gpus as _job_gpus
from diffrob.settings import job_resources as _job_resources
from diffrob.settings import projects_runtime
from diffrob.settings import screened_purifiers

validate(config, schema="../config/schema.yaml", set_default=True)
try:
    check_consistency(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

# Restarting after a kill -9 is running the same command again. A run of this folder holds an flock on
# .snakemake/diffrob-run.lock, which the kernel releases when the run dies however it dies; when it is free,
# Snakemake's directory locks and the temporaries of interrupted atomic writes are a killed run's
# left-overs and are removed (Snakemake's own --rerun-incomplete, set in the profiles, redoes its jobs).
if workflow.is_main_process:
    RUN_LOCK = try_exclusive_lock(".snakemake/diffrob-run.lock")  # held until this process exits
    if RUN_LOCK is not None:
        stale = sorted(Path(".snakemake/locks").glob("*.lock"))
        for lock in stale:
            lock.unlink()
        stale += remove_stale_temporaries(["data", "paper"])
        if stale:
            logger.warning(f"removed left-overs of an interrupted run: {', '.join(map(str, stale))}")

DATASET = config["dataset"]
CLASSIFIER_SOURCE = config["classifier"]["source"]  # defaults filled in by the schema
DIFFUSION_SOURCE = config["diffusion"]["source"]
MAIN_ATTACK = config["attack"]["main"]
if DATASET == "imagenet" and not Path(config["data"]["folder"]).is_dir():
    raise WorkflowError(
        f"data.folder = {config['data']['folder']}: ImageNet validation folder not found; "
        "give the folder holding <wnid>/<file>.JPEG, e.g. --config 'data={folder: /path/to/val}'"
    )


def checkpoint_paths():
    """Where the pretrained classifier and diffusion model are downloaded (RobustBench's model_dir layout)."""
    classifier = diffusion = None
    if CLASSIFIER_SOURCE == "robustbench":
        rb = config["classifier"]["robustbench"]
        classifier = f"data/checkpoints/robustbench/{rb['dataset']}/{rb['threat_model']}/{rb['name']}.pt"
    if DIFFUSION_SOURCE == "hub":
        diffusion = "data/checkpoints/hub/" + config["diffusion"]["hub"]["repo_id"].replace("/", "--")
    elif DIFFUSION_SOURCE == "guided":
        diffusion = "data/checkpoints/guided/" + Path(config["diffusion"]["guided"]["url"]).name
    return classifier, diffusion


CLASSIFIER_CHECKPOINT, DIFFUSION_CHECKPOINT = checkpoint_paths()
FID = config["measure"]["fid"]
INCEPTION_CHECKPOINT = "data/checkpoints/fid/" + Path(FID["url"] or fid_weights_url()).name


def fid_inputs(wildcards):
    """The FID Inception weights, when Table 1's FID uses Inception features."""
    return {"inception": INCEPTION_CHECKPOINT} if FID["features"] == "inception" else {}
# Every shard, point and pairing comes from the design (src/diffrob/design.py); here they only get file names.
DESIGN = Design.from_config(config)
MAIN = DESIGN.main.sampler
T_STAR = DESIGN.t_star


wildcard_constraints:
    sampler="ddpm|reverse|ddim",
    t=r"\d+",
    seed=r"\d+",
    attack="pgd|pgd_eot|bpda|bpda_eot",
    randomness="fixed|free",


_COSTS = []


def _projected_runtime(rule):
    """runtime (minutes) of each job of a rule from the projected bill at resources.gflops (diffrob.plan)."""
    from diffrob.plan import network_costs, runtime_minutes

    table = config["resources"]

    def runtime(wildcards):
        if not _COSTS:
            _COSTS.append(network_costs(config))
        return runtime_minutes(config, rule, dict(wildcards), table["gflops"], _COSTS[0], table.get("margin", 1.5))

    return runtime


def job_resources(rule):
    """mem_mb and runtime of a rule's jobs from the configuration's resource table (SLURM reads them)."""
    resources = _job_resources(config, rule)
    if projects_runtime(config, rule):
        resources["runtime"] = _projected_runtime(rule)
    return resources


def job_gpus(rule):
    """GPUs per job of a data-parallel rule (resources.<rule>.gpus; 1 by default), at most the GPUs a local run
    was given (--resources gpu=N): on one GPU the fine-tune runs as one process."""
    given = workflow.global_resources.get("gpu")
    given = getattr(given, "value", given)
    wanted = _job_gpus(config, rule)
    return min(wanted, given) if isinstance(given, int) and given > 0 else wanted


# The images ADDT fine-tunes on: the digits' training split, or CIFAR-10's five training batches.
if DATASET == "cifar10":
    TRAINING_SET = [f"{config['data']['folder']}/{batch}" for batch in CIFAR10_TRAIN_BATCHES]
else:
    TRAINING_SET = "data/inputs/train.safetensors"


def point_of(wildcards):
    """The (sampler, t*) point of a job."""
    return Point(wildcards.sampler, int(wildcards.t))


def chain_of(point):
    """Purifier settings of a (sampler, t*) point (diffrob.pipeline.PurifierSpec)."""
    p = config["purification"]
    return {
        "sampler": point.sampler,
        "t_star": point.t_star,
        "reverse_steps": min(int(p["reverse_steps"]), point.t_star),
        "keying": p["keying"],
        "noise_batch": config["attack"]["batch_size"],
        "chunks": p["chunks"],
    }


def chain_params(wildcards):
    """Purifier settings of a job's (sampler, t*)."""
    return chain_of(point_of(wildcards))


def shard_file(kind, key):
    """The file of one shard: kind 'adversarial' (its images, safetensors) or 'metrics' (its accuracies, json),
    side by side in data/adversarial/ (one job writes both)."""
    ext = "safetensors" if kind == "adversarial" else "json"
    p = key.point
    return f"data/adversarial/{p.sampler}-t{p.t_star}/{key.attack}-{key.randomness}-seed{key.seed}.{ext}"


def shard_of(wildcards):
    """The shard key of a job."""
    return ShardKey(point_of(wildcards), wildcards.attack, wildcards.randomness, int(wildcards.seed))


def all_shards(kind):
    """Every attack shard of the configuration."""
    return [shard_file(kind, key) for key in DESIGN.shards()]


def fixed_shards(wildcards):
    """The fixed-randomness main-attack shards of a job's (sampler, t*)."""
    return [shard_file("adversarial", key) for key in DESIGN.fixed_shards(point_of(wildcards))]


def purified_file(point, seed):
    """Clean accuracy after purification at a point under one base seed."""
    return f"data/purified/{point.sampler}-t{point.t_star}/seed{seed}.json"


def purified_files():
    """Clean accuracy after purification for every point that needs it, under each of its seeds."""
    return [purified_file(p, seed) for p in DESIGN.clean_points() for seed in DESIGN.seeds_at(p)]


def measurement(name, point=DESIGN.main):
    """A measurement file of a (sampler, t*) point."""
    return f"data/measurements/{point.sampler}-t{point.t_star}/{name}.json"


def main_depth_measurements(name):
    """A measurement file for every sampler at the main t*, in the configuration's order."""
    return [measurement(name, p) for p in DESIGN.main_depth_points()]


def all_measurements():
    """Every measurement file this configuration produces."""
    files = main_depth_measurements("trajectories") + main_depth_measurements("jacobian")
    files += [measurement("table1", p) for p in DESIGN.main_depth_points() if DESIGN.fixed_seeds(p)]
    files += [measurement("compression", p) for p in DESIGN.compression_points()]
    files += [measurement("randomness"), "data/measurements/base_classifier.json"]
    if DESIGN.correlation_pairs():
        files.append(measurement("correlations"))
    if DESIGN.alignment_shard() is not None:
        files.append(measurement("gradient_alignment"))
    return files
