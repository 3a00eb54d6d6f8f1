"""DVC for real, and kill -9 anywhere: `dvc repro` on the tiny config killed several times (once inside an attack
shard's batches) and run again each time, byte-identical to an uninterrupted run with nothing finished computed
twice; then a push/pull round trip and a targeted rerun."""

import random
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.crash import IN_A_SHARD, kill_repeatedly, reuse_in_logs
from tests.helpers import FAST, ROOT, code_dependency, digests, dvc_round_trip, module_closure, run, scratch_repository

CRASH_SEED = 12

CACHED = [
    "data/inputs",
    "data/models",
    "data/adversarial",
    "data/purified",
    "data/metrics",
    "data/measurements",
    "paper/results.csv",
    "paper/tables",
    "paper/figures",
    "paper/report.md",
    "paper/report.html",
]


def _kill_moments() -> list[float | str]:
    """Where the kills land: early (models), inside an attack shard between its batches, then two at random."""
    rng = random.Random(CRASH_SEED)
    return [rng.uniform(8.0, 15.0), IN_A_SHARD, rng.uniform(10.0, 40.0), rng.uniform(10.0, 40.0)]


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """The tiny config's `dvc repro`, killed with SIGKILL at each of _kill_moments and then run to the end."""
    repo = scratch_repository(tmp_path_factory.mktemp("dvc"))
    dvc_yaml = (repo / "dvc.yaml").read_text()
    (repo / "dvc.yaml").write_text(dvc_yaml.replace("--cores all --resources gpu=1", FAST))
    assert run(["dvc", "config", "--local", "cache.type", "copy"], repo).returncode == 0  # committing keeps inodes
    crashes = kill_repeatedly(["dvc", "repro"], repo, _kill_moments())
    result = run(["dvc", "repro"], repo)
    assert result.returncode == 0, crashes.describe() + result.stdout[-3000:] + result.stderr[-3000:]
    reused = sum(len(batches) for batches, _ in reuse_in_logs(repo).values())
    print(f"{crashes.describe()}\nsaved batches loaded back instead of recomputed: {reused}")
    return repo, crashes


@pytest.fixture(scope="module")
def reproduced(crashed):
    return crashed[0]


def _outputs(root: Path) -> dict[str, str]:
    """sha256 of results.csv and of every safetensors file the workflow made."""
    return {
        k: v for k, v in digests(root, ["paper/results.csv", "data"]).items()
        if k.endswith((".csv", ".safetensors")) and "/partial/" not in k
    }  # fmt: skip


@pytest.mark.workflow
def test_killed_runs_finish_byte_identical_to_an_uninterrupted_one(crashed, tiny_run):
    repo, crashes = crashed
    assert _outputs(repo) == _outputs(tiny_run)
    assert not [*(repo / "data").rglob(".*.tmp"), *(repo / "paper").rglob(".*.tmp")]
    assert not list((repo / "data").glob("partial/**/*.safetensors")), "saved batches left after their job"


@pytest.mark.workflow
def test_nothing_finished_before_a_kill_is_computed_again(crashed):
    repo, crashes = crashed
    assert sum(bool(k.running) for k in crashes.kills) >= 3, "the kills should land while jobs run"
    for kill in crashes.kills:
        for path, identity in kill.finished.items():
            stat = path.stat()
            assert (stat.st_ino, stat.st_mtime_ns) == identity, f"{path} finished before a kill ({kill.when}): redone"


@pytest.mark.workflow
def test_the_shard_killed_between_batches_resumed_from_its_saved_batch(crashed):
    repo, crashes = crashed
    (kill,) = [k for k in crashes.kills if k.when == IN_A_SHARD]
    assert kill.batch is not None and kill.batch.name == "batch-00000.safetensors"
    folder = str(kill.batch.parent.relative_to(repo))
    # the logs after each later kill, then at the end: the first attempt that finished the shard logged its
    # reuse there (a later kill may land after the shard's output was written and before Snakemake recorded
    # it, and the rerun then starts afresh and overwrites that log)
    later = [k.reuse for k in crashes.kills[crashes.kills.index(kill) + 1 :]] + [reuse_in_logs(repo)]
    reused, computed = next(reuse[folder] for reuse in later if folder in reuse)
    # batch 0 was loaded back, never computed again; batch 1 too if a later kill landed after it was saved
    assert 0 in reused and 0 not in computed and sorted(reused + computed) == [0, 1], later


