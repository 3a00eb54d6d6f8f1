"""Diffusion purification samplers: DDPM (DiffPure), Reverse-only, DDIM.

Convention for t* (``t_star``) of a schedule with T training steps: ``x_{t*}`` is the image noised
to the schedule index ``t*-1`` (forward steps at indices 0 .. t*-1, eq. 1), and the reverse chain
runs from index ``t*-1`` down to 0 (eq. 2 or 3), ending at the clean-image estimate. A respaced
chain keeps the same start and end but visits ``n`` evenly spaced indices, each step jumping from
``t`` to the next visited index ``p`` with the effective ``alpha = abar_t / abar_p``; the forward
process always runs its full ``t*`` Markov steps (they cost no network call).

All samplers are pure functions of (UNet, schedule, images, chain, noise): every random draw is
read, step by step, from a keyed :class:`diffrob.purify.noise.ChainNoise`. Images are in [0, 1]; the UNet works
in [-1, 1].
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from diffrob.purify.noise import ChainNoise

Sampler = Literal["ddpm", "reverse", "ddim"]


SAMPLERS: tuple[str, ...] = ("ddpm", "reverse", "ddim")


@dataclass(frozen=True)
class Schedule:
    """The noise schedule of a DDPM: betas and the options of its scheduler config."""

    betas: torch.Tensor  # (T,) float64
    clip_sample: bool = True
    variance_type: str = "fixed_small"

    @property
    def num_train_timesteps(self) -> int:
        """T, the number of training timesteps."""
        return int(self.betas.numel())

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """abar_t = prod_{s<=t} (1 - beta_s)."""
        return torch.cumprod(1.0 - self.betas, dim=0)

    def abar(self, t: int) -> float:
        """abar at index ``t``; abar_{-1} = 1 (the clean image)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    @classmethod
    def from_scheduler(cls, scheduler: object) -> Schedule:
        """The schedule of a diffusers ``DDPMScheduler`` (or any scheduler with ``betas``)."""
        config = scheduler.config  # type: ignore[attr-defined]
        return cls(
            betas=scheduler.betas.double().clone(),  # type: ignore[attr-defined]
            clip_sample=bool(config.get("clip_sample", True)),
            variance_type=str(config.get("variance_type", "fixed_small")),
        )


@dataclass(frozen=True)
class Chain:
    """Which steps a purification runs."""

    sampler: str
    t_star: int
    forward_timesteps: tuple[int, ...]
    reverse_timesteps: tuple[int, ...]


