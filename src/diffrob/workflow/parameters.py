"""Each job's parameters, only what it reads, so that a change reruns only the jobs that read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FINETUNE_COMMON = ("steps", "batch_size", "lr", "betas", "weight_decay", "grad_clip", "ema_max_decay", "ema_power")


FINETUNE_KEYS: dict[str, tuple[str, ...]] = {  # what each fine-tune mode reads of addt.finetune
    "clean": (*FINETUNE_COMMON, "dropout", "seed"),
    "addt": (*FINETUNE_COMMON, "dropout", "seed", "lambda_unit", "lambda_min", "lambda_max", "cgpo_steps"),
    "addt_no_rbgm": (*FINETUNE_COMMON, "dropout", "seed", "cgpo_steps", "pixel_epsilon", "pixel_step"),
    "addt_no_guidance": (*FINETUNE_COMMON, "dropout", "seed", "lambda_unit", "lambda_min", "lambda_max", "cgpo_steps"),
}


def reverse_steps_at(requested: int, t_star: int) -> int:
    """Reverse steps of a chain at ``t_star``: the respacing asked for, at most t* (t* steps is the full chain)."""
    return min(int(requested), int(t_star))


def chain_settings(
    config: Mapping[str, Any], sampler: str, t_star: int, reverse_steps: int | None = None
) -> dict[str, Any]:
    """The purifier settings (:class:`diffrob.purify.pipeline.PurifierSpec`) of a (sampler, t*) point: the
    configuration's respacing (or ``reverse_steps``) capped at t*, its noise keying and chunk sizes, and the
    attack's batch (the noise batch of ``keying: batch``)."""
    purification = config["purification"]
    steps = purification["reverse_steps"] if reverse_steps is None else reverse_steps
    return {
        "sampler": sampler,
        "t_star": t_star,
        "reverse_steps": reverse_steps_at(steps, t_star),
        "keying": purification["keying"],
        "noise_batch": config["attack"]["batch_size"],
        "chunks": purification["chunks"],
    }


def finetune_settings(finetune: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """The part of ``addt.finetune`` a ``mode`` reads (so that a change to another mode's keys reruns nothing)."""
    return {k: finetune[k] for k in FINETUNE_KEYS[mode] if k in finetune}


def protocol_settings(evaluate: Mapping[str, Any], norm: str, setting: str) -> dict[str, Any]:
    """The part of ``addt.evaluate`` one attack shard reads: steps, batch size, its norm's budget, and K under EOT."""
    picked = {"steps": evaluate["steps"], "batch_size": evaluate["batch_size"], norm: dict(evaluate[norm])}
    if setting == "eot":
        picked["eot_samples"] = evaluate["eot_samples"]
    return picked


def screened_purifiers(config: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """The purifiers of config ``screen`` this configuration can screen, and those it leaves out with the reason:
    one that names a fine-tune (``addt/<mode>``) the configuration does not make (a profile that turns ADDT off
    keeps config.yaml's list)."""
    purifiers = (config.get("screen") or {}).get("purifiers") or {}
    tuned = set((config.get("addt") or {}).get("models", ()))
    kept, left_out = {}, []
    for name, entry in purifiers.items():
        model = str(entry.get("model", "ddpm"))
        if "callable" not in entry and model.startswith("addt/") and model.removeprefix("addt/") not in tuned:
            left_out.append((name, f"its model {model} is not made here (addt.models = {sorted(tuned)})"))
        else:
            kept[name] = dict(entry)
    return kept, left_out
