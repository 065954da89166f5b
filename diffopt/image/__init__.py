"""``diffopt.image``: a differentiable camera pipeline (camera raw -> parameterised stages ->
image) whose stage parameters are learned by gradient descent.

Each stage is a :class:`Stage`: a reference written with ``diffopt.numpy`` (differentiable in
every mode, runs on CuPy arrays too) and Numba forward/VJP kernels on the CPU. ``Pipeline`` chains
stages with a pytree of named parameters; ``fit`` learns them with ``diffopt.optimize``;
``unprocess`` makes a synthetic camera raw from a photograph; ``identifiability`` says which
parameters an image determines.

Stages: ``normalize`` (black and white levels), ``demosaic_bilinear``, ``demosaic_mhc``
(Malvar-He-Cutler, learnable gains), ``mosaic`` (RGGB sampling), ``white_balance``,
``color_matrix``, ``gaussian_blur``, ``bilateral``, ``exposure``, ``tone_curve``, ``saturation``,
``gamma`` (sRGB encoding), ``unsharp_mask``, ``conv2d``.

>>> import numpy as np
>>> from diffopt.image import Pipeline, gamma, white_balance
>>> pipe = Pipeline([white_balance, gamma])
>>> params = {"white_balance": {"gains": np.array([2.0, 1.0, 1.5])}}
>>> pipe(np.full((2, 2, 3), 0.25), params, backend="numpy")[0, 0]
array([0.73535698, 0.53709873, 0.64607663])
"""

from .color import (
    color_matrix,
    exposure,
    gamma,
    normalize,
    normalize_rows,
    saturation,
    srgb_slopes,
    srgb_to_linear,
    tone_curve,
    tone_curve_values,
    tone_slopes_from_srgb,
    white_balance,
    white_preserving_matrix,
)
from .demosaic import demosaic_bilinear, demosaic_mhc, mosaic
from .filters import bilateral, conv2d, gaussian_blur, unsharp_mask
from .identify import Identifiability, identifiability
from .metrics import psnr, ssim
from .pipeline import Pipeline, fit, mse
from .stage import BACKENDS, Stage
from .unprocess import Camera, camera_params, unprocess

__all__ = [
    "Stage", "BACKENDS", "Pipeline", "fit", "mse", "psnr", "ssim", "Camera", "camera_params",
    "unprocess", "normalize", "demosaic_bilinear", "demosaic_mhc", "mosaic", "white_balance",
    "color_matrix", "gaussian_blur", "bilateral", "exposure", "tone_curve", "saturation", "gamma",
    "unsharp_mask", "conv2d", "normalize_rows", "white_preserving_matrix", "tone_curve_values",
    "tone_slopes_from_srgb", "srgb_slopes", "srgb_to_linear", "identifiability",
    "Identifiability",
]