@pytest.mark.workflow
def test_dvc_repro_builds_the_paper_and_records_every_stage(reproduced):
    lock = yaml.safe_load((reproduced / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"models", "attacks", "measurements", "paper"}
    assert (reproduced / "paper" / "report.html").is_file()
    assert "table2_pgd_fixed" in (reproduced / "paper" / "metrics.json").read_text()


@pytest.mark.workflow
def test_push_delete_pull_restores_identical_files_and_nothing_to_rerun(reproduced, tmp_path):
    repo = reproduced
    dvc_round_trip(repo, repo, CACHED, tmp_path / "store")
    assert run(["snakemake", "--touch", "--cores", "1", "--quiet"], repo).returncode == 0
    dry = run(["snakemake", "-n", "--cores", "1"], repo)
    assert "Nothing to be done" in dry.stdout + dry.stderr


@pytest.mark.workflow
def test_a_changed_measure_parameter_reruns_only_what_it_touches(reproduced):
    repo = reproduced
    config = yaml.safe_load((repo / "config.yaml").read_text())
    config["measure"]["jacobian_images"] += 1
    (repo / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    attacks_before = digests(repo, ["data/adversarial", "data/models"])
    jacobian = "data/measurements/ddpm-t20/jacobian.json"
    jacobian_before = digests(repo, [jacobian])
    result = run(["dvc", "repro"], repo)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Stage 'models' didn't change" in log and "Stage 'attacks' didn't change" in log
    assert digests(repo, ["data/adversarial", "data/models"]) == attacks_before
    assert digests(repo, [jacobian]) != jacobian_before


def test_the_profiles_dvc_yaml_is_generated_from_the_defaults(tmp_path):
    checked = run([sys.executable, "scripts/profile_dvc.py", "--check"], ROOT)
    assert checked.returncode == 0, checked.stderr
    shutil.copytree(ROOT / "runs", tmp_path / "runs", ignore=shutil.ignore_patterns("cifar10", "imagenet", ".dvc"))
    default = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    default["stages"]["attacks"]["deps"].append("src/diffrob/new_module.py")  # a dep added to the default only
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(default, sort_keys=False))
    stale = run([sys.executable, "scripts/profile_dvc.py", "--check", "--root", str(tmp_path)], ROOT)
    assert stale.returncode == 1 and "runs/dvc.yaml is not what" in stale.stderr
    assert run([sys.executable, "scripts/profile_dvc.py", "--root", str(tmp_path)], ROOT).returncode == 0
    attacks = yaml.safe_load((tmp_path / "runs/dvc.yaml").read_text())["stages"]["attacks"]["do"]
    assert "../../src/diffrob/new_module.py" in attacks["deps"] and "data/models" in attacks["deps"]


def _code_deps(stage: str) -> tuple[list[str], list[Path]]:
    """A stage's deps, and its code files (scripts, rules, Snakefile) whose diffrob imports it must list."""
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["deps"]
    code = [ROOT / d for d in deps if d.endswith((".py", ".smk")) or d == "Snakefile"]
    return deps, code


def _missing_code_deps(deps: list[str], code: list[Path]) -> list[str]:
    """The subpackage folders and top-level modules the code imports (directly or not) that ``deps`` lacks."""
    return sorted({code_dependency(m) for m in module_closure(code)} - set(deps))


@pytest.mark.parametrize("stage", ["models", "attacks", "measurements", "paper"])
def test_each_stage_depends_on_every_subpackage_its_code_imports(stage):
    deps, code = _code_deps(stage)
    assert any(d.startswith("scripts/") for d in deps), f"stage {stage} lists no scripts"
    missing = _missing_code_deps(deps, code)
    assert not missing, f"dvc.yaml stage {stage} misses code deps {missing}"


def test_the_code_deps_check_sees_a_missing_subpackage():
    deps, code = _code_deps("paper")
    assert _missing_code_deps([d for d in deps if d != "src/diffrob/stats"], code) == ["src/diffrob/stats"]
    assert code_dependency("diffrob.purify.noise") == "src/diffrob/purify"
    assert code_dependency("diffrob.io") == "src/diffrob/io.py"
