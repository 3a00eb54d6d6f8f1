"""The paper's figures with matplotlib, from measurement files (PNG and PDF)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from textwrap import fill

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from diffrob.io import atomic_path, read_json
from diffrob.paper.labels import ATTACK_LABELS, MODEL_LABELS, PROTOCOL_LABELS, SAMPLER_LABELS, input_label

COLORS = {"DDPM": "tab:blue", "Reverse": "tab:orange", "DDIM": "tab:green"}


def save(fig: plt.Figure, outputs: Sequence[str | Path]) -> None:
    """Save ``fig`` to each output (format from the suffix), atomically, and close it."""
    fig.tight_layout()
    for out in outputs:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip("."), dpi=150)
    plt.close(fig)


def placeholder(title: str, reason: str, outputs: Sequence[str | Path]) -> None:
    """A figure that says it was not measured, and why (the configuration lacks its inputs)."""
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, "Not measured in this configuration:\n" + fill(reason, 80), ha="center", va="center", wrap=True)
    save(fig, outputs)


def trajectories(
    files: Sequence[str | Path], norm: str, outputs: Sequence[str | Path], attack: str = "pgd", why_missing: str = ""
) -> None:
    """Fig. 1c (l2) / S1 (l_inf): distance to the clean image along purification of ``attack`` inputs, per sampler.

    Samplers without an ``attack`` series are left out; with none at all the figure says ``why_missing``.
    """
    name = ATTACK_LABELS[attack]
    figure = "Fig. 1c" if norm == "l2" else "Fig. S1"
    measured = [data for data in (read_json(path) for path in files) if attack in data["series"]]
    if not measured:
        title = f"{figure}: distance to the clean image, {name} inputs"
        placeholder(title, why_missing or f"no {name} series", outputs)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for data in measured:
        label = SAMPLER_LABELS[data["sampler"]]
        s = data["series"][attack][norm]
        mean, sd = np.array(s["mean"]), np.array(s["sd"])
        ax.plot(data["x"], mean, marker=".", ms=3, color=COLORS.get(label), label=label)
        ax.fill_between(data["x"], mean - sd, mean + sd, alpha=0.15, color=COLORS.get(label))
        ax.axhline(mean[0], ls=":", color="grey", lw=1)
        t_star = data["t_star"]
    ax.axvline(t_star, ls="--", color="k", lw=0.8)
    ax.set_xlabel(f"process step (forward 0 → t* = {t_star}, reverse → {2 * t_star})")
    ax.set_ylabel(f"{'ℓ2' if norm == 'l2' else 'ℓ∞'} distance to the clean image (pixels in [0, 1])")
    ax.set_title(f"{figure}: distance to the clean image, {name} inputs")
    ax.legend()
    save(fig, outputs)


def uniform_noise(path: str | Path, outputs: Sequence[str | Path]) -> None:
    """Fig. S3: l2 distance along DDPM purification for uniform noise of several budgets and each attack."""
    data = read_json(path)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, series in data["series"].items():
        style = "-" if name.startswith("uniform") else "--"
        ax.plot(data["x"], series["l2"]["mean"], style, label=input_label(name))
    ax.axvline(data["t_star"], ls="--", color="k", lw=0.8)
    ax.set_xlabel("process step")
    ax.set_ylabel("ℓ2 distance to the clean image")
    ax.set_title(f"{SAMPLER_LABELS[data['sampler']]}: uniform noise (ε in [0, 1] pixels) and attacks")
    ax.legend(fontsize=7)
    save(fig, outputs)


def randomness(path: str | Path, outputs: Sequence[str | Path]) -> None:
    """Fig. 2d-f: direction correlations per image, and the histogram of distances to the centroids."""
    data = read_json(path)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    per_image = data["per_image"]
    ax1.hist(per_image["corr_fixed_image"], bins=10, alpha=0.7, label="same input, ξ varies (2d)")
    ax1.hist(per_image["corr_fixed_noise"], bins=10, alpha=0.7, label="same ξ, input varies (2e)")
    ax1.set_xlabel("mean correlation of purification directions f(x|ξ) − x")
    ax1.set_ylabel("images")
    ax1.legend(fontsize=8)
    labels = {
        "initial": "inputs (before)",
        "fixed_noise": "fixed ξ, inputs vary",
        "fixed_input": "fixed input, ξ varies",
        "vary_both": "both vary",
    }
    bins = np.linspace(0, max(max(v) for v in data["distances"].values()), 40)
    for key, label in labels.items():
        ax2.hist(data["distances"][key], bins=bins, alpha=0.5, label=label)
    ax2.set_xlabel("ℓ2 distance to the centroid")
    ax2.set_ylabel("count")
    ax2.set_title("Fig. 2f: distances to the centroids")
    ax2.legend(fontsize=8)
    save(fig, outputs)


def jacobian(files: Sequence[str | Path], outputs: Sequence[str | Path]) -> None:
    """Fig. 3a: histogram of the Jacobian's singular values per sampler (fixed ξ, clean images)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for path in files:
        data = read_json(path)
        label = SAMPLER_LABELS[data["sampler"]]
        sv = np.asarray(data["singular_values"])
        ax.hist(sv, bins=np.logspace(-4, 1, 50), histtype="step", lw=1.5, color=COLORS.get(label), label=label)
    for edge in (0.25, 1.0):
        ax.axvline(edge, ls="--", color="grey", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("singular value of the Jacobian J_f(x0)")
    ax.set_ylabel("count")
    ax.legend()
    save(fig, outputs)


def addt_points(results_csv: str | Path) -> list[tuple[str, float, float]]:
    """(model, uniform compression rate, DW-box l_inf accuracy %) of each ADDT model in ``results.csv`` with both."""
    results = pd.read_csv(results_csv)
    addt = results[results["artifact"] == "addt"]
    points = []
    for model in addt["row"].unique():
        rows = addt[addt["row"] == model].set_index("column")["value"]
        if {"compression_uniform", "linf_dwbox"} <= set(rows.index):
            points.append((str(model), float(rows["compression_uniform"]), float(rows["linf_dwbox"])))
    return points


def sigmoid(
    path: str | Path,
    clean_accuracy: float,
    outputs: Sequence[str | Path],
    models: Sequence[tuple[str, float, float]] = (),
) -> None:
    """Fig. 3b: fixed-randomness PGD accuracy against compression rate, every (sampler, t*), and the fit; with
    ``models`` (:func:`addt_points`), ADDT's models at their compression rate and DW-box l_inf accuracy beside them.

    Without a fit (too few points, see the file's ``reason``) the points are drawn and the reason is the title.
    """
    from diffrob.stats.fit import logistic

    data = read_json(path)
    fit = data["fit"]
    if not data["points"]:
        placeholder("Fig. 3b: robustness against compression", data.get("reason") or "no points", outputs)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in data["points"]:
        label = SAMPLER_LABELS[p["sampler"]]
        ax.scatter(p["compression"], p["robustness"], color=COLORS.get(label), s=25)
        ax.annotate(
            str(p["t_star"]), (p["compression"], p["robustness"]), fontsize=6, xytext=(3, 2), textcoords="offset points"
        )
    for label, color in COLORS.items():
        ax.scatter([], [], color=color, label=label)
    if fit is not None:
        grid = np.linspace(0, max(p["compression"] for p in data["points"]) * 1.1, 200)
        ax.plot(
            grid,
            logistic(grid, fit["top"], fit["midpoint"], fit["width"]),
            "k-",
            label=f"sigmoid fit, R² = {fit['r2']:.2f}",
        )
    else:
        ax.set_title(fill(f"No sigmoid fit: {data.get('reason')}", 70), fontsize=8)
    ax.scatter([0], [clean_accuracy], marker="*", s=120, color="red", label="clean accuracy (classifier)")
    for k, (model, rate, accuracy) in enumerate(models):
        label = "ADDT's models (DW-box ℓ∞)" if k == 0 else None
        ax.scatter(rate, accuracy, marker="D", s=30, color="black", label=label)
        ax.annotate(model, (rate, accuracy), fontsize=6, xytext=(3, -8), textcoords="offset points")
    ax.set_xlabel("compression rate (eq. 10, uniform perturbations)")
    ax.set_ylabel("PGD accuracy, fixed randomness (%)")
    ax.legend(fontsize=8)
    save(fig, outputs)


def base_classifier(base_path: str | Path, sigmoid_path: str | Path, outputs: Sequence[str | Path]) -> None:
    """Fig. 3c: the undefended classifier at budget scale x eps beside the purifiers at their compression."""
    base, fit = read_json(base_path), read_json(sigmoid_path)
    fig, ax = plt.subplots(figsize=(6, 4))
    scales = [p["scale"] for p in base["points"]]
    ax.plot(scales, [p["accuracy"] for p in base["points"]], "k-o", ms=4, label="classifier alone, PGD at scale × ε")
    for p in fit["points"]:
        label = SAMPLER_LABELS[p["sampler"]]
        ax.scatter(p["compression"], p["robustness"], color=COLORS.get(label), s=25)
    for label, color in COLORS.items():
        ax.scatter([], [], color=color, label=f"{label} (x = compression rate)")
    ax.set_xlabel("attack budget scale / compression rate")
    ax.set_ylabel("PGD accuracy (%)")
    ax.legend(fontsize=8)
    save(fig, outputs)


def timesteps(results_csv: str | Path, outputs: Sequence[str | Path], why_missing: str = "") -> None:
    """Fig. S4: clean accuracy, compression rate and fixed-randomness PGD accuracy over t*."""
    results = pd.read_csv(results_csv)
    table7 = results[results["artifact"] == "table7"]
    if table7.empty:
        placeholder("Fig. S4: the effect of t*", why_missing or "no timestep sweep rows", outputs)
        return
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = [
        ("clean_fix_t", "clean accuracy, fixed ξ (%)"),
        ("compress_t", "compression rate"),
        ("pgd_fix_t", "PGD accuracy, fixed ξ (%)"),
    ]
    for ax, (prefix, ylabel) in zip(axes, panels, strict=True):
        for label in table7["row"].unique():
            rows = table7[(table7["row"] == label) & table7["column"].str.startswith(prefix)]
            ts = rows["column"].str.removeprefix(prefix).astype(int)
            order = np.argsort(ts.to_numpy())
            ax.plot(
                ts.to_numpy()[order], rows["value"].to_numpy()[order], "-o", ms=4, label=label, color=COLORS.get(label)
            )
        ax.set_xlabel("t*")
        ax.set_ylabel(ylabel)
    axes[0].legend()
    save(fig, outputs)


ADDT_BARS = {
    "clean_eot": "clean, fresh ξ",
    "clean_dwbox": "clean, ξ_s",
    "linf_eot": "ℓ∞ EOT",
    "linf_dwbox": "ℓ∞ DW-box",
    "l2_eot": "ℓ2 EOT",
    "l2_dwbox": "ℓ2 DW-box",
}


def addt_models(results_csv: str | Path, outputs: Sequence[str | Path], why_missing: str = "") -> None:
    """ADDT: each model's accuracy under EOT and DW-box in l_inf and l2 (bars; error bars: sd over seeds), and its
    uniform compression rate (error bars: sd over images)."""
    results = pd.read_csv(results_csv)
    addt = results[results["artifact"] == "addt"]
    if addt.empty:
        placeholder("ADDT: robustness and compression of each model", why_missing or "no addt section", outputs)
        return
    models = list(addt["row"].unique())
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / len(ADDT_BARS)
    for k, (column, label) in enumerate(ADDT_BARS.items()):
        rows = addt[addt["column"] == column].set_index("row").reindex(models)
        x = np.arange(len(models)) + (k - (len(ADDT_BARS) - 1) / 2) * width
        left.bar(x, rows["value"], width, yerr=rows["sd"].fillna(0), label=label, capsize=2)
    left.set_xticks(np.arange(len(models)), models)
    left.set_ylabel("accuracy (%)")
    left.legend(fontsize=7, ncol=3)
    rates = addt[addt["column"] == "compression_uniform"].set_index("row").reindex(models)
    right.bar(np.arange(len(models)), rates["value"], yerr=rates["sd"].fillna(0), color="tab:gray", capsize=2)
    right.set_xticks(np.arange(len(models)), models, rotation=20, fontsize=7)
    right.set_ylabel("compression rate (eq. 10, uniform)")
    save(fig, outputs)


N_EVALUATION_STYLES = {"average": ("average", "-"), "worst": ("worst-of-N", "--"), "majority": ("majority vote", ":")}


def _reference(results: pd.DataFrame, model: str, attack: str) -> tuple[float, str]:
    """The fixed-randomness accuracy an N-evaluated set is shown beside: the main attack's under fixed xi (the
    workflow's sets), or the model's DW-box accuracy in the same norm (ADDT's EOT sets)."""
    if attack.startswith("addt_"):
        column, row = f"{attack.removeprefix('addt_')}_dwbox", MODEL_LABELS[model]
        hit = results[(results["artifact"] == "addt") & (results["row"] == row) & (results["column"] == column)]
        return (float(hit["value"].iloc[0]) if not hit.empty else np.nan), "DW-box (fixed ξ)"
    hit = results[(results["artifact"] == "n_evaluation") & (results["column"] == "fixed")]
    return (float(hit["value"].iloc[0]) if not hit.empty else np.nan), "fixed ξ"


def n_evaluation(
    files: Sequence[str | Path], results_csv: str | Path, outputs: Sequence[str | Path], why_missing: str = ""
) -> None:
    """Accuracy against the number of draws N for each free-randomness adversarial set (averaged over its seeds):
    average, worst-of-N and majority vote, with the fixed-randomness accuracy of the same purifier as a line."""
    title = "N-evaluation: accuracy against the number of draws"
    if not files:
        placeholder(title, why_missing or "measure.n_evaluation.draws is 0", outputs)
        return
    groups: dict[tuple[str, str], list[dict]] = {}
    for path in files:
        data = read_json(path)
        groups.setdefault((data["model"], data["attack"]), []).append(data["curves"])
    results = pd.read_csv(results_csv)
    columns = min(len(groups), 4)
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False, sharey=True)
    for ax, ((model, attack), curves) in zip(axes.flat, groups.items(), strict=False):
        draws = curves[0]["draws"]
        for statistic, (label, style) in N_EVALUATION_STYLES.items():
            ax.plot(draws, np.mean([c[statistic] for c in curves], axis=0), style, marker=".", label=label)
        value, label = _reference(results, model, attack)
        if not np.isnan(value):
            ax.axhline(value, color="black", lw=0.8, label=label)
        name = ATTACK_LABELS.get(attack) or PROTOCOL_LABELS[attack]
        ax.set_title(f"{MODEL_LABELS[model]}: {name} ({len(curves)} seed{'s' * (len(curves) > 1)})", fontsize=8)
        ax.set_xlabel("draws N")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for ax in axes.flat[len(groups) :]:
        ax.axis("off")
    axes[0][0].set_ylabel("accuracy (%)")
    axes[0][0].legend(fontsize=6)
    save(fig, outputs)


