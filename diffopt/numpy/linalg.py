"""``diffopt.numpy.linalg``: differentiable linear algebra.

Every function takes stacks of matrices (``(..., M, N)``) like NumPy, so a batch rule only has to
bind the primitive on the batched value: the batch axis is one more stack dimension.

Conventions (those of JAX):

- ``cholesky``, ``eigh`` and ``eigvalsh`` read the symmetric part ``(a + a.T) / 2`` of their input,
  so their derivative is that of a function of the symmetric matrix, valid in every direction;
- the derivatives of ``eigh``'s eigenvectors need distinct eigenvalues, those of ``svd``'s singular
  vectors distinct (and, for non-square matrices, nonzero) singular values: they divide by the
  gaps. Where two values agree to working precision they do not exist, and asking for them raises
  ``DerivativeError`` (in reverse mode when the vectors' cotangent is not structurally zero; in
  forward mode always, as it cannot know whether the vectors are used). Losses of the values only
  (``eigh(a)[0]``, ``eigvalsh``, ``svdvals``, the spectral norms) have their first derivative
  at repeated values too; for a single one of a repeated eigenvalue, which has none, it is
  ``v vᵀ`` for the eigenvector ``v`` that LAPACK returned (as JAX and PyTorch give);
- ``det``'s first derivative (the cofactor matrix) exists at every matrix and is exact at singular
  ones too; its higher derivatives there need distinct singular values (else ``DerivativeError``);
  ``slogdet``, ``inv`` and ``solve`` assume a nonsingular matrix (``slogdet`` raises
  ``DerivativeError`` at a singular one), ``pinv`` a locally constant rank (full rank, for example);
- complex inputs: ``inv``, ``solve``, ``det`` and ``slogdet`` are differentiable (holomorphic, the
  VJP is the transpose of the JVP without conjugation); the Hermitian and SVD-based functions
  (``cholesky``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals``, ``pinv``) are differentiable for real
  inputs only and raise ``NotImplementedError`` when asked for a complex derivative.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes
from ..core.forward import JVPTracer
from ..core.primitive import DerivativeError, Primitive
from ..core.reverse import ReverseTracer
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .elementwise import absolute, conj, imag, real, sqrt, where
from .products import einsum, matmul, outer, tensordot
from .reductions import _prod_others
from .reductions import all as _all
from .reductions import max as _max
from .reductions import min as _min
from .reductions import sum as _sum
from .shape import expand_dims, reshape, squeeze, swapaxes

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def _plain_tuple(np_fn):
    """NumPy's named-tuple results as the plain tuples multiple-result primitives return."""
    return lambda a: tuple(np_fn(a))


# --- helpers (written with primitives, so rules built on them differentiate again) ---------------
def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _T(x):
    """Transpose of the last two axes (of every matrix in a stack)."""
    return swapaxes(x, -1, -2)


