"""Statistics: order statistics (quantile, percentile, median and their NaN-ignoring forms), the
NaN-ignoring reductions and scans, average, ptp, count_nonzero, the array-API cumulative_sum and
cumulative_prod, cov, corrcoef, and the binning functions (bincount, histograms, digitize).

Everything is written with differentiable ``diffopt.numpy`` functions, so derivatives of every
order come from theirs:

- the order statistics sort the data (``sort`` carries the derivative along the permutation) and
  gather the order statistics NumPy's ``method`` names with ``take_along_axis``; the interpolating
  methods are also differentiable in ``q`` (through the interpolation weight), the others have a
  zero derivative in ``q``. The NaN-ignoring forms count the valid entries of each slice with
  traced values too, so they batch under ``vmap``;
- the ``nan*`` reductions replace NaN (and ``where=False`` positions) by the operation's identity
  with ``where``, so NaN entries get a zero derivative;
- counts and bin indices carry no derivative: ``bincount`` and the histograms are differentiable in
  ``weights``, and with ``density=True`` (or when the edges come from the data's range) also in
  the data through the bin edges.
"""

from __future__ import annotations

import builtins
import functools
import operator
import warnings

import numpy as np

from ..core import vspace
from ..core.batching import batch_by_loop
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .elementwise import (
    around,
    astype,
    ceil,
    clip,
    conj,
    floor,
    imag,
    isnan,
    maximum,
    minimum,
    real,
    square,
)
from .elementwise import where as _select
from .indexing import at, diag, sort, take_along_axis
from .products import dot
from .ranges import linspace
from .reductions import (
    _count,
    _no_out,
    _normalize_axis,
    all,
    any,
    argmax,
    argmin,
    cumprod,
    cumsum,
    ddof_of,
    identity_of,
    keepdims_shape,
    max,
    mean,
    min,
    prod,
    safe_sqrt,
    scalar_if_0d,
    sum,
)
from .shape import (
    atleast_2d,
    broadcast_to,
    concatenate,
    ravel,
    reshape,
    squeeze,
    stack,
    transpose,
)


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _traced(*xs) -> bool:
    return builtins.any(isinstance(x, Tracer) for x in xs)


def _exact(x, name: str):
    """The plain value of ``x`` for index computations (refused where ``x`` is batched)."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    c = concrete(x)
    if np.shape(c) != _shape(x):
        raise NotImplementedError(f"diffopt.numpy.{name}: its counts and bin indices come from "
                                  "plain values; batching the data with vmap is not supported "
                                  "(loop over the batch instead)")
    return np.asarray(c)


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


# --- order statistics ----------------------------------------------------------------------------
def _hyndman_fan(alpha, beta):
    """The virtual index of the continuous methods of Hyndman and Fan, as NumPy writes it."""
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


def _to_boundaries(index, condition):
    """NumPy's ``_discrete_interpolation_to_boundaries``: the lower or the upper neighbour."""
    previous = floor(index)
    return _select(condition(index - previous, index), previous, previous + 1)


# method: (virtual index of (n, q), fix of gamma); gamma None: a discrete method (no interpolation),
# "as is": gamma = index - floor(index), differentiable in q; else gamma from (gamma, index).
_METHODS = {
    "inverted_cdf": (lambda n, q: _to_boundaries(n * q - 1, lambda g, i: g == 0), None),
    "averaged_inverted_cdf": (lambda n, q: n * q - 1,
                              lambda g, i: _select(g == 0, 0.5, 1.0)),
    "closest_observation": (lambda n, q: _to_boundaries(
        n * q - 1 - 0.5, lambda g, i: (g == 0) & (floor(i) % 2 == 1)), None),
    "interpolated_inverted_cdf": (_hyndman_fan(0, 1), "as is"),  # (integer alpha, beta: as
    # NumPy, whose virtual index, and then result, stay integer for an integer q)
    "hazen": (_hyndman_fan(0.5, 0.5), "as is"),
    "weibull": (_hyndman_fan(0, 0), "as is"),
    "linear": (lambda n, q: (n - 1) * q, "as is"),
    "median_unbiased": (_hyndman_fan(1 / 3.0, 1 / 3.0), "as is"),
    "normal_unbiased": (_hyndman_fan(3 / 8.0, 3 / 8.0), "as is"),
    "lower": (lambda n, q: floor((n - 1) * q), None),
    "higher": (lambda n, q: ceil((n - 1) * q), None),
    "midpoint": (lambda n, q: 0.5 * (floor((n - 1) * q) + ceil((n - 1) * q)),
                 lambda g, i: _select(i % 1 == 0, 0.0, 0.5)),
    "nearest": (lambda n, q: around((n - 1) * q), None),
}


