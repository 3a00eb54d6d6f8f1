"""The one owner of randomness in diffrob.

Every Gaussian draw of the purification chain comes from here, keyed by the paper's
multiplicative hash (eq. 12-13, Appendix B):

    seed(s, i, t) = hash(s, i, 2t)      forward step t
    seed(s, i, t) = hash(s, i, 2t + 1)  reverse step t
    hash(s, i, t) = (p_s*s) XOR (p_i*i) XOR (p_t*t)  mod 2^32

The paper keys ``i`` by the *batch* index. By default diffrob keys it by the *sample's index
in the data set* (``keying="sample"``), so a sample's noise does not depend on the batch size
or on how the work is sharded; ``keying="batch"`` reproduces the paper's scheme.

Randomness configurations (a "xi" in the paper's notation):

* ``fixed`` -- the attack and the test both use xi_s, the chain noise of base seed ``s``.
* ``free`` -- every call of the purifier draws a fresh xi (:func:`fresh_seed`).

Code from other libraries that draws from torch's global generator (foolbox's random start,
``nn.Module`` initialisation) runs inside :func:`seeded`, which forks the global state so nothing
leaks out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

P_SEED = 83492791
P_INDEX = 73856093
P_STEP = 19349663
MODULUS = 2**32
FRESH_BASE = 2**31

Phase = Literal["forward", "reverse"]
Keying = Literal["sample", "batch"]


def paper_hash(s: int, i: int, t: int) -> int:
    """Multiplicative hash of eq. 13: ``(p_s*s) XOR (p_i*i) XOR (p_t*t) mod 2^32``."""
    return ((P_SEED * s) ^ (P_INDEX * i) ^ (P_STEP * t)) % MODULUS


def step_seed(s: int, i: int, t: int, phase: Phase) -> int:
    """Seed of the Gaussian draw at timestep ``t`` (eq. 12): ``2t`` forward, ``2t+1`` reverse."""
    if phase == "forward":
        return paper_hash(s, i, 2 * t)
    if phase == "reverse":
        return paper_hash(s, i, 2 * t + 1)
    raise ValueError(f"phase must be 'forward' or 'reverse', got {phase!r}")


def fresh_seed(base_seed: int, draw: int) -> int:
    """Base seed of the ``draw``-th fresh randomness configuration under ``free`` randomness.

    Fresh seeds live in ``[2^31, 2^32)``, disjoint from user base seeds (which the config
    restricts to ``[0, 2^31)``), so a free draw never replays a fixed configuration.
    """
    if not 0 <= base_seed < FRESH_BASE:
        raise ValueError(f"base seed must be in [0, 2^31), got {base_seed}")
    return FRESH_BASE + (base_seed * 2**20 + draw) % FRESH_BASE


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: the only way diffrob makes one."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def gaussian(shape: Sequence[int], seed: int) -> torch.Tensor:
    """A standard normal tensor of ``shape`` drawn from a generator seeded with ``seed``."""
    return torch.randn(tuple(shape), generator=generator(seed))


def uniform(shape: Sequence[int], low: float, high: float, seed: int) -> torch.Tensor:
    """A tensor of ``shape`` uniform on ``[low, high)``, drawn from ``seed``."""
    return low + (high - low) * torch.rand(tuple(shape), generator=generator(seed))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run third-party code that uses torch's global generator with a fixed seed.

    The global state is forked and restored afterwards, so the seed does not leak.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def step_noise(
    base_seed: int,
    keys: Sequence[int],
    t: int,
    phase: Phase,
    image_shape: Sequence[int],
    keying: Keying = "sample",
) -> torch.Tensor:
    """Gaussian noise of one chain step for a batch, shape ``(len(keys), *image_shape)``.

    With ``keying="sample"``, ``keys`` are the samples' data-set indices and each sample's noise
    is drawn from its own seed ``seed(s, i, t)``. With ``keying="batch"``, ``keys`` holds a single
    batch index ``i`` (repeated or not) and the whole batch is one draw, as in the paper.
    """
    if keying == "sample":
        return torch.stack([gaussian(image_shape, step_seed(base_seed, int(i), t, phase)) for i in keys])
    if keying == "batch":
        batch_ids = set(int(i) for i in keys)
        if len(batch_ids) != 1:
            raise ValueError(f"batch keying needs one batch index per batch, got {sorted(batch_ids)}")
        return gaussian((len(keys), *image_shape), step_seed(base_seed, batch_ids.pop(), t, phase))
    raise ValueError(f"keying must be 'sample' or 'batch', got {keying!r}")


@dataclass(frozen=True)
class ChainNoise:
    """Pre-drawn noise xi of a purification chain for one batch.

    ``forward[k]`` is the draw of forward step ``forward_timesteps[k]``; ``reverse[k]`` that of
    reverse step ``reverse_timesteps[k]``. Drawing everything up front makes recomputation under
    gradient checkpointing exact.
    """

    forward: torch.Tensor  # (n_forward, B, C, H, W)
    reverse: torch.Tensor  # (n_reverse, B, C, H, W)

    def to(self, device: torch.device | str) -> ChainNoise:
        """The same noise on ``device``."""
        return ChainNoise(self.forward.to(device), self.reverse.to(device))


def chain_noise(
    base_seed: int,
    keys: Sequence[int],
    image_shape: Sequence[int],
    forward_timesteps: Sequence[int],
    reverse_timesteps: Sequence[int],
    keying: Keying = "sample",
) -> ChainNoise:
    """Draw the chain noise xi of base seed ``s`` for a batch (eq. 12-13 at every step)."""
    batch = len(keys)

    def draw(timesteps: Sequence[int], phase: Phase) -> torch.Tensor:
        if not timesteps:
            return torch.zeros((0, batch, *image_shape))
        return torch.stack([step_noise(base_seed, keys, t, phase, image_shape, keying) for t in timesteps])

    return ChainNoise(draw(forward_timesteps, "forward"), draw(reverse_timesteps, "reverse"))
