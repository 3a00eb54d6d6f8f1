"""Stand-ins for the paper-scale sources: random weights in each source's exact on-disk format.

A paper-scale profile downloads the CIFAR-10 binary archive (or reads an ImageNet validation folder),
RobustBench weights, a diffusers hub repository or an openai guided-diffusion checkpoint, and
pytorch-fid's Inception weights. None of them can be reached offline, so a *rehearsal* writes each
one here -- the real architecture at its real size, random weights, the source's own file layout --
and :func:`write_sources` returns the configuration overlay that points the profile's download
rules at ``file://`` copies of them, with their digests pinned. Every later rule then runs exactly as
it would on the real files.

Random weights come from each architecture's own initialiser; tensors it initialises to zero (the
guided UNet's output layers) are filled with small random values so that no network is constant.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from diffrob.data import CIFAR10_RECORD, CIFAR10_TEST_BATCH, CIFAR10_TRAIN_BATCHES
from diffrob.io import sha256_file
from diffrob.purify.noise import gaussian_from, generator, numpy_generator, seeded

CIFAR10_TEST_IMAGES = 10000


CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


IMAGENET_JPEG_SIZE = (500, 375)  # the most common size of ImageNet validation images


def randomise_zero_tensors(model: nn.Module, seed: int) -> nn.Module:
    """``model`` with every all-zero floating parameter of two or more dimensions drawn at random (std 0.02)."""
    gen = generator(seed)
    with torch.no_grad():
        for tensor in model.parameters():
            if tensor.is_floating_point() and tensor.ndim >= 2 and not tensor.any():
                tensor.copy_(gaussian_from(gen, tensor.shape) * 0.02)
    return model.eval()


def cifar10_batch(n_images: int, seed: int) -> bytes:
    """``n_images`` random CIFAR-10 binary records (label byte, then 3x32x32 pixel bytes), labels cycling 0-9."""
    rng = numpy_generator(seed)
    records = rng.integers(0, 256, size=(n_images, CIFAR10_RECORD), dtype=np.uint8)
    records[:, 0] = np.arange(n_images) % 10
    return records.tobytes()


def write_cifar10_archive(folder: Path, seed: int = 0) -> tuple[Path, str]:
    """The CIFAR-10 binary archive's layout (``cifar-10-batches-bin/``: five training batches and the test batch
    of 10000 records each, and ``batches.meta.txt``), random pixels, gzipped tar; returns (path, md5)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CIFAR10_ARCHIVE
    members = {name: cifar10_batch(CIFAR10_TEST_IMAGES, seed + 1 + k) for k, name in enumerate(CIFAR10_TRAIN_BATCHES)}
    members[CIFAR10_TEST_BATCH] = cifar10_batch(CIFAR10_TEST_IMAGES, seed)
    members["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(CIFAR10_CLASSES) + "\n").encode()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:  # random pixels do not compress: spend no time trying
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def write_imagenet_folder(folder: Path, n_images: int, seed: int = 0) -> Path:
    """The first ``n_images`` files of RobustBench's ImageNet list as random JPEGs in ``<wnid>/<file>.JPEG``."""
    from PIL import Image

    from diffrob.models.robustbench import imagenet_image_ids

    rng = numpy_generator(seed)
    width, height = IMAGENET_JPEG_SIZE
    for entry in imagenet_image_ids(n_images):
        path = folder / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, format="JPEG", quality=90)
    return folder


