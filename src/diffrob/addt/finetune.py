"""ADDT fine-tuning (Liu et al., ICLR 2025): teach the diffusion model to remove classifier-guided perturbations.

Per training batch, with x0 in [-1, 1], t uniform over all T steps and abar_t the schedule's:

* lambda_t = clip(u * sqrt(abar_t) / sqrt(1 - abar_t), lambda_min, lambda_max) (:func:`mixing_weight`);
  unclipped, mixing is forward diffusion of x0 + u * eps_delta;
* CGPO (:func:`cgpo`): ``cgpo_steps`` times, a fresh eps is mixed with eps_delta into
  eps' = sqrt(1 - lambda^2) eps + lambda eps_delta (:func:`mixed_noise`), x_t = sqrt(abar) x0 + sqrt(1 - abar) eps'
  is denoised in one step, x0_hat = (x_t - sqrt(1 - abar) eps_theta(x_t, t)) / sqrt(abar), and the gradient of
  the classifier's cross-entropy on x0_hat with respect to eps_delta is added to a running sum G, never reset;
  eps_delta then becomes RBGM(G);
* RBGM (:func:`rank_gaussian`): per image and channel, fresh standard normal values, sorted, placed at the
  positions of G's values of the same rank, so eps_delta has G's ordering and exactly Gaussian values
  (eps' keeps unit variance and x_t the forward marginal);
* the update: a fresh eps, eps' with the final eps_delta, loss ||eps_theta(x_t, t) - eps'||^2 (x0_hat is
  trained back to the clean x0), AdamW, gradient-norm clipping, EMA with warm-up (the EMA weights are kept).

Modes: ``addt``; ``clean`` (the control: the same fine-tune with the plain DDPM loss, eps_delta = 0);
``addt_no_rbgm`` (sign PGD on the pixels instead of CGPO, entering as eps + r delta with
r = clip(sqrt(abar / (1 - abar)), 0, 10), the combined noise the target); ``addt_no_guidance`` (CGPO ascends
the denoising error against the fresh eps instead of the classifier's loss, as ADDT's public code does).
CGPO never changes the UNet: its gradients are taken with respect to eps_delta only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from diffrob.addt.distributed import Ranks
from diffrob.addt.training_state import StepCheckpoints, random_states, restore_random_states
from diffrob.data import ImageSet
from diffrob.purify.noise import gaussian_from, generator, integers_from, process_seed, seeded

MODES: tuple[str, ...] = ("clean", "addt", "addt_no_rbgm", "addt_no_guidance")


NO_RBGM_RATIO_MAX = 10.0  # the pixel perturbation's weight in the noise, r = sqrt(abar / (1 - abar)), is capped


@dataclass(frozen=True)
class FinetuneSettings:
    """One fine-tune (``finetune`` in the config): its mode, schedule and ADDT's constants (``[-1, 1]`` units
    for ``lambda_unit``; ``[0, 1]`` pixels for the no-RBGM ablation's ``pixel_epsilon`` and ``pixel_step``)."""

    mode: str
    steps: int
    batch_size: int
    lr: float = 2e-4
    betas: tuple[float, float] = (0.95, 0.999)
    weight_decay: float = 1e-6
    grad_clip: float = 1.0
    ema_max_decay: float = 0.9999
    ema_power: float = 0.75
    dropout: float = 0.1
    lambda_unit: float = 0.03
    lambda_min: float = 0.0
    lambda_max: float = 0.3
    cgpo_steps: int = 5
    pixel_epsilon: float = 8 / 255
    pixel_step: float = 4 / 255
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown fine-tune mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if not 0.0 <= self.lambda_min <= self.lambda_max < 1.0:
            raise ValueError(f"need 0 <= lambda_min <= lambda_max < 1, got {self.lambda_min}, {self.lambda_max}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], mode: str) -> FinetuneSettings:
        """The settings of ``mode`` from the config's ``finetune`` section (missing keys: ADDT's defaults)."""
        known = {name for name in cls.__dataclass_fields__ if name != "mode"}
        picked = {k: v for k, v in values.items() if k in known}
        if "betas" in picked:
            picked["betas"] = tuple(float(b) for b in picked["betas"])
        return cls(mode=mode, **picked)


def mixing_weight(abar: torch.Tensor, unit: float = 0.03, low: float = 0.0, high: float = 0.3) -> torch.Tensor:
    """lambda_t = clip(unit * sqrt(abar_t) / sqrt(1 - abar_t), low, high), ADDT's weight of eps_delta in the noise."""
    return (unit * abar.sqrt() / (1.0 - abar).sqrt()).clamp(low, high)


def mixed_noise(eps: torch.Tensor, delta: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """eps' = sqrt(1 - lambda^2) eps + lambda delta (``weight`` lambda per image): unit variance when eps and delta
    are independent standard normal."""
    lam = weight.view(-1, *[1] * (eps.dim() - 1))
    return (1.0 - lam.square()).sqrt() * eps + lam * delta


def rank_gaussian(scores: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """RBGM: for each image and channel, fresh standard normal values sorted and placed by the rank of ``scores``
    (the k-th smallest value at the position of the k-th smallest score)."""
    flat = scores.detach().reshape(scores.shape[0], scores.shape[1], -1)
    values = gaussian_from(gen, flat.shape, flat.dtype).to(flat.device).sort(dim=-1).values
    out = torch.empty_like(flat)
    out.scatter_(-1, flat.argsort(dim=-1, stable=True), values)
    return out.reshape(scores.shape)


def _column(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.device, like.dtype).view(-1, *[1] * (like.dim() - 1))


def noised(x0: torch.Tensor, noise: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (``abar`` per image)."""
    a = _column(abar, x0)
    return a.sqrt() * x0 + (1.0 - a).sqrt() * noise


def one_step_x0(unet: nn.Module, xt: torch.Tensor, t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """x0_hat = (x_t - sqrt(1 - abar_t) eps_theta(x_t, t)) / sqrt(abar_t), not clamped."""
    a = _column(abar, xt)
    return (xt - (1.0 - a).sqrt() * unet(xt, t).sample) / a.sqrt()


def _randn(like: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return gaussian_from(gen, like.shape, like.dtype).to(like.device)


@dataclass
class Batch:
    """One training batch: clean images in [-1, 1], labels, timesteps, their abar_t and lambda_t."""

    x0: torch.Tensor
    labels: torch.Tensor
    t: torch.Tensor
    abar: torch.Tensor
    weight: torch.Tensor


def guided_loss(
    unet: nn.Module, classifier: nn.Module, batch: Batch, delta: torch.Tensor, gen: torch.Generator, guidance: bool
) -> torch.Tensor:
    """The loss CGPO ascends at ``delta``: the classifier's cross-entropy on the one-step x0_hat (in [0, 1] units,
    unclamped) under a fresh eps; without ``guidance``, the denoising error against that eps."""
    eps = _randn(batch.x0, gen)
    xt = noised(batch.x0, mixed_noise(eps, delta, batch.weight), batch.abar)
    if not guidance:
        return nn.functional.mse_loss(unet(xt, batch.t).sample, eps)
    x0_hat = one_step_x0(unet, xt, batch.t, batch.abar)
    return nn.functional.cross_entropy(classifier((x0_hat + 1.0) / 2.0), batch.labels)


def cgpo(
    unet: nn.Module, classifier: nn.Module, batch: Batch, gen: torch.Generator, steps: int = 5, guidance: bool = True
) -> torch.Tensor:
    """Classifier-guided perturbation optimisation: eps_delta after ``steps`` RBGM'd ascent steps on
    :func:`guided_loss` from a standard normal start, G summed over steps. Gradients are taken with respect to
    eps_delta alone (the UNet's and classifier's parameters collect none)."""
    delta = _randn(batch.x0, gen)
    total = torch.zeros_like(delta)
    for _ in range(steps):
        variable = delta.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(guided_loss(unet, classifier, batch, variable, gen, guidance), [variable])
        total = total + gradient
        delta = rank_gaussian(total, gen)
    return delta.detach()


def pixel_ratio(abar: torch.Tensor) -> torch.Tensor:
    """r = clip(sqrt(abar / (1 - abar)), 0, 10): the weight of a pixel perturbation in the noise, so that
    x_t = sqrt(abar) (x0 + delta) + sqrt(1 - abar) eps where r is not capped."""
    return (abar / (1.0 - abar)).sqrt().clamp(0.0, NO_RBGM_RATIO_MAX)


def pixel_pgd(
    unet: nn.Module, classifier: nn.Module, batch: Batch, gen: torch.Generator, settings: FinetuneSettings
) -> torch.Tensor:
    """The no-RBGM ablation's perturbation: sign PGD on the pixels of x0 (``[-1, 1]`` units, so twice the
    ``[0, 1]`` budget), zero start, ``cgpo_steps`` steps ascending the classifier's loss on x0_hat under a fresh
    eps each step; kept in the budget and with x0 + delta in [-1, 1]."""
    epsilon, step = 2.0 * settings.pixel_epsilon, 2.0 * settings.pixel_step
    ratio = _column(pixel_ratio(batch.abar), batch.x0)
    delta = torch.zeros_like(batch.x0)
    for _ in range(settings.cgpo_steps):
        variable = delta.requires_grad_(True)
        xt = noised(batch.x0, _randn(batch.x0, gen) + ratio * variable, batch.abar)
        x0_hat = one_step_x0(unet, xt, batch.t, batch.abar)
        loss = nn.functional.cross_entropy(classifier((x0_hat + 1.0) / 2.0), batch.labels)
        (gradient,) = torch.autograd.grad(loss, [variable])
        delta = (delta.detach() + step * gradient.sign()).clamp(-epsilon, epsilon)
        delta = (batch.x0 + delta).clamp(-1.0, 1.0) - batch.x0
    return delta.detach()


def training_pair(
    unet: nn.Module, classifier: nn.Module, batch: Batch, gen: torch.Generator, settings: FinetuneSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, the noise eps_theta is trained to predict) of one batch, as the mode says."""
    if settings.mode == "clean":
        noise = _randn(batch.x0, gen)
    elif settings.mode == "addt_no_rbgm":
        delta = pixel_pgd(unet, classifier, batch, gen, settings)
        noise = _randn(batch.x0, gen) + _column(pixel_ratio(batch.abar), batch.x0) * delta
    else:
        guidance = settings.mode == "addt"
        delta = cgpo(unet, classifier, batch, gen, settings.cgpo_steps, guidance)
        noise = mixed_noise(_randn(batch.x0, gen), delta, batch.weight)
    return noised(batch.x0, noise, batch.abar), noise


def with_dropout(unet: nn.Module, p: float) -> nn.Module:
    """``unet`` with every dropout layer's probability set to ``p`` (ADDT fine-tunes with dropout 0.1 on)."""
    for module in unet.modules():
        if isinstance(module, nn.Dropout):
            module.p = float(p)
    return unet


def _process_states(gen: torch.Generator, device: Any, ranks: Ranks) -> list[dict[str, torch.Tensor]]:
    """Every process's own random states (its noise generator, its dropout generator), in rank order; a
    collective call when data-parallel (every process makes it)."""
    own = {"noise": gen.get_state(), **random_states(device)}
    if ranks.world == 1:
        return [own]
    import torch.distributed as dist

    gathered: list[Any] = [None] * ranks.world
    dist.all_gather_object(gathered, own)
    return gathered


def _state(step: int, unet: nn.Module, ema: Any, optimizer: Any, batches: Any, processes: list) -> dict[str, Any]:
    """Everything that decides the steps after ``step``: weights, EMA, AdamW, the batches' generator and each
    process's random states."""
    return {
        "step": step,
        "unet": {k: v.detach().cpu() for k, v in unet.state_dict().items()},
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "batches": batches.get_state(),
        "processes": processes,
    }


def _restore(state: dict[str, Any], unet: nn.Module, ema: Any, optimizer: Any, batches: Any, gen: Any,
             device: Any, ranks: Ranks) -> int:  # fmt: skip
    """Load a saved training state into this process's loop; the number of steps it had finished."""
    if len(state["processes"]) != ranks.world:
        raise ValueError(f"a training state of {len(state['processes'])} processes cannot resume in {ranks.world}")
    unet.load_state_dict(state["unet"])
    ema.load_state_dict(state["ema"])
    optimizer.load_state_dict(state["optimizer"])
    batches.set_state(state["batches"])
    own = state["processes"][ranks.rank]
    gen.set_state(own["noise"])
    restore_random_states(own, device)
    return int(state["step"])


def draw_batch(
    x_all: torch.Tensor,
    labels_all: torch.Tensor,
    abar_all: torch.Tensor,
    batches: torch.Generator,
    share: slice,
    settings: FinetuneSettings,
) -> Batch:
    """One step's batch: ``settings.batch_size`` rows of the training set (in [-1, 1]) and timesteps drawn from
    the run's ``batches`` generator (the same global batch in every process), this process's ``share`` of them,
    with ᾱ_t and the RBGM mixing weight of each."""
    device = x_all.device
    rows = integers_from(batches, len(x_all), settings.batch_size)[share].to(device)
    t = integers_from(batches, len(abar_all), settings.batch_size)[share].to(device)
    abar = abar_all[t]
    weight = mixing_weight(abar, settings.lambda_unit, settings.lambda_min, settings.lambda_max)
    return Batch(x_all[rows], labels_all[rows], t, abar, weight)


def _update(
    model: nn.Module, unet: nn.Module, optimizers: tuple[Any, Any], pair: tuple[torch.Tensor, ...], grad_clip: float
) -> float:
    """One optimiser step on the noise-prediction loss ``‖ε_θ(x_t, t) − target‖²`` (``pair`` = (x_t, t,
    target); ``model`` is ``unet`` or its DDP wrapper), gradients clipped to ``grad_clip``, then the EMA
    (``optimizers`` = (AdamW, EMA)); the loss before the step."""
    optimizer, ema = optimizers
    xt, t, target = pair
    loss = nn.functional.mse_loss(model(xt, t).sample, target)
    value = float(loss.detach())
    if not math.isfinite(value):
        return value
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(unet.parameters(), grad_clip)
    optimizer.step()
    ema.step(unet.parameters())
    return value


def finetune(
    unet: nn.Module,
    scheduler: Any,
    classifier: nn.Module,
    train: ImageSet,
    settings: FinetuneSettings,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    ranks: Ranks | None = None,
    checkpoints: StepCheckpoints | None = None,
) -> nn.Module:
    """Fine-tune ``unet`` (a loaded DDPM) as ``settings.mode`` says, guided by the frozen ``classifier``;
    returns the EMA UNet in eval mode. Deterministic for a given seed (dropout included).

    The global batch's rows and timesteps are drawn from the run's seed, the noise (CGPO, RBGM, the update's)
    from each process's own (:func:`diffrob.purify.noise.process_seed`). Data-parallel (``ranks.world`` > 1, inside
    :func:`diffrob.addt.distributed.launch`): each process trains on its share of the batch and DDP averages the
    gradients, so every process holds the same weights. With ``checkpoints`` the whole state is saved every
    ``checkpoints.every`` steps by rank 0 and a rerun resumes from it (bit-identical on the CPU).
    """
    from diffusers.training_utils import EMAModel

    ranks = ranks or Ranks()
    for parameter in classifier.parameters():
        parameter.requires_grad_(False)
    classifier.eval()
    device = next(unet.parameters()).device
    abar_all = scheduler.alphas_cumprod.float().to(device)
    x_all, labels_all = (train.images * 2.0 - 1.0).to(device), train.labels.to(device)
    share = ranks.share(settings.batch_size)
    batches, gen = generator(settings.seed), generator(process_seed(settings.seed, ranks.rank))
    with seeded(process_seed(settings.seed, ranks.rank)):
        with_dropout(unet, settings.dropout).train()
        model = _data_parallel(unet, ranks)
        ema = EMAModel(unet.parameters(), decay=settings.ema_max_decay, use_ema_warmup=True, power=settings.ema_power)
        optimizer = torch.optim.AdamW(
            unet.parameters(), lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay
        )
        saved = checkpoints.load() if checkpoints is not None else None
        first = _restore(saved, unet, ema, optimizer, batches, gen, device, ranks) if saved else 0
        description = f"fine-tune ({settings.mode})"
        bar = tqdm(range(first, settings.steps), description, settings.steps, disable=not progress, initial=first)
        for step in bar:
            batch = draw_batch(x_all, labels_all, abar_all, batches, share, settings)
            xt, target = training_pair(unet, classifier, batch, gen, settings)
            loss = _update(model, unet, (optimizer, ema), (xt, batch.t, target), settings.grad_clip)
            if not math.isfinite(loss):
                raise FloatingPointError(f"fine-tune ({settings.mode}): non-finite loss at step {step}")
            if on_step is not None:
                on_step(step, loss)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss:.4f}")
            if checkpoints is not None and checkpoints.due(step + 1, settings.steps):
                processes = _process_states(gen, device, ranks)  # every process's, gathered
                if ranks.main:
                    checkpoints.save(_state(step + 1, unet, ema, optimizer, batches, processes))
    ema.copy_to(unet.parameters())
    return unet.eval()


def _data_parallel(unet: nn.Module, ranks: Ranks) -> nn.Module:
    """``unet`` wrapped for DDP when there are several processes (the update's forward goes through it; CGPO
    uses ``unet`` itself, whose parameters it never differentiates), else ``unet``."""
    if ranks.world == 1:
        return unet
    from torch.nn.parallel import DistributedDataParallel

    device = next(unet.parameters()).device
    return DistributedDataParallel(unet, device_ids=[device.index] if device.type == "cuda" else None)


def finetune_files(
    ranks: Ranks,
    ddpm: str | Path,
    classifier: str | Path,
    train: Sequence[str | Path],
    settings: FinetuneSettings,
    output: str | Path,
    checkpoints: StepCheckpoints | None = None,
) -> None:
    """One process of a fine-tune from files: load the DDPM folder, the classifier and the training images
    (:func:`diffrob.data.load_training_set`) onto this rank's device, :func:`finetune`, and (rank 0) save the
    result with ``save_pretrained``. Each process loads its own copies (see :func:`diffrob.addt.distributed.launch`)."""
    from diffrob.data import load_training_set
    from diffrob.models.classifier import load_classifier
    from diffrob.models.diffusion import load_diffusion, save_diffusion

    device = ranks.device()
    unet, scheduler = load_diffusion(ddpm)
    guide = load_classifier(classifier).to(device)
    images = load_training_set(train)
    unet = unet.to(device)
    tuned = finetune(unet, scheduler, guide, images, settings, ranks.main, ranks=ranks, checkpoints=checkpoints)
    if ranks.main:
        save_diffusion(tuned.cpu(), scheduler, output)
