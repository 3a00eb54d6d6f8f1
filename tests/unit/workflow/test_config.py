"""Configuration: the schema and the cross-field checks reject bad input, naming the key."""

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from diffrob.workflow.checks import ConfigError, check_consistency
from diffrob.workflow.parameters import screened_purifiers
from tests.helpers import ROOT

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
        (lambda c: c["purification"].update(seeds=[]), "seeds"),
        (lambda c: c["purification"]["chunks"].update(chain=0), "chain"),
        (lambda c: c["purification"]["chunks"].pop("jacobian_rows"), "jacobian_rows"),
        (lambda c: c["purification"].update(batch_size=64), "batch_size"),
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


@pytest.mark.parametrize(("patch", "valid"), [(8, True), (None, True), (9, False)])
def test_a_jacobian_patch_larger_than_the_images_is_rejected(patch, valid):
    config = copy.deepcopy(_config())
    config["measure"]["jacobian_patch"] = patch
    if valid:
        check_consistency(config)
        return
    with pytest.raises(ConfigError, match=r"measure\.jacobian_patch = 9: the digits images are 8x8 pixels"):
        check_consistency(config)


def _profile(name: str, **data) -> dict:
    """A paper-scale profile merged over config.yaml, as ``snakemake --configfile`` merges it."""
    from snakemake.utils import update_config

    config = _config()
    update_config(config, _config(f"config/{name}.yaml"))
    update_config(config, {"data": data})
    return config


@pytest.mark.parametrize(("name", "data"), [("cifar10", {}), ("imagenet", {"folder": "/some/val"})])
def test_paper_profiles_are_valid_after_merging(name, data):
    config = _profile(name, **data)
    validate(config, SCHEMA, set_default=True)
    check_consistency(config)
    assert config["classifier"]["source"] == "robustbench"
    assert config["diffusion"]["source"] in ("hub", "guided")


def test_imagenet_without_a_folder_is_rejected_naming_the_key():
    with pytest.raises(ConfigError, match=r"data\.folder: missing; dataset = imagenet"):
        check_consistency(_profile("imagenet"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["classifier"].pop("robustbench"), r"classifier\.robustbench: missing"),
        (lambda c: c["classifier"]["robustbench"].update(dataset="imagenet"), r"must equal dataset = cifar10"),
        (lambda c: c["diffusion"].update(source="train"), r"diffusion\.source = train: models are trained only"),
        (lambda c: c["attack"].update(main="bpda", extra=["bpda", "pgd_eot"]), r"must not repeat attack\.main"),
    ],
)
def test_inconsistent_sources_are_rejected_naming_the_key(edit, message):
    config = _profile("cifar10")
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_consistency(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["diffusion"]["hub"].update(revision="main"), "revision"),
        (lambda c: c["classifier"]["robustbench"].update(sha256="xyz"), "sha256"),
        (lambda c: c["classifier"].update(source="timm"), "timm"),
    ],
)
def test_schema_rejects_bad_sources(edit, message):
    config = _profile("cifar10")
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["attack"].update(extra_seeds=[]), r"attack\.extra_seeds = \[\]: attack\.extra = .* needs"),
        (lambda c: c["attack"].update(extra_seeds=[9]), r"attack\.extra_seeds = \[9\]: \[9\] not in purification"),
        (lambda c: c["measure"].update(jacobian_images=13), r"measure\.jacobian_images = 13: .*data\.n_eval = 12"),
        (lambda c: c["measure"]["randomness"].update(n_images=20), r"measure\.randomness\.n_images = 20"),
        (lambda c: c["data"].update(n_eval=541), r"data\.n_eval = 541: the held-out split .* has 540 images"),
        (lambda c: c["sweep"].update(t_star=[5, 1001]), r"sweep\.t_star = 1001"),
        (
            lambda c: c["attack"].update(batch_size=1, steps=60000, eot_samples=4),
            r"attack\.batch_size = 1, attack\.steps = 60000.* fresh draws of its seed",
        ),
    ],
)
def test_cross_field_rules_reject_naming_the_keys(edit, message):
    config = copy.deepcopy(_config(".test/config.yaml"))
    validate(config, SCHEMA, set_default=True)
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_consistency(config)


def test_the_largest_evaluation_set_the_split_offers_is_accepted():
    config = copy.deepcopy(_config(".test/config.yaml"))
    config["data"]["n_eval"] = 540  # ceil(0.3 * 1797), as scikit-learn sizes the held-out split
    check_consistency(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["measure"].update(uniform_epsilons=[0.1, 0.1]), "non-unique"),
        (lambda c: c["measure"].update(uniform_epsilons=[1.5]), "1.5"),
        (lambda c: c["measure"].update(base_classifier_scales=[0.5, 0.5]), "non-unique"),
    ],
)
def test_schema_rejects_repeated_or_out_of_range_measurement_settings(edit, message):
    config = copy.deepcopy(_config(".test/config.yaml"))
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


def _workflow_rules() -> set[str]:
    import re

    from tests.helpers import ROOT

    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))])
    return set(re.findall(r"^\s*rule (\w+):", text, flags=re.MULTILINE))


def _unknown_rules(profile: dict) -> set[str]:
    named = set(profile.get("set-threads", {})) | set(profile.get("set-resources", {}))
    return named - _workflow_rules()


@pytest.mark.parametrize("profile", ["cpu", "slurm"])
def test_profiles_name_only_rules_of_the_workflow(profile):
    from tests.helpers import ROOT

    settings = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
    assert "attack" in _workflow_rules() and not _unknown_rules(settings)
    assert _unknown_rules({"set-threads": {"atack": 1}}) == {"atack"}  # a misspelt rule is caught


