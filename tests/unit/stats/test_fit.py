"""The sigmoid fit recovers a synthetic logistic curve."""

import numpy as np
import pytest

from diffrob.stats.fit import fit_sigmoid, logistic, r_squared


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


def _write_point_files(folder, points):
    """Compression and shard-metric files of the shape the workflow writes, one pair per (sampler, t*, rate, acc)."""
    from diffrob.io import write_json
    from diffrob.stats.records import record

    compression, metrics = [], []
    for sampler, t, rate, accuracy in points:
        c, m = folder / f"c-{sampler}-{t}.json", folder / f"m-{sampler}-{t}.json"
        uniform = record("compression_rate", [rate], sampler=sampler, t_star=t, input="uniform")
        write_json({"sampler": sampler, "t_star": t, "records": [uniform]}, c)
        write_json({"sampler": sampler, "t_star": t, "randomness": "fixed", "attack": "pgd", "acc_own": accuracy}, m)
        compression.append(str(c))
        metrics.append(str(m))
    return compression, metrics


def test_sigmoid_from_files_records_why_it_did_not_fit(tmp_path):
    from diffrob.stats.fit import sigmoid_from_files

    three = _write_point_files(tmp_path, [("ddpm", 5, 0.9, 10.0), ("ddpm", 10, 0.6, 30.0), ("ddpm", 20, 0.3, 60.0)])
    result = sigmoid_from_files(*three)
    assert result["fit"] is None and "3 (sampler, t*) point(s)" in result["reason"]
    assert len(result["points"]) == 3
    flat = _write_point_files(tmp_path, [("reverse", t, 0.5, 10.0 * k) for k, t in enumerate((5, 10, 20, 40))])
    assert "same compression rate" in sigmoid_from_files(*flat)["reason"]
    four = _write_point_files(
        tmp_path, [("ddim", t, 1.0 - 0.2 * k, 10.0 + 20 * k) for k, t in enumerate((5, 10, 20, 40))]
    )
    result = sigmoid_from_files(*four)
    assert result["fit"] is not None and result["reason"] is None
