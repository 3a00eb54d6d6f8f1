"""ADDT fine-tuning: known answers for lambda_t, RBGM and the mixed noise; CGPO ascends the classifier's loss and
never touches the UNet's gradients; fine-tunes are deterministic and differ by mode."""

import math

import pytest
import torch

from diffrob.addt.distributed import Ranks, launch
from diffrob.addt.finetune import (
    Batch,
    FinetuneSettings,
    cgpo,
    finetune,
    guided_loss,
    mixed_noise,
    mixing_weight,
    rank_gaussian,
)
from diffrob.addt.training_state import StepCheckpoints
from diffrob.data import ImageSet
from diffrob.purify.noise import generator


def _abar(scheduler, t):
    return scheduler.alphas_cumprod[torch.tensor(t)].float()


@pytest.mark.parametrize(("t", "expected"), [(0, 0.3), (20, 0.3), (50, 0.17), (100, 0.088), (200, 0.042)])
def test_lambda_matches_its_formula_on_the_linear_schedule(scheduler, t, expected):
    abar = float(_abar(scheduler, t))
    formula = min(max(0.03 * math.sqrt(abar) / math.sqrt(1 - abar), 0.0), 0.3)
    assert float(mixing_weight(_abar(scheduler, [t]))[0]) == pytest.approx(formula, rel=1e-5)
    assert formula == pytest.approx(expected, abs=0.006)  # ADDT's quoted values


def test_rbgm_keeps_the_ranks_and_gives_exactly_the_sorted_gaussian_values():
    scores = torch.randn((3, 2, 4, 4), generator=torch.Generator().manual_seed(1))
    mapped = rank_gaussian(scores, generator(7))
    drawn = torch.randn((3, 2, 16), generator=generator(7)).sort(dim=-1).values
    flat_scores, flat_mapped = scores.reshape(3, 2, 16), mapped.reshape(3, 2, 16)
    assert torch.equal(flat_mapped.argsort(dim=-1), flat_scores.argsort(dim=-1))
    assert torch.equal(flat_mapped.sort(dim=-1).values, drawn)
    shuffled = flat_mapped[..., torch.randperm(16, generator=torch.Generator().manual_seed(2))]
    assert not torch.equal(shuffled.argsort(dim=-1), flat_scores.argsort(dim=-1))  # the rank check can fail


def test_the_mixed_noise_keeps_unit_variance():
    gen = generator(3)
    eps = torch.randn((4000, 1, 8, 8), generator=gen)
    delta = rank_gaussian(torch.randn((4000, 1, 8, 8), generator=gen), gen)
    for weight in (0.0, 0.1, 0.3):
        mixed = mixed_noise(eps, delta, torch.full((4000,), weight))
        assert float(mixed.var()) == pytest.approx(1.0, abs=0.01)
    naive = eps + 0.3 * delta  # without the sqrt(1 - lambda^2) factor the variance grows
    assert float(naive.var()) > 1.05


def _batch(scheduler, images, t=10):
    x0 = images * 2 - 1
    abar = _abar(scheduler, [t] * len(images))
    return Batch(x0, torch.arange(len(images)) % 10, torch.full((len(images),), t), abar, mixing_weight(abar))


def _loss_at(unet, classifier, batch, delta, draws=8):
    with torch.no_grad():
        return sum(float(guided_loss(unet, classifier, batch, delta, generator(100 + k), True)) for k in range(draws))


def test_cgpo_ascends_the_classifiers_loss_and_leaves_the_unets_gradients_alone(unet, scheduler, classifier, images):
    batch = _batch(scheduler, images)
    delta = cgpo(unet, classifier, batch, generator(0), steps=5)
    assert all(p.grad is None for p in [*unet.parameters(), *classifier.parameters()])
    random = torch.randn(delta.shape, generator=generator(0))
    assert _loss_at(unet, classifier, batch, delta) > _loss_at(unet, classifier, batch, random)
    assert _loss_at(unet, classifier, batch, -delta) < _loss_at(unet, classifier, batch, random)  # direction matters


def test_a_plain_backward_through_the_guided_loss_would_leak_into_the_unet(unet, scheduler, classifier, images):
    """The check of the test above can fail: the loss CGPO ascends does reach the UNet's parameters."""
    batch = _batch(scheduler, images)
    delta = torch.randn(batch.x0.shape, generator=generator(0))
    model = type(unet).from_config(unet.config)
    model.load_state_dict(unet.state_dict())
    guided_loss(model, classifier, batch, delta, generator(1), True).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    classifier.zero_grad(set_to_none=True)


def _finetuned(unet, scheduler, classifier, images, mode, seed=0):
    model = type(unet).from_config(unet.config)
    model.load_state_dict(unet.state_dict())
    train = ImageSet(images, torch.arange(len(images)) % 10, torch.arange(len(images)))
    settings = FinetuneSettings(mode=mode, steps=2, batch_size=4, cgpo_steps=2, seed=seed)
    out = finetune(model, scheduler, classifier, train, settings, progress=False)
    classifier.zero_grad(set_to_none=True)
    return torch.cat([p.detach().flatten() for p in out.parameters()])


def test_fine_tunes_are_deterministic_and_differ_by_mode(unet, scheduler, classifier, images):
    before = torch.cat([p.detach().flatten() for p in unet.parameters()])
    addt = _finetuned(unet, scheduler, classifier, images, "addt")
    assert torch.equal(addt, _finetuned(unet, scheduler, classifier, images, "addt"))
    assert not torch.equal(addt, before)
    modes = ("clean", "addt_no_rbgm", "addt_no_guidance")
    others = {mode: _finetuned(unet, scheduler, classifier, images, mode) for mode in modes}
    assert all(not torch.equal(addt, weights) for weights in others.values())
    assert not torch.equal(addt, _finetuned(unet, scheduler, classifier, images, "addt", seed=1))


