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
- ``eig`` and ``eigvals`` (general matrices) return complex results, as JAX does, even where NumPy
  would return real ones; their derivatives need distinct eigenvalues (else ``DerivativeError``,
  for the eigenvalues too: at a repeated eigenvalue they are not differentiable); the eigenvectors'
  derivative keeps their unit norm (and moves no phase), so differentiate scale-invariant or
  phase-invariant quantities such as ``|v|**2`` or ``v diag(w) v⁻¹``;
- ``qr``'s derivative is that of the reduced factorization (wide matrices through their leading
  square block); ``lstsq``'s solution is differentiated as ``pinv(a) @ b`` (constant rank);
- complex inputs: every function is differentiable with the convention of this library (the VJP is
  the transpose of the JVP under ⟨u, v⟩ = Re Σ u·v): ``inv``, ``solve``, ``det`` and ``slogdet``
  are holomorphic (no conjugation); ``cholesky``, ``eigh``, ``eigvalsh``, ``svd``, ``svdvals`` and
  ``pinv`` are not (they read ``aᴴ``), and their rules carry the conjugations. Eigenvectors and
  singular vectors of complex matrices are defined up to a phase each: differentiate
  phase-invariant quantities (``|v|**2``, ``u diag(s) vh``, projectors).
"""

from __future__ import annotations

import operator
from collections import namedtuple

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes
from ..core.forward import JVPTracer
from ..core.primitive import DerivativeError, Primitive
from ..core.reverse import ReverseTracer
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .elementwise import absolute, astype, conj, imag, real, sqrt, where, zeros_like_value
from .indexing import diagonal as _diagonal
from .indexing import tril
from .products import cross as _cross
from .products import dot, einsum, matmul, outer, tensordot
from .products import vecdot as _vecdot
from .reductions import _no_out, _prod_others
from .reductions import all as _all
from .reductions import max as _max
from .reductions import min as _min
from .reductions import sum as _sum
from .reductions import trace as _np_trace
from .shape import (
    concatenate,
    expand_dims,
    matrix_transpose,
    ravel,
    reshape,
    squeeze,
    swapaxes,
    transpose,
)

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])


def _plain_tuple(np_fn):
    """NumPy's named-tuple results as the plain tuples multiple-result primitives return."""
    return lambda a: tuple(np_fn(a))


# --- helpers (written with primitives, so rules built on them differentiate again) ---------------
def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _T(x):
    """Transpose of the last two axes (of every matrix in a stack)."""
    return swapaxes(x, -1, -2)


def _cj(x):
    """``conj(x)`` for complex ``x``, ``x`` itself otherwise."""
    return conj(x) if vspace.is_complex(x) else x


def _H(x):  # noqa: N802 - the conjugate transpose's usual name
    """Conjugate transpose of the last two axes."""
    return _cj(_T(x))


def _real_like(x, like):
    """``x`` as a cotangent for ``like``: its real part where ``like`` is real."""
    return x if vspace.is_complex(like) or not vspace.is_complex(x) else real(x)


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
    # dL = L Φ(L⁻¹ dA L⁻ᴴ) for Hermitian dA (Murray 2016); L⁻¹ X L⁻ᴴ by two solves.
    inner = _solve.bind(ans, _T(_solve.bind(_cj(ans), _T(t))))
    return matmul(ans, inner * _phi_mask(ans, _shape(a)[-1]))


def _cholesky_vjp(g, ans, a):
    # The transpose of the JVP formula: L⁻ᵀ Φ(Lᵀ G) conj(L)⁻¹.
    lt = _T(ans)
    p = matmul(lt, g) * _phi_mask(ans, _shape(a)[-1])
    return _solve.bind(lt, _T(_solve.bind(_cj(lt), _T(p))))


_cholesky = Primitive("cholesky", np.linalg.cholesky)
_cholesky.defjvp(_cholesky_jvp)
_cholesky.defvjp(_cholesky_vjp)
_cholesky.defbatch(_stack_batch)


