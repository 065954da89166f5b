"""Discrete calculus on sampled data, with NumPy's signatures and values: ``gradient``,
``trapezoid``, ``interp``, ``unwrap``, ``piecewise``, ``select``, ``vander``, ``convolve`` and
``correlate``.

Each is written with differentiable diffopt.numpy functions (slices, ``where``, ``take``,
``cumprod``...), so its derivatives of every order come from theirs. The primitives of its own:
``correlate``'s valid-mode core (its transposes are correlations again), ``interp``'s complex
result from its two parts, and, without derivative, ``interp``'s interval search and ``unwrap``'s
piecewise constant corrections.
"""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes, normalize_axis
from ..core.batching import batch_axis_param, batch_elementwise
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import as_array
from .creation import ones_like, zeros_like
from .elementwise import astype, conj, imag, isnan, real, remainder, rint, where
from .indexing import at, take
from .reductions import cumprod, diff, sum
from .shape import broadcast_to, concatenate, flip, pad, reshape


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _along(x, axis: int, s: slice):
    """``x[..., s, ...]`` with ``s`` on ``axis``."""
    return x[(slice(None),) * axis + (s,)]


def _dtype(x):
    dtype = getattr(x, "dtype", None)
    return np.result_type(x) if dtype is None else np.dtype(dtype)


# --- gradient ------------------------------------------------------------------------------------
def _spacings(varargs: tuple, f_shape: tuple, axes: tuple) -> list:
    """One spacing per axis: a scalar (uniform) or the 1-d differences of the coordinates."""
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and np.ndim(concrete(varargs[0])) == 0:
        return list(varargs) * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    dx = []
    for ax, distances in zip(axes, varargs, strict=True):
        distances = as_array(distances)
        if distances.ndim == 0:
            dx.append(distances)
            continue
        if distances.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if _shape(distances)[0] != f_shape[ax]:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        if _dtype(distances).kind in "iub":
            distances = astype(distances, np.float64)
        d = diff(distances)
        values = concrete(d)
        if not isinstance(distances, Tracer) and (values == values[0]).all():
            d = d[0]  # NumPy's short cut for constant spacing (its derivative in x differs)
        dx.append(d)
    return dx


def _edge(f, axis, idx, coeffs):
    """``sum(c * f[i])`` over ``idx`` and ``coeffs``, keeping ``axis`` (length 1)."""
    terms = [c * _along(f, axis, slice(i, i + 1 if i != -1 else None)) for i, c in
             zip(idx, coeffs, strict=True)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _one_gradient(f, axis: int, dx, edge_order: int, nd: int):
    uniform = np.ndim(concrete(dx)) == 0
    if not uniform:
        bshape = [1] * nd
        bshape[axis] = -1
    inner = (slice(None, -2), slice(1, -1), slice(2, None))
    if uniform:
        interior = (_along(f, axis, inner[2]) - _along(f, axis, inner[0])) / (2.0 * dx)
    else:
        dx1, dx2 = dx[0:-1], dx[1:]
        a = reshape(-dx2 / (dx1 * (dx1 + dx2)), bshape)
        b = reshape((dx2 - dx1) / (dx1 * dx2), bshape)
        c = reshape(dx1 / (dx2 * (dx1 + dx2)), bshape)
        interior = (a * _along(f, axis, inner[0]) + b * _along(f, axis, inner[1])
                    + c * _along(f, axis, inner[2]))
    if edge_order == 1:
        d0, dn = (dx, dx) if uniform else (dx[0], dx[-1])
        first = (_along(f, axis, slice(1, 2)) - _along(f, axis, slice(0, 1))) / d0
        last = (_along(f, axis, slice(-1, None)) - _along(f, axis, slice(-2, -1))) / dn
    else:
        if uniform:
            lo = (-1.5 / dx, 2.0 / dx, -0.5 / dx)
            hi = (0.5 / dx, -2.0 / dx, 1.5 / dx)
        else:
            dx1, dx2 = dx[0], dx[1]
            lo = (-(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2)), (dx1 + dx2) / (dx1 * dx2),
                  -dx1 / (dx2 * (dx1 + dx2)))
            dx1, dx2 = dx[-2], dx[-1]
            hi = (dx2 / (dx1 * (dx1 + dx2)), -(dx2 + dx1) / (dx1 * dx2),
                  (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2)))
        first = _edge(f, axis, (0, 1, 2), lo)
        last = _edge(f, axis, (-3, -2, -1), hi)
    return concatenate([first, interior, last], axis=axis)


