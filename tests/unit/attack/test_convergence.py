"""The convergence check: one run of the longest budget gives PGD-k for every shorter k, from the same start."""

import pytest
import torch

from diffrob.attack.convergence import convergence_measurement, convergence_set, pgd_iterates
from diffrob.attack.pgd import AttackSettings, attack_set, pgd
from diffrob.attack.purified import PurifiedClassifier, XiStream
from diffrob.purify.noise import NoiseKeys
from diffrob.purify.pipeline import Chunks, DiffusionPurifier
from diffrob.purify.samplers import make_chain


def _purified(unet, schedule, classifier):
    chain = make_chain("ddpm", 10, 1000, 2)
    purifier = DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(7))), Chunks(128))
    return PurifiedClassifier(purifier, classifier, XiStream(0, "fixed"))


def test_the_iterate_after_k_steps_is_pgd_k_from_the_same_start(unet, schedule, classifier, images):
    labels = torch.arange(7) % 10
    model = _purified(unet, schedule, classifier)
    model.use_batch(range(7))
    iterates = pgd_iterates(model, images, labels, AttackSettings(0.1, 4, 0.25), seed=3, budgets=[1, 2, 4])
    assert sorted(iterates) == [1, 2, 4]
    for k, x in iterates.items():
        torch.testing.assert_close(x, pgd(model, images, labels, AttackSettings(0.1, k, 0.25), seed=3), rtol=0, atol=0)
    assert not torch.equal(iterates[1], iterates[4])


def test_the_shards_own_budget_reproduces_the_shards_accuracy(unet, schedule, classifier, images):
    labels = classifier(images).argmax(1).detach()
    settings = AttackSettings(0.1, 2, 0.25, batch_size=4)
    model = _purified(unet, schedule, classifier)
    _, correct = attack_set(model, images, labels, settings, 11, progress=False)
    after = convergence_set(model, images, labels, settings, 11, [1, 2, 3], progress=False)
    assert torch.equal(after[2], correct)
    shard = {"steps": 2, "acc_own": 100.0 * float(correct.float().mean())}
    accuracy = {f"steps_{k}": 100.0 * float(v.float().mean()) for k, v in after.items()}
    assert convergence_measurement(accuracy, "pgd", 0, 7, shard)["reproduces_shard"] is True
    strongest = {"attacks": ["apgd-ce", "apgd-t"], "acc_after_apgd-ce": 20.0, "acc_after_apgd-t": 10.0}
    records = convergence_measurement(accuracy, "pgd", 0, 7, shard, strongest)["records"]
    assert [(r["attack"], r["budget"], r["value"]) for r in records[-2:]] == [
        ("autoattack", "after_apgd-ce", 20.0),
        ("autoattack", "after_apgd-t", 10.0),
    ]
    wrong = convergence_measurement({**accuracy, "steps_2": accuracy["steps_2"] + 1}, "pgd", 0, 7, shard)
    assert wrong["reproduces_shard"] is False
    with pytest.raises(ValueError, match="budgets must be step counts >= 1"):
        convergence_set(model, images, labels, settings, 11, [0], progress=False)
