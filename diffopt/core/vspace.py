"""Arithmetic on tangents and cotangents, shared by the interpreters.

The interpreters need a few array operations (add, broadcast, sum back to a shape, real part) that
must themselves be primitives so that higher-order derivatives see them. ``diffopt.numpy`` installs
them here when it is imported, which keeps ``core`` free of an import cycle.
"""

from __future__ import annotations

import numpy as np

add = None  # installed by diffopt.numpy: add(x, y)
broadcast_to = None  # broadcast_to(x, shape)
sum_axes = None  # sum_axes(x, axes, keepdims)
reshape = None  # reshape(x, shape)
stack = None  # stack(xs): along a new leading axis
real = None  # real(x)
zeros_like = None  # zeros_like(x): a constant


def shape_of(x) -> tuple:
    return getattr(x, "shape", ())


def is_complex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, complex)
    return dtype.kind == "c"


def sum_to_shape(x, shape: tuple):
    """Sum ``x`` over the axes that broadcasting added or stretched, giving ``shape``."""
    xshape = shape_of(x)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and xshape[i + lead] != 1
    )
    if axes:
        x = sum_axes(x, axes, False)
    if shape_of(x) != shape:
        x = reshape(x, shape)
    return x


def fit_cotangent(c, shape: tuple, complex_target: bool):
    """Make a cotangent match its primal: sum broadcast axes, drop the imaginary part of a real."""
    if shape_of(c) != shape:
        c = sum_to_shape(c, shape)
    if not complex_target and is_complex(c):
        c = real(c)
    return c


def fit_tangent(t, shape: tuple):
    if shape_of(t) != shape:
        t = broadcast_to(t, shape)
    return t


def zeros(shape: tuple, dtype) -> np.ndarray:
    return np.zeros(shape, dtype)