def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """Differentiable ``numpy.gradient``: central differences inside, one-sided ones (first or
    second order) at the edges; spacings are scalars or coordinates per axis, differentiable too.

    >>> gradient(np.array([1.0, 2.0, 4.0, 7.0]))
    array([1. , 1.5, 2.5, 3. ])
    """
    f = as_array(f)
    nd = f.ndim
    axes = tuple(range(nd)) if axis is None else normalize_axes(axis, nd)
    dx = _spacings(varargs, _shape(f), axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    if edge_order < 1:
        raise ValueError("'edge_order' must be 1 or 2")  # (NumPy computes nonsense for 0)
    otype = _dtype(f)
    if otype.kind not in "fc":
        f, otype = astype(f, np.float64), np.dtype(np.float64)
    out = []
    for ax, ax_dx in zip(axes, dx, strict=True):
        if _shape(f)[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")
        out.append(astype(_one_gradient(f, ax, ax_dx, edge_order, nd), otype))
    return out[0] if len(axes) == 1 else tuple(out)


# --- trapezoid -----------------------------------------------------------------------------------
def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """Differentiable ``numpy.trapezoid``: the trapezoidal rule along ``axis``, in ``y``, ``x``
    and ``dx``.

    >>> float(trapezoid(np.array([1.0, 2.0, 3.0]), dx=0.5))
    2.0
    """
    y = as_array(y)
    axis = normalize_axis(axis, y.ndim)
    if x is None:
        d = dx
    else:
        x = as_array(x)
        if x.ndim == 1:
            shape = [1] * y.ndim
            shape[axis] = _shape(x)[0] - 1
            d = reshape(diff(x), shape)
        else:
            d = diff(x, axis=axis)
    mid = _along(y, axis, slice(1, None)) + _along(y, axis, slice(None, -1))
    return sum(d * mid / 2.0, axis=axis)


# --- interp --------------------------------------------------------------------------------------
def _interval_impl(x, xp):
    """The left end ``j`` of the interval ``xp[j] <= x < xp[j + 1]``, clipped to ``[0, n-2]``."""
    j = np.searchsorted(xp, x, side="right") - 1
    return np.clip(j, 0, max(len(xp) - 2, 0))


_interval = Primitive("interp_interval", _interval_impl, differentiable=False)


def _lerp(x, x0, x1, f0, f1):
    """NumPy's ``slope (x - x0) + f0`` where that is a number; where it is NaN (infinite values):
    ``f0`` at ``x0``, else the same from the right end, else ``f0`` if ``f0 == f1``."""
    with np.errstate(invalid="ignore"):  # NumPy's interp computes the NaN silently too
        slope = (f1 - f0) / (x1 - x0)
        y = slope * (x - x0) + f0
        nan = isnan(y)
        if not np.any(concrete(nan)):
            return y
        y1 = slope * (x - x1) + f1
        fallback = where(x == x0, f0, where(isnan(y1) & (f0 == f1), f0, y1))
        return where(nan, fallback, y)


def _complex_impl(re, im):
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), np.complex128)
    out.real, out.imag = re, im
    return out


# ``re + 1j * im`` without its ``0 * inf``: the parts as they are
_complex = Primitive("complex", _complex_impl)
_complex.defjvp(lambda t, ans, re, im: _complex.bind(t, zeros_like(t)),
                lambda t, ans, re, im: _complex.bind(zeros_like(t), t))
_complex.defvjp(lambda g, ans, re, im: real(g), lambda g, ans, re, im: -imag(g))
_complex.defbatch(batch_elementwise)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Differentiable ``numpy.interp``: piecewise-linear interpolation, in ``x``, ``fp``, ``xp``,
    ``left``, ``right`` and ``period`` (at a sample point, the slope of the interval to its right).

    >>> interp(np.array([0.5, 1.5, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 0.0]))
    array([5., 5., 0.])
    """
    fp = as_array(fp)
    ftype = np.complex128 if _dtype(fp).kind == "c" else np.float64
    x, xp, fp = astype(as_array(x), np.float64), astype(as_array(xp), np.float64), \
        astype(fp, ftype)
    if period is not None:
        if concrete(period) == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        if xp.ndim != 1 or fp.ndim != 1:
            raise ValueError("Data points must be 1-D sequences")
        if _shape(xp)[0] != _shape(fp)[0]:
            raise ValueError("fp and xp are not of the same length")
        x, xp = remainder(x, period), remainder(xp, period)
        order = np.argsort(concrete(xp))
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([xp[-1:] - period, xp, xp[0:1] + period])
        fp = concatenate([fp[-1:], fp, fp[0:1]])
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError("object too deep for desired array")
    if _shape(xp)[0] != _shape(fp)[0]:
        raise ValueError("fp and xp are not of the same length.")
    if _shape(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    left = fp[0] if left is None else astype(as_array(left), ftype)
    right = fp[-1] if right is None else astype(as_array(right), ftype)
    if _shape(xp)[0] == 1:
        inside = broadcast_to(fp[0], _shape(x))
    else:
        j = _interval.bind(x, xp)
        x0, x1, f0, f1 = take(xp, j), take(xp, j + 1), take(fp, j), take(fp, j + 1)
        if ftype is np.complex128:  # NumPy interpolates the two parts separately
            inside = _complex.bind(_lerp(x, x0, x1, real(f0), real(f1)),
                                   _lerp(x, x0, x1, imag(f0), imag(f1)))
        else:
            inside = _lerp(x, x0, x1, f0, f1)
        inside = where(x == xp[-1], fp[-1], inside)
    return where(x < xp[0], left, where(x > xp[-1], right, inside))


# --- unwrap --------------------------------------------------------------------------------------
def _unwrap_impl(p, discont, axis, period):
    """NumPy's cumulative corrections ``(n-1 along axis)``: piecewise constant in ``p``."""
    dd = np.diff(p, axis=axis)
    discont = period / 2 if discont is None else discont
    if np.issubdtype(np.result_type(dd, period), np.integer):
        high, rem = divmod(period, 2)
        ambiguous = rem == 0
    else:
        high, ambiguous = period / 2, True
    low = -high
    ddmod = np.mod(dd - low, period) + low
    if ambiguous:
        ddmod[(ddmod == low) & (dd > 0)] = high
    correct = ddmod - dd
    correct[abs(dd) < discont] = 0
    return correct.cumsum(axis)


