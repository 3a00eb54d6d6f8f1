"""NaN or inf in a purified image, a logit or a gradient stops the job, naming where; nothing is saved."""

import pytest
import torch
from torch import nn

from diffrob.attack.pgd import AttackSettings, attack_set
from diffrob.attack.purified import predict
from diffrob.purify.finite import NonFiniteError, check_finite
from diffrob.resume import BatchStore
from tests.unit.attack.test_attack import _model, _purifier

LABELS = torch.arange(7) % 10
SETTINGS = AttackSettings(0.1, 2, 0.25, random_start=False, batch_size=4)


class _PoisonRow(torch.autograd.Function):
    """Identity forward; NaN (``where="forward"``) or a NaN gradient (``"backward"``) in row ``row``."""

    @staticmethod
    def forward(ctx, x, row, where):  # noqa: D102
        ctx.row, ctx.where = row, where
        out = x.clone()
        if where == "forward":
            out[row] = float("nan")
        return out

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        grad = grad.clone()
        if ctx.where == "backward":
            grad[ctx.row] = float("nan")
        return grad, None, None


class _Poisoned(nn.Module):
    """``classifier`` with row ``row`` poisoned in batches of ``batch_rows`` rows (every batch when None)."""

    def __init__(self, classifier, row, where, batch_rows=None):
        super().__init__()
        self.classifier, self.row, self.where, self.batch_rows = classifier, row, where, batch_rows

    def forward(self, x):
        if self.batch_rows not in (None, x.shape[0]):
            return self.classifier(x)
        return self.classifier(_PoisonRow.apply(x, self.row, self.where))


def test_finite_values_pass_and_a_nan_row_is_named_by_its_sample():
    x = torch.zeros(3, 2)
    assert check_finite(x, "logits") is x
    x[1, 0] = float("inf")
    with pytest.raises(NonFiniteError, match=r"non-finite logits \(NaN or inf\) for samples \[11\] of 3"):
        check_finite(x, "logits", [10, 11, 12])


@pytest.mark.parametrize(
    "where, message",
    [("forward", r"logits at purifier call 1 of the batch"), ("backward", r"input gradient at purifier call 1")],
)
def test_a_nan_logit_or_gradient_stops_the_attack_and_saves_nothing_for_its_batch(
    tmp_path, unet, schedule, classifier, images, where, message
):
    model = _model(unet, schedule, _Poisoned(classifier, 1, where, batch_rows=3), "fixed")  # batch 1: positions 4-6
    store = BatchStore(tmp_path / "partial", "job")
    pattern = rf"batch 1 \(sample indices \[104, 105, 106\]\): .*{message}.*samples \[5\]"
    with pytest.raises(NonFiniteError, match=pattern):
        attack_set(model, images, LABELS, SETTINGS, 0, False, store, torch.arange(100, 107))
    assert store.saved == [0] and not store.path(1).exists()


def test_nan_logits_never_become_a_prediction(classifier, images):
    with pytest.raises(NonFiniteError, match=r"logits .* samples \[2\]"):
        predict(_Poisoned(classifier, 2, "forward"), images, batch_size=7)


def test_a_nan_purified_image_names_its_samples_and_seed(unet, schedule, images):
    images = images.clone()
    images[3, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"purifying samples \[0, 1, 2, 3, 4, 5, 6\] under seed 9: .*rows \[3\]"):
        _purifier(unet, schedule)(images, list(range(7)), 9)