def reverse_timesteps(t_star: int, n_steps: int) -> tuple[int, ...]:
    """Evenly spaced reverse indices from ``t*-1`` down: ``floor(t* (n-k) / n) - 1``, k = 0..n-1."""
    if not 1 <= n_steps <= t_star:
        raise ValueError(f"reverse steps must be in [1, t*={t_star}], got {n_steps}")
    return tuple((t_star * (n_steps - k)) // n_steps - 1 for k in range(n_steps))


def make_chain(sampler: str, t_star: int, num_train_timesteps: int, n_reverse_steps: int | None = None) -> Chain:
    """The chain of ``sampler`` at ``t_star``, with ``n_reverse_steps`` reverse steps (default t*)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if not 1 <= t_star <= num_train_timesteps:
        raise ValueError(f"t* must be in [1, T={num_train_timesteps}], got {t_star}")
    forward = tuple(range(t_star)) if sampler in ("ddpm", "ddim") else ()
    return Chain(sampler, t_star, forward, reverse_timesteps(t_star, n_reverse_steps or t_star))


def to_model_space(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels to the UNet's [-1, 1]."""
    return images * 2.0 - 1.0


def to_pixel_space(z: torch.Tensor) -> torch.Tensor:
    """[-1, 1] model space to [0, 1] pixels, clamped."""
    return ((z + 1.0) / 2.0).clamp(0.0, 1.0)


def forward_step(z: torch.Tensor, t: int, schedule: Schedule, noise: torch.Tensor) -> torch.Tensor:
    """One forward diffusion step (eq. 1): ``x_t = sqrt(alpha_t) x_{t-1} + sqrt(1-alpha_t) eps``."""
    alpha = 1.0 - float(schedule.betas[t])
    return alpha**0.5 * z + (1.0 - alpha) ** 0.5 * noise


def predict_x0(z: torch.Tensor, eps: torch.Tensor, abar_t: float, clip: bool) -> torch.Tensor:
    """``x0_hat = (x_t - sqrt(1-abar_t) eps_theta) / sqrt(abar_t)`` (eq. 3), clipped to [-1, 1] if asked."""
    x0 = (z - (1.0 - abar_t) ** 0.5 * eps) / abar_t**0.5
    return x0.clamp(-1.0, 1.0) if clip else x0


def ddpm_step(
    z: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    prev: int,
    schedule: Schedule,
    noise: torch.Tensor,
    model_variance: torch.Tensor | None = None,
) -> torch.Tensor:
    """Ancestral DDPM step from index ``t`` to ``prev`` (eq. 2, in its x0-posterior form).

    With ``a = abar_t / abar_prev`` and ``b = 1 - a``:
    ``mean = sqrt(abar_prev) b / (1-abar_t) x0_hat + sqrt(a) (1-abar_prev) / (1-abar_t) x_t``,
    which equals eq. 2 when ``x0_hat`` is not clipped; ``sigma^2 = b (1-abar_prev)/(1-abar_t)``
    ("fixed_small"), ``b`` ("fixed_large"), or, for "learned_range" (guided diffusion, Nichol &
    Dhariwal 2021), ``exp(f log b + (1-f) log(b (1-abar_prev)/(1-abar_t)))`` with ``f = (v+1)/2`` from
    the model's variance output ``model_variance`` = v. No noise is added on the step to the clean image.
    """
    abar_t, abar_p = schedule.abar(t), schedule.abar(prev)
    a = abar_t / abar_p
    b = 1.0 - a
    x0 = predict_x0(z, eps, abar_t, schedule.clip_sample)
    mean = (abar_p**0.5 * b / (1.0 - abar_t)) * x0 + (a**0.5 * (1.0 - abar_p) / (1.0 - abar_t)) * z
    if prev < 0:
        return mean
    posterior = max(b * (1.0 - abar_p) / (1.0 - abar_t), 1e-20)
    if schedule.variance_type == "learned_range":
        if model_variance is None:
            raise ValueError("variance_type learned_range needs a model predicting its variance (2C output channels)")
        fraction = (model_variance + 1.0) / 2.0
        log_variance = fraction * math.log(b) + (1.0 - fraction) * math.log(posterior)
        return mean + torch.exp(0.5 * log_variance) * noise
    variance = b if schedule.variance_type == "fixed_large" else posterior
    return mean + variance**0.5 * noise


def ddim_step(z: torch.Tensor, eps: torch.Tensor, t: int, prev: int, schedule: Schedule) -> torch.Tensor:
    """Deterministic DDIM step (eta = 0, eq. 3): ``x_prev = sqrt(abar_prev) x0_hat + sqrt(1-abar_prev) eps``."""
    abar_t, abar_p = schedule.abar(t), schedule.abar(prev)
    x0 = predict_x0(z, eps, abar_t, schedule.clip_sample)
    return abar_p**0.5 * x0 + (1.0 - abar_p) ** 0.5 * eps


def unet_epsilon(unet: nn.Module, z: torch.Tensor, t: int) -> torch.Tensor:
    """The UNet's noise prediction eps_theta(x_t, t) for a batch at timestep index ``t``."""
    timesteps = torch.full((z.shape[0],), t, device=z.device, dtype=torch.long)
    out = unet(z, timesteps)
    return out.sample if hasattr(out, "sample") else out


def reverse_step(
    unet: nn.Module, schedule: Schedule, sampler: str, t: int, prev: int, z: torch.Tensor, noise: ChainNoise, k: int
) -> torch.Tensor:
    """Reverse step ``k`` of the chain, x_t -> x_prev: the UNet's eps, then the DDPM (eq. 2) or DDIM (eq. 3) update.

    The step's z is drawn from ``noise`` here (DDIM draws none), so a checkpointed step that is
    recomputed draws the same bits again. Learned-sigma models predict (eps, v): v sets the variance
    under ``variance_type: learned_range`` and is dropped otherwise.
    """
    eps = unet_epsilon(unet, z, t)
    model_variance = None
    if eps.shape[1] == 2 * z.shape[1]:  # learned-sigma models predict (eps, variance)
        eps, model_variance = eps[:, : z.shape[1]], eps[:, z.shape[1] :]
    if sampler == "ddim":
        return ddim_step(z, eps, t, prev, schedule)
    step_noise = noise.reverse(k).to(z.dtype) if prev >= 0 else torch.zeros((), dtype=z.dtype, device=z.device)
    return ddpm_step(z, eps, t, prev, schedule, step_noise, model_variance)


def iterate_chain(
    unet: nn.Module,
    schedule: Schedule,
    chain: Chain,
    images: torch.Tensor,
    noise: ChainNoise,
    checkpointed: bool = False,
    reentrant: bool = True,
) -> Iterator[torch.Tensor]:
    """Yield every state of the purification in model space: x, the forward states, the reverse states.

    With ``checkpointed``, each reverse step is wrapped in ``torch.utils.checkpoint`` so only
    ``x_t`` is kept per step and backward memory stays flat in t*. The reentrant variant is used:
    it runs the step's forward with no graph at all, while the non-reentrant one still records an
    autograd node per operation (measured: peak memory 1.50x vs 1.14x from t*=30 to t*=300). Its
    one constraint is that gradients must be taken with ``.backward()`` (as foolbox's PyTorch
    backend does), not ``torch.autograd.grad``; ``reentrant=False`` takes the other variant, for callers that need
    ``torch.autograd.grad`` (AutoAttack). Both give the same gradients.
    """
    if noise.batch_size != images.shape[0]:
        raise ValueError(f"the chain noise is for {noise.batch_size} samples, the batch has {images.shape[0]}")
    if (noise.forward_timesteps, noise.reverse_timesteps) != (chain.forward_timesteps, chain.reverse_timesteps):
        raise ValueError("the chain noise was drawn for another chain (its timesteps differ)")
    z = to_model_space(images)
    yield z
    for k, t in enumerate(chain.forward_timesteps):
        z = forward_step(z, t, schedule, noise.forward(k).to(z.dtype))
        yield z
    steps = chain.reverse_timesteps
    for k, t in enumerate(steps):
        prev = steps[k + 1] if k + 1 < len(steps) else -1
        args = (unet, schedule, chain.sampler, t, prev, z, noise, k)
        if checkpointed and torch.is_grad_enabled() and z.requires_grad:
            z = checkpoint(reverse_step, *args, use_reentrant=reentrant)
        else:
            z = reverse_step(*args)
        yield z


def purify(
    unet: nn.Module,
    schedule: Schedule,
    chain: Chain,
    images: torch.Tensor,
    noise: ChainNoise,
    checkpointed: bool = False,
) -> torch.Tensor:
    """f_xi(x): the purified images in [0, 1] under the chain noise xi (eq. 5)."""
    final = images
    for state in iterate_chain(unet, schedule, chain, images, noise, checkpointed):
        final = state
    return to_pixel_space(final)
