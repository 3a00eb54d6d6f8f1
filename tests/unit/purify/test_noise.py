"""The noise module: eq. 12-13, keying, determinism."""

import hashlib

import pytest
import torch

from diffrob.purify.noise import (
    P_INDEX,
    P_SEED,
    P_STEP,
    NoiseKeys,
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


def _digest(noise, steps: int, phase: str) -> str:
    draw = noise.forward if phase == "forward" else noise.reverse
    stacked = torch.stack([draw(k) for k in range(steps)])
    return hashlib.sha256(stacked.contiguous().numpy().tobytes()).hexdigest()[:16]


def test_chain_noise_is_drawn_step_by_step_with_the_bits_of_the_predrawn_scheme():
    # Digests of the noise the pre-drawn ChainNoise (all steps drawn up front) gave for these keys on the CPU.
    a = chain_noise(3, [5, 17, 5], (3, 4, 4), range(4), [3, 1], "sample")
    assert a.forward(0).shape == (3, 3, 4, 4) and a.batch_size == 3
    assert (_digest(a, 4, "forward"), _digest(a, 2, "reverse")) == ("f7c9476af7ee2997", "9a0d79e01d7ad1f2")
    b = chain_noise(3, [2, 2, 2, 2], (3, 4, 4), range(4), [3, 1], "batch")
    assert (_digest(b, 4, "forward"), _digest(b, 2, "reverse")) == ("54b87a31a467c2b4", "a2e081fe5394cc9b")
    assert torch.equal(a.reverse(1), a.reverse(1))  # drawing a step again (checkpoint recomputation) repeats it
    assert not torch.equal(a.forward(0), b.forward(0))


def test_noise_keys_give_each_position_its_row_of_the_attack_batch_however_it_is_chunked():
    keys = NoiseKeys(tuple(range(100, 110)), keying="batch", batch_size=4)  # batches [0-3] [4-7] [8-9]
    steps = (range(2), [1, 0])
    whole = [chain_noise(0, [b] * n, (1, 2, 2), *steps, "batch") for b, n in ((0, 4), (1, 4), (2, 2))]
    expected = torch.cat([w.forward(1) for w in whole])
    for chunk in ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 4, 5], [9, 8], [6, 6, 6]):
        got = keys.chain_noise(0, chunk, (1, 2, 2), steps).forward(1)
        assert torch.equal(got, expected[chunk]), chunk
    sample = NoiseKeys(tuple(range(100, 110)))
    assert torch.equal(
        sample.chain_noise(0, [3, 3], (1, 2, 2), steps).reverse(0),
        chain_noise(0, [103, 103], (1, 2, 2), *steps).reverse(0),
    )
    with pytest.raises(IndexError, match="outside the evaluation set of 10"):
        keys.draws(0, [10])
    with pytest.raises(ValueError, match="keying"):
        NoiseKeys((1,), keying="pixel")  # type: ignore[arg-type]


def test_noise_of_two_batches_stacks_only_for_one_chain():
    a = chain_noise(0, [1], (1, 2, 2), range(2), [1, 0])
    b = chain_noise(1, [1], (1, 2, 2), range(2), [1, 0])
    assert torch.equal((a + b).forward(0), torch.cat([a.forward(0), b.forward(0)]))
    with pytest.raises(ValueError, match="one chain"):
        a + chain_noise(0, [1], (1, 2, 2), range(3), [2, 0])


def test_fresh_seeds_never_collide_with_user_seeds_or_each_other():
    draws = {fresh_seed(s, k) for s in range(3) for k in range(1, 200)}
    assert len(draws) == 3 * 199
    assert min(draws) >= 2**31
    with pytest.raises(ValueError, match="base seed"):
        fresh_seed(2**31, 1)
