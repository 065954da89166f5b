"""Differentiable ``scipy.special``: sigmoid, logit, log-sum-exp, softmax, erf, gamma family.

Elementwise functions are rows of the same rule table as ``diffopt.numpy``'s elementwise
functions (``elementwise(name, impl, d/darg0, ...)``); the implementation comes from
``scipy.special`` on the CPU and ``cupyx.scipy.special`` for CuPy arrays. ``logsumexp`` is a
primitive (a stable implementation, gradient = softmax); ``softmax`` and ``log_softmax`` are built
on it, which keeps them stable for large inputs.

>>> import diffopt
>>> from diffopt.scipy.special import logsumexp
>>> diffopt.grad(logsumexp)(np.array([0.0, 0.0]))
array([0.5, 0.5])
"""

from __future__ import annotations

import numpy as np
import scipy.special as _sc

from ..core import vspace
from ..core.batching import move_to_front
from ..core.primitive import Primitive
from ..numpy import broadcast_to, exp, log1p, where
from ..numpy import sum as _sum
from ..numpy._define import elementwise, example_doc
from ..numpy.backend import array_module
from ..numpy.reductions import _normalize_axis, expand_reduced, keepdims_shape

_TWO_OVER_SQRT_PI = float(2 / np.sqrt(np.pi))


def _special_module(x):
    """``scipy.special`` for CPU values, ``cupyx.scipy.special`` for CuPy arrays."""
    if array_module(x) is np:
        return _sc
    import cupyx.scipy.special

    return cupyx.scipy.special


def _impl(name: str, arg: int = 0):
    """The backend's ``name`` from scipy.special, chosen by the array type of argument ``arg``."""

    def impl(*args):
        return getattr(_special_module(args[arg]), name)(*args)

    impl.__name__ = name
    return impl


def _special(name: str, *derivs, example: str, arg: int = 0):
    """A row of the table: ``scipy.special.name`` with its partial derivatives ``d(ans, *args)``."""
    doc = f"Differentiable ``scipy.special.{name}``, elementwise." + example_doc(example)
    return elementwise(name, _impl(name, arg), *derivs, doc=doc)


# --- the rule table ----------------------------------------------------------------------------
expit = _special("expit", lambda ans, x: ans * (1 - ans), example="expit(0.0)  # 0.5")
sigmoid = expit
logit = _special("logit", lambda ans, x: 1 / (x * (1 - x)), example="logit(0.5)  # 0.0")
erf = _special(
    "erf", lambda ans, x: _TWO_OVER_SQRT_PI * exp(-(x**2)), example="erf(0.5)  # 0.5205..."
)
erfc = _special(
    "erfc", lambda ans, x: -_TWO_OVER_SQRT_PI * exp(-(x**2)), example="erfc(0.5)  # 0.4795..."
)
# polygamma(n, x): the n-th derivative of digamma; the integer order n has no derivative.
polygamma = _special(
    "polygamma", None, lambda ans, n, x: polygamma(n + 1, x), arg=1,
    example="polygamma(1, 1.0)  # 1.6449...",
)
digamma = _special(
    "digamma", lambda ans, x: polygamma(1, x), example="digamma(1.0)  # -0.5772..."
)
psi = digamma
gammaln = _special("gammaln", lambda ans, x: digamma(x), example="gammaln(4.0)  # 1.7917...")


# --- log-sum-exp and the softmax family ----------------------------------------------------------
def _lse_impl(x, b, axis, keepdims):
    """log(sum(b * exp(x))) over ``axis`` (a tuple), shifted by the maximum for stability."""
    xp = array_module(x)
    x = xp.asarray(x)
    if x.size == 0:
        m = xp.zeros(keepdims_shape(x.shape, axis), dtype=np.result_type(x.dtype, np.float64))
    else:
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or an inf) in a slice: no shift
    e = xp.exp(x - m)
    if b is not None:
        e = e * b
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf slice, as scipy gives
        out = xp.log(xp.sum(e, axis=axis, keepdims=True)) + m
    if not keepdims:
        out = xp.reshape(out, tuple(d for i, d in enumerate(x.shape) if i not in axis))
    return out


