"""Index helpers: ``r_`` and ``c_`` (concatenation by index syntax, differentiable in the arrays),
``ix_``, ``s_`` and ``index_exp`` (NumPy's own objects), the ``*_indices`` helpers, and
``ravel_multi_index`` / ``unravel_index`` (which also run on traced integers, under ``vmap``).
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numpy import (  # noqa: F401 - re-exported NumPy names: their results are plain indices
    diag_indices,
    index_exp,
    mask_indices,
    s_,
    tril_indices,
    triu_indices,
)

from ..core import vspace
from ..core.trace import Tracer, concrete
from .creation import array, asarray
from .elementwise import astype, clip
from .ranges import linspace
from .shape import _has_tracer, _static, concatenate, reshape, swapaxes, transpose


def _ndmin(x, ndmin: int):
    """``numpy.array(x, copy=None, ndmin=ndmin)`` for plain and traced values."""
    return array(x, ndmin=ndmin) if _has_tracer(x) else np.array(x, copy=None, ndmin=ndmin)


def _from_slice(item: slice):
    """``start:stop:step`` as ``arange``, or as ``linspace`` for an imaginary step (``5j``: five
    points, both ends included; the ends may then be traced)."""
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return linspace(start, item.stop, num=int(abs(step)))
    return np.arange(*_static((start, item.stop, step), "r_/c_: a slice's start, stop and step"))


class AxisConcatenator:
    """NumPy's ``AxisConcatenator``: the class of ``r_`` and ``c_``, built on diffopt's
    differentiable ``concatenate``.

    A directive string ``'r'`` or ``'c'`` (NumPy's matrix output) gives a 2-D array of the
    matrix's shape: ``numpy.matrix`` is not supported.
    """

    __slots__ = ("axis", "matrix", "ndmin", "trans1d")

    def __init__(self, axis: int = 0, matrix: bool = False, ndmin: int = 1, trans1d: int = -1):
        self.axis, self.matrix, self.ndmin, self.trans1d = axis, matrix, ndmin, trans1d

    def __getitem__(self, key):
        if isinstance(key, str):
            raise NotImplementedError("the string form (numpy.bmat) builds a numpy.matrix, which "
                                      "diffopt.numpy does not support; use block() instead")
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d, matrix, col = self.axis, self.ndmin, self.trans1d, self.matrix, False
        objs, types = [], []
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                if item in ("r", "c"):
                    matrix, col = True, item == "c"
                    continue
                try:
                    vec = [int(x) for x in item.split(",")]
                except ValueError as e:
                    raise ValueError(f"unknown special directive {item!r}") from e
                if len(vec) == 1:
                    axis = vec[0]
                elif len(vec) in (2, 3):
                    axis, ndmin = vec[:2]
                    trans1d = vec[2] if len(vec) == 3 else trans1d
                else:
                    raise ValueError(f"unknown special directive {item!r}")
                continue
            if isinstance(item, slice):
                obj = _from_slice(item)
                if ndmin > 1:
                    obj = _ndmin(obj, ndmin)
                    if trans1d != -1:
                        obj = swapaxes(obj, -1, trans1d)
                types.append(obj.dtype)
            elif type(item) in np.ScalarType:
                obj = item
                types.append(item)
            else:
                item_ndim = len(vspace.shape_of(asarray(item)))
                obj = _ndmin(item, ndmin)
                if trans1d != -1 and item_ndim < ndmin:
                    k2, k1 = ndmin - item_ndim, trans1d
                    if k1 < 0:
                        k1 += k2 + 1
                    axes = list(range(ndmin))
                    obj = transpose(obj, axes[:k1] + axes[k2:] + axes[k1:k2])
                types.append(obj.dtype)
            objs.append(obj)
        if types:
            final = np.result_type(*types)
            objs = [astype(_ndmin(o, ndmin), final) for o in objs]
        res = concatenate(objs, axis=axis)
        if matrix:
            shape = vspace.shape_of(res)
            if len(shape) > 2:
                raise ValueError("matrix must be 2-dimensional")
            if len(shape) < 2:
                res = reshape(res, (-1, 1) if col and len(shape) == 1 else (1, -1))
        return res

    def __len__(self) -> int:
        return 0


r_ = AxisConcatenator(0)
"""Differentiable ``numpy.r_``: ``r_[x, 0:3, [7.0]]`` concatenates along the first axis.

>>> r_[np.array([1.0, 2.0]), 0:2, 9.0]
array([1., 2., 0., 1., 9.])
"""
c_ = AxisConcatenator(-1, ndmin=2, trans1d=0)
"""Differentiable ``numpy.c_``: ``c_[a, b]`` joins 1-D arrays as columns (the last axis).

>>> c_[np.array([1.0, 2.0]), np.array([3.0, 4.0])]
array([[1., 3.],
       [2., 4.]])
"""


def ix_(*args) -> tuple:
    """``numpy.ix_``: an open mesh from 1-D sequences; traced integer sequences (under vmap) are
    reshaped like plain ones.

    >>> [i.shape for i in ix_([0, 1], [2, 0, 1])]
    [(2, 1), (1, 3)]
    """
    if not _has_tracer(args):
        return np.ix_(*args)
    nd, out = len(args), []
    for k, new in enumerate(args):
        if not isinstance(new, Tracer):
            new = np.ix_(new)[0] if not _has_tracer(new) else asarray(new)
        if len(vspace.shape_of(new)) != 1:
            raise ValueError("Cross index must be 1 dimensional")
        if new.dtype == np.bool_:
            raise TypeError("ix_: a traced boolean sequence has a value-dependent number of "
                            "indices; pass it as a plain array")
        out.append(reshape(new, (1,) * k + (-1,) + (1,) * (nd - k - 1)))
    return tuple(out)


def _stand_in(arr):
    """A zero-memory plain array of ``arr``'s shape, for NumPy functions that read only shapes."""
    return np.broadcast_to(np.empty((), dtype=bool), vspace.shape_of(arr))


def diag_indices_from(arr) -> tuple:
    """``numpy.diag_indices_from`` for plain and traced arrays (only the shape is used).

    >>> diag_indices_from(np.ones((2, 2)))
    (array([0, 1]), array([0, 1]))
    """
    return np.diag_indices_from(_stand_in(arr))


def tril_indices_from(arr, k: int = 0) -> tuple:
    """``numpy.tril_indices_from`` for plain and traced arrays (only the shape is used).

    >>> tril_indices_from(np.ones((2, 2)))
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    return np.tril_indices_from(_stand_in(arr), k)


def triu_indices_from(arr, k: int = 0) -> tuple:
    """``numpy.triu_indices_from`` for plain and traced arrays (only the shape is used).

    >>> triu_indices_from(np.ones((2, 2)))
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    return np.triu_indices_from(_stand_in(arr), k)


def _int_array(x, name: str):
    x = asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{name}: only int indices permitted")
    return x


def ravel_multi_index(multi_index, dims, mode="raise", order: str = "C"):
    """``numpy.ravel_multi_index``; traced integer coordinates (under vmap) give a traced flat
    index.

    >>> ravel_multi_index(([0, 1], [2, 0]), (2, 3))
    array([2, 3])
    """
    if not _has_tracer(multi_index):
        return np.ravel_multi_index(multi_index, dims, mode=mode, order=order)
    dims = (operator.index(dims),) if np.ndim(dims) == 0 else tuple(map(operator.index, dims))
    coords = [_int_array(c, "ravel_multi_index") for c in multi_index]
    if len(coords) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    modes = (mode,) * len(dims) if isinstance(mode, str) else tuple(mode)
    if len(modes) != len(dims):
        raise ValueError("clipmode must have the same length as multi_index")
    total = 0
    for i, (c, d, m) in enumerate(zip(coords, dims, modes, strict=True)):
        stride = math.prod(dims[i + 1:]) if order == "C" else math.prod(dims[:i])
        if m == "raise":
            cc = np.asarray(concrete(c))
            if cc.size and (cc.min() < 0 or cc.max() >= d):
                raise ValueError("invalid entry in coordinates array")
        elif m == "wrap":
            c = c % d
        elif m == "clip":
            c = clip(c, 0, d - 1)
        else:
            raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {m!r})")
        total = total + c * stride
    return astype(total, np.intp)


def unravel_index(indices, shape, order: str = "C") -> tuple:
    """``numpy.unravel_index``; traced integer indices (under vmap, e.g. from argmax) give traced
    coordinates.

    >>> unravel_index(5, (2, 3))
    (np.int64(1), np.int64(2))
    """
    if not _has_tracer(indices):
        return np.unravel_index(indices, shape, order=order)
    shape = (operator.index(shape),) if np.ndim(shape) == 0 else tuple(map(operator.index, shape))
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    idx = _int_array(indices, "unravel_index")
    size = math.prod(shape)
    ci = np.asarray(concrete(idx))
    bad = ci[(ci < 0) | (ci >= size)]
    if bad.size:
        raise ValueError(f"index {bad.flat[0]} is out of bounds for array with size {size}")
    out = []
    for d in (reversed(shape) if order == "C" else shape):
        out.append(astype(idx % d, np.intp))
        idx = idx // d
    return tuple(reversed(out)) if order == "C" else tuple(out)


__all__ = ["r_", "c_", "s_", "index_exp", "ix_", "diag_indices",
    "diag_indices_from", "mask_indices", "tril_indices", "tril_indices_from", "triu_indices",
    "triu_indices_from", "ravel_multi_index", "unravel_index"]
