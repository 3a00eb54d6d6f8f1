"""Consistency checks on a configuration that a JSON schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message names the key."""


def check_consistency(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if cross-field constraints fail.

    Checks: every t* in [1, T]; reverse steps >= 1; at least two seeds (transfer across seeds,
    Table 4); distinct seeds.
    """
    schedule = config["diffusion"]["schedule"]
    total = int(schedule["num_train_timesteps"])
    purification = config["purification"]
    t_star = int(purification["t_star"])
    if not 1 <= t_star <= total:
        raise ConfigError(
            f"purification.t_star = {t_star}: must be in [1, T] with T = "
            f"diffusion.schedule.num_train_timesteps = {total}"
        )
    seeds = list(purification["seeds"])
    if len(seeds) < 2:
        raise ConfigError(f"purification.seeds = {seeds}: need at least two seeds (transfer across seeds)")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"purification.seeds = {seeds}: seeds must be distinct")
