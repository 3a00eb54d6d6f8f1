"""The paper-scale loaders on random-weight models saved in each source's exact on-disk format."""

import json

import numpy as np
import pytest
import torch

from diffrob.io import ChecksumError, sha256_file
from diffrob.models.classifier import classifier_features, load_classifier, save_classifier
from diffrob.models.diffusion import build_scheduler, check_schedule, load_diffusion
from diffrob.models.guided import build_guided_unet, load_guided_weights, save_guided_diffusion
from diffrob.models.hub import download_hub, hub_folder_name
from diffrob.models.robustbench import (
    imagenet_image_ids,
    load_robustbench_weights,
    read_imagenet_folder,
    robustbench_architecture,
)
from diffrob.purify.noise import chain_noise
from diffrob.purify.samplers import Schedule, make_chain, purify

SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "variance_type": "fixed_large"}
GUIDED_SMALL = {  # the 256x256 model's options at a test size: learn_sigma, scale-shift norm, 64-channel heads
    "image_size": 64,
    "num_channels": 32,
    "num_res_blocks": 1,
    "channel_mult": "1,2",
    "learn_sigma": True,
    "attention_resolutions": "32",
    "num_head_channels": 16,
    "resblock_updown": True,
    "use_scale_shift_norm": True,
}


def _randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """``model`` with every parameter and float buffer drawn at random (so a wrong load cannot pass)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(
                    torch.rand(tensor.shape, generator=gen) * 0.1 + 0.95
                    if tensor.ndim == 1
                    else torch.randn(tensor.shape, generator=gen) * 0.05
                )
    return model.eval()


@pytest.mark.parametrize("layout", ["state_dict_with_module_prefix", "bare_state_dict"])
def test_robustbench_cifar10_standard_loads_from_its_pt_file(tmp_path, layout):
    reference = _randomised(robustbench_architecture("Standard", "cifar10", "Linf"))
    state = reference.state_dict()
    saved = {"state_dict": {f"module.{k}": v for k, v in state.items()}} if layout.startswith("state") else state
    torch.save(saved, tmp_path / "Standard.pt")
    loaded = load_robustbench_weights(tmp_path / "Standard.pt", "Standard", "cifar10", "Linf")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(loaded(x), expected)
    architecture = {"kind": "robustbench", "name": "Standard", "dataset": "cifar10", "threat_model": "Linf"}
    save_classifier(loaded, tmp_path / "classifier.safetensors", architecture)
    again = load_classifier(tmp_path / "classifier.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(again(x), expected)
        assert classifier_features(again, x).shape == (2, 640)  # WRN-28-10's penultimate width


def test_robustbench_imagenet_standard_r50_loads_torchvision_weights(tmp_path):
    import torchvision

    resnet = _randomised(torchvision.models.resnet50(weights=None), seed=1)
    torch.save(resnet.state_dict(), tmp_path / "resnet50-0676ba61.pth")
    loaded = load_robustbench_weights(tmp_path / "resnet50-0676ba61.pth", "Standard_R50", "imagenet", "Linf")
    x = torch.rand(1, 3, 224, 224)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), resnet((x - mean) / std))


def test_weights_of_another_architecture_are_rejected_naming_the_file(tmp_path):
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match=r"wrong\.pt: weights do not fit RobustBench Standard"):
        load_robustbench_weights(tmp_path / "wrong.pt", "Standard", "cifar10", "Linf")
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"cut\.pt: not a readable weights-only"):
        load_robustbench_weights(tmp_path / "cut.pt", "Standard", "cifar10", "Linf")


def test_a_pickled_object_is_refused(tmp_path):
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hook": np.random.default_rng}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="weights-only"):
        load_robustbench_weights(tmp_path / "evil.pt", "Standard", "cifar10", "Linf")


def test_a_hub_repository_is_kept_under_owner_dash_dash_name():
    assert hub_folder_name("google/ddpm-cifar10-32") == "google--ddpm-cifar10-32"
    assert hub_folder_name("ddpm-cifar10-32") == "ddpm-cifar10-32"


@pytest.mark.parametrize("safetensors", [True, False])
def test_a_diffusers_hub_folder_loads_and_its_schedule_is_checked(tmp_path, safetensors, unet):
    scheduler = build_scheduler({**SCHEDULE, "clip_sample": True})
    unet.save_pretrained(str(tmp_path / "hub"), safe_serialization=safetensors)
    scheduler.save_pretrained(str(tmp_path / "hub"))
    loaded, loaded_scheduler = load_diffusion(tmp_path / "hub")
    check_schedule(loaded_scheduler, {**SCHEDULE, "clip_sample": True}, tmp_path / "hub")
    with pytest.raises(ValueError, match=r"hub: scheduler differs.*beta_end: 0\.02 != 0\.03"):
        check_schedule(loaded_scheduler, {**SCHEDULE, "beta_end": 0.03}, tmp_path / "hub")
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([10, 500])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t).sample, unet(x, t).sample)


def test_a_hub_download_is_checked_against_the_published_digest(tmp_path, monkeypatch, unet):
    """The hub client is replaced by a local copy of a repository; our checks and placement run for real."""
    import huggingface_hub

    def snapshot(repo_id, revision, local_dir, allow_patterns):
        unet.save_pretrained(local_dir, safe_serialization=True)
        build_scheduler({**SCHEDULE, "clip_sample": True}).save_pretrained(local_dir)

    published = tmp_path / "published"
    unet.save_pretrained(str(published), safe_serialization=True)
    lookups = []

    def hub_digest(repo_id, revision, filename):
        lookups.append((repo_id, revision, filename))
        return sha256_file(published / filename)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    monkeypatch.setattr("diffrob.models.hub.hub_lfs_sha256", hub_digest)
    dest = tmp_path / "hub" / "google--ddpm-cifar10-32"
    digest = download_hub("google/ddpm-cifar10-32", "0" * 40, dest, sha256=None)
    assert lookups == [("google/ddpm-cifar10-32", "0" * 40, "diffusion_pytorch_model.safetensors")]
    assert digest == sha256_file(dest / "diffusion_pytorch_model.safetensors")
    assert load_diffusion(dest)[1].config.num_train_timesteps == 1000
    bad = tmp_path / "hub" / "bad"
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        download_hub("google/ddpm-cifar10-32", "0" * 40, bad, sha256="f" * 64)
    assert not bad.exists() and sorted(p.name for p in (tmp_path / "hub").iterdir()) == [dest.name]


def test_guided_diffusion_loads_from_an_openai_state_dict_and_purifies(tmp_path):
    torch.manual_seed(0)
    reference = build_guided_unet(GUIDED_SMALL)
    _randomised(reference.model, seed=2)
    torch.save(reference.model.state_dict(), tmp_path / "guided.pt")
    loaded = load_guided_weights(tmp_path / "guided.pt", GUIDED_SMALL)
    x, t = torch.randn(1, 3, 64, 64), torch.tensor([149])
    with torch.no_grad():
        expected = reference(x, t)
        assert expected.shape == (1, 6, 64, 64)  # learn_sigma: eps and variance channels
        torch.testing.assert_close(loaded(x, t), expected)
    scheduler = build_scheduler({**SCHEDULE, "clip_sample": True})
    save_guided_diffusion(loaded, scheduler, tmp_path / "ddpm")
    again, again_scheduler = load_diffusion(tmp_path / "ddpm")
    assert json.loads((tmp_path / "ddpm" / "guided_diffusion.json").read_text())["model"] == GUIDED_SMALL
    with torch.no_grad():
        torch.testing.assert_close(again(x, t), expected)
    schedule = Schedule.from_scheduler(again_scheduler)
    chain = make_chain("ddpm", 4, 1000, 2)
    noise = chain_noise(0, [0], (3, 64, 64), chain.forward_timesteps, chain.reverse_timesteps, "sample")
    with torch.no_grad():
        out = purify(again, schedule, chain, torch.rand(1, 3, 64, 64), noise)
    assert out.shape == (1, 3, 64, 64) and 0 <= float(out.min()) <= float(out.max()) <= 1


def test_the_imagenet_reader_takes_robustbench_images_from_a_folder(tmp_path):
    from PIL import Image

    entries = imagenet_image_ids(2)
    rng = np.random.default_rng(0)
    for entry in entries:
        (tmp_path / entry).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)).save(tmp_path / entry)
    images = read_imagenet_folder(tmp_path, 2)
    assert images.images.shape == (2, 3, 224, 224)
    from importlib.resources import files

    class_ids = json.loads((files("robustbench") / "helper_files" / "imagenet_class_to_id_map.json").read_text())
    assert images.labels.tolist() == [class_ids[e.split("/")[0]] for e in entries]
    with pytest.raises(FileNotFoundError, match=r"missing from the ImageNet folder"):
        read_imagenet_folder(tmp_path, 3)
    with pytest.raises(FileNotFoundError, match=r"nowhere: ImageNet validation folder not found"):
        read_imagenet_folder(tmp_path / "nowhere", 2)


def test_a_hub_mirror_folder_is_read_from_file_urls_and_its_digest_enforced(tmp_path, unet):
    """The rehearsal's hub stand-in: a folder in the hub's layout served from file://, no hub client."""
    from diffrob.io import digest_record
    from diffrob.models.standins import write_hub_repository

    mirror = tmp_path / "mirror" / "google--ddpm-cifar10-32"
    digest = write_hub_repository(mirror, unet, {**SCHEDULE, "clip_sample": True})
    dest = tmp_path / "hub" / "google--ddpm-cifar10-32"
    assert download_hub("google/ddpm-cifar10-32", "0" * 40, dest, digest, mirror=mirror.as_uri()) == digest
    assert sorted(p.name for p in dest.iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
        "scheduler_config.json",
    ]
    x, t = torch.randn(1, 1, 8, 8), torch.tensor([3])
    with torch.no_grad():
        torch.testing.assert_close(load_diffusion(dest)[0](x, t).sample, unet(x, t).sample)
    bad = tmp_path / "hub" / "bad"
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        download_hub("google/ddpm-cifar10-32", "0" * 40, bad, "f" * 64, mirror=mirror.as_uri())
    assert not bad.exists()
    unpinned = tmp_path / "hub" / "unpinned"
    assert download_hub("google/ddpm-cifar10-32", "0" * 40, unpinned, None, mirror=mirror.as_uri()) == digest
    assert digest_record(unpinned).read_text().split()[0] == digest


def test_a_robustbench_mirror_url_replaces_its_source_and_is_checked(tmp_path):
    from diffrob.models.robustbench import download_robustbench
    from diffrob.models.standins import write_robustbench_weights

    source = tmp_path / "mirror" / "resnet50.pth"
    digest = write_robustbench_weights(source, "Standard_R50", "imagenet", "Linf")
    dest = tmp_path / "Standard_R50.pt"
    assert download_robustbench("Standard_R50", "imagenet", "Linf", dest, digest, url=source.as_uri()) == digest
    loaded = load_robustbench_weights(dest, "Standard_R50", "imagenet", "Linf")
    assert sum(p.numel() for p in loaded.parameters()) == 25_557_032  # ResNet-50
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        download_robustbench("Standard_R50", "imagenet", "Linf", tmp_path / "x.pt", "0" * 8, url=source.as_uri())
