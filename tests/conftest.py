"""Shared fixtures: tiny random models built the same way as the embedded default's."""

import shutil

import pytest
import torch

from diffrob.models import SmallCNN, build_scheduler, build_unet
from diffrob.noise import seeded
from diffrob.purify import Schedule

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
    """The workflow run locally on .test/config.yaml in a scratch folder (shared by workflow tests)."""
    from tests.helpers import FAST, ROOT, run, snakemake

    workdir = tmp_path_factory.mktemp("tiny-run")
    shutil.copy(ROOT / ".test" / "config.yaml", workdir / "config.yaml")
    result = run(snakemake(workdir, *FAST.split()), workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir


def pytest_terminal_summary(terminalreporter):
    """The configuration fuzzer's counts: generated, rejected (by which rule), planned, run end to end."""
    import sys

    fuzz = sys.modules.get("tests.test_config_fuzz")
    summary = getattr(fuzz, "SUMMARY", None)
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