def convergence(
    results_csv: str | Path, outputs: Sequence[str | Path], shard_steps: int, why_missing: str = ""
) -> None:
    """Accuracy under fixed randomness against the attack's number of steps (log scale), the workflow's own budget
    ``shard_steps`` marked, and AutoAttack's accuracy after each of its attacks as lines."""
    results = pd.read_csv(results_csv)
    rows = results[results["artifact"] == "convergence"]
    if rows.empty:
        placeholder("Convergence of the attack under fixed randomness", why_missing or "no convergence rows", outputs)
        return
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, group in rows.groupby("row", sort=True):
        steps = group[group["column"].str.startswith("steps_")]
        if not steps.empty:
            k = steps["column"].str.removeprefix("steps_").astype(int).to_numpy()
            order = np.argsort(k)
            ax.errorbar(k[order], steps["value"].to_numpy()[order], fmt="-o", ms=4, label=name, capsize=2)
        stages = group[group["column"].str.startswith("after_")]
        for j, stage in enumerate(stages.itertuples()):
            label = f"{name}: after {stage.column.removeprefix('after_').upper()}"
            ax.axhline(stage.value, ls=("--", ":", "-.")[j % 3], color=f"C{j + 1}", lw=1, label=label)
    ax.axvline(shard_steps, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("attack steps")
    ax.set_ylabel("accuracy under fixed ξ (%)")
    ax.legend(fontsize=7)
    save(fig, outputs)


FIGURES: Mapping[str, str] = {
    "fig1c_l2": "distance to the clean image along purification (ℓ2)",
    "figS1_linf": "distance to the clean image along purification (ℓ∞)",
    "figS3_uniform": "uniform noise of several budgets along DDPM purification",
    "fig2_randomness": "direction correlations and distances to centroids",
    "fig3a_jacobian": "singular values of the Jacobian",
    "fig3b_sigmoid": "robustness against compression, with the sigmoid fit",
    "fig3c_base_classifier": "the classifier alone at shrunken budgets",
    "figS4_timesteps": "the effect of t*",
    "addt_models": "ADDT: each model's accuracy under EOT and DW-box, and its compression rate",
    "n_evaluation": "accuracy of the free-randomness sets against the number of draws N",
    "convergence": "the attack's accuracy under fixed randomness against its steps, and AutoAttack's",
}
