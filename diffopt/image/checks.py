"""Input checks shared by the stages: each raises an error that says what was expected."""

from __future__ import annotations

import numpy as np

FLOATS = (np.float32, np.float64)


def check_image(x, stage: str, channels: tuple = (None, 3)) -> None:
    """``x`` is a float32/float64 array ``(H, W)`` (``None`` in ``channels``) or ``(H, W, c)``
    for ``c`` in ``channels``, with no NaN."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{stage}: expected an image array, got {type(x).__name__}")
    allowed = " or ".join("(H, W)" if c is None else f"(H, W, {c})" for c in channels)
    ok = (len(shape) == 2 and None in channels) or (len(shape) == 3 and shape[2] in channels)
    if not ok:
        raise ValueError(f"{stage}: expected an image of shape {allowed}, got {tuple(shape)}")
    if x.dtype not in FLOATS:
        raise TypeError(f"{stage}: expected a float32 or float64 image, got {x.dtype}; convert "
                        "with image.astype(np.float32) (and scale integers to [0, 1])")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"{stage}: the image is empty (shape {tuple(shape)})")


def check_rgb(x, stage: str) -> None:
    """``x`` is an ``(H, W, 3)`` float image."""
    check_image(x, stage, channels=(3,))


def _shape_text(shape: tuple) -> str:
    """``(3, 3)``, ``(n,)``, ``()``: the expected shape, ``None`` written ``n``."""
    parts = ["n" if n is None else str(n) for n in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_array(v, shape: tuple, stage: str, name: str) -> None:
    """``v`` is finite real numbers of shape ``shape`` (``None`` entries: any length >= 1)."""
    a = v if hasattr(v, "shape") and hasattr(v, "dtype") else np.asarray(v)  # CuPy stays CuPy
    if a.ndim != len(shape) or any(n is not None and m != n for m, n in zip(a.shape, shape)):
        raise ValueError(f"{stage}: {name} must have shape {_shape_text(shape)}, got {a.shape}")
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{stage}: {name} must be real numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{stage}: {name} must not be empty, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{stage}: {name} must be finite, got {a}")


def check_vector(v, n: int, stage: str, name: str) -> None:
    """``v`` is ``n`` finite numbers."""
    check_array(v, (n,), stage, name)


def check_scalar(v, stage: str, name: str) -> None:
    """``v`` is one finite real number (a Python number or a 0-d array)."""
    check_array(v, (), stage, name)


def check_positive(v, stage: str, name: str) -> None:
    """``v`` is a finite number (or array of them) > 0."""
    a = np.asarray(v, dtype=float)
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):
        raise ValueError(f"{stage}: {name} must be positive and finite, got {v}")


__all__ = ["check_image", "check_rgb", "check_array", "check_vector", "check_scalar",
           "check_positive", "FLOATS"]
