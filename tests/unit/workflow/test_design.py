"""The experiment design: every shard, point and pairing derived from a configuration, and what is left out."""

import copy

import yaml

from diffrob.workflow.design import Design, Pair, Point, ShardKey
from diffrob.workflow.omissions import design_omissions
from tests.helpers import ROOT


def _design(**sections) -> Design:
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    for section, values in sections.items():
        config[section] = {**copy.deepcopy(config[section]), **values}
    return Design.from_config(config)


def _items(design: Design, artifact: str) -> dict[str, str]:
    return {o.item: o.reason for o in design_omissions(design) if o.artifact == artifact}


def test_the_shipped_tiny_design_pairs_seeds_cyclically_and_omits_only_sweep_transfer_and_addt():
    design = _design()
    main = Point("ddpm", 20)
    assert design.main == main
    assert design.fixed_seeds(main) == (0, 1)
    assert design.points() == (Point("ddpm", 5), Point("ddpm", 10), main, Point("reverse", 20))
    assert [design.transfer_partner(ShardKey(main, "pgd", "fixed", s)) for s in (0, 1)] == [1, 0]
    assert design.correlation_pairs() == (Pair(ShardKey(main, "pgd", "fixed", 0), ShardKey(main, "pgd", "fixed", 1)),)
    assert design.alignment_shard() == ShardKey(main, "pgd_eot", "free", 0)
    assert design.table5_rows() == ("PGD(fix) vs PGD(fix)", "PGD-EOT vs PGD(fix)")
    assert {(o.artifact, o.item) for o in design_omissions(design)} == {
        ("accuracy", "DDPM at t* = 5: transfer"),
        ("accuracy", "DDPM at t* = 10: transfer"),
        ("addt", "every model"),  # the tiny configuration has no addt section
        ("fig3b", "AutoAttack"),  # AutoAttack at the main point only
    }


def test_a_sweep_seed_outside_the_main_seeds_gets_a_partner_at_the_main_point_and_none_alone():
    # The configuration: main seeds [3, 4, 5], sweep seed 7, EOT seed 3.
    design = _design(purification={"seeds": [3, 4, 5]}, sweep={"seeds": [7]}, attack={"extra_seeds": [3]})
    main, sweep_only = Point("ddpm", 20), Point("ddpm", 5)
    assert design.fixed_seeds(main) == (3, 4, 5, 7)
    assert design.transfer_partner(ShardKey(main, "pgd", "fixed", 7)) == 3
    assert design.transfer_partner(ShardKey(sweep_only, "pgd", "fixed", 7)) is None
    assert design.trajectory_seed(Point("reverse", 20)) == 3
    assert ShardKey(sweep_only, "pgd", "fixed", 7) in design.shards()
    assert "table4" not in {o.artifact for o in design_omissions(design)}
    assert "one base seed at DDPM at t* = 5 ([7])" in _items(design, "accuracy")["DDPM at t* = 5: transfer"]


def test_one_seed_leaves_out_transfer_and_the_fixed_pair_with_reasons():
    design = _design(purification={"seeds": [4]}, sweep={"seeds": [4]}, attack={"extra_seeds": [4]})
    assert design.transfer_partner(ShardKey(design.main, "pgd", "fixed", 4)) is None
    assert "one base seed" in _items(design, "table4")["transfer"]
    assert "PGD(fix) vs PGD(fix)" in _items(design, "table5")
    assert design.correlation_pairs() == ()
    assert design.alignment_shard() == ShardKey(design.main, "pgd_eot", "free", 4)


def test_free_randomness_only_keeps_the_main_point_for_clean_accuracy_and_explains_the_rest():
    design = _design(attack={"randomness": ["free"]}, sweep={"samplers": []})
    assert design.points() == ()
    assert design.clean_points() == (design.main,)
    assert design.seeds_at(design.main) == (0, 1)
    assert {k.randomness for k in design.shards()} == {"free"}
    assert design.compression_points() == (Point("ddpm", 20), Point("reverse", 20))
    assert design.compression_seeds(Point("reverse", 20)) == (0, 1)
    assert design.trajectory_inputs(design.main) == {
        "pgd_eot": ShardKey(design.main, "pgd_eot", "free", 0),
        "bpda": ShardKey(design.main, "bpda", "free", 0),
    }
    reasons = {(o.artifact, o.item): o.reason for o in design_omissions(design)}
    assert "has no 'fixed'" in reasons[("table2", "DDPM fixed PGD")]
    assert "has no 'fixed'" in reasons[("table1", "Reverse")]
    assert ("fig1c", "DDPM PGD") in reasons
    assert reasons[("table7", "timestep sweep")] == "sweep.samplers is empty"
    assert "0 (sampler, t*) point(s)" in reasons[("fig3b", "sigmoid fit")]


