"""FID features: pytorch-fid's InceptionV3 from a weights file in pytorch-fid's own format, read without unpickling."""

from pathlib import Path

import pytest
import torch

from diffrob.measure.features import fid_features
from diffrob.models.inception import fid_weights_url, inception_dims, load_fid_inception
from tests.unit.models.test_sources import _randomised


def _fid_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """Random weights in the format of pytorch-fid's pt_inception-2015-12-05 file: a state dict saved by torch."""
    import torchvision

    network = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    state = _randomised(network, seed=4).state_dict()
    torch.save(state, path)
    return state


def test_inception_features_load_from_the_fid_weights_file_and_pool_to_dims(tmp_path):
    path = tmp_path / Path(fid_weights_url()).name
    state = _fid_weights_file(path)
    model = load_fid_inception(path, 768)
    first_conv = next(k for k in state if k.endswith("Conv2d_1a_3x3.conv.weight"))
    torch.testing.assert_close(model.blocks[0][0].conv.weight, state[first_conv])
    features = fid_features("inception", torch.device("cpu"), inception_path=path, dims=768)
    grey = torch.rand(2, 1, 8, 8)
    out = features(grey)
    assert out.shape == (2, 768)
    torch.testing.assert_close(out, features(grey.repeat(1, 3, 1, 1)))
    assert inception_dims() == (64, 192, 768, 2048)


def test_bad_fid_weights_and_settings_are_refused_naming_them(tmp_path):
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match="wrong.pth: weights do not fit pytorch-fid's FID InceptionV3"):
        load_fid_inception(wrong)
    with pytest.raises(ValueError, match="dims = 100; pytorch-fid offers 64, 192, 768, 2048"):
        load_fid_inception(wrong, 100)
    with pytest.raises(ValueError, match="unknown kind 'clip'"):
        fid_features("clip", torch.device("cpu"))


def test_the_fid_weights_url_is_pytorch_fids_own():
    from pytorch_fid.inception import FID_WEIGHTS_URL

    assert fid_weights_url() == FID_WEIGHTS_URL
