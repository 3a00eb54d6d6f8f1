"""The orchestration layer on purifiers whose answers are known: x -> a x + sigma n_xi.

Under fixed xi the noise cancels between x and x0, so the compression rate is exactly a; the internal
variance is sigma^2 and vanishes for sigma = 0; the identity (a = 1, sigma = 0) changes no distance."""

import math

import pytest
import torch

from diffrob.attack.shards import AttackShard, save_shard
from diffrob.data import ImageSet
from diffrob.measure.compression import compression
from diffrob.measure.distances import table1, trajectories
from diffrob.measure.features import fid_features
from diffrob.measure.randomness import randomness
from diffrob.purify.noise import gaussian, paper_hash
from diffrob.purify.pipeline import Chunks
from diffrob.purify.samplers import Chain

LABELS = torch.arange(6) % 10
INDICES = torch.arange(200, 206)


class AffinePurifier:
    """f_xi(x) = a x + sigma n, with n drawn per (base seed, sample position): the calls of DiffusionPurifier."""

    def __init__(self, a: float, sigma: float):
        self.a, self.sigma = a, sigma
        self.chain = Chain("ddpm", 4, (0, 1, 2, 3), (3, 1))
        self.chunks = Chunks(chain=4, jacobian_rows=4, trajectory=4)
        self.device = torch.device("cpu")

    def _noise(self, shape: tuple[int, ...], positions, seed: int) -> torch.Tensor:
        return torch.stack([gaussian(shape, paper_hash(seed, int(p), 0)) for p in positions])

    def __call__(self, images: torch.Tensor, positions, seed: int) -> torch.Tensor:
        return self.a * images + self.sigma * self._noise(tuple(images.shape[1:]), positions, seed)

    def trajectory(self, images: torch.Tensor, positions, seed: int):
        """The input, five intermediate states (as many as the chain's steps) and the output."""
        out = self(images, positions, seed)
        yield [images + (out - images) * k / 6 for k in range(7)]


def _images(n: int = 6) -> torch.Tensor:
    return 0.2 + 0.6 * torch.rand((n, 1, 8, 8), generator=torch.Generator().manual_seed(9))


def _shard(tmp_path, images: torch.Tensor, seed: int, correct: list[bool]) -> str:
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed)) - 0.5
    path = tmp_path / f"pgd-fixed-seed{seed}.safetensors"
    shard = AttackShard((images + 0.1 * noise).clamp(0, 1), LABELS, INDICES, torch.tensor(correct), {"seed": seed})
    save_shard(shard, path)
    return str(path)


def _value(result: dict, artifact: str, row: str, column: str) -> dict:
    """The results.csv row of ``result``'s records named (artifact, row, column), through the one naming place."""
    from diffrob.paper.results import paper_rows

    rows = [r for record in result["records"] for r in paper_rows(record, "digits", main_t=4)]
    (hit,) = [r for r in rows if (r["artifact"], r["row"], r["column"]) == (artifact, row, column)]
    return hit


@pytest.mark.parametrize(("a", "sigma"), [(0.25, 0.3), (1.0, 0.0), (2.0, 0.1)])
def test_compression_under_fixed_xi_is_exactly_the_affine_factor(tmp_path, a, sigma):
    images = _images()
    shards = [_shard(tmp_path, images, s, [True, False] * 3) for s in (0, 1)]
    result = compression(AffinePurifier(a, sigma), ImageSet(images, LABELS, INDICES), [0, 1], shards, 0.1)
    for column in ("uniform", "pgd_robust", "pgd_nonrobust"):
        hit = _value(result, "compression", "DDPM t=4", column)
        assert hit["value"] == pytest.approx(a, rel=1e-5) and hit["sd"] == pytest.approx(0.0, abs=1e-5)
    assert _value(result, "compression", "DDPM t=4", "pgd_robust")["n"] == 6  # 3 robust images x 2 shards