def _mm(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = matmul(out, x)
    return out


def _diag_part(x):
    return einsum("...ii->...i", x)


def _trace(x):
    return einsum("...ii->...", x)


def _eye_like(x, n: int):
    """A constant identity matrix beside ``x`` (same array module and dtype)."""
    return array_module(concrete(x)).eye(n, dtype=x.dtype)


def _distinct_spectrum(m: int, n: int, x):
    """A constant (m, n) matrix beside ``x`` with singular values 1, 2, ..., min(m, n): a stand-in
    where SVD-based rules are smooth."""
    xp = array_module(concrete(x))
    return xp.eye(m, n, dtype=x.dtype) * xp.arange(1, n + 1, dtype=x.dtype)


def _diag_embed(v):
    """A stack of diagonal matrices with diagonals ``v`` (``(..., n) -> (..., n, n)``)."""
    return expand_dims(v, -1) * _eye_like(v, _shape(v)[-1])


def _symmetrize(a):
    """The Hermitian part ``(a + a^H) / 2``: what cholesky and eigh read of their input."""
    at = _T(a)
    return (a + (conj(at) if vspace.is_complex(a) else at)) * 0.5


def _check_matrix(a, name: str, square: bool = True):
    """``a`` as an array (lists welcome), checked to be a (stack of) (square) matrices."""
    a = as_array(a)
    shape = _shape(a)
    if len(shape) < 2:
        raise ValueError(f"linalg.{name}: expected a matrix or a stack of matrices (at least 2-D), "
                         f"got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"linalg.{name}: expected square matrices in the last two axes, got shape "
                         f"{shape}")
    return a


def _real_only(x, name: str) -> None:
    if vspace.is_complex(x):
        raise NotImplementedError(
            f"linalg.{name}: derivatives for complex inputs are not implemented (the function is "
            "not holomorphic); differentiate a real formulation, or use inv/solve/det/slogdet, "
            "which support complex derivatives."
        )


def _stack_batch(trace, prim, vals, batched, params):
    """Batch rule for one-argument primitives on stacks: the batch axis is a stack axis."""
    return prim.bind(vals[0], **params)


# --- inv -----------------------------------------------------------------------------------------
_inv = Primitive("inv", np.linalg.inv)
_inv.defjvp(lambda t, ans, a: -_mm(ans, t, ans))
_inv.defvjp(lambda g, ans, a: -_mm(_T(ans), g, _T(ans)))
_inv.defbatch(_stack_batch)


def inv(a):
    """Differentiable ``numpy.linalg.inv`` (stacks too); d inv(A) = -A⁻¹ dA A⁻¹.

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return _inv.bind(_check_matrix(a, "inv"))


# --- solve ---------------------------------------------------------------------------------------
# The primitive always sees b as a stack of matrices (..., M, K); solve() turns a vector b into a
# one-column matrix, so the rules never have to tell a vector from a stack of vectors.
def _solve_jvp(tangents, ans, primals, params):
    a, _ = primals
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        rhs = -matmul(ta, ans) if rhs is None else rhs - matmul(ta, ans)
    return _solve.bind(a, rhs)


def _solve_vjp(g, ans, args, params, which):
    gb = _solve.bind(_T(args[0]), g)  # A^-T g, shared by both cotangents
    return [-matmul(gb, _T(ans)) if i == 0 else gb for i in which]


def _solve_batch(trace, prim, vals, batched, params):
    # Put the batch axis in front of both arguments' (broadcast) stack axes.
    r = max(len(_shape(v)) - b - 2 for v, b in zip(vals, batched, strict=True))
    vals = [reshape(v, (trace.size,) + (1,) * (r - (len(_shape(v)) - 3)) + _shape(v)[1:]) if b
            else v for v, b in zip(vals, batched, strict=True)]
    return _solve.bind(*vals)


def _solve_impl(a, b):
    # Broadcast the stacks explicitly: every backend (and NumPy 1) then reads b as matrices.
    if a.shape[:-2] != b.shape[:-2]:
        xp = array_module(a)
        stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = xp.broadcast_to(a, stack + a.shape[-2:])
        b = xp.broadcast_to(b, stack + b.shape[-2:])
    return np.linalg.solve(a, b)


_solve = Primitive("solve", _solve_impl)
_solve.defjvp_all(_solve_jvp)
_solve.defvjp_all(_solve_vjp)
_solve.defbatch(_solve_batch)


def solve(a, b):
    """Differentiable ``numpy.linalg.solve``: ``x`` with ``a @ x = b``.

    As in NumPy 2, ``b`` is a vector when it is 1-D and a (stack of) matrices otherwise.

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    a, b = _check_matrix(a, "solve"), as_array(b)
    m, sb = _shape(a)[-1], _shape(b)
    vector = len(sb) == 1
    if (sb[0] if vector else (sb[-2] if len(sb) >= 2 else None)) != m:
        raise ValueError(f"linalg.solve: b of shape {sb} does not fit a of shape {_shape(a)}; b "
                         f"must be ({m},) or (..., {m}, K)")
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):  # fast path
        return _solve_impl(a, b[..., None])[..., 0] if vector else _solve_impl(a, b)
    if vector:
        return squeeze(_solve.bind(a, expand_dims(b, -1)), -1)
    return _solve.bind(a, b)


# --- det and slogdet -----------------------------------------------------------------------------
def _inv_T(a):
    return _T(inv(a))


def _trace_solve(a, t):
    """tr(A⁻¹ T) per matrix: the directional derivative of log det A along T."""
    return _trace(_solve.bind(a, t))


def _expand2(x):
    return expand_dims(x, (-1, -2))


_DET_HIGHER_ORDER = (
    "linalg.det: derivatives of order two and higher at a singular matrix are computed from its "
    "SVD, which needs distinct singular values; here two agree (rank below n - 1, for example), "
    "so they are not available. The first derivative (the cofactor matrix) is, at every rank."
)


