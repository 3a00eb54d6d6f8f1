# Validation before any job, and the helpers that name every file of the flow.
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from diffrob.workflow.design import Design, Point, ShardKey
from diffrob.workflow.omissions import design_omissions
from diffrob.models.hub import hub_folder_name
from diffrob.models.inception import fid_weights_url
from diffrob.io import remove_stale_temporaries, try_exclusive_lock
from diffrob.data import CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES
from diffrob.workflow.checks import ConfigError, check_consistency
from diffrob.workflow.resources import job_gpus as _job_gpus
from diffrob.workflow.resources import job_resources as _job_resources
from diffrob.workflow.resources import projects_runtime
from diffrob.workflow.parameters import chain_settings, finetune_settings, protocol_settings, screened_purifiers

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

# Each job's software: the environment of .venv, as a conda environment (`--software-deployment-method conda`).
CONDA_ENV = "../envs/diffrob.yaml"

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
        diffusion = f"data/checkpoints/hub/{hub_folder_name(config['diffusion']['hub']['repo_id'])}"
    elif DIFFUSION_SOURCE == "guided":
        diffusion = f"data/checkpoints/guided/{Path(config['diffusion']['guided']['url']).name}"
    return classifier, diffusion


CLASSIFIER_CHECKPOINT, DIFFUSION_CHECKPOINT = checkpoint_paths()
FID = config["measure"]["fid"]
INCEPTION_CHECKPOINT = f"data/checkpoints/fid/{Path(FID['url'] or fid_weights_url()).name}"


def fid_inputs(wildcards):
    """The FID Inception weights, when Table 1's FID uses Inception features."""
    return {"inception": INCEPTION_CHECKPOINT} if FID["features"] == "inception" else {}


# Every shard, point and pairing comes from the design (src/diffrob/workflow/design.py); here they only get file names.
DESIGN = Design.from_config(config)
MAIN = DESIGN.main.sampler
T_STAR = DESIGN.t_star


wildcard_constraints:
    sampler="ddpm|reverse|ddim",
    t=r"\d+",
    seed=r"\d+",
    attack="pgd|pgd_eot|bpda|bpda_eot|autoattack",
    randomness="fixed|free",


_COSTS = []


def _projected_runtime(rule):
    """runtime (minutes) of each job of a rule from the projected bill at resources.gflops (diffrob.workflow.plan)."""
    from diffrob.workflow.costs import network_costs
    from diffrob.workflow.plan import runtime_minutes

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
    """Purifier settings of a (sampler, t*) point (diffrob.workflow.parameters.chain_settings)."""
    return chain_settings(config, point.sampler, point.t_star)


def chain_params(wildcards):
    """Purifier settings of a job's (sampler, t*)."""
    return chain_of(point_of(wildcards))


# The attack section as every job but AutoAttack's sees it: setting attack.autoattack leaves their parameters, and
# so their outputs, as they were.
ATTACK = {k: v for k, v in config["attack"].items() if k != "autoattack"}


def attack_params(wildcards):
    """The attack settings of a shard: with AutoAttack's block for AutoAttack's shards only."""
    return config["attack"] if wildcards.attack == "autoattack" else ATTACK


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


def convergence_autoattack():
    """AutoAttack's shard of the convergence check's seed, whose accuracy after each of its attacks the check
    reports beside PGD's (none without AutoAttack)."""
    key = DESIGN.convergence_shard()
    strongest = [k for k in DESIGN.autoattack_shards(key.point) if k.seed == key.seed] if key else []
    return [shard_file("metrics", k) for k in strongest]


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
    if DESIGN.convergence_shard() is not None:
        files.append(measurement("convergence"))
    return files


# Measurements: the trajectories' inputs, the paired comparisons, the N-evaluation's files.


def trajectory_inputs(wildcards):
    """Adversarial inputs tracked along the chain at a point, named by attack (the design's choice)."""
    return {a: shard_file("adversarial", key) for a, key in DESIGN.trajectory_inputs(point_of(wildcards)).items()}


def paired_comparisons(wildcards=None):
    """Accuracies compared image by image: fixed against free randomness (each base seed attacked under both at
    the main point), ADDT against its clean control (each norm, setting and seed) and the main attack against
    AutoAttack under fixed randomness (each point and seed AutoAttack attacks)."""
    pairs = [
        {
            "comparison": "fixed_vs_free",
            "attack": p.first.attack,
            "seed": p.first.seed,
            "first": shard_file("adversarial", p.first),
            "second": shard_file("adversarial", p.second),
        }
        for p in DESIGN.randomness_pairs()
    ]
    pairs += [
        {
            "comparison": "addt_vs_clean",
            "attack": f"{norm}_{setting}",
            "seed": seed,
            "first": addt_shard("addt", norm, setting, seed),
            "second": addt_shard("clean", norm, setting, seed),
        }
        for norm, setting, seed in DESIGN.addt_comparisons()
    ]
    pairs += [
        {
            "comparison": "attack_vs_autoattack",
            "attack": f"{p.first.attack}_{p.first.point.sampler}_t{p.first.point.t_star}",
            "seed": p.first.seed,
            "first": shard_file("adversarial", p.first),
            "second": shard_file("adversarial", p.second),
        }
        for p in DESIGN.strength_pairs()
    ]
    return pairs


