"""The purified classifier under fixed randomness as a plain deterministic ``nn.Module`` (``model(x) -> logits``) that
any attack library can call on any batch or subset of a batch.

diffrob keys xi by the sample (its position in the evaluation set), so a module called on bare images must recover
each input's position. It does so from the input itself: an attack keeps every iterate within its budget of the
clean image it started from, so the position is that of the one evaluation image (the *anchor*) within the budget's
radius of the input. The alternative, one xi shared by every sample whatever its key, would give other noise than
the workflow's shards and so another defence than the one PGD measured; recovering the key keeps the noise, image
by image, bit for bit. An input is given the xi of its nearest anchor. That makes the module a deterministic
classifier of its own, equal to the fixed-xi one on the ball of every anchor as long as the balls are disjoint (a
point within the radius of x_i is then nearer to x_i than to any other anchor), so an adversarial example it has
within the budget of x_i is one of sample i under xi_i; attacks that step outside the budget on the way (FAB) see
the nearest sample's xi there. Where balls overlap (near-duplicate images at a large budget, common on 8x8
digits) an input could belong to two samples, so :class:`AnchoredClassifier` refuses such anchors and
:func:`disjoint_groups` splits an evaluation set into groups whose balls do not meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from diffrob.attack.purified import PurifiedClassifier

NORM_ORDERS: dict[str, float] = {"linf": float("inf"), "l2": 2.0}


TOLERANCE = 1e-5
"""How far outside its radius an input may lie and still belong to an anchor (float rounding of projections)."""


def anchor_distances(x: torch.Tensor, anchors: torch.Tensor, norm: str = "linf", chunk: int = 256) -> torch.Tensor:
    """(B, N) distances in ``norm`` between each input and each anchor, ``chunk`` anchors at a time."""
    if norm not in NORM_ORDERS:
        raise ValueError(f"unknown norm {norm!r}; expected one of {', '.join(NORM_ORDERS)}")
    flat_x = x.detach().reshape(x.shape[0], -1).float()
    flat_a = anchors.detach().reshape(anchors.shape[0], -1).float().to(flat_x.device)
    if flat_x.shape[1] != flat_a.shape[1]:
        raise ValueError(f"inputs of {tuple(x.shape[1:])} against anchors of {tuple(anchors.shape[1:])}")
    parts = [torch.cdist(flat_x, flat_a[i : i + chunk], p=NORM_ORDERS[norm]) for i in range(0, len(flat_a), chunk)]
    return torch.cat(parts, dim=1)


def overlapping_pairs(anchors: torch.Tensor, radius: float, norm: str = "linf") -> list[tuple[int, int]]:
    """The pairs (i, j), i < j, of anchors whose balls of ``radius`` meet (distance at most 2 radius)."""
    distances = anchor_distances(anchors, anchors, norm)
    near = torch.nonzero(distances <= 2 * (radius + TOLERANCE))
    return [(int(i), int(j)) for i, j in near.tolist() if i < j]


def disjoint_groups(anchors: torch.Tensor, radius: float, norm: str = "linf") -> list[list[int]]:
    """Positions 0..N-1 of ``anchors`` split into groups whose balls of ``radius`` are pairwise disjoint.

    Greedy colouring in position order: each position joins the first group holding none of the anchors its ball
    meets. Deterministic; one group when no balls meet.
    """
    neighbours: list[set[int]] = [set() for _ in range(len(anchors))]
    for i, j in overlapping_pairs(anchors, radius, norm):
        neighbours[i].add(j)
        neighbours[j].add(i)
    groups: list[list[int]] = []
    for position in range(len(anchors)):
        for group in groups:
            if not neighbours[position].intersection(group):
                group.append(position)
                break
        else:
            groups.append([position])
    return groups


class AnchoredClassifier(nn.Module):
    """``x -> g(f_xi(x))`` under fixed randomness for bare inputs: each input gets the xi of the evaluation sample it
    is within ``radius`` (in ``norm``) of.

    ``anchors`` are the clean images at evaluation-set ``positions`` (all of ``purified``'s set by default); their
    balls of ``radius`` must be disjoint. An input takes its nearest anchor's xi; with ``strict`` an input within the
    radius of no anchor is refused with a ``ValueError`` naming it, and without, counted in ``outside``. ``calls``
    counts the forward passes (what an attack spends). The purifier's gradient checkpoints are made non-reentrant,
    so that libraries taking gradients with ``torch.autograd.grad`` (AutoAttack) can.
    """

    def __init__(
        self,
        purified: PurifiedClassifier,
        anchors: torch.Tensor,
        radius: float,
        norm: str = "linf",
        positions: Sequence[int] | None = None,
        strict: bool = False,
    ):
        super().__init__()
        if purified.randomness != "fixed":
            raise ValueError(
                f"a plain module needs fixed randomness; the purified classifier's is {purified.randomness}"
            )
        if purified.eot_samples != 1:
            raise ValueError(f"a plain module makes one draw per call, not {purified.eot_samples} (EOT)")
        if radius <= 0:
            raise ValueError(f"radius must be > 0, got {radius}")
        positions = list(range(len(anchors))) if positions is None else [int(p) for p in positions]
        if len(positions) != len(anchors):
            raise ValueError(f"{len(positions)} positions for {len(anchors)} anchors")
        overlaps = overlapping_pairs(anchors, radius, norm)
        if overlaps:
            i, j = overlaps[0]
            raise ValueError(
                f"{len(overlaps)} pairs of anchors lie within 2 x {radius} of each other in {norm} (first: positions "
                f"{positions[i]} and {positions[j]}), so an input between them has no one key; build one module per "
                "group of diffrob.attack.anchored.disjoint_groups"
            )
        purified.purifier.reentrant = False
        self.purified = purified
        self.register_buffer("anchors", anchors.detach().clone(), persistent=False)
        self.radius, self.norm, self.positions, self.strict = float(radius), norm, positions, strict
        self.calls = self.outside = 0

    def locate(self, x: torch.Tensor) -> list[int]:
        """Evaluation-set position of each input: its nearest anchor's (the one within the radius of it, if any)."""
        distances = anchor_distances(x, self.anchors, self.norm)
        nearest, which = distances.min(dim=1)
        far = torch.nonzero(nearest > self.radius + TOLERANCE).flatten().tolist()
        self.outside += len(far)
        if far and self.strict:
            k = far[0]
            raise ValueError(
                f"{len(far)} inputs lie outside the radius {self.radius} ({self.norm}) of every evaluation image the "
                f"module was built on (first: input {k}, {float(nearest[k]):.6g} from the nearest); a fixed-xi module "
                "answers only inputs within the attack's budget of its images"
            )
        return [self.positions[int(i)] for i in which.tolist()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the purified classifier, each input under the xi of its evaluation sample."""
        self.purified.use_batch(self.locate(x))
        self.calls += 1
        return self.purified(x)
