"""Resumable batches: a shard resumed from its saved batches equals an uninterrupted one, byte for byte."""

import pytest
import torch

from diffrob.attack import AttackSettings, attack_set
from diffrob.resume import BatchStore, job_identity
from tests.test_attack import _model

SETTINGS = AttackSettings(0.1, 2, 0.25, random_start=True, batch_size=3, eot_samples=2)
LABELS = torch.arange(7) % 10
INDICES = torch.arange(100, 107)


def _store(tmp_path, identity="job-a"):
    return BatchStore(tmp_path / "partial", identity)


def test_a_saved_batch_loads_back_only_for_its_own_job_and_samples(tmp_path):
    store = _store(tmp_path)
    store.save(0, INDICES[:3], {"adversarial": torch.ones(3, 2), "draws": torch.tensor(5)})
    loaded = _store(tmp_path).load(0, INDICES[:3])
    assert torch.equal(loaded["adversarial"], torch.ones(3, 2)) and int(loaded["draws"]) == 5
    assert _store(tmp_path, identity="job-b").load(0, INDICES[:3]) is None  # other settings or inputs
    assert _store(tmp_path).load(0, INDICES[3:6]) is None  # other samples
    assert _store(tmp_path).load(1, INDICES[3:6]) is None  # never saved
    store.path(0).write_bytes(store.path(0).read_bytes()[:40])  # truncated
    assert _store(tmp_path).load(0, INDICES[:3]) is None


def test_the_job_identity_follows_settings_and_file_contents(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00" * 8)
    first = job_identity({"steps": 2}, [model])
    assert job_identity({"steps": 2}, [model]) == first
    assert job_identity({"steps": 3}, [model]) != first
    (model / "weights.bin").write_bytes(b"\x01" * 8)
    assert job_identity({"steps": 2}, [model]) != first


@pytest.mark.parametrize("randomness", ["fixed", "free"])
def test_a_resumed_attack_equals_an_uninterrupted_one_and_skips_finished_batches(
    tmp_path, unet, schedule, classifier, images, randomness
):
    whole = attack_set(_model(unet, schedule, classifier, randomness), images, LABELS, SETTINGS, 0, progress=False)
    first = _store(tmp_path)
    attack_set(_model(unet, schedule, classifier, randomness), images, LABELS, SETTINGS, 0, False, first, INDICES)
    assert first.saved == [0, 1, 2] and first.reused == []
    first.path(2).unlink()  # killed while the last batch ran: batches 0 and 1 were finished
    resumed_store = _store(tmp_path)
    resumed = attack_set(
        _model(unet, schedule, classifier, randomness), images, LABELS, SETTINGS, 0, False, resumed_store, INDICES
    )
    assert resumed_store.reused == [0, 1] and resumed_store.saved == [2]
    for a, b in zip(whole, resumed, strict=True):
        assert torch.equal(a, b)


CHAIN = {"sampler": "ddpm", "t_star": 4, "reverse_steps": 2, "keying": "sample", "chunks": {"chain": 8}}


@pytest.mark.parametrize("measurement", ["randomness", "jacobian"])
def test_a_resumed_measurement_equals_an_uninterrupted_one(tmp_path, unet, scheduler, images, measurement):
    from diffrob.data import ImageSet
    from diffrob.experiments import jacobian_spectrum, randomness
    from diffrob.models import save_diffusion

    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    eval_set = ImageSet(images, LABELS, INDICES)
    if measurement == "randomness":
        measure = lambda store: randomness(tmp_path / "ddpm", eval_set, CHAIN, 3, 2, 2, 0.1, store)  # noqa: E731
    else:
        measure = lambda store: jacobian_spectrum(tmp_path / "ddpm", eval_set, CHAIN, 3, 0, 2, store)  # noqa: E731
    whole = measure(None)
    first = _store(tmp_path)
    assert measure(first) == whole and first.saved == [0, 1, 2]
    first.path(1).unlink()
    resumed_store = _store(tmp_path)
    assert measure(resumed_store) == whole
    assert resumed_store.reused == [0, 2] and resumed_store.saved == [1]
