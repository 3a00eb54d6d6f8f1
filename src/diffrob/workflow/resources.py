"""Each job's resources: threads, memory and GPUs per rule, from the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What a job asks a cluster for when the configuration's resource table says nothing.
DEFAULT_JOB_RESOURCES = {"mem_mb": 4000, "runtime": 30}


def job_resources(config: Mapping[str, Any], rule: str) -> dict[str, int]:
    """The fixed cluster request of ``rule`` (``mem_mb``, ``runtime`` minutes): built-in, table default, its entry."""
    table = config.get("resources") or {}
    merged = {**DEFAULT_JOB_RESOURCES, **table.get("default", {}), **table.get(rule, {})}
    merged.pop("gpus", None)  # not a Snakemake resource: see job_gpus
    return merged


DATA_PARALLEL_RULES = ("finetune_ddpm",)  # the rules that spread one job over several GPUs of a node


def job_gpus(config: Mapping[str, Any], rule: str) -> int:
    """The GPUs one job of ``rule`` asks for: ``resources.<rule>.gpus`` for a data-parallel rule, else 1."""
    return int(((config.get("resources") or {}).get(rule) or {}).get("gpus", 1))


def projects_runtime(config: Mapping[str, Any], rule: str) -> bool:
    """Whether ``rule``'s runtime comes from the projected bill: a rate is given and the rule fixes no runtime."""
    table = config.get("resources") or {}
    return "gflops" in table and "runtime" not in table.get(rule, {})
