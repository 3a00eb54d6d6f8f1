"""PGD through the purifier: budget, bounds, a known optimum, randomness modes."""

import pytest
import torch
from torch import nn

from diffrob.attack.pgd import AttackSettings, attack_set, linf_pgd
from diffrob.attack.purified import PurifiedClassifier, SpeedOptions, XiStream, purified_classifier
from diffrob.purify.noise import NoiseKeys
from diffrob.purify.pipeline import Chunks, DiffusionPurifier, PurifierSpec
from diffrob.purify.samplers import make_chain, purify


def _linear_binary(weight_seed=0):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.randn((2, 64), generator=torch.Generator().manual_seed(weight_seed)))
        model[1].bias.zero_()
    return model.eval()


def test_pgd_stays_in_the_eps_ball_and_in_unit_bounds(classifier, images):
    labels = torch.arange(7) % 10
    eps = 0.1
    adv = linf_pgd(classifier, images, labels, AttackSettings(eps, steps=5, rel_stepsize=0.3), seed=0)
    assert (adv - images).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1


def test_pgd_reaches_the_known_optimum_of_a_linear_classifier():
    # For logits W x, the l_inf-optimal untargeted perturbation of a 2-class model is
    # eps * sign(w_other - w_true) (no clipping binds for x in [0.3, 0.7] and eps = 0.1).
    model = _linear_binary()
    x = 0.3 + 0.4 * torch.rand((16, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    w = model[1].weight.detach()
    direction = torch.sign(w[1 - y] - w[y]).view(-1, 1, 8, 8)
    eps = 0.1

    def loss(z):
        return nn.functional.cross_entropy(model(z), y, reduction="none")

    optimum = loss(x + eps * direction)
    adv = linf_pgd(model, x, y, AttackSettings(eps, steps=40, rel_stepsize=0.1), seed=0)
    assert (loss(adv) > loss(x)).all()
    torch.testing.assert_close(loss(adv), optimum, rtol=1e-3, atol=1e-4)


def test_pgd_rejects_a_non_positive_budget(classifier, images):
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        linf_pgd(classifier, images, torch.zeros(7, dtype=torch.long), AttackSettings(0.0, 1, 0.1), 0)


def test_pgd_random_start_is_reproducible_and_leaves_global_rng_alone(classifier, images):
    labels = torch.zeros(7, dtype=torch.long)
    state = torch.random.get_rng_state()
    a = linf_pgd(classifier, images, labels, AttackSettings(0.1, 2, 0.1), seed=4)
    b = linf_pgd(classifier, images, labels, AttackSettings(0.1, 2, 0.1), seed=4)
    assert torch.equal(a, b)
    assert torch.equal(state, torch.random.get_rng_state())


def _purifier(unet, schedule, chain_size=128, keying="sample", noise_batch=1, sampler="ddpm", t_star=10):
    chain = make_chain(sampler, t_star, 1000, 2)
    return DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(7)), keying, noise_batch), Chunks(chain_size))


def _model(unet, schedule, classifier, randomness, seed=0, chain_size=128, gradient="full", t_star=10):
    purifier = _purifier(unet, schedule, chain_size, t_star=t_star)
    return PurifiedClassifier(purifier, classifier, XiStream(seed, randomness), gradient=gradient)


def test_fixed_randomness_repeats_its_output_and_free_does_not(unet, schedule, classifier, images):
    fixed = _model(unet, schedule, classifier, "fixed")
    free = _model(unet, schedule, classifier, "free")
    for m in (fixed, free):
        m.use_batch(range(7))
    with torch.no_grad():
        assert torch.equal(fixed(images), fixed(images))
        assert not torch.equal(free(images), free(images))
    assert free.calls == 2


def test_purified_classifier_rejects_keys_that_do_not_match_the_batch(unet, schedule, classifier, images):
    model = _model(unet, schedule, classifier, "fixed")
    model.use_batch([0, 1])
    with pytest.raises(RuntimeError, match="2 positions for a batch of 7"):
        model(images)
    with pytest.raises(ValueError, match="unknown randomness"):
        _model(unet, schedule, classifier, "sometimes")