def _differentiated(x) -> bool:
    """Whether an enclosing grad or jvp traces ``x``, so that a rule's result is differentiated."""
    while isinstance(x, Tracer):
        if isinstance(x, (JVPTracer, ReverseTracer)):
            return True
        x = x.primal_value()
    return False


def _cofactor(a, det_a):
    """The cofactor matrix adj(A)ᵀ, the gradient of det: det(A) A⁻ᵀ where A is invertible.

    Where det(A) is exactly 0 (LU met a zero pivot, so A⁻¹ does not exist), it comes from the SVD
    A = U S Vᴴ instead: adj(A)ᵀ = det(U) det(Vᴴ) conj(U) diag(π) conj(Vᴴ) with π_i the product of
    the other singular values, a rank-one matrix for rank n - 1 and 0 below. Each matrix of a
    stack takes its own way; the other way runs on a stand-in, so its derivatives stay finite.
    """
    singular = det_a == 0
    if not np.any(concrete(singular)):
        return _expand2(det_a) * _inv_T(a)
    n = _shape(a)[-1]
    singular = _expand2(singular)
    by_inverse = _expand2(det_a) * _inv_T(where(singular, _eye_like(a, n), a))
    stand_in = where(singular, a, _distinct_spectrum(n, n, a))
    if _differentiated(a):  # the cofactor's own derivative goes through the SVD's vectors
        values = concrete(stand_in)
        _require_distinct(array_module(values).linalg.svd(values, compute_uv=False),
                          _DET_HIGHER_ORDER)
    u, s, vh = _svd.bind(stand_in)
    phase = _expand2(_det.bind(u) * _det.bind(vh))  # ±1 for real A
    if vspace.is_complex(a):
        u, vh = conj(u), conj(vh)
    by_svd = phase * matmul(u * expand_dims(_prod_others(s, (len(_shape(s)) - 1,)), -2), vh)
    return where(singular, by_svd, by_inverse)


_det = Primitive("det", np.linalg.det)
_det.defjvp(lambda t, ans, a: _sum(_cofactor(a, ans) * t, axis=(-2, -1)))
_det.defvjp(lambda g, ans, a: _expand2(g) * _cofactor(a, ans))
_det.defbatch(_stack_batch)


def det(a):
    """Differentiable ``numpy.linalg.det``; d det(A) = tr(adj(A) dA), which is det(A) tr(A⁻¹ dA)
    for invertible A and exists at singular A too (the adjugate: rank one at rank n - 1, else 0).

    >>> float(det(np.array([[1.0, 2.0], [3.0, 4.0]])))
    -2.0
    """
    return _det.bind(_check_matrix(a, "det"))


_SLOGDET_SINGULAR = (
    "linalg.slogdet: logabsdet is -inf at a singular matrix and has no derivative there (nor has "
    "the sign, which jumps). Differentiate det(a) instead: its derivative, the cofactor matrix, "
    "exists at singular matrices too."
)


def _require_nonsingular(sign) -> None:
    if np.any(concrete(sign) == 0):
        raise DerivativeError(_SLOGDET_SINGULAR)


def _slogdet_jvp(tangents, ans, primals, params):
    (t,), (a,) = tangents, primals
    if t is None:
        return (None, None)
    _require_nonsingular(ans[0])
    tr = _trace_solve(a, t)
    if not vspace.is_complex(a):
        return (None, tr)  # the sign is locally constant
    sign = ans[0]
    return (sign * (1j * imag(tr)), real(tr))


def _slogdet_vjp(g, ans, args, params, which):
    # Unused outputs come as None (symbolic_zeros): the sign of a real matrix alone is locally
    # constant and needs no inverse (like numpy.sign, its derivative is taken as 0 at the jump).
    g_sign, g_log = g
    (a,) = args
    complex_phase = vspace.is_complex(a) and g_sign is not None
    if g_log is None and not complex_phase:
        return [None]
    _require_nonsingular(ans[0])
    c = g_log
    if complex_phase:  # the phase moves with Im tr(A⁻¹ dA)
        c = _plus(c, 1j * imag(g_sign * ans[0]))
    return [_expand2(c) * _inv_T(a)]


_slogdet = Primitive("slogdet", _plain_tuple(np.linalg.slogdet), multiple_results=True)
_slogdet.defjvp_all(_slogdet_jvp)
_slogdet.defvjp_all(_slogdet_vjp, symbolic_zeros=True)
_slogdet.defbatch(_stack_batch)