def test_unknown_modes_and_mixing_bounds_are_rejected():
    with pytest.raises(ValueError, match="unknown fine-tune mode"):
        FinetuneSettings(mode="adversarial", steps=1, batch_size=1)
    with pytest.raises(ValueError, match="lambda_min"):
        FinetuneSettings(mode="addt", steps=1, batch_size=1, lambda_max=1.0)


def _copy(unet):
    model = type(unet).from_config(unet.config)
    model.load_state_dict(unet.state_dict())
    return model


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


class _Killed(Exception):
    pass


def test_a_killed_fine_tune_resumes_from_its_saved_step_and_ends_bit_identical(
    unet, scheduler, classifier, images, tmp_path
):
    train = ImageSet(images, torch.arange(len(images)) % 10, torch.arange(len(images)))
    settings = FinetuneSettings(mode="addt", steps=5, batch_size=4, cgpo_steps=2)
    uninterrupted = _flat(finetune(_copy(unet), scheduler, classifier, train, settings, progress=False))
    checkpoints = StepCheckpoints(str(tmp_path), identity="job", every=2)  # as the workflow passes it

    def kill_at_step_3(step, loss):
        if step == 3:  # the state after steps 0-1 and 2-3 is saved every 2 steps: the kill lands after step 3 ran
            raise _Killed

    with pytest.raises(_Killed):
        finetune(_copy(unet), scheduler, classifier, train, settings, False, kill_at_step_3, checkpoints=checkpoints)
    assert torch.load(tmp_path / "state.pt", weights_only=True)["step"] == 2
    ran = []
    resumed = finetune(
        _copy(unet), scheduler, classifier, train, settings, False, lambda s, _: ran.append(s), checkpoints=checkpoints
    )
    assert ran == [2, 3, 4]  # steps 0 and 1 were not computed again
    assert torch.equal(_flat(resumed), uninterrupted)
    assert not torch.equal(_flat(resumed), _flat(unet))


def test_a_state_of_another_job_or_a_damaged_one_is_never_resumed(unet, scheduler, classifier, images, tmp_path):
    train = ImageSet(images, torch.arange(len(images)) % 10, torch.arange(len(images)))
    settings = FinetuneSettings(mode="clean", steps=3, batch_size=4)
    finetune(_copy(unet), scheduler, classifier, train, settings, False, checkpoints=StepCheckpoints(tmp_path, "a", 1))
    assert StepCheckpoints(tmp_path, "a", 1).load()["step"] == 2
    ran = []
    other = StepCheckpoints(tmp_path, "b", 1)
    assert other.load() is None
    finetune(_copy(unet), scheduler, classifier, train, settings, False, lambda s, _: ran.append(s), checkpoints=other)
    assert ran == [0, 1, 2]
    state = torch.load(tmp_path / "state.pt", weights_only=True)
    torch.save({**state, "processes": state["processes"] * 2}, tmp_path / "state.pt")  # saved by two processes
    with pytest.raises(ValueError, match="a training state of 2 processes cannot resume in 1"):
        finetune(_copy(unet), scheduler, classifier, train, settings, False, checkpoints=other)
    (tmp_path / "state.pt").write_bytes((tmp_path / "state.pt").read_bytes()[:100])  # truncated
    assert StepCheckpoints(tmp_path, "b", 1).load() is None


def _data_parallel_job(ranks, unet, scheduler, classifier, train, settings, out, checkpoints=None, kill_at=None):
    def on_step(step, loss):
        if step == kill_at:
            raise _Killed

    tuned = finetune(
        _copy(unet), scheduler, classifier, train, settings, False, on_step, ranks=ranks, checkpoints=checkpoints
    )
    torch.save(_flat(tuned), out / f"rank{ranks.rank}.pt")


def test_two_data_parallel_processes_end_with_the_same_weights(unet, scheduler, classifier, images, tmp_path):
    train = ImageSet(images, torch.arange(len(images)) % 10, torch.arange(len(images)))
    settings = FinetuneSettings(mode="addt", steps=2, batch_size=4, cgpo_steps=1)
    launch(2, _data_parallel_job, _copy(unet), scheduler, classifier, train, settings, tmp_path)
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert torch.equal(first, second)  # DDP averaged the two shares' gradients into one update
    assert not torch.equal(first, _flat(unet))
    with pytest.raises(ValueError, match="does not divide among 3"):
        Ranks(0, 3).share(4)


def test_a_killed_data_parallel_fine_tune_resumes_every_process_where_it_stopped(
    unet, scheduler, classifier, images, tmp_path
):
    train = ImageSet(images, torch.arange(len(images)) % 10, torch.arange(len(images)))
    settings = FinetuneSettings(mode="addt", steps=3, batch_size=4, cgpo_steps=1)
    args = (_copy(unet), scheduler, classifier, train, settings)
    launch(2, _data_parallel_job, *args, tmp_path)
    uninterrupted = torch.load(tmp_path / "rank1.pt", weights_only=True)
    checkpoints = StepCheckpoints(tmp_path / "state", "job", every=1)
    with pytest.raises(Exception, match="_Killed"):  # raised in both processes after step 2's state was saved
        launch(2, _data_parallel_job, *args, tmp_path, checkpoints, 2)
    saved = torch.load(tmp_path / "state" / "state.pt", weights_only=True)
    assert saved["step"] == 2 and len(saved["processes"]) == 2  # each process's own noise and dropout states
    launch(2, _data_parallel_job, *args, tmp_path, checkpoints)
    assert torch.equal(torch.load(tmp_path / "rank1.pt", weights_only=True), uninterrupted)
