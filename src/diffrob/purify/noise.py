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

The N-evaluation (DiffHammer's worst-of-N, DiffBreak's majority vote) tests each adversarial image under N
draws of a stream of its own, :class:`StreamSeed` ``("evaluation", n)``: its step seeds are digests of the
stream's name, the draw n, the key i and the step (:func:`stream_step_seed`), in ``[2^32, 2^64)``, where the
paper's hash (below ``2^32``) never lands, so no evaluation draw is an attack's or a fixed configuration's xi.

PGD's random start is a stream of its own (:func:`shard_start_seed`): batch b of an attack shard starts
from ``shard_start_seed(shard) + b``, where the shard's seed is a digest of its whole key (sampler, t*,
attack, randomness, base seed). No two shards share a start, so the perturbations of two shards are not
correlated by a common starting draw (Table 5), and the start never depends on the chain noise's seed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from diffrob.purify.streams import DRAWS_PER_SEED

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


@dataclass(frozen=True)
class StreamSeed:
    """Draw ``number`` of a named stream of noise outside the paper's hash (:func:`stream_step_seed`)."""

    stream: str
    number: int

    def __str__(self) -> str:
        return f"{self.stream} draw {self.number}"


BaseSeed = int | StreamSeed


STREAM_BASE = 2**32


def stream_step_seed(seed: StreamSeed, i: int, t: int) -> int:
    """Seed of key ``i``'s draw at step index ``t`` (``2t`` forward, ``2t+1`` reverse) of a :class:`StreamSeed`:
    ``2^32`` plus the first 7 bytes of the sha256 of all four, so it never equals a paper-hash seed."""
    key = f"{seed.stream}/draw{int(seed.number)}/key{int(i)}/step{int(t)}"
    return STREAM_BASE + int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")


def step_seed(s: BaseSeed, i: int, t: int, phase: Phase) -> int:
    """Seed of the Gaussian draw at timestep ``t`` (eq. 12): ``2t`` forward, ``2t+1`` reverse; under the paper's
    hash for an integer base seed, under :func:`stream_step_seed` for a :class:`StreamSeed`."""
    if phase not in ("forward", "reverse"):
        raise ValueError(f"phase must be 'forward' or 'reverse', got {phase!r}")
    index = 2 * t if phase == "forward" else 2 * t + 1
    return stream_step_seed(s, i, index) if isinstance(s, StreamSeed) else paper_hash(s, i, index)


def evaluation_seed(draw: int) -> StreamSeed:
    """The ``draw``-th xi of the N-evaluation (the same N draws for every adversarial set, so they compare)."""
    if draw < 0:
        raise ValueError(f"an evaluation draw is numbered from 0, got {draw}")
    return StreamSeed("evaluation", int(draw))


def _base(seed: BaseSeed) -> BaseSeed:
    return seed if isinstance(seed, StreamSeed) else int(seed)


def fresh_seed(base_seed: int, draw: int) -> int:
    """Base seed of the ``draw``-th fresh randomness configuration under ``free`` randomness.

    Fresh seeds live in ``[2^31, 2^32)``, disjoint from user base seeds (which the config
    restricts to ``[0, 2^31)``), so a free draw never replays a fixed configuration.
    """
    if not 0 <= base_seed < FRESH_BASE:
        raise ValueError(f"base seed must be in [0, 2^31), got {base_seed}")
    return FRESH_BASE + (base_seed * DRAWS_PER_SEED + draw) % FRESH_BASE


def shard_start_seed(sampler: str, t_star: int, attack: str, randomness: str, base_seed: int) -> int:
    """Seed of PGD's random start in batch 0 of one attack shard (batch b: this plus b): the first 7 bytes
    of the sha256 of the shard's key, so every (sampler, t*, attack, randomness, base seed) has its own."""
    key = f"pgd-start/{sampler}/t{int(t_star)}/{attack}/{randomness}/seed{int(base_seed)}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")


def process_seed(seed: int, rank: int) -> int:
    """Seed of the noise a data-parallel training process of ``rank`` draws from a run seeded ``seed``: the first
    7 bytes of the sha256 of both, so every process draws its own noise and a run with another seed other noise."""
    key = f"training-noise/seed{int(seed)}/rank{int(rank)}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")


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


def numpy_generator(seed: int) -> np.random.Generator:
    """A numpy generator seeded with ``seed`` (for bytes and pixels written without torch)."""
    return np.random.default_rng(int(seed))


