"""diffrob screen: a purifier's compression, clean accuracy and predicted robustness without an attack; the
sigmoid's prediction band and leave-one-out error; clear errors for a callable that misbehaves."""

import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from diffrob.data import ImageSet
from diffrob.measure.compression import CompressionUnderSeed, compression, uniform_compression_rates
from diffrob.measure.screen import CallablePurifier, load_callable, screen, screen_records
from diffrob.stats.fit import fit_sigmoid, leave_one_out, logistic, prediction_band
from tests.helpers import ROOT

TRUE = {"top": 90.0, "midpoint": 0.5, "width": 0.08}


def _points(noise=0.0, n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0.2, 0.9, n)
    y = logistic(x, **TRUE) + noise * rng.standard_normal(n)
    pairs = enumerate(zip(x, y, strict=True))
    return [{"sampler": "ddpm", "t_star": k, "compression": float(a), "robustness": float(b)} for k, (a, b) in pairs]


def _fit(points):
    return fit_sigmoid([p["compression"] for p in points], [p["robustness"] for p in points])


def test_the_prediction_band_holds_the_fit_and_widens_with_noise():
    quiet, noisy = _fit(_points(0.5)), _fit(_points(5.0))
    value, low, high = prediction_band(quiet, 0.5)
    assert low < value < high and value == pytest.approx(45.0, abs=2.0)
    _, noisy_low, noisy_high = prediction_band(noisy, 0.5)
    assert noisy_high - noisy_low > 3 * (high - low)


def test_leave_one_out_predicts_held_out_points_of_a_true_sigmoid():
    result = leave_one_out(_points(1.0))
    assert result["failed"] == 0 and len(result["predictions"]) == 12
    assert result["mae"] < 3.0 and result["coverage"] >= 0.75


def test_leave_one_out_reports_a_point_off_the_sigmoid():
    points = _points(1.0)
    points[6]["robustness"] += 40.0  # far off the curve: predicted from the others it must miss
    result = leave_one_out(points)
    miss = result["predictions"][6]
    assert abs(miss["predicted"] - miss["observed"]) > 25 and not miss["low"] <= miss["observed"] <= miss["high"]
    assert result["mae"] > leave_one_out(_points(1.0))["mae"]


def _images(n=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand((n, 1, 4, 4), generator=gen) * 0.6 + 0.2
    return ImageSet(images, torch.arange(n) % 2, torch.arange(100, 100 + n))


class _MeanClassifier(torch.nn.Module):
    def forward(self, x):
        score = x.flatten(1).mean(1, keepdim=True) - 0.5
        return torch.cat([-score, score], dim=1)


def _shrink(images, seed):
    return 0.5 + 0.25 * (images - 0.5)  # compresses every input direction by 4


def test_screening_a_known_purifier_finds_its_compression():
    eval_set = _images()
    fit = _fit(_points(0.5))
    result = screen(CallablePurifier(_shrink, "shrink"), _MeanClassifier(), eval_set, 0.1, [0, 1], fit)
    assert result["compression"]["value"] == pytest.approx(0.25, abs=1e-5)
    assert result["compression"]["ci_low"] <= 0.25 <= result["compression"]["ci_high"] + 1e-6
    predicted = result["predicted_accuracy"]
    measured = result["compression"]["value"]
    assert predicted["value"] == pytest.approx(float(logistic(measured, **fit_params(fit))), abs=1e-9)
    assert predicted["ci_low"] < predicted["value"] < predicted["ci_high"]
    assert 0 <= result["clean_accuracy"]["ci_low"] <= result["clean_accuracy"]["value"]
    estimates = {r["estimate"]: r for r in screen_records("shrink", result)}
    assert set(estimates) == {"compression", "clean_acc", "predicted_pgd_fix"}
    assert estimates["compression"]["images"] == 16


def fit_params(fit):
    return {k: fit[k] for k in ("top", "midpoint", "width")}


def test_the_screen_measures_what_the_workflows_compression_job_measures():
    eval_set = _images()

    class Pipeline:  # the pipeline's call, with a chain to name the record
        chain = types.SimpleNamespace(sampler="ddpm", t_star=10)

        def __call__(self, images, positions, seed):
            return _shrink(images, seed) + 0.01 * seed

    workflow = compression(Pipeline(), eval_set, [0, 3], [], 0.1)["records"][0]
    rates = uniform_compression_rates(CompressionUnderSeed(Pipeline(), eval_set.images), eval_set, [0, 3], 0.1)
    assert torch.stack(rates).mean(0).mean().item() == pytest.approx(workflow["value"], rel=1e-6)


@pytest.mark.parametrize(
    ("purify", "message"),
    [
        (lambda x, s: x[:, :, :2], "returned shape"),
        (lambda x, s: x * float("nan"), "NaN or infinite values for 16 images"),
        (lambda x, s: x + 1.0, "expected images in \\[0, 1\\]"),
        (lambda x, s: x.numpy(), "expected a torch.Tensor"),
    ],
)
def test_a_callable_that_misbehaves_is_named_with_what_was_wrong(purify, message):
    with pytest.raises(ValueError, match=message):
        screen(CallablePurifier(purify, "mine:purify"), _MeanClassifier(), _images(), 0.1, [0], None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "expected 'module:callable'"),
        ("no_such_module_xyz:f", "cannot import module"),
        ("math:no_such_name", "has no attribute"),
        ("math:pi", "is not callable"),
    ],
)
def test_a_callable_spec_that_names_nothing_usable_is_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        load_callable(spec)


def test_a_dotted_callable_is_found():
    assert load_callable("os.path:join")("a", "b") == "a/b"


def test_the_console_script_has_help():
    script = ROOT / ".venv" / "bin" / "diffrob"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "diffrob.cli"]
    result = subprocess.run([*command, "screen", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "--callable" in result.stdout and "--t-star" in result.stdout and "compression" in result.stdout


def test_screening_needs_a_seed():
    with pytest.raises(ValueError, match="at least one base seed"):
        screen(CallablePurifier(_shrink, "shrink"), _MeanClassifier(), _images(), 0.1, [], None)
