"""Configuration: the schema and the cross-field checks reject bad input, naming the key."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from diffrob.settings import ConfigError, check_consistency

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "config" / "schema.yaml")


def _config(name="config.yaml"):
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", ".test/config.yaml"])
def test_shipped_configs_are_valid(name):
    config = _config(name)
    validate(config, SCHEMA)
    check_consistency(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["attack"].update(epsilom=0.1), "epsilom"),
        (lambda c: c["attack"].update(extra=["cw"]), "cw"),
        (lambda c: c["sweep"].update(t_star=[]), "t_star"),
        (lambda c: c.update(extra=1), "extra"),
        (lambda c: c["purification"].update(samplers=["ddpn"]), "ddpn"),
        (lambda c: c["attack"].update(epsilon=0.0), "epsilon"),
        (lambda c: c["attack"].update(epsilon=-0.1), "epsilon"),
        (lambda c: c["purification"].update(t_star=0), "t_star"),
        (lambda c: c["purification"].update(seeds=[0]), "seeds"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(edit, message):
    config = copy.deepcopy(_config())
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


def test_t_star_beyond_the_schedule_is_rejected_naming_both_keys():
    config = copy.deepcopy(_config())
    config["purification"]["t_star"] = 1001
    with pytest.raises(ConfigError, match=r"purification\.t_star = 1001.*num_train_timesteps = 1000"):
        check_consistency(config)