def write_robustbench_weights(path: Path, name: str, dataset: str, threat_model: str, seed: int = 1) -> str:
    """A RobustBench model's weights file: torchvision's bare state dict for torchvision-backed entries,
    else the zoo's ``{"state_dict": {"module.<key>": tensor}}``; returns its sha256."""
    from diffrob.models.robustbench import TORCHVISION_BACKED, robustbench_architecture

    with seeded(seed):
        network = randomise_zero_tensors(robustbench_architecture(name, dataset, threat_model), seed)
    if (name, dataset) in TORCHVISION_BACKED:  # the network behind RobustBench's normaliser
        saved: Mapping[str, Any] = network.model.state_dict()
    else:
        saved = {"state_dict": {f"module.{k}": v for k, v in network.state_dict().items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(saved, path)
    return sha256_file(path)


def write_hub_repository(folder: Path, unet: nn.Module, schedule: Mapping[str, Any]) -> str:
    """A diffusers repository as the hub serves it (``config.json``, ``scheduler_config.json``,
    ``diffusion_pytorch_model.safetensors``); returns the weights' sha256."""
    from diffrob.models.diffusion import build_scheduler

    unet.save_pretrained(str(folder), safe_serialization=True)  # type: ignore[operator]
    build_scheduler(schedule).save_pretrained(str(folder))
    return sha256_file(folder / "diffusion_pytorch_model.safetensors")


def write_guided_checkpoint(path: Path, model_config: Mapping[str, Any], seed: int = 2) -> str:
    """An openai guided-diffusion checkpoint: the plain state dict of ``create_model(**model_config)``; its sha256."""
    from diffrob.models.guided import build_guided_unet

    with seeded(seed):
        unet = randomise_zero_tensors(build_guided_unet(model_config).model, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(unet.state_dict(), path)
    return sha256_file(path)


def write_fid_inception(path: Path, seed: int = 3) -> str:
    """pytorch-fid's FID Inception weights file: the state dict of torchvision's InceptionV3 with 1008 classes."""
    import torchvision

    with seeded(seed):
        network = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), path)
    return sha256_file(path)


def _data_overlay(config: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    n_eval = int(config["data"]["n_eval"])
    if config["dataset"] == "cifar10":
        archive, md5 = write_cifar10_archive(folder / "cifar10")
        return {"cifar10_url": archive.as_uri(), "cifar10_md5": md5}
    if config["dataset"] == "imagenet":
        return {"folder": str(write_imagenet_folder(folder / "imagenet-val", n_eval))}
    return {}


def _classifier_overlay(config: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    rb = config["classifier"]["robustbench"]
    path = folder / "robustbench" / f"{rb['name']}.pt"
    digest = write_robustbench_weights(path, rb["name"], rb["dataset"], rb["threat_model"])
    return {"robustbench": {"url": path.as_uri(), "sha256": digest}}


def _diffusion_overlay(config: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    diffusion = config["diffusion"]
    if diffusion["source"] == "hub":
        from diffrob.models.hub import cifar10_unet, hub_folder_name

        repository = folder / "hub" / hub_folder_name(diffusion["hub"]["repo_id"])
        with seeded(4):
            unet = randomise_zero_tensors(cifar10_unet(), 4)
        digest = write_hub_repository(repository, unet, diffusion["schedule"])
        return {"hub": {"mirror": repository.as_uri(), "sha256": digest}}
    guided = diffusion["guided"]
    path = folder / "guided" / Path(guided["url"]).name
    return {"guided": {"url": path.as_uri(), "sha256": write_guided_checkpoint(path, guided["model"])}}


def write_sources(config: Mapping[str, Any], folder: str | Path) -> dict[str, Any]:
    """Write random-weight stand-ins of every source a validated paper-scale ``config`` downloads into
    ``folder``; return the configuration overlay that reads them from ``file://`` with pinned digests."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    overlay: dict[str, Any] = {"data": _data_overlay(config, folder)}
    if config["classifier"]["source"] == "robustbench":
        overlay["classifier"] = _classifier_overlay(config, folder)
    if config["diffusion"]["source"] in ("hub", "guided"):
        overlay["diffusion"] = _diffusion_overlay(config, folder)
    if config["measure"]["fid"]["features"] == "inception":
        from diffrob.models.inception import fid_weights_url

        path = folder / "fid" / Path(fid_weights_url()).name
        overlay["measure"] = {"fid": {"url": path.as_uri(), "sha256": write_fid_inception(path)}}
    return overlay


def describe_sources(overlay: Mapping[str, Any]) -> str:
    """The overlay as indented JSON (what the rehearsal read from where)."""
    return json.dumps(overlay, indent=2, sort_keys=True)
