"""Model training, saving and loading: round trips and clear errors for damaged files."""

import pytest
import torch

from diffrob.data import ImageSet, digits_split
from diffrob.models.classifier import load_classifier, save_classifier, train_classifier
from diffrob.models.diffusion import load_diffusion, save_diffusion


def test_digits_split_is_deterministic_in_unit_range_and_stratified():
    train, test = digits_split(0.3, 0)
    again, _ = digits_split(0.3, 0)
    assert len(train) + len(test) == 1797
    assert torch.equal(train.images, again.images)
    assert train.images.min() >= 0 and train.images.max() <= 1
    assert train.images.shape[1:] == (1, 8, 8)
    assert set(test.labels.tolist()) == set(range(10))


def test_classifier_training_is_deterministic_and_round_trips(tmp_path):
    train, _ = digits_split(0.3, 0)
    small = ImageSet(train.images[:128], train.labels[:128], train.indices[:128])
    a = train_classifier(small, 1, 32, 1e-3, seed=0, width=4)
    b = train_classifier(small, 1, 32, 1e-3, seed=0, width=4)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    save_classifier(a, tmp_path / "clf.safetensors")
    loaded = load_classifier(tmp_path / "clf.safetensors")
    assert torch.equal(loaded(small.images), a(small.images))


def test_diffusion_round_trips_through_the_hub_loader(tmp_path, unet, scheduler):
    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    assert (tmp_path / "ddpm" / "diffusion_pytorch_model.safetensors").is_file()
    loaded, loaded_scheduler = load_diffusion(tmp_path / "ddpm")
    x = torch.rand((2, 1, 8, 8))
    t = torch.tensor([10, 500])
    with torch.no_grad():
        assert torch.equal(loaded(x, t).sample, unet(x, t).sample)
    assert torch.equal(loaded_scheduler.betas, scheduler.betas)


def test_missing_model_files_are_named(tmp_path, unet, scheduler):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.safetensors: missing; expected a diffrob classifier"):
        load_classifier(tmp_path / "nowhere.safetensors")
    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    (tmp_path / "ddpm" / "scheduler_config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"scheduler_config\.json: missing"):
        load_diffusion(tmp_path / "ddpm")


def test_truncated_model_files_fail_naming_the_path(tmp_path, unet, scheduler, classifier):
    path = tmp_path / "clf.safetensors"
    save_classifier(classifier, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"clf\.safetensors: unreadable \(truncated or corrupted\?\)"):
        load_classifier(path)
    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    weights = tmp_path / "ddpm" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"ddpm: could not load the diffusion model"):
        load_diffusion(tmp_path / "ddpm")