def cholesky(a):
    """Differentiable ``numpy.linalg.cholesky``: lower-triangular ``L`` with ``a = L @ L.H``.

    Reads the Hermitian part ``(a + a.H) / 2`` (as JAX), so the derivative is valid in every
    direction. Real or complex.

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
    (t,) = tangents
    if t is None:
        return (None, None)
    w, v = ans
    _require_distinct(w, _EIGH_REPEATED)
    s = _mm(_H(v), t, v)
    return (_real_like(_diag_part(s), w), matmul(v, _eig_gaps(w) * s))


def _eigh_vjp(g, ans, args, params, which):
    # Cotangents come as None for unused outputs (symbolic_zeros): an eigenvalue-only loss never
    # meets the eigenvector term, which divides by the gaps between eigenvalues. The transpose of
    # the JVP: conj(V) [diag(w̄) + F ∘ (Vᵀ V̄)] Vᵀ.
    gw, gv = g
    w, v = ans
    inner = None if gw is None else _diag_embed(gw)
    if gv is not None:
        _require_distinct(w, _EIGH_REPEATED)
        inner = _plus(inner, _eig_gaps(w) * matmul(_T(v), gv))
    return [_mm(_cj(v), inner, _T(v))]


_eigh = Primitive("eigh", _plain_tuple(np.linalg.eigh), multiple_results=True)
_eigh.defjvp_all(_eigh_jvp)
_eigh.defvjp_all(_eigh_vjp, symbolic_zeros=True)
_eigh.defbatch(_stack_batch)


def eigh(a, UPLO: str = "L"):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.linalg.eigh``: ``(eigenvalues, eigenvectors)`` of a symmetric matrix.

    Reads the Hermitian part ``(a + a.H) / 2`` (as JAX; ``UPLO`` is accepted for compatibility
    and makes no difference then). The eigenvector derivative needs distinct eigenvalues (else
    ``DerivativeError``; see the module notes); eigenvectors are defined up to sign (a phase for
    complex input), so differentiate sign- or phase-invariant quantities. Real or complex.

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    """
    a = _check_matrix(a, "eigh")
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', not {UPLO!r}")
    return EighResult(*_eigh.bind(_symmetrize(a)))


def _eigvalsh_jvp(t, ans, a):
    v = _eigh.bind(a)[1]  # bound again so that higher derivatives see the vectors move
    return _real_like(_diag_part(_mm(_H(v), t, v)), ans)


def _eigvalsh_vjp(g, ans, a):
    v = _eigh.bind(a)[1]
    return _mm(_cj(v), _diag_embed(g), _T(v))


_eigvalsh = Primitive("eigvalsh", np.linalg.eigvalsh)
_eigvalsh.defjvp(_eigvalsh_jvp)
_eigvalsh.defvjp(_eigvalsh_vjp)
_eigvalsh.defbatch(_stack_batch)


def eigvalsh(a, UPLO: str = "L"):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.linalg.eigvalsh``: eigenvalues (ascending) of the symmetric part.

    The first derivative needs no distinct eigenvalues (it is dw_i = v_iᴴ dA v_i). Real or
    complex.

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


def _safe_inverse(s):
    """1 / s, and 0 where s is 0 (a square matrix's zero singular value)."""
    zero = s == 0
    return where(zero, 0.0, 1 / where(zero, 1.0, s))


