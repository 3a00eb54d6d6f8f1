"""Robust accuracy of purified classifiers: clean, fixed test xi, fresh test xi, transfer (Tables 2, 4)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from diffrob.attack import (
    AttackSettings,
    PurifiedClassifier,
    SpeedOptions,
    attack_gradient,
    attack_set,
    frozen,
    linf_pgd_in_batches,
    predict,
    purified_classifier,
)
from diffrob.data import ImageSet, check_image_tensors
from diffrob.finite import NonFiniteError
from diffrob.io import atomic_path, read_tensors
from diffrob.models import load_classifier, load_diffusion
from diffrob.noise import shard_start_seed
from diffrob.pipeline import PurifierSpec
from diffrob.resume import BatchStore, resumable
from diffrob.runtime import device
from diffrob.streams import TEST_DRAWS


def accuracy_percent(correct: torch.Tensor) -> float:
    """Share of ``True`` in a boolean tensor, in percent."""
    return 100.0 * float(correct.float().mean())


def correct_under(model: PurifiedClassifier, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample correctness of ``model`` on the whole evaluation set (row p at position p), in one call.

    The pipeline chunks the work; under free randomness the call draws one fresh xi for the set.
    """
    model.use_batch(range(images.shape[0]))
    return predict(model, images, max(1, images.shape[0])) == labels


def clean_correct(classifier: nn.Module, eval_set: ImageSet, batch_size: int = 256) -> torch.Tensor:
    """Per-sample correctness of the classifier alone on clean images."""
    return predict(classifier, eval_set.images, batch_size) == eval_set.labels


def correct_resumably(
    store: BatchStore | None,
    number: int,
    model: PurifiedClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    indices: torch.Tensor,
) -> torch.Tensor:
    """:func:`correct_under` as item ``number`` of a resumable job: loaded from ``store`` when saved there."""
    return resumable(store, number, indices, lambda: {"correct": correct_under(model, images, labels)})["correct"]


def purified_clean_correct(
    fixed: PurifiedClassifier, free: PurifiedClassifier, eval_set: ImageSet, store: BatchStore | None = None
) -> dict[str, torch.Tensor]:
    """Correctness on purified clean images under xi_s (``fixed``) and under a fresh xi (``free``); with a
    ``store``, each saved as it finishes and reused after a kill."""
    args = (eval_set.images, eval_set.labels, eval_set.indices)
    return {
        "correct_fixed": correct_resumably(store, 0, fixed, *args),
        "correct_free": correct_resumably(store, 1, free, *args),
    }


@dataclass(frozen=True)
class AttackShard:
    """One (sampler, t*, attack, randomness, seed) shard: adversarial set and per-sample outcome."""

    adversarial: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    correct: torch.Tensor  # under the shard's own test xi
    info: dict[str, str | int | float]


def save_shard(shard: AttackShard, path: str | Path) -> None:
    """Write a shard as safetensors (tensors + JSON metadata), atomically."""
    tensors = {
        "adversarial": shard.adversarial.contiguous(),
        "labels": shard.labels.contiguous(),
        "indices": shard.indices.contiguous(),
        "correct": shard.correct.to(torch.uint8).contiguous(),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"info": json.dumps(shard.info, sort_keys=True)})


SHARD = "an attack shard (safetensors: adversarial, labels, indices, correct; JSON info in the metadata)"


