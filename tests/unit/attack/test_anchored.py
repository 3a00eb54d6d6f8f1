"""The plain-module face of the fixed-xi purified classifier: keys recovered from the input, usable by other
attack libraries, refusing what it cannot key."""

import pytest
import torch
import yaml

from diffrob.attack.anchored import AnchoredClassifier, anchor_distances, disjoint_groups, overlapping_pairs
from diffrob.attack.autoattack import AutoAttackSettings
from diffrob.attack.evaluate import Defence, run_attack_shard
from diffrob.attack.names import AUTOATTACK_PARTS, STANDARD_AUTOATTACK_ATTACKS
from diffrob.attack.pgd import AttackSettings, attack_set
from diffrob.attack.purified import PurifiedClassifier, XiStream
from diffrob.purify.noise import NoiseKeys
from diffrob.purify.pipeline import Chunks, DiffusionPurifier
from diffrob.purify.samplers import make_chain
from tests.helpers import ROOT

EPSILON = 0.05


def _purified(unet, schedule, classifier, randomness="fixed", seed=0, keying="sample", noise_batch=1):
    chain = make_chain("ddpm", 10, 1000, 2)
    purifier = DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(7)), keying, noise_batch), Chunks(128))
    return PurifiedClassifier(purifier, classifier, XiStream(seed, randomness))


@pytest.mark.parametrize("keying", ["sample", "batch"])
def test_any_subset_in_any_order_sees_the_xi_of_its_own_sample(unet, schedule, classifier, images, keying):
    purified = _purified(unet, schedule, classifier, keying=keying, noise_batch=4)
    purified.use_batch(range(7))
    with torch.no_grad():
        expected = purified(images)
        module = AnchoredClassifier(purified, images, EPSILON)
        order = [5, 2, 6]
        signs = torch.sign(torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
        moved = images[order] + EPSILON * signs
        torch.testing.assert_close(module(images[order]), expected[order], rtol=0, atol=1e-6)
        purified.use_batch(order)
        torch.testing.assert_close(module(moved), purified(moved), rtol=0, atol=1e-6)
    assert module.locate(moved) == order
    assert module.calls == 2


def test_another_librarys_pgd_on_the_module_gets_diffrobs_own_accuracy(unet, schedule, classifier, images):
    """advertorch's LinfPGDAttack (no random start) on the plain module = diffrob's foolbox PGD on the keyed one."""
    from diffrob.attack.advertorch import import_advertorch

    import_advertorch()
    from advertorch.attacks import LinfPGDAttack

    labels = classifier(images).argmax(1).detach()
    settings = AttackSettings(EPSILON, steps=5, rel_stepsize=0.25, random_start=False, batch_size=7)
    purified = _purified(unet, schedule, classifier)
    ours, correct = attack_set(purified, images, labels, settings, 0, progress=False)
    module = AnchoredClassifier(purified, images, EPSILON)
    adversary = LinfPGDAttack(
        module, eps=EPSILON, nb_iter=5, eps_iter=0.25 * EPSILON, rand_init=False, clip_min=0.0, clip_max=1.0
    )
    theirs = adversary.perturb(images, labels)
    with torch.no_grad():
        their_correct = module(theirs).argmax(1) == labels
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)
    assert torch.equal(their_correct, correct)


def test_autoattack_runs_on_the_module_and_finds_it_deterministic(unet, schedule, classifier, images, caplog):
    from pyautoattack import AutoAttack

    labels = classifier(images).argmax(1).detach()
    module = AnchoredClassifier(_purified(unet, schedule, classifier), images, EPSILON)
    adversary = AutoAttack(module, attacks=["apgd-ce", "apgd-t"], eps=EPSILON, seed=0, version="custom")
    adversary.apgd.n_iter = adversary.apgd_targeted.n_iter = 3
    adversary.apgd_targeted.n_target_classes = 2
    with caplog.at_level("WARNING", logger="auto-attack"):
        x_adv, _ = adversary.run_standard_evaluation(images, labels, batch_size=4)
    assert "randomized defense" not in caplog.text
    assert (x_adv - images).abs().max() <= EPSILON + 1e-6