def _svd_jvp(tangents, ans, primals, params):
    # Thin SVD A = U S Vᴴ, distinct nonzero singular values (as JAX's rule). For complex A the
    # phase of each pair (u_i, v_i) is fixed by putting i Im(uᵢᴴ dA vᵢ) / sᵢ on U alone.
    (t,), (a,) = tangents, primals
    if t is None:
        return (None, None, None)
    u, s, vh = ans
    v = _H(vh)
    m, n = _shape(a)[-2:]
    _require_distinct_singular(s, m, n)
    ds_mat = _mm(_H(u), t, v)
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)  # multiply columns / rows by s
    du = matmul(u, f * (ds_mat * row + _H(ds_mat) * col))
    dv = matmul(v, f * (col * ds_mat + _H(ds_mat) * row))
    ds = _diag_part(ds_mat)
    if vspace.is_complex(ds):
        du = du + u * expand_dims(1j * imag(ds) * _safe_inverse(s), -2)
        ds = real(ds)
    if m > n:  # the part of dA V outside the span of U
        dav = matmul(t, v)
        du = du + (dav - matmul(u, matmul(_H(u), dav))) / row
    if n > m:
        dau = matmul(_H(t), u)
        dv = dv + (dau - matmul(v, matmul(vh, dau))) / row
    return (du, ds, _H(dv))


def _svd_vjp(g, ans, args, params, which):
    # The transpose of _svd_jvp. With Gu = Uᵀ Ū and Gv = conj(Vh) Vh̄ᴴ:
    # Ā = conj(U) [diag(s̄) + (F∘Gu) S + (S (F∘Gu))ᴴ + i diag(Im Gu_ii / s_i)
    #              + S (F∘Gv) + ((F∘Gv) S)ᴴ] conj(Vh) + the non-square terms
    # (for real A: U [diag(s̄) + (F ∘ (UᵀŪ - ŪᵀU)) S + S (F ∘ (VᵀV̄ - V̄ᵀV))] Vᵀ
    #     + (I - UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I - VVᵀ)).
    # Unused outputs come as None (symbolic_zeros): a loss of the singular values only never meets
    # the vector terms, which divide by the gaps (and, for non-square A, by the values).
    (a,) = args
    gu, gs, gvh = g
    u, s, vh = ans
    m, n = _shape(a)[-2:]
    uc, vhc = _cj(u), _cj(vh)
    if gu is None and gvh is None:
        return [_mm(uc, _diag_embed(gs), vhc)]
    _require_distinct_singular(s, m, n)
    f = _svd_gaps(s)
    row, col = expand_dims(s, -2), expand_dims(s, -1)
    core = None if gs is None else _diag_embed(gs)
    if gu is not None:
        gu_in = matmul(_T(u), gu)
        fg = f * gu_in
        core = _plus(core, fg * row, _H(fg * col))
        if vspace.is_complex(gu_in):
            core = core + _diag_embed(1j * imag(_diag_part(gu_in)) * _safe_inverse(s))
    if gvh is not None:
        fg = f * matmul(vhc, _H(gvh))
        core = _plus(core, col * fg, _H(fg * row))
    out = _mm(uc, core, vhc)
    if m > n and gu is not None:
        gu_s = gu / row
        out = out + matmul(gu_s - matmul(uc, matmul(_T(u), gu_s)), vhc)
    if n > m and gvh is not None:
        gvh_s = gvh / col
        out = out + matmul(uc, gvh_s - matmul(matmul(gvh_s, _T(vh)), vhc))
    return [out]


_svd = Primitive("svd", _svd_impl, multiple_results=True)
_svd.defjvp_all(_svd_jvp)
_svd.defvjp_all(_svd_vjp, symbolic_zeros=True)
_svd.defbatch(_stack_batch)


def _svdvals_jvp(t, ans, a):
    u, _, vh = _svd.bind(a)  # bound again so that higher derivatives see the vectors move
    return _real_like(_diag_part(_mm(_H(u), t, _H(vh))), ans)


def _svdvals_vjp(g, ans, a):
    u, _, vh = _svd.bind(a)
    return _mm(_cj(u), _diag_embed(g), _cj(vh))


