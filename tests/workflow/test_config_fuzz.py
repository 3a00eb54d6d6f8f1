"""The configuration fuzzer: every configuration the schema accepts runs, or is rejected before any job.

Configurations are drawn around ``.test/config.yaml`` (and around the paper-scale profiles) by a seeded
generator (tests/fuzz.py). Each is either rejected by the schema or a consistency rule with a message
naming a key — and then ``snakemake -n`` must refuse it too, before any job — or ``snakemake -n`` plans
it. A few accepted ones, chosen to cover every feature the generator exercises, run end to end to the
report, and every artifact their design leaves out must be named, with its reason, in the report.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from tests.fuzz import Draw, cover, draw_config, dump, names_a_key, rejection, schema_error_keys
from tests.helpers import ROOT, run, snakemake

N_EMBEDDED = 30  # configurations drawn around .test/config.yaml
N_PROFILE = 12  # drawn around each paper-scale profile (planned only: their models cannot be fetched here)
N_END_TO_END = 2  # accepted embedded configurations run to the report, besides the issue's own
FUZZ_SEED = 20261122
SCHEMA = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
SUMMARY: dict[str, object] = {}


def _base(profile: str | None = None) -> dict:
    """The tiny configuration, or config.yaml with a paper-scale profile merged over it."""
    if profile is None:
        return yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(config, yaml.safe_load((ROOT / "config" / f"{profile}.yaml").read_text()))
    return config


def _draws(base: dict, n: int, seed: int, keep_main_attack: bool = False) -> list[Draw]:
    rng = random.Random(seed)
    return [draw_config(base, rng, keep_main_attack) for _ in range(n)]


EMBEDDED = _draws(_base(), N_EMBEDDED, FUZZ_SEED)
# The profiles keep their own attack set (ImageNet: BPDA and BPDA-EOT only), the knobs around it redrawn.
PROFILES = {
    name: _draws(_base(name), N_PROFILE, FUZZ_SEED + k, keep_main_attack=True)
    for k, name in enumerate(("cifar10", "imagenet"))
}
ACCEPTED = [d for d in EMBEDDED if rejection(d.config, SCHEMA) is None]
RISKY = ("randomness free", "randomness fixed", "one seed", "sweep seed outside", "keying batch", "main attack bpda")
ISSUE_OVERLAY = {"purification": {"seeds": [3, 4, 5]}, "sweep": {"seeds": [7]}, "attack": {"extra_seeds": [3]}}
ISSUE_FEATURES = frozenset({"sweep seed outside"})  # the risky feature the issue's configuration (run too) has
END_TO_END = cover(ACCEPTED, N_END_TO_END, RISKY, already=ISSUE_FEATURES)


def _dry_run(config: dict, workdir: Path) -> tuple[int, str]:
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(dump(config))
    result = run(snakemake(workdir, "-n", "--quiet", "all"), workdir, timeout=300)
    return result.returncode, result.stdout + result.stderr


def _classify(draws: list[Draw], root: Path) -> list[dict]:
    """Rejection (rule, message) or planning outcome of each draw; dry runs two at a time."""
    outcomes = [{"draw": d, "rejection": rejection(d.config, SCHEMA)} for d in draws]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda k: _dry_run(draws[k].config, root / f"c{k:03d}"), range(len(draws)))
        for k, (code, output) in enumerate(runs):
            outcomes[k].update(returncode=code, output=output, workdir=root / f"c{k:03d}")
    return outcomes


@pytest.fixture(scope="module")
def embedded_outcomes(tmp_path_factory):
    return _classify(EMBEDDED, tmp_path_factory.mktemp("fuzz-embedded"))


@pytest.fixture(scope="module")
def profile_outcomes(tmp_path_factory):
    imagenet_folder = tmp_path_factory.mktemp("imagenet-val")
    outcomes = {}
    for name, draws in PROFILES.items():
        for d in draws:
            if name == "imagenet":
                d.config["data"]["folder"] = str(imagenet_folder)
        outcomes[name] = _classify(draws, tmp_path_factory.mktemp(f"fuzz-{name}"))
    return outcomes


def _check_outcomes(outcomes: list[dict]) -> Counter:
    """Each outcome: rejected naming a key and refused by snakemake before any job, or planned."""
    rules: Counter = Counter()
    for o in outcomes:
        config_text = dump(o["draw"].config)
        if o["rejection"] is not None:
            rule, message = o["rejection"]
            rules[rule] += 1
            assert names_a_key(message) or rule.startswith("schema"), f"{rule}: {message}\n{config_text}"
            assert o["returncode"] != 0, f"snakemake planned a configuration {rule} rejects:\n{config_text}"
            assert not (o["workdir"] / "data").exists()
            if rule.startswith("schema"):  # snakemake reports one of the schema's errors: it must name its key
                keys = schema_error_keys(o["draw"].config, SCHEMA)
                assert any(k in o["output"] for k in keys), (
                    f"snakemake's error names none of {keys}:\n{o['output'][-2000:]}"
                )
        else:
            assert o["returncode"] == 0, (
                f"an accepted configuration does not plan:\n{config_text}\n{o['output'][-3000:]}"
            )
    return rules


@pytest.mark.workflow
def test_every_drawn_configuration_is_planned_or_rejected_naming_a_key(embedded_outcomes):
    rules = _check_outcomes(embedded_outcomes)
    planned = sum(o["rejection"] is None for o in embedded_outcomes)
    SUMMARY["embedded"] = {"generated": len(embedded_outcomes), "rejected": dict(rules), "planned": planned}
    assert planned >= N_EMBEDDED // 3, "the generator should draw mostly runnable configurations"
    assert sum(rules.values()) >= 5, "the generator should also draw configurations that must be rejected"


@pytest.mark.workflow
def test_paper_profile_overlays_are_planned_or_rejected_naming_a_key(profile_outcomes):
    assert {d.config["attack"]["main"] for d in PROFILES["imagenet"]} == {"bpda"}
    for name, outcomes in profile_outcomes.items():
        rules = _check_outcomes(outcomes)
        planned = sum(o["rejection"] is None for o in outcomes)
        SUMMARY[name] = {"generated": len(outcomes), "rejected": dict(rules), "planned": planned}
        assert planned > 0