def _lerp(a, b, t):
    """NumPy's ``_lerp``: ``a + (b - a) t``, written from ``b``'s side for ``t >= 0.5``."""
    d = b - a
    return _select(t >= 0.5, b - d * (1 - t), a + d * t)


def _reduced_to_front(a, axis):
    """``a`` with the axes in ``axis`` (a normalized tuple, None: all) merged into a leading one."""
    shape = _shape(a)
    red = tuple(range(len(shape))) if axis is None else axis
    kept = tuple(i for i in range(len(shape)) if i not in red)
    moved = transpose(a, red + kept)
    return reshape(moved, (_count(shape, red),) + tuple(shape[i] for i in kept))


@functools.lru_cache(maxsize=256)
def _numpy_dtype(name, a_dtype, q_type, method):
    """The dtype of NumPy's result (it depends on the method, and on whether ``q`` is a Python
    scalar, whose precision yields to the data's): NumPy's function on a one-element array."""
    q = q_type(0) if isinstance(q_type, type) else np.zeros((), q_type)
    fn = getattr(np, {"median": "quantile", "nanmedian": "nanquantile"}.get(name, name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(np.zeros(1, a_dtype), q, method=method).dtype


def _quantile(a, q, axis, method, keepdims, *, ignore_nan, name, weights=None, scale=1):
    """The quantiles ``q / scale`` of ``a`` (percentile: scale 100), as NumPy computes them."""
    a = as_array(a)
    if a.dtype.kind == "c":
        raise TypeError("a must be an array of real numbers")
    if method not in _METHODS:
        raise ValueError(f"{method!r} is not a valid method. Use one of: {list(_METHODS)}")
    q_given, q_is_scalar = q, type(q) in (int, float)
    q = as_array(q)
    qc = np.asarray(concrete(q))
    lo, hi = (0, 100) if scale == 100 else (0, 1)
    if qc.size and not (np.all(qc >= lo) and np.all(qc <= hi)):
        raise ValueError(f"{'Percentiles' if scale == 100 else 'Quantiles'} must be in the range "
                         f"[{lo}, {hi}]")
    dtype = _numpy_dtype(name, a.dtype, type(q_given) if q_is_scalar else q.dtype, method)
    if scale != 1:
        q = q / scale
        if q.dtype.kind != "f":
            q = astype(q, np.float64)
    if weights is not None and method != "inverted_cdf":
        raise ValueError(f"Only method 'inverted_cdf' supports weights. Got: {method}.")
    shape = _shape(a)
    axis_given, axis = axis, _normalize_axis(axis, len(shape), strict=True)
    arr = _reduced_to_front(a, axis)
    size, rest = _shape(arr)[0], _shape(arr)[1:]
    qshape = _shape(q)
    qb = reshape(q, qshape + (1,) * len(rest))
    inexact = a.dtype.kind == "f"
    if ignore_nan and inexact:
        n = sum(astype(~isnan(arr), np.intp), axis=0)  # the valid entries of each slice
        if q.dtype.kind == "f":
            n = astype(n, q.dtype)  # NumPy's count is a Python int: it keeps q's precision
        if np.any(concrete(n) == 0):
            _warn("All-NaN slice encountered")
    else:
        n = size
    virtual, fix = _METHODS[method]
    vi = virtual(n, qb)
    if method == "linear" and q.dtype.kind in "biu":
        fix = None  # NumPy takes integer virtual indices as they are
    last = n - 1
    if fix is None:
        prev = nxt = vi
    else:
        prev = floor(vi)
        nxt = _select(vi >= last, last, _select(vi < 0, 0, prev + 1))
        prev = _select(vi >= last, last, _select(vi < 0, 0, prev))
        gamma = vi - prev if fix == "as is" else fix(vi - prev, vi)
    full = qshape + rest
    flat = (int(np.prod(qshape, dtype=np.int64)),) + rest
    if size == 0:
        # (NumPy's nan* forms give empty slices the shape of a mean: q's axes are left out)
        reduced = keepdims_shape(shape, axis) if keepdims else rest
        return _empty_quantile(name, reduced if ignore_nan else qshape + reduced, dtype)
    if weights is not None:
        w = _weights_like(as_array(weights), shape, axis_given, axis)
        out, tail = _weighted_inverted_cdf(arr, _reduced_to_front(broadcast_to(w, shape), axis),
                                           qc if scale == 1 else qc / scale, ignore_nan, name)
    else:
        srt = sort(arr, axis=0)
        tail = srt[-1]

        def gather(index):
            index = clip(astype(index, np.intp), 0, builtins.max(size - 1, 0))
            index = reshape(broadcast_to(index, full), flat)
            return reshape(take_along_axis(srt, index, axis=0), full)

        out = gather(prev) if fix is None else _lerp(gather(prev), gather(nxt), gamma)
    if inexact and not ignore_nan:  # NaN sorts last: any NaN in a slice makes its quantiles NaN
        out = _select(isnan(tail), tail, out)
    elif inexact and weights is not None:
        out = _select(concrete(n) == 0, np.nan, out)
    out = astype(out, dtype)
    if keepdims:
        out = reshape(out, qshape + keepdims_shape(shape, axis))
    return scalar_if_0d(out)


def _weighted_inverted_cdf(arr, w, q, ignore_nan, name):
    """NumPy's weighted ``inverted_cdf``: per slice of ``arr`` (reduced axis first), the first
    sorted entry whose share of the weight reaches ``q``. The positions come from plain values,
    so the result is differentiable in ``arr`` (the weights only choose: no derivative)."""
    ac, wc = _exact(arr, name), np.array(_exact(w, name), dtype=float)
    if np.any(wc < 0):
        raise ValueError("Weights must be non-negative.")
    size, rest = ac.shape[0], ac.shape[1:]
    perm = np.argsort(ac, axis=0)
    wc = np.take_along_axis(wc, perm, axis=0)
    if ignore_nan:
        nan = np.isnan(np.take_along_axis(ac, perm, axis=0))
        wc[nan] = 0
        wc[:, np.all(nan, axis=0)] = 1  # all-NaN slices: NaN, set afterwards
    cdf = wc.cumsum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf /= cdf[-1]
    if np.isnan(cdf[-1]).any():
        raise ValueError("Weights included NaN, inf or were all zero.")
    if q.dtype.kind == "f":
        cdf = cdf.astype(q.dtype)
    if np.any(cdf[0] == 0):
        cdf[cdf == 0] = -1
    index = np.empty((q.size,) + rest, dtype=np.intp)
    for k in np.ndindex(rest):
        at_k = (slice(None),) + k
        index[at_k] = np.minimum(np.searchsorted(cdf[at_k], q.ravel(), side="left"), size - 1)
    picked = take_along_axis(arr, np.take_along_axis(perm, index, axis=0), axis=0)
    tail = take_along_axis(arr, perm[-1:], axis=0)[0]
    return reshape(picked, q.shape + rest), tail


def _empty_quantile(name, shape, dtype):
    """NumPy's order statistics of empty slices: an IndexError for ``quantile`` and
    ``percentile``, NaN with a warning for the others (nothing to say for an empty result)."""
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return np.empty(shape, dtype)
    if name in ("quantile", "percentile"):
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")
    _warn("Mean of empty slice")
    return scalar_if_0d(np.full(shape, np.nan, dtype))


def _order_statistic(name: str, *, ignore_nan: bool, scale: int, doc: str):
    def fn(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
           weights=None):
        _no_out(out, name)
        return _quantile(a, q, axis, method, keepdims, ignore_nan=ignore_nan, name=name,
                         weights=weights, scale=scale)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


quantile = _order_statistic("quantile", ignore_nan=False, scale=1, doc="""\
Differentiable ``numpy.quantile`` (every ``method``), in ``a`` and, for the interpolating methods,
in ``q``; ``weights=`` with ``method="inverted_cdf"`` (as NumPy).

>>> quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.25)
np.float64(1.75)
""")
percentile = _order_statistic("percentile", ignore_nan=False, scale=100, doc="""\
Differentiable ``numpy.percentile``: ``quantile`` at ``q / 100``.

>>> percentile(np.array([1.0, 2.0, 3.0, 4.0]), [25, 50])
array([1.75, 2.5 ])
""")
nanquantile = _order_statistic("nanquantile", ignore_nan=True, scale=1, doc="""\
Differentiable ``numpy.nanquantile``: ``quantile`` of the non-NaN entries of each slice.

>>> float(nanquantile(np.array([1.0, np.nan, 3.0]), 0.5))
2.0
""")
nanpercentile = _order_statistic("nanpercentile", ignore_nan=True, scale=100, doc="""\
Differentiable ``numpy.nanpercentile``: ``nanquantile`` at ``q / 100``.

>>> float(nanpercentile(np.array([1.0, np.nan, 3.0]), 50))
2.0
""")


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Differentiable ``numpy.median`` (the 0.5 quantile; the derivative of an even-length median
    is shared by the two middle entries).

    >>> float(median(np.array([3.0, 1.0, 4.0, 2.0])))
    2.5
    """
    _no_out(out, "median")
    return _quantile(a, 0.5, axis, "linear", keepdims, ignore_nan=False, name="median")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Differentiable ``numpy.nanmedian``: the median of the non-NaN entries of each slice.

    >>> float(nanmedian(np.array([3.0, np.nan, 1.0])))
    2.0
    """
    _no_out(out, "nanmedian")
    return _quantile(a, 0.5, axis, "linear", keepdims, ignore_nan=True, name="nanmedian")


# --- NaN-ignoring reductions and scans -----------------------------------------------------------
def _inexact(a) -> bool:
    return a.dtype.kind in "fc"


def _skip_mask(a, where):
    """Where ``a`` is NaN or ``where`` is False (None: nothing to skip)."""
    mask = isnan(a) if _inexact(a) else None
    if where is not True:
        off = ~as_array(where).astype(bool) if not isinstance(where, Tracer) else ~where
        mask = off if mask is None else mask | off
    return mask


def _filled(a, where, fill):
    a = as_array(a)
    mask = _skip_mask(a, where)
    return a if mask is None else _select(mask, fill, a)


def _with_initial(r, initial, combine):
    return r if initial is None else combine(r, initial)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Differentiable ``numpy.nansum``: NaN counts as 0 (with a zero derivative).

    >>> float(nansum(np.array([1.0, np.nan, 2.0])))
    3.0
    """
    _no_out(out, "nansum")
    r = sum(_filled(a, where, 0), axis=axis, dtype=dtype, keepdims=keepdims)
    return _with_initial(r, initial, lambda x, y: x + y)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Differentiable ``numpy.nanprod``: NaN counts as 1 (with a zero derivative).

    >>> float(nanprod(np.array([2.0, np.nan, 3.0])))
    6.0
    """
    _no_out(out, "nanprod")
    r = prod(_filled(a, where, 1), axis=axis, dtype=dtype, keepdims=keepdims)
    return _with_initial(r, initial, lambda x, y: x * y)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Differentiable ``numpy.nancumsum``: NaN counts as 0.

    >>> nancumsum(np.array([1.0, np.nan, 2.0]))
    array([1., 1., 3.])
    """
    return cumsum(_filled(a, True, 0), axis=axis, dtype=dtype, out=out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Differentiable ``numpy.nancumprod``: NaN counts as 1.

    >>> nancumprod(np.array([2.0, np.nan, 3.0]))
    array([2., 2., 6.])
    """
    return cumprod(_filled(a, True, 1), axis=axis, dtype=dtype, out=out)


def _valid_count(a, where, axis, keepdims):
    mask = _skip_mask(a, where)
    if mask is None:
        return _count(_shape(a), _normalize_axis(axis, len(_shape(a)), strict=True))
    return sum(astype(~mask, np.intp), axis=axis, keepdims=keepdims)


def _mean_dtype(a, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    return a.dtype if _inexact(a) else np.dtype(np.float64)


def _divide_valid(total, count, bad):
    """``total / count``, NaN where ``bad`` (no division by zero: no warning, no NaN derivative)."""
    if isinstance(count, int):
        return total / count if not bad else total * np.nan
    return _select(bad, np.nan, total / _select(bad, 1, count))


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Differentiable ``numpy.nanmean``: the mean of the non-NaN entries (NaN, with NumPy's warning,
    for a slice without any).

    >>> float(nanmean(np.array([1.0, np.nan, 2.0])))
    1.5
    """
    _no_out(out, "nanmean")
    a = as_array(a)
    out_dtype = _mean_dtype(a, dtype)
    total = sum(_filled(a, where, 0), axis=axis, dtype=out_dtype, keepdims=keepdims)
    cnt = _valid_count(a, where, axis, keepdims)
    empty = cnt == 0
    if np.any(concrete(empty)):
        _warn("Mean of empty slice")
    return scalar_if_0d(astype(_divide_valid(total, cnt, empty), out_dtype))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
           correction=None):
    """Differentiable ``numpy.nanvar``: the variance of the non-NaN entries, real for complex ``a``.

    >>> float(nanvar(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    _no_out(out, "nanvar")
    ddof = ddof_of(ddof, correction)
    a = as_array(a)
    out_dtype = _mean_dtype(a, dtype)
    arr = _filled(a, where, 0)
    mask = _skip_mask(a, where)
    cnt = _valid_count(a, where, axis, True)
    if mean is None:
        mean = _divide_valid(sum(arr, axis=axis, dtype=out_dtype, keepdims=True), cnt, cnt == 0)
    d = arr - mean
    if mask is not None:
        d = _select(mask, 0, d)
    sq = square(real(d)) + square(imag(d)) if vspace.is_complex(d) else square(d)
    dof = (cnt if keepdims else _valid_count(a, where, axis, False)) - ddof
    bad = dof <= 0
    if np.any(concrete(bad)):
        _warn("Degrees of freedom <= 0 for slice.")
    real_dtype = np.finfo(out_dtype).dtype if out_dtype.kind in "fc" else out_dtype
    return scalar_if_0d(astype(_divide_valid(sum(sq, axis=axis, keepdims=keepdims), dof, bad),
                               real_dtype))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True, mean=None,
           correction=None):
    """Differentiable ``numpy.nanstd``: the square root of ``nanvar`` (derivative 0 where it is 0).

    >>> float(nanstd(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    return safe_sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                            correction=correction))


def _nan_extremum(name, reduce, combine, top, a, axis, out, keepdims, initial, where):
    _no_out(out, name)
    a = as_array(a)
    r = reduce(_filled(a, where, identity_of(a.dtype, top)), axis=axis, keepdims=keepdims)
    if initial is not None:
        return combine(r, initial)
    nd = len(_shape(a))
    if where is not True and np.any(concrete(~any(broadcast_to(as_array(where), _shape(a)),
                                                                axis=axis))):
        raise ValueError(f"reduction operation {'fmin' if top else 'fmax'} has no identity: pass "
                         "initial= where a slice has no where=True entry")
    if _inexact(a):
        empty = all(isnan(a), axis=axis, keepdims=keepdims) if nd else isnan(a)
        if np.any(concrete(empty)):
            _warn("All-NaN slice encountered")
            r = _select(empty, np.nan, r)
    return scalar_if_0d(r)


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    """Differentiable ``numpy.nanmax``: the maximum of the non-NaN entries (ties share the
    derivative; NaN, with NumPy's warning, for an all-NaN slice).

    >>> float(nanmax(np.array([1.0, np.nan, 3.0])))
    3.0
    """
    return _nan_extremum("nanmax", max, maximum, False, a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    """Differentiable ``numpy.nanmin``: the minimum of the non-NaN entries.

    >>> float(nanmin(np.array([1.0, np.nan, 3.0])))
    1.0
    """
    return _nan_extremum("nanmin", min, minimum, True, a, axis, out, keepdims, initial, where)


def _nan_arg(name, fn, top, a, axis, out, keepdims):
    a = as_array(a)
    if _inexact(a):
        nan = isnan(a)
        nd = len(_shape(a))
        if np.any(concrete(all(nan, axis=axis) if nd else nan)):
            raise ValueError("All-NaN slice encountered")
        a = _select(nan, identity_of(a.dtype, top), a)
    return fn(a, axis=axis, out=out, keepdims=keepdims)


def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """``numpy.nanargmax`` (integer indices, no derivative; ValueError for an all-NaN slice).

    >>> int(nanargmax(np.array([1.0, np.nan, 3.0])))
    2
    """
    return _nan_arg("nanargmax", argmax, False, a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """``numpy.nanargmin`` (integer indices, no derivative; ValueError for an all-NaN slice).

    >>> int(nanargmin(np.array([1.0, np.nan, 3.0])))
    0
    """
    return _nan_arg("nanargmin", argmin, True, a, axis, out, keepdims)


def _weights_like(w, shape, axis, nax):
    """NumPy's ``_weights_are_valid``: weights of ``a``'s shape, or of its ``axis`` dimensions
    (in ``axis``'s order) shaped to broadcast against ``a``."""
    if _shape(w) == shape:
        return w
    if nax is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    given = tuple(operator.index(x) % len(shape)
                  for x in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if _shape(w) != tuple(shape[x] for x in given):
        raise ValueError("Shape of weights must be consistent with shape of a along specified "
                         "axis.")
    w = transpose(w, tuple(int(i) for i in np.argsort(given)))
    return reshape(w, tuple(s if i in nax else 1 for i, s in enumerate(shape)))


# --- average, ptp, count_nonzero, cumulative_sum / cumulative_prod -------------------------------
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Differentiable ``numpy.average``, in ``a`` and in ``weights``.

    >>> float(average(np.array([1.0, 2.0, 4.0]), weights=np.array([2.0, 1.0, 1.0])))
    2.0
    """
    a = as_array(a)
    shape = _shape(a)
    nax = _normalize_axis(axis, len(shape), strict=True)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scl = avg.dtype.type(_count(shape, nax))
    else:
        w = as_array(weights)
        result_dtype = np.result_type(a.dtype, w.dtype, *(() if _inexact(a) else ("f8",)))
        w = _weights_like(w, shape, axis, nax)
        scl = sum(astype(w, result_dtype), axis=nax, keepdims=keepdims)
        if np.any(concrete(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = sum(astype(a, result_dtype) * w, axis=nax, keepdims=keepdims) / scl
    if not returned:
        return avg
    if _shape(scl) != _shape(avg):
        scl = broadcast_to(scl, _shape(avg))
    return avg, scl


def ptp(a, axis=None, out=None, keepdims=False):
    """Differentiable ``numpy.ptp``: ``max - min`` along ``axis``.

    >>> float(ptp(np.array([4.0, 1.0, 3.0])))
    3.0
    """
    _no_out(out, "ptp")
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def count_nonzero(a, axis=None, *, keepdims=False):
    """``numpy.count_nonzero`` on plain or traced values (an integer count, no derivative).

    >>> int(count_nonzero(np.array([0.0, 1.0, 2.0])))
    2
    """
    a = as_array(a)
    return sum(astype(a != 0, np.intp), axis=axis, keepdims=keepdims)


def _cumulative(name, scan, identity, x, axis, dtype, out, include_initial):
    _no_out(out, name)
    x = as_array(x)
    nd = len(_shape(x))
    if axis is None:
        if nd > 1:
            raise ValueError("For arrays which have more than one dimension ``axis`` argument "
                             "is required.")
        axis = 0
    r = scan(x if nd else ravel(x), axis=axis, dtype=dtype)
    if include_initial:
        ax = operator.index(axis) % len(_shape(r))
        edge = tuple(1 if i == ax else s for i, s in enumerate(_shape(r)))
        first = array_module(concrete(r)).full(edge, identity, dtype=r.dtype)
        r = concatenate([first, r], axis=ax)
    return r


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Differentiable ``numpy.cumulative_sum`` (array API): ``include_initial`` prepends 0.

    >>> cumulative_sum(np.array([1.0, 2.0, 3.0]), include_initial=True)
    array([0., 1., 3., 6.])
    """
    return _cumulative("cumulative_sum", cumsum, 0, x, axis, dtype, out, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Differentiable ``numpy.cumulative_prod`` (array API): ``include_initial`` prepends 1.

    >>> cumulative_prod(np.array([1.0, 2.0, 3.0]), include_initial=True)
    array([1., 1., 2., 6.])
    """
    return _cumulative("cumulative_prod", cumprod, 1, x, axis, dtype, out, include_initial)


# --- cov, corrcoef -------------------------------------------------------------------------------
def _check_sample_weights(w, kind: str, n: int):
    wc = np.asarray(concrete(w))
    if kind == "fweights" and not np.all(wc == np.around(wc)):
        raise TypeError("fweights must be integer")
    if wc.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {kind}")
    if wc.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {kind}")
    if np.any(wc < 0):
        raise ValueError(f"{kind} cannot be negative")


def _variables(m, rowvar, dtype, what):
    m = as_array(m)
    if len(_shape(m)) > 2:
        raise ValueError(f"{what} has more than 2 dimensions")
    x = atleast_2d(astype(m, dtype))
    return transpose(x) if not rowvar and _shape(x)[0] != 1 else x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Differentiable ``numpy.cov``, in ``m``, ``y`` and ``aweights``.

    >>> cov(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if dtype is None:
        dtype = np.result_type(*(as_array(v).dtype for v in (m, y) if v is not None), np.float64)
    x = _variables(m, rowvar, dtype, "m")
    if _shape(x)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        x = concatenate([x, _variables(y, rowvar, dtype, "y")], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = _shape(x)[1]
    w = None
    if fweights is not None:
        fweights = as_array(fweights)
        _check_sample_weights(fweights, "fweights", n)
        w = fweights
    if aweights is not None:
        aweights = as_array(aweights)
        _check_sample_weights(aweights, "aweights", n)
        w = aweights if w is None else w * aweights
    avg, w_sum = average(x, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = n - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * sum(w * aweights) / w_sum
    if np.any(concrete(fact) <= 0):
        _warn("Degrees of freedom <= 0 for slice")
        fact = 0.0
    x = x - avg[:, None]
    xt = transpose(x if w is None else x * w)
    with np.errstate(divide="ignore"):
        scale = np.true_divide(1, fact) if isinstance(fact, float) else 1 / fact
    c = dot(x, conj(xt)) * scale
    return squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Differentiable ``numpy.corrcoef``: ``cov`` scaled by the standard deviations, clipped to
    [-1, 1] as NumPy does.

    >>> corrcoef(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if not _shape(c):
        return c / c
    stddev = safe_sqrt(real(diag(c)))
    c = c / stddev[:, None] / stddev[None, :]
    if vspace.is_complex(c):
        return clip(real(c), -1, 1) + 1j * clip(imag(c), -1, 1)
    return clip(c, -1, 1)


# --- bincount, digitize, histograms --------------------------------------------------------------
def bincount(x, /, weights=None, minlength=0):
    """``numpy.bincount``, differentiable in ``weights`` (the counts of ``x`` carry none).

    >>> bincount(np.array([0, 1, 1, 3]), weights=np.array([0.5, 1.0, 1.0, 2.0]))
    array([0.5, 2. , 0. , 2. ])
    """
    xc = _exact(x, "bincount")
    expected = np.bincount(xc, None if weights is None else np.asarray(concrete(weights)),
                           minlength)  # NumPy's checks and result
    if not _traced(weights):
        return expected
    w = astype(as_array(weights), np.float64)
    return at(np.zeros(expected.shape, np.float64))[xc.astype(np.intp)].add(w)


_digitize = Primitive("digitize", lambda x, bins, right: np.digitize(x, bins, right),
                      differentiable=False)


def _digitize_batch(trace, prim, vals, batched, params):
    if batched[1]:
        return batch_by_loop(trace, prim, vals, batched, params)
    return prim.bind(*vals, **params)  # elementwise in x


_digitize.defbatch(_digitize_batch)


def digitize(x, bins, right=False):
    """``numpy.digitize`` on plain or traced values (integer bin indices, no derivative).

    >>> digitize(np.array([0.5, 1.5, 3.0]), np.array([0.0, 1.0, 2.0]))
    array([1, 2, 3])
    """
    if not _traced(x, bins):
        return np.digitize(x, bins, right)
    return _digitize.bind(as_array(x), as_array(bins), right=bool(right))


def _edges(data, bins_i, range_i, edges_c):
    """Bin edges for one dimension: ``bins`` themselves when given as edges, else ``edges_c``
    (NumPy's) rebuilt from the (possibly traced) range, so that they carry its derivative."""
    if len(_shape(bins_i)) == 1 or isinstance(bins_i, (list, tuple)):
        return as_array(bins_i)
    if range_i is not None:
        lo, hi = range_i
    elif _shape(data)[0] == 0 or not _traced(data):
        return edges_c
    else:
        lo, hi = min(data), max(data)
    if not _traced(lo, hi):
        return edges_c
    if concrete(lo) == concrete(hi):
        lo, hi = lo - 0.5, hi + 0.5
    return astype(linspace(lo, hi, len(edges_c)), edges_c.dtype)


def _bin_index(values, edges):
    """Each value's bin (0 below the first edge, ``len(edges)`` above the last; the last bin is
    closed), as NumPy's ``histogramdd`` finds it."""
    index = np.searchsorted(edges, values, side="right")
    index[values == edges[-1]] -= 1
    return index


def _binned(sample_c, edges_c, weights, density, edges):
    """The (weighted) histogram of the rows of ``sample_c`` (N, D) as diffopt values."""
    nbin = tuple(len(e) + 1 for e in edges_c)
    index = [_bin_index(sample_c[:, i], e) for i, e in enumerate(edges_c)]
    flat = np.ravel_multi_index(index, nbin)
    if weights is None:
        hist = np.bincount(flat, minlength=int(np.prod(nbin))).astype(np.float64)
    else:
        w = as_array(weights)
        hist = at(np.zeros(int(np.prod(nbin)), dtype=np.result_type(w.dtype, np.float64)))[
            flat].add(w)
    hist = reshape(hist, nbin)[tuple(slice(1, -1) for _ in nbin)]
    if density:
        total = sum(hist)
        for i, e in enumerate(edges):
            width = e[1:] - e[:-1]
            hist = hist / reshape(width, tuple(-1 if j == i else 1 for j in range(len(nbin))))
        hist = hist / total
    return hist


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002 - NumPy's name
    """``numpy.histogram_bin_edges``; equal-width edges are differentiable in the data's range.

    >>> histogram_bin_edges(np.array([0.0, 1.0, 2.0]), bins=2)
    array([0., 1., 2.])
    """
    ac = _exact(a, "histogram_bin_edges")
    edges_c = np.histogram_bin_edges(ac, concrete(bins), _concrete_range(range),
                                     None if weights is None else concrete(weights))
    return _edges(ravel(as_array(a)), bins, range, edges_c)


def _concrete_range(range_):
    return None if range_ is None else tuple(concrete(r) for r in range_)


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's name
    """``numpy.histogram``, differentiable in ``weights`` and, with ``density=True``, in the data
    through the bin widths.

    >>> histogram(np.array([0.0, 0.5, 2.0]), bins=2)
    (array([2, 1]), array([0., 1., 2.]))
    """
    if not _traced(a, bins, weights, *(range or ())):
        return np.histogram(a, bins, range, density, weights)
    ac = _exact(a, "histogram").ravel()
    wc = None if weights is None else np.asarray(concrete(weights))
    counts_c, edges_c = np.histogram(ac, concrete(bins), _concrete_range(range), density, wc)
    edges = _edges(ravel(as_array(a)), bins, range, edges_c)
    hist = _binned(ac[:, None], [np.asarray(concrete(edges))], None if weights is None
                   else ravel(as_array(weights)), density, [edges])
    if not density:
        hist = astype(hist, counts_c.dtype)
    return hist, edges


def _sample(sample):
    if isinstance(sample, (list, tuple)):
        return stack([as_array(s) for s in sample], axis=1)
    sample = as_array(sample)
    return reshape(sample, (-1, 1)) if len(_shape(sample)) == 1 else sample


def histogramdd(sample, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """``numpy.histogramdd``, differentiable in ``weights`` and, with ``density=True``, in the
    sample through the bin widths.

    >>> hist, edges = histogramdd(np.array([[0.0, 0.0], [1.0, 1.0]]), bins=2)
    >>> hist
    array([[1., 0.],
           [0., 1.]])
    """
    args = [sample] if not isinstance(sample, (list, tuple)) else list(sample)
    per_dim = list(bins) if hasattr(bins, "__len__") else None
    flat_range = [r for pair in (range or ()) if pair is not None for r in pair]
    if not _traced(*args, weights, *(per_dim or ()), *flat_range):
        return np.histogramdd(sample, bins, range, density, weights)
    x = _sample(sample)
    xc = _exact(x, "histogramdd")
    wc = None if weights is None else np.asarray(concrete(weights))
    bins_c = bins if per_dim is None else [concrete(b) for b in per_dim]
    range_c = None if range is None else [None if r is None else _concrete_range(r)
                                          for r in range]
    _, edges_c = np.histogramdd(xc, bins_c, range_c, density, wc)
    d = xc.shape[1]
    edges = [_edges(x[:, i], bins if per_dim is None else per_dim[i],
                    None if range is None else range[i], edges_c[i]) for i in builtins.range(d)]
    hist = _binned(xc, edges_c, weights, density, edges)
    return hist, edges


def histogram2d(x, y, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """``numpy.histogram2d``: ``histogramdd`` of the pairs ``(x, y)``.

    >>> histogram2d(np.array([0.0, 1.0]), np.array([0.0, 1.0]), bins=2)[0]
    array([[1., 0.],
           [0., 1.]])
    """
    n = len(bins) if hasattr(bins, "__len__") else 1
    if n not in (1, 2):
        bins = [bins, bins]
    hist, edges = histogramdd([x, y], bins, range, density, weights)
    return hist, edges[0], edges[1]


__all__ = ["quantile", "percentile", "median", "nanquantile", "nanpercentile", "nanmedian",
           "nansum", "nanprod", "nancumsum", "nancumprod", "nanmean", "nanvar", "nanstd",
           "nanmax", "nanmin", "nanargmax", "nanargmin", "average", "ptp", "count_nonzero",
           "cumulative_sum", "cumulative_prod", "cov", "corrcoef", "bincount", "digitize",
           "histogram_bin_edges", "histogram", "histogram2d", "histogramdd"]
