"""Planning a workflow and making the paper's tables, figures and report never import torch (seconds a job)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PAPER_SCRIPTS = [
    "figure", "table", "run_macros", "report", "results", "fit_sigmoid", "metrics_summary", "build_info", "table2",
    "paired_comparisons",
]  # fmt: skip


def _loads_torch(source: str) -> bool:
    """Whether running the import statements of ``source`` (top level) loads torch, in a fresh interpreter."""
    imports = [n for n in ast.parse(source).body if isinstance(n, ast.Import | ast.ImportFrom)]
    program = ast.unparse(imports) + "\nimport sys\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT)
    return result.stdout.strip() == "True"


def _smk_imports(path: Path) -> str:
    """The top-level ``import``/``from`` lines of a Snakemake file (its rules are not Python)."""
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith(("import ", "from ")))


@pytest.mark.parametrize("script", PAPER_SCRIPTS)
def test_the_paper_jobs_start_without_torch(script):
    assert not _loads_torch((ROOT / "scripts" / f"{script}.py").read_text())


def test_planning_imports_no_torch():
    source = "\n".join(_smk_imports(path) for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))])
    assert "diffrob" in source
    assert not _loads_torch(source)


def test_the_import_check_sees_torch_when_it_is_there():
    assert _loads_torch("from diffrob.runtime import configure\nfrom diffrob.purify.noise import seeded")