def test_the_module_refuses_free_randomness_overlapping_balls_and_strictly_inputs_outside_every_ball(
    unet, schedule, classifier, images
):
    with pytest.raises(ValueError, match="needs fixed randomness; the purified classifier's is free"):
        AnchoredClassifier(_purified(unet, schedule, classifier, "free"), images, EPSILON)
    far = images.clone()
    far[1] += 2 * EPSILON
    strict = AnchoredClassifier(_purified(unet, schedule, classifier), images, EPSILON, strict=True)
    with pytest.raises(ValueError, match=r"1 inputs lie outside the radius 0.05 .*input 1, 0.1 from"):
        strict(far)
    lenient = AnchoredClassifier(_purified(unet, schedule, classifier), images, EPSILON)
    assert lenient.locate(far) == list(range(7))
    assert lenient.outside == 1
    twins = torch.cat([images[:3], images[:1] + EPSILON / 2])
    with pytest.raises(ValueError, match=r"positions 0 and 3\), so an input between them has no one key"):
        AnchoredClassifier(_purified(unet, schedule, classifier), twins, EPSILON)


def test_disjoint_groups_separate_every_pair_of_meeting_balls():
    anchors = torch.tensor([[0.0], [0.15], [0.3], [1.0], [0.05]])
    assert overlapping_pairs(anchors, 0.1) == [(0, 1), (0, 4), (1, 2), (1, 4)]
    groups = disjoint_groups(anchors, 0.1)
    assert groups == [[0, 2, 3], [1], [4]]
    for group in groups:
        assert overlapping_pairs(anchors[group], 0.1) == []
    assert disjoint_groups(anchors, 0.01) == [[0, 1, 2, 3, 4]]


def test_the_module_and_its_distances_refuse_what_they_cannot_key(unet, schedule, classifier, images):
    purified = _purified(unet, schedule, classifier)
    with pytest.raises(ValueError, match="radius must be > 0, got 0"):
        AnchoredClassifier(purified, images, 0.0)
    with pytest.raises(ValueError, match="3 positions for 7 anchors"):
        AnchoredClassifier(purified, images, EPSILON, positions=[0, 1, 2])
    purified.eot_samples = 3
    with pytest.raises(ValueError, match="one draw per call, not 3"):
        AnchoredClassifier(purified, images, EPSILON)
    with pytest.raises(ValueError, match="unknown norm 'l1'"):
        anchor_distances(images, images, "l1")
    with pytest.raises(ValueError, match=r"inputs of \(1, 4, 4\) against anchors of \(1, 8, 8\)"):
        anchor_distances(images[:, :, :4, :4], images)


def test_autoattack_settings_refuse_unknown_attacks_norms_and_budgets():
    with pytest.raises(ValueError, match=r"unknown AutoAttack attacks \['cw'\]"):
        AutoAttackSettings(0.1, attacks=("apgd-ce", "cw"))
    with pytest.raises(ValueError, match="AutoAttack norm 'l1'"):
        AutoAttackSettings(0.1, norm="l1")
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        AutoAttackSettings(0.0)
    with pytest.raises(ValueError, match="AutoAttack runs under fixed randomness; got 'free'"):
        run_attack_shard(Defence("ddpm", "classifier", {}), None, {}, "autoattack", "free", 0)


def test_the_schema_offers_exactly_pyautoattacks_attacks():
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    enum = schema["properties"]["attack"]["properties"]["autoattack"]["properties"]["attacks"]["items"]["enum"]
    assert enum == list(AUTOATTACK_PARTS)
    assert set(STANDARD_AUTOATTACK_ATTACKS) <= set(AUTOATTACK_PARTS)