def _with_addt(**evaluate):
    from tests.helpers import ADDT_OVERLAY as OVERLAY

    config = copy.deepcopy(_config(".test/config.yaml"))
    config["addt"] = copy.deepcopy(OVERLAY)
    config["addt"]["evaluate"].update(evaluate)
    validate(config, SCHEMA, set_default=True)
    return config


def test_an_addt_section_is_valid_and_gets_the_papers_defaults():
    config = _with_addt()
    check_consistency(config)
    assert config["addt"]["finetune"]["lambda_unit"] == 0.03 and config["addt"]["finetune"]["cgpo_steps"] == 5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["addt"]["evaluate"].update(n_images=13), r"addt\.evaluate\.n_images = 13: .*data\.n_eval = 12"),
        (
            lambda c: c["addt"]["evaluate"].update(batch_size=1, steps=60000, eot_samples=4),
            r"addt\.evaluate \(n_images 8, batch_size 1, steps 60000, eot_samples 4\): .* fresh draws",
        ),
        (
            lambda c: c.update(dataset="imagenet"),
            r"addt with dataset = imagenet: fine-tuning needs training images",
        ),
        (
            lambda c: c.update(resources={"finetune_ddpm": {"gpus": 3}}),
            r"addt\.finetune\.batch_size = 8 does not divide among resources\.finetune_ddpm\.gpus = 3",
        ),
    ],
)
def test_addt_settings_that_cannot_run_are_rejected_naming_the_keys(edit, message):
    from diffrob.workflow.checks import check_addt

    config = _with_addt()
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_addt(config)


def test_only_a_data_parallel_rule_asks_for_several_gpus():
    from diffrob.workflow.checks import check_gpus
    from diffrob.workflow.resources import job_gpus, job_resources

    config = _with_addt()
    config["resources"] = {"finetune_ddpm": {"gpus": 4, "mem_mb": 64000}}
    check_gpus(config)
    assert job_gpus(config, "finetune_ddpm") == 4 and job_gpus(config, "attack") == 1
    assert "gpus" not in job_resources(config, "finetune_ddpm")
    config["resources"]["attack"] = {"gpus": 2}
    with pytest.raises(ConfigError, match=r"resources\.attack\.gpus: only finetune_ddpm"):
        check_gpus(config)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["addt"].update(models=["clean", "adtt"]), "adtt"),
        (lambda c: c["addt"]["evaluate"].update(l2={"epsilon": 0.5}), "step"),
        (lambda c: c["addt"]["finetune"].update(lambda_max=1.5), "lambda_max"),
    ],
)
def test_the_schema_rejects_bad_addt_values(edit, message):
    config = _with_addt()
    edit(config)
    with pytest.raises(WorkflowError, match=message):
        validate(config, SCHEMA)


def test_each_fine_tune_reads_only_its_own_keys_so_another_modes_change_reruns_nothing():
    from diffrob.addt.finetune import MODES, FinetuneSettings
    from diffrob.workflow.parameters import FINETUNE_KEYS, finetune_settings, protocol_settings

    config = _with_addt()
    finetune = config["addt"]["finetune"]
    fields = set(FinetuneSettings.__dataclass_fields__) - {"mode"}
    assert set(FINETUNE_KEYS) == set(MODES) and set().union(*FINETUNE_KEYS.values()) == fields
    changed = {**finetune, "pixel_epsilon": 0.1}
    assert finetune_settings(changed, "addt") == finetune_settings(finetune, "addt")
    assert finetune_settings(changed, "addt_no_rbgm") != finetune_settings(finetune, "addt_no_rbgm")
    evaluate = config["addt"]["evaluate"]
    dwbox = protocol_settings(evaluate, "l2", "dwbox")
    assert set(dwbox) == {"steps", "batch_size", "l2"}  # no K: more EOT draws leave the DW-box shards alone
    assert protocol_settings(evaluate, "linf", "eot")["eot_samples"] == evaluate["eot_samples"]


def test_a_mixing_weight_range_upside_down_is_rejected_before_any_job():
    from diffrob.workflow.checks import check_addt

    config = _with_addt()
    config["addt"]["finetune"].update(lambda_min=0.3, lambda_max=0.1)
    with pytest.raises(ConfigError, match=r"addt\.finetune\.lambda_min = 0\.3 exceeds addt\.finetune\.lambda_max"):
        check_addt(config)


@pytest.mark.parametrize(
    ("purifier", "message"),
    [
        ({"sampler": "ddim"}, r"screen\.purifiers\.p: give a callable, or a sampler and a t_star"),
        ({"sampler": "ddim", "t_star": 1001}, r"screen\.purifiers\.p\.t_star = 1001: must be in \[1, T\]"),
        ({"callable": "m:f", "t_star": 5}, r"screen\.purifiers\.p: a callable purifier takes no t_star"),
        ({"model": "addt/adt", "sampler": "ddpm", "t_star": 5}, r"addt/adt: no such fine-tune"),
    ],
)
def test_a_screened_purifier_must_say_what_it_is(purifier, message):
    config = _config()
    config["screen"] = {"purifiers": {"p": purifier}}
    with pytest.raises(ConfigError, match=message):
        check_consistency(config)


def test_a_screened_fine_tune_the_configuration_does_not_make_is_left_out_with_its_reason():
    config = _config()
    config["addt"]["models"] = ["clean"]
    kept, left_out = screened_purifiers(config)
    assert "addt" not in kept and "clean-finetune" in kept and "ddim-t50" in kept
    assert left_out == [("addt", "its model addt/addt is not made here (addt.models = ['clean'])")]
    check_consistency(config)  # leaving it out is not an error
