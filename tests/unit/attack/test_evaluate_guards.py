"""Measurements refuse inputs the experiment design never pairs: a shard tested under its own seed, foreign images."""

import pytest
import torch

from diffrob.attack.evaluate import Defence, measure_shard
from diffrob.attack.shards import AttackShard, save_shard
from diffrob.data import ImageSet
from diffrob.measure.common import load_purifier
from diffrob.measure.compression import compression
from diffrob.models.diffusion import save_diffusion

CHAIN = {"sampler": "ddpm", "t_star": 4, "reverse_steps": 2, "keying": "sample", "chunks": {"chain": 8}}


def _shard(images, indices, seed=0):
    labels = torch.zeros(len(indices), dtype=torch.int64)
    correct = torch.tensor([True, False] * (len(indices) // 2) + [True] * (len(indices) % 2))
    return AttackShard(images, labels, indices, correct, {"seed": seed})


def test_a_shard_is_never_transferred_to_its_own_seed(tmp_path, images):
    path = tmp_path / "shard.safetensors"
    save_shard(_shard(images, torch.arange(len(images)), seed=3), path)
    eval_set = ImageSet(images, torch.zeros(len(images), dtype=torch.int64), torch.arange(len(images)))
    with pytest.raises(ValueError, match=r"shard\.safetensors: transfer seed s' = 3 equals the shard's own seed"):
        measure_shard(path, eval_set, Defence(tmp_path / "no-ddpm", tmp_path / "no-classifier", CHAIN), partner=3)


def test_compression_matches_shards_to_images_by_sample_index_and_refuses_foreign_ones(
    tmp_path, unet, scheduler, images
):
    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    eval_set = ImageSet(images, torch.zeros(len(images), dtype=torch.int64), torch.arange(len(images)))
    purifier = load_purifier(tmp_path / "ddpm", CHAIN, eval_set.indices.tolist())
    uniform_only = compression(purifier, eval_set, [0, 1], [], 0.1)
    assert [r["input"] for r in uniform_only["records"]] == ["uniform"]
    assert uniform_only["records"][0]["n"] == len(images)
    matching = tmp_path / "matching.safetensors"
    save_shard(_shard(images, torch.arange(len(images))), matching)
    split = compression(purifier, eval_set, [0], [matching], 0.1)
    assert {r["input"] for r in split["records"]} == {"uniform", "pgd_robust", "pgd_nonrobust"}
    in_order = _shard(images, torch.arange(len(images)))
    reordered = tmp_path / "reordered.safetensors"  # the same samples, rows in another order
    flipped = [t.flip(0) for t in (in_order.adversarial, in_order.labels, in_order.indices, in_order.correct)]
    save_shard(AttackShard(*flipped, in_order.info), reordered)
    assert compression(purifier, eval_set, [0], [reordered], 0.1) == split
    foreign = tmp_path / "foreign.safetensors"
    save_shard(_shard(images, torch.arange(len(images)) + 100), foreign)
    with pytest.raises(ValueError, match=r"foreign\.safetensors: its samples are not the evaluation set's: missing"):
        compression(purifier, eval_set, [0], [foreign], 0.1)