def slogdet(a):
    """Differentiable ``numpy.linalg.slogdet``: ``(sign, logabsdet)``.

    ``logabsdet`` carries the derivative tr(A⁻¹ dA) (its real part for complex A); the sign is
    constant for real A and turns with the phase for complex A. At a singular matrix logabsdet is
    -inf and has no derivative: asking for one raises ``DerivativeError`` (use ``det`` there).

    >>> sign, logabsdet = slogdet(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> float(sign), float(logabsdet)  # -1, log(2)
    (-1.0, 0.693147)
    """
    return SlogdetResult(*_slogdet.bind(_check_matrix(a, "slogdet")))


# --- cholesky ------------------------------------------------------------------------------------
def _phi_mask(x, n: int):
    """Lower triangle with the diagonal halved: the map Φ of the Cholesky derivative."""
    xp = array_module(concrete(x))
    return (xp.tril(xp.ones((n, n), dtype=x.dtype)) - 0.5 * xp.eye(n, dtype=x.dtype))


def _cholesky_jvp(t, ans, a):
    # dL = L Φ(L⁻¹ dA L⁻ᵀ) for symmetric dA (Murray 2016); L⁻¹ X L⁻ᵀ by two solves.
    _real_only(a, "cholesky")
    inner = _solve.bind(ans, _T(_solve.bind(ans, _T(t))))
    return matmul(ans, inner * _phi_mask(ans, _shape(a)[-1]))


def _cholesky_vjp(g, ans, a):
    # The transpose of the JVP formula: L⁻ᵀ Φ(Lᵀ G) L⁻¹.
    _real_only(a, "cholesky")
    lt = _T(ans)
    p = matmul(lt, g) * _phi_mask(ans, _shape(a)[-1])
    return _solve.bind(lt, _T(_solve.bind(lt, _T(p))))


_cholesky = Primitive("cholesky", np.linalg.cholesky)
_cholesky.defjvp(_cholesky_jvp)
_cholesky.defvjp(_cholesky_vjp)
_cholesky.defbatch(_stack_batch)


def cholesky(a):
    """Differentiable ``numpy.linalg.cholesky``: lower-triangular ``L`` with ``a = L @ L.T``.

    Reads the symmetric part ``(a + a.T) / 2`` (as JAX), so the derivative is valid in every
    direction. Real inputs only for derivatives.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]))
    array([[2.        , 0.        ],
           [1.        , 1.41421356]])
    """
    return _cholesky.bind(_symmetrize(_check_matrix(a, "cholesky")))


# --- eigh and eigvalsh ---------------------------------------------------------------------------
_SPECTRAL_HINT = (
    " Differentiate a function of the {values} only ({only}), or move the matrix off the "
    "repeated value; second derivatives of those functions need the vectors' derivative, so "
    "they stop here too."
)


def _require_distinct(values, message: str, zero_too: bool = False) -> None:
    """Raise DerivativeError where two of ``values`` (sorted, last axis) agree to working precision,
    or, with ``zero_too``, where one of them is 0: the vectors' derivative divides by their gaps.

    A gap below that tolerance is rounding noise: the computed vectors themselves are then
    arbitrary within the (near-)repeated space, so no derivative of them means anything.
    """
    v = concrete(values)
    xp = array_module(v)
    n = v.shape[-1]
    tol = 8 * n * np.finfo(v.dtype).eps * xp.max(xp.abs(v), axis=-1, keepdims=True)
    repeated = n > 1 and bool(xp.any(xp.abs(xp.diff(v, axis=-1)) <= tol))
    if repeated or (zero_too and bool(xp.any(xp.abs(v) <= tol))):
        raise DerivativeError(message)


def _plus(*terms):
    """The sum of the terms that are not None (structurally zero cotangents)."""
    present = [t for t in terms if t is not None]
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def _eig_gaps(w):
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    eye = _eye_like(w, _shape(w)[-1])
    return 1 / (eye + expand_dims(w, -2) - expand_dims(w, -1)) - eye


_EIGH_REPEATED = (
    "linalg.eigh: the eigenvectors have no derivative at a repeated eigenvalue (two eigenvalues "
    "agree to working precision, and any basis of their eigenspace is a set of eigenvectors)."
    + _SPECTRAL_HINT.format(values="eigenvalues", only="eigvalsh")
)


