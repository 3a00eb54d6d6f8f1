"""Samplers: correctness against diffusers' schedulers, determinism, checkpointing."""

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from diffrob.purify.noise import NoiseKeys, chain_noise, generator
from diffrob.purify.pipeline import Chunks, DiffusionPurifier
from diffrob.purify.samplers import ddim_step, ddpm_step, make_chain, purify, reverse_timesteps
from tests.conftest import SCHEDULE_CONFIG


def _noise(chain, keys, seed=0):
    return chain_noise(seed, keys, (1, 8, 8), chain.forward_timesteps, chain.reverse_timesteps)


class _MixedNoise:
    """Forward noise of one draw, reverse noise of another."""

    def __init__(self, forward_from, reverse_from):
        self.forward, self.reverse = forward_from.forward, reverse_from.reverse
        self.batch_size = forward_from.batch_size
        self.forward_timesteps, self.reverse_timesteps = forward_from.forward_timesteps, forward_from.reverse_timesteps


def test_reverse_timesteps_start_at_t_star_minus_one_and_respace_evenly():
    assert reverse_timesteps(100, 100) == tuple(range(99, -1, -1))
    assert reverse_timesteps(100, 10) == (99, 89, 79, 69, 59, 49, 39, 29, 19, 9)
    with pytest.raises(ValueError, match="reverse steps"):
        reverse_timesteps(10, 11)


def test_chain_rejects_unknown_sampler_and_t_star_out_of_range():
    with pytest.raises(ValueError, match="unknown sampler 'ddpn'"):
        make_chain("ddpn", 100, 1000)
    for bad in (0, 1001):
        with pytest.raises(ValueError, match=r"t\* must be in \[1, T=1000\]"):
            make_chain("ddpm", bad, 1000)


def test_reverse_only_has_no_forward_steps():
    assert make_chain("reverse", 50, 1000).forward_timesteps == ()
    assert make_chain("ddpm", 50, 1000).forward_timesteps == tuple(range(50))


@pytest.mark.parametrize("variance_type", ["fixed_small", "fixed_large"])
def test_ddpm_step_matches_diffusers_scheduler(schedule, variance_type):
    from dataclasses import replace

    sched = replace(schedule, variance_type=variance_type)
    reference = DDPMScheduler(**{**SCHEDULE_CONFIG, "variance_type": variance_type})
    reference.set_timesteps(1000)
    z = torch.randn((2, 1, 8, 8), generator=generator(1))
    eps = torch.randn((2, 1, 8, 8), generator=generator(2))
    t = 37
    expected = reference.step(eps, t, z, generator=generator(9)).prev_sample
    noise = torch.randn((2, 1, 8, 8), generator=generator(9))  # the draw diffusers makes inside step()
    ours = ddpm_step(z.double(), eps.double(), t, t - 1, sched, noise.double())
    torch.testing.assert_close(ours.float(), expected, rtol=1e-4, atol=1e-5)


def test_learned_range_step_matches_diffusers_scheduler(schedule):
    from dataclasses import replace

    sched = replace(schedule, variance_type="learned_range")
    reference = DDPMScheduler(**{**SCHEDULE_CONFIG, "variance_type": "learned_range"})
    reference.set_timesteps(1000)
    z = torch.randn((2, 1, 8, 8), generator=generator(1))
    output = torch.randn((2, 2, 8, 8), generator=generator(2))  # (eps, v) channels of a learned-sigma model
    output[:, 1] = torch.tanh(output[:, 1])
    t = 37
    expected = reference.step(output, t, z, generator=generator(9)).prev_sample
    noise = torch.randn((2, 1, 8, 8), generator=generator(9))
    eps, v = output[:, :1].double(), output[:, 1:].double()
    ours = ddpm_step(z.double(), eps, t, t - 1, sched, noise.double(), v)
    torch.testing.assert_close(ours.float(), expected, rtol=1e-4, atol=1e-5)
    fixed = ddpm_step(z.double(), eps, t, t - 1, schedule, noise.double(), v)  # the variance output really matters
    assert (fixed - ours).abs().max() > 1e-4
    with pytest.raises(ValueError, match="learned_range needs a model predicting its variance"):
        ddpm_step(z.double(), eps, t, t - 1, sched, noise.double())


