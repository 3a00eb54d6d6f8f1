"""The small CNN classifier of the embedded default: built, trained, saved and loaded (a checked state dict)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm

from diffrob.data import ImageSet
from diffrob.io import atomic_path, read_tensors
from diffrob.purify.noise import generator, permutation_from, seeded


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
    order = permutation_from(gen, n)
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
        from diffrob.models.robustbench import robustbench_architecture

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