def test_attack_set_batches_do_not_change_a_samples_outcome_under_fixed_randomness(unet, schedule, classifier, images):
    labels = torch.arange(7) % 10
    model = _model(unet, schedule, classifier, "fixed")
    settings = AttackSettings(0.1, 2, 0.25, random_start=False, batch_size=7)
    adv_all, correct_all = attack_set(model, images, labels, settings, 0, progress=False)
    adv_split, correct_split = attack_set(
        model, images, labels, AttackSettings(0.1, 2, 0.25, False, 3), 0, progress=False
    )
    torch.testing.assert_close(adv_all, adv_split, rtol=0, atol=1e-5)
    assert torch.equal(correct_all, correct_split)
    assert (adv_all - images).abs().max() <= 0.1 + 1e-6


def test_bpda_gradient_is_the_classifier_gradient_at_the_purified_image(unet, schedule, classifier, images):
    labels = torch.arange(7) % 10
    model = _model(unet, schedule, classifier, "fixed", gradient="bpda")
    model.use_batch(range(7))
    x = images.clone().requires_grad_(True)
    nn.functional.cross_entropy(model(x), labels, reduction="sum").backward()
    with torch.no_grad():
        noise = model.purifier.noise(0, range(7), images.shape[1:])
        purified = purify(unet, schedule, model.purifier.chain, images, noise)
    z = purified.clone().requires_grad_(True)
    nn.functional.cross_entropy(classifier(z), labels, reduction="sum").backward()
    torch.testing.assert_close(x.grad, z.grad)


def test_eot_over_fixed_randomness_equals_plain_pgd(unet, schedule, classifier, images):
    labels = torch.arange(7) % 10
    model = _model(unet, schedule, classifier, "fixed")
    model.use_batch(range(7))
    plain = linf_pgd(model, images, labels, AttackSettings(0.1, 2, 0.25), seed=1)
    eot = linf_pgd(model, images, labels, AttackSettings(0.1, 2, 0.25, eot_samples=3), seed=1)
    torch.testing.assert_close(plain, eot, rtol=0, atol=1e-6)


def test_attack_names_map_to_gradients_and_eot():
    from diffrob.attack.names import attack_gradient, uses_eot

    assert [attack_gradient(a) for a in ("pgd", "pgd_eot", "bpda", "bpda_eot")] == ["full", "full", "bpda", "bpda"]
    assert [uses_eot(a) for a in ("pgd", "pgd_eot")] == [False, True]
    with pytest.raises(ValueError, match="unknown attack 'cw'"):
        attack_gradient("cw")


def test_batched_eot_draws_and_averages_like_foolbox_eot_calls(unet, schedule, classifier, images):
    """K draws batched through the chain in one call = foolbox's EOT wrapper making K calls (free randomness)."""
    labels = torch.arange(7) % 10
    sequential = _model(unet, schedule, classifier, "free")
    sequential.use_batch(range(7))
    expected = linf_pgd(sequential, images, labels, AttackSettings(0.1, 2, 0.25, eot_samples=3), seed=1)
    batched = _model(unet, schedule, classifier, "free")
    batched.use_batch(range(7))
    batched.eot_samples = 3
    got = linf_pgd(batched, images, labels, AttackSettings(0.1, 2, 0.25), seed=1)
    assert batched.calls == sequential.calls == 3 * 3  # 2 gradient steps + the final check, K = 3 draws each
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "options",
    [SpeedOptions(bf16=True), SpeedOptions(channels_last=True), SpeedOptions(compile=True)],
    ids=["bf16", "channels_last", "compile"],
)
def test_speed_options_keep_the_full_gradient(unet, scheduler, classifier, images, options):
    """Each speed option's input gradient through the whole chain has cosine >= 0.99 to the fp32 one."""
    labels = torch.arange(7) % 10
    spec = PurifierSpec("ddpm", 20, 4)

    def gradient(speed):
        import copy

        model = purified_classifier(
            copy.deepcopy(unet), scheduler, copy.deepcopy(classifier), spec, range(7), XiStream(0), speed=speed
        )
        model.use_batch(range(7))
        x = images.clone().requires_grad_(True)
        nn.functional.cross_entropy(model(x), labels, reduction="sum").backward()
        return x.grad.flatten()

    reference, fast = gradient(SpeedOptions()), gradient(options)
    assert float(nn.functional.cosine_similarity(reference, fast, dim=0)) >= 0.99
    assert not torch.equal(reference, fast) or not options.bf16  # bf16 really changes the arithmetic


