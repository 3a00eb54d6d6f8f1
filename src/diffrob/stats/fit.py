"""The lawful relation of Sec. 5: robustness as a sigmoid of the compression rate (Fig. 3b)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_POINTS = 4  # the 3-parameter sigmoid needs one point more than it has parameters


def logistic(alpha: np.ndarray | float, top: float, midpoint: float, width: float) -> np.ndarray | float:
    """Robust accuracy at compression rate ``alpha``: ``top / (1 + exp((alpha - midpoint) / width))``.

    Decreasing in ``alpha`` (less compression of the input space, less robustness); its value at
    ``alpha = 0`` is the extrapolation that the paper compares with clean accuracy.
    """
    return top / (1.0 + np.exp((np.asarray(alpha) - midpoint) / width))


def r_squared(observed: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``."""
    observed, predicted = np.asarray(observed, float), np.asarray(predicted, float)
    ss_tot = float(((observed - observed.mean()) ** 2).sum())
    ss_res = float(((observed - predicted) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def fit_sigmoid(compression: Sequence[float], robustness: Sequence[float]) -> dict[str, float]:
    """Least-squares fit of :func:`logistic` (scipy ``curve_fit``) to (compression, robust accuracy %) points.

    Returns the parameters, R^2, the number of points and the extrapolation to zero compression.
    """
    from scipy.optimize import curve_fit

    x, y = np.asarray(compression, float), np.asarray(robustness, float)
    if x.size < MIN_POINTS:
        raise ValueError(f"a 3-parameter sigmoid needs at least {MIN_POINTS} points, got {x.size}")
    spread = max(float(x.std()), 1e-3)
    lower, upper = np.array([0.0, -np.inf, 1e-4]), np.array([100.0, np.inf, np.inf])
    guess = np.array([max(float(y.max()), 1.0) * 1.2, float(np.median(x)), spread / 2])
    p0 = np.clip(guess, lower + 1e-6, upper - 1e-6)
    bounds = (lower, upper)
    params, covariance = curve_fit(logistic, x, y, p0=p0, bounds=bounds, maxfev=20000)
    top, midpoint, width = (float(p) for p in params)
    residuals = y - logistic(x, top, midpoint, width)
    dof = x.size - 3
    return {
        "top": top,
        "midpoint": midpoint,
        "width": width,
        "r2": r_squared(y, logistic(x, top, midpoint, width)),
        "at_zero": float(logistic(0.0, top, midpoint, width)),
        "n_points": int(x.size),
        "residual_sd": float(np.sqrt((residuals**2).sum() / dof)) if dof > 0 else float("nan"),
        "covariance": np.asarray(covariance, float).tolist(),
    }


def _gradient(alpha: float, top: float, midpoint: float, width: float) -> np.ndarray:
    """The gradient of :func:`logistic` at ``alpha`` with respect to (top, midpoint, width)."""
    z = (alpha - midpoint) / width
    e = np.exp(np.clip(z, -700, 700))
    d = 1.0 / (1.0 + e)
    common = top * e * d * d / width  # -d(value)/d(alpha)
    return np.array([d, common, common * z])


def prediction_band(fit: dict, alpha: float, confidence: float = 0.95) -> tuple[float, float, float]:
    """The sigmoid's prediction at compression rate ``alpha`` and its prediction band: a new point's robust
    accuracy lies in ``value ± t * sqrt(g' C g + s^2)`` (delta method: g the gradient in the parameters, C their
    covariance from the fit, s the residual sd, t Student's with n - 3 degrees of freedom), clipped to [0, 100]."""
    from scipy.stats import t as student

    top, midpoint, width = fit["top"], fit["midpoint"], fit["width"]
    value = float(logistic(alpha, top, midpoint, width))
    dof = int(fit["n_points"]) - 3
    if dof < 1 or fit.get("covariance") is None or not np.isfinite(fit.get("residual_sd", np.nan)):
        return value, float("nan"), float("nan")
    g = _gradient(float(alpha), top, midpoint, width)
    covariance = np.nan_to_num(np.asarray(fit["covariance"], float), nan=0.0, posinf=0.0, neginf=0.0)
    spread = float(np.sqrt(max(g @ covariance @ g, 0.0) + fit["residual_sd"] ** 2))
    half = float(student.ppf(0.5 + confidence / 2.0, dof)) * spread
    return value, max(value - half, 0.0), min(value + half, 100.0)


def leave_one_out_unavailable(n_points: int) -> str | None:
    """Why the leave-one-out check cannot run on ``n_points`` (sampler, t*) points, or None when it can: each
    fit on all but one point needs :data:`MIN_POINTS`."""
    if n_points > MIN_POINTS:
        return None
    return f"{n_points} (sampler, t*) points; leaving one out needs more than {MIN_POINTS}"


def leave_one_out(points: Sequence[dict], confidence: float = 0.95) -> dict:
    """How well the sigmoid predicts a (sampler, t*) point it was not fitted on: each point predicted from a fit
    on the others (:func:`prediction_band`), with the mean absolute and root-mean-square error (points) and the
    share of points inside their band. Points whose fit fails are counted as failures, not skipped silently."""
    predictions = []
    for k, point in enumerate(points):
        others = [p for j, p in enumerate(points) if j != k]
        entry = {"sampler": point["sampler"], "t_star": point["t_star"], "observed": point["robustness"]}
        try:
            fit = fit_sigmoid([p["compression"] for p in others], [p["robustness"] for p in others])
        except (RuntimeError, ValueError) as err:
            predictions.append({**entry, "predicted": None, "low": None, "high": None, "error": str(err)})
            continue
        value, low, high = prediction_band(fit, point["compression"], confidence)
        predictions.append({**entry, "predicted": value, "low": low, "high": high, "error": None})
    fitted = [p for p in predictions if p["predicted"] is not None]
    errors = np.array([p["predicted"] - p["observed"] for p in fitted], float)
    inside = [p["low"] <= p["observed"] <= p["high"] for p in fitted if np.isfinite(p["low"])]
    return {
        "predictions": predictions,
        "mae": float(np.abs(errors).mean()) if errors.size else float("nan"),
        "rmse": float(np.sqrt((errors**2).mean())) if errors.size else float("nan"),
        "coverage": float(np.mean(inside)) if inside else float("nan"),
        "failed": len(predictions) - len(fitted),
    }


def uniform_compression(result: dict) -> dict:
    """The uniform-noise compression-rate record of a compression result
    (:func:`diffrob.measure.compression.compression`)."""
    for record in result["records"]:
        if record["quantity"] == "compression_rate" and record["input"] == "uniform":
            return record
    where = f"{result.get('sampler')} t* = {result.get('t_star')}"
    raise ValueError(f"no uniform compression rate in the compression result of {where}")


def sigmoid_points(
    compression_results: Sequence[dict], shard_metrics: Sequence[dict], attack: str = "pgd"
) -> list[dict]:
    """One point per (sampler, t*): mean uniform compression rate, mean fixed-randomness accuracy under ``attack``."""
    points = []
    for result in compression_results:
        key = (result["sampler"], int(result["t_star"]))
        uniform = uniform_compression(result)
        accuracies = [
            m["acc_own"]
            for m in shard_metrics
            if (m["sampler"], int(m["t_star"])) == key and m["randomness"] == "fixed" and m["attack"] == attack
        ]
        if not accuracies:
            raise ValueError(f"no fixed-randomness {attack} accuracy for sampler {key[0]} at t* = {key[1]}")
        points.append(
            {
                "sampler": key[0],
                "t_star": key[1],
                "compression": uniform["value"],
                "robustness": float(np.mean(accuracies)),
            }
        )
    return points


def sigmoid_from_files(compression_jsons: Sequence[str], metric_jsons: Sequence[str], attack: str = "pgd") -> dict:
    """Read compression and shard-metric files and fit the sigmoid: the points, the fit, and why not if not.

    ``fit`` is None, with ``reason`` saying why, when there are fewer than :data:`MIN_POINTS` points, when
    the compression rates do not vary, or when the least-squares fit does not converge.
    """
    from diffrob.io import read_json

    compression = [read_json(p) for p in compression_jsons]
    points = sigmoid_points(compression, [read_json(p) for p in metric_jsons], attack)
    x, y = [p["compression"] for p in points], [p["robustness"] for p in points]
    reason = None
    if len(points) < MIN_POINTS:
        reason = f"{len(points)} (sampler, t*) point(s); the 3-parameter sigmoid needs at least {MIN_POINTS}"
    elif float(np.ptp(x)) == 0.0:
        reason = f"every point has the same compression rate ({x[0]:.4g}): nothing to fit"
    else:
        try:
            fit = fit_sigmoid(x, y)
            loo = None if leave_one_out_unavailable(len(points)) else leave_one_out(points)
            return {"points": points, "fit": fit, "leave_one_out": loo, "reason": None}
        except RuntimeError as err:  # scipy: the least-squares fit did not converge
            reason = f"the least-squares fit did not converge: {err}"
    return {"points": points, "fit": None, "reason": reason}


def budget_scales(compression_jsons: Sequence[str], extra: Sequence[float] = ()) -> list[float]:
    """Fig. 3c's budget scales: every measured uniform compression rate (rounded to 1e-3), plus ``extra``."""
    from diffrob.io import read_json

    measured = []
    for path in compression_jsons:
        measured.append(round(uniform_compression(read_json(path))["value"], 3))
    return sorted({*measured, *(float(s) for s in extra)})