def gaussian_from(gen: torch.Generator, shape: Sequence[int], dtype: torch.dtype | None = None) -> torch.Tensor:
    """The next standard normal tensor of ``shape`` from a training loop's generator ``gen`` (CPU)."""
    return torch.randn(tuple(shape), generator=gen, dtype=dtype)


def integers_from(gen: torch.Generator, high: int, count: int) -> torch.Tensor:
    """The next ``count`` integers uniform on ``[0, high)`` from ``gen``: a batch's rows or timesteps."""
    return torch.randint(0, int(high), (int(count),), generator=gen)


def permutation_from(gen: torch.Generator, n: int) -> torch.Tensor:
    """The next random permutation of ``range(n)`` from ``gen``: an epoch's order."""
    return torch.randperm(int(n), generator=gen)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run third-party code that uses torch's global generator with a fixed seed.

    The global state is forked and restored afterwards, so the seed does not leak.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def step_noise(
    base_seed: BaseSeed,
    keys: Sequence[int],
    t: int,
    phase: Phase,
    image_shape: Sequence[int],
    keying: Keying = "sample",
) -> torch.Tensor:
    """Gaussian noise of one chain step for a batch, shape ``(len(keys), *image_shape)``.

    With ``keying="sample"``, ``keys`` are the samples' data-set indices and each sample's noise
    is drawn from its own seed ``seed(s, i, t)`` (a key repeated in ``keys`` is drawn once). With
    ``keying="batch"``, ``keys`` holds a single batch index ``i`` (repeated or not) and the whole
    batch is one draw, as in the paper.
    """
    if keying == "sample":
        unique = {int(i): None for i in keys}
        drawn = {i: gaussian(image_shape, step_seed(base_seed, i, t, phase)) for i in unique}
        return torch.stack([drawn[int(i)] for i in keys])
    if keying == "batch":
        batch_ids = set(int(i) for i in keys)
        if len(batch_ids) != 1:
            raise ValueError(f"batch keying needs one batch index per batch, got {sorted(batch_ids)}")
        return gaussian((len(keys), *image_shape), step_seed(base_seed, batch_ids.pop(), t, phase))
    raise ValueError(f"keying must be 'sample' or 'batch', got {keying!r}")


@dataclass(frozen=True)
class NoiseDraw:
    """One keyed draw per chain step: base seed s, its keys and the rows of the draw that are used.

    ``keys`` are sample indices (``keying="sample"``) or one batch index repeated once per row of
    the paper's batch draw (``keying="batch"``); ``rows`` picks rows of that draw (None: all, in order).
    """

    base_seed: BaseSeed
    keys: tuple[int, ...]
    keying: Keying = "sample"
    rows: tuple[int, ...] | None = None

    def step(self, t: int, phase: Phase, image_shape: Sequence[int]) -> torch.Tensor:
        """This draw's noise at step ``t`` (eq. 12-13), on the CPU."""
        noise = step_noise(self.base_seed, self.keys, t, phase, image_shape, self.keying)
        return noise if self.rows is None else noise[list(self.rows)]

    @property
    def size(self) -> int:
        """Number of samples this draw gives noise to."""
        return len(self.keys) if self.rows is None else len(self.rows)


@dataclass(frozen=True)
class ChainNoise:
    """The noise xi of a purification chain for one batch, drawn step by step when a step asks for it.

    The batch is the concatenation of ``draws`` (several base seeds for EOT, several paper batches
    for a chunk that spans them). Each step's noise is drawn on the CPU from its keyed generator and
    moved to ``device``, so xi is the same on every device and never held for more than one step;
    drawing it again (gradient checkpointing recomputes steps) gives the same bits.
    """

    draws: tuple[NoiseDraw, ...]
    image_shape: tuple[int, ...]
    forward_timesteps: tuple[int, ...]
    reverse_timesteps: tuple[int, ...]
    device: str = "cpu"

    @property
    def batch_size(self) -> int:
        """Number of samples in the batch."""
        return sum(d.size for d in self.draws)

    def _step(self, t: int, phase: Phase) -> torch.Tensor:
        noise = torch.cat([d.step(t, phase, self.image_shape) for d in self.draws])
        return noise.to(self.device, non_blocking=True)

    def forward(self, k: int) -> torch.Tensor:
        """Noise of the ``k``-th forward step (timestep ``forward_timesteps[k]``), shape (B, C, H, W)."""
        return self._step(self.forward_timesteps[k], "forward")

    def reverse(self, k: int) -> torch.Tensor:
        """Noise of the ``k``-th reverse step (timestep ``reverse_timesteps[k]``), shape (B, C, H, W)."""
        return self._step(self.reverse_timesteps[k], "reverse")

    def to(self, device: torch.device | str) -> ChainNoise:
        """The same noise, delivered on ``device``."""
        return ChainNoise(self.draws, self.image_shape, self.forward_timesteps, self.reverse_timesteps, str(device))

    def __add__(self, other: ChainNoise) -> ChainNoise:
        """The noise of two batches stacked along the batch (same chain and image shape)."""
        if (self.image_shape, self.forward_timesteps, self.reverse_timesteps) != (
            other.image_shape,
            other.forward_timesteps,
            other.reverse_timesteps,
        ):
            raise ValueError("only the noise of one chain and image shape can be stacked")
        return ChainNoise(
            self.draws + other.draws, self.image_shape, self.forward_timesteps, self.reverse_timesteps, self.device
        )


