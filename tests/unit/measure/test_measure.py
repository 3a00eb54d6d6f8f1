"""Each measurement against a case with a known answer."""

import numpy as np
import pytest
import torch

from diffrob.measure.compression import central_patch, compression_rate, jacobian, singular_values
from diffrob.measure.distances import (
    frechet_distance,
    l2_distance,
    linf_distance,
    process_time,
    ssim,
    trajectory_distances,
)
from diffrob.measure.gradients import perturbation_correlation
from diffrob.measure.randomness import (
    centroid_distances,
    direction_correlations,
    mean_pairwise_correlation,
    variance_decomposition,
)
from diffrob.purify.noise import gaussian, uniform


def _affine_purifier(a):
    """x -> a x + n_xi: compression a, Jacobian a I, internal variance = Var(n_xi)."""

    def purify(x, xi_seed):
        return a * x + 0.3 * gaussian(x.shape[1:], xi_seed)

    return purify


def _outputs(purify, x0, n_xi=6, n_x=5, eps=0.1):
    inputs = torch.stack([x0 + uniform(x0.shape, -eps, eps, seed=100 + j) for j in range(n_x)])
    out = torch.stack([purify(inputs, k) for k in range(n_xi)])  # (n_xi, n_x, C, H, W)
    return out.reshape(n_xi, n_x, -1), inputs.reshape(n_x, -1)


def test_distances_of_known_vectors():
    a = torch.zeros((1, 1, 2, 2))
    b = torch.tensor([[[[3.0, 4.0], [0.0, 0.0]]]])
    assert l2_distance(a, b).item() == pytest.approx(5.0)
    assert linf_distance(a, b).item() == pytest.approx(4.0)
    d = trajectory_distances([b, a], a)
    assert d["l2"].shape == (2, 1) and d["l2"][1].item() == 0.0


def test_process_time_places_max_at_t_star_and_end_at_2_t_star():
    xs = process_time(100, 100, (99, 89, 79, 69, 59, 49, 39, 29, 19, 9))
    assert xs[0] == 0 and xs[100] == 100 and xs[-1] == 200 and len(xs) == 111
    assert xs[101] == 110  # the first reverse step lands on index 89
    assert process_time(0, 50, (49, 24))[0] == 50


def test_identity_purifier_compresses_by_one_and_has_no_internal_variance():
    x0 = torch.rand((1, 4, 4), generator=torch.Generator().manual_seed(0))
    out, inputs = _outputs(lambda x, seed: x, x0)
    parts = variance_decomposition(out)
    assert parts["internal"] == pytest.approx(0.0, abs=1e-15)
    assert parts["snr"] == float("inf")
    x = x0 + 0.1
    assert compression_rate(x.unsqueeze(0), x0.unsqueeze(0), x.unsqueeze(0), x0.unsqueeze(0)).item() == pytest.approx(
        1.0
    )
    radii = centroid_distances(out, inputs, x0.reshape(-1))
    torch.testing.assert_close(radii["fixed_noise"], radii["inputs_about_mean"].repeat(6))  # nothing compressed
    torch.testing.assert_close(radii["initial"], (inputs - x0.reshape(-1)).norm(dim=1).double())


def test_affine_purifier_compresses_by_a_and_has_jacobian_singular_values_a():
    a = 0.25
    purify = _affine_purifier(a)
    x0 = torch.rand((1, 4, 4), generator=torch.Generator().manual_seed(0))
    x = x0 + uniform(x0.shape, -0.1, 0.1, seed=5)
    rate = compression_rate(purify(x.unsqueeze(0), 7), purify(x0.unsqueeze(0), 7), x.unsqueeze(0), x0.unsqueeze(0))
    assert rate.item() == pytest.approx(a)
    sv = singular_values(jacobian(lambda batch: purify(batch, 7), x0, rows_per_pass=16))
    torch.testing.assert_close(sv, torch.full((16,), a, dtype=torch.float64))


def test_jacobian_in_row_chunks_and_on_a_patch_is_the_matching_block_of_the_whole():
    weights = torch.randn((48, 48), generator=torch.Generator().manual_seed(3))

    def f(batch: torch.Tensor) -> torch.Tensor:  # a nonlinear map, the same for every copy
        return torch.tanh(batch.reshape(batch.shape[0], -1) @ weights.T).reshape(batch.shape)

    x0 = torch.rand((3, 4, 4), generator=torch.Generator().manual_seed(1))
    whole = jacobian(f, x0, rows_per_pass=48)
    torch.testing.assert_close(jacobian(f, x0, rows_per_pass=5), whole)
    entries = central_patch((3, 4, 4), 2)
    assert entries == [5, 6, 9, 10, 21, 22, 25, 26, 37, 38, 41, 42]
    torch.testing.assert_close(jacobian(f, x0, 5, entries), whole[entries][:, entries])
    for bad in (0, 5):
        with pytest.raises(ValueError, match="patch side must be in"):
            central_patch((3, 4, 4), bad)


