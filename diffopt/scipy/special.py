"""Differentiable ``scipy.special``: sigmoid and logit, log-sum-exp and softmax, the error
function and the normal cdf (``erf``, ``ndtr``, ``log_ndtr``, ``ndtri``, ``erfinv``, ``erfcx``), the
gamma and beta families (``gamma``, ``gammaln``, ``digamma``, ``polygamma``, ``gammainc``,
``betainc``, ``multigammaln``, ...), entropies (``xlogy``, ``entr``, ``kl_div``, ``rel_entr``),
modified Bessel functions (``i0``, ``i0e``, ``i1``, ``i1e``), ``zeta`` and ``spence``.

Elementwise functions are rows of the same rule table as ``diffopt.numpy``'s elementwise
functions (``elementwise(name, impl, d/darg0, ...)``); the implementation comes from
``scipy.special`` on the CPU and ``cupyx.scipy.special`` for CuPy arrays. ``logsumexp`` is a
primitive (a stable implementation, gradient = softmax); ``softmax`` and ``log_softmax`` are built
on it, which keeps them stable for large inputs. Where a derivative is not implemented (those of
``gammainc`` and ``betainc`` in their shape parameters, of ``zeta`` in ``x``: JAX has none either)
asking for it raises ``NotImplementedError`` naming the argument.

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
from ..core.trace import concrete
from ..numpy import abs, broadcast_to, exp, isfinite, log, log1p, sign, where  # noqa: A004 - NumPy's abs
from ..numpy import i0 as _i0
from ..numpy import sum as _sum
from ..numpy._define import elementwise, example_doc
from ..numpy.backend import array_module
from ..numpy.elementwise import _i1, _i1_over_x
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
    """A row of the table: ``scipy.special.name`` with its partial derivatives ``d(ans, *args)``;
    ``example`` is ``"call  # printed result"``."""
    doc = f"Differentiable ``scipy.special.{name}``, elementwise." + example_doc(example)
    return elementwise(name, _impl(name, arg), *derivs, doc=doc)


def _no_derivative(name: str, arg: str):
    """A partial derivative that is not implemented (JAX has none either): a rule that says so."""

    def deriv(ans, *args, **params):
        raise NotImplementedError(
            f"{name}: the derivative with respect to {arg} is not implemented (JAX has none "
            f"either); pass {arg} as a constant. Functions built on {name} (such as the cdfs in "
            f"diffopt.scipy.stats) inherit this.")

    return deriv


# --- the rule table ----------------------------------------------------------------------------
expit = _special("expit", lambda ans, x: ans * (1 - ans), example="expit(0.0)  # 0.5")
sigmoid = expit
logit = _special("logit", lambda ans, x: 1 / (x * (1 - x)), example="logit(0.5)  # 0.0")
erf = _special(
    "erf", lambda ans, x: _TWO_OVER_SQRT_PI * exp(-(x**2)), example="erf(0.5)  # 0.5205"
)
erfc = _special(
    "erfc", lambda ans, x: -_TWO_OVER_SQRT_PI * exp(-(x**2)), example="erfc(0.5)  # 0.4795"
)
# polygamma(n, x): the n-th derivative of digamma; the integer order n has no derivative.
polygamma = _special(
    "polygamma", None, lambda ans, n, x: polygamma(n + 1, x), arg=1,
    example="polygamma(1, 1.0)  # 1.644934",
)
digamma = _special(
    "digamma", lambda ans, x: polygamma(1, x), example="digamma(1.0)  # -0.577216"
)
psi = digamma
gammaln = _special("gammaln", lambda ans, x: digamma(x), example="gammaln(4.0)  # 1.791759")
gamma = _special("gamma", lambda ans, x: ans * digamma(x), example="gamma(5.0)  # 24.0")


def _gammainc_dx(ans, a, x):
    """d/dx P(a, x) = x**(a-1) exp(-x) / Gamma(a), in logs (0**0 = 1 at a = 1, x = 0)."""
    return exp(xlogy(a - 1, x) - x - gammaln(a))


gammainc = _special(
    "gammainc", _no_derivative("gammainc", "a"), _gammainc_dx,
    example="gammainc(1.0, 2.0)  # 0.864665",
)
gammaincc = _special(
    "gammaincc", _no_derivative("gammaincc", "a"), lambda ans, a, x: -_gammainc_dx(ans, a, x),
    example="gammaincc(1.0, 2.0)  # 0.135335",
)


def _dbetaln(a, b):
    return digamma(a) - digamma(a + b)


betaln = _special(
    "betaln", lambda ans, a, b: _dbetaln(a, b), lambda ans, a, b: _dbetaln(b, a),
    example="betaln(2.0, 3.0)  # -2.484907",
)
beta = _special(
    "beta", lambda ans, a, b: ans * _dbetaln(a, b), lambda ans, a, b: ans * _dbetaln(b, a),
    example="beta(2.0, 3.0)  # 0.083333",
)


def _betainc_dx(ans, a, b, x):
    """d/dx I_x(a, b) = x**(a-1) (1-x)**(b-1) / B(a, b), in logs."""
    return exp(xlogy(a - 1, x) + xlog1py(b - 1, -x) - betaln(a, b))


betainc = _special(
    "betainc", _no_derivative("betainc", "a"), _no_derivative("betainc", "b"), _betainc_dx,
    arg=2, example="betainc(1.0, 2.0, 0.5)  # 0.75",
)
betaincc = _special(
    "betaincc", _no_derivative("betaincc", "a"), _no_derivative("betaincc", "b"),
    lambda ans, a, b, x: -_betainc_dx(ans, a, b, x),
    arg=2, example="betaincc(1.0, 2.0, 0.5)  # 0.25",
)


def _stdt_logpdf(t, df):
    """The log density of Student's t with ``df`` degrees of freedom (the normal's at df = inf)."""
    finite = isfinite(df)
    dfs = where(finite, df, 1.0)
    logpdf = (gammaln((dfs + 1) / 2) - gammaln(dfs / 2) - 0.5 * log(dfs * np.pi)
              - (dfs + 1) / 2 * log1p(t**2 / dfs))
    return where(finite, logpdf, -0.5 * t**2 - _LOG_SQRT_2PI)


# stdtr(df, t): Student's t cdf; d/dt is the density.
stdtr = _special(
    "stdtr", _no_derivative("stdtr", "df"), lambda ans, df, t: exp(_stdt_logpdf(t, df)),
    arg=1, example="stdtr(1.0, 1.0)  # 0.75",
)

# x * log(y) and x * log1p(y) are 0 where x == 0 (even where log is -inf): their derivative in y,
# x / y (x / (1 + y)), is 0 there too; only at x == 0 is the pole replaced, so d2/dxdy = 1/y stays.
xlogy = _special(
    "xlogy", lambda ans, x, y: log(y),
    lambda ans, x, y: x / where((x == 0) & (y == 0), 1.0, y),
    example="xlogy(0.0, 0.0), xlogy(2.0, np.e)  # 0.0 2.0",
)
xlog1py = _special(
    "xlog1py", lambda ans, x, y: log1p(y),
    lambda ans, x, y: x / where((x == 0) & (y == -1), 1.0, 1 + y),
    example="xlog1py(0.0, -1.0), xlog1py(2.0, np.e - 1)  # 0.0 2.0",
)


def _entr_d(ans, x):
    """d/dx (-x log x) = -(log x + 1) for x > 0, +inf at 0, 0 where entr is -inf (x < 0)."""
    pos = x > 0
    return where(pos, -(log(where(pos, x, 1.0)) + 1), where(x == 0, np.inf, 0.0))


entr = _special("entr", _entr_d, example="entr(0.5)  # 0.346574")


def _relative_d(x, y, kl: bool):
    """The partial derivatives of rel_entr (kl=False) and kl_div (kl=True) in x and in y.

    Inside (x > 0, y > 0): log(x / y) + 1 - kl and kl - x / y. At x == 0 <= y (where the value is y
    or 0): -inf and kl. Outside, where the value is +inf: 0."""
    inside = (x > 0) & (y > 0)
    edge = (x == 0) & (y >= 0)
    xs, ys = where(inside, x, 1.0), where(inside, y, 1.0)
    dx = where(inside, log(xs) - log(ys) + (not kl), where(edge, -np.inf, 0.0))
    dy = where(inside, kl - xs / ys, where(edge, float(kl), 0.0))
    return dx, dy


rel_entr = _special(
    "rel_entr", lambda ans, x, y: _relative_d(x, y, False)[0],
    lambda ans, x, y: _relative_d(x, y, False)[1],
    example="rel_entr(1.0, np.e)  # -1.0",
)
kl_div = _special(
    "kl_div", lambda ans, x, y: _relative_d(x, y, True)[0],
    lambda ans, x, y: _relative_d(x, y, True)[1],
    example="kl_div(1.0, np.e)  # 0.718282",
)

# --- the normal distribution and the error function's relatives ---------------------------------
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))
_LOG_SQRT_2PI = float(np.log(np.sqrt(2 * np.pi)))
_SQRT_2PI = float(np.sqrt(2 * np.pi))
_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))
_SQRT_HALF = float(np.sqrt(0.5))
_SQRT_PI_OVER_2 = float(np.sqrt(np.pi) / 2)

ndtr = _special(
    "ndtr", lambda ans, x: _INV_SQRT_2PI * exp(-0.5 * x**2), example="ndtr(0.0)  # 0.5"
)


def _log_ndtr_d(ans, x):
    """pdf(x) / cdf(x), stable in both tails: sqrt(2/pi) / erfcx(-x/sqrt(2)) for x < 0 (no
    underflow however far left), pdf / cdf directly for x >= 0 (cdf >= 1/2 there)."""
    neg = x < 0
    left = where(neg, x, 0.0)
    right = where(neg, 0.0, x)
    return where(neg, _SQRT_2_OVER_PI / erfcx(-_SQRT_HALF * left),
                 _INV_SQRT_2PI * exp(-0.5 * right**2) / ndtr(right))


log_ndtr = _special(
    "log_ndtr", _log_ndtr_d, example="log_ndtr(-40.0)  # -804.608"
)
ndtri = _special(
    "ndtri", lambda ans, p: _SQRT_2PI * exp(0.5 * ans**2),
    example="ndtri(0.975)  # 1.959964",
)
erfinv = _special(
    "erfinv", lambda ans, y: _SQRT_PI_OVER_2 * exp(ans**2),
    example="erfinv(erf(0.5))  # 0.5",
)
erfcx = _special(
    "erfcx", lambda ans, x: 2 * x * ans - _TWO_OVER_SQRT_PI,
    example="erfcx(30.0)  # 0.018795",
)

# --- modified Bessel functions: I0 and I1 are diffopt.numpy's; here their scaled forms ---------
i0 = _i0
i1 = _i1


def _i1e_over_x(x):
    """i1e(x) / x, with diffopt.numpy's series for i1(x) / x at x = 0 (i1e / x -> 1/2)."""
    zero = x == 0
    safe = where(zero, 1.0, x)
    at_zero = where(zero, x, 0.0)
    return where(zero, exp(-abs(at_zero)) * _i1_over_x(at_zero), i1e(safe) / safe)


