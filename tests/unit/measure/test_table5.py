"""Table 5 as the paper defines it: every shard starts PGD from its own draw; the EOT gradient is compared with
the gradient of the system the test faces."""

import itertools

import torch

from diffrob.attack.evaluate import Defence, run_attack_shard
from diffrob.data import ImageSet
from diffrob.measure.gradients import perturbation_correlation
from diffrob.paper.results import paper_rows
from diffrob.purify.noise import shard_start_seed
from diffrob.workflow.design import Design
from tests.helpers import ROOT
from tests.unit.test_resume import CHAIN, INDICES, LABELS, _files, _store

# One PGD step of a millionth of epsilon: x_adv is the random start, clipped to [0, 1].
START_ONLY = {"epsilon": 0.1, "steps": 1, "rel_stepsize": 1e-6, "random_start": True, "batch_size": 4, "eot_samples": 2}


def test_every_shard_of_a_design_has_its_own_start_seeds():
    import yaml

    design = Design.from_config(yaml.safe_load((ROOT / ".test" / "config.yaml").read_text()))
    keys = design.shards()
    starts = sorted(shard_start_seed(k.point.sampler, k.point.t_star, k.attack, k.randomness, k.seed) for k in keys)
    assert len(starts) == len(design.shards()) >= 10
    assert min(b - a for a, b in itertools.pairwise(starts)) > 10**6  # batch b starts from seed + b


def test_shards_of_one_seed_do_not_share_their_random_start(tmp_path, unet, scheduler, classifier, images):
    files = _files(tmp_path, unet, scheduler, classifier, images)
    eval_set = ImageSet(images, LABELS, INDICES)
    defence = Defence(files["ddpm"], files["classifier"], CHAIN)
    deltas = {}
    for attack, randomness in (("pgd", "fixed"), ("pgd", "free"), ("pgd_eot", "free")):
        shard = run_attack_shard(defence, eval_set, START_ONLY, attack, randomness, 0)
        deltas[attack, randomness] = shard.adversarial - images
    again = run_attack_shard(defence, eval_set, START_ONLY, "pgd", "fixed", 0)
    assert torch.equal(again.adversarial - images, deltas["pgd", "fixed"])  # replayable
    for a, b in itertools.combinations(deltas.values(), 2):
        assert float(perturbation_correlation(a, b).mean()) < 0.6  # one shared start would give 1.0


def _eot_shard(tmp_path, images):
    from diffrob.attack.shards import AttackShard, save_shard

    path = tmp_path / "pgd_eot-free-seed0.safetensors"
    info = {"attack": "pgd_eot", "seed": 0}
    save_shard(AttackShard(images.clone(), LABELS, INDICES, torch.ones(7, dtype=torch.bool), info), path)
    return path


def test_the_eot_gradient_matches_the_test_systems_as_the_chain_noise_vanishes(
    tmp_path, unet, scheduler, classifier, images
):
    from diffrob.measure.gradients import gradient_alignment

    files = _files(tmp_path, unet, scheduler, classifier, images)
    eval_set, eot = ImageSet(images, LABELS, INDICES), _eot_shard(tmp_path, images)
    attack = {**START_ONLY, "batch_size": 3}
    values = {}
    for t_star in (1, 400):
        chain = {**CHAIN, "t_star": t_star, "reverse_steps": 1}
        result = gradient_alignment(Defence(files["ddpm"], files["classifier"], chain), eval_set, eot, attack)
        (record,) = result["records"]
        assert record["quantity"] == "gradient_correlation" and record["attack"] == "pgd_eot" and record["n"] == 7
        (row,) = paper_rows(record, "digits", main_t=t_star)
        assert (row["artifact"], row["row"]) == ("table5", "PGD-EOT vs PGD(fix)")
        values[t_star] = row["value"]
    assert values[1] > 0.95 > values[400]


def test_a_resumed_gradient_alignment_equals_an_uninterrupted_one(tmp_path, unet, scheduler, classifier, images):
    from diffrob.measure.gradients import gradient_alignment

    files = _files(tmp_path, unet, scheduler, classifier, images)
    eval_set, eot = ImageSet(images, LABELS, INDICES), _eot_shard(tmp_path, images)
    attack = {**START_ONLY, "batch_size": 3}
    defence = Defence(files["ddpm"], files["classifier"], CHAIN)
    align = lambda store: gradient_alignment(defence, eval_set, eot, attack, store)  # noqa: E731
    whole, store = align(None), _store(tmp_path)
    assert align(store) == whole and store.saved == [0, 1, 2]
    store.path(1).unlink()
    resumed_store = _store(tmp_path)
    assert align(resumed_store) == whole
    assert resumed_store.reused == [0, 2] and resumed_store.saved == [1]