def chain_noise(
    base_seed: BaseSeed,
    keys: Sequence[int],
    image_shape: Sequence[int],
    forward_timesteps: Sequence[int],
    reverse_timesteps: Sequence[int],
    keying: Keying = "sample",
) -> ChainNoise:
    """The chain noise xi of base seed ``s`` for a batch with noise keys ``keys`` (eq. 12-13 at every step)."""
    return ChainNoise(
        (NoiseDraw(_base(base_seed), tuple(int(k) for k in keys), keying),),
        tuple(int(n) for n in image_shape),
        tuple(int(t) for t in forward_timesteps),
        tuple(int(t) for t in reverse_timesteps),
    )


@dataclass(frozen=True)
class NoiseKeys:
    """Where the noise of each evaluated sample comes from: the one place for keying and batch numbering.

    A sample is named by its *position* in the evaluation set (0 .. N-1); ``indices[p]`` is its
    index in the data set. With ``keying="sample"`` its noise is keyed by that index. With
    ``keying="batch"`` (the paper) the set is cut into batches of ``batch_size`` in order, batch
    ``b`` is one draw keyed by ``b`` and the sample takes row ``p mod batch_size`` of it: the
    attacks' batches, so every measurement of a sample sees the noise its attack saw, however
    the work is chunked.
    """

    indices: tuple[int, ...]
    keying: Keying = "sample"
    batch_size: int = 1

    def __post_init__(self) -> None:
        if self.keying not in ("sample", "batch"):
            raise ValueError(f"keying must be 'sample' or 'batch', got {self.keying!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    def draws(self, base_seed: BaseSeed, positions: Sequence[int]) -> tuple[NoiseDraw, ...]:
        """The draws giving xi of base seed ``base_seed`` to the samples at ``positions``, in order."""
        n = len(self.indices)
        bad = [p for p in positions if not 0 <= int(p) < n]
        if bad:
            raise IndexError(f"positions {bad[:5]} outside the evaluation set of {n} samples")
        if self.keying == "sample":
            return (NoiseDraw(_base(base_seed), tuple(self.indices[int(p)] for p in positions), "sample"),)
        runs: list[tuple[int, list[int]]] = []
        for p in (int(p) for p in positions):
            number = p // self.batch_size
            if not runs or runs[-1][0] != number:
                runs.append((number, []))
            runs[-1][1].append(p % self.batch_size)
        return tuple(
            NoiseDraw(_base(base_seed), (number,) * self.batch_rows(number), "batch", tuple(rows))
            for number, rows in runs
        )

    def batch_rows(self, number: int) -> int:
        """Size of paper batch ``number`` (the last one may be short)."""
        return min(self.batch_size, len(self.indices) - number * self.batch_size)

    def chain_noise(
        self,
        base_seed: BaseSeed,
        positions: Sequence[int],
        image_shape: Sequence[int],
        chain_steps: tuple[Sequence[int], Sequence[int]],
    ) -> ChainNoise:
        """xi of ``base_seed`` for the samples at ``positions``; ``chain_steps``: (forward, reverse) timesteps."""
        forward, reverse = chain_steps
        return ChainNoise(
            self.draws(base_seed, positions),
            tuple(int(n) for n in image_shape),
            tuple(int(t) for t in forward),
            tuple(int(t) for t in reverse),
        )
