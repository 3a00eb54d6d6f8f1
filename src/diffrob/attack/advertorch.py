"""advertorch 0.2.3 (its last release) imports ``zero_gradients`` from ``torch.autograd.gradcheck``, which torch
removed. We restore that one function on the module object before importing it. (``import torch.autograd.gradcheck
as m`` would bind the *function* ``gradcheck``, not the module, so the module is taken from ``sys.modules``.)"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch


def _zero_gradients(x: torch.Tensor | list | tuple) -> None:
    """The helper torch removed: zero (and detach) the ``.grad`` of a tensor or of each in a sequence."""
    if isinstance(x, torch.Tensor):
        if x.grad is not None:
            x.grad.detach_()
            x.grad.zero_()
    else:
        for elem in x:
            _zero_gradients(elem)


def import_advertorch() -> ModuleType:
    """``advertorch``, imported after restoring ``torch.autograd.gradcheck.zero_gradients``."""
    importlib.import_module("torch.autograd.gradcheck")
    gradcheck_module = sys.modules["torch.autograd.gradcheck"]
    if not hasattr(gradcheck_module, "zero_gradients"):
        gradcheck_module.zero_gradients = _zero_gradients  # type: ignore[attr-defined]
    return importlib.import_module("advertorch")
