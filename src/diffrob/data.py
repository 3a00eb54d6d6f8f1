"""Image data sets: the embedded digits, and the evaluation subsets ("the first N test images")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

from diffrob.io import atomic_path

DATASET_CLASSES: dict[str, int] = {"digits": 10, "cifar10": 10, "imagenet": 1000}


@dataclass(frozen=True)
class ImageSet:
    """Images in [0, 1] (N, C, H, W), integer labels (N,), and each image's data-set index (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int) -> ImageSet:
        """The first ``n`` images (the paper evaluates on the first N test images)."""
        if not 1 <= n <= len(self):
            raise ValueError(f"asked for the first {n} images of a set of {len(self)}")
        return ImageSet(self.images[:n], self.labels[:n], self.indices[:n])


def digits_split(test_fraction: float, split_seed: int) -> tuple[ImageSet, ImageSet]:
    """scikit-learn's UCI digits (1797 images, 8x8, 16 grey levels) in [0, 1], split stratified.

    Returns (train, test); the split is a pure function of ``test_fraction`` and ``split_seed``.
    """
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    labels = digits.target.astype(np.int64)
    order = np.arange(len(labels))
    train_idx, test_idx = train_test_split(order, test_size=test_fraction, stratify=labels, random_state=split_seed)

    def subset(idx: np.ndarray) -> ImageSet:
        return ImageSet(
            torch.from_numpy(images[idx]).unsqueeze(1),
            torch.from_numpy(labels[idx]),
            torch.arange(len(idx), dtype=torch.int64),
        )

    return subset(train_idx), subset(test_idx)


def save_image_set(image_set: ImageSet, path: str | Path) -> None:
    """Write an :class:`ImageSet` to a safetensors file, atomically."""
    from safetensors.torch import save_file

    tensors = {
        "images": image_set.images.contiguous(),
        "labels": image_set.labels.contiguous(),
        "indices": image_set.indices.contiguous(),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


IMAGE_SET = "an image set (safetensors: float images (N, C, H, W) in [0, 1], int64 labels (N,), int64 indices (N,))"


def check_image_tensors(
    images: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor, source: str | Path, what: str = "images"
) -> None:
    """``ValueError`` naming ``source`` unless ``images`` is (N, C, H, W) floating point, finite and in [0, 1],
    and ``labels`` and ``indices`` are N non-negative integers (indices distinct)."""
    import torch

    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(f"{source}: {what} are {tuple(images.shape)} {images.dtype}; expected floating (N, C, H, W)")
    n = images.shape[0]
    for name, t in (("labels", labels), ("indices", indices)):
        if t.dim() != 1 or t.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"{source}: {name} are {tuple(t.shape)} {t.dtype}; expected integer ({n},)")
        if t.shape[0] != n:
            raise ValueError(f"{source}: {t.shape[0]} {name} for {n} {what}; expected one per image")
        if n and int(t.min()) < 0:
            raise ValueError(f"{source}: negative {name}; expected non-negative integers")
    if len(set(indices.tolist())) != n:
        raise ValueError(f"{source}: repeated sample indices; expected each sample once")
    if n and not bool(torch.isfinite(images).all()):
        raise ValueError(f"{source}: {what} hold NaN or inf; expected values in [0, 1]")
    if n and (float(images.min()) < 0.0 or float(images.max()) > 1.0):
        raise ValueError(
            f"{source}: {what} range over [{float(images.min()):.4g}, {float(images.max()):.4g}]; expected [0, 1]"
        )


def load_image_set(path: str | Path) -> ImageSet:
    """Read an :class:`ImageSet` written by :func:`save_image_set`; a damaged or malformed file raises naming it."""
    from diffrob.io import read_tensors

    tensors, _ = read_tensors(path, IMAGE_SET, ("images", "labels", "indices"))
    check_image_tensors(tensors["images"], tensors["labels"], tensors["indices"], path)
    return ImageSet(tensors["images"], tensors["labels"].long(), tensors["indices"].long())


CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes


def download_cifar10(root: str | Path, url: str, md5: str) -> Path:
    """Download the CIFAR-10 binary archive, check its published md5, extract it; the test batch's path.

    The binary version is read without pickle (the python version's batches are pickles).
    A wrong or truncated archive is removed (:mod:`diffrob.io`); torchvision extracts it.
    """
    from torchvision.datasets.utils import check_integrity, extract_archive

    from diffrob.io import fetch_checked, url_fetcher

    archive = Path(root) / Path(url).name
    if not check_integrity(str(archive), md5):
        fetch_checked(url_fetcher(url), archive, md5, algorithm="md5")
    extract_archive(str(archive), str(root))
    return Path(root) / CIFAR10_TEST_BATCH


def read_cifar10_binary(path: str | Path, n: int | None = None) -> ImageSet:
    """The first ``n`` images of a CIFAR-10 binary batch file, in [0, 1], with their labels and indices."""
    import torch

    from diffrob.io import require_file

    p = require_file(path, f"a CIFAR-10 binary batch ({CIFAR10_RECORD}-byte records: label, then 3x32x32 pixels)")
    size = p.stat().st_size
    if size % CIFAR10_RECORD:
        raise ValueError(f"{p}: {size} bytes is not a whole number of {CIFAR10_RECORD}-byte CIFAR-10 records")
    records = np.fromfile(p, dtype=np.uint8).reshape(-1, CIFAR10_RECORD)
    if n is not None:
        if not 1 <= n <= len(records):
            raise ValueError(f"{p}: asked for the first {n} images of {len(records)}")
        records = records[:n]
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{p}: label {labels.max()} out of range 0-9; not a CIFAR-10 batch")
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return ImageSet(images, torch.from_numpy(labels), torch.arange(len(labels), dtype=torch.int64))


def _training_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files of a training set: one .safetensors image set, or CIFAR-10 .bin batches; anything else raises."""
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    one_set = len(files) == 1 and files[0].suffix == ".safetensors"
    if not one_set and (not files or any(f.suffix != ".bin" for f in files)):
        raise ValueError(f"a training set is one .safetensors image set or CIFAR-10 .bin batches, got {files}")
    return files


def load_training_set(paths: str | Path | Sequence[str | Path]) -> ImageSet:
    """A training set: one image-set file (:func:`save_image_set`), or CIFAR-10 binary batches read in order and
    joined (the 50000 training images of ``data_batch_1.bin`` ... ``data_batch_5.bin``, indexed 0 ... 49999)."""
    import torch

    files = _training_files(paths)
    if files[0].suffix == ".safetensors":
        return load_image_set(files[0])
    parts = [read_cifar10_binary(f) for f in files]
    images, labels = torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts])
    return ImageSet(images, labels, torch.arange(len(labels), dtype=torch.int64))


def count_training_images(paths: str | Path | Sequence[str | Path]) -> int:
    """How many images :func:`load_training_set` would read from ``paths``, without reading them."""
    from safetensors import safe_open

    files = _training_files(paths)
    if files[0].suffix == ".safetensors":
        with safe_open(str(files[0]), "pt") as tensors:
            return int(tensors.get_slice("labels").get_shape()[0])
    return sum(f.stat().st_size // CIFAR10_RECORD for f in files)


# The CIFAR-10 binary archive's batches (10000 images each): the test batch, and the training batches ADDT uses.
CIFAR10_TEST_BATCH = "cifar-10-batches-bin/test_batch.bin"


CIFAR10_TRAIN_BATCHES = tuple(f"cifar-10-batches-bin/data_batch_{k}.bin" for k in range(1, 6))