_svdvals = Primitive("svdvals", lambda a: np.linalg.svd(a, compute_uv=False))
_svdvals.defjvp(_svdvals_jvp)
_svdvals.defvjp(_svdvals_vjp)
_svdvals.defbatch(_stack_batch)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Differentiable ``numpy.linalg.svd``: ``(U, S, Vh)`` with ``a = U @ diag(S) @ Vh``.

    Derivatives of ``U`` and ``Vh`` need distinct singular values, nonzero for non-square matrices
    (else ``DerivativeError``), and, for non-square matrices, ``full_matrices=False`` (the extra
    columns of the full factors are not unique).
    With ``compute_uv=False`` only ``S`` is returned (see ``svdvals``). Real or complex
    (singular vectors up to a phase: differentiate phase-invariant quantities).

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

    The derivative is dS_i = Re u_iᴴ dA v_i (distinct singular values). Real or complex.

    >>> svdvals(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array([4., 3.])
    """
    return _svdvals.bind(_check_matrix(x, "svdvals", square=False))


# --- pinv ----------------------------------------------------------------------------------------
def _pinv_jvp(t, ans, a, **params):
    # d A⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - A A⁺) + (I - A⁺A) dAᴴ A⁺ᴴ A⁺   (constant rank)
    p, th = ans, _H(t)
    x = _mm(p, _H(p), th)
    y = _mm(th, _H(p), p)
    return -_mm(p, t, p) + x - _mm(x, a, p) + y - _mm(p, a, y)


def _pinv_vjp(g, ans, a, **params):
    # The transpose: -A⁺ᵀ G A⁺ᵀ + (I - Ā Ā⁺) Gᴴ Ā⁺ A⁺ᵀ + A⁺ᵀ Ā⁺ Gᴴ (I - Ā⁺ Ā)   (Ā: conj)
    p, gh = ans, _H(g)
    pc, ac = _cj(p), _cj(a)
    z = _mm(gh, pc, _T(p))
    w = _mm(_T(p), pc, gh)
    return -_mm(_T(p), g, _T(p)) + z - _mm(ac, pc, z) + w - _mm(w, pc, ac)


def _pinv_impl(a, rcond, hermitian, rtol):
    kw = {} if rtol is None else {"rtol": rtol}
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian, **kw)


_pinv = Primitive("pinv", _pinv_impl)
_pinv.defjvp(_pinv_jvp)
_pinv.defvjp(_pinv_vjp)
_pinv.defbatch(_stack_batch)


def pinv(a, rcond=None, hermitian: bool = False, *, rtol=None):
    """Differentiable ``numpy.linalg.pinv``: the Moore-Penrose pseudo-inverse.

    The derivative (Golub and Pereyra) holds where the rank is locally constant: use it on full-rank
    matrices (at a rank drop the pseudo-inverse is not even continuous). Real or complex.
    ``rcond``/``rtol`` (the relative cutoff of small singular values) and ``hermitian`` go to NumPy.

    >>> pinv(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
    array([[1. , 0. , 0. ],
           [0. , 0.5, 0. ]])
    """
    if rtol is not None and rcond is not None:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if isinstance(rcond, Tracer) or isinstance(rtol, Tracer):
        rcond, rtol = concrete(rcond), concrete(rtol)
    return _pinv.bind(_check_matrix(a, "pinv", square=False), rcond=rcond, hermitian=hermitian,
                      rtol=rtol)


# --- eig and eigvals (general matrices) ----------------------------------------------------------
_EIG_REPEATED = (
    "linalg.{name}: the eigenvalues and eigenvectors of a general matrix have no derivative at a "
    "repeated eigenvalue (two eigenvalues agree to working precision; the matrix may not even be "
    "diagonalizable). Move the matrix off the repeated eigenvalue, or, for a symmetric or "
    "Hermitian matrix, use eigh/eigvalsh."
)


def _require_distinct_eig(w, name: str) -> None:
    """Raise DerivativeError where two complex eigenvalues agree to working precision."""
    v = concrete(w)
    xp = array_module(v)
    n = v.shape[-1]
    if n < 2:
        return
    tol = 8 * n * np.finfo(v.dtype).eps * xp.max(xp.abs(v), axis=-1, keepdims=True)[..., None]
    gaps = xp.abs(v[..., :, None] - v[..., None, :]) + xp.where(xp.eye(n, dtype=bool), xp.inf, 0)
    if bool(xp.any(gaps <= tol)):
        raise DerivativeError(_EIG_REPEATED.format(name=name))


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    dtype = np.result_type(w.dtype, np.complex64)  # always complex, as JAX
    return w.astype(dtype, copy=False), v.astype(dtype, copy=False)


def _eig_jvp(tangents, ans, primals, params):
    # A = V W V⁻¹: dW = diag(S) with S = V⁻¹ dA V; dV = V (F ∘ S), less each column's component
    # along itself that would change its (unit) norm.
    (t,) = tangents
    if t is None:
        return (None, None)
    w, v = ans
    _require_distinct_eig(w, "eig")
    s = _solve.bind(v, matmul(t, v))
    vx = matmul(v, _eig_gaps(w) * s)
    dv = vx - v * expand_dims(real(_diag_part(matmul(_H(v), vx))), -2)
    return (_diag_part(s), dv)


def _eig_vjp(g, ans, args, params, which):
    # The transpose of _eig_jvp: V⁻ᵀ [diag(w̄) + F ∘ (Vᵀ V̄ - Vᵀ conj(V) diag(Re diag(Vᵀ V̄)))] Vᵀ.
    gw, gv = g
    w, v = ans
    _require_distinct_eig(w, "eig")
    core = None if gw is None else _diag_embed(gw)
    if gv is not None:
        vtg = matmul(_T(v), gv)
        norm_part = matmul(matmul(_T(v), conj(v)), _diag_embed(real(_diag_part(vtg))))
        core = _plus(core, _eig_gaps(w) * (vtg - norm_part))
    return [_real_like(_solve.bind(_T(v), matmul(core, _T(v))), args[0])]


_eig = Primitive("eig", _eig_impl, multiple_results=True)
_eig.defjvp_all(_eig_jvp)
_eig.defvjp_all(_eig_vjp, symbolic_zeros=True)
_eig.defbatch(_stack_batch)


def eig(a):
    """Differentiable ``numpy.linalg.eig``: ``(eigenvalues, eigenvectors)`` of a general matrix.

    The results are always complex (as JAX; NumPy returns real arrays where every eigenvalue is
    real). The eigenvectors have unit norm and an arbitrary phase each: differentiate quantities
    that do not depend on the phase. Derivatives need distinct eigenvalues (else
    ``DerivativeError``).

    >>> w, v = eig(np.array([[2.0, 0.0], [0.0, 3.0]]))
    >>> w
    array([2.+0.j, 3.+0.j])
    """
    return EigResult(*_eig.bind(_check_matrix(a, "eig")))


def _eigvals_jvp(t, ans, a):
    _require_distinct_eig(ans, "eigvals")
    v = _eig.bind(a)[1]  # bound again so that higher derivatives see the vectors move
    return _diag_part(_solve.bind(v, matmul(t, v)))


def _eigvals_vjp(g, ans, a):
    _require_distinct_eig(ans, "eigvals")
    v = _eig.bind(a)[1]
    return _real_like(_solve.bind(_T(v), matmul(_diag_embed(g), _T(v))), a)


_eigvals = Primitive("eigvals", lambda a: _eig_impl(a)[0])
_eigvals.defjvp(_eigvals_jvp)
_eigvals.defvjp(_eigvals_vjp)
_eigvals.defbatch(_stack_batch)


def eigvals(a):
    """Differentiable ``numpy.linalg.eigvals``: eigenvalues of a general matrix, always complex
    (as JAX); dw_i = (V⁻¹ dA V)_ii for distinct eigenvalues (else ``DerivativeError``).

    >>> eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
    array([0.+1.j, 0.-1.j])
    """
    return _eigvals.bind(_check_matrix(a, "eigvals"))


# --- qr ------------------------------------------------------------------------------------------
def _qr_omega(c):
    """The skew-Hermitian Qᴴ dQ of the QR derivative, from C = Qᴴ dA R⁻¹."""
    lower = tril(c, -1)
    out = lower - _H(lower)
    if vspace.is_complex(c):
        out = out + _diag_embed(1j * imag(_diag_part(c)))
    return out


def _qr_omega_T(k):  # noqa: N802 - the transpose of _qr_omega
    out = tril(k, -1) - tril(_H(k), -1)
    if vspace.is_complex(k):
        out = out + _diag_embed(1j * imag(_diag_part(k)))
    return out


def _qr_jvp(tangents, ans, primals, params):
    # Reduced QR of a tall (or square) A (Townsend's derivation, as JAX): with B = dA R⁻¹ and
    # C = Qᴴ B, dQ = Q (Ω(C) - C) + B and dR = (C - Ω(C)) R.
    (t,), q, r = tangents, *ans
    if t is None:
        return (None, None)
    b = _T(_solve.bind(_T(r), _T(t)))
    c = matmul(_H(q), b)
    om = _qr_omega(c)
    return (matmul(q, om - c) + b, matmul(c - om, r))


def _qr_vjp(g, ans, args, params, which):
    gq, gr = g
    q, r = ans
    k = None if gq is None else matmul(_T(q), gq)
    if gr is not None:
        k = _plus(k, -matmul(gr, _T(r)))
    gb = matmul(_cj(q), _qr_omega_T(k) - k)
    if gq is not None:
        gb = gb + gq
    return [_real_like(_T(_solve.bind(r, _T(gb))), args[0])]


_qr = Primitive("qr", lambda a: tuple(np.linalg.qr(a, mode="reduced")), multiple_results=True)
_qr.defjvp_all(_qr_jvp)
_qr.defvjp_all(_qr_vjp, symbolic_zeros=True)
_qr.defbatch(_stack_batch)


def qr(a, mode: str = "reduced"):
    """Differentiable ``numpy.linalg.qr``: ``(Q, R)`` with modes 'reduced', 'complete', 'r' and
    'raw'.

    Derivatives: 'reduced' and 'r' for every shape (wide matrices through their leading square
    block), 'complete' where it equals 'reduced' (M <= N); the complete Q of a tall matrix is not
    unique and 'raw' (Householder reflectors) has no rule: both raise ``NotImplementedError`` when
    traced. The derivative needs full rank in the leading square block.

    >>> q, r = qr(np.array([[3.0, 0.0], [4.0, 5.0]]))
    >>> np.round(r, 6)
    array([[-5., -4.],
           [ 0.,  3.]])
    """
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    a = _check_matrix(a, "qr", square=False)
    if not isinstance(a, Tracer):
        out = np.linalg.qr(a, mode=mode)
        return QRResult(*out) if mode in ("reduced", "complete") else out
    m, n = _shape(a)[-2:]
    if mode == "raw":
        raise NotImplementedError("linalg.qr: mode='raw' (Householder reflectors) is not "
                                  "differentiable here; use mode='reduced'.")
    if mode == "complete" and m > n:
        raise NotImplementedError("linalg.qr: the derivative with mode='complete' of a tall matrix "
                                  "is not defined (the extra columns of Q are not unique); use "
                                  "mode='reduced'.")
    if m >= n:
        q, r = _qr.bind(a)
    else:  # A = [X Y] with X square: Q R_X = X and R = [R_X, Qᴴ Y]
        q, rx = _qr.bind(a[..., :m])
        r = concatenate([rx, matmul(_H(q), a[..., m:])], axis=-1)
    return r if mode == "r" else QRResult(q, r)


# --- least squares, powers, chains, tensor solves ------------------------------------------------
def lstsq(a, b, rcond=None):
    """Differentiable ``numpy.linalg.lstsq``: ``(x, residuals, rank, s)``.

    ``x`` minimises ``|b - a x|``; it is differentiated as ``pinv(a) @ b`` (valid where the rank is
    locally constant, full rank for example). ``residuals`` (the squared residual norms, when
    ``a`` is tall and of full rank, else empty) and ``s`` (the singular values) are differentiable
    too; ``rank`` is an integer.

    >>> x, res, rank, s = lstsq(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones(3))
    >>> np.round(x, 6), int(rank)
    (array([0.666667, 0.666667]), 2)
    """
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):
        return np.linalg.lstsq(a, b, rcond=rcond)
    a, b = as_array(a), as_array(b)
    if len(_shape(a)) != 2:
        raise np.linalg.LinAlgError(f"{len(_shape(a))}-dimensional array given. Array must be "
                                    "two-dimensional")
    m, n = _shape(a)
    if len(_shape(b)) not in (1, 2) or _shape(b)[0] != m:
        raise np.linalg.LinAlgError("Incompatible dimensions")
    if rcond is None:
        rcond = np.finfo(real(a).dtype).eps * max(m, n)
    x = matmul(pinv(a, rcond=rcond), b)
    s = svdvals(a)
    rank = astype(matrix_rank(a, rtol=rcond), np.int32)
    if m > n and bool(np.all(concrete(rank) == n)):
        resid = _sum(_abs2(b - matmul(a, x)), axis=0)
        if len(_shape(b)) == 1:
            resid = reshape(resid, (1,))
    else:
        resid = np.empty((0,), dtype=np.result_type(real(a).dtype, real(b).dtype))
    return x, resid, rank, s


def matrix_power(a, n):
    """Differentiable ``numpy.linalg.matrix_power``: ``a`` to an integer power (negative: of the
    inverse), by repeated squaring.

    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), -2)
    array([[ 1., -2.],
           [ 0.,  1.]])
    """
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("exponent must be an integer") from None
    a = _check_matrix(a, "matrix_power")
    if not isinstance(a, Tracer):
        return np.linalg.matrix_power(a, n)
    if n == 0:
        return zeros_like_value(a) + _eye_like(a, _shape(a)[-1])
    if n < 0:
        a, n = inv(a), -n
    out = None
    while n:
        if n & 1:
            out = a if out is None else matmul(out, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return out


def _chain_order(dims: list) -> list:
    """Matrix-chain split points ``split[i][j]`` of the cheapest order (dynamic programming)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain_product(arrays, split, i: int, j: int):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return matmul(_chain_product(arrays, split, i, k), _chain_product(arrays, split, k + 1, j))


