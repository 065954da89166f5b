"""A synthetic camera raw from an sRGB photograph: a camera pipeline run backwards.

This follows the "unprocessing" recipe of Brooks et al. (2019, "Unprocessing Images for Learned
Raw Denoising"): undo the gamma and the tone curve, undo exposure, apply the inverse of the
camera's colour matrix, undo the white-balance gains, sample an RGGB Bayer mosaic, add shot and
read noise, and quantise to 12 bits above a black level. ``Camera`` holds the true parameters;
``camera_params`` gives them as the parameters of the forward pipeline
(``normalize → demosaic → white_balance → color_matrix → exposure → tone_curve → gamma``), so
that rendering the raw with them gives the photograph back (up to noise, clipping and
demosaicking).

Plain NumPy: the raw is data, not something differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .color import srgb_to_linear
from .demosaic import mosaic


def _default_matrix() -> np.ndarray:
    m = np.array([[1.80, -0.62, -0.18], [-0.26, 1.58, -0.32], [0.08, -0.56, 1.48]])
    return m / m.sum(axis=1, keepdims=True)


@dataclass
class Camera:
    """The true parameters of a synthetic camera.

    ``gains``: white-balance gains (green 1); ``matrix``: camera RGB → linear sRGB, rows summing
    to 1 (grey stays grey); ``ev``: exposure in stops; ``slopes``: the tone curve's segment slopes
    (their mean is 1, so the curve maps 1 to 1); ``g``: the gamma exponent; ``bits`` and
    ``black``: the raw's quantisation (``black`` in counts); ``shot``, ``read``: noise variances
    (``σ² = shot · x + read`` on the normalised signal).

    >>> Camera().gains
    array([2.1, 1. , 1.7])
    """

    gains: np.ndarray = field(default_factory=lambda: np.array([2.1, 1.0, 1.7]))
    matrix: np.ndarray = field(default_factory=_default_matrix)
    ev: float = 0.3
    slopes: np.ndarray = field(default_factory=lambda: np.array(
        [0.6, 1.0, 1.3, 1.35, 1.2, 0.95, 0.85, 0.75]))
    g: float = 2.2
    bits: int = 12
    black: int = 64
    shot: float = 1e-3
    read: float = 2e-6

    @property
    def white(self) -> int:
        return 2 ** self.bits - 1


def camera_params(camera: Camera) -> dict:
    """The forward pipeline's parameters that invert ``unprocess`` (stage name → parameters).

    >>> camera_params(Camera())["white_balance"]["gains"]
    array([2.1, 1. , 1.7])
    """
    return {
        "normalize": {"black": camera.black / camera.white, "white": 1.0},
        "white_balance": {"gains": np.asarray(camera.gains, dtype=float)},
        "color_matrix": {"matrix": np.asarray(camera.matrix, dtype=float)},
        "exposure": {"ev": float(camera.ev)},
        "tone_curve": {"slopes": np.asarray(camera.slopes, dtype=float)},
        "gamma": {"g": float(camera.g)},
    }


def inverse_tone_curve(y, slopes) -> np.ndarray:
    """The inverse of ``tone_curve`` with positive ``slopes`` (extended linearly beyond the
    curve's ends, as the curve is).

    >>> inverse_tone_curve(np.array([0.5]), np.ones(8))
    array([0.5])
    """
    a = np.abs(np.asarray(slopes, dtype=float))
    if np.any(a == 0):
        raise ValueError("inverse_tone_curve: a zero slope makes the curve not invertible")
    k = len(a)
    knots = np.arange(k + 1) / k
    values = np.concatenate([[0.0], np.cumsum(a) / k])
    y = np.asarray(y, dtype=float)
    x = np.interp(y, values, knots)
    x = np.where(y < 0, y / a[0], x)
    return np.where(y > values[-1], 1.0 + (y - values[-1]) / a[-1], x)


def unprocess(srgb, camera: Camera | None = None, rng: np.random.Generator | None = None,
              noise: bool = True) -> np.ndarray:
    """A camera raw (``(H, W)`` float64, normalised counts ``counts / (2**bits - 1)``) whose
    rendering by the forward pipeline with ``camera_params(camera)`` is ``srgb`` (an
    ``(H, W, 3)`` image in [0, 1]; H and W even).

    >>> raw = unprocess(np.full((4, 4, 3), 0.5), Camera(), np.random.default_rng(0))
    >>> raw.shape
    (4, 4)
    """
    camera = camera or Camera()
    rng = rng or np.random.default_rng(0)
    srgb = np.asarray(srgb, dtype=float)
    if srgb.ndim != 3 or srgb.shape[2] != 3 or srgb.shape[0] % 2 or srgb.shape[1] % 2:
        raise ValueError(f"unprocess: expected an (H, W, 3) image with even H and W, got "
                         f"{srgb.shape}; crop a row or column")
    linear = np.asarray(srgb_to_linear(np.clip(srgb, 0.0, 1.0), camera.g))
    linear = inverse_tone_curve(linear, camera.slopes) / 2.0 ** camera.ev
    cam = linear @ np.linalg.inv(camera.matrix).T  # (x @ M.T = linear)
    cam = np.clip(cam / np.asarray(camera.gains), 0.0, 1.0)
    signal = np.asarray(mosaic(cam, backend="numpy"))
    if noise:
        signal = signal + rng.normal(size=signal.shape) * np.sqrt(camera.shot * signal +
                                                                   camera.read)
    counts = np.round(camera.black + signal * (camera.white - camera.black))
    return np.clip(counts, 0, camera.white) / camera.white


__all__ = ["Camera", "camera_params", "unprocess", "inverse_tone_curve"]
