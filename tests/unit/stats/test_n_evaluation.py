"""N-evaluation: average, worst-of-N and majority vote on known predictions; its draws are a stream of their own,
replayable and never the attack's or a fixed configuration's xi."""

import numpy as np
import pytest
import torch

from diffrob.measure.n_evaluation import n_evaluation_predictions
from diffrob.purify.noise import FRESH_BASE, STREAM_BASE, NoiseKeys, evaluation_seed, fresh_seed, step_noise, step_seed
from diffrob.resume import BatchStore
from diffrob.stats.votes import accuracy_curves, majority_votes

LABELS = np.array([0, 1, 2, 3])
PREDICTIONS = np.array(
    [  # draws x images
        [0, 1, 2, 0],
        [0, 2, 2, 0],
        [0, 1, 1, 0],
        [0, 1, 1, 3],
    ]
)


def test_average_worst_and_majority_for_every_number_of_draws():
    curves = accuracy_curves(PREDICTIONS, LABELS)
    assert curves["draws"].tolist() == [1, 2, 3, 4]
    # correct per draw: 3, 2, 2, 3 of 4 images
    assert curves["average"] == pytest.approx([75.0, 62.5, 100 * 7 / 12, 62.5])
    # image 0 always right; image 1 first wrong at the 2nd draw, image 2 at the 3rd, image 3 at the 1st
    assert curves["worst"] == pytest.approx([75.0, 50.0, 25.0, 25.0])
    # votes after N draws: image 1 (1; 1,2 tie -> 1; 1,2,1 -> 1), image 2 (2; 2; 2,2,1 -> 2; 2,2,1,1 tie -> 1),
    # image 3 (0, ..., 0,0,0,3 -> 0)
    assert curves["majority"] == pytest.approx([75.0, 75.0, 75.0, 50.0])


def test_worst_of_n_never_rises_and_never_exceeds_the_average():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 64)
    predictions = np.where(rng.random((20, 64)) < 0.7, labels, rng.integers(0, 10, (20, 64)))
    curves = accuracy_curves(predictions, labels)
    assert np.all(np.diff(curves["worst"]) <= 0)
    assert np.all(curves["worst"] <= curves["average"] + 1e-9)
    assert curves["worst"][0] == curves["average"][0] == curves["majority"][0]


def test_a_tie_goes_to_the_lowest_class():
    votes = majority_votes(np.array([[3, 5], [1, 5], [3, 2], [1, 2]]), classes=6)
    assert votes[:, 0].tolist() == [3, 1, 3, 1]  # 3 | 1,3 tie -> 1 | 3 twice | 1,3 tie again -> 1
    assert votes[:, 1].tolist() == [5, 5, 5, 2]  # 5,5,2,2: a tie -> 2


@pytest.mark.parametrize(
    ("predictions", "labels", "message"),
    [(np.zeros((0, 4)), LABELS, "at least one draw"), (PREDICTIONS, LABELS[:3], "4 images predicted but 3 labels")],
)
def test_malformed_predictions_are_refused(predictions, labels, message):
    with pytest.raises(ValueError, match=message):
        accuracy_curves(predictions, labels)


def test_evaluation_draws_are_their_own_stream_and_replay():
    seeds = {step_seed(evaluation_seed(n), i, t, "reverse") for n in range(4) for i in range(4) for t in range(10)}
    assert len(seeds) == 4 * 4 * 10 and min(seeds) >= STREAM_BASE  # all distinct, all above the paper's hash
    paper = [step_seed(s, i, t, "reverse") for s in (0, 1, fresh_seed(0, 5)) for i in range(4) for t in (0, 9)]
    assert max(paper) < STREAM_BASE
    assert fresh_seed(0, 0) >= FRESH_BASE  # the attack's fresh draws are paper-hash seeds: below 2^32
    again = step_noise(evaluation_seed(2), [7, 9], 5, "forward", (1, 2, 2))
    assert torch.equal(again, step_noise(evaluation_seed(2), [7, 9], 5, "forward", (1, 2, 2)))
    assert not torch.equal(again, step_noise(evaluation_seed(3), [7, 9], 5, "forward", (1, 2, 2)))
    assert not torch.equal(again, step_noise(2, [7, 9], 5, "forward", (1, 2, 2)))
    with pytest.raises(ValueError, match="numbered from 0"):
        evaluation_seed(-1)


def test_batch_keying_draws_the_evaluation_stream_too():
    keys = NoiseKeys((10, 11, 12), keying="batch", batch_size=2)
    noise = keys.chain_noise(evaluation_seed(0), [0, 1, 2], (1, 2, 2), ((0, 1), (1, 0)))
    assert noise.forward(0).shape == (3, 1, 2, 2) and torch.isfinite(noise.reverse(1)).all()


class _NoisyPurifier:
    """Adds the draw's own keyed noise to the images: a stand-in purifier whose output depends on the draw."""

    def __init__(self):
        self.seeds = []

    def __call__(self, images, positions, seed):
        self.seeds.append(seed)
        return images + 0.5 * step_noise(seed, list(positions), 0, "forward", images.shape[1:])


class _SignClassifier(torch.nn.Module):
    def forward(self, x):
        score = x.flatten(1).mean(1, keepdim=True)
        return torch.cat([-score, score], dim=1)


def test_predictions_are_made_under_each_draw_and_resume_from_saved_draws(tmp_path):
    images = torch.cat([torch.full((3, 1, 2, 2), -0.2), torch.full((3, 1, 2, 2), 0.2)])
    purifier, classifier = _NoisyPurifier(), _SignClassifier()
    first = n_evaluation_predictions(purifier, classifier, images, 5, 4, BatchStore(tmp_path / "p", "id"))
    assert first.shape == (5, 6) and purifier.seeds == [evaluation_seed(n) for n in range(5)]
    assert len({tuple(row.tolist()) for row in first}) > 1  # the draws differ
    again = _NoisyPurifier()
    replayed = n_evaluation_predictions(again, classifier, images, 5, 4, BatchStore(tmp_path / "p", "id"))
    assert torch.equal(replayed, first) and again.seeds == []  # every draw loaded back, none purified again
