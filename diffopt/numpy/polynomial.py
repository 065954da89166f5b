"""NumPy's classic polynomial functions (coefficients highest power first): ``poly``, ``polyadd``,
``polysub``, ``polymul``, ``polydiv``, ``polyder``, ``polyint``, ``polyval``, ``polyfit`` and
``roots``, with NumPy's values.

All but ``roots`` are written with differentiable diffopt.numpy functions (``convolve``, slices,
``pad``, ``linalg.pinv``...). ``roots`` is a primitive whose rule is the implicit function theorem
on ``p(r) = 0``: ``dr = -dp(r) / p'(r)`` at every simple root, itself written with ``polyval`` and
``polyder``, so derivatives of every order exist (they are infinite at a multiple root). NumPy's
``poly1d`` objects are not accepted: pass their coefficients.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core import vspace
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from . import linalg
from .backend import as_array
from .calculus import convolve, vander
from .creation import zeros_like
from .elementwise import add, astype, conj, real, sqrt
from .products import matmul
from .reductions import sum
from .shape import atleast_1d, concatenate, pad, reshape, stack, transpose

try:
    _RankWarning = np.exceptions.RankWarning
except AttributeError:  # NumPy < 1.25
    _RankWarning = np.RankWarning


def _refuse_poly1d(name: str, *ps) -> None:
    if any(isinstance(p, np.poly1d) for p in ps):
        raise NotImplementedError(f"diffopt.numpy.{name} does not take numpy.poly1d objects: pass "
                                  "their coefficient array (p.coeffs)")


def _coeffs(p, name: str):
    """``p`` as a 1-d array of coefficients (``poly1d`` refused: its result type differs)."""
    _refuse_poly1d(name, p)
    return atleast_1d(as_array(p))


def _length(p) -> int:
    return vspace.shape_of(p)[0]


def _front_pad(p, n: int):
    return pad(p, ((n, 0),)) if n else p


def _aligned(a1, a2, name: str):
    a1, a2 = _coeffs(a1, name), _coeffs(a2, name)
    d = _length(a2) - _length(a1)
    return _front_pad(a1, max(d, 0)), _front_pad(a2, max(-d, 0))


def polyadd(a1, a2):
    """Differentiable ``numpy.polyadd``.

    >>> polyadd(np.array([1.0, 2.0]), np.array([1.0, 0.0, 3.0]))
    array([1., 1., 5.])
    """
    a1, a2 = _aligned(a1, a2, "polyadd")
    return a1 + a2


def polysub(a1, a2):
    """Differentiable ``numpy.polysub``.

    >>> polysub(np.array([1.0, 2.0]), np.array([1.0, 0.0, 3.0]))
    array([-1.,  1., -1.])
    """
    a1, a2 = _aligned(a1, a2, "polysub")
    return a1 - a2


def polymul(a1, a2):
    """Differentiable ``numpy.polymul`` (a full convolution).

    >>> polymul(np.array([1.0, 1.0]), np.array([1.0, -1.0]))
    array([ 1.,  0., -1.])
    """
    return convolve(_coeffs(a1, "polymul"), _coeffs(a2, "polymul"))


def polyval(p, x):
    """Differentiable ``numpy.polyval`` (Horner's scheme), in ``p`` and ``x``.

    >>> polyval(np.array([3.0, 0.0, 1.0]), np.array([1.0, 2.0]))
    array([ 4., 13.])
    """
    _refuse_poly1d("polyval", p, x)
    p, x = as_array(p), as_array(x)
    y = zeros_like(x)
    for i in range(_length(p) if p.ndim else 1):
        y = y * x + (p[i] if p.ndim else p)
    return y


def polyder(p, m: int = 1):
    """Differentiable ``numpy.polyder``: the ``m``-th derivative's coefficients.

    >>> polyder(np.array([1.0, 1.0, 1.0, 1.0]))
    array([3., 2., 1.])
    """
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coeffs(p, "polyder")
    for _ in range(m):
        n = _length(p) - 1
        p = p[:-1] * np.arange(n, 0, -1)
    return p


def polyint(p, m: int = 1, k=None):
    """Differentiable ``numpy.polyint``: the ``m``-th antiderivative, with integration constants
    ``k`` (differentiable too).

    >>> polyint(np.array([3.0, 2.0, 1.0]))
    array([1., 1., 1., 0.])
    """
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m, float) if k is None else atleast_1d(as_array(k))
    if _length(k) == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if _length(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coeffs(p, "polyint")
    for i in range(m):
        p = concatenate([p / np.arange(_length(p), 0, -1), reshape(k[i], (1,))])
    return p


def polydiv(u, v):
    """Differentiable ``numpy.polydiv``: quotient and remainder (leading remainder coefficients
    within NumPy's ``allclose`` of 0 are dropped, as NumPy does).

    >>> q, r = polydiv(np.array([1.0, 0.0, -1.0]), np.array([1.0, 1.0]))
    >>> q, r
    (array([ 1., -1.]), array([0.]))
    """
    u = _coeffs(u, "polydiv") + 0.0
    v = _coeffs(v, "polydiv") + 0.0
    dtype = np.result_type(concrete(u)[:1], concrete(v)[:1])
    m, n = _length(u) - 1, _length(v) - 1
    scale = 1.0 / v[0]
    r = astype(u, dtype)
    q = []
    for k in range(m - n + 1):
        d = scale * r[k]
        q.append(d)
        r = concatenate([r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]])
    q = astype(stack(q), dtype) if q else np.zeros(1, dtype)
    while np.allclose(concrete(r)[0], 0, rtol=1e-14) and _length(r) > 1:
        r = r[1:]
    return q, r


def poly(seq_of_zeros):
    """Differentiable ``numpy.poly``: the monic polynomial with the given roots (for a square
    matrix, its characteristic polynomial: values only, see below).

    A traced matrix needs a differentiable ``linalg.eigvals``, which diffopt.numpy does not offer
    yet: that raises NotImplementedError.

    >>> poly(np.array([1.0, 2.0]))
    array([ 1., -3.,  2.])
    """
    z = _coeffs(seq_of_zeros, "poly")
    sh = vspace.shape_of(z)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        eigvals = getattr(linalg, "eigvals", None)
        if isinstance(z, Tracer) and eigvals is None:
            raise NotImplementedError("diffopt.numpy.poly of a traced matrix needs a "
                                      "differentiable linalg.eigvals, not available yet")
        z = eigvals(z) if isinstance(z, Tracer) else np.linalg.eigvals(z)
    elif len(sh) == 1:
        z = astype(z, np.mintypecode(z.dtype.char))
    else:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if _length(z) == 0:
        return 1.0
    dtype = z.dtype
    a = np.ones((1,), dtype=dtype)
    one = np.ones((1,), dtype=dtype)
    for i in range(_length(z)):
        a = convolve(a, concatenate([one, astype(reshape(-z[i], (1,)), dtype)]), mode="full")
    if dtype.kind == "c":
        zc = np.asarray(concrete(z), complex)
        if np.all(np.sort(zc) == np.sort(zc.conjugate())):
            a = real(a)
    return a


# --- roots ---------------------------------------------------------------------------------------
def _roots_jvp(t, ans, p):
    return -polyval(t, ans) / polyval(polyder(p), ans)


def _roots_vjp(g, ans, p):
    return matmul(-g / polyval(polyder(p), ans), vander(ans, _length(p)))


_roots = Primitive("roots", np.roots).defjvp(_roots_jvp).defvjp(_roots_vjp)


def roots(p):
    """Differentiable ``numpy.roots``: the eigenvalues of the companion matrix (NumPy's values and
    order), differentiable at simple roots by the implicit function theorem.

    >>> roots(np.array([1.0, -3.0, 2.0]))
    array([2., 1.])
    """
    p = _coeffs(p, "roots")
    if p.ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    vals = concrete(p)  # (under vmap: one row per batch element)
    leads = {int(np.argmax(row != 0)) if row.any() else None
             for row in vals.reshape(-1, vals.shape[-1])}
    if len(leads) > 1:
        raise NotImplementedError("diffopt.numpy.roots under vmap: the leading zero coefficients "
                                  "must be the same in every batch element")
    (lead,) = leads
    if lead is None or lead == _length(p) - 1:  # a constant: no roots
        return np.zeros(0)
    return _roots.bind(p[lead:])


# --- polyfit -------------------------------------------------------------------------------------
def polyfit(x, y, deg, rcond=None, full: bool = False, w=None, cov=False):
    """Differentiable ``numpy.polyfit``: least squares on the column-scaled Vandermonde matrix,
    through ``linalg.pinv`` (differentiable in ``y``, and in ``x`` and ``w`` at full rank).

    >>> polyfit(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]), 1)
    array([2., 1.])
    """
    order = int(deg) + 1
    x, y = add(as_array(x), 0.0), add(as_array(y), 0.0)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if _length(x) != _length(y):
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = _length(x) * np.finfo(x.dtype).eps
    lhs, rhs = vander(x, order), y
    if w is not None:
        w = add(as_array(w), 0.0)
        if w.ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if _length(w) != _length(y):
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = sqrt(sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c = matmul(linalg.pinv(lhs, rcond), rhs)
    s = np.linalg.svd(concrete(lhs), compute_uv=False)
    rank = np.int32(np.sum(s > rcond * s[0]))  # (LAPACK's integer, as NumPy's)
    resid = rhs - matmul(lhs, c)
    if rank < order or _length(x) <= order:
        resids = np.zeros(0, x.dtype)
    else:
        resids = reshape(sum(real(resid * conj(resid)), axis=0), (-1,))
    c = c / (scale[:, None] if rhs.ndim == 2 else scale)
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", _RankWarning, stacklevel=2)
    if full:
        return c, resids, rank, linalg.svdvals(lhs), rcond
    if not cov:
        return c
    vbase = linalg.inv(matmul(transpose(lhs), lhs)) / (scale[:, None] * scale[None, :])
    if cov == "unscaled":
        fac = 1
    else:
        if _length(x) <= order:
            raise ValueError("the number of data points must exceed order to scale the "
                             "covariance matrix")
        fac = resids / (_length(x) - order)
    return c, (vbase * fac if y.ndim == 1 else vbase[:, :, None] * fac)


__all__ = ["poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul", "polysub",
           "polyval", "roots"]
