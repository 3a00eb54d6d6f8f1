"""Robust accuracy of purified classifiers: clean, fixed test xi, fresh test xi, transfer (Tables 2, 4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffrob.attack.accuracy import accuracy_percent, clean_correct, correct_resumably, purified_clean_correct
from diffrob.attack.autoattack import AutoAttackSettings, autoattack_set
from diffrob.attack.convergence import convergence_set
from diffrob.attack.names import AUTOATTACK, attack_gradient
from diffrob.attack.pgd import AttackSettings, attack_set, linf_pgd_in_batches
from diffrob.attack.purified import (
    PurifiedClassifier,
    SpeedOptions,
    XiStream,
    frozen,
    purified_classifier,
)
from diffrob.attack.shards import AttackShard, load_evaluation_shard, shard_accuracies
from diffrob.data import ImageSet
from diffrob.models.classifier import load_classifier
from diffrob.models.diffusion import load_diffusion
from diffrob.purify.finite import NonFiniteError
from diffrob.purify.noise import shard_start_seed
from diffrob.purify.pipeline import PurifierSpec
from diffrob.purify.streams import TEST_DRAWS
from diffrob.resume import BatchStore
from diffrob.runtime import device


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


@dataclass(frozen=True)
class Defence:
    """The purified classifier a job attacks or measures, as the workflow gives it: the diffusion model (a folder,
    or a hub id), the classifier's weights file and the chain's settings (a :class:`PurifierSpec` mapping)."""

    ddpm: str | Path
    classifier: str | Path
    chain: Mapping[str, Any]

    @property
    def spec(self) -> PurifierSpec:
        """The chain's settings, checked."""
        return PurifierSpec.from_mapping(self.chain)

    def load(self) -> tuple[nn.Module, Any, nn.Module]:
        """(UNet, scheduler, classifier), the networks on the device."""
        return load_models(self.ddpm, self.classifier)


def purified_clean_metrics(
    defence: Defence,
    eval_set: ImageSet,
    seed: int,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Clean accuracy (%) after purification under xi_s (fixed) and under a fresh xi (free), for one seed;
    with a ``store``, resumable (:func:`purified_clean_correct`)."""
    spec = defence.spec
    unet, scheduler, classifier = defence.load()
    indices = eval_set.indices.tolist()
    fixed = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "fixed"))
    free = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "free"))
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
    defence: Defence,
    eval_set: ImageSet,
    attack: Mapping[str, Any],
    attack_name: str,
    randomness: str,
    seed: int,
    store: BatchStore | None = None,
) -> AttackShard:
    """One shard: ``attack_name`` (pgd, pgd_eot, bpda, bpda_eot; autoattack under fixed randomness) under
    ``randomness`` with base seed ``seed``; with a ``store``, resumable batch by batch (:mod:`diffrob.resume`)."""
    if attack_name == AUTOATTACK:
        if randomness != "fixed":
            raise ValueError(f"AutoAttack runs under fixed randomness; got {randomness!r}")
        return run_autoattack_shard(defence, eval_set, attack, seed, store)
    spec = defence.spec
    unet, scheduler, classifier = defence.load()
    speed = SpeedOptions.from_mapping(attack.get("speed"))
    indices = eval_set.indices.tolist()
    gradient = attack_gradient(attack_name)
    model = purified_classifier(
        unet, scheduler, classifier, spec, indices, XiStream(seed, randomness), gradient=gradient, speed=speed
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


def run_autoattack_shard(
    defence: Defence,
    eval_set: ImageSet,
    attack: Mapping[str, Any],
    seed: int,
    store: BatchStore | None = None,
) -> AttackShard:
    """One AutoAttack shard under fixed randomness xi_s (``attack.autoattack``'s ensemble and budgets): the images and
    xi of the main attack's fixed shard of ``seed``; its info holds the accuracy (%) after each of the attacks."""
    spec = defence.spec
    unet, scheduler, classifier = defence.load()
    indices = eval_set.indices.tolist()
    model = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "fixed"))
    settings = AutoAttackSettings.from_mapping(attack)
    attack_seed = shard_start_seed(spec.sampler, spec.t_star, AUTOATTACK, "fixed", seed)
    dev = device()
    where = f"{AUTOATTACK}-fixed-seed{seed} ({spec.sampler}, t* = {spec.t_star})"
    try:
        adversarial, after = autoattack_set(
            model, eval_set.images.to(dev), eval_set.labels.to(dev), settings, attack_seed, store, eval_set.indices
        )
    except NonFiniteError as err:
        raise NonFiniteError(f"attack shard {where}: {err}") from None
    correct = after[settings.attacks[-1]].cpu()
    info = {
        "sampler": spec.sampler,
        "t_star": spec.t_star,
        "reverse_steps": spec.reverse_steps,
        "keying": spec.keying,
        "attack": AUTOATTACK,
        "randomness": "fixed",
        "seed": seed,
        "epsilon": settings.epsilon,
        "attacks": list(settings.attacks),
        "n_iter": settings.n_iter,
        "n_target_classes": settings.n_target_classes,
        "n_queries": settings.n_queries,
        **{f"acc_after_{name}": accuracy_percent(flags.cpu()) for name, flags in after.items()},
    }
    return AttackShard(adversarial.cpu(), eval_set.labels, eval_set.indices, correct, info)


