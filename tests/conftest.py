"""Shared fixtures: tiny random models built the same way as the embedded default's."""

import json
import os
import shutil
import sys

import pytest
import torch

from diffrob.models.classifier import SmallCNN
from diffrob.models.diffusion import build_scheduler, build_unet
from diffrob.purify.noise import seeded
from diffrob.purify.samplers import Schedule

SCHEDULE_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 1e-4,
    "beta_end": 0.02,
    "variance_type": "fixed_large",
    "clip_sample": True,
}


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def unet():
    with seeded(0):
        model = build_unet({"block_out_channels": [32, 32], "layers_per_block": 1}, 8, 1)
    return model.eval()


@pytest.fixture(scope="session")
def scheduler():
    return build_scheduler(SCHEDULE_CONFIG)


@pytest.fixture(scope="session")
def schedule(scheduler):
    return Schedule.from_scheduler(scheduler)


@pytest.fixture(scope="session")
def classifier():
    with seeded(1):
        model = SmallCNN(1, 8, 10, width=8)
    return model.eval()


@pytest.fixture()
def images():
    return torch.rand((7, 1, 8, 8), generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The workflow run locally on .test/config.yaml in a scratch folder (shared by workflow tests).

    Under pytest-xdist the run is made once for all workers: the first to need it makes it in the folder the
    workers share, under a file lock, and the others wait for it and reuse it.
    """
    from filelock import FileLock

    from tests.helpers import FAST, ROOT, run, snakemake

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    workdir, done, failed = shared / "tiny-run", shared / "tiny-run.done", shared / "tiny-run.failed"
    with FileLock(str(shared / "tiny-run.lock")):
        if failed.exists():  # another worker's run failed: the same failure, without running it again
            pytest.fail(f"the tiny workflow run failed (on another worker):\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir()
            shutil.copy(ROOT / ".test" / "config.yaml", workdir / "config.yaml")
            result = run(snakemake(workdir, *FAST.split()), workdir)
            if result.returncode != 0:
                failed.write_text(result.stderr[-4000:])
            assert result.returncode == 0, result.stderr[-4000:]
            done.touch()
    return workdir


# Heavy modules first, so that the two xdist workers (make test: -n 2 --dist loadfile, a module at a time) start
# on them and the unit tests fill the gaps; without xdist the order changes nothing but the order. (loadgroup's
# xdist_group marks do not group under pytest 9.2: xdist 3.8 renames node ids in a way pytest 9 ignores.)
HEAVY_FIRST = (
    "test_rehearsal.py",
    "test_config_e2e.py",
    "test_config_fuzz.py",
    "test_dvc.py",
    "test_workflow.py",
    "test_addt_workflow.py",
    "test_slurm.py",
    "test_targets.py",
)


def pytest_collection_modifyitems(items):
    """Run the modules that run whole workflows first (a stable sort: tests keep their order within a module)."""

    def rank(item):
        name = item.path.name
        return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)


def _fuzz_summary() -> dict:
    fuzz = sys.modules.get("tests.workflow.test_config_fuzz")
    return getattr(fuzz, "SUMMARY", None) or {}


_WORKER_SUMMARIES: list[dict] = []


def pytest_sessionfinish(session):
    """On an xdist worker: hand the fuzzer's counts to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["fuzz_summary"] = json.dumps(_fuzz_summary())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """On the xdist controller: collect the fuzzer's counts a worker handed over."""
    summary = json.loads(getattr(node, "workeroutput", {}).get("fuzz_summary", "{}"))
    if summary:
        _WORKER_SUMMARIES.append(summary)


def pytest_terminal_summary(terminalreporter):
    """The configuration fuzzer's counts: generated, rejected (by which rule), planned, run end to end."""
    summary = dict(_fuzz_summary())
    for part in _WORKER_SUMMARIES:  # xdist: each worker's counts; the end-to-end runs may be spread over workers
        ran = summary.get("end_to_end", []) + part.get("end_to_end", [])
        summary = {**summary, **part, "end_to_end": ran}
    if not summary:
        return
    terminalreporter.section("configuration fuzzer")
    for name in ("embedded", "cifar10", "imagenet"):
        if name in summary:
            s = summary[name]
            rejected = ", ".join(f"{rule}: {n}" for rule, n in sorted(s["rejected"].items()))
            terminalreporter.write_line(
                f"{name}: {s['generated']} generated, {sum(s['rejected'].values())} rejected ({rejected}), "
                f"{s['planned']} planned"
            )
    for features in summary.get("end_to_end", []):
        terminalreporter.write_line("ran to the report: " + ", ".join(features))
