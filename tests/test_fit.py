"""The sigmoid fit recovers a synthetic logistic curve."""

import numpy as np
import pytest

from diffrob.fit import fit_sigmoid, logistic, r_squared


def test_fit_recovers_the_parameters_of_a_synthetic_logistic():
    alpha = np.linspace(0.1, 0.6, 15)
    rng = np.random.default_rng(0)
    y = logistic(alpha, 80.0, 0.3, 0.05) + rng.normal(0, 0.2, alpha.size)
    fit = fit_sigmoid(alpha, y)
    assert fit["top"] == pytest.approx(80.0, rel=0.03)
    assert fit["midpoint"] == pytest.approx(0.3, abs=0.005)
    assert fit["width"] == pytest.approx(0.05, rel=0.05)
    assert fit["r2"] > 0.99
    assert fit["at_zero"] == pytest.approx(logistic(0.0, 80.0, 0.3, 0.05), rel=0.03)


def test_r_squared_is_one_for_a_perfect_prediction_and_zero_for_the_mean():
    y = np.array([1.0, 2.0, 4.0])
    assert r_squared(y, y) == 1.0
    assert r_squared(y, np.full(3, y.mean())) == pytest.approx(0.0)


def test_fit_refuses_too_few_points():
    with pytest.raises(ValueError, match="at least 4 points"):
        fit_sigmoid([0.1, 0.2, 0.3], [50, 40, 30])


def test_fit_starts_inside_its_bounds_when_accuracy_is_100_percent():
    fit = fit_sigmoid([0.1, 0.2, 0.3, 0.4], [100.0, 100.0, 90.0, 40.0])
    assert 0 <= fit["top"] <= 100