def run_convergence(
    defence: Defence,
    eval_set: ImageSet,
    attack: Mapping[str, Any],
    attack_name: str,
    seed: int,
    budgets: Sequence[int],
    store: BatchStore | None = None,
) -> dict[str, float]:
    """Accuracy (%) under fixed xi_s after k steps of ``attack_name`` (pgd or bpda), for each k in ``budgets``, from
    the start of the workflow's fixed shard of ``seed`` (:func:`diffrob.attack.convergence.convergence_set`)."""
    spec = defence.spec
    unet, scheduler, classifier = defence.load()
    indices = eval_set.indices.tolist()
    gradient = attack_gradient(attack_name)
    model = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "fixed"), gradient=gradient)
    settings = AttackSettings.from_mapping(attack, attack_name)
    attack_seed = shard_start_seed(spec.sampler, spec.t_star, attack_name, "fixed", seed)
    dev = device()
    correct = convergence_set(
        model, eval_set.images.to(dev), eval_set.labels.to(dev), settings, attack_seed, budgets, store, eval_set.indices
    )
    return {f"steps_{k}": accuracy_percent(flags.cpu()) for k, flags in correct.items()}


PROTOCOL_SETTINGS: dict[str, str] = {"eot": "free", "dwbox": "fixed"}
"""ADDT's two evaluations and the randomness each attacks and tests under: ``eot``, the stochastic white box (a fresh
xi at every call, K draws per step); ``dwbox``, the deterministic white box (xi_s fixed and known, one draw)."""


def run_protocol_shard(
    defence: Defence,
    eval_set: ImageSet,
    evaluation: Mapping[str, Any],
    norm: str,
    setting: str,
    seed: int,
    store: BatchStore | None = None,
) -> tuple[AttackShard, dict[str, Any]]:
    """ADDT's evaluation of one purifier (``defence``) in ``norm`` under ``setting`` (:data:`PROTOCOL_SETTINGS`)
    with base seed ``seed``: PGD with ``evaluation['steps']`` steps and the norm's ``epsilon`` and absolute ``step``,
    no random start, under ``eot`` the losses of ``evaluation['eot_samples']`` draws summed (eq. 9 literally);
    ``evaluation`` is :func:`diffrob.workflow.parameters.protocol_settings`'s part of ``addt.evaluate`` (or all of it).

    Returns the shard (its ``correct`` under one test draw: xi_s, or a fresh xi) and its metrics: robust and
    clean accuracy (%) under the same randomness (clean under free randomness: a fresh xi of its own stream).
    """
    if setting not in PROTOCOL_SETTINGS:
        raise ValueError(f"unknown evaluation setting {setting!r}; expected one of {', '.join(PROTOCOL_SETTINGS)}")
    randomness = PROTOCOL_SETTINGS[setting]
    eot = int(evaluation.get("eot_samples", 1)) if setting == "eot" else 1
    settings = AttackSettings.protocol(evaluation, norm, eot, int(evaluation["batch_size"]))
    spec = defence.spec
    unet, scheduler, classifier = defence.load()
    indices = eval_set.indices.tolist()
    model = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, randomness))
    where = f"{norm}-{setting}-seed{seed} of {defence.ddpm} ({spec.sampler}, t* = {spec.t_star})"
    adversarial, correct = _attack_shard(model, eval_set, settings, 0, where, store)
    clean_xi = XiStream(seed, randomness, TEST_DRAWS)
    clean_model = purified_classifier(unet, scheduler, classifier, spec, indices, clean_xi)
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
    defence: Defence,
    partner: int | None,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Accuracy of a shard under its own test xi, a fresh xi, and xi_{s'} of the seed ``partner`` (Tables 2, 4).

    The shard's rows are matched to ``eval_set`` by sample index, so every sample gets the noise its
    position in the evaluation set keys. ``partner`` is the transfer seed s' the experiment design pairs
    the shard with; None skips transfer. With a ``store``, resumable (:func:`shard_accuracies`).
    """
    shard = load_evaluation_shard(shard_path, eval_set)
    spec = defence.spec
    seed = int(shard.info["seed"])
    if partner is not None and int(partner) == seed:
        raise ValueError(f"{shard_path}: transfer seed s' = {partner} equals the shard's own seed")
    unet, scheduler, classifier = defence.load()
    indices = shard.indices.tolist()
    fixed_other = (
        None
        if partner is None
        else purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(int(partner), "fixed"))
    )
    free = purified_classifier(unet, scheduler, classifier, spec, indices, XiStream(seed, "free", TEST_DRAWS))
    dev = device()
    moved = AttackShard(shard.adversarial.to(dev), shard.labels.to(dev), shard.indices, shard.correct, shard.info)
    return {**shard.info, "transfer_seed": partner, **shard_accuracies(moved, fixed_other, free, store)}
