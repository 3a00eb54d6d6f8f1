"""Non-finite values are an error, never a result: NaN logits would pass PGD's sign step into x_adv, and
``argmax`` over NaN returns class 0, so such a sample would silently count as correct when its label is 0."""

from __future__ import annotations

from collections.abc import Sequence

import torch


class NonFiniteError(FloatingPointError):
    """A purified image, logit or gradient holds NaN or inf; the message says where."""


def nonfinite_rows(tensor: torch.Tensor) -> list[int]:
    """Rows (first dimension) of ``tensor`` holding a NaN or an inf."""
    if tensor.dim() == 0:
        return [] if bool(torch.isfinite(tensor)) else [0]
    bad = ~torch.isfinite(tensor.detach().reshape(tensor.shape[0], -1)).all(dim=1)
    return bad.nonzero().flatten().tolist()


def check_finite(tensor: torch.Tensor, what: str, samples: Sequence[int] | None = None) -> torch.Tensor:
    """``tensor`` unchanged if every value is finite; else :class:`NonFiniteError` naming ``what`` and the rows
    (as ``samples``, the evaluation-set positions of the rows, when given)."""
    rows = nonfinite_rows(tensor)
    if rows:
        named = [int(samples[r]) for r in rows] if samples is not None else rows
        kind = "samples" if samples is not None else "rows"
        raise NonFiniteError(f"non-finite {what} (NaN or inf) for {kind} {named} of {tensor.shape[0]}")
    return tensor