@pytest.mark.parametrize("gradient", ["full", "bpda"])
@pytest.mark.parametrize("randomness", ["fixed", "free"])
def test_chunked_expectation_gives_the_logits_and_gradient_of_one_batch(
    unet, schedule, classifier, images, gradient, randomness
):
    """7 images x K = 3 draws through the chain 4 pairs at a time (backward recomputed) = all 21 at once."""
    labels = torch.arange(7) % 10
    results = []
    for chain_size in (21, 4):
        model = _model(unet, schedule, classifier, randomness, chain_size=chain_size, gradient=gradient)
        model.use_batch(range(7))
        model.eot_samples = 3
        x = images.clone().requires_grad_(True)
        logits = model(x)
        nn.functional.cross_entropy(logits, labels, reduction="sum").backward()
        results.append((logits.detach(), x.grad))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-4, atol=1e-6)
    assert results[0][1].abs().sum() > 0


def test_attacks_and_every_measurement_see_the_same_noise_under_batch_keying(unet, schedule, images):
    """keying: batch numbers the attack's batches; the purifications of measurements, chunked otherwise, match them.

    Every measurement purifies through DiffusionPurifier: __call__ (accuracy re-tests, Table 1, compression,
    randomness), trajectory (Fig. 1c) and noise+purify (the Jacobian). With an identity classifier the
    attack's logits are its purified images.
    """
    identity = nn.Flatten()

    def attack_view(purifier):  # as attack_set: batches of attack.batch_size = 3 -> positions [0-2] [3-5] [6]
        model = PurifiedClassifier(purifier, identity, XiStream(5))
        rows = []
        for start in range(0, 7, 3):
            model.use_batch(range(start, min(start + 3, 7)))
            with torch.no_grad():
                rows.append(model(images[start : start + 3]))
        return torch.cat(rows).view_as(images)

    measured = _purifier(unet, schedule, chain_size=2, keying="batch", noise_batch=3)
    attacked = attack_view(_purifier(unet, schedule, chain_size=128, keying="batch", noise_batch=3))
    torch.testing.assert_close(measured(images, range(7), 5), attacked, rtol=0, atol=1e-6)
    final = torch.cat([states[-1] for states in measured.trajectory(images, range(7), 5)])
    torch.testing.assert_close(final, attacked, rtol=0, atol=1e-6)
    copies = images[4:5].repeat(2, 1, 1, 1)  # the Jacobian's copies of the sample at position 4
    with torch.no_grad():
        jac_out = measured.purify(copies, measured.noise(5, [4, 4], images.shape[1:]))
    torch.testing.assert_close(jac_out, attacked[4:5].expand(2, -1, -1, -1), rtol=0, atol=1e-6)
    retest = PurifiedClassifier(measured, identity, XiStream(5))  # measure_shard's re-test: the whole set at once
    retest.use_batch(range(7))
    with torch.no_grad():
        torch.testing.assert_close(retest(images).view_as(images), attacked, rtol=0, atol=1e-6)
    # The check can fail: numbering the batches otherwise, or keying by sample, gives other noise.
    for other in (
        _purifier(unet, schedule, keying="batch", noise_batch=4),
        _purifier(unet, schedule, keying="sample"),
    ):
        assert (other(images, range(7), 5) - attacked).abs().max() > 1e-3