# i0e = exp(-|x|) i0: i0e' = i1e - sign(x) i0e; i1e' = i0e - i1e / x - sign(x) i1e.
i0e = _special(
    "i0e", lambda ans, x: i1e(x) - sign(x) * ans, example="i0e(0.0)  # 1.0"
)
i1e = _special(
    "i1e", lambda ans, x: i0e(x) - _i1e_over_x(x) - sign(x) * ans,
    example="i1e(1000.0)  # 0.012611",
)

# --- zeta, multigammaln, spence -------------------------------------------------------------------
_riemann_zeta = _special("zeta", _no_derivative("zeta", "x"), example="zeta(2.0)  # 1.644934")
# d/dq zeta(x, q) = d/dq sum_n (n + q)**-x = -x zeta(x + 1, q)
_hurwitz_zeta = _special(
    "zeta", _no_derivative("zeta", "x"), lambda ans, x, q: -x * _hurwitz_zeta(x + 1, q),
    example="zeta(2.0, 1.0)  # 1.644934",
)


def zeta(x, q=None, out=None):
    """Differentiable ``scipy.special.zeta``: Riemann's zeta(x), or Hurwitz's zeta(x, q).

    Differentiable in ``q`` (d/dq zeta(x, q) = -x zeta(x + 1, q)); the derivative in ``x`` is not
    implemented (as in JAX) and asking for it raises ``NotImplementedError``.

    >>> import diffopt
    >>> float(zeta(2.0)), float(diffopt.grad(lambda q: zeta(2.0, q))(1.0))  # -2 zeta(3)
    (1.644934, -2.404114)
    """
    if out is not None:
        raise TypeError("diffopt.scipy.special.zeta does not support out=: traced values are "
                        "immutable. Use the returned array instead.")
    if q is None:
        return _riemann_zeta(x)
    return _hurwitz_zeta(x, q)


