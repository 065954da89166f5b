"""Reductions and scans: sum, prod, max/min, cumsum/cumprod are primitives; mean, var, std, trace
(a sum of ``diagonal``) and diff are built on them; argmax, argmin, argsort, all and any are
non-differentiable primitives that still accept traced values and batch under ``vmap``.

Derivatives at the awkward points follow JAX:

- ``max``/``min`` send the cotangent to the positions equal to the extremum, split evenly among ties
  (the JVP is the mean of the tangents over the tied positions);
- ``prod`` never divides by ``x``: its partial derivatives are products of all *other* elements,
  formed from exclusive cumulative products taken from both ends, so zeros are exact;
- ``cumprod``'s rules are linear recurrences solved by a parallel scan (no division either), so its
  derivatives of every order are exact at zeros as well.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes, normalize_axis
from ..core.batching import batch_axis_param
from ..core.primitive import Primitive
from ._define import no_out as _no_out
from .backend import as_array
from .creation import ones_like
from .elementwise import (
    astype,
    imag,
    isnan,
    maximum,
    minimum,
    not_equal,
    real,
    sqrt,
    square,
    subtract,
    where,
)
from .indexing import diagonal
from .shape import broadcast_to, concatenate, moveaxis, ravel, reshape, transpose


# --- axis handling -------------------------------------------------------------------------------
def _normalize_axis(axis, ndim: int, *, strict: bool = False):
    """None, or a sorted tuple of non-negative axes. A 0-d array takes axis 0 or -1 (an empty
    tuple) as NumPy's ufunc reductions allow, unless ``strict`` (NumPy's mean, var and std)."""
    if axis is None:
        return None
    if ndim == 0 and not strict and not isinstance(axis, (tuple, list)) \
            and operator.index(axis) in (0, -1):
        return ()
    return tuple(sorted(normalize_axes(axis, ndim, duplicates="duplicate value in 'axis'")))


def keepdims_shape(shape: tuple, axis) -> tuple:
    """The shape a reduction over ``axis`` leaves with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else d for i, d in enumerate(shape))


def expand_reduced(g, x_shape: tuple, axis, keepdims: bool):
    """Broadcast a reduction's cotangent back over the reduced axes of ``x``."""
    if not keepdims and axis is not None:
        g = reshape(g, keepdims_shape(x_shape, axis))  # (a full reduction's g broadcasts as is)
    return broadcast_to(g, x_shape)


def _count(shape: tuple, axis) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axis], dtype=np.int64))


_batch_axis = batch_axis_param("axis")


def _batch_reduction(trace, prim, vals, batched, params):
    """Batch rule for reductions: shift the axes past the batch axis; 0-d elements: no reduction."""
    if len(vspace.shape_of(vals[0])) == 1:
        return prim.bind(vals[0], **{**params, "axis": ()})
    return _batch_axis(trace, prim, vals, batched, params)


# --- last-axis toolkit for the prod and cumprod rules (diffopt functions only: rules nest) -------
def _last(v, start=None, stop=None, step=None):
    """``v[..., start:stop:step]``."""
    return v[..., slice(start, stop, step)]


def _reverse(v):
    """``v`` reversed along its last axis."""
    return _last(v, step=-1)


def _shift_in_one(v):
    """``[1, v0, v1, ..., v(n-2)]`` along the last axis: turns a cumulative product exclusive."""
    return concatenate([ones_like(_last(v, stop=1)), _last(v, stop=-1)], axis=-1)


def _scan(combine, elems: tuple) -> tuple:
    """Inclusive scan of an associative ``combine(earlier, later)`` along the last axis.

    Hillis-Steele: ``ceil(log2 n)`` whole-array steps, each made of slices, ``combine`` and a
    concatenation, so the scan is differentiable and batchable like any diffopt code.
    """
    n = vspace.shape_of(elems[0])[-1]
    s = 1
    while s < n:
        new = combine(tuple(_last(e, stop=-s) for e in elems), tuple(_last(e, s) for e in elems))
        elems = tuple(concatenate([_last(e, stop=s), c], axis=-1)
                      for e, c in zip(elems, new, strict=True))
        s *= 2
    return elems


