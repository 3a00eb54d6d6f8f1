"""The Hugging Face hub's diffusion checkpoints (``google/ddpm-cifar10-32``): pinned files, LFS digests, a mirrored
snapshot, and the architecture itself."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from diffrob.io import atomic_dir, digest_record, expected_digest, url_fetcher, verify_sha256, write_text

if TYPE_CHECKING:
    from torch import nn

LOG = logging.getLogger(__name__)


HUB_FILES = ("config.json", "scheduler_config.json")


HUB_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def hub_folder_name(repo_id: str) -> str:
    """The folder a hub repository is kept in, ``owner--name`` as in the hub's own cache (``models--owner--name``)."""
    return repo_id.replace("/", "--")


def hub_lfs_sha256(repo_id: str, revision: str, filename: str) -> str | None:
    """The sha256 the hub publishes for an LFS file of ``repo_id`` at ``revision`` (None if not LFS)."""
    from huggingface_hub import HfApi

    info = HfApi().get_paths_info(repo_id, [filename], revision=revision)
    lfs = getattr(info[0], "lfs", None) if info else None
    return None if lfs is None else str(lfs.sha256)


def mirror_snapshot(mirror: str, local_dir: Path) -> None:
    """Copy a diffusers repository's UNet and scheduler files from ``mirror`` (a folder URL) into ``local_dir``.

    The configuration files are required; of the weights files the first one present is taken.
    """
    from urllib.error import URLError

    base = mirror.rstrip("/")
    for name in HUB_FILES:
        url_fetcher(f"{base}/{name}")(local_dir / name)
    for name in HUB_WEIGHTS:
        try:
            url_fetcher(f"{base}/{name}")(local_dir / name)
            return
        except (URLError, FileNotFoundError):
            continue


def download_hub(repo_id: str, revision: str, dest: str | Path, sha256: str | None, mirror: str | None = None) -> str:
    """Download a diffusers repository's UNet and scheduler at a pinned revision into folder ``dest``.

    The weights file is checked against ``sha256`` or else the hub's published LFS digest at that
    revision. ``mirror``: a folder URL (``https://`` or ``file://``) holding the repository's files at
    that revision, read instead of the hub; without a ``sha256`` its digest is recorded on first
    download and enforced afterwards. Returns the weights' digest.
    """
    with atomic_dir(dest) as tmp:
        if mirror is None:
            from huggingface_hub import snapshot_download

            snapshot_download(repo_id, revision=revision, local_dir=str(tmp), allow_patterns=[*HUB_FILES, *HUB_WEIGHTS])
            shutil.rmtree(Path(tmp) / ".cache", ignore_errors=True)
        else:
            mirror_snapshot(mirror, Path(tmp))
        weights = next((Path(tmp) / w for w in HUB_WEIGHTS if (Path(tmp) / w).is_file()), None)
        if weights is None:
            raise FileNotFoundError(f"{repo_id}@{revision}: none of {', '.join(HUB_WEIGHTS)} in the repository")
        if mirror is None:
            expected = sha256 or hub_lfs_sha256(repo_id, revision, weights.name)
        else:
            expected = expected_digest(dest, sha256)
        actual = verify_sha256(weights, expected, name=f"{dest}/{weights.name} ({repo_id}@{revision})")
    if expected is None:
        write_text(f"{actual}  {Path(dest).name}/{weights.name}\n", digest_record(dest))
        LOG.warning("%s: no sha256 given; recorded %s in %s (pin it in the config)", dest, actual, digest_record(dest))
    return actual


def cifar10_unet() -> nn.Module:
    """A randomly initialised UNet of ``google/ddpm-cifar10-32``'s architecture (35.7 M parameters)."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        layers_per_block=2,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        downsample_padding=0,
        flip_sin_to_cos=False,
        freq_shift=1,
        norm_eps=1e-6,
    )
