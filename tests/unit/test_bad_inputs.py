"""Bad files and bad inputs, a table of them: every loader rejects each kind of damage with an error naming
the file and what was expected, and leaves the file as it was (a failed download is removed instead)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from diffrob.attack.shards import AttackShard, load_evaluation_shard, load_shard, save_shard
from diffrob.data import ImageSet, load_image_set, read_cifar10_binary, save_image_set
from diffrob.io import ChecksumError, load_state_dict_file, read_json, sha256_file, verify_sha256, write_json
from diffrob.models.classifier import SmallCNN, load_classifier, save_classifier
from diffrob.models.diffusion import build_scheduler, load_diffusion, save_diffusion
from diffrob.models.robustbench import read_imagenet_folder
from diffrob.models.standins import cifar10_batch, write_imagenet_folder
from diffrob.workflow.checks import merged_config
from tests.conftest import SCHEDULE_CONFIG
from tests.helpers import ROOT

N = 4
IMAGES = torch.rand((N, 1, 8, 8), generator=torch.Generator().manual_seed(0))
LABELS = torch.tensor([3, 1, 4, 1])
INDICES = torch.arange(N)


# ---- damage: each takes the valid file and damages it in place -------------------------------------------
def truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


def corrupted(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[: min(64, len(data))] = b"\xff" * min(64, len(data))
    path.write_bytes(bytes(data))


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def tensors_changed(**changes: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Path], None]:
    """Rewrite a safetensors file with some tensors changed (metadata kept)."""

    def damage(path: Path) -> None:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
        tensors = load_file(str(path))
        for name, change in changes.items():
            tensors[name] = change(tensors[name]).contiguous()
        save_file(tensors, str(path), metadata=metadata)

    return damage


def metadata_changed(value: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        save_file(load_file(str(path)), str(path), metadata={"info": value})

    return damage


# ---- valid files: each writes one into a folder and returns its path -----------------------------------------
def an_image_set(folder: Path) -> Path:
    save_image_set(ImageSet(IMAGES, LABELS, INDICES), folder / "eval.safetensors")
    return folder / "eval.safetensors"


def a_shard(folder: Path) -> Path:
    correct = torch.tensor([True, False, True, True])
    save_shard(AttackShard(IMAGES, LABELS, INDICES, correct, {"seed": 0}), folder / "pgd-fixed-seed0.safetensors")
    return folder / "pgd-fixed-seed0.safetensors"


def a_classifier(folder: Path) -> Path:
    save_classifier(SmallCNN(1, 8, 10, width=4), folder / "classifier.safetensors")
    return folder / "classifier.safetensors"


def a_diffusion_model(folder: Path) -> Path:
    from diffrob.models.diffusion import build_unet

    save_diffusion(build_unet({"block_out_channels": [32, 32], "layers_per_block": 1}, 8, 1),
                   build_scheduler(SCHEDULE_CONFIG), folder / "ddpm")  # fmt: skip
    return folder / "ddpm" / "diffusion_pytorch_model.safetensors"


def a_state_dict(folder: Path) -> Path:
    torch.save({"state_dict": SmallCNN(1, 8, 10, width=4).state_dict()}, folder / "Standard.pt")
    return folder / "Standard.pt"


def a_cifar10_batch(folder: Path) -> Path:
    (folder / "test_batch.bin").write_bytes(cifar10_batch(5, seed=0))
    return folder / "test_batch.bin"


def a_json(folder: Path) -> Path:
    write_json({"acc_own": 12.5}, folder / "metrics.json")
    return folder / "metrics.json"


def an_imagenet_jpeg(folder: Path) -> Path:
    write_imagenet_folder(folder / "val", 1)
    return next((folder / "val").rglob("*.JPEG"))


def cifar10_label(value: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[0] = value
        path.write_bytes(bytes(data))

    return damage


def one_record_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def weight_reshaped(path: Path) -> None:
    first = next(k for k in load_file(str(path)) if k.endswith("weight"))
    tensors_changed(**{first: lambda t: t.reshape(-1)[:-1]})(path)


def weights_integral(path: Path) -> None:
    tensors_changed(**{k: (lambda t: t.round().to(torch.int64)) for k in load_file(str(path))})(path)


def not_a_mapping(path: Path) -> None:
    torch.save(torch.zeros(3), path)


@dataclass(frozen=True)
class Case:
    file: str
    make: Callable[[Path], Path]
    damage: str
    apply: Callable[[Path], None]
    load: Callable[[Path], object]
    expected: str  # regex the message must match beside the file's name


EVAL_SET = ImageSet(IMAGES, LABELS, INDICES)
CASES = [
    Case("image set", an_image_set, "truncated", truncated, load_image_set, "unreadable .*expected an image set"),
    Case("image set", an_image_set, "corrupted", corrupted, load_image_set, "unreadable .*expected an image set"),
    Case("image set", an_image_set, "empty", emptied, load_image_set, "empty file; expected an image set"),
    Case("image set", an_image_set, "wrong shape", tensors_changed(images=lambda t: t[:, 0]), load_image_set,
         r"images are \(4, 8, 8\) .*expected floating \(N, C, H, W\)"),
    Case("image set", an_image_set, "wrong dtype", tensors_changed(images=lambda t: (t * 255).to(torch.uint8)),
         load_image_set, "torch.uint8; expected floating"),
    Case("image set", an_image_set, "wrong label dtype", tensors_changed(labels=lambda t: t.float()), load_image_set,
         r"labels are \(4,\) torch.float32; expected integer"),
    Case("image set", an_image_set, "out of range", tensors_changed(images=lambda t: t * 2.0), load_image_set,
         r"range over \[.*\]; expected \[0, 1\]"),
    Case("image set", an_image_set, "NaN pixels", tensors_changed(images=lambda t: t.clone().fill_(float("nan"))),
         load_image_set, r"hold NaN or inf; expected values in \[0, 1\]"),
    Case("image set", an_image_set, "wrong label count", tensors_changed(labels=lambda t: t[:-1]), load_image_set,
         "3 labels for 4 images; expected one per image"),
    Case("image set", an_image_set, "repeated indices", tensors_changed(indices=lambda t: t * 0), load_image_set,
         "repeated sample indices; expected each sample once"),
    Case("shard", a_shard, "truncated", truncated, load_shard, "unreadable .*expected an attack shard"),
    Case("shard", a_shard, "corrupted", corrupted, load_shard, "unreadable .*expected an attack shard"),
    Case("shard", a_shard, "wrong shape", tensors_changed(adversarial=lambda t: t.flatten(1)), load_shard,
         r"adversarial images are \(4, 64\)"),
    Case("shard", a_shard, "wrong dtype", tensors_changed(adversarial=lambda t: t.to(torch.int32)), load_shard,
         "torch.int32; expected floating"),
    Case("shard", a_shard, "out of range", tensors_changed(adversarial=lambda t: t - 1.0), load_shard,
         r"expected \[0, 1\]"),
    Case("shard", a_shard, "wrong label count", tensors_changed(labels=lambda t: t[:2]), load_shard,
         "2 labels for 4 adversarial images"),
    Case("shard", a_shard, "wrong correct count", tensors_changed(correct=lambda t: t[:3]), load_shard,
         "correct is .*expected one bool per image"),
    Case("shard", a_shard, "info not JSON", metadata_changed("{seed: "), load_shard, "'info' is not JSON"),
    Case("shard", a_shard, "foreign samples", tensors_changed(indices=lambda t: t + 50),
         lambda p: load_evaluation_shard(p, EVAL_SET), "samples are not the evaluation set's: missing indices"),
    Case("shard", a_shard, "wrong labels", tensors_changed(labels=lambda t: (t + 1) % 10),
         lambda p: load_evaluation_shard(p, EVAL_SET), "labels differ from the evaluation set's"),
    Case("classifier", a_classifier, "truncated", truncated, load_classifier, "unreadable .*expected a diffrob"),
    Case("classifier", a_classifier, "corrupted", corrupted, load_classifier, "unreadable .*expected a diffrob"),
    Case("classifier", a_classifier, "wrong shape", weight_reshaped, load_classifier,
         "weights do not fit the architecture"),
    Case("classifier", a_classifier, "wrong dtype", weights_integral, load_classifier,
         "non-floating tensors .*expected a diffrob classifier"),
    Case("classifier", a_classifier, "no architecture", metadata_changed("{}"), load_classifier,
         "no readable 'architecture' metadata"),
    Case("diffusion model", a_diffusion_model, "truncated", truncated, lambda p: load_diffusion(p.parent),
         "could not load the diffusion model"),
    Case("diffusion model", a_diffusion_model, "corrupted", corrupted, lambda p: load_diffusion(p.parent),
         "could not load the diffusion model"),
    Case("diffusion model", a_diffusion_model, "wrong shape", weight_reshaped, lambda p: load_diffusion(p.parent),
         "could not load the diffusion model"),
    Case("state dict (.pt)", a_state_dict, "truncated", truncated, load_state_dict_file,
         "not a readable weights-only PyTorch checkpoint"),
    Case("state dict (.pt)", a_state_dict, "corrupted", corrupted, load_state_dict_file,
         "not a readable weights-only PyTorch checkpoint"),
    Case("state dict (.pt)", a_state_dict, "not a state dict", not_a_mapping, load_state_dict_file,
         "expected a state dict"),
    Case("CIFAR-10 batch", a_cifar10_batch, "truncated", one_record_short, read_cifar10_binary,
         "not a whole number of 3073-byte CIFAR-10 records"),
    Case("CIFAR-10 batch", a_cifar10_batch, "label out of range", cifar10_label(12), read_cifar10_binary,
         "label 12 out of range 0-9"),
    Case("CIFAR-10 batch", a_cifar10_batch, "empty", emptied, read_cifar10_binary, "empty file; expected a CIFAR"),
    Case("JSON measurement", a_json, "truncated", truncated, read_json, "not valid JSON"),
    Case("JSON measurement", a_json, "corrupted", corrupted, read_json, "not valid JSON"),
    Case("JSON measurement", a_json, "empty", emptied, read_json, "empty file; expected a JSON file"),
    Case("ImageNet JPEG", an_imagenet_jpeg, "truncated", truncated, lambda p: read_imagenet_folder(p.parents[1], 1),
         "not a readable JPEG"),
    Case("ImageNet JPEG", an_imagenet_jpeg, "corrupted", corrupted, lambda p: read_imagenet_folder(p.parents[1], 1),
         "not a readable JPEG"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.file}: {c.damage}")
def test_a_damaged_file_is_rejected_naming_it_and_left_unchanged(tmp_path, case):
    path = case.make(tmp_path)
    case.apply(path)
    before = path.read_bytes()
    with pytest.raises((ValueError, FileNotFoundError)) as raised:
        case.load(path)
    message = str(raised.value)
    assert str(path) in message or str(path.parent) in message, message
    assert re.search(case.expected, message), message
    assert path.read_bytes() == before


@pytest.mark.parametrize("damage", [truncated, corrupted])
def test_a_damaged_download_fails_its_checksum_and_is_removed(tmp_path, damage):
    path = a_state_dict(tmp_path)
    digest = sha256_file(path)
    damage(path)
    with pytest.raises(ChecksumError, match=rf"{path.name}: sha256 mismatch: expected {digest}"):
        verify_sha256(path, digest)
    assert not path.exists()  # removed, so the next run downloads it again


@pytest.mark.parametrize(
    "layer, expected",
    [
        ({"attack": {"epsilon": "eight"}}, "epsilon"),
        ({"attack": {"steps": -1}}, "steps"),
        ({"purification": {"seeds": "zero"}}, "seeds"),
    ],
)
def test_a_bad_configuration_value_is_rejected_naming_its_key(layer, expected):
    import yaml

    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    with pytest.raises(Exception, match=expected):
        merged_config([default, layer], ROOT / "config" / "schema.yaml")


def test_the_table_covers_every_loader_and_kind_of_damage():
    files = {c.file for c in CASES}
    assert len(files) == 8 and {"truncated", "corrupted", "wrong shape", "wrong dtype", "out of range",
                                "wrong label count"} <= {c.damage for c in CASES}  # fmt: skip
    print(
        f"bad-input matrix: {len(CASES)} cases over {len(files)} kinds of file (+2 downloads, +3 configuration values)"
    )
