"""Image features for FID (Table 1).

* ``inception`` (the paper-scale profiles, as the paper): pytorch-fid's InceptionV3 with the FID
  weights (``pt_inception-2015-12-05``), the block whose output has ``dims`` channels (the paper: 768),
  average-pooled to one vector per image as pytorch-fid's ``get_activations`` does. The weights file is
  downloaded by a checked rule and read here with ``torch.load(..., weights_only=True)``; pytorch-fid's
  own loader would download it and unpickle it, so its download call is replaced by the file we read.
* ``classifier`` (the embedded default, offline): the classifier's penultimate layer, a stand-in that
  the report names as such (8x8 digits are far from Inception's 299x299 ImageNet domain).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from diffrob.models.classifier import classifier_features
from diffrob.models.inception import load_fid_inception

FeatureFunction = Callable[[torch.Tensor], torch.Tensor]


def inception_features(model: nn.Module) -> FeatureFunction:
    """Images in [0, 1] (N, C, H, W) -> pooled Inception features (N, dims); grey images are repeated to 3 channels."""

    def features(images: torch.Tensor) -> torch.Tensor:
        x = images.repeat(1, 3, 1, 1) if images.shape[1] == 1 else images
        block = model(x)[0]
        if block.shape[-2:] != (1, 1):
            block = nn.functional.adaptive_avg_pool2d(block, output_size=(1, 1))
        return block.flatten(1)

    return features


def penultimate_features(classifier: nn.Module) -> FeatureFunction:
    """Images -> the classifier's penultimate-layer features (the offline stand-in)."""
    return lambda images: classifier_features(classifier, images)


def features_in_chunks(
    function: FeatureFunction, images: torch.Tensor, chunk: int, device: torch.device
) -> torch.Tensor:
    """``function`` over ``images``, ``chunk`` images at a time on ``device``, without gradients; on the CPU."""
    parts = []
    with torch.no_grad():
        for start in range(0, images.shape[0], chunk):
            parts.append(function(images[start : start + chunk].to(device)).double().cpu())
    return torch.cat(parts)


def fid_features(
    kind: str,
    device: torch.device,
    classifier_path: str | Path | None = None,
    inception_path: str | Path | None = None,
    dims: int = 768,
) -> FeatureFunction:
    """The feature function of ``measure.fid.features``: ``inception`` (needs ``inception_path``) or ``classifier``."""
    if kind == "inception":
        if inception_path is None:
            raise ValueError("FID features: inception needs the FID Inception weights file")
        return inception_features(load_fid_inception(inception_path, dims).to(device))
    if kind == "classifier":
        if classifier_path is None:
            raise ValueError("FID features: classifier needs the classifier checkpoint")
        from diffrob.models.classifier import load_classifier

        return penultimate_features(load_classifier(classifier_path).eval().requires_grad_(False).to(device))
    raise ValueError(f"FID features: unknown kind {kind!r}; expected inception or classifier")