def _eigh_jvp(tangents, ans, primals, params):
    # Forward mode cannot know whether the eigenvectors will be used: it needs their derivative.
    (t,), (a,) = tangents, primals
    if t is None:
        return (None, None)
    _real_only(a, "eigh")
    w, v = ans
    _require_distinct(w, _EIGH_REPEATED)
    s = _mm(_T(v), t, v)
    return (_diag_part(s), matmul(v, _eig_gaps(w) * s))


def _eigh_vjp(g, ans, args, params, which):
    # Cotangents come as None for unused outputs (symbolic_zeros): an eigenvalue-only loss never
    # meets the eigenvector term, which divides by the gaps between eigenvalues.
    _real_only(args[0], "eigh")
    gw, gv = g
    w, v = ans
    inner = None if gw is None else _diag_embed(gw)
    if gv is not None:
        _require_distinct(w, _EIGH_REPEATED)
        inner = _plus(inner, _eig_gaps(w) * matmul(_T(v), gv))
    return [_mm(v, inner, _T(v))]


_eigh = Primitive("eigh", _plain_tuple(np.linalg.eigh), multiple_results=True)
_eigh.defjvp_all(_eigh_jvp)
_eigh.defvjp_all(_eigh_vjp, symbolic_zeros=True)
_eigh.defbatch(_stack_batch)


