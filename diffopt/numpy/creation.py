"""Array creation and constants: plain NumPy (no derivative), plus ``array`` of traced scalars."""

from __future__ import annotations

import numpy as np
from numpy import (  # noqa: F401 - re-exported NumPy names
    arange,
    bool_,
    complex64,
    complex128,
    dtype,
    e,
    empty,
    euler_gamma,
    eye,
    finfo,
    float16,
    float32,
    float64,
    full,
    identity,
    iinfo,
    indices,
    inf,
    int8,
    int16,
    int32,
    int64,
    integer,
    meshgrid,
    nan,
    ndarray,
    newaxis,
    ones,
    pi,
    random,
    result_type,
    tri,
    uint8,
    zeros,
)
from numpy import shape as _np_shape

from ..core import vspace
from ..core.batching import batch_elementwise
from ..core.primitive import Primitive
from ..core.trace import Tracer
from .shape import reshape, stack


def _contains_tracer(obj) -> bool:
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def array(object, dtype=None, copy: bool = True, ndmin: int = 0):  # noqa: A002 - NumPy's name
    """Differentiable ``numpy.array``: nested lists of traced scalars or arrays are stacked.

    >>> import diffopt
    >>> float(diffopt.grad(lambda x: array([x, 2 * x, 3.0])[1])(1.0))
    2.0
    """
    if not _contains_tracer(object):
        return np.array(object, dtype=dtype, copy=copy, ndmin=ndmin)
    if isinstance(object, Tracer):
        out = object
    else:
        out = stack([array(o) if isinstance(o, (list, tuple)) else o for o in object])
    if dtype is not None:
        from .elementwise import astype

        out = astype(out, dtype)
    while len(vspace.shape_of(out)) < ndmin:
        out = reshape(out, (1,) + vspace.shape_of(out))
    return out


def asarray(a, dtype=None):
    """Differentiable ``numpy.asarray``: traced values pass through unchanged.

    >>> asarray([1.0, 2.0])
    array([1., 2.])
    """
    if _contains_tracer(a):
        return array(a, dtype=dtype)
    if dtype is None and hasattr(a, "shape") and hasattr(a, "dtype"):
        return a  # NumPy or CuPy arrays stay where they are
    return np.asarray(a, dtype=dtype)


def shape(a) -> tuple:
    """``numpy.shape`` for plain and traced values.

    >>> shape(np.ones((2, 3)))
    (2, 3)
    """
    return a.shape if isinstance(a, Tracer) else _np_shape(a)


def ndim(a) -> int:
    """``numpy.ndim`` for plain and traced values.

    >>> ndim(np.ones((2, 3)))
    2
    """
    return len(shape(a))


def size(a) -> int:
    """``numpy.size`` for plain and traced values.

    >>> size(np.ones((2, 3)))
    6
    """
    return int(np.prod(shape(a), dtype=np.int64))


__all__ = ["arange", "bool_", "complex64", "complex128", "dtype", "e", "empty", "empty_like",
    "euler_gamma", "eye", "finfo", "float16", "float32", "float64", "full", "full_like",
    "identity", "iinfo", "indices", "inf", "int8", "int16", "int32", "int64",
    "integer", "meshgrid", "nan", "ndarray", "newaxis", "ones",
    "ones_like", "pi", "random", "result_type", "tri", "uint8", "zeros", "zeros_like", "shape",
    "array", "asarray", "ndim", "size"]


def _constant_like(name: str, impl):
    prim = Primitive(name, impl, differentiable=False)
    prim.defbatch(batch_elementwise)
    return prim


_zeros_like = _constant_like("zeros_like", lambda a, dtype: np.zeros_like(a, dtype=dtype))
_ones_like = _constant_like("ones_like", lambda a, dtype: np.ones_like(a, dtype=dtype))
_full_like = _constant_like(
    "full_like", lambda a, fill_value, dtype: np.full_like(a, fill_value, dtype=dtype)
)


def zeros_like(a, dtype=None):
    """``numpy.zeros_like`` for plain and traced values (a constant: no derivative).

    >>> zeros_like(np.array([1.0, 2.0]))
    array([0., 0.])
    """
    return _zeros_like.bind(a, dtype=dtype)


def ones_like(a, dtype=None):
    """``numpy.ones_like`` for plain and traced values (a constant: no derivative).

    >>> ones_like(np.array([1.0, 2.0]))
    array([1., 1.])
    """
    return _ones_like.bind(a, dtype=dtype)


def full_like(a, fill_value, dtype=None):
    """``numpy.full_like`` for plain and traced values (a constant: no derivative).

    >>> full_like(np.array([1.0, 2.0]), 3.0)
    array([3., 3.])
    """
    return _full_like.bind(a, fill_value=fill_value, dtype=dtype)


empty_like = zeros_like
