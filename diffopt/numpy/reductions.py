"""Reductions and scans. ``sum`` is the primitive; ``mean`` is built on it."""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.batching import batch_axis_param
from ..core.primitive import Primitive
from .shape import broadcast_to, reshape


def _normalize_axis(axis, ndim: int):
    """None, or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of bounds for an array of dimension {ndim}")
        out.append(ax % max(ndim, 1))
    return tuple(sorted(out))


def keepdims_shape(shape: tuple, axis) -> tuple:
    """The shape a reduction over ``axis`` leaves with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else d for i, d in enumerate(shape))


def expand_reduced(g, x_shape: tuple, axis, keepdims: bool):
    """Broadcast a reduction's cotangent back over the reduced axes of ``x``."""
    if not keepdims:
        g = reshape(g, keepdims_shape(x_shape, axis))
    return broadcast_to(g, x_shape)


_sum = Primitive("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))
_sum.defjvp(lambda t, ans, x, axis, keepdims: _sum.bind(t, axis=axis, keepdims=keepdims))
_sum.defvjp(lambda g, ans, x, axis, keepdims: expand_reduced(g, vspace.shape_of(x), axis, keepdims))
_sum.batch = batch_axis_param()


def sum(a, axis=None, dtype=None, keepdims: bool = False):  # noqa: A001 - NumPy's name
    """Differentiable ``numpy.sum``.

    >>> sum(ones((2, 3)), axis=0)  # [2., 2., 2.]
    """
    if dtype is not None:
        from .elementwise import astype

        a = astype(a, dtype)
    axis = _normalize_axis(axis, len(vspace.shape_of(a)))
    return _sum.bind(a, axis=axis, keepdims=keepdims)


def sum_axes(x, axes, keepdims: bool):
    return _sum.bind(x, axis=tuple(axes), keepdims=keepdims)


def _count(shape: tuple, axis) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axis], dtype=np.int64))


def mean(a, axis=None, dtype=None, keepdims: bool = False):
    """Differentiable ``numpy.mean``.

    >>> mean(array([1.0, 2.0, 3.0]))  # 2.0
    """
    shape = vspace.shape_of(a)
    n = _count(shape, _normalize_axis(axis, len(shape)))
    return sum(a, axis=axis, dtype=dtype, keepdims=keepdims) / n


__all__ = ["sum", "mean"]