def eigh(a, UPLO: str = "L"):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.linalg.eigh``: ``(eigenvalues, eigenvectors)`` of a symmetric matrix.

    Reads the symmetric part ``(a + a.T) / 2`` (as JAX; ``UPLO`` is accepted for compatibility and
    makes no difference then). The eigenvector derivative needs distinct eigenvalues (else
    ``DerivativeError``; see the module notes); eigenvectors are defined up to sign, so
    differentiate sign-invariant quantities. Real inputs only.

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    """
    a = _check_matrix(a, "eigh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', not {UPLO!r}")
    return EighResult(*_eigh.bind(_symmetrize(a)))


def _eigvalsh_jvp(t, ans, a):
    _real_only(a, "eigvalsh")
    v = _eigh.bind(a)[1]  # bound again so that higher derivatives see the vectors move
    return _diag_part(_mm(_T(v), t, v))


def _eigvalsh_vjp(g, ans, a):
    _real_only(a, "eigvalsh")
    v = _eigh.bind(a)[1]
    return _mm(v, _diag_embed(g), _T(v))


_eigvalsh = Primitive("eigvalsh", np.linalg.eigvalsh)
_eigvalsh.defjvp(_eigvalsh_jvp)
_eigvalsh.defvjp(_eigvalsh_vjp)
_eigvalsh.defbatch(_stack_batch)


def eigvalsh(a, UPLO: str = "L"):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.linalg.eigvalsh``: eigenvalues (ascending) of the symmetric part.

    The first derivative needs no distinct eigenvalues (it is dw_i = v_iᵀ dA v_i). Real inputs only.

    >>> eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    a = _check_matrix(a, "eigvalsh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigvalsh: UPLO must be 'L' or 'U', not {UPLO!r}")
    return _eigvalsh.bind(_symmetrize(a))


# --- svd and svdvals -----------------------------------------------------------------------------
def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


def _svd_gaps(s):
    """F[..., i, j] = 1 / (s_j² - s_i²) off the diagonal, 0 on it."""
    eye = _eye_like(s, _shape(s)[-1])
    s2 = s * s
    return 1 / (eye + expand_dims(s2, -2) - expand_dims(s2, -1)) - eye


_SVD_REPEATED = (
    "linalg.svd: the singular vectors have no derivative at a repeated singular value (two agree "
    "to working precision){zero}."
    + _SPECTRAL_HINT.format(values="singular values", only="svdvals, or norm with ord 2 or 'nuc'")
)


def _require_distinct_singular(s, m: int, n: int) -> None:
    zero = " or, for a non-square matrix, at a zero singular value" if m != n else ""
    _require_distinct(s, _SVD_REPEATED.format(zero=zero), zero_too=m != n)


def _svd_jvp(tangents, ans, primals, params):
    # Thin SVD A = U S Vᵀ, real, distinct nonzero singular values (as JAX's rule).
    (t,), (a,) = tangents, primals
    if t is None:
        return (None, None, None)
    _real_only(a, "svd")
    u, s, vh = ans
    v = _T(vh)
    m, n = _shape(a)[-2:]
    _require_distinct_singular(s, m, n)
    ds_mat = _mm(_T(u), t, v)
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)  # multiply columns / rows by s
    du = matmul(u, f * (ds_mat * row + _T(ds_mat) * col))
    dv = matmul(v, f * (col * ds_mat + _T(ds_mat) * row))
    if m > n:  # the part of dA V outside the span of U
        dav = matmul(t, v)
        du = du + (dav - matmul(u, matmul(_T(u), dav))) / row
    if n > m:
        dau = matmul(_T(t), u)
        dv = dv + (dau - matmul(v, matmul(vh, dau))) / row
    return (du, _diag_part(ds_mat), _T(dv))


def _svd_vjp(g, ans, args, params, which):
    # The transpose of _svd_jvp:
    # Ā = U [diag(s̄) + (F ∘ (UᵀŪ - ŪᵀU)) S + S (F ∘ (VᵀV̄ - V̄ᵀV))] Vᵀ
    #     + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)
    # Unused outputs come as None (symbolic_zeros): a loss of the singular values only never meets
    # the vector terms, which divide by the gaps (and, for non-square A, by the values).
    (a,) = args
    _real_only(a, "svd")
    gu, gs, gvh = g
    u, s, vh = ans
    m, n = _shape(a)[-2:]
    if gu is None and gvh is None:
        return [_mm(u, _diag_embed(gs), vh)]
    _require_distinct_singular(s, m, n)
    v = _T(vh)
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    core = None if gs is None else _diag_embed(gs)
    if gu is not None:
        utgu = matmul(_T(u), gu)
        core = _plus(core, (f * (utgu - _T(utgu))) * row)
    if gvh is not None:
        gv = _T(gvh)
        vtgv = matmul(vh, gv)
        core = _plus(core, col * (f * (vtgv - _T(vtgv))))
    out = _mm(u, core, vh)
    if m > n and gu is not None:
        gu_s = gu / row
        out = out + matmul(gu_s - matmul(u, matmul(_T(u), gu_s)), vh)
    if n > m and gvh is not None:
        gv_s = gv / row
        out = out + matmul(u, _T(gv_s - matmul(v, matmul(vh, gv_s))))
    return [out]


_svd = Primitive("svd", _svd_impl, multiple_results=True)
_svd.defjvp_all(_svd_jvp)
_svd.defvjp_all(_svd_vjp, symbolic_zeros=True)
_svd.defbatch(_stack_batch)


def _svdvals_jvp(t, ans, a):
    _real_only(a, "svdvals")
    u, _, vh = _svd.bind(a)  # bound again so that higher derivatives see the vectors move
    return _diag_part(_mm(_T(u), t, _T(vh)))


def _svdvals_vjp(g, ans, a):
    _real_only(a, "svdvals")
    u, _, vh = _svd.bind(a)
    return _mm(u, _diag_embed(g), vh)


_svdvals = Primitive("svdvals", lambda a: np.linalg.svd(a, compute_uv=False))
_svdvals.defjvp(_svdvals_jvp)
_svdvals.defvjp(_svdvals_vjp)
_svdvals.defbatch(_stack_batch)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Differentiable ``numpy.linalg.svd``: ``(U, S, Vh)`` with ``a = U @ diag(S) @ Vh``.

    Derivatives of ``U`` and ``Vh`` need distinct singular values, nonzero for non-square matrices
    (else ``DerivativeError``), and, for non-square matrices, ``full_matrices=False`` (the extra
    columns of the full factors are not unique).
    With ``compute_uv=False`` only ``S`` is returned (see ``svdvals``). Real inputs only.

    >>> u, s, vh = svd(np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]]), full_matrices=False)
    >>> u.shape, s, vh.shape
    ((3, 2), array([4., 3.]), (2, 2))
    """
    a = _check_matrix(a, "svd", square=False)
    shape = _shape(a)
    if not compute_uv:
        return svdvals(a)
    if not isinstance(a, Tracer):
        return SVDResult(*np.linalg.svd(a, full_matrices=full_matrices, hermitian=hermitian))
    if full_matrices and shape[-1] != shape[-2]:
        raise NotImplementedError(
            "linalg.svd: the derivative with full_matrices=True of a non-square matrix is not "
            "defined (the extra singular vectors are not unique); pass full_matrices=False."
        )
    return SVDResult(*_svd.bind(a))