def _lse_weights(ans, x, b, axis, keepdims):
    """d logsumexp / dx = b * exp(x - ans): the (weighted) softmax, shaped like ``x``."""
    w = exp(x - expand_reduced(ans, vspace.shape_of(x), axis, keepdims))
    return w if b is None else w * b


def _lse_jvp(tangents, ans, primals, params):
    x, b = primals
    tx, tb = tangents
    w = exp(x - expand_reduced(ans, vspace.shape_of(x), params["axis"], params["keepdims"]))
    # d/dx: sum(b e^(x-ans) t); d/db: sum(e^(x-ans) t)
    t = None
    if tx is not None:
        t = tx * w if b is None else tx * (w * b)
    if tb is not None:
        t = tb * w if t is None else t + tb * w
    if t is None:
        return None
    return _sum(t, axis=params["axis"], keepdims=params["keepdims"])


def _lse_vjp(g, ans, args, params, which):
    x, b = args
    axis, keepdims = params["axis"], params["keepdims"]
    shape = vspace.shape_of(x)
    g = expand_reduced(g, shape, axis, keepdims)
    w = exp(x - expand_reduced(ans, shape, axis, keepdims))
    out = []
    for i in which:
        if i == 0:
            out.append(g * w if b is None else g * (w * b))
        else:
            out.append(g * w)
    return out


def _lse_batch(trace, prim, vals, batched, params):
    x, b = vals
    x = move_to_front(x, batched[0], trace.size)
    if b is not None:
        b = move_to_front(b, batched[1], trace.size)
    axis = tuple(a + 1 for a in params["axis"])
    return prim.bind(x, b, axis=axis, keepdims=params["keepdims"])


_logsumexp = Primitive("logsumexp", _lse_impl)
_logsumexp.defjvp_all(_lse_jvp)
_logsumexp.defvjp_all(_lse_vjp)
_logsumexp.defbatch(_lse_batch)


def logsumexp(a, axis=None, b=None, keepdims: bool = False):
    """Differentiable, numerically stable ``scipy.special.logsumexp``: log(sum(b * exp(a))).

    ``b`` (optional, non-negative) weights the terms and broadcasts against ``a``; it is
    differentiable too. The gradient with respect to ``a`` is the softmax (times ``b``).

    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # 1000 + log(2)
    1000.693147
    """
    shape = vspace.shape_of(a)
    if b is not None:
        bshape = vspace.shape_of(b)
        full = np.broadcast_shapes(shape, bshape)
        if full != shape:
            a = broadcast_to(a, full)
            shape = full
        if bshape != full:
            b = broadcast_to(b, full)
    ax = _normalize_axis(axis, len(shape))
    if ax is None:
        ax = tuple(range(len(shape)))
    return _logsumexp.bind(a, b, axis=ax, keepdims=keepdims)


def log_softmax(x, axis=None):
    """Differentiable, stable ``scipy.special.log_softmax``: x - logsumexp(x, axis).

    >>> log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    """
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=None):
    """Differentiable, stable ``scipy.special.softmax``: exp(x - logsumexp(x, axis)).

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    return exp(log_softmax(x, axis=axis))


def log_expit(x):
    """Differentiable ``scipy.special.log_expit``: log(expit(x)), stable for large |x|.

    >>> float(log_expit(-1000.0))
    -1000.0
    """
    # log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), written to keep exp's argument <= 0.
    neg = x < 0
    return where(neg, x, 0.0) - log1p(exp(where(neg, x, -x)))


__all__ = ["expit", "sigmoid", "logit", "log_expit", "erf", "erfc", "gammaln", "digamma", "psi",
           "polygamma", "logsumexp", "softmax", "log_softmax"]
