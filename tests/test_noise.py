"""The noise module: eq. 12-13, keying, determinism."""

import pytest
import torch

from diffrob.noise import (
    P_INDEX,
    P_SEED,
    P_STEP,
    chain_noise,
    fresh_seed,
    paper_hash,
    step_noise,
    step_seed,
)


def test_hash_matches_eq13_by_hand():
    s, i, t = 2, 5, 7
    expected = ((83492791 * 2) ^ (73856093 * 5) ^ (19349663 * 7)) % 2**32
    assert (P_SEED, P_INDEX, P_STEP) == (83492791, 73856093, 19349663)
    assert paper_hash(s, i, t) == expected


def test_step_seed_uses_2t_forward_and_2t_plus_1_reverse():
    assert step_seed(1, 3, 10, "forward") == paper_hash(1, 3, 20)
    assert step_seed(1, 3, 10, "reverse") == paper_hash(1, 3, 21)
    with pytest.raises(ValueError, match="phase"):
        step_seed(1, 3, 10, "sideways")


def test_sample_noise_is_identical_alone_or_in_batches_of_7_and_64():
    target = 5
    alone = step_noise(0, [target], 42, "reverse", (1, 8, 8))[0]
    in_seven = step_noise(0, list(range(7)), 42, "reverse", (1, 8, 8))[target]
    in_64 = step_noise(0, list(range(60, 124)) + [target], 42, "reverse", (1, 8, 8))[-1]
    assert torch.equal(alone, in_seven)
    assert torch.equal(alone, in_64)


def test_different_seeds_phases_steps_and_samples_give_different_noise():
    base = step_noise(0, [3], 10, "forward", (1, 8, 8))
    for other in (
        step_noise(1, [3], 10, "forward", (1, 8, 8)),
        step_noise(0, [3], 10, "reverse", (1, 8, 8)),
        step_noise(0, [3], 11, "forward", (1, 8, 8)),
        step_noise(0, [4], 10, "forward", (1, 8, 8)),
    ):
        assert not torch.equal(base, other)


def test_batch_keying_draws_one_tensor_per_batch_and_rejects_mixed_keys():
    batch = step_noise(0, [2, 2, 2], 5, "forward", (1, 4, 4), keying="batch")
    assert batch.shape == (3, 1, 4, 4)
    assert not torch.equal(batch[0], batch[1])
    with pytest.raises(ValueError, match="one batch index"):
        step_noise(0, [1, 2], 5, "forward", (1, 4, 4), keying="batch")


def test_chain_noise_shapes_and_determinism():
    a = chain_noise(0, [0, 1], (1, 8, 8), range(5), [4, 2, 0])
    b = chain_noise(0, [0, 1], (1, 8, 8), range(5), [4, 2, 0])
    assert a.forward.shape == (5, 2, 1, 8, 8) and a.reverse.shape == (3, 2, 1, 8, 8)
    assert torch.equal(a.forward, b.forward) and torch.equal(a.reverse, b.reverse)


def test_fresh_seeds_never_collide_with_user_seeds_or_each_other():
    draws = {fresh_seed(s, k) for s in range(3) for k in range(1, 200)}
    assert len(draws) == 3 * 199
    assert min(draws) >= 2**31
    with pytest.raises(ValueError, match="base seed"):
        fresh_seed(2**31, 1)
