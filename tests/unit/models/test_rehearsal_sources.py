"""Rehearsal stand-ins load through the profile's own loaders, and the memory check can fail."""

import tarfile

import pandas as pd
import pytest
import torch

from diffrob.data import CIFAR10_TRAIN_BATCHES, count_training_images, load_training_set, read_cifar10_binary
from diffrob.models.robustbench import read_imagenet_folder
from diffrob.models.standins import write_cifar10_archive, write_imagenet_folder
from diffrob.workflow.memory import interpreter_peak_bytes, memory_table, read_benchmarks
from tests.unit.workflow.test_plan import _config


def test_the_cifar10_stand_in_is_an_archive_of_binary_records(tmp_path):
    archive, md5 = write_cifar10_archive(tmp_path)
    assert len(md5) == 32
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "out", filter="data")
    images = read_cifar10_binary(tmp_path / "out" / "cifar-10-batches-bin" / "test_batch.bin")
    assert images.images.shape == (10000, 3, 32, 32) and images.labels[:12].tolist() == [*range(10), 0, 1]
    batches = [tmp_path / "out" / name for name in CIFAR10_TRAIN_BATCHES]
    train = load_training_set(batches)  # ADDT's fine-tuning set: the five training batches joined
    assert count_training_images(batches) == len(train) == 50000
    assert train.indices.tolist() == list(range(50000)) and train.labels.max() == 9
    assert not torch.equal(train.images[:10000], train.images[10000:20000])
    with pytest.raises(ValueError, match="one .safetensors image set or CIFAR-10 .bin batches"):
        load_training_set([tmp_path / "train.png"])
    with pytest.raises(ValueError, match="one .safetensors image set or CIFAR-10 .bin batches"):
        count_training_images([tmp_path / "train.png"])


def test_the_imagenet_stand_in_is_read_as_robustbench_images(tmp_path):
    write_imagenet_folder(tmp_path / "val", 2)
    images = read_imagenet_folder(tmp_path / "val", 2)
    assert images.images.shape == (2, 3, 224, 224)
    assert float(images.images.min()) >= 0.0 and float(images.images.max()) <= 1.0


def _benchmarks(tmp_path, rule_rss: dict[str, float]) -> pd.DataFrame:
    for rule, rss in rule_rss.items():
        path = tmp_path / "benchmarks" / rule / "job.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"s\th:m:s\tmax_rss\n1.5\t0:00:01\t{rss}\n")
    return read_benchmarks(tmp_path / "benchmarks")


@pytest.mark.parametrize("rss, within", [(1000.0, True), (60000.0, False)])
def test_a_peak_above_the_chunk_bound_is_flagged(tmp_path, rss, within):
    config = _config("config/cifar10.yaml", "config/rehearsal/cifar10.yaml")
    table = memory_table(config, _benchmarks(tmp_path, {"jacobian": rss}), 800 * 2**20)
    row = table.set_index("rule").loc["jacobian"]
    assert row["bounded by"] == "purification.chunks.jacobian_rows = 8"
    assert bool(row["within"]) is within
    assert row["peak MiB"] == rss and row["bound MiB"] > 800
    assert torch.isfinite(torch.tensor(row["bound MiB"]))


@pytest.mark.parametrize(
    "rule, rss, within", [("figure", 900.0, True), ("figure", 1400.0, False), ("import_classifier", 1400.0, True)]
)
def test_rules_without_a_chunk_are_bounded_by_the_interpreter_and_their_weights(tmp_path, rule, rss, within):
    config = _config("config/cifar10.yaml", "config/rehearsal/cifar10.yaml")
    row = memory_table(config, _benchmarks(tmp_path, {rule: rss}), 800 * 2**20).set_index("rule").loc[rule]
    assert row["bounded by"] == "weights and interpreter only"
    assert bool(row["within"]) is within


def test_the_interpreter_peak_is_the_childs_own_not_its_parents():
    ballast = b"\1" * (600 * 2**20)  # raise this process's high-water mark well above a bare interpreter's
    assert interpreter_peak_bytes("pass") < 200 * 2**20 < len(ballast)
