"""An attack shard on disk: adversarial images, labels and indices (safetensors), loaded back checked, and its
accuracies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from diffrob.attack.accuracy import accuracy_percent, correct_resumably
from diffrob.attack.purified import PurifiedClassifier
from diffrob.data import ImageSet, check_image_tensors
from diffrob.io import atomic_path, read_tensors
from diffrob.resume import BatchStore


@dataclass(frozen=True)
class AttackShard:
    """One (sampler, t*, attack, randomness, seed) shard: adversarial set and per-sample outcome."""

    adversarial: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    correct: torch.Tensor  # under the shard's own test xi
    info: dict[str, str | int | float]


def save_shard(shard: AttackShard, path: str | Path) -> None:
    """Write a shard as safetensors (tensors + JSON metadata), atomically."""
    tensors = {
        "adversarial": shard.adversarial.contiguous(),
        "labels": shard.labels.contiguous(),
        "indices": shard.indices.contiguous(),
        "correct": shard.correct.to(torch.uint8).contiguous(),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"info": json.dumps(shard.info, sort_keys=True)})


SHARD = "an attack shard (safetensors: adversarial, labels, indices, correct; JSON info in the metadata)"


def load_shard(path: str | Path) -> AttackShard:
    """Read a shard written by :func:`save_shard`; a damaged or malformed file raises naming it."""
    tensors, metadata = read_tensors(path, SHARD, ("adversarial", "labels", "indices", "correct"))
    check_image_tensors(tensors["adversarial"], tensors["labels"], tensors["indices"], path, "adversarial images")
    correct = tensors["correct"]
    if correct.shape != tensors["labels"].shape or correct.dtype not in (torch.uint8, torch.bool):
        raise ValueError(f"{path}: correct is {tuple(correct.shape)} {correct.dtype}; expected one bool per image")
    try:
        info = json.loads(metadata.get("info", "{}"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: its metadata 'info' is not JSON ({err}); expected {SHARD}") from err
    labels, indices = tensors["labels"].long(), tensors["indices"].long()
    return AttackShard(tensors["adversarial"], labels, indices, correct.bool(), info)


def load_evaluation_shard(path: str | Path, eval_set: ImageSet) -> AttackShard:
    """The shard at ``path`` with its rows matched to the evaluation set's samples by sample index (row p is
    the sample at position p of ``eval_set``); ``ValueError`` naming the file when its samples or their
    labels are not the evaluation set's."""
    shard = load_shard(path)
    row_of = {int(k): r for r, k in enumerate(shard.indices.tolist())}
    wanted = eval_set.indices.tolist()
    missing = [k for k in wanted if k not in row_of]
    foreign = sorted(set(row_of) - set(wanted))
    if missing or foreign:
        raise ValueError(
            f"{path}: its samples are not the evaluation set's: missing indices {missing[:10]}, "
            f"foreign indices {foreign[:10]} ({len(missing)} and {len(foreign)} in all)"
        )
    order = torch.tensor([row_of[int(k)] for k in wanted], dtype=torch.int64)
    shard = AttackShard(
        shard.adversarial[order], shard.labels[order], shard.indices[order], shard.correct[order], shard.info
    )
    wrong = (shard.labels != eval_set.labels.cpu()).nonzero().flatten().tolist()
    if wrong:
        shown = [wanted[r] for r in wrong[:10]]
        raise ValueError(f"{path}: labels differ from the evaluation set's for sample indices {shown}")
    return shard


def shard_accuracies(
    shard: AttackShard,
    fixed_other: PurifiedClassifier | None,
    free: PurifiedClassifier,
    store: BatchStore | None = None,
) -> dict[str, float | int | None]:
    """Accuracy of a shard's adversarial set: own test xi; a fresh xi; xi of another seed (transfer, Table 4).

    ``acc_transfer`` is None when there is no other seed to transfer to (``fixed_other`` None). With a
    ``store``, each evaluation is saved as it finishes and reused after a kill.
    """
    args = (shard.adversarial, shard.labels, shard.indices)
    fresh = correct_resumably(store, 0, free, *args)
    transfer = None if fixed_other is None else accuracy_percent(correct_resumably(store, 1, fixed_other, *args))
    return {
        "acc_own": accuracy_percent(shard.correct),
        "acc_fresh": accuracy_percent(fresh),
        "acc_transfer": transfer,
        "n": int(shard.labels.numel()),
    }
