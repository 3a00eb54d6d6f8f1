"""Consistency checks on a configuration that a JSON schema cannot express.

Every cross-field rule the code relies on is stated here, once, as a function that raises
:class:`ConfigError` naming the keys and why; :data:`RULES` lists them in the order they run.
What a valid configuration cannot *measure* (a transfer partner with one seed, a sigmoid with three
points) is not an error: :meth:`diffrob.workflow.design.Design.omissions` says what is left out and why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from diffrob.purify.streams import ALIGNMENT_DRAWS, ALIGNMENT_TEST_DRAWS, ATTACK_DRAWS, DRAWS_PER_SEED, TEST_DRAWS
from diffrob.workflow.parameters import FINETUNE_KEYS
from diffrob.workflow.resources import DATA_PARALLEL_RULES, job_gpus

DIGITS_IMAGES = 1797  # scikit-learn's UCI digits


CIFAR10_TEST_IMAGES = 10000


IMAGENET_LIST_IMAGES = 5000  # RobustBench's ImageNet evaluation list


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent; the message names the key."""


def merged_config(layers: Iterable[Mapping[str, Any]], schema: str | Path) -> dict[str, Any]:
    """The layers merged in order, each over the ones before (as Snakemake merges ``--configfile``s),
    validated against ``schema`` with its defaults filled in."""
    from snakemake.utils import update_config, validate

    config: dict[str, Any] = {}
    for layer in layers:
        update_config(config, dict(layer))
    validate(config, str(schema), set_default=True)
    return config


def held_out_images(config: Mapping[str, Any]) -> int:
    """How many evaluation images the data set offers (digits: the held-out split, as scikit-learn sizes it)."""
    dataset = config["dataset"]
    if dataset == "digits":
        return math.ceil(float(config["data"]["test_fraction"]) * DIGITS_IMAGES)
    return CIFAR10_TEST_IMAGES if dataset == "cifar10" else IMAGENET_LIST_IMAGES


def training_images(config: Mapping[str, Any]) -> int:
    """How many training images the data set offers (digits: the rest of the split; CIFAR-10: its five training
    batches; ImageNet: none here)."""
    dataset = config["dataset"]
    if dataset == "digits":
        return DIGITS_IMAGES - held_out_images(config)
    return 5 * CIFAR10_TEST_IMAGES if dataset == "cifar10" else 0


def check_sources(config: Mapping[str, Any]) -> None:
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


def check_depths(config: Mapping[str, Any]) -> None:
    """Every t* (main and sweep) lies in [1, T] of the diffusion schedule."""
    total = int(config["diffusion"]["schedule"]["num_train_timesteps"])
    t_stars = {"purification.t_star": [int(config["purification"]["t_star"])]}
    if "sweep" in config:
        t_stars["sweep.t_star"] = [int(t) for t in config["sweep"]["t_star"]]
    for key, values in t_stars.items():
        for t_star in values:
            if not 1 <= t_star <= total:
                raise ConfigError(
                    f"{key} = {t_star}: must be in [1, T] with T = diffusion.schedule.num_train_timesteps = {total}"
                )


def check_seeds(config: Mapping[str, Any]) -> None:
    """Seeds are distinct; the extra attacks have seeds, and those are purification seeds."""
    seeds = list(config["purification"]["seeds"])
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"purification.seeds = {seeds}: seeds must be distinct")
    attack = config.get("attack", {})
    extra, extra_seeds = list(attack.get("extra", [])), list(attack.get("extra_seeds", []))
    if extra and not extra_seeds:
        raise ConfigError(f"attack.extra_seeds = []: attack.extra = {extra} needs at least one seed to run under")
    unknown = sorted(set(extra_seeds) - set(seeds))
    if unknown:
        raise ConfigError(
            f"attack.extra_seeds = {extra_seeds}: {unknown} not in purification.seeds = {seeds} "
            "(extra attacks run on the main purifier under its base seeds)"
        )