_unwrap_correction = Primitive("unwrap_correction", _unwrap_impl, differentiable=False)
_unwrap_correction.defbatch(batch_axis_param("axis"))


def unwrap(p, discont=None, axis: int = -1, *, period=2 * np.pi):
    """Differentiable ``numpy.unwrap``: ``p`` plus multiples of ``period`` that remove jumps larger
    than ``discont`` (a piecewise constant correction, so the derivative is the identity; in a
    traced ``period``, the number of periods added).

    >>> unwrap(np.array([0.0, 4.0, 8.0]))
    array([ 0.        , -2.28318531, -4.56637061])
    """
    p = as_array(p)
    axis = normalize_axis(axis, p.ndim)
    dtype = np.result_type(np.diff(concrete(p)[(slice(None),) * axis + (slice(0, 2),)],
                                   axis=axis), concrete(period))
    corr = _unwrap_correction.bind(p, discont=concrete(discont), axis=axis,
                                   period=concrete(period))
    if isinstance(period, Tracer):  # corr is (numerically) k * period: add 0 * k, with its slope
        corr = corr + (period - concrete(period)) * rint(corr / concrete(period))
    up = concatenate([_along(p, axis, slice(0, 1)),
                      _along(p, axis, slice(1, None)) + corr], axis=axis)
    return astype(up, dtype)


# --- piecewise, select ---------------------------------------------------------------------------
def _piecewise_where(x, cond: list, funclist, args, kw):
    """``piecewise`` with traced conditions: each function on all of ``x``, chosen by ``where``."""
    n, n2 = len(cond), len(funclist)
    if n == n2 - 1:
        none = ~cond[0]
        for c in cond[1:]:
            none = none & ~c
        cond = [*cond, none]
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = zeros_like(x)
    for c, func in zip(cond, funclist, strict=True):
        vals = func(x, *args, **kw) if callable(func) else func
        y = where(c, astype(as_array(vals), _dtype(x)), y)
    return y


