"""Compression of the input space (Sec. 5): the compression rate (eq. 10, Tables 6-7) under a fixed xi, the Jacobian's
spectrum (Fig. 3a), and the undefended classifier's curve over budgets (Fig. 3c)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from diffrob.attack.accuracy import accuracy_percent
from diffrob.attack.pgd import AttackSettings, linf_pgd_in_batches
from diffrob.attack.purified import frozen, predict
from diffrob.attack.shards import load_evaluation_shard
from diffrob.data import ImageSet
from diffrob.measure.common import as_record
from diffrob.measure.distances import l2_distance, uniform_perturbation
from diffrob.models.classifier import load_classifier
from diffrob.purify.pipeline import DiffusionPurifier
from diffrob.resume import BatchStore, resumable
from diffrob.runtime import device


def central_patch(shape: tuple[int, ...], side: int) -> list[int]:
    """Flat indices (into C x H x W) of the central ``side`` x ``side`` patch of an image, all channels."""
    channels, height, width = shape
    if not 1 <= side <= min(height, width):
        raise ValueError(f"the Jacobian patch side must be in [1, {min(height, width)}], got {side}")
    top, left = (height - side) // 2, (width - side) // 2
    grid = torch.arange(channels * height * width).reshape(channels, height, width)
    return grid[:, top : top + side, left : left + side].flatten().tolist()


def jacobian(
    function: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    rows_per_pass: int,
    entries: Sequence[int] | None = None,
) -> torch.Tensor:
    """Exact Jacobian of ``function`` at one image ``x0`` (C, H, W), by reverse mode, ``rows_per_pass`` rows at a time.

    Row k is the gradient of output pixel k: ``x0`` is replicated once per row of a pass and each
    copy's own output pixel is differentiated, so memory is that of ``rows_per_pass`` images,
    whatever the image size. ``function`` must treat the copies alike (the same fixed noise for
    every copy). With ``entries`` (flat pixel indices, e.g. :func:`central_patch`) only the block
    ``J[entries, entries]`` is computed; otherwise the whole (D, D) matrix.
    """
    if rows_per_pass < 1:
        raise ValueError(f"rows_per_pass must be >= 1, got {rows_per_pass}")
    wanted = list(range(x0.numel())) if entries is None else [int(e) for e in entries]
    blocks = []
    for start in range(0, len(wanted), rows_per_pass):
        rows = torch.tensor(wanted[start : start + rows_per_pass], device=x0.device)
        batch = x0.detach().unsqueeze(0).repeat(len(rows), *([1] * x0.dim())).requires_grad_(True)
        out = function(batch).reshape(len(rows), -1)
        out[torch.arange(len(rows), device=x0.device), rows].sum().backward()
        grad = batch.grad.reshape(len(rows), -1)
        blocks.append((grad if entries is None else grad[:, torch.tensor(wanted, device=x0.device)]).double().cpu())
    return torch.cat(blocks)


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values of a matrix, descending."""
    return torch.linalg.svdvals(matrix.double())