N_DRAWS = config["measure"]["n_evaluation"]["draws"]


def n_evaluation_file(key):
    """The N-evaluation of one free-randomness attack shard."""
    p = key.point
    return f"data/measurements/n_evaluation/{p.sampler}-t{p.t_star}/{key.attack}-{key.randomness}-seed{key.seed}.json"


def n_evaluation_files():
    """Every N-evaluation of the workflow's own attacks (none with measure.n_evaluation.draws = 0)."""
    return [n_evaluation_file(k) for k in DESIGN.free_sets()] if N_DRAWS else []


# diffrob screen for the purifiers of config `screen`: compression alone predicts fixed-randomness robustness through
# the sigmoid fitted above (no attack, no gradient).
SCREEN = config.get("screen") or {}
SCREENED, SCREEN_LEFT_OUT = screened_purifiers(config)  # those naming a fine-tune not made here are left out


def screen_files():
    """The screen of every purifier listed in config `screen` that this configuration can screen."""
    return [f"data/measurements/screen/{name}.json" for name in SCREENED]


def screened(wildcards):
    """The settings of one screened purifier, with the workflow's defaults filled in (model ddpm, its respacing)."""
    entry = dict(SCREENED[wildcards.name])
    if "callable" in entry:
        return entry
    entry.setdefault("model", "ddpm")
    entry["chain"] = chain_settings(config, entry["sampler"], int(entry["t_star"]), entry.get("reverse_steps"))
    return entry


def screened_model(wildcards):
    """The workflow's model folder a screened purifier uses (none for a callable, a hub id or a folder of one's own)."""
    model = SCREENED[wildcards.name].get("model", "ddpm")
    if "callable" in SCREENED[wildcards.name]:
        return []
    if model == "ddpm":
        return ["data/models/ddpm"]
    return [addt_model_dir(model.removeprefix("addt/"))] if model.startswith("addt/") else []


# ADDT (config `addt`; nothing without it): its models, shards and files.
ADDT = config.get("addt")


def addt_model_dir(model):
    """The folder of a model: the workflow's DDPM ('base'), or a fine-tune of it."""
    return "data/models/ddpm" if model == "base" else f"data/models/addt/{model}"


def addt_shard(model, norm, setting, seed, ext="safetensors"):
    """A shard of ADDT's evaluation: its adversarial images (safetensors) or its accuracies (json)."""
    return f"data/adversarial/addt/{model}/{norm}-{setting}-seed{seed}.{ext}"


def addt_models():
    """The models ADDT's evaluation compares: the workflow's DDPM, then the configured fine-tunes."""
    return ["base", *ADDT["models"]] if ADDT else []


def addt_shards(ext):
    """Every shard of ADDT's evaluation (every model, norm, setting and seed)."""
    seeds = ADDT["evaluate"]["seeds"] if ADDT else []
    settings = [(norm, setting) for norm in ("linf", "l2") for setting in ("eot", "dwbox")]
    return [addt_shard(m, n, s, seed, ext) for m in addt_models() for n, s in settings for seed in seeds]


def addt_compression_files():
    """Each model's compression rates."""
    return [f"data/measurements/addt/{m}/compression.json" for m in addt_models()]


def addt_n_evaluation_files():
    """The N-evaluation of each model's EOT sets (none with measure.n_evaluation.draws = 0)."""
    if not ADDT or not config["measure"]["n_evaluation"]["draws"]:
        return []
    seeds = ADDT["evaluate"]["seeds"]
    return [
        f"data/measurements/n_evaluation/addt/{m}/{n}-eot-seed{s}.json"
        for m in addt_models()
        for n in ("linf", "l2")
        for s in seeds
    ]


def addt_files():
    """Every file of ADDT's evaluation: shards, their accuracies, compression rates and the summary (none without
    an addt section)."""
    if not ADDT:
        return []
    return (
        addt_shards("safetensors")
        + addt_shards("json")
        + addt_compression_files()
        + addt_n_evaluation_files()
        + [ADDT_SUMMARY]
    )


ADDT_SUMMARY = "data/measurements/addt/summary.json"