def svdvals(x):
    """Differentiable ``numpy.linalg.svdvals``: singular values, descending.

    The derivative is dS_i = u_iᵀ dA v_i (distinct singular values). Real inputs only.

    >>> svdvals(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array([4., 3.])
    """
    return _svdvals.bind(_check_matrix(x, "svdvals", square=False))


# --- pinv ----------------------------------------------------------------------------------------
def _pinv_jvp(t, ans, a, rcond):
    # d A⁺ = -A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I - A A⁺) + (I - A⁺A) dAᵀ A⁺ᵀ A⁺   (constant rank)
    _real_only(a, "pinv")
    p, tt = ans, _T(t)
    x = _mm(p, _T(p), tt)
    y = _mm(tt, _T(p), p)
    return -_mm(p, t, p) + x - _mm(x, a, p) + y - _mm(p, a, y)


def _pinv_vjp(g, ans, a, rcond):
    # The transpose: -A⁺ᵀ G A⁺ᵀ + (I - A A⁺) Gᵀ A⁺ A⁺ᵀ + A⁺ᵀ A⁺ Gᵀ (I - A⁺ A)
    _real_only(a, "pinv")
    p, gt = ans, _T(g)
    z = _mm(gt, p, _T(p))
    w = _mm(_T(p), p, gt)
    return -_mm(_T(p), g, _T(p)) + z - _mm(a, p, z) + w - _mm(w, p, a)


def _pinv_impl(a, rcond):
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)


_pinv = Primitive("pinv", _pinv_impl)
_pinv.defjvp(_pinv_jvp)
_pinv.defvjp(_pinv_vjp)
_pinv.defbatch(_stack_batch)


def pinv(a, rcond=None):
    """Differentiable ``numpy.linalg.pinv``: the Moore-Penrose pseudo-inverse.

    The derivative (Golub and Pereyra) holds where the rank is locally constant: use it on full-rank
    matrices (at a rank drop the pseudo-inverse is not even continuous). Real inputs only.

    >>> pinv(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
    array([[1. , 0. , 0. ],
           [0. , 0.5, 0. ]])
    """
    return _pinv.bind(_check_matrix(a, "pinv", square=False), rcond=rcond)


# --- norms (composite) ---------------------------------------------------------------------------
def _abs2(x):
    return real(x * conj(x)) if vspace.is_complex(x) else x * x


def _extreme(x, axis, keepdims, largest: bool):
    return (_max if largest else _min)(x, axis=axis, keepdims=keepdims)


def _zero_subgradient(norm_of, x, axes: tuple, keepdims: bool, stand_in):
    """``norm_of(x)``, with derivative 0 (of every order) where a whole group of ``x`` is 0.

    A norm is not differentiable at 0 and the 2-norm's formula gives 0 * inf there; 0 is a
    subgradient of every norm at 0 (PyTorch's choice too). Zero groups are evaluated on
    ``stand_in`` (a point where ``norm_of`` is smooth) and their result replaced by 0.
    """
    zero = _all(x == 0, axis=axes, keepdims=True)
    out = norm_of(where(zero, stand_in, x))
    return where(zero if keepdims else squeeze(zero, axes), 0.0, out)


def _vector_norm(x, ord, axis: tuple, keepdims: bool):  # noqa: A002 - NumPy's name
    """``ord``-norm of ``x`` over ``axis`` (an axis tuple); the zero subgradient at 0."""
    return _zero_subgradient(lambda v: _vector_norm_formula(v, ord, axis, keepdims), x, axis,
                             keepdims, 1.0)


