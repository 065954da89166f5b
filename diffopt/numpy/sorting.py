"""Sorting and searching beyond ``sort``/``argsort``: searchsorted, lexsort, argpartition (integer
results, no derivative, on plain or traced values and under ``vmap``), partition and sort_complex
(differentiable: gathers of the input, so the derivative follows each value to where it lands).

``partition`` returns exactly ``numpy.partition``'s arrangement (which differs from
``a[argpartition(a)]``): the permutation that carries the derivative is recovered from NumPy's
result by :func:`matching_permutation`.
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axis
from ..core.batching import batch_axis_param
from ..core.forward import JVPTracer
from ..core.primitive import Primitive
from ..core.reverse import ReverseTracer
from ..core.trace import Tracer
from .backend import as_array
from .elementwise import astype
from .indexing import sort, take_along_axis
from .shape import _has_tracer, ravel

# --- helpers shared with sets.py --------------------------------------------------------------
_TRANSFORM_NAMES = {"BatchTracer": "vmap", "GraphTracer": "jit / make_graph", "Expr": "symbolic"}


def concrete_static(x, name: str):
    """The plain value under ``grad``/``jvp`` tracers; a clear error under ``vmap`` or ``jit``,
    which cannot follow a result whose shape or arrangement NumPy decides from the values."""
    v = x
    while isinstance(v, Tracer):
        if not isinstance(v, (JVPTracer, ReverseTracer)):
            where = _TRANSFORM_NAMES.get(type(v).__name__, type(v).__name__)
            raise TypeError(
                f"diffopt.numpy.{name} is not supported under {where}: NumPy decides the shape or "
                "arrangement of its result from the data, which the transformation cannot "
                "follow. Call it outside the transformation, or once per example in a Python "
                "loop; grad, jvp and the other derivative transforms are supported."
            )
        v = v.primal_value()
    return v


def _order(x, axis: int):
    """A stable sorting permutation along ``axis`` that also tells -0.0 from 0.0 (real floats)."""
    if x.dtype.kind == "f":
        return np.lexsort((np.signbit(x), x), axis=axis)
    return np.argsort(x, axis=axis, kind="stable")


def matching_permutation(a, b, axis: int = -1):
    """Indices ``p`` with ``take_along_axis(a, p, axis) == b`` (bit for bit), for ``b`` a
    permutation of ``a`` along ``axis``: the k-th smallest of ``b`` is taken from the k-th
    smallest of ``a``, so equal values are matched in their order of appearance.

    >>> matching_permutation(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    array([1, 2, 0])
    """
    ia, ib = _order(a, axis), _order(b, axis)
    perm = np.empty_like(ia)
    np.put_along_axis(perm, ib, ia, axis)
    return perm


def _static_int(value, what: str):
    if _has_tracer(value):
        raise TypeError(f"{what} must be a plain integer (or sequence of integers), not a traced "
                        "value")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, not {arr.dtype}")
    return int(arr) if arr.ndim == 0 else tuple(int(k) for k in arr.ravel())


# --- searchsorted -----------------------------------------------------------------------------
def _searchsorted_impl(a, v, sorter, side):
    return np.searchsorted(a, v, side=side, sorter=sorter)


_searchsorted = Primitive("searchsorted", _searchsorted_impl, differentiable=False)


def searchsorted(a, v, side="left", sorter=None):
    """``numpy.searchsorted`` on plain or traced ``a``, ``v`` and ``sorter`` (integer indices, no
    derivative; batched under ``vmap``).

    >>> searchsorted(np.array([1.0, 2.0, 3.0]), np.array([2.5, 0.0]))
    array([2, 0])
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    a, v, sorter = (as_array(x) if _has_tracer(x) else x for x in (a, v, sorter))
    return _searchsorted.bind(a, v, sorter, side=side)


# --- lexsort ----------------------------------------------------------------------------------
_lexsort = Primitive("lexsort", lambda *keys, axis: np.lexsort(keys, axis=axis),
                     differentiable=False)


def lexsort(keys, axis=-1):
    """``numpy.lexsort`` on plain or traced keys (the last key is the primary one; integer
    indices, no derivative).

    >>> lexsort((np.array([1.0, 0.0, 2.0]), np.array([1.0, 1.0, 0.0])))
    array([2, 1, 0])
    """
    axis = operator.index(axis)
    if isinstance(keys, (list, tuple)):
        keys = [as_array(k) for k in keys]
    else:
        keys = as_array(keys)
        if not isinstance(keys, Tracer):
            return np.lexsort(keys, axis=axis)
        if keys.ndim == 0:
            raise TypeError("need sequence of keys with len > 0 in lexsort")
        keys = [keys[i] for i in range(keys.shape[0])]  # as NumPy: one key per row
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    return _lexsort.bind(*keys, axis=axis)


# --- argpartition / partition -----------------------------------------------------------------
def _partition_args(a, kth, axis, order, name):
    if order is not None:
        raise NotImplementedError(f"{name}: order= (structured arrays) is not supported")
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, len(vspace.shape_of(a)))
    return a, _static_int(kth, "kth"), axis


_argpartition = Primitive(
    "argpartition", lambda x, kth, axis, kind: np.argpartition(x, kth, axis=axis, kind=kind),
    differentiable=False,
)
_argpartition.defbatch(batch_axis_param("axis"))


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """``numpy.argpartition`` on plain or traced values (integer indices, no derivative).

    >>> argpartition(np.array([3.0, 1.0, 2.0]), 0)[0]
    np.int64(1)
    """
    a, kth, axis = _partition_args(a, kth, axis, order, "argpartition")
    return _argpartition.bind(a, kth=kth, axis=axis, kind=kind)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """Differentiable ``numpy.partition`` (NumPy's exact arrangement); the derivative follows
    each element to its place. Under ``grad``/``jvp`` only (the arrangement is NumPy's choice).

    >>> partition(np.array([3.0, 1.0, 4.0, 2.0]), 1)[1]
    np.float64(2.0)
    """
    a, kth, axis = _partition_args(a, kth, axis, order, "partition")
    x = concrete_static(a, "partition")
    out = np.partition(x, kth, axis=axis, kind=kind)
    if not isinstance(a, Tracer):
        return out
    return take_along_axis(a, matching_permutation(x, out, axis), axis)


# --- sort_complex -----------------------------------------------------------------------------
def _complex_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return dtype
    if dtype.char in "bhBH":  # NumPy's rule: 8- and 16-bit integers become complex64
        return np.dtype(np.complex64)
    return np.dtype(np.clongdouble if dtype.char == "g" else np.complex128)


def sort_complex(a):
    """Differentiable ``numpy.sort_complex``: sorted by real part, then imaginary part, as a
    complex array.

    >>> sort_complex(np.array([2.0, 1.0]))
    array([1.+0.j, 2.+0.j])
    """
    a = as_array(a)
    if not isinstance(a, Tracer):
        return np.sort_complex(a)
    return astype(sort(a, axis=-1), _complex_dtype(a.dtype))


__all__ = ["searchsorted", "lexsort", "argpartition", "partition", "sort_complex"]
