"""Atomic writes and the report's arithmetic."""

import math
from pathlib import Path

import pandas as pd
import pytest

from diffrob.io import atomic_path, require_file
from diffrob.report import fixed_vs_free_verdict, mean_sd, render_latex, table2


def test_atomic_path_leaves_nothing_behind_on_a_crash(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole"


def test_require_file_names_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="x.bin: missing; expected weights"):
        require_file(tmp_path / "x.bin", "weights")
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="x.bin: empty file"):
        require_file(tmp_path / "x.bin", "weights")


def test_mean_sd_uses_the_sample_standard_deviation():
    mean, sd, n = mean_sd([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3)
    assert sd == pytest.approx(1.0)
    assert math.isnan(mean_sd([5.0])[1])


def _results(fixed, free, sd=1.0):
    rows = [
        ("table2", "digits", "DDPM fixed", "pgd", fixed, sd, 3),
        ("table2", "digits", "DDPM free", "pgd", free, sd, 3),
        ("table2", "digits", "DDPM fixed", "clean_acc", 95.0, 0.5, 3),
        ("table2", "digits", "DDPM free", "clean_acc", 96.0, 0.5, 3),
    ]
    return pd.DataFrame(rows, columns=["artifact", "dataset", "row", "column", "value", "sd", "n"])


def test_verdict_distinguishes_reproduced_weak_and_reversed():
    assert "reproduces the paper's direction" in fixed_vs_free_verdict(_results(20.0, 60.0))
    assert "within twice" in fixed_vs_free_verdict(_results(20.0, 21.0))
    assert "does NOT reproduce" in fixed_vs_free_verdict(_results(60.0, 20.0))


def test_table2_puts_the_papers_values_beside_ours():
    targets = pd.read_csv(Path(__file__).resolve().parents[1] / "paper" / "paper_targets.csv")
    frame = table2(_results(20.0, 60.0), targets)
    fixed = frame[frame["Fix random"] == "✓"].iloc[0]
    assert fixed["PGD (ours)"] == "20.0 ± 1.0"
    assert fixed["PGD (paper)"] == "23.7 ± 0.7"
    assert "\\checkmark" in render_latex(frame, "caption", "tab:x")
