"""RobustBench: its import fix, its model zoo's pinned downloads, and its classifiers built and loaded from their on-
disk format."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from diffrob.data import ImageSet
from diffrob.io import fetch_checked, load_state_dict_file, url_fetcher


def imagenet_image_ids(n: int) -> list[str]:
    """The first ``n`` ``<wnid>/<file>`` entries of RobustBench's ImageNet evaluation list (at most 5000)."""
    from importlib.resources import files

    import_robustbench()
    lines = (files("robustbench") / "helper_files" / "imagenet_test_image_ids.txt").read_text().split()
    if not 1 <= n <= len(lines):
        raise ValueError(f"RobustBench's ImageNet list has {len(lines)} images; asked for {n}")
    return lines[:n]


def read_imagenet_folder(folder: str | Path, n: int) -> ImageSet:
    """The first ``n`` images of RobustBench's ImageNet list from a validation folder, Res256Crop224, in [0, 1].

    ``folder`` holds ``<wnid>/<file>.JPEG`` (the usual ``val`` layout); labels come from
    RobustBench's class map. A missing folder or image fails naming it.
    """
    import json
    from importlib.resources import files

    from PIL import Image
    from tqdm.auto import tqdm

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: ImageNet validation folder not found; expected <wnid>/<file>.JPEG inside")
    import_robustbench()
    from robustbench.data import PREPROCESSINGS

    class_ids = json.loads((files("robustbench") / "helper_files" / "imagenet_class_to_id_map.json").read_text())
    transform = PREPROCESSINGS["Res256Crop224"]
    images, labels = [], []
    for entry in tqdm(imagenet_image_ids(n), desc="ImageNet images"):
        path = root / entry
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing from the ImageNet folder {root} (image {len(images) + 1} of {n})")
        try:
            with Image.open(path) as image:
                images.append(transform(image.convert("RGB")))
        except OSError as err:  # PIL's UnidentifiedImageError and truncated-file errors are OSErrors
            raise ValueError(f"{path}: not a readable JPEG (truncated or corrupted?): {err}") from err
        labels.append(int(class_ids[entry.split("/")[0]]))
    return ImageSet(torch.stack(images), torch.tensor(labels), torch.arange(n, dtype=torch.int64))


def gdrive_fetcher(gdrive_id: str) -> Callable[[Path], None]:
    """A fetcher for a Google Drive id, through RobustBench's own downloader (gdown)."""

    import_robustbench()
    from robustbench.utils import download_gdrive_new

    return lambda tmp: download_gdrive_new(gdrive_id, tmp)


def robustbench_download(name: str, dataset: str, threat_model: str) -> tuple[str, str]:
    """Where RobustBench gets a model's weights: ``("gdrive", id)`` or ``("url", torchvision weights URL)``.

    RobustBench's ImageNet ``Standard_R50`` is torchvision's pretrained model, downloaded from
    torchvision's own URL (whose file name carries a sha256 prefix); every other entry has a Google
    Drive id.
    """

    entry = robustbench_entry(name, dataset, threat_model)
    url = torchvision_weights_url(name, dataset)
    if url is not None:
        return "url", url
    gdrive_id = entry.get("gdrive_id")
    if not gdrive_id or isinstance(gdrive_id, list):
        raise ValueError(f"RobustBench model {name} ({dataset}, {threat_model}): no single Google Drive id")
    return "gdrive", str(gdrive_id)


def robustbench_entry(name: str, dataset: str, threat_model: str) -> dict:
    """RobustBench's model-zoo entry (architecture constructor, weights id) for a model."""

    import_robustbench()
    from robustbench.model_zoo import model_dicts
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

    zoo = model_dicts[BenchmarkDataset(dataset)][ThreatModel(threat_model)]
    if name not in zoo:
        raise KeyError(f"RobustBench has no model {name!r} for {dataset} / {threat_model}")
    return zoo[name]


def download_robustbench(
    name: str, dataset: str, threat_model: str, dest: str | Path, sha256: str | None, url: str | None = None
) -> str:
    """Download a RobustBench model's weights file to ``dest`` (checked); return its sha256.

    ``url``: a mirror of the file (``https://`` or ``file://``) read instead of RobustBench's own source;
    the digest is then ``sha256`` (recorded on first download when None).
    """
    if url is not None:
        return fetch_checked(url_fetcher(url), dest, sha256)
    kind, where = robustbench_download(name, dataset, threat_model)
    if kind == "url" and not sha256:
        sha256 = Path(where).stem.rsplit("-", 1)[-1]  # torchvision file names end in a sha256 prefix
    fetch = url_fetcher(where) if kind == "url" else gdrive_fetcher(where)
    return fetch_checked(fetch, dest, sha256)


# RobustBench entries that are torchvision's pretrained models behind its normaliser:
# name -> (torchvision architecture, torchvision weights enum). Their weights come from torchvision.
TORCHVISION_BACKED = {("Standard_R50", "imagenet"): ("resnet50", "ResNet50_Weights.IMAGENET1K_V1")}


def torchvision_weights_url(name: str, dataset: str) -> str | None:
    """torchvision's download URL for a torchvision-backed RobustBench model (None for the others)."""
    if (name, dataset) not in TORCHVISION_BACKED:
        return None
    import torchvision

    return torchvision.models.get_weight(TORCHVISION_BACKED[name, dataset][1]).url


def robustbench_architecture(name: str, dataset: str, threat_model: str) -> nn.Module:
    """The untrained architecture of a RobustBench model (ImageNet ``Standard_R50``: normalised ResNet-50)."""

    if (name, dataset) in TORCHVISION_BACKED:
        import torchvision

        import_robustbench()
        from robustbench.model_zoo.architectures.utils_architectures import normalize_model
        from robustbench.model_zoo.imagenet import mu, sigma

        network = torchvision.models.get_model(TORCHVISION_BACKED[name, dataset][0], weights=None)
        return normalize_model(network, mu, sigma)
    return robustbench_entry(name, dataset, threat_model)["model"]()


def load_robustbench_weights(path: str | Path, name: str, dataset: str, threat_model: str) -> nn.Module:
    """A RobustBench classifier with the weights of the file ``path`` in the source's format, in eval mode."""
    model = robustbench_architecture(name, dataset, threat_model)
    state = load_state_dict_file(path)
    target = model.model if (name, dataset) in TORCHVISION_BACKED else model
    if target is model:  # the prefixes RobustBench's load_model removes: module. (DataParallel), model.
        from robustbench.utils import rm_substr_from_state_dict

        state = rm_substr_from_state_dict(rm_substr_from_state_dict(state, "module."), "model.")
    try:
        target.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit RobustBench {name} ({dataset}, {threat_model}): {err}") from err
    return model.eval()


def import_robustbench() -> ModuleType:
    """``robustbench``, imported after aliasing ``autoattack`` to the installed ``pyautoattack``."""
    if "autoattack" not in sys.modules:
        try:
            importlib.import_module("autoattack")
        except ImportError:
            sys.modules["autoattack"] = importlib.import_module("pyautoattack")
            sys.modules["autoattack.state"] = importlib.import_module("pyautoattack.state")
    return importlib.import_module("robustbench")