def test_variance_decomposition_sums_to_the_total():
    out, _ = _outputs(_affine_purifier(0.5), torch.rand((1, 4, 4)))
    parts = variance_decomposition(out)
    assert parts["input"] + parts["internal"] == pytest.approx(parts["total"], rel=1e-12)
    assert 0 < parts["snr"] < 1  # noise 0.3 dominates inputs of +-0.1 shrunk by 0.5


def test_centroid_radii_show_compression_under_fixed_noise_and_expansion_when_noise_varies():
    x0 = torch.rand((1, 4, 4))
    out, inputs = _outputs(_affine_purifier(0.25), x0)
    radii = {k: v.mean().item() for k, v in centroid_distances(out, inputs, x0.reshape(-1)).items()}
    assert radii["fixed_noise"] == pytest.approx(0.25 * radii["inputs_about_mean"], rel=1e-6)
    assert radii["fixed_input"] > radii["initial"]
    assert radii["vary_both"] >= radii["fixed_input"] * 0.9


def test_direction_correlations_are_high_under_fixed_noise_for_a_noise_dominated_purifier():
    out, inputs = _outputs(_affine_purifier(0.25), torch.rand((1, 8, 8)), n_xi=8, n_x=8)
    corr = direction_correlations(out, inputs)
    assert corr["fixed_noise"] > 0.8 > corr["fixed_image"]


def test_pairwise_and_perturbation_correlations():
    v = torch.randn((1, 50), generator=torch.Generator().manual_seed(1))
    assert mean_pairwise_correlation(torch.cat([v, 2 * v + 1])) == pytest.approx(1.0)
    assert perturbation_correlation(v, -3 * v).item() == pytest.approx(-1.0)


def test_the_input_radius_is_about_the_clean_image_as_the_papers_eps_sqrt_d_over_3():
    x0 = torch.full((3, 32, 32), 0.5)
    eps, n = 8 / 255, 16
    inputs = torch.stack([(x0 + uniform(x0.shape, -eps, eps, seed=j)).reshape(-1) for j in range(n)])
    radius = centroid_distances(inputs.unsqueeze(0), inputs, x0.reshape(-1))["initial"].mean().item()
    assert radius == pytest.approx(eps * (3072 / 3) ** 0.5, rel=0.01)  # the paper's 1.004
    biased = (inputs - inputs.mean(0)).norm(dim=1).mean().item()  # about the inputs' own mean: sqrt(1 - 1/16) low
    assert biased == pytest.approx(1.004 * (1 - 1 / n) ** 0.5, rel=0.01) and biased != pytest.approx(radius, rel=0.02)


def test_ssim_uses_wang_et_als_gaussian_window():
    from skimage.metrics import structural_similarity

    gen = torch.Generator().manual_seed(4)
    x = torch.rand((2, 3, 32, 32), generator=gen)
    y = (x + 0.2 * torch.rand(x.shape, generator=gen)).clamp(0, 1)
    ours = ssim(x, y)
    wang = [
        structural_similarity(
            a.numpy().astype("float64"), b.numpy().astype("float64"), data_range=1.0, channel_axis=0,
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        )
        for a, b in zip(x, y, strict=True)
    ]  # fmt: skip
    pairs = [(a.numpy().astype("float64"), b.numpy().astype("float64")) for a, b in zip(x, y, strict=True)]
    uniform_7 = [structural_similarity(a, b, data_range=1.0, channel_axis=0) for a, b in pairs]
    torch.testing.assert_close(ours, torch.tensor(wang, dtype=torch.float64))
    assert not torch.allclose(ours, torch.tensor(uniform_7, dtype=torch.float64), atol=1e-4, rtol=0)


def test_ssim_of_an_image_with_itself_is_one_and_drops_with_noise():
    x = torch.rand((3, 1, 8, 8), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ssim(x, x), torch.ones(3, dtype=torch.float64))
    assert (ssim(x, (x + 0.3 * torch.rand(x.shape)).clamp(0, 1)) < 0.95).all()


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    features = torch.randn((200, 6), generator=torch.Generator().manual_seed(3))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 1.0) == pytest.approx(6.0, rel=1e-6)


def test_frechet_distance_equals_pytorch_fid_and_stays_real_with_fewer_images_than_dimensions():
    from pytorch_fid.fid_score import calculate_frechet_distance

    generator = torch.Generator().manual_seed(4)
    a, b = torch.randn((300, 16), generator=generator), 2.0 * torch.randn((300, 16), generator=generator) + 0.5
    fa, fb = a.double().numpy(), b.double().numpy()
    reference = calculate_frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-9)
    few_a, few_b = 1e3 * torch.randn((4, 768), generator=generator), 1e3 * torch.randn((4, 768), generator=generator)
    fa, fb = few_a.double().numpy(), few_b.double().numpy()
    with pytest.raises(ValueError, match="Imaginary component"):  # what the eigenvalue form avoids
        calculate_frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False))
    distance = frechet_distance(few_a, few_b)
    assert np.isfinite(distance) and distance > 0
