"""Consistency checks on a configuration that a JSON schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message names the key."""


def check_consistency(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if cross-field constraints fail.

    Checks: every t* (main and sweep) in [1, T]; at least two distinct seeds (transfer across
    seeds, Table 4); the seeds of the extra attacks are purification seeds.
    """
    schedule = config["diffusion"]["schedule"]
    total = int(schedule["num_train_timesteps"])
    purification = config["purification"]
    t_stars = {"purification.t_star": [int(purification["t_star"])]}
    if "sweep" in config:
        t_stars["sweep.t_star"] = [int(t) for t in config["sweep"]["t_star"]]
    for key, values in t_stars.items():
        for t_star in values:
            if not 1 <= t_star <= total:
                raise ConfigError(
                    f"{key} = {t_star}: must be in [1, T] with T = diffusion.schedule.num_train_timesteps = {total}"
                )
    seeds = list(purification["seeds"])
    if len(seeds) < 2:
        raise ConfigError(f"purification.seeds = {seeds}: need at least two seeds (transfer across seeds)")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"purification.seeds = {seeds}: seeds must be distinct")
    extra_seeds = list(config.get("attack", {}).get("extra_seeds", []))
    unknown = sorted(set(extra_seeds) - set(seeds))
    if unknown:
        raise ConfigError(f"attack.extra_seeds = {extra_seeds}: {unknown} not in purification.seeds = {seeds}")
