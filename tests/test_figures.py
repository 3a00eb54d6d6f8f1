"""Figures drawn from measurement files of the shape the workflow writes."""

import json

from diffrob import figures


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
