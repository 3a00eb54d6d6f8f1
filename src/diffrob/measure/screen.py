"""Screening a purifier without gradients: the first paper's practical promise, that the compression rate of the
input space (eq. 10) predicts robustness through the sigmoid of Fig. 3b.

A purifier is either a diffusion model (a diffusers folder or hub id, run as the workflow runs it at a sampler and
t*) or any Python callable ``purify(images, seed) -> images`` on batches in [0, 1] (:func:`load_callable`; its
output is checked by :class:`CallablePurifier`). :func:`screen` measures its uniform-noise compression rate under
fixed xi (with a t interval over images), its clean accuracy after purification (with a Wilson interval), and
predicts its fixed-randomness PGD accuracy from a fitted sigmoid (with a prediction band,
:func:`diffrob.stats.fit.prediction_band`). No attack and no gradient: seconds where the attack takes minutes.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from diffrob.data import ImageSet
from diffrob.measure.compression import CompressionUnderSeed, uniform_compression_rates
from diffrob.stats.fit import prediction_band
from diffrob.stats.intervals import CONFIDENCE, student_interval, wilson_interval


def load_callable(spec: str) -> Callable[..., torch.Tensor]:
    """The callable ``module:name`` names (``name`` may be dotted: ``pkg.mod:Class.method``); a clear error when
    the spec is malformed, the module cannot be imported or the name is missing or not callable."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"purifier {spec!r}: expected 'module:callable', e.g. 'mypackage.defences:purify'")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"purifier {spec!r}: cannot import module {module_name!r}: {err}") from err
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"purifier {spec!r}: {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"purifier {spec!r}: {attribute!r} is not callable")
    return target


class CallablePurifier:
    """A user's ``purify(images, seed)`` behind the pipeline's call ``(images, positions, seed)``, its output
    checked: a tensor of the input's shape, finite, in [0, 1] (within ``tolerance``)."""

    def __init__(self, purify: Callable[..., torch.Tensor], name: str, tolerance: float = 1e-5):
        self.purify, self.name, self.tolerance = purify, name, tolerance

    def __call__(self, images: torch.Tensor, positions: Sequence[int], seed: int) -> torch.Tensor:
        with torch.no_grad():
            out = self.purify(images.clone(), int(seed))
        where = f"purifier {self.name} (seed {seed}, {images.shape[0]} images)"
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"{where}: returned {type(out).__name__}, expected a torch.Tensor")
        if tuple(out.shape) != tuple(images.shape):
            raise ValueError(f"{where}: returned shape {tuple(out.shape)}, expected the input's {tuple(images.shape)}")
        out = out.detach().to("cpu", torch.float32)
        if not torch.isfinite(out).all():
            bad = int((~torch.isfinite(out)).flatten(1).any(1).sum())
            raise ValueError(f"{where}: returned NaN or infinite values for {bad} images")
        low, high = float(out.min()), float(out.max())
        if low < -self.tolerance or high > 1 + self.tolerance:
            raise ValueError(f"{where}: returned values in [{low:.4g}, {high:.4g}], expected images in [0, 1]")
        return out.clamp(0.0, 1.0)


def mean_interval(values: torch.Tensor, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean of per-image ``values`` with Student's t interval over the images (NaN bounds for one image)."""
    x = values.detach().double().flatten()
    mean = float(x.mean())
    if x.numel() < 2:
        return mean, math.nan, math.nan
    return (mean, *student_interval(mean, float(x.std()), x.numel(), confidence))


def screen(
    purifier: Callable[[torch.Tensor, Sequence[int], int], torch.Tensor],
    classifier: torch.nn.Module,
    eval_set: ImageSet,
    epsilon: float,
    seeds: Sequence[int],
    fit: dict | None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Screen ``purifier`` on ``eval_set``: its uniform-noise compression rate at ``epsilon`` under fixed xi_s for
    each base seed of ``seeds`` (eq. 10, averaged per image over seeds; mean and t interval over images), its
    clean accuracy after purification under xi_s of the first seed (Wilson interval), and the fixed-randomness PGD
    accuracy the sigmoid ``fit`` predicts at that rate, with its prediction band (None without a fit)."""
    from diffrob.attack.purified import predict

    if not seeds:
        raise ValueError("screening needs at least one base seed")
    rates_of = CompressionUnderSeed(purifier, eval_set.images)
    rates = torch.stack(uniform_compression_rates(rates_of, eval_set, seeds, epsilon)).mean(0)
    compression, compression_low, compression_high = mean_interval(rates)
    purified = rates_of.clean_output(int(seeds[0]))
    correct = predict(classifier, purified, batch_size).cpu() == eval_set.labels.cpu()
    clean = 100.0 * float(correct.float().mean())
    clean_low, clean_high = wilson_interval(clean, len(eval_set))
    result: dict[str, Any] = {
        "images": len(eval_set),
        "seeds": [int(s) for s in seeds],
        "epsilon": float(epsilon),
        "compression": {"value": compression, "ci_low": compression_low, "ci_high": compression_high},
        "clean_accuracy": {"value": clean, "ci_low": clean_low, "ci_high": clean_high},
        "predicted_accuracy": None,
    }
    if fit is not None:
        value, low, high = prediction_band(fit, compression)
        result["predicted_accuracy"] = {"value": value, "ci_low": low, "ci_high": high}
    return result


def describe(name: str, result: dict[str, Any]) -> str:
    """The screen's result in words, for the console."""

    def span(entry: dict[str, float], unit: str = "", digits: int = 3) -> str:
        return f"{entry['value']:.{digits}f}{unit} [{entry['ci_low']:.{digits}f}, {entry['ci_high']:.{digits}f}]"

    lines = [
        f"{name}: {result['images']} images, base seeds {result['seeds']}, uniform noise eps = {result['epsilon']:g}",
        f"  compression rate (eq. 10): {span(result['compression'])} (95% t interval over images)",
        f"  clean accuracy after purification: {span(result['clean_accuracy'], '%', 1)} (95% Wilson)",
    ]
    predicted = result["predicted_accuracy"]
    if predicted is None:
        lines.append("  predicted PGD accuracy under fixed randomness: no sigmoid fit to predict from")
    else:
        band = span(predicted, "%", 1)
        lines.append(f"  predicted PGD accuracy under fixed randomness: {band} (95% prediction band)")
    return "\n".join(lines)


ESTIMATES = {"compression": "compression", "clean_accuracy": "clean_acc", "predicted_accuracy": "predicted_pgd_fix"}


def screen_records(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The screen's estimates as typed records (:mod:`diffrob.stats.records`), each with its interval over the
    images."""
    from diffrob.stats.records import record

    out = []
    for field, estimate in ESTIMATES.items():
        entry = result.get(field)
        if entry is None:
            continue
        typed = record("screen_estimate", [entry["value"]], result["images"], purifier=name, estimate=estimate)
        out.append({**typed, "ci_low": entry["ci_low"], "ci_high": entry["ci_high"]})
    return out
