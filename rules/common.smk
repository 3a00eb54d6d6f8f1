# Validation before any job, and the helpers that name every file of the flow.
from snakemake.utils import validate

from diffrob.settings import ConfigError, check_consistency

validate(config, schema="../config/schema.yaml")
try:
    check_consistency(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None

SEEDS = config["purification"]["seeds"]
SAMPLERS = config["purification"]["samplers"]
T_STAR = config["purification"]["t_star"]
ATTACK = config["attack"]["name"]
RANDOMNESS = config["attack"]["randomness"]


wildcard_constraints:
    sampler="|".join(["ddpm", "reverse", "ddim"]),
    t=r"\d+",
    seed=r"\d+",
    attack=r"[a-z_]+",
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


def shard_paths(kind, sampler, t_star, attack=ATTACK):
    """Every (randomness, seed) shard of a (sampler, t*, attack) as data/{kind}/... paths."""
    ext = "safetensors" if kind == "adversarial" else "json"
    return expand(
        f"data/{kind}/{sampler}-t{t_star}/{attack}-{{randomness}}-seed{{seed}}.{ext}",
        randomness=RANDOMNESS,
        seed=SEEDS,
    )