def test_ddim_step_matches_diffusers_scheduler_with_eta_zero(schedule):
    reference = DDIMScheduler(**{k: v for k, v in SCHEDULE_CONFIG.items() if k != "variance_type"})
    reference.set_timesteps(10)  # timesteps 900, 800, ..., 0
    z = torch.randn((2, 1, 8, 8), generator=generator(1))
    eps = torch.randn((2, 1, 8, 8), generator=generator(2))
    expected = reference.step(eps, 500, z, eta=0.0).prev_sample
    ours = ddim_step(z.double(), eps.double(), 500, 400, schedule)
    torch.testing.assert_close(ours.float(), expected, rtol=1e-4, atol=1e-5)


def test_fixed_noise_purification_is_bit_identical_across_runs(unet, schedule, images):
    chain = make_chain("ddpm", 20, 1000, 4)
    with torch.no_grad():
        first = purify(unet, schedule, chain, images, _noise(chain, range(7)))
        second = purify(unet, schedule, chain, images, _noise(chain, range(7)))
    assert torch.equal(first, second)
    assert first.min() >= 0 and first.max() <= 1


def test_a_sample_purifies_the_same_alone_or_in_a_batch(unet, schedule, images):
    chain = make_chain("ddpm", 20, 1000, 4)
    with torch.no_grad():
        batch = purify(unet, schedule, chain, images, _noise(chain, range(7)))
        alone = purify(unet, schedule, chain, images[3:4], _noise(chain, [3]))
    torch.testing.assert_close(alone[0], batch[3], rtol=0, atol=1e-5)


def test_other_seed_gives_other_output(unet, schedule, images):
    chain = make_chain("ddpm", 20, 1000, 4)
    with torch.no_grad():
        a = purify(unet, schedule, chain, images, _noise(chain, range(7), seed=0))
        b = purify(unet, schedule, chain, images, _noise(chain, range(7), seed=1))
    assert (a - b).abs().max() > 1e-3


def test_ddim_reverse_is_deterministic_given_the_forward_noise(unet, schedule, images):
    chain = make_chain("ddim", 20, 1000, 4)
    noise_a = _noise(chain, range(7), seed=0)
    noise_b = _noise(chain, range(7), seed=1)
    same_forward = _MixedNoise(noise_a, noise_b)
    with torch.no_grad():
        a = purify(unet, schedule, chain, images, noise_a)
        b = purify(unet, schedule, chain, images, same_forward)
        c = purify(unet, schedule, chain, images, noise_b)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_checkpointed_gradient_equals_plain_gradient(unet, schedule, images):
    chain = make_chain("ddpm", 20, 1000, 5)
    noise = _noise(chain, range(7))
    grads = []
    for checkpointed in (False, True):
        x = images.clone().requires_grad_(True)
        purify(unet, schedule, chain, x, noise, checkpointed=checkpointed).square().sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-6)
    assert grads[0].abs().sum() > 0


def test_the_chunks_setting_turns_step_checkpointing_on_and_off(unet, scheduler):
    from diffrob.purify.pipeline import PurifierSpec, build_purifier

    for flag in (True, False):
        chain = {"sampler": "ddpm", "t_star": 20, "reverse_steps": 5, "chunks": {"checkpoint_steps": flag}}
        assert build_purifier(unet, scheduler, PurifierSpec.from_mapping(chain), range(7)).checkpointed is flag
    unset = PurifierSpec.from_mapping({"sampler": "ddpm", "t_star": 20, "reverse_steps": 5})
    assert build_purifier(unet, scheduler, unset, range(7)).checkpointed  # the schema's default


def test_trajectory_has_every_state_and_ends_at_the_purified_image(unet, schedule, images):
    chain = make_chain("ddpm", 20, 1000, 4)
    purifier = DiffusionPurifier(unet, schedule, chain, NoiseKeys(tuple(range(7))), Chunks(trajectory=3))
    chunks = list(purifier.trajectory(images, range(7), seed=0))
    assert [c[0].shape[0] for c in chunks] == [3, 3, 1]
    states = [torch.cat(parts) for parts in zip(*chunks, strict=True)]
    assert len(states) == 1 + 20 + 4
    torch.testing.assert_close(states[0], images)
    with torch.no_grad():
        torch.testing.assert_close(states[-1], purify(unet, schedule, chain, images, _noise(chain, range(7))))
