"""ADDT's evaluation summarised as typed records (:mod:`diffrob.stats.records`): each model's accuracies over seeds and
its compression rates. No torch: the summary reads the JSON files the attack and compression jobs write."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from diffrob.stats.records import record


def accuracy_records(metrics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Robust accuracy (%) per (model, norm, setting) over the base seeds, and clean accuracy per (model, setting)
    (the attack jobs of both norms test the same clean images under the same randomness; the l_inf jobs' is kept)."""
    robust: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    clean: dict[tuple[str, str], list[float]] = defaultdict(list)
    images = {int(m["n"]) for m in metrics}
    if len(images) > 1:
        raise ValueError(f"ADDT's attack jobs evaluated different numbers of images: {sorted(images)}")
    n = images.pop() if images else None
    for m in metrics:
        robust[(m["model"], m["norm"], m["setting"])].append(float(m["acc_robust"]))
        if m["norm"] == "linf":
            clean[(m["model"], m["setting"])].append(float(m["acc_clean"]))
    records = [
        record("addt_accuracy_pct", values, n, model=model, norm=norm, setting=setting, input="adversarial")
        for (model, norm, setting), values in robust.items()
    ]
    records += [
        record("addt_accuracy_pct", values, n, model=model, norm="none", setting=setting, input="clean")
        for (model, setting), values in clean.items()
    ]
    return records


def compression_records(model: str, compression: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A model's compression rates (a compression job's records, keyed by model instead of sampler and t*)."""
    out = []
    for r in compression["records"]:
        if r["quantity"] != "compression_rate":
            raise ValueError(f"expected compression_rate records for model {model!r}, got {r['quantity']!r}")
        out.append({"quantity": "addt_compression_rate", "model": model, "input": r["input"], **_stats(r)})
    return out


def _stats(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"value": r["value"], "sd": r["sd"], "n": r["n"]}


def sigmoid_residuals(
    metrics: Sequence[Mapping[str, Any]], compression: Mapping[str, Mapping[str, Any]], fit: Mapping[str, float] | None
) -> list[dict[str, Any]]:
    """Each model's distance from the robustness-compression sigmoid of Fig. 3b: its DW-box l_inf accuracy (per seed)
    minus the sigmoid at its uniform compression rate (none when the run has no fit)."""
    if not fit:
        return []
    from diffrob.stats.fit import logistic

    out = []
    for model, result in compression.items():
        uniform = [r for r in result["records"] if r["input"] == "uniform"]
        dwbox = [m for m in metrics if (m["model"], m["norm"], m["setting"]) == (model, "linf", "dwbox")]
        accuracies = [float(m["acc_robust"]) for m in dwbox]
        if not uniform or not accuracies:
            continue
        expected = float(logistic(float(uniform[0]["value"]), fit["top"], fit["midpoint"], fit["width"]))
        out.append(record("addt_sigmoid_residual", [a - expected for a in accuracies], model=model))
    return out


def summarize(
    metrics: Sequence[Mapping[str, Any]],
    compression: Mapping[str, Mapping[str, Any]],
    fit: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """ADDT's measurement file: accuracy records from the attack jobs' ``metrics``, compression records from each
    model's compression job (``compression``: model -> its JSON) and, given the run's sigmoid ``fit`` (Fig. 3b),
    each model's residual from it."""
    records = accuracy_records(metrics)
    for model, result in compression.items():
        records += compression_records(model, result)
    return {"records": records + sigmoid_residuals(metrics, compression, fit)}
