"""Configurations around a base configuration, drawn by a seeded generator, for the configuration fuzzer.

Each draw changes the knobs a user changes first (seeds, samplers, t*, attacks, randomness, keying,
measurement sizes), sometimes to values the schema or the consistency check must reject, and tags the
configuration with the features it exercises so a small subset can cover them all end to end.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml

from diffrob.workflow.checks import RULES, ConfigError
from diffrob.workflow.design import Design
from diffrob.workflow.omissions import design_omissions

SAMPLERS = ["ddpm", "reverse", "ddim"]
EXTRA_ATTACKS = ["pgd_eot", "bpda", "bpda_eot"]
INVALID_SHARE = 0.08  # per knob: how often it is set to a value that must be rejected
KEY = re.compile(r"\b[a-z_0-9]+(\.[a-z_0-9]+)+\b")


@dataclass
class Draw:
    """One generated configuration and the features it exercises."""

    config: dict[str, Any]
    features: set[str] = field(default_factory=set)


def _subset(rng: random.Random, values: list, minimum: int = 0) -> list:
    return rng.sample(values, rng.randint(minimum, len(values)))


def _bad(rng: random.Random) -> bool:
    return rng.random() < INVALID_SHARE


def _seeds(rng: random.Random, draw: Draw) -> list[int]:
    if _bad(rng):
        return rng.choice([[], [1, 1]])
    seeds = rng.sample(range(10), rng.randint(1, 4))
    draw.features.add("one seed" if len(seeds) == 1 else f"{min(len(seeds), 3)}+ seeds")
    return seeds


def _purification(rng: random.Random, p: dict, draw: Draw) -> None:
    p["seeds"] = _seeds(rng, draw)
    samplers = _subset(rng, SAMPLERS, 1)
    if _bad(rng):
        samplers = rng.choice([[], ["ddpn"]])
    if samplers and samplers[0] != "ddpm":
        draw.features.add(f"main sampler {samplers[0]}")
    p["samplers"] = samplers
    p["t_star"] = rng.choice([0, 1001]) if _bad(rng) else rng.choice([5, 10, 20])
    p["reverse_steps"] = rng.randint(1, 4)
    p["keying"] = rng.choice(["sample", "batch"])
    draw.features.add(f"keying {p['keying']}")
    p["chunks"] = {
        "chain": rng.choice([3, 5, 8, 16]),
        "jacobian_rows": rng.choice([7, 64]),
        "trajectory": rng.choice([3, 16]),
    }


def _attack(rng: random.Random, a: dict, seeds: list[int], draw: Draw, keep_main: bool) -> None:
    a["main"] = a.get("main", "pgd") if keep_main else rng.choice(["pgd", "pgd", "pgd", "bpda"])
    draw.features.add(f"main attack {a['main']}")
    a["randomness"] = rng.choice([["fixed"], ["free"], ["fixed", "free"], ["free", "fixed"]])
    draw.features.add("randomness " + "+".join(sorted(a["randomness"])))
    extra = _subset(rng, [x for x in EXTRA_ATTACKS if x != a["main"]])
    if _bad(rng):
        extra.append(a["main"])
    a["extra"] = extra
    draw.features.add("no extra" if not extra else f"{len(extra)} extra")
    if _bad(rng):
        a["extra_seeds"] = rng.choice([[], [99]])
    elif extra and seeds:
        a["extra_seeds"] = rng.sample(seeds, 1)
    else:
        a["extra_seeds"] = []
    a["batch_size"] = rng.choice([4, 8, 12])
    a["eot_samples"] = rng.randint(1, 3)


def _sweep(rng: random.Random, s: dict, seeds: list[int], t_star: int, draw: Draw) -> None:
    s["samplers"] = _subset(rng, SAMPLERS)
    s["t_star"] = _subset(rng, [5, 10, 20, 40], 1)
    outside = rng.random() < 0.5 or not seeds
    s["seeds"] = [7] if outside else rng.sample(seeds, 1)
    if not s["samplers"]:
        draw.features.add("no sweep")
        return
    draw.features.add("sweep has main t*" if t_star in s["t_star"] else "sweep misses main t*")
    draw.features.add("sweep seed outside" if outside else "sweep seed inside")


def _measure(rng: random.Random, m: dict, draw: Draw) -> None:
    m["jacobian_images"] = 13 if _bad(rng) else rng.randint(1, 2)
    m["jacobian_patch"] = rng.choice([None, None, 4, 300 if _bad(rng) else 2])
    m["randomness"]["n_images"] = 20 if _bad(rng) else rng.randint(1, 2)
    m["uniform_epsilons"] = [0.1, 0.1] if _bad(rng) else sorted(_subset(rng, [0.05, 0.1, 0.2], 1))


def draw_config(base: Mapping[str, Any], rng: random.Random, keep_main_attack: bool = False) -> Draw:
    """A configuration around ``base``: every knob above redrawn, each sometimes to a value to be rejected.

    ``keep_main_attack`` keeps the base's ``attack.main`` (a profile's own attack set, e.g. ImageNet's BPDA).
    """
    draw = Draw(copy.deepcopy(dict(base)))
    c = draw.config
    _purification(rng, c["purification"], draw)
    seeds = [s for s in c["purification"]["seeds"] if isinstance(s, int)]
    _attack(rng, c["attack"], seeds, draw, keep_main_attack)
    _sweep(rng, c["sweep"], seeds, c["purification"]["t_star"], draw)
    _measure(rng, c["measure"], draw)
    return draw


def rejection(config: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why ``config`` is rejected before any job: (rule, message), or None if it is accepted.

    The rule is ``schema: <path> <keyword>`` for the JSON schema, else the name of the failing
    consistency rule of :data:`diffrob.workflow.checks.RULES`.
    """
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
        return f"schema: {path} {error.validator}", error.message
    filled = copy.deepcopy(dict(config))
    for rule in RULES:
        try:
            rule(filled)
        except ConfigError as err:
            return rule.__name__, str(err)
    return None


def schema_error_keys(config: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    """The last key of the path of every schema error of ``config`` (a validator may report any one of them)."""
    validator = jsonschema.Draft202012Validator(schema)
    keys = set()
    for error in validator.iter_errors(config):
        names = [str(p) for p in error.absolute_path if not isinstance(p, int)]
        if names:
            keys.add(names[-1])
    return keys


def names_a_key(message: str) -> bool:
    """Whether an error message names a configuration key (``section.key``)."""
    return bool(KEY.search(message))


def cover(
    draws: list[Draw], most: int, required: tuple[str, ...] = (), already: frozenset[str] = frozenset()
) -> list[Draw]:
    """Up to ``most`` draws that together exercise the most features not ``already`` exercised, ``required`` ones
    first (greedy set cover)."""
    chosen: list[Draw] = []
    covered: set[str] = set(already)
    for _ in range(most):
        best = max(
            draws,
            key=lambda d: (len((d.features - covered) & set(required)), len(d.features - covered)),
            default=None,
        )
        if best is None or not best.features - covered:
            break
        chosen.append(best)
        covered |= best.features
    return chosen


def omitted_artifacts(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(artifact, item) of every omission the design of ``config`` declares."""
    return {(o.artifact, o.item) for o in design_omissions(Design.from_config(config))}


def dump(config: Mapping[str, Any]) -> str:
    """The configuration as YAML."""
    return yaml.safe_dump(dict(config), sort_keys=False)