def test_randomness_sees_no_internal_variance_without_noise_and_only_noise_without_signal():
    eval_set = ImageSet(_images(), LABELS, INDICES)
    clean = randomness(AffinePurifier(0.5, 0.0), eval_set, 2, 4, 3, 0.1)
    assert _value(clean, "tableS5", "variance", "internal_var_e-3")["value"] == 0.0
    assert _value(clean, "tableS6", "centroid_l2", "fixed_input")["value"] == 0.0
    compressed = _value(clean, "tableS6", "centroid_l2", "fixed_noise")["value"]
    assert compressed == pytest.approx(0.5 * _value(clean, "tableS6", "centroid_l2", "inputs_about_mean")["value"])
    only_noise = randomness(AffinePurifier(0.0, 0.3), eval_set, 2, 4, 3, 0.1)
    assert _value(only_noise, "tableS5", "variance", "input_var_e-3")["value"] == 0.0
    assert _value(only_noise, "tableS5", "variance", "snr_e-3")["value"] == 0.0
    assert _value(only_noise, "tableS6", "centroid_l2", "fixed_noise")["value"] == 0.0


def test_the_identity_purifier_changes_no_distance(tmp_path):
    images = _images()
    eval_set = ImageSet(images, LABELS, INDICES)
    shards = [_shard(tmp_path, images, s, [True] * 6) for s in (0, 1)]
    identity = AffinePurifier(1.0, 0.0)
    features = fid_features("classifier", torch.device("cpu"), _classifier_file(tmp_path))
    distances = table1(identity, eval_set, shards, features)
    for metric in ("l2", "linf", "ssim", "fid"):
        before = _value(distances, "table1", "DDPM", f"{metric}_before")
        after = _value(distances, "table1", "DDPM", f"{metric}_after")
        assert after["value"] == pytest.approx(before["value"], abs=1e-6) and after["n"] == 2
    along = trajectories(identity, eval_set, {"pgd": shards[0]}, [0.1], 0)
    for norm, artifact in (("l2", "tableS3"), ("linf", "tableS4")):
        for name in ("PGD (Full)", "Uniform 0.1"):
            init = _value(along, artifact, f"DDPM {name}", f"{norm}_init")["value"]
            assert _value(along, artifact, f"DDPM {name}", f"{norm}_end")["value"] == pytest.approx(init, rel=1e-6)
    assert len(along["x"]) == len(along["series"]["uniform 0.1"]["l2"]["mean"]) == 7


def test_an_expanding_purifier_pushes_inputs_away():
    eval_set = ImageSet(_images(), LABELS, INDICES)
    along = trajectories(AffinePurifier(1.0, 0.3), eval_set, {}, [0.05], 0)
    init = _value(along, "tableS3", "DDPM Uniform 0.05", "l2_init")["value"]
    end = _value(along, "tableS3", "DDPM Uniform 0.05", "l2_end")["value"]
    assert init == pytest.approx(0.05 * math.sqrt(64 / 3), rel=0.15)  # eps sqrt(D/3)
    assert end == pytest.approx(math.hypot(init, 0.3 * 8), rel=0.15)  # the noise's sigma sqrt(D) added in quadrature


def _classifier_file(tmp_path):
    from diffrob.models.classifier import SmallCNN, save_classifier
    from diffrob.purify.noise import seeded

    with seeded(1):
        model = SmallCNN(1, 8, 10, width=8)
    path = tmp_path / "classifier.safetensors"
    save_classifier(model.eval(), path)
    return path


def test_transfer_to_the_shards_own_xi_is_its_own_accuracy(unet, scheduler, classifier, images):
    """Table 4 = Table 2 fixed when xi_s' = xi_s."""
    from diffrob.attack.accuracy import correct_under
    from diffrob.attack.purified import XiStream, purified_classifier
    from diffrob.attack.shards import shard_accuracies
    from diffrob.purify.pipeline import PurifierSpec

    spec = PurifierSpec.from_mapping({"sampler": "ddpm", "t_star": 50, "reverse_steps": 2, "chunks": {"chain": 8}})
    labels, indices = torch.arange(7) % 3, torch.arange(7)

    def model(randomness, seed=0):
        return purified_classifier(unet, scheduler, classifier, spec, indices.tolist(), XiStream(seed, randomness))

    shard = AttackShard(images, labels, indices, correct_under(model("fixed"), images, labels), {"seed": 0})
    same_xi = shard_accuracies(shard, model("fixed"), model("free"))
    assert same_xi["acc_transfer"] == same_xi["acc_own"] and same_xi["n"] == 7
