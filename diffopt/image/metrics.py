"""Image quality metrics, differentiable: ``psnr`` and ``ssim``."""

from __future__ import annotations

import numpy as np

import diffopt.numpy as dnp

SSIM_SIGMA = 1.5  # the Gaussian window of Wang et al. (2004): sigma 1.5, 11 taps
SSIM_RADIUS = 5
K1, K2 = 0.01, 0.03


def same_shape(x, y, name: str) -> None:
    if dnp.shape(x) != dnp.shape(y):
        raise ValueError(f"{name}: the images have different shapes {dnp.shape(x)} and "
                         f"{dnp.shape(y)}")


def psnr(x, y, data_range: float = 1.0):
    """Peak signal-to-noise ratio in dB: ``10 log10(data_range² / mean((x - y)²))``.

    >>> image = np.full((16, 16, 3), 0.5)
    >>> float(psnr(image, image + 0.01))  # dB
    40.0
    """
    same_shape(x, y, "psnr")
    d = x - y
    return 10.0 * dnp.log10(data_range ** 2 / dnp.mean(d * d))


def _window() -> np.ndarray:
    k = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1)
    w = np.exp(-k ** 2 / (2 * SSIM_SIGMA ** 2))
    return w / w.sum()


def _filter_valid(x):
    """The separable Gaussian window over axes 0 and 1, where it fits entirely ('valid')."""
    w = _window()
    n = len(w)
    h, wd = x.shape[0] - n + 1, x.shape[1] - n + 1
    rows = sum(float(w[k]) * x[k:k + h] for k in range(n))
    return sum(float(w[k]) * rows[:, k:k + wd] for k in range(n))


def ssim(x, y, data_range: float = 1.0):
    """Mean structural similarity (Wang et al. 2004): Gaussian window σ = 1.5 (11 taps), K1 =
    0.01, K2 = 0.03, population covariances, averaged over the pixels where the window fits and
    over channels — as ``skimage.metrics.structural_similarity(x, y, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=..., channel_axis=-1)``.

    >>> image = np.full((16, 16, 3), 0.5)
    >>> float(ssim(image, image))
    1.0
    """
    same_shape(x, y, "ssim")
    if dnp.ndim(x) not in (2, 3) or min(dnp.shape(x)[:2]) < 2 * SSIM_RADIUS + 1:
        raise ValueError(f"ssim: expected (H, W) or (H, W, C) images at least "
                         f"{2 * SSIM_RADIUS + 1} pixels on each side, got {dnp.shape(x)}")
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mx, my = _filter_valid(x), _filter_valid(y)
    vx = _filter_valid(x * x) - mx * mx
    vy = _filter_valid(y * y) - my * my
    cxy = _filter_valid(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return dnp.mean(s)


__all__ = ["psnr", "ssim", "same_shape"]