def multigammaln(a, d):
    """Differentiable ``scipy.special.multigammaln``: the log of the multivariate gamma function,
    d(d-1)/4 log(pi) + sum_j gammaln(a - (j-1)/2), differentiable in ``a`` to every order.

    >>> float(multigammaln(3.0, 1))  # gammaln(3) = log(2)
    0.693147
    """
    if not np.isscalar(d) or np.floor(d) != d:
        raise ValueError("d should be a positive integer (dimension)")
    av = np.asarray(concrete(a))
    if np.any(av <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({av}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    out = gammaln(a)
    for j in range(2, int(d) + 1):
        out = out + gammaln(a - (j - 1) / 2)
    return out + (d * (d - 1) * 0.25) * float(np.log(np.pi))


def _spence_d(ans, z):
    """d/dz spence(z) = log(z) / (1 - z) = -log1p(u) / u with u = z - 1 (accurate near z = 1),
    by its Taylor series at z = 1 itself (so that derivatives of every order up to 6 are exact)."""
    u = z - 1
    zero = u == 0
    safe = where(zero, 1.0, u)
    series = -(1 - u * (1 / 2 - u * (1 / 3 - u * (1 / 4 - u * (1 / 5 - u * (1 / 6 - u / 7))))))
    return where(zero, series, -log1p(safe) / safe)


spence = _special(
    "spence", _spence_d, example="spence(1.0), spence(0.0)  # 0.0 1.644934"
)


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
           "polygamma", "logsumexp", "softmax", "log_softmax", "gamma", "gammainc", "gammaincc",
           "beta", "betaln", "betainc", "betaincc", "stdtr", "xlogy", "xlog1py", "entr",
           "rel_entr", "kl_div", "ndtr", "log_ndtr", "ndtri", "erfinv", "erfcx", "i0", "i0e", "i1",
           "i1e", "zeta", "multigammaln", "spence"]
