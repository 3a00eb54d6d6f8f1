"""Image data sets: the embedded digits, and the evaluation subsets ("the first N test images")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from diffrob.io import atomic_path


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
    tensors = {
        "images": image_set.images.contiguous(),
        "labels": image_set.labels.contiguous(),
        "indices": image_set.indices.contiguous(),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


def load_image_set(path: str | Path) -> ImageSet:
    """Read an :class:`ImageSet` written by :func:`save_image_set`, with a clear error if unreadable."""
    from diffrob.io import require_file

    tensors = load_file(str(require_file(path, "an image set (safetensors with images, labels, indices)")))
    missing = {"images", "labels", "indices"} - set(tensors)
    if missing:
        raise ValueError(f"{path}: not an image set, missing tensors {sorted(missing)}")
    return ImageSet(tensors["images"], tensors["labels"], tensors["indices"])
