"""pytorch-fid's FID InceptionV3 (the paper-scale profiles' FID features): where its weights are published, the feature
sizes it offers, and the model loaded from the checked weights file (``weights_only=True``; pytorch-fid's own loader
would download and unpickle it)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

if TYPE_CHECKING:
    import torch
    from torch import nn

from diffrob.io import load_state_dict_file


def fid_weights_url() -> str:
    """Where pytorch-fid publishes its FID Inception weights: the ``FID_WEIGHTS_URL`` of the installed
    ``pytorch_fid.inception``, read from its source so that planning a workflow never imports torch."""
    spec = importlib.util.find_spec("pytorch_fid.inception")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("pytorch_fid is not installed: it names the FID Inception weights")
    for node in ast.parse(Path(spec.origin).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FID_WEIGHTS_URL" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{spec.origin}: no FID_WEIGHTS_URL constant")


def inception_dims() -> tuple[int, ...]:
    """The feature sizes pytorch-fid's InceptionV3 offers: 64, 192, 768 and 2048."""
    from pytorch_fid.inception import InceptionV3

    return tuple(InceptionV3.BLOCK_INDEX_BY_DIM)


def load_fid_inception(path: str | Path, dims: int = 768) -> nn.Module:
    """pytorch-fid's FID InceptionV3 up to the block of ``dims`` channels, weights from the local file ``path``.

    The file is the state dict pytorch-fid publishes, read with ``weights_only=True``.
    """
    import pytorch_fid.inception as fid

    if dims not in fid.InceptionV3.BLOCK_INDEX_BY_DIM:
        raise ValueError(f"FID features: dims = {dims}; pytorch-fid offers {', '.join(map(str, inception_dims()))}")
    state = load_state_dict_file(path)

    def local_weights(*_args: object, **_kwargs: object) -> dict[str, torch.Tensor]:
        return state

    try:
        with mock.patch.object(fid, "load_state_dict_from_url", local_weights):
            model = fid.InceptionV3([fid.InceptionV3.BLOCK_INDEX_BY_DIM[dims]], use_fid_inception=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit pytorch-fid's FID InceptionV3: {err}") from err
    return model.eval().requires_grad_(False)