def check_attacks(config: Mapping[str, Any]) -> None:
    """The extra attacks do not repeat the main attack."""
    attack = config.get("attack", {})
    if attack.get("main", "pgd") in attack.get("extra", []):
        raise ConfigError(f"attack.extra = {attack['extra']}: must not repeat attack.main = {attack['main']}")


def check_image_counts(config: Mapping[str, Any]) -> None:
    """The evaluation set fits the data set, and every measurement's image count fits the evaluation set."""
    n_eval, available = int(config["data"]["n_eval"]), held_out_images(config)
    if n_eval > available:
        where = (
            f"the held-out split of data.test_fraction = {config['data']['test_fraction']} has {available} images"
            if config["dataset"] == "digits"
            else f"dataset = {config['dataset']} offers {available} evaluation images"
        )
        raise ConfigError(f"data.n_eval = {n_eval}: {where}")
    measure = config.get("measure", {})
    counts = {
        "measure.jacobian_images": measure.get("jacobian_images"),
        "measure.randomness.n_images": measure.get("randomness", {}).get("n_images"),
    }
    for key, count in counts.items():
        if count is not None and int(count) > n_eval:
            raise ConfigError(f"{key} = {count}: must not exceed data.n_eval = {n_eval} (it measures the first images)")


def check_gpus(config: Mapping[str, Any]) -> None:
    """Only data-parallel rules ask for several GPUs."""
    for rule, entry in (config.get("resources") or {}).items():
        if isinstance(entry, Mapping) and "gpus" in entry and rule not in DATA_PARALLEL_RULES:
            raise ConfigError(
                f"resources.{rule}.gpus: only {', '.join(DATA_PARALLEL_RULES)} runs data-parallel on several GPUs"
            )


# Side (pixels) of the images each data set yields: digits 8x8, CIFAR-10 32x32, ImageNet 224x224 crops.
IMAGE_SIDES = {"digits": 8, "cifar10": 32, "imagenet": 224}


def check_jacobian_patch(config: Mapping[str, Any]) -> None:
    """The Jacobian's patch fits in the data set's images."""
    patch = config.get("measure", {}).get("jacobian_patch")
    side = IMAGE_SIDES.get(config.get("dataset"))
    if patch is not None and side is not None and int(patch) > side:
        raise ConfigError(
            f"measure.jacobian_patch = {patch}: the {config['dataset']} images are {side}x{side} pixels; "
            f"give at most {side}, or null for the whole image"
        )


def check_draw_ranges(config: Mapping[str, Any]) -> None:
    """Every use of a base seed's fresh draws stays in its own range (:mod:`diffrob.purify.streams`): an attack
    shard's calls below the fresh test's first draw, the gradient alignment's below the next range."""
    attack, n_eval = config["attack"], int(config["data"]["n_eval"])
    batches = math.ceil(n_eval / int(attack["batch_size"]))
    k = int(attack["eot_samples"])
    attack_draws = batches * (int(attack["steps"]) * k + k + 1)
    keys = f"data.n_eval = {n_eval}, attack.batch_size = {attack['batch_size']}, attack.steps = {attack['steps']}"
    keys += f", attack.eot_samples = {k}"
    if attack_draws >= TEST_DRAWS - ATTACK_DRAWS:
        raise ConfigError(
            f"{keys}: an attack shard would take {attack_draws} fresh draws of its seed, more than the "
            f"{TEST_DRAWS - ATTACK_DRAWS} before the fresh test's; use larger batches or fewer steps"
        )
    if batches * k >= ALIGNMENT_TEST_DRAWS - ALIGNMENT_DRAWS or batches >= DRAWS_PER_SEED - ALIGNMENT_TEST_DRAWS:
        raise ConfigError(f"{keys}: the gradient alignment would take {batches * k} draws, more than its range")


def addt_on_the_sigmoids_budget(config: Mapping[str, Any]) -> bool:
    """Whether ADDT's l_inf budget is the main attack's, at which the Fig. 3b sigmoid's compression rates are
    measured: only then is a model's residual from the sigmoid meaningful."""
    addt = config.get("addt") or {}
    if not addt:
        return False
    return math.isclose(float(addt["evaluate"]["linf"]["epsilon"]), float(config["attack"]["epsilon"]), rel_tol=1e-9)