class _Sharpened(nn.Module):
    """A classifier's logits times 50: its softmax differs between the draws of the purifier."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, x):
        return 50.0 * self.classifier(x)


def test_summed_loss_eot_ascends_the_sum_of_the_draws_cross_entropies(unet, schedule, classifier, images):
    """ADDT's EOT (eq. 9 literally): K draws batched with log-probabilities averaged; the negative log-likelihood's
    gradient is 1/K of the gradient of the K draws' cross-entropies summed, each draw made by its own call."""
    labels, sharp = torch.arange(7) % 10, _Sharpened(classifier)

    def gradient(eot_samples, log_probs, calls):
        model = _model(unet, schedule, sharp, "free", t_star=400)  # draws far apart
        model.use_batch(range(7))
        model.eot_samples, model.log_probs = eot_samples, log_probs
        x = images.clone().requires_grad_(True)
        if log_probs:
            loss = -(model(x).gather(1, labels[:, None])).sum()
        else:
            loss = sum(nn.functional.cross_entropy(model(x), labels, reduction="sum") for _ in range(calls))
        loss.backward()
        assert model.calls == 3
        return x.grad

    summed = gradient(1, False, calls=3)  # three calls, one fresh draw each
    torch.testing.assert_close(gradient(3, True, calls=1) * 3, summed, rtol=1e-4, atol=1e-6)
    # averaging logits instead (foolbox's EOT) follows another direction when the draws' softmaxes differ
    averaged = gradient(3, False, calls=1) * 3
    cosine = float(nn.functional.cosine_similarity(averaged.flatten(), summed.flatten(), dim=0))
    assert cosine < 0.998  # 0.996 here


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_addt_protocol_attack_keeps_its_budget_from_a_zero_start(unet, schedule, classifier, images, norm):
    """No random start, an absolute step, the budget's ball in its norm and [0, 1]; the attack moves the images
    and raises the summed loss; the model is left with one draw and logits afterwards."""
    from diffrob.attack.pgd import pgd

    labels = torch.arange(7) % 10
    budgets = {"linf": {"epsilon": 0.1, "step": 0.03}, "l2": {"epsilon": 0.5, "step": 0.2}}
    settings = AttackSettings.protocol({"steps": 3, **budgets}, norm, eot_samples=2, batch_size=7)
    assert (settings.random_start, settings.abs_stepsize, settings.eot_loss) == (False, budgets[norm]["step"], "sum")
    model = _model(unet, schedule, classifier, "fixed")
    model.use_batch(range(7))
    x_adv = pgd(model, images, labels, settings, seed=0)
    delta = (x_adv - images).flatten(1)
    size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert float(size.max()) <= budgets[norm]["epsilon"] + 1e-5
    assert float(size.min()) > 0
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    assert (model.eot_samples, model.log_probs) == (1, False)
    with torch.no_grad():
        before = nn.functional.cross_entropy(model(images), labels)
        after = nn.functional.cross_entropy(model(x_adv), labels)
    assert float(after) > float(before)


def test_attack_settings_refuse_an_unknown_norm_or_eot_loss():
    with pytest.raises(ValueError, match="unknown norm 'l1'"):
        AttackSettings(0.1, 1, 0.1, norm="l1")
    with pytest.raises(ValueError, match="unknown eot_loss 'mean'"):
        AttackSettings(0.1, 1, 0.1, eot_loss="mean")


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_one_protocol_step_follows_the_summed_gradient_of_the_draws_and_ignores_the_start_seed(
    unet, schedule, classifier, images, norm
):
    """Under free randomness, one step of ADDT's attack moves x by the step along sign (l_inf) or the per-image
    l2-normalised direction of the sum over the K draws of the cross-entropy gradients, from x itself."""
    from diffrob.attack.pgd import pgd

    labels, sharp, k, step = torch.arange(7) % 10, _Sharpened(classifier), 3, 0.01
    settings = AttackSettings.protocol(
        {"steps": 1, norm: {"epsilon": 0.5, "step": step}}, norm, eot_samples=k, batch_size=7
    )

    def attacked(seed):
        model = _model(unet, schedule, sharp, "free", t_star=400)
        model.use_batch(range(7))
        return pgd(model, images, labels, settings, seed=seed)

    reference = _model(unet, schedule, sharp, "free", t_star=400)  # the same K draws, one call each
    reference.use_batch(range(7))
    x = images.clone().requires_grad_(True)
    sum(nn.functional.cross_entropy(reference(x), labels, reduction="sum") for _ in range(k)).backward()
    g = x.grad
    if norm == "linf":
        expected = (images + step * g.sign()).clamp(0, 1)
    else:
        expected = (images + step * g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).clamp(0, 1)
    got = attacked(seed=0)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(attacked(seed=123), got, rtol=0, atol=0)  # no random start: the seed is unused
