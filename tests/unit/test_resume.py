"""Resumable batches: a shard resumed from its saved batches equals an uninterrupted one, byte for byte."""

import pytest
import torch

from diffrob.attack.pgd import AttackSettings, attack_set
from diffrob.resume import BatchStore, job_identity
from tests.unit.attack.test_attack import _model

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


def test_the_job_identity_follows_settings_file_contents_and_code(tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00" * 8)
    first = job_identity({"steps": 2}, [model])
    assert job_identity({"steps": 2}, [model]) == first
    assert job_identity({"steps": 3}, [model]) != first
    (model / "weights.bin").write_bytes(b"\x01" * 8)
    assert job_identity({"steps": 2}, [model]) != first
    changed = job_identity({"steps": 2}, [model])
    monkeypatch.setattr("diffrob.resume.code_digest", lambda: "other code")
    assert job_identity({"steps": 2}, [model]) != changed  # batches saved by other code are not reused


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


def _files(tmp_path, unet, scheduler, classifier, images) -> dict:
    """A diffusion model folder, a classifier file and two fixed-randomness shards (seeds 0 and 1) on disk."""
    from diffrob.attack.shards import AttackShard, save_shard
    from diffrob.models.classifier import save_classifier
    from diffrob.models.diffusion import save_diffusion

    save_diffusion(unet, scheduler, tmp_path / "ddpm")
    save_classifier(classifier, tmp_path / "classifier.safetensors")
    shards = []
    for seed in (0, 1):
        noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed))
        adversarial = (images + 0.1 * noise).clamp(0, 1)
        correct = torch.arange(7) % (seed + 2) == 0
        shards.append(tmp_path / f"pgd-fixed-seed{seed}.safetensors")
        save_shard(AttackShard(adversarial, LABELS, INDICES, correct, {"seed": seed}), shards[-1])
    return {"ddpm": tmp_path / "ddpm", "classifier": tmp_path / "classifier.safetensors", "shards": shards}


def _measurement(name: str, files: dict, eval_set):
    """A measurement as a function of its store (None: not resumable), and the number of items it saves."""
    from diffrob.attack import evaluate
    from diffrob.measure import compression, distances, randomness
    from diffrob.measure.common import load_purifier
    from diffrob.measure.features import fid_features

    shards = files["shards"]
    purifier = load_purifier(files["ddpm"], CHAIN, eval_set.indices.tolist())
    if name == "randomness":
        return lambda store: randomness.randomness(purifier, eval_set, 3, 2, 2, 0.1, store), 3
    if name == "jacobian":
        return lambda store: compression.jacobian_spectrum(purifier, eval_set, 3, 0, 2, store), 3
    if name == "trajectories":
        inputs = {"pgd": shards[0]}
        return lambda store: distances.trajectories(purifier, eval_set, inputs, [0.1, 0.2], 0, store), 3
    if name == "table1":
        features = fid_features("classifier", torch.device("cpu"), files["classifier"])
        return lambda store: distances.table1(purifier, eval_set, shards, features, store), 2
    if name == "compression":
        return lambda store: compression.compression(purifier, eval_set, [0, 1], shards, 0.1, store), 4
    ddpm = files["ddpm"]
    if name == "measure_shard":
        classifier = files["classifier"]
        defence = evaluate.Defence(ddpm, classifier, CHAIN)
        return lambda store: evaluate.measure_shard(shards[0], eval_set, defence, 1, store), 2
    classifier = files["classifier"]
    defence = evaluate.Defence(ddpm, classifier, CHAIN)
    return lambda store: evaluate.purified_clean_metrics(defence, eval_set, 0, store), 2


RESUMABLE = ["randomness", "jacobian", "trajectories", "table1", "compression", "measure_shard", "purify_clean"]


@pytest.mark.parametrize("name", RESUMABLE)
def test_a_resumed_measurement_equals_an_uninterrupted_one(tmp_path, unet, scheduler, classifier, images, name):
    from diffrob.data import ImageSet

    files = _files(tmp_path, unet, scheduler, classifier, images)
    measure, items = _measurement(name, files, ImageSet(images, LABELS, INDICES))
    whole = measure(None)
    first = _store(tmp_path)
    assert measure(first) == whole and first.saved == list(range(items))
    first.path(1).unlink()  # killed while item 1 ran: the others were finished
    resumed_store = _store(tmp_path)
    assert measure(resumed_store) == whole
    assert resumed_store.reused == [k for k in range(items) if k != 1] and resumed_store.saved == [1]


def test_a_resumed_measurement_uses_what_was_saved(tmp_path, unet, scheduler, classifier, images):
    """The check above can fail: a saved item that differs from what would be computed shows in the result."""
    from diffrob.data import ImageSet

    files = _files(tmp_path, unet, scheduler, classifier, images)
    measure, _ = _measurement("compression", files, ImageSet(images, LABELS, INDICES))
    first = _store(tmp_path)
    whole = measure(first)
    saved = first.load(0, INDICES)
    first.save(0, INDICES, {"rates": saved["rates"] + 1.0})
    assert measure(_store(tmp_path)) != whole