def load_shard(path: str | Path) -> AttackShard:
    """Read a shard written by :func:`save_shard`; a damaged or malformed file raises naming it."""
    tensors, metadata = read_tensors(path, SHARD, ("adversarial", "labels", "indices", "correct"))
    check_image_tensors(tensors["adversarial"], tensors["labels"], tensors["indices"], path, "adversarial images")
    correct = tensors["correct"]
    if correct.shape != tensors["labels"].shape or correct.dtype not in (torch.uint8, torch.bool):
        raise ValueError(f"{path}: correct is {tuple(correct.shape)} {correct.dtype}; expected one bool per image")
    try:
        info = json.loads(metadata.get("info", "{}"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: its metadata 'info' is not JSON ({err}); expected {SHARD}") from err
    labels, indices = tensors["labels"].long(), tensors["indices"].long()
    return AttackShard(tensors["adversarial"], labels, indices, correct.bool(), info)


def load_evaluation_shard(path: str | Path, eval_set: ImageSet) -> AttackShard:
    """The shard at ``path`` with its rows matched to the evaluation set's samples by sample index (row p is
    the sample at position p of ``eval_set``); ``ValueError`` naming the file when its samples or their
    labels are not the evaluation set's."""
    shard = load_shard(path)
    row_of = {int(k): r for r, k in enumerate(shard.indices.tolist())}
    wanted = eval_set.indices.tolist()
    missing = [k for k in wanted if k not in row_of]
    foreign = sorted(set(row_of) - set(wanted))
    if missing or foreign:
        raise ValueError(
            f"{path}: its samples are not the evaluation set's: missing indices {missing[:10]}, "
            f"foreign indices {foreign[:10]} ({len(missing)} and {len(foreign)} in all)"
        )
    order = torch.tensor([row_of[int(k)] for k in wanted], dtype=torch.int64)
    shard = AttackShard(
        shard.adversarial[order], shard.labels[order], shard.indices[order], shard.correct[order], shard.info
    )
    wrong = (shard.labels != eval_set.labels.cpu()).nonzero().flatten().tolist()
    if wrong:
        shown = [wanted[r] for r in wrong[:10]]
        raise ValueError(f"{path}: labels differ from the evaluation set's for sample indices {shown}")
    return shard


def shard_accuracies(
    shard: AttackShard,
    fixed_other: PurifiedClassifier | None,
    free: PurifiedClassifier,
    store: BatchStore | None = None,
) -> dict[str, float | int | None]:
    """Accuracy of a shard's adversarial set: own test xi; a fresh xi; xi of another seed (transfer, Table 4).

    ``acc_transfer`` is None when there is no other seed to transfer to (``fixed_other`` None). With a
    ``store``, each evaluation is saved as it finishes and reused after a kill.
    """
    args = (shard.adversarial, shard.labels, shard.indices)
    fresh = correct_resumably(store, 0, free, *args)
    transfer = None if fixed_other is None else accuracy_percent(correct_resumably(store, 1, fixed_other, *args))
    return {
        "acc_own": accuracy_percent(shard.correct),
        "acc_fresh": accuracy_percent(fresh),
        "acc_transfer": transfer,
        "n": int(shard.labels.numel()),
    }


def on_device(eval_set: ImageSet) -> ImageSet:
    """The images and labels of a set on the compute device (indices stay on the CPU)."""
    return ImageSet(eval_set.images.to(device()), eval_set.labels.to(device()), eval_set.indices)


def classifier_metrics(classifier: nn.Module, eval_set: ImageSet, attack: Mapping[str, Any]) -> dict[str, float]:
    """Clean accuracy of the classifier alone and its PGD accuracy at the config's epsilon (%), on the device."""
    classifier = frozen(classifier).to(device())
    eval_set = on_device(eval_set)
    adversarial = linf_pgd_in_batches(
        classifier, eval_set.images, eval_set.labels, AttackSettings.from_mapping(attack), seed=0
    )
    return {
        "clean_acc": accuracy_percent(clean_correct(classifier, eval_set)),
        "pgd_acc": accuracy_percent(
            clean_correct(classifier, ImageSet(adversarial, eval_set.labels, eval_set.indices))
        ),
        "epsilon": float(attack["epsilon"]),
        "n": len(eval_set),
    }


def load_models(ddpm_dir: str | Path, classifier_path: str | Path) -> tuple[nn.Module, Any, nn.Module]:
    """The diffusion UNet (on the device), its scheduler and the classifier (on the device) of a job."""
    unet, scheduler = load_diffusion(ddpm_dir)
    return unet.to(device()), scheduler, load_classifier(classifier_path).to(device())


def purified_clean_metrics(
    ddpm_dir: str | Path,
    classifier_path: str | Path,
    eval_set: ImageSet,
    chain: Mapping[str, Any],
    seed: int,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Clean accuracy (%) after purification under xi_s (fixed) and under a fresh xi (free), for one seed;
    with a ``store``, resumable (:func:`purified_clean_correct`)."""
    spec = PurifierSpec.from_mapping(chain)
    unet, scheduler, classifier = load_models(ddpm_dir, classifier_path)
    indices = eval_set.indices.tolist()
    fixed = purified_classifier(unet, scheduler, classifier, spec, indices, seed, "fixed")
    free = purified_classifier(unet, scheduler, classifier, spec, indices, seed, "free")
    correct = purified_clean_correct(fixed, free, on_device(eval_set), store)
    return {
        "sampler": spec.sampler,
        "t_star": spec.t_star,
        "seed": seed,
        "acc_fixed": accuracy_percent(correct["correct_fixed"]),
        "acc_free": accuracy_percent(correct["correct_free"]),
        "n": len(eval_set),
    }


def _attack_shard(
    model: PurifiedClassifier,
    eval_set: ImageSet,
    settings: AttackSettings,
    attack_seed: int,
    where: str,
    store: BatchStore | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_adv, correct under the test xi) of the evaluation set on the device, a shard's name in its errors."""
    dev = device()
    try:
        adversarial, correct = attack_set(
            model,
            eval_set.images.to(dev),
            eval_set.labels.to(dev),
            settings,
            attack_seed=attack_seed,
            store=store,
            indices=eval_set.indices,
        )
    except NonFiniteError as err:
        raise NonFiniteError(f"attack shard {where}: {err}") from None
    return adversarial.cpu(), correct.cpu()


def run_attack_shard(
    ddpm_dir: str | Path,
    classifier_path: str | Path,
    eval_set: ImageSet,
    chain: Mapping[str, Any],
    attack: Mapping[str, Any],
    attack_name: str,
    randomness: str,
    seed: int,
    store: BatchStore | None = None,
) -> AttackShard:
    """One shard: ``attack_name`` (pgd, pgd_eot, bpda, bpda_eot) under ``randomness`` with base seed ``seed``;
    with a ``store``, resumable batch by batch (:mod:`diffrob.resume`)."""
    spec = PurifierSpec.from_mapping(chain)
    unet, scheduler, classifier = load_models(ddpm_dir, classifier_path)
    speed = SpeedOptions.from_mapping(attack.get("speed"))
    indices = eval_set.indices.tolist()
    gradient = attack_gradient(attack_name)
    model = purified_classifier(
        unet, scheduler, classifier, spec, indices, seed, randomness, gradient=gradient, speed=speed
    )
    settings = AttackSettings.from_mapping(attack, attack_name)
    attack_seed = shard_start_seed(spec.sampler, spec.t_star, attack_name, randomness, seed)
    where = f"{attack_name}-{randomness}-seed{seed} ({spec.sampler}, t* = {spec.t_star})"
    adversarial, correct = _attack_shard(model, eval_set, settings, attack_seed, where, store)
    info = {
        "sampler": spec.sampler,
        "t_star": spec.t_star,
        "reverse_steps": spec.reverse_steps,
        "keying": spec.keying,
        "attack": attack_name,
        "randomness": randomness,
        "seed": seed,
        "epsilon": settings.epsilon,
        "steps": settings.steps,
        "rel_stepsize": settings.rel_stepsize,
        "eot_samples": settings.eot_samples,
    }
    return AttackShard(adversarial, eval_set.labels, eval_set.indices, correct, info)


PROTOCOL_SETTINGS: dict[str, str] = {"eot": "free", "dwbox": "fixed"}
"""ADDT's two evaluations and the randomness each attacks and tests under: ``eot``, the stochastic white box (a fresh
xi at every call, K draws per step); ``dwbox``, the deterministic white box (xi_s fixed and known, one draw)."""


def run_protocol_shard(
    ddpm_dir: str | Path,
    classifier_path: str | Path,
    eval_set: ImageSet,
    chain: Mapping[str, Any],
    evaluation: Mapping[str, Any],
    norm: str,
    setting: str,
    seed: int,
    store: BatchStore | None = None,
) -> tuple[AttackShard, dict[str, Any]]:
    """ADDT's evaluation of one purifier (``ddpm_dir``) in ``norm`` under ``setting`` (:data:`PROTOCOL_SETTINGS`)
    with base seed ``seed``: PGD with ``evaluation['steps']`` steps and the norm's ``epsilon`` and absolute ``step``,
    no random start, under ``eot`` the losses of ``evaluation['eot_samples']`` draws summed (eq. 9 literally);
    ``evaluation`` is :func:`diffrob.settings.protocol_settings`'s part of ``addt.evaluate`` (or all of it).

    Returns the shard (its ``correct`` under one test draw: xi_s, or a fresh xi) and its metrics: robust and
    clean accuracy (%) under the same randomness (clean under free randomness: a fresh xi of its own stream).
    """
    if setting not in PROTOCOL_SETTINGS:
        raise ValueError(f"unknown evaluation setting {setting!r}; expected one of {', '.join(PROTOCOL_SETTINGS)}")
    randomness = PROTOCOL_SETTINGS[setting]
    eot = int(evaluation.get("eot_samples", 1)) if setting == "eot" else 1
    settings = AttackSettings.protocol(evaluation, norm, eot, int(evaluation["batch_size"]))
    spec = PurifierSpec.from_mapping(chain)
    unet, scheduler, classifier = load_models(ddpm_dir, classifier_path)
    indices = eval_set.indices.tolist()
    model = purified_classifier(unet, scheduler, classifier, spec, indices, seed, randomness)
    where = f"{norm}-{setting}-seed{seed} of {ddpm_dir} ({spec.sampler}, t* = {spec.t_star})"
    adversarial, correct = _attack_shard(model, eval_set, settings, 0, where, store)
    clean_model = purified_classifier(unet, scheduler, classifier, spec, indices, seed, randomness, TEST_DRAWS)
    on_dev = on_device(eval_set)  # saved after the attack's batches (numbered from 0, fewer than len(eval_set))
    clean = correct_resumably(store, len(eval_set), clean_model, on_dev.images, on_dev.labels, on_dev.indices)
    info = {
        "sampler": spec.sampler,
        "t_star": spec.t_star,
        "reverse_steps": spec.reverse_steps,
        "norm": norm,
        "setting": setting,
        "randomness": randomness,
        "seed": seed,
        "epsilon": settings.epsilon,
        "step": settings.abs_stepsize,
        "steps": settings.steps,
        "eot_samples": settings.eot_samples,
    }
    shard = AttackShard(adversarial, eval_set.labels, eval_set.indices, correct, info)
    metrics = {
        **info,
        "acc_clean": accuracy_percent(clean),
        "acc_robust": accuracy_percent(correct),
        "n": len(eval_set),
    }
    return shard, metrics


def measure_shard(
    shard_path: str | Path,
    eval_set: ImageSet,
    ddpm_dir: str | Path,
    classifier_path: str | Path,
    chain: Mapping[str, Any],
    partner: int | None,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Accuracy of a shard under its own test xi, a fresh xi, and xi_{s'} of the seed ``partner`` (Tables 2, 4).

    The shard's rows are matched to ``eval_set`` by sample index, so every sample gets the noise its
    position in the evaluation set keys. ``partner`` is the transfer seed s' the experiment design pairs
    the shard with; None skips transfer. With a ``store``, resumable (:func:`shard_accuracies`).
    """
    shard = load_evaluation_shard(shard_path, eval_set)
    spec = PurifierSpec.from_mapping(chain)
    seed = int(shard.info["seed"])
    if partner is not None and int(partner) == seed:
        raise ValueError(f"{shard_path}: transfer seed s' = {partner} equals the shard's own seed")
    unet, scheduler, classifier = load_models(ddpm_dir, classifier_path)
    indices = shard.indices.tolist()
    fixed_other = (
        None
        if partner is None
        else purified_classifier(unet, scheduler, classifier, spec, indices, int(partner), "fixed")
    )
    free = purified_classifier(unet, scheduler, classifier, spec, indices, seed, "free", first_draw=TEST_DRAWS)
    dev = device()
    moved = AttackShard(shard.adversarial.to(dev), shard.labels.to(dev), shard.indices, shard.correct, shard.info)
    return {**shard.info, "transfer_seed": partner, **shard_accuracies(moved, fixed_other, free, store)}