def piecewise(x, condlist, funclist, *args, **kw):
    """Differentiable ``numpy.piecewise``: each function is evaluated only where its condition
    holds (later conditions win); the result has ``x``'s dtype, as in NumPy. Under ``vmap``
    (conditions traced) each function sees all of ``x`` and ``where`` chooses.

    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v**2])
    array([2.  , 0.25, 9.  ])
    """
    x = as_array(x)
    nd = x.ndim
    cond = condlist
    if np.isscalar(cond) or (not isinstance(cond[0], (list, np.ndarray, Tracer)) and nd != 0):
        cond = [cond]
    if any(isinstance(c, Tracer) for c in cond):  # conditions batched by vmap: no indexing
        return _piecewise_where(x, [as_array(c) for c in cond], funclist, args, kw)
    cond = np.asarray(cond, dtype=bool)
    n, n2 = len(cond), len(funclist)
    if n == n2 - 1:  # the last function: where no condition holds
        cond = np.concatenate([cond, ~np.any(cond, axis=0, keepdims=True)], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = zeros_like(x)
    for c, func in zip(cond, funclist, strict=True):
        c = np.broadcast_to(c, _shape(x))
        if not callable(func):
            y = where(c, astype(as_array(func), _dtype(x)), y)
        elif c.any():  # (a 0-d x reaches func as a 1-d array of one, as in NumPy)
            idx = np.nonzero(c) if nd else (np.zeros(1, int),)
            vals = astype(as_array(func((x if nd else reshape(x, (1,)))[idx], *args, **kw)),
                          _dtype(x))
            y = at(y)[idx].set(vals) if nd else reshape(vals, ())
    return y


def select(condlist, choicelist, default=0):
    """Differentiable ``numpy.select``: from the first true condition's choice, else ``default``;
    differentiable in the choices and the default.

    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> select([x < 0, x > 0], [x * 10, x**2], default=-5.0)
    array([-10.,  -5.,   4.])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conds = [c if isinstance(c, Tracer) else np.asarray(c) for c in condlist]
    for i, c in enumerate(conds):
        if c.dtype.type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    values = [as_array(c) for c in (*choicelist, default)]
    dtype = np.result_type(*[c if isinstance(c, (int, float, complex)) else concrete(v)
                             for c, v in zip((*choicelist, default), values, strict=True)])
    shape = np.broadcast_shapes(*[_shape(c) for c in (*conds, *values)])
    result = broadcast_to(astype(values[-1], dtype), shape)
    for c, choice in zip(conds[::-1], values[-2::-1], strict=True):
        result = where(c, astype(choice, dtype), result)
    return result


# --- vander --------------------------------------------------------------------------------------
def vander(x, N=None, increasing: bool = False):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.vander``: columns the powers of ``x`` (decreasing unless
    ``increasing``), formed by a cumulative product as NumPy does.

    >>> vander(np.array([1.0, 2.0, 3.0]), 3)
    array([[1., 1., 1.],
           [4., 2., 1.],
           [9., 3., 1.]])
    """
    x = as_array(x)
    if x.ndim != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    m = _shape(x)[0]
    n = m if N is None else int(N)
    x = astype(x, np.promote_types(_dtype(x), int))
    cols = [ones_like(reshape(x, (m, 1)))[:, :min(n, 1)]]
    if n > 1:
        cols.append(cumprod(broadcast_to(reshape(x, (m, 1)), (m, n - 1)), axis=1))
    v = concatenate(cols, axis=1)
    return v if increasing else flip(v, axis=1)


# --- correlate, convolve -------------------------------------------------------------------------
def _cv_impl(a, v):
    return np.correlate(a, v, "valid")


_cv = Primitive("correlate_valid", _cv_impl)
_cv.defjvp(lambda t, ans, a, v: _cv.bind(t, v), lambda t, ans, a, v: _cv.bind(a, t))
_cv.defvjp(
    # out[k] = sum_j a[k + j] conj(v[j]): the transposes (pairing Re sum(u v)) are correlations
    lambda g, ans, a, v: _cv.bind(pad(g, _shape(v)[0] - 1), flip(v)),
    lambda g, ans, a, v: conj(_cv.bind(a, conj(g))),
)


def _modes(mode) -> str:
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})")
    return mode


def _vectors(a, v, promote: bool):
    """``a`` and ``v`` as non-empty vectors (0-d ones promoted for convolve, as in NumPy)."""
    a, v = as_array(a), as_array(v)
    if promote:
        a, v = (reshape(u, (1,)) if u.ndim == 0 else u for u in (a, v))
    if a.ndim == 0 or v.ndim == 0:
        raise ValueError("object of too small depth for desired array")
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("object too deep for desired array")
    if _shape(a)[0] == 0:
        raise ValueError("a cannot be empty")
    if _shape(v)[0] == 0:
        raise ValueError("v cannot be empty")
    return a, v


def correlate(a, v, mode: str = "valid"):
    """Differentiable ``numpy.correlate``: ``z[k] = sum_n a[n + k] conj(v[n])``, in both inputs.

    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), "full")
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    mode = _modes(mode)
    a, v = _vectors(a, v, promote=False)
    na, nv = _shape(a)[0], _shape(v)[0]
    if na < nv:  # NumPy: the correlation of the swapped inputs, reversed and conjugated
        return conj(flip(correlate(v, a, mode)))
    if mode == "valid":
        return _cv.bind(a, v)
    lo = nv - 1 if mode == "full" else nv // 2
    hi = nv - 1 if mode == "full" else nv - 1 - nv // 2
    return _cv.bind(pad(a, ((lo, hi),)), v)


def convolve(a, v, mode: str = "full"):
    """Differentiable ``numpy.convolve``: ``z[k] = sum_n a[n] v[k - n]``, in both inputs.

    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    mode = _modes(mode)
    a, v = _vectors(a, v, promote=True)
    if _shape(v)[0] > _shape(a)[0]:
        a, v = v, a
    return correlate(a, conj(flip(v)), mode)


__all__ = ["gradient", "trapezoid", "interp", "unwrap", "piecewise", "select", "vander",
           "convolve", "correlate"]
