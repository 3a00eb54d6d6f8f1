"""The paper's measurement experiments on loaded models: each returns JSON-able results.

The measurements of the purifier take the purification pipeline itself (:func:`load_purifier` builds the
workflow's from a model folder and a chain mapping; tests pass simpler purifiers with the same calls), an
:class:`ImageSet` and plain settings, and know nothing of the workflow. Results carry typed
``records`` (:mod:`diffrob.records`: a quantity, its tidy key, mean, sd and n; the paper's names are
given in :mod:`diffrob.results`) plus raw series for the figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from diffrob.attack import (
    AttackSettings,
    PurifiedClassifier,
    SpeedOptions,
    attack_gradient,
    frozen,
    linf_pgd_in_batches,
    predict,
    purified_classifier,
)
from diffrob.data import ImageSet
from diffrob.evaluate import AttackShard, accuracy_percent, load_evaluation_shard, load_models
from diffrob.features import FeatureFunction, features_in_chunks
from diffrob.measure import (
    CENTROIDS,
    central_patch,
    centroid_distances,
    compression_rate,
    direction_correlations,
    frechet_distance,
    jacobian,
    l2_distance,
    linf_distance,
    perturbation_correlation,
    process_time,
    singular_values,
    ssim,
    trajectory_distances,
    variance_decomposition,
)
from diffrob.models import load_classifier, load_diffusion
from diffrob.n_evaluation import STATISTICS, accuracy_curves
from diffrob.noise import evaluation_seed, uniform
from diffrob.pipeline import DiffusionPurifier, PurifierSpec, build_purifier
from diffrob.records import record, uniform_input
from diffrob.resume import BatchStore, resumable
from diffrob.runtime import device
from diffrob.streams import ALIGNMENT_DRAWS, ALIGNMENT_TEST_DRAWS


def as_record(
    quantity: str, values: Sequence[float] | torch.Tensor, images: int | None = None, **key: Any
) -> dict[str, Any]:
    """A typed record (:func:`diffrob.records.record`) of ``values`` (a tensor is flattened)."""
    flat_values = values.detach().cpu().flatten().tolist() if isinstance(values, torch.Tensor) else list(values)
    return record(quantity, [float(v) for v in np.ravel(flat_values)], images, **key)


def load_purifier(
    ddpm_dir: str | Path, chain: Mapping[str, Any], indices: Sequence[int], revision: str | None = None
) -> DiffusionPurifier:
    """The purification pipeline of a job: the diffusion model of ``ddpm_dir`` (a folder, or a hub id at
    ``revision``) on the device, run as ``chain`` says. Noise is keyed over an evaluation set with data-set
    ``indices``.
    """
    unet, scheduler = load_diffusion(ddpm_dir, revision)
    return build_purifier(frozen(unet.to(device())), scheduler, PurifierSpec.from_mapping(chain), indices)


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
    distance of ``features`` (pytorch-fid's Inception at paper scale, :mod:`diffrob.features`). With a
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


def input_gradient(model: PurifiedClassifier, x: torch.Tensor, labels: torch.Tensor, positions: range) -> torch.Tensor:
    """The gradient PGD steps along: d CE(model(x), labels) / dx, for the samples at ``positions``."""
    model.use_batch(positions)
    x = x.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(x), labels, reduction="sum").backward()  # the chain is checkpointed
    return x.grad.detach()


def gradient_alignment(
    ddpm_dir: str | Path,
    classifier_path: str | Path,
    eval_set: ImageSet,
    chain: Mapping[str, Any],
    shard_path: str | Path,
    attack: Mapping[str, Any],
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """Table 5, second row: how well the EOT attack's gradient points where the test system's does.

    At each adversarial image x of the EOT shard (a point the attack reached), the per-image Pearson
    correlation between the EOT gradient -- of the cross-entropy of the logits averaged over K fresh draws
    of xi (eq. 9), as the attack computes it -- and the gradient of g(f_{xi_test}(x)) under one further
    fresh xi, the system the test then faces (the paper's "optimal attack"). Both use the shard's gradient
    (full or BPDA). The draws come from their own range (:data:`diffrob.streams.ALIGNMENT_DRAWS`); with a
    ``store``, each batch is saved as it finishes, with the draw counters, and reused after a kill.
    """
    shard = load_evaluation_shard(shard_path, eval_set)
    name, seed = str(shard.info["attack"]), int(shard.info["seed"])
    settings = AttackSettings.from_mapping(attack, name)
    unet, scheduler, classifier = load_models(ddpm_dir, classifier_path)
    spec, indices, gradient = PurifierSpec.from_mapping(chain), eval_set.indices.tolist(), attack_gradient(name)
    speed = SpeedOptions.from_mapping(attack.get("speed"))  # the gradient as the attack computed it
    models = [
        purified_classifier(unet, scheduler, classifier, spec, indices, seed, "free", first, gradient, speed)
        for first in (ALIGNMENT_DRAWS, ALIGNMENT_TEST_DRAWS)
    ]
    eot, test = models
    eot.eot_samples = settings.eot_samples
    images, labels = shard.adversarial.to(device()), shard.labels.to(device())
    parts = []
    for number, start in enumerate(tqdm(range(0, len(labels), settings.batch_size), desc="gradient alignment")):
        rows = range(start, min(start + settings.batch_size, len(labels)))

        def align(rows: range = rows) -> dict[str, torch.Tensor]:
            x, y = images[rows.start : rows.stop], labels[rows.start : rows.stop]
            pair = [input_gradient(model, x, y, rows) for model in models]
            draws = torch.tensor([eot.calls, test.calls])
            return {"correlation": perturbation_correlation(*pair).double().cpu(), "draws": draws}

        done = resumable(store, number, eval_set.indices[rows.start : rows.stop], align)
        eot.calls, test.calls = (int(d) for d in done["draws"])  # the next batch draws on from here
        parts.append(done["correlation"])
    records = [as_record("gradient_correlation", torch.cat(parts), attack=name)]
    return {"records": records, "eot_samples": settings.eot_samples}


def correlations(eval_set: ImageSet, pairs: Sequence[tuple[str | Path, str | Path]]) -> dict[str, Any]:
    """Table 5: per-image Pearson correlation of the adversarial perturbations x_adv - x0 of shard pairs.

    ``pairs`` holds two shards of one attack and randomness under different base seeds each, as the experiment
    design pairs them (:meth:`diffrob.design.Design.correlation_pairs`); pairs of one (attack, randomness)
    are pooled into one record.
    """
    pooled: dict[tuple[str, str], list[torch.Tensor]] = {}
    for first, second in pairs:
        shards = [load_evaluation_shard(path, eval_set) for path in (first, second)]
        keys = {(str(s.info["attack"]), str(s.info["randomness"])) for s in shards}
        if len(keys) != 1:
            why = f"a Table 5 pair needs one attack and randomness, got {sorted(keys)}"
            raise ValueError(f"{first} and {second}: {why}")
        deltas = [s.adversarial - eval_set.images for s in shards]
        pooled.setdefault(keys.pop(), []).append(perturbation_correlation(*deltas))
    records = [
        as_record("perturbation_correlation", torch.cat(parts), attack=attack, randomness=randomness)
        for (attack, randomness), parts in pooled.items()
    ]
    return {"records": records}


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


def n_evaluation_predictions(
    purifier: DiffusionPurifier,
    classifier: torch.nn.Module,
    images: torch.Tensor,
    draws: int,
    batch_size: int,
    store: BatchStore | None = None,
) -> torch.Tensor:
    """The classes ``classifier`` predicts for ``images`` (the evaluation set's rows in order) purified under each
    of ``draws`` N-evaluation draws (:func:`diffrob.noise.evaluation_seed`): shape (draws, images). With a
    ``store``, each finished draw is saved and reused after a kill."""
    positions, samples = list(range(images.shape[0])), torch.arange(images.shape[0])

    def one_draw(draw: int) -> dict[str, torch.Tensor]:
        purified = purifier(images, positions, evaluation_seed(draw))
        return {"predicted": predict(classifier, purified.to(device()), batch_size).cpu()}

    rows = [
        resumable(store, draw, samples, partial(one_draw, draw))["predicted"]
        for draw in tqdm(range(draws), desc="N-evaluation draws")
    ]
    return torch.stack(rows)


def n_evaluation(
    purifier: DiffusionPurifier,
    classifier: torch.nn.Module,
    shard: AttackShard,
    draws: int,
    key: Mapping[str, Any],
    batch_size: int,
    store: BatchStore | None = None,
) -> dict[str, Any]:
    """DiffHammer's and DiffBreak's evaluation of an adversarial set (:mod:`diffrob.n_evaluation`): a shard's images
    (rows in evaluation-set order, :func:`diffrob.evaluate.load_evaluation_shard`) under ``draws`` independent xi,
    as average, worst-of-N' and majority-vote accuracy for N' = 1 .. draws (``curves``) and as records at
    N' = draws, keyed by ``key`` (the shard's model, attack and seed); ``batch_size`` images are classified at once."""
    images, labels = shard.adversarial.to(device()), shard.labels
    predictions = n_evaluation_predictions(purifier, classifier, images, draws, batch_size, store)
    curves = accuracy_curves(predictions.numpy(), labels.numpy())
    records = [
        record("n_evaluation_accuracy_pct", [curves[s][-1]], len(labels), statistic=s, draws=int(draws), **key)
        for s in STATISTICS
    ]
    return {**dict(key), "curves": {k: v.tolist() for k, v in curves.items()}, "n": len(labels), "records": records}
