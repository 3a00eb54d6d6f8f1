"""The paper's measurements as pure functions of tensors.

Distances along the trajectory (Sec. 3.1, Fig. 1c, Tables S3-S4), perceptual and distributional
distances (Table 1), the variance decomposition and SNR (eq. 7, 11; Table S5), centroid radii and
purification-direction correlations (Fig. 2d-f, Table S6), the Jacobian spectrum (Fig. 3a), the
compression rate (eq. 10, Tables 6-7) and perturbation correlations (Table 5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def flat(x: torch.Tensor) -> torch.Tensor:
    """Images (N, ...) as float64 vectors (N, D)."""
    return x.reshape(x.shape[0], -1).double()


def l2_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image Euclidean distance ||a - b||_2 in pixel units."""
    return (flat(a) - flat(b)).norm(dim=1)


def linf_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image max-norm distance ||a - b||_inf."""
    return (flat(a) - flat(b)).abs().amax(dim=1)


def trajectory_distances(states: list[torch.Tensor], clean: torch.Tensor) -> dict[str, torch.Tensor]:
    """l2 and l_inf distance to the clean images of every state of a purification (Fig. 1c, S1).

    Returns tensors of shape (n_states, N).
    """
    return {
        "l2": torch.stack([l2_distance(s, clean) for s in states]),
        "linf": torch.stack([linf_distance(s, clean) for s in states]),
    }


def process_time(n_forward: int, t_star: int, reverse_timesteps: tuple[int, ...]) -> list[int]:
    """x-axis of Fig. 1c for each state: the input at 0, forward step t at t+1, a reverse step to p at 2t*-(p+1).

    The forward phase ends at t* (the "Max" of Tables S3-S4) and the reverse phase at 2t* ("End").
    Reverse-only chains have no forward phase: their input sits at t*.
    """
    forward = list(range(n_forward + 1)) if n_forward else [t_star]
    prevs = [*reverse_timesteps[1:], -1]
    return forward + [2 * t_star - (p + 1) for p in prevs]


SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # scikit-image's Gaussian window at sigma 1.5 (truncated at 3.5 sigma): Wang et al.'s 11x11


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image structural similarity as Wang et al. (2004) define it, with data range 1, via scikit-image:
    a Gaussian window of sigma 1.5 (11x11), population covariances, K1 = 0.01, K2 = 0.03 (scikit-image's
    documented settings for matching Wang et al.). Images smaller than 11 pixels (the 8x8 digits) keep the
    Gaussian weights; only the border left out of the mean shrinks to the largest odd window they hold."""
    from skimage.metrics import structural_similarity

    a_np, b_np = a.detach().cpu().double().numpy(), b.detach().cpu().double().numpy()
    size = min(a_np.shape[-1], a_np.shape[-2])
    crop = None if size >= SSIM_WINDOW else (size if size % 2 == 1 else size - 1)
    settings = {"gaussian_weights": True, "sigma": SSIM_SIGMA, "use_sample_covariance": False, "win_size": crop}
    values = [
        structural_similarity(x, y, data_range=1.0, channel_axis=0, **settings) for x, y in zip(a_np, b_np, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float64)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (FID).

    ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2): pytorch-fid's quantity, with the trace
    of the root taken from the eigenvalues of the symmetric product, so it stays real when the
    covariances are singular (fewer images than feature dimensions), where the square root of the
    non-symmetric product S_a S_b that pytorch-fid takes picks up imaginary parts and raises.
    """
    fa, fb = features_a.detach().cpu().double().numpy(), features_b.detach().cpu().double().numpy()
    cov_a, cov_b = np.atleast_2d(np.cov(fa, rowvar=False)), np.atleast_2d(np.cov(fb, rowvar=False))
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    root_a = (eigenvectors * np.sqrt(eigenvalues.clip(min=0))) @ eigenvectors.T
    trace_root = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    shift = fa.mean(0) - fb.mean(0)
    return float(shift @ shift + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def variance_decomposition(outputs: torch.Tensor) -> dict[str, float]:
    """Law of total variance over inputs x and randomness xi (eq. 11) and the SNR (eq. 7).

    ``outputs`` has shape (n_xi, n_x, D): f(x_j | xi_k) for one clean image. Variances are
    population variances averaged over the D pixels, so ``total = input + internal`` exactly:
    input = E_xi[Var_x f(x|xi)], internal = Var_xi[E_x f(x|xi)], SNR = input / internal.
    """
    f = outputs.double()
    total = f.reshape(-1, f.shape[-1]).var(dim=0, unbiased=False).mean()
    input_var = f.var(dim=1, unbiased=False).mean(dim=0).mean()
    internal = f.mean(dim=1).var(dim=0, unbiased=False).mean()
    snr = float(input_var / internal) if internal > 0 else float("inf")
    return {"total": float(total), "input": float(input_var), "internal": float(internal), "snr": snr}


CENTROIDS = ("initial", "fixed_noise", "fixed_input", "vary_both", "inputs_about_mean")
"""The centroids of :func:`centroid_distances`: Table S6's four, then the inputs' ball measured as the outputs'
are (about their own mean), the like-for-like reference of the compression and expansion radii."""


def centroid_distances(outputs: torch.Tensor, inputs: torch.Tensor, clean: torch.Tensor) -> dict[str, torch.Tensor]:
    """l2 distances to centroids under each source of variability (Fig. 2f, Table S6).

    ``outputs`` (n_xi, n_x, D) are f(x_j | xi_k); ``inputs`` (n_x, D) the perturbed inputs x_j = x0 + eta_j;
    ``clean`` (D,) the clean image x0.

    * ``initial``: ||x_j - x0||, the input ball about its true centre (the paper's 1.004 = eps sqrt(D/3) at
      8/255 on CIFAR-10; about the inputs' own mean it would be biased low by sqrt(1 - 1/n_x));
    * ``fixed_noise``: ||f(x_j|xi) - mean_j f(x_j|xi)||, inputs vary under one xi (compression);
    * ``fixed_input``: ||f(x_j|xi) - mean_xi f(x_j|xi)||, xi varies for one input (expansion);
    * ``vary_both``: ||f(x_j|xi) - mean_{j,xi} f(x_j|xi)||;
    * ``inputs_about_mean``: ||x_j - mean_j x_j||, the input ball measured like the outputs' radii (their
      true centres are unknown), so that an identity purifier gives ``fixed_noise`` equal to it exactly.
    """
    f, x = outputs.double(), inputs.double()
    return {
        "initial": (x - clean.double().reshape(1, -1)).norm(dim=-1),
        "fixed_noise": (f - f.mean(dim=1, keepdim=True)).norm(dim=-1).flatten(),
        "fixed_input": (f - f.mean(dim=0, keepdim=True)).norm(dim=-1).flatten(),
        "vary_both": (f - f.mean(dim=(0, 1), keepdim=True)).norm(dim=-1).flatten(),
        "inputs_about_mean": (x - x.mean(0)).norm(dim=-1),
    }


def mean_pairwise_correlation(vectors: torch.Tensor) -> float:
    """Mean Pearson correlation over all distinct pairs of the rows of ``vectors`` (M, D)."""
    v = vectors.double()
    v = v - v.mean(dim=1, keepdim=True)
    v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)
    corr = v @ v.T
    m = corr.shape[0]
    return float((corr.sum() - corr.diagonal().sum()) / (m * (m - 1)))


def direction_correlations(outputs: torch.Tensor, inputs: torch.Tensor) -> dict[str, float]:
    """Correlation of purification directions f(x|xi) - x (Fig. 2d-e) for one clean image.

    ``fixed_image``: across xi for the same input (mean over inputs);
    ``fixed_noise``: across inputs under the same xi (mean over xi).
    """
    directions = outputs.double() - inputs.double().unsqueeze(0)  # (n_xi, n_x, D)
    fixed_image = np.mean([mean_pairwise_correlation(directions[:, j]) for j in range(directions.shape[1])])
    fixed_noise = np.mean([mean_pairwise_correlation(directions[k]) for k in range(directions.shape[0])])
    return {"fixed_image": float(fixed_image), "fixed_noise": float(fixed_noise)}


def central_patch(shape: tuple[int, ...], side: int) -> list[int]:
    """Flat indices (into C x H x W) of the central ``side`` x ``side`` patch of an image, all channels."""
    channels, height, width = shape
    if not 1 <= side <= min(height, width):
        raise ValueError(f"the Jacobian patch side must be in [1, {min(height, width)}], got {side}")
    top, left = (height - side) // 2, (width - side) // 2
    grid = torch.arange(channels * height * width).reshape(channels, height, width)
    return grid[:, top : top + side, left : left + side].flatten().tolist()


def jacobian(
    function: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    rows_per_pass: int,
    entries: Sequence[int] | None = None,
) -> torch.Tensor:
    """Exact Jacobian of ``function`` at one image ``x0`` (C, H, W), by reverse mode, ``rows_per_pass`` rows at a time.

    Row k is the gradient of output pixel k: ``x0`` is replicated once per row of a pass and each
    copy's own output pixel is differentiated, so memory is that of ``rows_per_pass`` images,
    whatever the image size. ``function`` must treat the copies alike (the same fixed noise for
    every copy). With ``entries`` (flat pixel indices, e.g. :func:`central_patch`) only the block
    ``J[entries, entries]`` is computed; otherwise the whole (D, D) matrix.
    """
    if rows_per_pass < 1:
        raise ValueError(f"rows_per_pass must be >= 1, got {rows_per_pass}")
    wanted = list(range(x0.numel())) if entries is None else [int(e) for e in entries]
    blocks = []
    for start in range(0, len(wanted), rows_per_pass):
        rows = torch.tensor(wanted[start : start + rows_per_pass], device=x0.device)
        batch = x0.detach().unsqueeze(0).repeat(len(rows), *([1] * x0.dim())).requires_grad_(True)
        out = function(batch).reshape(len(rows), -1)
        out[torch.arange(len(rows), device=x0.device), rows].sum().backward()
        grad = batch.grad.reshape(len(rows), -1)
        blocks.append((grad if entries is None else grad[:, torch.tensor(wanted, device=x0.device)]).double().cpu())
    return torch.cat(blocks)


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values of a matrix, descending."""
    return torch.linalg.svdvals(matrix.double())


def compression_rate(f_x: torch.Tensor, f_x0: torch.Tensor, x: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
    """Per-image compression rate (eq. 10): ||f_xi(x) - f_xi(x0)|| / ||x - x0||, xi fixed."""
    return l2_distance(f_x, f_x0) / l2_distance(x, x0).clamp_min(1e-12)


def perturbation_correlation(delta_a: torch.Tensor, delta_b: torch.Tensor) -> torch.Tensor:
    """Per-image Pearson correlation of two perturbations of the same images (Table 5)."""
    a, b = flat(delta_a), flat(delta_b)
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)
