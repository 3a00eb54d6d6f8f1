"""Consistency checks on a configuration that a JSON schema cannot express."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message names the key."""


def check_consistency(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the key if cross-field constraints fail.

    Checks: the keys each model source needs; the data set's own keys; every t* (main and sweep)
    in [1, T]; at least two distinct seeds (transfer across seeds, Table 4); the seeds of the extra
    attacks are purification seeds.
    """
    _check_sources(config)
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
    attack = config.get("attack", {})
    if attack.get("main", "pgd") in attack.get("extra", []):
        raise ConfigError(f"attack.extra = {attack['extra']}: must not repeat attack.main = {attack['main']}")
    extra_seeds = list(attack.get("extra_seeds", []))
    unknown = sorted(set(extra_seeds) - set(seeds))
    if unknown:
        raise ConfigError(f"attack.extra_seeds = {extra_seeds}: {unknown} not in purification.seeds = {seeds}")


SOURCE_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "classifier": {
        "train": ("width", "epochs", "batch_size", "lr", "seed"),
        "robustbench": ("robustbench",),
    },
    "diffusion": {"train": ("unet", "train"), "hub": ("hub",), "guided": ("guided",)},
}
DATASET_KEYS: dict[str, tuple[str, ...]] = {
    "digits": ("test_fraction", "split_seed"),
    "cifar10": ("folder", "cifar10_url", "cifar10_md5"),
    "imagenet": ("folder",),
}


def _check_sources(config: Mapping[str, Any]) -> None:
    """Each model source and data set has the keys it needs; pretrained models match the data set."""
    for section, sources in SOURCE_KEYS.items():
        source = config[section].get("source", "train")
        for key in sources[source]:
            if key not in config[section]:
                raise ConfigError(f"{section}.{key}: missing; {section}.source = {source} needs it")
    dataset = config["dataset"]
    for key in DATASET_KEYS[dataset]:
        if config["data"].get(key) is None:
            hint = " (the folder holding <wnid>/<file>.JPEG validation images)" if dataset == "imagenet" else ""
            raise ConfigError(f"data.{key}: missing; dataset = {dataset} needs it{hint}")
    if config["classifier"].get("source") == "robustbench":
        zoo = config["classifier"]["robustbench"]["dataset"]
        if zoo != dataset:
            raise ConfigError(f"classifier.robustbench.dataset = {zoo}: must equal dataset = {dataset}")
    for section in SOURCE_KEYS:
        if dataset != "digits" and config[section].get("source", "train") == "train":
            raise ConfigError(
                f"{section}.source = train: models are trained only on the embedded digits; "
                f"dataset = {dataset} loads pretrained ones"
            )
