"""Figures drawn from measurement files of the shape the workflow writes."""

import json

from diffrob.paper import figures


def _trajectory_file(path, attack):
    series = {
        "l2": {"mean": [1.0, 2.0, 3.0], "sd": [0.1, 0.1, 0.1]},
        "linf": {"mean": [0.1, 0.3, 0.2], "sd": [0, 0, 0]},
    }
    path.write_text(json.dumps({"sampler": "ddpm", "t_star": 1, "x": [0, 1, 2], "series": {attack: series}}))
    return path


def test_trajectory_figure_follows_the_main_attack(tmp_path, monkeypatch):
    bpda = _trajectory_file(tmp_path / "trajectories.json", "bpda")
    out = [tmp_path / "fig.png", tmp_path / "fig.pdf"]
    drawn = []
    monkeypatch.setattr(figures, "placeholder", lambda title, reason, outputs: drawn.append((title, reason)))
    figures.trajectories([bpda], "l2", out, attack="bpda")
    assert all(p.stat().st_size > 1000 for p in out)
    assert drawn == []
    figures.trajectories([bpda], "l2", [tmp_path / "other.png"], attack="pgd", why_missing="no fixed shard")
    assert drawn == [("Fig. 1c: distance to the clean image, PGD (Full) inputs", "no fixed shard")]


def test_a_placeholder_figure_is_written_when_inputs_are_missing(tmp_path):
    out = [tmp_path / "fig.png", tmp_path / "fig.pdf"]
    figures.placeholder("Fig. S4: the effect of t*", "sweep.samplers is empty", out)
    assert out[0].read_bytes()[:4] == b"\x89PNG" and out[1].read_bytes()[:4] == b"%PDF"


def test_the_sigmoid_figure_without_a_fit_draws_the_points(tmp_path, monkeypatch):
    data = {"points": [{"sampler": "ddpm", "t_star": 5, "compression": 0.5, "robustness": 40.0}], "fit": None}
    path = tmp_path / "sigmoid.json"
    path.write_text(json.dumps({**data, "reason": "1 (sampler, t*) point(s)"}))
    figures.sigmoid(path, 97.0, [tmp_path / "fig.png"])
    assert (tmp_path / "fig.png").stat().st_size > 1000
    path.write_text(json.dumps({"points": [], "fit": None, "reason": "0 points"}))
    drawn = []
    monkeypatch.setattr(figures, "placeholder", lambda title, reason, outputs: drawn.append(reason))
    figures.sigmoid(path, 97.0, [tmp_path / "empty.png"])
    assert drawn == ["0 points"]


def _addt_results(path, rows):
    import pandas as pd

    frame = pd.DataFrame(
        [("addt", "digits", model, column, value, 1.0, 1) for model, column, value in rows],
        columns=["artifact", "dataset", "row", "column", "value", "sd", "n"],
    )
    frame.to_csv(path, index=False)
    return path


def test_the_addt_figure_draws_each_model_and_its_fig3b_point(tmp_path, monkeypatch):
    rows = [(m, c, v) for m in ("DDPM", "ADDT") for c, v in (("linf_dwbox", 30.0), ("compression_uniform", 0.7))]
    rows.append(("Clean fine-tune", "linf_dwbox", 25.0))  # no compression rate: not a Fig. 3b point
    results = _addt_results(tmp_path / "results.csv", rows)
    assert figures.addt_points(results) == [("DDPM", 0.7, 30.0), ("ADDT", 0.7, 30.0)]
    drawn = []
    monkeypatch.setattr(figures, "placeholder", lambda title, reason, outputs: drawn.append(reason))
    figures.addt_models(results, [tmp_path / "addt.png"])
    assert (tmp_path / "addt.png").stat().st_size > 1000 and drawn == []
    figures.addt_models(_addt_results(tmp_path / "none.csv", []), [tmp_path / "none.png"], "no addt section")
    assert drawn == ["no addt section"]