def multi_dot(arrays, *, out=None):
    """Differentiable ``numpy.linalg.multi_dot``: the product of a chain of matrices in the
    cheapest order (the first may be a row vector, the last a column vector).

    >>> multi_dot([np.ones(2), np.eye(2), np.ones((2, 3))])
    array([2., 2., 2.])
    """
    _no_out(out, "linalg.multi_dot")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if not any(isinstance(x, Tracer) for x in arrays):
        return np.linalg.multi_dot(arrays)
    arrays = [as_array(x) for x in arrays]
    if len(arrays) == 2:
        return dot(*arrays)
    first_1d, last_1d = len(_shape(arrays[0])) == 1, len(_shape(arrays[-1])) == 1
    if first_1d:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for x in arrays:
        if len(_shape(x)) != 2:
            raise np.linalg.LinAlgError(f"{len(_shape(x))}-dimensional array given. Array must "
                                        "be two-dimensional")
    dims = [_shape(x)[0] for x in arrays] + [_shape(arrays[-1])[1]]
    result = _chain_product(arrays, _chain_order(dims), 0, len(arrays) - 1)
    if first_1d and last_1d:
        return result[0, 0]
    if first_1d:
        return result[0]
    return result[:, 0] if last_1d else result


def tensorinv(a, ind: int = 2):
    """Differentiable ``numpy.linalg.tensorinv``: the inverse of ``a`` read as a matrix from its
    first ``ind`` axes to the rest (through ``inv``).

    >>> tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    a = as_array(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    shape = _shape(a)
    rows = int(np.prod(shape[ind:], dtype=np.int64))
    return reshape(inv(reshape(a, (rows, -1))), shape[ind:] + shape[:ind])


def tensorsolve(a, b, axes=None):
    """Differentiable ``numpy.linalg.tensorsolve``: ``x`` with ``tensordot(a, x, x.ndim) = b``
    (through ``solve``); ``axes`` of ``a`` move to the end first.

    >>> tensorsolve(np.eye(4).reshape(2, 2, 4), np.ones((2, 2))).shape
    (4,)
    """
    a, b = as_array(a), as_array(b)
    an, bn = len(_shape(a)), len(_shape(b))
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = transpose(a, order)
    old = _shape(a)[-(an - bn):]
    size = int(np.prod(old, dtype=np.int64))
    if int(np.prod(_shape(a), dtype=np.int64)) != size * size:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == "
            "prod(a.shape[:b.ndim])")
    return reshape(solve(reshape(a, (size, size)), ravel(b)), old)


def matrix_rank(A, tol=None, hermitian: bool = False, *, rtol=None):  # noqa: N803 - NumPy's name
    """``numpy.linalg.matrix_rank`` (an integer: not differentiable; traced inputs are read for
    their values, and it batches under ``vmap``).

    >>> int(matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    A = as_array(A)
    if tol is not None and isinstance(tol, Tracer):
        tol = concrete(tol)
    if rtol is not None and isinstance(rtol, Tracer):
        rtol = concrete(rtol)
    return _matrix_rank.bind(A, tol=tol, hermitian=hermitian, rtol=rtol)


_matrix_rank = Primitive(
    "matrix_rank", lambda a, tol, hermitian, rtol: np.linalg.matrix_rank(a, tol, hermitian,
                                                                          rtol=rtol),
    differentiable=False)
_matrix_rank.defbatch(_stack_batch)


# --- the array-API names (last two axes) ---------------------------------------------------------
def diagonal(x, /, *, offset: int = 0):
    """Differentiable ``numpy.linalg.diagonal``: the diagonals of the last two axes.

    >>> diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    """
    return _diagonal(_check_matrix(x, "diagonal", square=False), offset, -2, -1)


def trace(x, /, *, offset: int = 0, dtype=None):
    """Differentiable ``numpy.linalg.trace``: the sums of the diagonals of the last two axes.

    >>> float(trace(np.eye(3)))
    3.0
    """
    return _np_trace(_check_matrix(x, "trace", square=False), offset, -2, -1, dtype=dtype)


def vecdot(x1, x2, /, *, axis: int = -1):
    """Differentiable ``numpy.linalg.vecdot``: ``sum(conj(x1) * x2, axis)``.

    >>> float(vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    return _vecdot(x1, x2, axis=axis)


def cross(x1, x2, /, *, axis: int = -1):
    """Differentiable ``numpy.linalg.cross``: the cross product of 3-vectors along ``axis``.

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    x1, x2 = as_array(x1), as_array(x2)
    n1, n2 = _shape(x1)[axis], _shape(x2)[axis]
    if n1 != 3 or n2 != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they "
                         f"are {n1} and {n2} dimensional instead.")
    return _cross(x1, x2, axis=axis)


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


def cond(x, p=None):
    """Differentiable ``numpy.linalg.cond``: the condition number in the norm ``p`` (None, 2, -2:
    the ratio of extreme singular values; 'fro', 'nuc', 1, -1, inf, -inf: ``norm(x) norm(inv(x))``).

    >>> float(cond(np.array([[1.0, 0.0], [0.0, 4.0]])))
    4.0
    """
    if not isinstance(x, Tracer):
        return np.linalg.cond(x, p)
    x = _check_matrix(x, "cond", square=p not in (None, 2, -2) or isinstance(p, str))
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        s = svdvals(x)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "svd", "svdvals",
           "pinv", "norm", "vector_norm", "matrix_norm", "matmul", "outer", "tensordot",
           "eig", "eigvals", "qr", "lstsq", "matrix_power", "multi_dot", "tensorinv", "tensorsolve",
           "matrix_rank", "cond", "diagonal", "trace", "matrix_transpose", "vecdot", "cross",
           "SlogdetResult", "EighResult", "SVDResult", "EigResult", "QRResult"]
