"""Figures drawn from measurement files of the shape the workflow writes."""

import json

import pytest

from diffrob import figures


def _trajectory_file(path, attack_label):
    series = {
        "l2": {"mean": [1.0, 2.0, 3.0], "sd": [0.1, 0.1, 0.1]},
        "linf": {"mean": [0.1, 0.3, 0.2], "sd": [0, 0, 0]},
    }
    path.write_text(json.dumps({"sampler": "ddpm", "t_star": 1, "x": [0, 1, 2], "series": {attack_label: series}}))
    return path


def test_trajectory_figure_follows_the_main_attack(tmp_path):
    bpda = _trajectory_file(tmp_path / "trajectories.json", "BPDA")
    out = [tmp_path / "fig.png", tmp_path / "fig.pdf"]
    figures.trajectories([bpda], "l2", out, attack="bpda")
    assert all(p.stat().st_size > 1000 for p in out)
    with pytest.raises(KeyError, match=r"trajectories.json: no 'PGD \(Full\)' series \(has \['BPDA'\]\)"):
        figures.trajectories([bpda], "l2", [tmp_path / "other.png"], attack="pgd")
    assert not (tmp_path / "other.png").exists()
