"""Distances to the clean image (Sec. 3.1): l2, l_inf, SSIM and FID along the chain and between clean and purified sets
(Fig. 1c, S1, S3; Tables 1, S3, S4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from diffrob.attack.shards import AttackShard, load_evaluation_shard
from diffrob.data import ImageSet
from diffrob.measure.common import as_record
from diffrob.measure.features import FeatureFunction, features_in_chunks
from diffrob.purify.noise import uniform
from diffrob.purify.pipeline import DiffusionPurifier
from diffrob.resume import BatchStore, resumable
from diffrob.stats.records import uniform_input


def flat(x: torch.Tensor) -> torch.Tensor:
    """Images (N, ...) as float64 vectors (N, D)."""
    return x.reshape(x.shape[0], -1).double()


def l2_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image Euclidean distance ||a - b||_2 in pixel units."""
    return (flat(a) - flat(b)).norm(dim=1)


def linf_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image max-norm distance ||a - b||_inf."""
    return (flat(a) - flat(b)).abs().amax(dim=1)


def trajectory_distances(states: list[torch.Tensor], clean: torch.Tensor) -> dict[str, torch.Tensor]:
    """l2 and l_inf distance to the clean images of every state of a purification (Fig. 1c, S1).

    Returns tensors of shape (n_states, N).
    """
    return {
        "l2": torch.stack([l2_distance(s, clean) for s in states]),
        "linf": torch.stack([linf_distance(s, clean) for s in states]),
    }


def process_time(n_forward: int, t_star: int, reverse_timesteps: tuple[int, ...]) -> list[int]:
    """x-axis of Fig. 1c for each state: the input at 0, forward step t at t+1, a reverse step to p at 2t*-(p+1).

    The forward phase ends at t* (the "Max" of Tables S3-S4) and the reverse phase at 2t* ("End").
    Reverse-only chains have no forward phase: their input sits at t*.
    """
    forward = list(range(n_forward + 1)) if n_forward else [t_star]
    prevs = [*reverse_timesteps[1:], -1]
    return forward + [2 * t_star - (p + 1) for p in prevs]


SSIM_SIGMA = 1.5


SSIM_WINDOW = 11  # scikit-image's Gaussian window at sigma 1.5 (truncated at 3.5 sigma): Wang et al.'s 11x11


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image structural similarity as Wang et al. (2004) define it, with data range 1, via scikit-image:
    a Gaussian window of sigma 1.5 (11x11), population covariances, K1 = 0.01, K2 = 0.03 (scikit-image's
    documented settings for matching Wang et al.). Images smaller than 11 pixels (the 8x8 digits) keep the
    Gaussian weights; only the border left out of the mean shrinks to the largest odd window they hold."""
    from skimage.metrics import structural_similarity

    a_np, b_np = a.detach().cpu().double().numpy(), b.detach().cpu().double().numpy()
    size = min(a_np.shape[-1], a_np.shape[-2])
    crop = None if size >= SSIM_WINDOW else (size if size % 2 == 1 else size - 1)
    settings = {"gaussian_weights": True, "sigma": SSIM_SIGMA, "use_sample_covariance": False, "win_size": crop}
    values = [
        structural_similarity(x, y, data_range=1.0, channel_axis=0, **settings) for x, y in zip(a_np, b_np, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float64)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID).

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2): pytorch-fid's quantity, with the trace
    of the root taken from the eigenvalues of the symmetric product, so it stays real when the
    covariances are singular (fewer images than feature dimensions), where the square root of the
    non-symmetric product S_a S_b that pytorch-fid takes picks up imaginary parts and raises.
    """
    fa, fb = features_a.detach().cpu().double().numpy(), features_b.detach().cpu().double().numpy()
    cov_a, cov_b = np.atleast_2d(np.cov(fa, rowvar=False)), np.atleast_2d(np.cov(fb, rowvar=False))
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    root_a = (eigenvectors * np.sqrt(eigenvalues.clip(min=0))) @ eigenvectors.T
    trace_root = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    shift = fa.mean(0) - fb.mean(0)
    return float(shift @ shift + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def trajectory_along(
    purifier: DiffusionPurifier, images: torch.Tensor, positions: Sequence[int], seed: int, clean: torch.Tensor
) -> dict[str, torch.Tensor]:
    """l2 and l_inf distances to ``clean`` of every state of f_xi_s(images), chunk by chunk: (n_states, N) each."""
    parts: list[dict[str, torch.Tensor]] = []
    start = 0
    for states in purifier.trajectory(images, positions, seed):
        stop = start + states[0].shape[0]
        parts.append(trajectory_distances(states, clean[start:stop]))
        start = stop
    return {norm: torch.cat([p[norm] for p in parts], dim=1) for norm in ("l2", "linf")}


def uniform_perturbation(images: torch.Tensor, epsilon: float, seed: int) -> torch.Tensor:
    """x0 + eta with eta uniform in the l_inf ball of radius ``epsilon`` (not clipped, as Table S3)."""
    return images + uniform(images.shape, -epsilon, epsilon, seed)


def trajectories(
    purifier: DiffusionPurifier,
    eval_set: ImageSet,
    shards: Mapping[str, str | Path],
    uniform_epsilons: Sequence[float],
    seed: int,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Distances to the clean images along the purification (Fig. 1c, S1, S3; Tables S3, S4).

    ``shards`` maps an attack name (pgd, pgd_eot, bpda, bpda_eot) to a shard; uniform noise at each of
    ``uniform_epsilons`` is added. Returns per-state mean and sd over images, and init/max/end rows.
    With a ``store``, each input's distances are saved as they finish and reused after a kill.
    """
    inputs = {name: (None, load_evaluation_shard(path, eval_set).adversarial) for name, path in shards.items()}
    for k, eps in enumerate(uniform_epsilons):
        inputs[uniform_input(eps)] = (float(eps), uniform_perturbation(eval_set.images, eps, seed=7919 + k))
    c = purifier.chain
    xs = process_time(len(c.forward_timesteps), c.t_star, c.reverse_timesteps)
    series, records = {}, []
    positions = range(len(eval_set))
    peak = len(c.forward_timesteps) if c.forward_timesteps else 0
    for number, (name, (epsilon, images)) in enumerate(tqdm(inputs.items(), desc="trajectories")):
        along = partial(trajectory_along, purifier, images, positions, seed, eval_set.images)
        d = resumable(store, number, eval_set.indices, along)
        series[name] = {
            norm: {"mean": d[norm].mean(1).tolist(), "sd": d[norm].std(1).tolist()} for norm in ("l2", "linf")
        }
        source = "uniform" if epsilon is not None else name
        for norm in ("l2", "linf"):
            for stage, state in (("init", 0), ("max", peak), ("end", -1)):
                key = {"sampler": c.sampler, "t_star": c.t_star, "input": source, "epsilon": epsilon}
                records.append(as_record("distance_along_chain", d[norm][state], **key, norm=norm, stage=stage))
    return {"sampler": c.sampler, "t_star": c.t_star, "x": xs, "series": series, "records": records}


