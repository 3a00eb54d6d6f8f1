"""Classifiers and diffusion models: build, train (embedded default), save and load.

Diffusion models are saved with diffusers' ``save_pretrained`` (safetensors + config.json +
scheduler_config.json in one folder), the on-disk layout of hub repositories such as
``google/ddpm-cifar10-32``, and loaded back through :func:`load_diffusion`, the same function
that loads hub checkpoints. Nothing downloaded is ever unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from diffrob.data import ImageSet
from diffrob.io import atomic_dir, atomic_path, read_tensors, require_file
from diffrob.noise import generator, seeded


class SmallCNN(nn.Module):
    """A small convolutional classifier for single-channel or RGB images in [0, 1]."""

    def __init__(self, in_channels: int = 1, image_size: int = 8, n_classes: int = 10, width: int = 32):
        super().__init__()
        self.architecture = {
            "in_channels": in_channels,
            "image_size": image_size,
            "n_classes": n_classes,
            "width": width,
        }
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * (image_size // 2) ** 2, 128),
            nn.ReLU(),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (the offline stand-in for Inception features in FID)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits."""
        return self.head(self.body(x))


def _minibatches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    return list(order.split(batch_size))


def train_classifier(train: ImageSet, epochs: int, batch_size: int, lr: float, seed: int, width: int = 32) -> SmallCNN:
    """Train a :class:`SmallCNN` with Adam and cross-entropy; deterministic for a given seed."""
    _, channels, size, _ = train.images.shape
    with seeded(seed):
        model = SmallCNN(channels, size, int(train.labels.max()) + 1, width)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = generator(seed)
    model.train()
    for _ in tqdm(range(epochs), desc="classifier epochs"):
        for rows in _minibatches(len(train), batch_size, gen):
            loss = nn.functional.cross_entropy(model(train.images[rows]), train.labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def save_classifier(model: nn.Module, path: str | Path, architecture: Mapping[str, Any] | None = None) -> None:
    """Save a classifier's weights as safetensors, its architecture in the metadata.

    ``architecture``: how to rebuild the network; a :class:`SmallCNN`'s own by default, or
    ``{"kind": "robustbench", "name": ..., "dataset": ..., "threat_model": ...}``.
    """
    if architecture is None:
        architecture = model.architecture  # type: ignore[assignment]
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"architecture": json.dumps(dict(architecture))})


def build_classifier(architecture: Mapping[str, Any]) -> nn.Module:
    """An untrained classifier from the architecture metadata written by :func:`save_classifier`."""
    arch = dict(architecture)
    if arch.pop("kind", "smallcnn") == "robustbench":
        from diffrob.sources import robustbench_architecture

        return robustbench_architecture(arch["name"], arch["dataset"], arch["threat_model"])
    return SmallCNN(**arch)


def classifier_features(classifier: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Penultimate-layer features: ``classifier.features`` if it has one, else the input of its last Linear layer.

    (The offline stand-in for Inception features in FID.)
    """
    if hasattr(classifier, "features") and callable(classifier.features):
        return classifier.features(x)
    last = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError(f"{type(classifier).__name__} has no Linear layer to take features from")
    captured: list[torch.Tensor] = []
    handle = last[-1].register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0]))
    try:
        classifier(x)
    finally:
        handle.remove()
    return captured[0].flatten(1)


def load_classifier(path: str | Path) -> nn.Module:
    """Load a classifier saved by :func:`save_classifier`, in eval mode; a damaged file, or weights that do
    not fit the architecture in its metadata, raise naming the file."""
    what = "a diffrob classifier (safetensors: floating-point weights, 'architecture' in the metadata)"
    state, metadata = read_tensors(path, what, ())
    try:
        architecture = json.loads(metadata["architecture"])
    except (KeyError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: no readable 'architecture' metadata ({err!r}); expected {what}") from err
    integral = sorted(k for k, t in state.items() if not t.is_floating_point() and "num_batches_tracked" not in k)
    if integral:
        raise ValueError(f"{path}: non-floating tensors {integral[:5]}; expected {what}")
    model = build_classifier(architecture)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit the architecture {architecture}: {err}") from err
    return model.eval()


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
        rows = torch.randint(0, len(train), (batch_size,), generator=gen)
        x0 = x_all[rows]
        t = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size,), generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
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


def save_guided_diffusion(unet: nn.Module, scheduler: Any, folder: str | Path) -> None:
    """Save a guided-diffusion UNet (safetensors + its ``create_model`` arguments) and scheduler, atomically."""
    from diffrob.sources import GUIDED_CONFIG, GUIDED_WEIGHTS

    state = {k: v.contiguous() for k, v in unet.model.state_dict().items()}  # type: ignore[union-attr]
    with atomic_dir(folder) as tmp:
        save_file(state, str(tmp / GUIDED_WEIGHTS))
        (tmp / GUIDED_CONFIG).write_text(json.dumps({"model": unet.model_config}, indent=2) + "\n")
        scheduler.save_pretrained(str(tmp))


def _load_guided_folder(folder: Path) -> tuple[nn.Module, Any]:
    from diffusers import DDPMScheduler

    from diffrob.sources import GUIDED_CONFIG, GUIDED_WEIGHTS, build_guided_unet

    model_config = json.loads(
        require_file(folder / GUIDED_CONFIG, "guided-diffusion create_model arguments").read_text()
    )
    unet = build_guided_unet(model_config["model"])
    weights = require_file(folder / GUIDED_WEIGHTS, "guided-diffusion weights (safetensors)")
    try:
        unet.model.load_state_dict(load_file(str(weights)))
    except (SafetensorError, RuntimeError) as err:
        raise ValueError(f"{weights}: could not load the guided-diffusion weights: {err}") from err
    return unet.eval(), DDPMScheduler.from_pretrained(str(folder))


def load_diffusion(source: str | Path, revision: str | None = None) -> tuple[nn.Module, Any]:
    """Load (UNet, DDPMScheduler) from a local folder or a hub id at a pinned revision.

    Folders written by :func:`save_diffusion` (and hub repositories) hold a diffusers
    ``UNet2DModel``; folders written by :func:`save_guided_diffusion` a guided-diffusion UNet.
    Local folders are checked first, so a missing or damaged checkpoint fails naming the file.
    """
    from diffusers import DDPMScheduler, UNet2DModel

    from diffrob.sources import GUIDED_CONFIG

    local = Path(source)
    if (local / GUIDED_CONFIG).is_file():
        return _load_guided_folder(local)
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
