"""The camera pipelines of the enhancement demo and the image benchmark, and their photograph.

``RECOVERY``: ``normalize → demosaic_bilinear → white_balance → color_matrix → exposure →
tone_curve → gamma``, whose parameters are identifiable from a rendering; ``ENHANCEMENT``: the
nine-stage pipeline with Malvar–He–Cutler demosaicking, a Gaussian denoiser and unsharp-mask
sharpening. ``load_photo`` reads the sRGB photograph they start from.
"""

from __future__ import annotations

import numpy as np

from diffopt.image import Pipeline
from diffopt.image.color import color_matrix, exposure, gamma, normalize, tone_curve, white_balance
from diffopt.image.demosaic import demosaic_bilinear, demosaic_mhc
from diffopt.image.filters import gaussian_blur, unsharp_mask

__all__ = ["RECOVERY", "ENHANCEMENT", "load_photo"]

RECOVERY = Pipeline([normalize, demosaic_bilinear, white_balance, color_matrix, exposure,
                     tone_curve, gamma])
ENHANCEMENT = Pipeline([normalize, demosaic_mhc, white_balance, color_matrix, gaussian_blur,
                        exposure, tone_curve, gamma, unsharp_mask])


def load_photo(path: str | None = None, shrink: int = 1, short_side: int | None = None
               ) -> np.ndarray:
    """An sRGB photograph as an ``(H, W, 3)`` float64 array in [0, 1], cropped to even sides;
    ``shrink``: average ``shrink × shrink`` blocks (a smaller image with the same content), or
    ``short_side``: shrink by the factor that brings the shorter side to about that.

    >>> load_photo().shape
    (600, 512, 3)
    >>> load_photo(short_side=128).shape
    (150, 128, 3)
    """
    import matplotlib.cbook
    import matplotlib.image

    if path is None:
        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = np.asarray(matplotlib.image.imread(path))
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"{path}: expected a colour or grey image, got shape {image.shape}")
    image = image[..., :3]
    image = image / 255.0 if image.dtype.kind in "ui" else image.astype(np.float64)
    if short_side is not None:
        shrink = max(1, min(image.shape[:2]) // short_side)
    if shrink > 1:
        h, w = image.shape[0] // shrink, image.shape[1] // shrink
        image = image[:h * shrink, :w * shrink].reshape(h, shrink, w, shrink, 3).mean(axis=(1, 3))
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    if h < 16 or w < 16:
        raise ValueError(f"{path}: the image is too small ({image.shape[:2]}); use at least "
                         "16 × 16 pixels")
    return np.ascontiguousarray(image[:h, :w])