def table1(
    purifier: DiffusionPurifier,
    eval_set: ImageSet,
    shard_paths: Sequence[str | Path],
    features: FeatureFunction,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Table 1: l2, l_inf, SSIM and FID to the clean images before -> after purification under xi_s.

    One value per seed (the shard's own xi_s), reported as mean +- sd over seeds. FID is the Frechet
    distance of ``features`` (pytorch-fid's Inception at paper scale, :mod:`diffrob.measure.features`). With a
    ``store``, each shard's values are saved as they finish and reused after a kill.
    """
    clean = eval_set.images
    keys = [(metric, stage) for stage in ("before", "after") for metric in ("l2", "linf", "ssim", "fid")]

    def features_of(images: torch.Tensor) -> torch.Tensor:
        return features_in_chunks(features, images, purifier.chunks.chain, purifier.device)

    @cache
    def clean_features() -> torch.Tensor:  # once, and only when a shard is computed rather than loaded back
        return features_of(clean)

    def distances(shard: AttackShard) -> dict[str, torch.Tensor]:
        after = purifier(shard.adversarial, range(len(eval_set)), int(shard.info["seed"]))
        values = [
            value
            for images in (shard.adversarial, after)
            for value in (
                float(l2_distance(images, clean).mean()),
                float(linf_distance(images, clean).mean()),
                float(ssim(images, clean).mean()),
                frechet_distance(features_of(images), clean_features()),
            )
        ]
        return {"values": torch.tensor(values, dtype=torch.float64)}

    per_seed: dict[tuple[str, str], list[float]] = {key: [] for key in keys}
    for number, path in enumerate(tqdm(shard_paths, desc="table 1")):
        shard = load_evaluation_shard(path, eval_set)
        values = resumable(store, number, eval_set.indices, partial(distances, shard))["values"]
        for key, value in zip(keys, values.tolist(), strict=True):
            per_seed[key].append(value)
    sampler = purifier.chain.sampler
    return {
        "records": [
            as_record("distance_to_clean", values, sampler=sampler, metric=metric, stage=stage)
            for (metric, stage), values in per_seed.items()
        ]
    }