ADDT_DATASETS = ("digits", "cifar10")  # the data sets with training images to fine-tune on


def check_addt(config: Mapping[str, Any]) -> None:
    """ADDT's evaluation fits the evaluation set and its draws; its fine-tunes have training images (the digits,
    CIFAR-10) and a batch that divides among the fine-tune's GPUs."""
    addt = config.get("addt")
    if not addt:
        return
    evaluate, n_eval = addt["evaluate"], int(config["data"]["n_eval"])
    if int(evaluate["n_images"]) > n_eval:
        raise ConfigError(f"addt.evaluate.n_images = {evaluate['n_images']}: must not exceed data.n_eval = {n_eval}")
    batches = math.ceil(int(evaluate["n_images"]) / int(evaluate["batch_size"]))
    k, steps = int(evaluate["eot_samples"]), int(evaluate["steps"])
    if batches * (steps * k + k + 1) >= TEST_DRAWS - ATTACK_DRAWS:
        raise ConfigError(
            f"addt.evaluate (n_images {evaluate['n_images']}, batch_size {evaluate['batch_size']}, steps {steps}, "
            f"eot_samples {k}): the EOT attack would take more fresh draws of its seed than the "
            f"{TEST_DRAWS - ATTACK_DRAWS} before its clean test's; use larger batches or fewer steps"
        )
    finetune = addt["finetune"]
    low, high = float(finetune.get("lambda_min", 0.0)), float(finetune.get("lambda_max", 0.3))
    if low > high:
        raise ConfigError(f"addt.finetune.lambda_min = {low} exceeds addt.finetune.lambda_max = {high}")
    if config["dataset"] not in ADDT_DATASETS:
        raise ConfigError(
            f"addt with dataset = {config['dataset']}: fine-tuning needs training images (the digits' split, or "
            "CIFAR-10's five training batches); remove the addt section"
        )
    gpus = job_gpus(config, "finetune_ddpm")
    if int(finetune["batch_size"]) % gpus:
        raise ConfigError(
            f"addt.finetune.batch_size = {finetune['batch_size']} does not divide among "
            f"resources.finetune_ddpm.gpus = {gpus} data-parallel processes"
        )


def check_screen(config: Mapping[str, Any]) -> None:
    """Each screened purifier is a callable, or a model with a sampler and a t* in [1, T]."""
    purifiers = (config.get("screen") or {}).get("purifiers") or {}
    total = int(config["diffusion"]["schedule"]["num_train_timesteps"])
    for name, entry in purifiers.items():
        key = f"screen.purifiers.{name}"
        if "callable" in entry:
            extra = sorted(set(entry) - {"callable"})
            if extra:
                raise ConfigError(f"{key}: a callable purifier takes no {', '.join(extra)} (it is its own purifier)")
            continue
        if "sampler" not in entry or "t_star" not in entry:
            raise ConfigError(f"{key}: give a callable, or a sampler and a t_star (with a model: ddpm by default)")
        if not 1 <= int(entry["t_star"]) <= total:
            raise ConfigError(f"{key}.t_star = {entry['t_star']}: must be in [1, T] with T = {total}")
        model = str(entry.get("model", "ddpm"))
        if model.startswith("addt/") and model.removeprefix("addt/") not in FINETUNE_KEYS:
            modes = ", ".join(f"addt/{m}" for m in FINETUNE_KEYS)
            raise ConfigError(f"{key}.model = {model}: no such fine-tune; expected one of {modes}")


RULES: tuple[Callable[[Mapping[str, Any]], None], ...] = (
    check_sources,
    check_depths,
    check_seeds,
    check_attacks,
    check_image_counts,
    check_jacobian_patch,
    check_draw_ranges,
    check_addt,
    check_gpus,
    check_screen,
)


def check_consistency(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the keys if any cross-field rule of :data:`RULES` fails."""
    for rule in RULES:
        rule(config)


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