def _vector_norm_formula(x, ord, axis: tuple, keepdims: bool):  # noqa: A002 - NumPy's name
    if ord is None or ord == 2:
        return sqrt(_sum(_abs2(x), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for vectors")
    if ord == np.inf:
        return _extreme(absolute(x), axis, keepdims, True)
    if ord == -np.inf:
        return _extreme(absolute(x), axis, keepdims, False)
    if ord == 0:
        from .elementwise import astype, not_equal

        return _sum(astype(not_equal(x, 0), real(x).dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return _sum(absolute(x), axis=axis, keepdims=keepdims)
    return _sum(absolute(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes: tuple, keepdims: bool):  # noqa: A002 - NumPy's name
    """``ord``-norm of the matrices spanned by ``axes = (row_axis, col_axis)`` of ``x``; the zero
    subgradient at 0."""
    row, col = axes
    shape = [1] * len(_shape(x))
    shape[row], shape[col] = _shape(x)[row], _shape(x)[col]
    spread = _distinct_spectrum(_shape(x)[row], _shape(x)[col], x)  # svdvals is smooth there
    stand_in = (spread if row < col else spread.T).reshape(shape)
    return _zero_subgradient(lambda v: _matrix_norm_formula(v, ord, axes, keepdims), x, axes,
                             keepdims, stand_in)


def _matrix_norm_formula(x, ord, axes: tuple, keepdims: bool):  # noqa: A002 - NumPy's name
    row, col = axes
    if ord is None or ord == "fro":
        return sqrt(_sum(_abs2(x), axis=axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf) and not isinstance(ord, str):
        over = row if ord in (1, -1) else col  # sum over rows: column sums (ord 1)
        sums = _sum(absolute(x), axis=over, keepdims=True)
        out = _extreme(sums, (row if over == col else col), True, ord > 0)
    elif ord in (2, -2, "nuc"):
        from .shape import moveaxis

        s = svdvals(moveaxis(x, (row, col), (-2, -1)))
        out = _sum(s, axis=-1) if ord == "nuc" else s[..., 0 if ord == 2 else -1]
        if keepdims:
            out = expand_dims(out, tuple(sorted(axes)))
        return out
    else:
        raise ValueError(f"linalg.norm: invalid norm order {ord!r} for matrices")
    return out if keepdims else squeeze(out, axes)


def norm(x, ord=None, axis=None, keepdims: bool = False):  # noqa: A002 - NumPy's name
    """Differentiable ``numpy.linalg.norm``: vector and matrix norms, ``axis`` and ``keepdims``.

    Vector ``ord``: None/2, 1, inf, -inf, 0 (a count: no derivative) and any other p. Matrix
    ``ord``: None/'fro', 1, -1, inf, -inf, 2, -2 and 'nuc' (the last three through ``svdvals``:
    distinct singular values for second derivatives). At 0 (a whole vector or matrix of zeros)
    every norm's derivative is the zero subgradient, in both modes and at every order, as in
    PyTorch; ``sqrt(sum(x**2))`` written out keeps NumPy's NaN there (sqrt'(0) = inf times 0).

    >>> float(norm(np.array([3.0, 4.0])))
    5.0
    """
    if not isinstance(x, Tracer):  # fast path
        return np.linalg.norm(x, ord, axis, keepdims)
    x = as_array(x)
    nd = len(_shape(x))
    if axis is None:
        if ord is None:
            out = _vector_norm(reshape(x, (-1,)), None, (0,), False)
            return reshape(out, (1,) * nd) if keepdims else out
        if nd not in (1, 2):
            raise ValueError("linalg.norm: improper number of dimensions to norm (with ord and no "
                             "axis, x must be 1-D or 2-D)")
        axis = tuple(range(nd))
    axes = normalize_axes(axis, nd, duplicates="linalg.norm: duplicate axes given")
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("linalg.norm: improper number of dimensions to norm (axis must name 1 or 2 "
                     "axes)")


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):  # noqa: A002 - NumPy's name
    """Differentiable ``numpy.linalg.vector_norm``: ``axis`` may name several axes (None: all).

    >>> float(vector_norm(np.ones((2, 2))))
    2.0
    """
    x = as_array(x)
    nd = len(_shape(x))
    if axis is None:
        out = _vector_norm(reshape(x, (-1,)), ord, (0,), False)
        return reshape(out, (1,) * nd) if keepdims else out
    return _vector_norm(x, ord, normalize_axes(axis, nd), keepdims)


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):  # noqa: A002 - NumPy's name
    """Differentiable ``numpy.linalg.matrix_norm`` over the last two axes.

    >>> float(matrix_norm(np.eye(3), ord=1))
    1.0
    """
    x = _check_matrix(x, "matrix_norm", square=False)
    nd = len(_shape(x))
    return _matrix_norm(x, ord, (nd - 2, nd - 1), keepdims)


__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "svd", "svdvals",
           "pinv", "norm", "vector_norm", "matrix_norm", "matmul", "outer", "tensordot",
           "SlogdetResult", "EighResult", "SVDResult"]
