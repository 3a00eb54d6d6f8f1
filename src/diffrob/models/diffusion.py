"""Diffusion models: built, trained (the embedded default), saved with diffusers' ``save_pretrained`` (safetensors +
config.json + scheduler_config.json in one folder, the on-disk layout of hub repositories such as ``google/ddpm-
cifar10-32``) and loaded back through :func:`load_diffusion`, the same function that loads hub checkpoints and
guided-diffusion folders. Nothing downloaded is ever unpickled."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from torch import nn
from tqdm.auto import tqdm

from diffrob.data import ImageSet
from diffrob.io import atomic_dir, require_file
from diffrob.models.guided import load_guided_folder
from diffrob.purify.noise import gaussian_from, generator, integers_from, seeded


def build_unet(unet_config: Mapping[str, Any], image_size: int, channels: int) -> nn.Module:
    """A diffusers ``UNet2DModel`` for ``image_size`` x ``image_size`` x ``channels`` images."""
    from diffusers import UNet2DModel

    blocks = tuple(unet_config["block_out_channels"])
    return UNet2DModel(
        sample_size=image_size,
        in_channels=channels,
        out_channels=channels,
        layers_per_block=int(unet_config["layers_per_block"]),
        block_out_channels=blocks,
        down_block_types=("DownBlock2D",) * len(blocks),
        up_block_types=("UpBlock2D",) * len(blocks),
        norm_num_groups=int(unet_config.get("norm_num_groups", 32)),
    )


def build_scheduler(schedule_config: Mapping[str, Any]) -> Any:
    """A diffusers ``DDPMScheduler``: linear betas, epsilon prediction, as ``google/ddpm-cifar10-32``."""
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=int(schedule_config["num_train_timesteps"]),
        beta_start=float(schedule_config["beta_start"]),
        beta_end=float(schedule_config["beta_end"]),
        beta_schedule="linear",
        prediction_type="epsilon",
        variance_type=str(schedule_config.get("variance_type", "fixed_large")),
        clip_sample=bool(schedule_config.get("clip_sample", True)),
    )


def train_ddpm(
    train: ImageSet,
    unet_config: Mapping[str, Any],
    schedule_config: Mapping[str, Any],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    ema_decay: float = 0.995,
) -> tuple[nn.Module, Any]:
    """Train an epsilon-prediction DDPM (Ho et al. 2020, Alg. 1) on ``train``; returns the EMA UNet.

    Loss: ``|| eps - eps_theta(sqrt(abar_t) x0 + sqrt(1-abar_t) eps, t) ||^2`` with ``t`` uniform.
    Deterministic for a given seed.
    """
    from diffusers.training_utils import EMAModel

    _, channels, size, _ = train.images.shape
    with seeded(seed):
        unet = build_unet(unet_config, size, channels)
    scheduler = build_scheduler(schedule_config)
    abar = scheduler.alphas_cumprod.float()
    ema = EMAModel(unet.parameters(), decay=ema_decay)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    gen = generator(seed)
    x_all = train.images * 2.0 - 1.0
    unet.train()
    progress = tqdm(range(steps), desc="ddpm training")
    for step in progress:
        rows = integers_from(gen, len(train), batch_size)
        x0 = x_all[rows]
        t = integers_from(gen, scheduler.config.num_train_timesteps, batch_size)
        eps = gaussian_from(gen, x0.shape)
        a = abar[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        loss = nn.functional.mse_loss(unet(xt, t).sample, eps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.step(unet.parameters())
        if step % 50 == 0:
            progress.set_postfix(loss=f"{loss.item():.4f}")
    ema.copy_to(unet.parameters())
    return unet.eval(), scheduler


def save_diffusion(unet: nn.Module, scheduler: Any, folder: str | Path) -> None:
    """Save UNet and scheduler with ``save_pretrained`` (safetensors) into one folder, atomically."""
    with atomic_dir(folder) as tmp:
        unet.save_pretrained(str(tmp), safe_serialization=True)  # type: ignore[attr-defined]
        scheduler.save_pretrained(str(tmp))


def load_diffusion(source: str | Path, revision: str | None = None) -> tuple[nn.Module, Any]:
    """Load (UNet, DDPMScheduler) from a local folder or a hub id at a pinned revision.

    Folders written by :func:`save_diffusion` (and hub repositories) hold a diffusers
    ``UNet2DModel``; folders written by :func:`save_guided_diffusion` a guided-diffusion UNet.
    Local folders are checked first, so a missing or damaged checkpoint fails naming the file.
    """
    from diffusers import DDPMScheduler, UNet2DModel

    from diffrob.models.guided import GUIDED_CONFIG

    local = Path(source)
    if (local / GUIDED_CONFIG).is_file():
        return load_guided_folder(local)
    if local.exists() or str(source).startswith((".", "/")):
        for name, what in (
            ("config.json", "the UNet config written by save_pretrained"),
            ("scheduler_config.json", "the scheduler config written by save_pretrained"),
        ):
            require_file(local / name, what)
        weights = [local / "diffusion_pytorch_model.safetensors", local / "diffusion_pytorch_model.bin"]
        if not any(w.is_file() for w in weights):
            raise FileNotFoundError(f"{weights[0]}: missing; expected the UNet weights written by save_pretrained")
    try:
        unet = UNet2DModel.from_pretrained(str(source), revision=revision)
        scheduler = DDPMScheduler.from_pretrained(str(source), revision=revision)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"{source}: could not load the diffusion model (truncated or wrong format?): {err}") from err
    return unet.eval(), scheduler


def check_schedule(scheduler: Any, schedule_config: Mapping[str, Any], where: str | Path = "the scheduler") -> None:
    """Raise ``ValueError`` naming every key where a loaded scheduler differs from ``diffusion.schedule``."""
    expected = build_scheduler(schedule_config).config
    keys = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type")
    keys += tuple(k for k in ("variance_type", "clip_sample") if k in schedule_config)
    loaded = scheduler.config
    differ = [f"{k}: {loaded.get(k)!r} != {expected[k]!r}" for k in keys if loaded.get(k) != expected[k]]
    if differ:
        raise ValueError(f"{where}: scheduler differs from diffusion.schedule in the config ({'; '.join(differ)})")