def _affine_compose(earlier, later):
    # (a, b) is the map r -> a r + b; applying `earlier` and then `later` gives this pair.
    (a1, b1), (a2, b2) = earlier, later
    return a1 * a2, a2 * b1 + b2


def _linrec(a, b):
    """The solution of ``r[i] = a[i] * r[i-1] + b[i]`` (``r[-1] = 0``) along the last axis."""
    return _scan(_affine_compose, (a, b))[1]


def _group_last(x, axis):
    """``x`` with the axes in ``axis`` (None: all) moved to the end and merged into one.

    Returns the regrouped value and a function mapping a value of that shape back to ``x``'s layout.
    """
    shape = vspace.shape_of(x)
    nd = len(shape)
    red = tuple(range(nd)) if axis is None else axis
    perm = tuple(i for i in range(nd) if i not in red) + tuple(red)
    moved = tuple(shape[i] for i in perm)
    kept = moved[: nd - len(red)]
    inverse = tuple(int(i) for i in np.argsort(perm))
    grouped = reshape(transpose(x, perm), kept + (_count(shape, red),))

    def undo(v):
        return transpose(reshape(v, moved), inverse)

    return grouped, undo


# --- sum -----------------------------------------------------------------------------------------
_sum = Primitive("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))
_sum.defjvp(lambda t, ans, x, axis, keepdims: _sum.bind(t, axis=axis, keepdims=keepdims))
_sum.defvjp(lambda g, ans, x, axis, keepdims: expand_reduced(g, vspace.shape_of(x), axis, keepdims))
_sum.defbatch(_batch_reduction)


def _reduce(prim, a, axis, keepdims):
    a = as_array(a)
    axis = _normalize_axis(axis, len(vspace.shape_of(a)))
    return prim.bind(a, axis=axis, keepdims=bool(keepdims))


def _cast(a, dtype):
    return a if dtype is None else astype(a, dtype)


def _masked(a, mask, fill):
    """``a`` where a reduction's ``where=`` mask is True and ``fill`` (the reduction's identity)
    elsewhere: NumPy's ``where=`` of sum, prod, max, min, mean, var, std, all and any."""
    a = as_array(a)
    if mask is True:
        return a
    return where(broadcast_to(as_array(mask), vspace.shape_of(a)), a, fill)


def _kept(mask, shape, axis, keepdims):
    """How many entries of each reduced slice ``mask`` keeps (``where=``), shaped as the result."""
    return _sum.bind(astype(broadcast_to(as_array(mask), shape), np.int64),
                     axis=_normalize_axis(axis, len(shape), strict=True), keepdims=bool(keepdims))


def identity_of(dtype, top: bool):
    """The identity of ``min`` (``top``) or ``max`` for ``dtype``: its largest or smallest value."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.inf if top else -np.inf
    if dtype.kind == "b":
        return bool(top)
    info = np.iinfo(dtype)
    return info.max if top else info.min


def sum(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None,  # noqa: A001
        where=True):
    """Differentiable ``numpy.sum`` (``initial`` is added; ``where=False`` entries count as 0).

    >>> sum(np.ones((2, 3)), axis=0)
    array([2., 2., 2.])
    >>> float(sum(np.array([1.0, 2.0, 4.0]), where=np.array([True, False, True]), initial=10.0))
    15.0
    """
    if out is not None:
        _no_out(out, "sum")
    if axis is None and dtype is None and initial is None and where is True \
            and hasattr(a, "shape"):  # the common call, kept cheap
        return _sum.bind(a, axis=None, keepdims=bool(keepdims))
    r = _reduce(_sum, _cast(_masked(a, where, 0), dtype), axis, keepdims)
    return r if initial is None else r + _same_dtype(as_array(initial), r)


def _same_dtype(x, like):
    """``x`` in ``like``'s dtype (NumPy casts a reduction's ``initial`` to the result's)."""
    dtype = getattr(like, "dtype", None)
    return x if dtype is None or x.dtype == dtype else astype(x, dtype)


def sum_axes(x, axes, keepdims: bool):
    return _sum.bind(x, axis=tuple(axes), keepdims=keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims: bool = False, *, where=True):
    """Differentiable ``numpy.mean`` (``where=``: the mean of the entries where it is True).

    >>> float(mean(np.array([1.0, 2.0, 3.0])))
    2.0
    >>> float(mean(np.array([1.0, 2.0, 6.0]), where=np.array([True, False, True])))
    3.5
    """
    _no_out(out, "mean")
    a = as_array(a)
    shape = vspace.shape_of(a)
    if where is True:
        n = _count(shape, _normalize_axis(axis, len(shape), strict=True))
    else:
        n = _kept(where, shape, axis, keepdims)
    return sum(a, axis=axis, dtype=dtype, keepdims=keepdims, where=where) / n


# --- cumsum, cumprod -----------------------------------------------------------------------------
def _cumsum_vjp(g, ans, x, axis):
    g = moveaxis(g, axis, -1)
    return moveaxis(_reverse(cumsum(_reverse(g), axis=-1)), -1, axis)


_cumsum = Primitive("cumsum", lambda x, axis: np.cumsum(x, axis=axis))
_cumsum.defjvp(lambda t, ans, x, axis: _cumsum.bind(t, axis=axis))
_cumsum.defvjp(_cumsum_vjp)
_cumsum.defbatch(_batch_axis)


def _cumprod_jvp(t, ans, x, axis):
    # dy[i] = x[i] dy[i-1] + t[i] y[i-1]: a linear recurrence, exact at zeros.
    x, t, y = (moveaxis(v, axis, -1) for v in (x, t, ans))
    return moveaxis(_linrec(x, t * _shift_in_one(y)), -1, axis)


def _cumprod_vjp(g, ans, x, axis):
    # xbar[j] = y[j-1] r[j] with r[j] = g[j] + x[j+1] r[j+1]: the transposed recurrence.
    x, g, y = (moveaxis(v, axis, -1) for v in (x, g, ans))
    r = _reverse(_linrec(_shift_in_one(_reverse(x)), _reverse(g)))
    return moveaxis(_shift_in_one(y) * r, -1, axis)


_cumprod = Primitive("cumprod", lambda x, axis: np.cumprod(x, axis=axis))
_cumprod.defjvp(_cumprod_jvp)
_cumprod.defvjp(_cumprod_vjp)
_cumprod.defbatch(_batch_axis)


def _scan_call(prim, a, axis, dtype, out, name):
    _no_out(out, name)
    a = _cast(as_array(a), dtype)
    if axis is None:
        a, axis = ravel(a), 0
    elif not vspace.shape_of(a):
        a = ravel(a)  # NumPy scans a 0-d array as a vector of one element
    return prim.bind(a, axis=normalize_axis(axis, len(vspace.shape_of(a))))


def cumsum(a, axis=None, dtype=None, out=None):
    """Differentiable ``numpy.cumsum``; ``axis=None`` scans the flattened array.

    >>> cumsum(np.array([1.0, 2.0, 3.0]))
    array([1., 3., 6.])
    """
    return _scan_call(_cumsum, a, axis, dtype, out, "cumsum")


def cumprod(a, axis=None, dtype=None, out=None):
    """Differentiable ``numpy.cumprod``; ``axis=None`` scans the flattened array.

    Derivatives of every order are exact, zeros in ``a`` included (the rules solve the product
    recurrence with a parallel scan instead of dividing by ``a``).

    >>> cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    """
    return _scan_call(_cumprod, a, axis, dtype, out, "cumprod")


# --- prod ----------------------------------------------------------------------------------------
def _prod_others(x, axis):
    """Each element's product of the *other* elements of its reduced group (no division)."""
    g, undo = _group_last(x, axis)
    last = len(vspace.shape_of(g)) - 1
    left = _shift_in_one(_cumprod.bind(g, axis=last))
    right = _reverse(_shift_in_one(_cumprod.bind(_reverse(g), axis=last)))
    return undo(left * right)


_prod = Primitive("prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims))
_prod.defjvp(lambda t, ans, x, axis, keepdims: _sum.bind(
    t * _prod_others(x, axis), axis=axis, keepdims=keepdims))
_prod.defvjp(lambda g, ans, x, axis, keepdims: expand_reduced(
    g, vspace.shape_of(x), axis, keepdims) * _prod_others(x, axis))
_prod.defbatch(_batch_reduction)


def prod(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None, where=True):
    """Differentiable ``numpy.prod``; derivatives are exact where ``a`` has zeros
    (``initial`` multiplies; ``where=False`` entries count as 1).

    >>> prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    """
    _no_out(out, "prod")
    r = _reduce(_prod, _cast(_masked(a, where, 1), dtype), axis, keepdims)
    return r if initial is None else r * _same_dtype(as_array(initial), r)


# --- max, min ------------------------------------------------------------------------------------
def _extremum_weights(x, ans, axis, keepdims):
    """1/k at the k positions of each group that attain the extremum (NaN wins, as in NumPy)."""
    shape = vspace.shape_of(x)
    a = ans if keepdims else reshape(ans, keepdims_shape(shape, axis))
    dtype = getattr(x, "dtype", np.dtype(np.float64))
    dtype = dtype if dtype.kind in "fc" else np.dtype(np.float64)
    w = astype((x == a) | isnan(x), dtype)
    return w / _sum.bind(w, axis=axis, keepdims=True)


def _extremum(name: str, impl) -> Primitive:
    prim = Primitive(name, lambda x, axis, keepdims: impl(x, axis=axis, keepdims=keepdims))
    prim.defjvp(lambda t, ans, x, axis, keepdims: _sum.bind(
        t * _extremum_weights(x, ans, axis, keepdims), axis=axis, keepdims=keepdims))
    prim.defvjp(lambda g, ans, x, axis, keepdims: expand_reduced(
        g, vspace.shape_of(x), axis, keepdims) * _extremum_weights(x, ans, axis, keepdims))
    prim.defbatch(_batch_reduction)
    return prim


_max = _extremum("max", np.max)
_min = _extremum("min", np.min)


def _extremum_call(prim, top: bool, a, axis, out, keepdims, initial, mask):
    """max (``top`` False) or min of ``a``, with NumPy's ``initial`` and ``where=``: masked
    entries take the identity, and ``initial`` joins every slice (and is the result of an empty
    one); the derivative goes to ``initial`` where it wins."""
    name = "min" if top else "max"
    _no_out(out, name)
    a = as_array(a)
    if initial is None:
        if mask is not True:
            raise ValueError(f"reduction operation '{'minimum' if top else 'maximum'}' does not "
                             "have an identity, so to use a where mask one has to specify "
                             "'initial'")
        return _reduce(prim, a, axis, keepdims)
    shape = vspace.shape_of(a)
    axes = _normalize_axis(axis, len(shape))
    dtype = a.dtype
    if _count(shape, axes) == 0:  # an empty slice: the result is initial
        out_shape = keepdims_shape(shape, axes) if keepdims else tuple(
            d for i, d in enumerate(shape) if axes is not None and i not in axes)
        return astype(broadcast_to(as_array(initial), out_shape), dtype)
    r = _reduce(prim, _masked(a, mask, identity_of(dtype, top)), axis, keepdims)
    return (minimum if top else maximum)(r, _same_dtype(as_array(initial), r))


def max(a, axis=None, out=None, keepdims: bool = False, initial=None,  # noqa: A001 - NumPy's
        where=True):
    """Differentiable ``numpy.max``: the derivative is shared evenly among tied maxima.

    >>> float(max(np.array([1.0, 3.0, 3.0])))  # 3.0; gradient [0., 0.5, 0.5]
    3.0
    >>> float(max(np.array([1.0, 3.0]), where=np.array([True, False]), initial=0.0))
    1.0
    """
    return _extremum_call(_max, False, a, axis, out, keepdims, initial, where)


def min(a, axis=None, out=None, keepdims: bool = False, initial=None,  # noqa: A001 - NumPy's
        where=True):
    """Differentiable ``numpy.min``: the derivative is shared evenly among tied minima.

    >>> min(np.array([[1.0, 3.0], [0.0, 2.0]]), axis=0)
    array([0., 2.])
    """
    return _extremum_call(_min, True, a, axis, out, keepdims, initial, where)


amax, amin = max, min


# --- var, std ------------------------------------------------------------------------------------
def ddof_of(ddof, correction):
    """The degrees of freedom removed, from NumPy's ``ddof`` or the array API's ``correction``."""
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims: bool = False, *, where=True,
        mean=None, correction=None):
    """Differentiable ``numpy.var``: ``sum(|a - mean|**2) / (n - ddof)``, real for complex ``a``
    (``where=``: over the entries where it is True; ``mean``: a precomputed mean, kept dims).

    >>> float(var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1))
    1.66667
    """
    _no_out(out, "var")
    ddof = ddof_of(ddof, correction)
    a = _cast(as_array(a), dtype)
    shape = vspace.shape_of(a)
    axis = _normalize_axis(axis, len(shape), strict=True)
    m = _mean(a, axis=axis, keepdims=True, where=where) if mean is None else mean
    d = a - m
    sq = square(real(d)) + square(imag(d)) if vspace.is_complex(d) else square(d)
    if where is True:
        n = builtins.max(_count(shape, axis) - ddof, 0)
    else:
        n = maximum(_kept(where, shape, axis, keepdims) - ddof, 0)
    return sum(sq, axis=axis, keepdims=keepdims, where=where) / n


_mean = mean  # var's keyword ``mean`` hides the function inside it


def scalar_if_0d(x):
    """A plain 0-d array as a NumPy scalar, as NumPy reductions return it (tracers as they are)."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


def safe_sqrt(v):
    """``sqrt(v)`` for ``v >= 0`` whose derivatives of every order are 0 where ``v`` is 0 (not
    infinite): the square root is taken of ``where(v > 0, v, 1)``, so no branch divides by zero,
    and ``0 * v`` stands in where ``v`` is 0 (NaN stays NaN)."""
    positive = v > 0
    return scalar_if_0d(where(positive, sqrt(where(positive, v, 1)), 0 * v))


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims: bool = False, *, where=True,
        mean=None, correction=None):
    """Differentiable ``numpy.std``: the square root of ``var``. Where the variance is 0 (one
    element, or a constant slice) the derivative is taken as 0 (to every order), not infinite.

    >>> float(std(np.array([1.0, 3.0])))
    1.0
    """
    return safe_sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                         correction=correction))


# --- trace, diff ---------------------------------------------------------------------------------
def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """Differentiable ``numpy.trace``: the sum along a diagonal of the (axis1, axis2) planes.

    >>> float(trace(np.eye(3)))
    3.0
    """
    _no_out(out, "trace")
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


_NOVALUE = object()


def diff(a, n: int = 1, axis: int = -1, prepend=_NOVALUE, append=_NOVALUE):
    """Differentiable ``numpy.diff``: the ``n``-th discrete difference along ``axis``.

    >>> diff(np.array([1.0, 4.0, 9.0]))
    array([3., 5.])
    """
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    a = as_array(a)
    shape = vspace.shape_of(a)
    if not shape:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, len(shape))
    if n == 0:
        return a
    edge = shape[:axis] + (1,) + shape[axis + 1:]
    parts = [a]
    for extra, at_end in ((prepend, False), (append, True)):
        if extra is _NOVALUE:
            continue
        extra = as_array(extra)
        if not vspace.shape_of(extra):
            extra = broadcast_to(extra, edge)
        parts.insert(len(parts) if at_end else 0, extra)
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    op = not_equal if a.dtype == np.bool_ else subtract
    lead = (slice(None),) * axis
    for _ in range(n):
        a = op(a[lead + (slice(1, None),)], a[lead + (slice(None, -1),)])
    return a


# --- non-differentiable: argmax, argmin, argsort, all, any ---------------------------------------
def _nondiff(name: str, impl, batch) -> Primitive:
    prim = Primitive(name, impl, differentiable=False)
    prim.defbatch(batch)
    return prim


_argmax = _nondiff("argmax", lambda x, axis, keepdims: np.argmax(x, axis=axis, keepdims=keepdims),
                   _batch_axis)
_argmin = _nondiff("argmin", lambda x, axis, keepdims: np.argmin(x, axis=axis, keepdims=keepdims),
                   _batch_axis)
_argsort = _nondiff(
    "argsort",
    lambda x, axis, kind, stable: np.argsort(
        x, axis=axis, **{k: v for k, v in (("kind", kind), ("stable", stable)) if v is not None}),
    _batch_axis,
)
_all = _nondiff("all", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims),
                _batch_reduction)
_any = _nondiff("any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims),
                _batch_reduction)


def _arg_reduce(prim, a, axis, out, keepdims, name):
    _no_out(out, name)
    a = as_array(a)
    shape = vspace.shape_of(a)
    if axis is None:
        res = prim.bind(ravel(a), axis=0, keepdims=False)
        return reshape(res, (1,) * len(shape)) if keepdims else res
    if not shape:  # NumPy reads a 0-d array as a vector of one element
        return prim.bind(ravel(a), axis=normalize_axis(axis, 1), keepdims=False)
    return prim.bind(a, axis=normalize_axis(axis, len(shape)), keepdims=bool(keepdims))


def argmax(a, axis=None, out=None, *, keepdims: bool = False):
    """``numpy.argmax`` on plain or traced values (integer indices, no derivative).

    >>> int(argmax(np.array([1.0, 3.0, 2.0])))
    1
    """
    return _arg_reduce(_argmax, a, axis, out, keepdims, "argmax")


def argmin(a, axis=None, out=None, *, keepdims: bool = False):
    """``numpy.argmin`` on plain or traced values (integer indices, no derivative).

    >>> int(argmin(np.array([1.0, 3.0, 0.0])))
    2
    """
    return _arg_reduce(_argmin, a, axis, out, keepdims, "argmin")


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``numpy.argsort`` on plain or traced values (integer indices, no derivative).

    >>> argsort(np.array([3.0, 1.0, 2.0]))
    array([1, 2, 0])
    """
    if order is not None:
        raise NotImplementedError("diffopt.numpy.argsort does not support order= (structured "
                                  "arrays); sort by a key array instead")
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    elif not vspace.shape_of(a):
        a = ravel(a)  # NumPy reads a 0-d array as a vector of one element
    return _argsort.bind(a, axis=normalize_axis(axis, len(vspace.shape_of(a))), kind=kind,
                         stable=stable)


def all(a, axis=None, out=None, keepdims: bool = False, *, where=True):  # noqa: A001
    """``numpy.all`` on plain or traced values (a boolean, no derivative).

    >>> bool(all(np.array([1.0, 2.0]) > 0))
    True
    """
    _no_out(out, "all")
    return _reduce(_all, _masked(a, where, True), axis, keepdims)


def any(a, axis=None, out=None, keepdims: bool = False, *, where=True):  # noqa: A001
    """``numpy.any`` on plain or traced values (a boolean, no derivative).

    >>> bool(any(np.array([1.0, -2.0]) < 0))
    True
    """
    _no_out(out, "any")
    return _reduce(_any, _masked(a, where, False), axis, keepdims)


__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "cumsum",
    "cumprod", "trace", "diff", "argmax", "argmin", "argsort", "all", "any"]