def compression_rate(f_x: torch.Tensor, f_x0: torch.Tensor, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """Per-image compression rate (eq. 10): ||f_xi(x) - f_xi(x0)|| / ||x - x0||, xi fixed."""
    return l2_distance(f_x, f_x0) / l2_distance(x, x0).clamp_min(1e-12)


def jacobian_spectrum(
    purifier: DiffusionPurifier,
    eval_set: ImageSet,
    n_images: int,
    seed: int,
    patch: int | None = None,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Singular values of the exact Jacobian of f_xi at clean images (Fig. 3a), xi = xi_s fixed; with a
    ``store``, each image's values are saved as they finish and reused after a kill.

    ``patch``: restrict the Jacobian to the central ``patch`` x ``patch`` pixels (all channels) of input
    and output, a principal block of J; None takes the whole image. Rows are taken
    ``chunks.jacobian_rows`` per backward pass.
    """
    values = []
    shape = tuple(eval_set.images.shape[1:])
    entries = None if patch is None else central_patch(shape, int(patch))
    for i in tqdm(range(n_images), desc="jacobians"):
        x0 = eval_set.images[i].to(purifier.device)

        def f(batch: torch.Tensor, position: int = i) -> torch.Tensor:
            noise = purifier.noise(seed, [position] * batch.shape[0], batch.shape[1:])
            return purifier.purify(batch, noise)

        def spectrum(f: Callable[[torch.Tensor], torch.Tensor] = f, x0: torch.Tensor = x0) -> dict[str, torch.Tensor]:
            return {"singular_values": singular_values(jacobian(f, x0, purifier.chunks.jacobian_rows, entries))}

        values.append(resumable(store, i, eval_set.indices[i : i + 1], spectrum)["singular_values"])
    sv = torch.cat(values)
    sampler = purifier.chain.sampler
    share = partial(as_record, "singular_value_share", sampler=sampler)
    records = [
        share([float((sv < 0.25).double().mean())], relation="below", threshold=0.25),
        share([float((sv > 1.0).double().mean())], relation="above", threshold=1.0),
        as_record("median_singular_value", [float(sv.median())], sampler=sampler),
    ]
    size = "the whole image" if patch is None else f"the central {patch}x{patch} patch"
    return {
        "singular_values": sv.tolist(),
        "records": records,
        "sampler": purifier.chain.sampler,
        "jacobian_of": size,
        "dimension": len(entries) if entries is not None else int(eval_set.images[0].numel()),
    }


class CompressionUnderSeed:
    """Per-image compression rates (eq. 10) of a purifier under fixed xi_s: ``rates(inputs, s)`` is
    ||f_s(inputs) - f_s(x0)|| / ||inputs - x0||, with f_s(x0) purified once per seed."""

    def __init__(self, purifier: Callable[..., torch.Tensor], clean: torch.Tensor):
        self.purifier, self.clean, self.positions = purifier, clean, range(clean.shape[0])
        self._clean_outputs: dict[int, torch.Tensor] = {}

    def clean_output(self, seed: int) -> torch.Tensor:
        """f_s(x0), purified once per seed."""
        if seed not in self._clean_outputs:
            self._clean_outputs[seed] = self.purifier(self.clean, self.positions, seed)
        return self._clean_outputs[seed]

    def __call__(self, inputs: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
        purified = self.purifier(inputs, self.positions, seed)
        return {"rates": compression_rate(purified, self.clean_output(seed), inputs, self.clean)}


UNIFORM_NOISE_SEED = 15485863  # the uniform perturbations' stream (seed + k for the k-th base seed)


def uniform_compression_rates(
    rates_of: CompressionUnderSeed,
    eval_set: ImageSet,
    seeds: Sequence[int],
    epsilon: float,
    store: BatchStore | None = None,
) -> list[torch.Tensor]:
    """Per-image compression rates (eq. 10) of x0 + uniform l_inf noise of radius ``epsilon`` under each base
    seed of ``seeds`` (one tensor per seed); with a ``store``, each seed's rates are saved and reused after a kill."""
    out = []
    for k, seed in enumerate(tqdm(seeds, desc="compression (uniform)")):
        noisy = uniform_perturbation(eval_set.images, epsilon, seed=UNIFORM_NOISE_SEED + k)
        out.append(resumable(store, k, eval_set.indices, partial(rates_of, noisy, seed))["rates"])
    return out


def compression(
    purifier: DiffusionPurifier,
    eval_set: ImageSet,
    seeds: Sequence[int],
    shard_paths: Sequence[str | Path],
    epsilon: float,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Compression rates (eq. 10; Tables 6, 7) under fixed xi_s.

    * uniform: x = x0 + uniform l_inf noise of radius ``epsilon``, under each base seed of ``seeds``;
      rates are averaged per image over seeds, then reported as mean +- sd over images;
    * PGD robust / non-robust: x = each shard's adversarial image under the shard's own xi_s, split by
      whether the attack failed (rows absent without shards, or where no image falls in a group).

    With a ``store``, the rates of each seed and of each shard are saved as they finish and reused after a kill.
    """
    if not seeds:
        raise ValueError("compression needs at least one base seed")
    rates_of = CompressionUnderSeed(purifier, eval_set.images)
    uniform_rates = uniform_compression_rates(rates_of, eval_set, seeds, epsilon, store)
    robust, nonrobust = [], []
    for j, path in enumerate(tqdm(shard_paths, desc="compression (shards)")):
        shard = load_evaluation_shard(path, eval_set)
        seed = int(shard.info["seed"])
        rates = resumable(store, len(seeds) + j, eval_set.indices, partial(rates_of, shard.adversarial, seed))["rates"]
        robust.append(rates[shard.correct])
        nonrobust.append(rates[~shard.correct])
    spec = purifier.chain
    key = {"sampler": spec.sampler, "t_star": spec.t_star}
    records = [as_record("compression_rate", torch.stack(uniform_rates).mean(0), **key, input="uniform")]
    for source, parts in (("pgd_robust", robust), ("pgd_nonrobust", nonrobust)):
        values = torch.cat(parts) if parts else torch.empty(0)
        if values.numel():
            records.append(as_record("compression_rate", values, **key, input=source))
    return {"sampler": spec.sampler, "t_star": spec.t_star, "records": records}


def base_classifier_curve(
    classifier_path: str | Path, eval_set: ImageSet, attack: Mapping[str, Any], scales: Sequence[float]
) -> dict[str, Any]:
    """Fig. 3c: the undefended classifier's PGD accuracy at budgets epsilon * alpha for each scale alpha."""
    classifier = frozen(load_classifier(classifier_path)).to(device())
    images, labels = eval_set.images.to(device()), eval_set.labels.to(device())
    points = []
    for alpha in tqdm(scales, desc="base classifier budgets"):
        settings = AttackSettings.from_mapping(attack, scale=alpha)
        adversarial = linf_pgd_in_batches(classifier, images, labels, settings, seed=0)
        correct = predict(classifier, adversarial, settings.batch_size) == labels
        points.append({"scale": alpha, "accuracy": accuracy_percent(correct)})
    return {
        "points": points,
        "records": [
            as_record("undefended_accuracy_pct", [p["accuracy"]], len(labels), scale=p["scale"]) for p in points
        ],
    }
