"""Randomness dominance (Sec. 3.2): the variance decomposition and SNR (eq. 7, 11), centroid radii (Table S6, Fig. 2f)
and purification directions (Fig. 2d-e)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from diffrob.data import ImageSet
from diffrob.measure.common import as_record
from diffrob.measure.distances import uniform_perturbation
from diffrob.purify.pipeline import DiffusionPurifier
from diffrob.resume import BatchStore, resumable


def variance_decomposition(outputs: torch.Tensor) -> dict[str, float]:
    """Law of total variance over inputs x and randomness xi (eq. 11) and the SNR (eq. 7).

    ``outputs`` has shape (n_xi, n_x, D): f(x_j | xi_k) for one clean image. Variances are
    population variances averaged over the D pixels, so ``total = input + internal`` exactly:
    input = E_xi[Var_x f(x|xi)], internal = Var_xi[E_x f(x|xi)], SNR = input / internal.
    """
    f = outputs.double()
    total = f.reshape(-1, f.shape[-1]).var(dim=0, unbiased=False).mean()
    input_var = f.var(dim=1, unbiased=False).mean(dim=0).mean()
    internal = f.mean(dim=1).var(dim=0, unbiased=False).mean()
    snr = float(input_var / internal) if internal > 0 else float("inf")
    return {"total": float(total), "input": float(input_var), "internal": float(internal), "snr": snr}


CENTROIDS = ("initial", "fixed_noise", "fixed_input", "vary_both", "inputs_about_mean")
"""The centroids of :func:`centroid_distances`: Table S6's four, then the inputs' ball measured as the outputs'
are (about their own mean), the like-for-like reference of the compression and expansion radii."""


def centroid_distances(outputs: torch.Tensor, inputs: torch.Tensor, clean: torch.Tensor) -> dict[str, torch.Tensor]:
    """l2 distances to centroids under each source of variability (Fig. 2f, Table S6).

    ``outputs`` (n_xi, n_x, D) are f(x_j | xi_k); ``inputs`` (n_x, D) the perturbed inputs x_j = x0 + eta_j;
    ``clean`` (D,) the clean image x0.

    * ``initial``: ||x_j - x0||, the input ball about its true centre (the paper's 1.004 = eps sqrt(D/3) at
      8/255 on CIFAR-10; about the inputs' own mean it would be biased low by sqrt(1 - 1/n_x));
    * ``fixed_noise``: ||f(x_j|xi) - mean_j f(x_j|xi)||, inputs vary under one xi (compression);
    * ``fixed_input``: ||f(x_j|xi) - mean_xi f(x_j|xi)||, xi varies for one input (expansion);
    * ``vary_both``: ||f(x_j|xi) - mean_{j,xi} f(x_j|xi)||;
    * ``inputs_about_mean``: ||x_j - mean_j x_j||, the input ball measured like the outputs' radii (their
      true centres are unknown), so that an identity purifier gives ``fixed_noise`` equal to it exactly.
    """
    f, x = outputs.double(), inputs.double()
    return {
        "initial": (x - clean.double().reshape(1, -1)).norm(dim=-1),
        "fixed_noise": (f - f.mean(dim=1, keepdim=True)).norm(dim=-1).flatten(),
        "fixed_input": (f - f.mean(dim=0, keepdim=True)).norm(dim=-1).flatten(),
        "vary_both": (f - f.mean(dim=(0, 1), keepdim=True)).norm(dim=-1).flatten(),
        "inputs_about_mean": (x - x.mean(0)).norm(dim=-1),
    }


def mean_pairwise_correlation(vectors: torch.Tensor) -> float:
    """Mean Pearson correlation over all distinct pairs of the rows of ``vectors`` (M, D)."""
    v = vectors.double()
    v = v - v.mean(dim=1, keepdim=True)
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    corr = v @ v.T
    m = corr.shape[0]
    return float((corr.sum() - corr.diagonal().sum()) / (m * (m - 1)))


def direction_correlations(outputs: torch.Tensor, inputs: torch.Tensor) -> dict[str, float]:
    """Correlation of purification directions f(x|xi) - x (Fig. 2d-e) for one clean image.

    ``fixed_image``: across xi for the same input (mean over inputs);
    ``fixed_noise``: across inputs under the same xi (mean over xi).
    """
    directions = outputs.double() - inputs.double().unsqueeze(0)  # (n_xi, n_x, D)
    fixed_image = np.mean([mean_pairwise_correlation(directions[:, j]) for j in range(directions.shape[1])])
    fixed_noise = np.mean([mean_pairwise_correlation(directions[k]) for k in range(directions.shape[0])])
    return {"fixed_image": float(fixed_image), "fixed_noise": float(fixed_noise)}


def randomness_of_image(
    purifier: DiffusionPurifier, image: torch.Tensor, position: int, n_perturbations: int, n_seeds: int, epsilon: float
) -> dict[str, torch.Tensor]:
    """One image's share of :func:`randomness`: f_xi over ``n_perturbations`` uniform perturbations of ``image``
    (evaluation-set ``position``) times ``n_seeds`` seeds; its variance parts and SNR (eq. 7, 11), direction
    correlations (float64 scalars) and distances to the centroids (``distances_<name>``)."""
    x0 = image.expand(n_perturbations, *image.shape[1:])
    perturbed = uniform_perturbation(x0, epsilon, seed=104729 + position)
    outputs = torch.stack([purifier(perturbed, [position] * n_perturbations, seed) for seed in range(n_seeds)])
    flat_out, flat_in = outputs.reshape(n_seeds, n_perturbations, -1), perturbed.reshape(n_perturbations, -1)
    measured = {
        name: torch.tensor(value, dtype=torch.float64) for name, value in variance_decomposition(flat_out).items()
    }
    distances = centroid_distances(flat_out, flat_in, image.reshape(-1)).items()
    measured |= {f"distances_{name}": d for name, d in distances}
    correlations = direction_correlations(flat_out, flat_in).items()
    measured |= {f"corr_{name}": torch.tensor(value, dtype=torch.float64) for name, value in correlations}
    return measured


def randomness(
    purifier: DiffusionPurifier,
    eval_set: ImageSet,
    n_images: int,
    n_perturbations: int,
    n_seeds: int,
    epsilon: float,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Randomness dominance (Sec. 3.2, App. A, C.3): images x uniform perturbations x seeds.

    Per image (:func:`randomness_of_image`): the variance decomposition and SNR (eq. 7, 11), centroid
    radii and direction correlations; reported as mean +- sd over images (Tables S5, S6; Fig. 2d-f).
    With a ``store``, each image's measurements are saved as they finish and reused after a kill.
    """
    parts: dict[str, list[float]] = {}
    pooled: dict[str, list[float]] = {}
    for i in tqdm(range(n_images), desc="randomness (images)"):
        image = eval_set.images[i : i + 1]
        measured = resumable(
            store,
            i,
            eval_set.indices[i : i + 1],
            lambda image=image, i=i: randomness_of_image(purifier, image, i, n_perturbations, n_seeds, epsilon),
        )
        for name in CENTROIDS:  # Table S6's order, whether computed or loaded back
            distances = measured.pop(f"distances_{name}")
            parts.setdefault(f"radius_{name}", []).append(float(distances.mean()))
            pooled.setdefault(name, []).extend(distances.tolist())
        for name, value in measured.items():
            parts.setdefault(name, []).append(float(value))
    records = [as_record("output_variance", parts[k], part=k) for k in ("total", "input", "internal")]
    records.append(as_record("snr", parts["snr"]))
    records += [as_record("centroid_radius", parts[f"radius_{k}"], centroid=k) for k in pooled]
    records += [as_record("direction_correlation", parts[f"corr_fixed_{k}"], held=k) for k in ("image", "noise")]
    return {"records": records, "distances": pooled, "per_image": parts}
