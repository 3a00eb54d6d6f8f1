"""The import fixes for advertorch and robustbench make their APIs importable."""

import torch

from diffrob.attack.advertorch import _zero_gradients, import_advertorch
from diffrob.models.robustbench import import_robustbench


def test_advertorch_imports_with_bpda():
    advertorch = import_advertorch()
    from advertorch.bpda import BPDAWrapper

    assert advertorch.__name__ == "advertorch" and BPDAWrapper is not None


def test_robustbench_imports_with_load_model_and_wide_resnet():
    robustbench = import_robustbench()
    from robustbench.model_zoo.architectures.wide_resnet import WideResNet
    from robustbench.utils import load_model

    assert robustbench.__name__ == "robustbench" and callable(load_model) and WideResNet is not None


def test_restored_zero_gradients_zeroes_grads():
    x = torch.ones(3, requires_grad=True)
    x.sum().backward()
    _zero_gradients([x])
    assert torch.equal(x.grad, torch.zeros(3))