def test_fixed_randomness_only_leaves_out_the_free_column():
    design = _design(attack={"randomness": ["fixed"], "extra": []})
    assert design.free_shards() == ()
    assert set(_items(design, "table2")) == {"DDPM free PGD", "DDPM free PGD-EOT"}
    assert "has no pgd_eot" in _items(design, "table5")["PGD-EOT vs PGD(fix)"]
    assert design.alignment_shard() is None


def test_sampler_order_chooses_the_main_sampler_and_the_sweep_can_miss_ddpm():
    design = _design(purification={"samplers": ["reverse", "ddpm"]}, sweep={"samplers": ["reverse"]})
    assert design.main == Point("reverse", 20)
    assert design.main_depth_points() == (Point("reverse", 20), Point("ddpm", 20))
    assert "has no ddpm" in _items(design, "table7")["DDPM"]


def test_a_sweep_that_misses_the_main_depth_still_has_main_points():
    design = _design(sweep={"t_star": [5, 10]})
    assert Point("ddpm", 20) in design.points() and Point("ddpm", 10) in design.points()
    assert design.fixed_seeds(Point("ddpm", 10)) == (0,)


def test_bpda_main_attack_names_its_pairs_and_its_eot_column():
    design = _design(attack={"main": "bpda", "extra": ["bpda_eot"]})
    assert {(p.first.attack, p.second.attack) for p in design.correlation_pairs()} == {("bpda", "bpda")}
    assert design.table5_rows()[1] == "BPDA-EOT vs BPDA(fix)" and design.alignment_shard().attack == "bpda_eot"
    assert {k.attack for k in design.shards()} == {"bpda", "bpda_eot", "autoattack"}
    assert {(p.first.attack, p.second.attack) for p in design.strength_pairs()} == {("bpda", "autoattack")}
    missing = _design(attack={"main": "bpda", "extra": ["pgd_eot"]})
    assert "has no bpda_eot" in _items(missing, "table2")["DDPM free BPDA-EOT"]


def test_too_few_sigmoid_points_are_reported_and_four_are_enough():
    three = _design(sweep={"samplers": ["ddpm"], "t_star": [10, 20]})
    assert len(three.points()) == 3
    assert "needs at least 4" in _items(three, "fig3b")["sigmoid fit"]
    four = _design(sweep={"samplers": ["ddpm"], "t_star": [5, 10, 20]})
    assert len(four.points()) == 4
    assert "sigmoid fit" not in _items(four, "fig3b")


def test_addt_omits_the_sigmoid_residual_off_the_sigmoids_budget_and_its_claims_without_both_models():
    from tests.helpers import ADDT_OVERLAY as OVERLAY
    from tests.helpers import ROOT

    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["addt"] = copy.deepcopy(OVERLAY)  # l_inf 0.2, the tiny configuration's attack.epsilon
    assert _items(Design.from_config(config), "addt") == {}
    config["addt"]["evaluate"]["linf"]["epsilon"] = 0.1
    config["addt"]["models"] = ["addt"]
    items = _items(Design.from_config(config), "addt")
    assert set(items) == {"sigmoid residual", "claims"}
    assert "attack.epsilon" in items["sigmoid residual"] and "needs both" in items["claims"]


def test_the_n_evaluation_is_omitted_with_its_reason_when_off_or_without_free_sets():
    assert _items(_design(), "n_evaluation") == {}
    off = _design(measure={"n_evaluation": {"draws": 0}})
    assert _items(off, "n_evaluation") == {"every set": "measure.n_evaluation.draws is 0"}
    fixed_only = _design(attack={"randomness": ["fixed"], "extra": []})
    assert fixed_only.free_sets() == () and "the workflow's attacks" in _items(fixed_only, "n_evaluation")
    assert fixed_only.randomness_pairs() == ()  # nothing to compare image by image either


def test_autoattack_follows_the_main_attacks_fixed_shards_and_is_omitted_with_its_reason():
    design = _design()
    main = design.main
    shards = [ShardKey(main, "autoattack", "fixed", s) for s in (0, 1)]
    assert design.autoattack_shards() == tuple(shards)
    assert set(shards) <= set(design.shards())
    assert design.strength_pairs() == tuple(Pair(ShardKey(main, "pgd", "fixed", k.seed), k) for k in shards)
    assert design.transfer_partner(shards[0]) == 1
    swept = _design(attack={"autoattack": {"attacks": ["apgd-ce"], "n_iter": 1, "n_target_classes": 1, "sweep": True}})
    assert {k.point for k in swept.autoattack_shards()} == set(swept.points())
    assert "AutoAttack" not in _items(swept, "fig3b")
    off = _design(attack={"autoattack": None})
    assert off.autoattack_shards() == off.strength_pairs() == ()
    assert _items(off, "table2")["DDPM fixed AutoAttack"] == "attack.autoattack is null"
    free_only = _design(attack={"randomness": ["free"]}, sweep={"samplers": []})
    assert free_only.autoattack_shards() == ()
    assert "has none" in _items(free_only, "table2")["DDPM fixed AutoAttack"]
