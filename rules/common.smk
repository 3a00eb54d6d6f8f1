# Validation before any job, and the helpers that name every file of the flow.
from pathlib import Path

from snakemake.utils import validate

from diffrob.settings import ConfigError, check_consistency

validate(config, schema="../config/schema.yaml", set_default=True)
try:
    check_consistency(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

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
SEEDS = config["purification"]["seeds"]
SAMPLERS = config["purification"]["samplers"]
MAIN = SAMPLERS[0]
T_STAR = config["purification"]["t_star"]
RANDOMNESS = config["attack"]["randomness"]
SWEEP = config["sweep"]


wildcard_constraints:
    sampler="ddpm|reverse|ddim",
    t=r"\d+",
    seed=r"\d+",
    attack="pgd|pgd_eot|bpda|bpda_eot",
    randomness="fixed|free",


def chain_params(wildcards):
    """Purifier settings of a (sampler, t*) pair."""
    p = config["purification"]
    return {
        "sampler": wildcards.sampler,
        "t_star": int(wildcards.t),
        "reverse_steps": min(int(p["reverse_steps"]), int(wildcards.t)),
        "keying": p["keying"],
        "batch_size": p["batch_size"],
    }


def fixed_seeds(sampler, t):
    """Base seeds with a fixed-randomness PGD shard at (sampler, t*)."""
    seeds = set()
    if "fixed" in RANDOMNESS and sampler in SAMPLERS and int(t) == T_STAR:
        seeds |= set(SEEDS)
    if sampler in SWEEP["samplers"] and int(t) in SWEEP["t_star"]:
        seeds |= set(SWEEP["seeds"])
    return sorted(seeds)


def points():
    """Every (sampler, t*) with fixed-randomness PGD shards: one point of the sigmoid (Fig. 3b)."""
    pairs = {(s, T_STAR) for s in SAMPLERS} | {(s, t) for s in SWEEP["samplers"] for t in SWEEP["t_star"]}
    return sorted(p for p in pairs if fixed_seeds(*p))


def shard(kind, sampler, t, attack, randomness, seed):
    """The file of one shard: kind 'adversarial' (safetensors) or 'metrics' (json)."""
    ext = "safetensors" if kind == "adversarial" else "json"
    return f"data/{kind}/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.{ext}"


def all_shards(kind):
    """Every attack shard of the configuration."""
    paths = [shard(kind, s, t, MAIN_ATTACK, "fixed", seed) for s, t in points() for seed in fixed_seeds(s, t)]
    if "free" in RANDOMNESS:
        paths += [shard(kind, MAIN, T_STAR, MAIN_ATTACK, "free", seed) for seed in SEEDS]
    extra = config["attack"]["extra"]
    paths += [shard(kind, MAIN, T_STAR, a, "free", seed) for a in extra for seed in config["attack"]["extra_seeds"]]
    return paths


def fixed_shards(wildcards):
    """The fixed-randomness PGD shards of a (sampler, t*)."""
    return [shard("adversarial", wildcards.sampler, wildcards.t, MAIN_ATTACK, "fixed", s) for s in fixed_seeds(wildcards.sampler, wildcards.t)]


def purified_files():
    """Clean accuracy after purification for every point and its seeds."""
    return [f"data/purified/{s}-t{t}/seed{seed}.json" for s, t in points() for seed in fixed_seeds(s, t)]


def measurement(name, sampler=MAIN, t=T_STAR):
    """A measurement file of a (sampler, t*)."""
    return f"data/measurements/{sampler}-t{t}/{name}.json"


def all_measurements():
    """Every measurement file the paper needs."""
    files = [measurement("trajectories", s) for s in SAMPLERS]
    files += [measurement("table1", s) for s in SAMPLERS]
    files += [measurement("jacobian", s) for s in SAMPLERS]
    files += [measurement("compression", s, t) for s, t in points()]
    files += [measurement("randomness"), measurement("correlations"), "data/measurements/base_classifier.json"]
    return files
