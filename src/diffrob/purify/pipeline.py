"""The one purification pipeline: f_xi(x) for every attack and every measurement.

:class:`DiffusionPurifier` holds what a purification is made of, each given explicitly: the
UNet, its schedule, the chain (sampler, t*, respaced steps), the noise keys of the evaluation
set (:class:`diffrob.purify.noise.NoiseKeys`: keying and batch numbering in one place) and the chunk
sizes that bound memory (:class:`Chunks`). Samples are named by their position in the
evaluation set, so an attack and a measurement of the same sample under the same base seed see
the same xi whatever their batch sizes.

Memory is bounded by the chunk sizes, not by the problem:

* at most ``chunks.chain`` (image, xi) pairs go through the chain at once, with or without a
  gradient (:meth:`DiffusionPurifier.expectation` recomputes each chunk in the backward pass);
* each reverse step is gradient-checkpointed (unless ``chunks.checkpoint_steps`` is off, as on the small
  embedded default), and its noise is drawn when the step runs;
* trajectories are purified ``chunks.trajectory`` images at a time, and Jacobians are taken
  ``chunks.jacobian_rows`` rows per backward pass (:func:`diffrob.measure.compression.jacobian`).

When the UNet's native size differs from the images' (ImageNet: 224x224 crops, a 256x256
model), images are resized to the model's size before the chain and back after it, inside the
differentiated function, as DiffPure does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffrob.purify.finite import NonFiniteError, check_finite
from diffrob.purify.noise import BaseSeed, ChainNoise, Keying, NoiseKeys
from diffrob.purify.samplers import Chain, Schedule, iterate_chain, make_chain, to_pixel_space

# A function of a chunk: (images of the chunk, their xi, what its no-gradient pass left) -> (output, what to keep).
ChunkFunction = Callable[[torch.Tensor, ChainNoise, Any], tuple[torch.Tensor, Any]]


@dataclass(frozen=True)
class Chunks:
    """Chunk sizes that bound memory (``purification.chunks`` in the config), and whether each reverse step is
    gradient-checkpointed (``checkpoint_steps``: memory flat in t* for one more forward pass per step; off, a
    gradient keeps every step's activations and attacks run about a fifth faster; the gradient is the same)."""

    chain: int = 128
    jacobian_rows: int = 64
    trajectory: int = 128
    checkpoint_steps: bool = True

    def __post_init__(self) -> None:
        for name in ("chain", "jacobian_rows", "trajectory"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"chunks.{name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> Chunks:
        """Build from ``purification.chunks`` (missing keys: defaults)."""
        values = dict(values or {})
        sizes = {k: int(v) for k, v in values.items() if k in ("chain", "jacobian_rows", "trajectory")}
        return cls(**sizes, checkpoint_steps=bool(values.get("checkpoint_steps", True)))


@dataclass(frozen=True)
class PurifierSpec:
    """Which purifier a job uses: sampler, t*, reverse steps, noise keying and batch numbering, chunk sizes.

    ``noise_batch`` is the batch size of the paper's batch keying (the attack batch size): it
    numbers the batches whose draws the samples share under ``keying="batch"``.
    """

    sampler: str
    t_star: int
    reverse_steps: int
    keying: Keying = "sample"
    noise_batch: int = 1
    chunks: Chunks = Chunks()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PurifierSpec:
        """Build from a plain mapping with the same keys (``chunks`` a mapping; missing: defaults)."""
        return cls(
            str(values["sampler"]),
            int(values["t_star"]),
            int(values["reverse_steps"]),
            values.get("keying", "sample"),
            int(values.get("noise_batch", 1)),
            Chunks.from_mapping(values.get("chunks")),
        )


def split(n: int, size: int) -> list[range]:
    """``range(n)`` cut into consecutive pieces of at most ``size``."""
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def native_size(unet: nn.Module) -> int | None:
    """The image size a UNet was built for (diffusers ``sample_size``, guided ``image_size``), if it says."""
    config = getattr(unet, "config", None)
    size = getattr(config, "sample_size", None) if config is not None else None
    if size is None:
        size = getattr(unet, "model_config", {}).get("image_size")
    if isinstance(size, (tuple, list)):
        size = size[0]
    return int(size) if size else None


class DiffusionPurifier:
    """f_xi(x) (eq. 5) with keyed noise, chunked memory and an optional resize to the model's size."""

    def __init__(
        self,
        unet: nn.Module,
        schedule: Schedule,
        chain: Chain,
        keys: NoiseKeys,
        chunks: Chunks | None = None,
        model_size: int | None = None,
        checkpointed: bool = True,
    ):
        self.unet = unet
        self.schedule = schedule
        self.chain = chain
        self.keys = keys
        self.chunks = chunks or Chunks()
        self.model_size = model_size
        self.checkpointed = checkpointed
        self.reentrant = (
            True  # the checkpoints' variant (diffrob.purify.samplers.iterate_chain): False for autograd.grad
        )

    @property
    def device(self) -> torch.device:
        """Where the UNet lives (and the chain runs)."""
        parameter = next(self.unet.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    def chain_shape(self, image_shape: Sequence[int]) -> tuple[int, ...]:
        """Shape (C, H, W) of one image in the chain: the model's size when images are resized."""
        channels, height, width = (int(n) for n in image_shape)
        if self.model_size is None or (height, width) == (self.model_size, self.model_size):
            return channels, height, width
        return channels, self.model_size, self.model_size

    def noise(self, seed: BaseSeed, positions: Sequence[int], image_shape: Sequence[int]) -> ChainNoise:
        """xi of base seed ``seed`` for the samples at ``positions`` of the evaluation set, on the device."""
        steps = (self.chain.forward_timesteps, self.chain.reverse_timesteps)
        return self.keys.chain_noise(seed, positions, self.chain_shape(image_shape), steps).to(self.device)

    def to_model_size(self, images: torch.Tensor) -> torch.Tensor:
        """Images resized (bilinear) to the model's size when it differs from theirs."""
        if self.chain_shape(images.shape[1:]) == tuple(images.shape[1:]):
            return images
        return nn.functional.interpolate(images, size=(self.model_size,) * 2, mode="bilinear", align_corners=False)

    @staticmethod
    def to_size(images: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """Images resized (bilinear) back to ``size`` (H, W) when they differ."""
        if tuple(images.shape[-2:]) == tuple(size):
            return images
        return nn.functional.interpolate(images, size=tuple(size), mode="bilinear", align_corners=False)

    def purify(self, images: torch.Tensor, noise: ChainNoise) -> torch.Tensor:
        """f_xi(images) for one chunk, differentiable when gradients are on (each reverse step checkpointed)."""
        final = images
        for state in iterate_chain(
            self.unet, self.schedule, self.chain, self.to_model_size(images), noise, self.checkpointed, self.reentrant
        ):
            final = state
        return check_finite(self.to_size(to_pixel_space(final), images.shape[-2:]), "purified images")

    def __call__(self, images: torch.Tensor, positions: Sequence[int], seed: BaseSeed) -> torch.Tensor:
        """f_xi_s(images) without gradients, ``chunks.chain`` images at a time; returned on the CPU."""
        out = []
        with torch.no_grad():
            for rows in split(images.shape[0], self.chunks.chain):
                chunk = images[rows.start : rows.stop].to(self.device)
                samples = [positions[r] for r in rows]
                try:
                    out.append(self.purify(chunk, self.noise(seed, samples, chunk.shape[1:])).cpu())
                except NonFiniteError as err:
                    raise NonFiniteError(f"purifying samples {samples} under seed {seed}: {err}") from None
        return torch.cat(out) if out else images.new_empty((0, *images.shape[1:]))

    def trajectory(self, images: torch.Tensor, positions: Sequence[int], seed: int) -> Iterator[list[torch.Tensor]]:
        """Every state of f_xi_s(images) in pixel units, ``chunks.trajectory`` images at a time (Fig. 1c).

        Yields, per chunk, the states (input first) on the CPU, at the images' size. Intermediate
        states are mapped by ``(z + 1) / 2`` without clamping, so distances along the forward
        process are not truncated; the last state is clamped like :meth:`purify`.
        """
        size = images.shape[-2:]
        with torch.no_grad():
            for rows in split(images.shape[0], self.chunks.trajectory):
                chunk = images[rows.start : rows.stop].to(self.device)
                noise = self.noise(seed, [positions[r] for r in rows], chunk.shape[1:])
                chain = iterate_chain(self.unet, self.schedule, self.chain, self.to_model_size(chunk), noise)
                states = [self.to_size((z + 1.0) / 2.0, size).cpu() for z in chain]
                if self.chain_shape(chunk.shape[1:]) != tuple(chunk.shape[1:]):
                    states[0] = chunk.cpu()  # the input itself, not its round trip through the resize
                states[-1] = states[-1].clamp(0.0, 1.0)
                yield states

    def expectation(
        self, function: ChunkFunction, images: torch.Tensor, positions: Sequence[int], seeds: Sequence[int]
    ) -> torch.Tensor:
        """``mean over seeds s of function(x, xi_s)`` per image, at most ``chunks.chain`` (image, xi) pairs at a time.

        ``function(x_chunk, noise, kept)`` returns the chunk's output (N_chunk, ...) and what to keep
        from a no-gradient pass (``kept`` is None on that pass). A repeated seed is computed once and
        weighted. When the whole problem fits in one chunk the graph is built directly; otherwise
        the forward pass runs without a graph and the backward pass recomputes one chunk at a time
        (memory of one chunk, at the price of one more forward pass through the chain).
        """
        weights = Counter(int(s) for s in seeds)
        pairs = [(seed, j) for seed in weights for j in range(images.shape[0])]
        plan = _ExpectationPlan(self, function, images.shape[1:], positions, pairs, weights, len(seeds))
        if len(pairs) <= self.chunks.chain:
            return plan.forward(images, keep=False)
        return _ChunkedExpectation.apply(images, plan)


@dataclass
class _ExpectationPlan:
    """The chunks of an expectation and how to run them forward (no graph) or backward (recomputed)."""

    purifier: DiffusionPurifier
    function: ChunkFunction
    image_shape: tuple[int, ...]
    positions: Sequence[int]
    pairs: list[tuple[int, int]]
    weights: Counter
    n_draws: int

    def __post_init__(self) -> None:
        self.kept: dict[int, Any] = {}

    def chunk_inputs(self, number: int, rows: range) -> tuple[torch.Tensor, ChainNoise]:
        """Image rows and noise of chunk ``number``."""
        chunk = [self.pairs[r] for r in rows]
        noise = None
        for seed in dict.fromkeys(s for s, _ in chunk):
            part = self.purifier.noise(seed, [self.positions[j] for s, j in chunk if s == seed], self.image_shape)
            noise = part if noise is None else noise + part
        return torch.tensor([j for _, j in chunk]), noise  # type: ignore[return-value]

    def weight(self, rows: range, like: torch.Tensor) -> torch.Tensor:
        """Weight of each pair of a chunk (its seed's multiplicity over the number of draws), shaped to broadcast."""
        values = torch.tensor([self.weights[self.pairs[r][0]] / self.n_draws for r in rows])
        return values.to(like.device, like.dtype).view(-1, *[1] * (like.dim() - 1))

    def chunks(self) -> list[range]:
        """The chunks: consecutive runs of at most ``chunks.chain`` (seed, image) pairs."""
        return split(len(self.pairs), self.purifier.chunks.chain)

    def forward(self, images: torch.Tensor, keep: bool) -> torch.Tensor:
        """The weighted mean output per image; with ``keep``, what each chunk leaves is kept for :meth:`backward`."""
        total: torch.Tensor | None = None
        for number, rows in enumerate(self.chunks()):
            index, noise = self.chunk_inputs(number, rows)
            index = index.to(images.device)
            out, kept = self.function(images[index], noise, None)
            if keep:
                self.kept[number] = kept
            out = out * self.weight(rows, out)
            if total is None:
                total = out.new_zeros((images.shape[0], *out.shape[1:]))
            total = total.index_add(0, index, out)
        return total  # type: ignore[return-value]

    def backward(self, images: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
        """The input gradient of :meth:`forward`, one recomputed chunk at a time."""
        grad = torch.zeros_like(images)
        for number, rows in enumerate(self.chunks()):
            index, noise = self.chunk_inputs(number, rows)
            index = index.to(images.device)
            with torch.enable_grad():
                x = images[index].detach().requires_grad_(True)
                out, _ = self.function(x, noise, self.kept.pop(number, None))
                torch.autograd.backward(out * self.weight(rows, out), grad_output[index])
            grad = grad.index_add(0, index, x.grad)
        return grad


class _ChunkedExpectation(torch.autograd.Function):
    """An expectation whose backward pass recomputes one chunk at a time (constant memory in N and K)."""

    @staticmethod
    def forward(ctx: Any, images: torch.Tensor, plan: _ExpectationPlan) -> torch.Tensor:  # type: ignore[override]
        ctx.plan = plan
        ctx.save_for_backward(images)
        return plan.forward(images, keep=True)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (images,) = ctx.saved_tensors
        return ctx.plan.backward(images, grad_output), None


def build_purifier(unet: nn.Module, scheduler: Any, spec: PurifierSpec, indices: Sequence[int]) -> DiffusionPurifier:
    """The pipeline of a loaded UNet and scheduler for ``spec``, over an evaluation set with data-set ``indices``.

    Images are resized to the UNet's native size when it says one and it differs from theirs; reverse steps
    are gradient-checkpointed as ``spec.chunks.checkpoint_steps`` says.
    """
    schedule = Schedule.from_scheduler(scheduler)
    chain = make_chain(spec.sampler, spec.t_star, schedule.num_train_timesteps, spec.reverse_steps)
    keys = NoiseKeys(tuple(int(i) for i in indices), spec.keying, spec.noise_batch)
    return DiffusionPurifier(unet, schedule, chain, keys, spec.chunks, native_size(unet), spec.chunks.checkpoint_steps)
