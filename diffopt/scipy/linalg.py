"""Differentiable ``scipy.linalg``: matrix functions, triangular and factored solves, factors.

On plain arrays every function returns SciPy's own result. On traced values (inside ``grad``,
``jvp``, ``vmap``...) the results are built from differentiable pieces: primitives here
(``expm``, triangular solves, LU, ``sqrtm``, the Sylvester solve) whose rules are written with
primitives again, so derivatives of every order exist, and ``diffopt.numpy.linalg`` (Cholesky,
eigh, QR, inverse, determinant, solve). Derivatives follow this library's convention for complex
inputs (the VJP is the transpose of the JVP under ⟨u, v⟩ = Re Σ u·v).

- ``expm``: its derivative is the Fréchet derivative L(A, E), the upper right block of
  ``expm([[A, E], [0, A]])``; its transpose (the VJP) is L(Aᵀ, G);
- ``sqrtm``: dX solves the Sylvester equation X dX + dX X = dA (X must have no eigenvalues of
  opposite sign pairs, which holds for the principal root of a matrix with no eigenvalue on the
  closed negative real axis);
- ``lu``, ``lu_factor``: the row permutation is locally constant; the factors' derivative needs a
  square nonsingular matrix;
- functions that read one triangle of their input (``cho_factor``, ``eigh``, ``solve`` with a
  symmetric ``assume_a``) are differentiated in that triangle only, as SciPy reads it;
- ``schur`` has values (and ``vmap``) but no derivative rule: differentiating it raises
  ``NotImplementedError``.

>>> import diffopt
>>> float(diffopt.grad(lambda t: expm(t * np.array([[0.0, 1.0], [0.0, 0.0]]))[0, 1])(2.0))
1.0
"""

from __future__ import annotations

import operator

import numpy as np
import scipy.linalg as _sl

from ..core import vspace
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from ..numpy import linalg as _nl
from ..numpy.backend import as_array
from ..numpy.elementwise import astype, zeros_like_value
from ..numpy.indexing import take, tril, triu
from ..numpy.linalg import (
    _H,
    _T,
    _check_matrix,
    _eye_like,
    _real_like,
    _stack_batch,
    _symmetrize,
)
from ..numpy.products import matmul
from ..numpy.reductions import argmax
from ..numpy.shape import concatenate, expand_dims, pad, squeeze


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _traced(*xs) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _check_finite(check_finite: bool, *arrays) -> None:
    """SciPy's ``check_finite``: refuse infinities and NaNs (on the values under any tracer)."""
    if check_finite:
        for x in arrays:
            v = concrete(x)
            if np.issubdtype(np.asarray(v).dtype, np.inexact) and not np.all(np.isfinite(v)):
                raise ValueError("array must not contain infs or NaNs")


def _no_derivative(name: str, why: str):
    """JVP and VJP rules that raise ``NotImplementedError``: values only."""
    def rule(*args, **kwargs):
        raise NotImplementedError(f"scipy.linalg.{name}: no derivative is implemented ({why}).")
    return rule


def _triangle(a, lower: bool, k: int = 0):
    return tril(a, -k) if lower else triu(a, k)


def _hermitian_from(a, lower: bool, conjugate: bool = True):
    """The Hermitian (``conjugate=False``: symmetric) matrix SciPy reads from one triangle."""
    strict = _triangle(a, lower, 1)
    if not conjugate:
        return _triangle(a, lower) + _T(strict)
    return _symmetrize(_triangle(a, lower) + _H(strict))  # the diagonal's real part


# --- expm ----------------------------------------------------------------------------------------
def _frechet(a, e):
    """The Fréchet derivative L(A, E) of expm: the upper right block of expm([[A, E], [0, A]])."""
    n = _shape(a)[-1]
    zero = zeros_like_value(e if vspace.is_complex(e) else a)
    block = concatenate([concatenate([a, e], axis=-1), concatenate([zero, a], axis=-1)], axis=-2)
    return _expm.bind(block)[..., :n, n:]


_expm = Primitive("expm", _sl.expm)
_expm.defjvp(lambda t, ans, a: _frechet(a, t))
_expm.defvjp(lambda g, ans, a: _frechet(_T(a), g))
_expm.defbatch(_stack_batch)


def expm(A):  # noqa: N803 - SciPy's name
    """Differentiable ``scipy.linalg.expm`` (Padé scaling and squaring, stacks too); its
    derivative is the Fréchet derivative, to every order.

    >>> expm(np.array([[0.0, 1.0], [0.0, 0.0]]))
    array([[1., 1.],
           [0., 1.]])
    """
    return _expm.bind(_check_matrix(A, "expm"))


# --- triangular solves ---------------------------------------------------------------------------
def _trsolve_impl(a, b, lower):
    if a.ndim == 2 and b.ndim == 2:
        return _sl.solve_triangular(a, b, lower=lower, check_finite=False)
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, stack + a.shape[-2:])
    b = np.broadcast_to(b, stack + b.shape[-2:])
    out = np.empty(stack + b.shape[-2:], dtype=np.result_type(a, b, np.float64))
    for i in np.ndindex(stack):
        out[i] = _sl.solve_triangular(a[i], b[i], lower=lower, check_finite=False)
    return out


def _trsolve_jvp(tangents, ans, primals, params):
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        rhs = -matmul(ta, ans) if rhs is None else rhs - matmul(ta, ans)
    return _trsolve.bind(primals[0], rhs, **params)


def _trsolve_vjp(g, ans, args, params, which):
    gb = _trsolve.bind(_T(args[0]), g, lower=not params["lower"])
    return [-matmul(gb, _T(ans)) if i == 0 else gb for i in which]


# a is triangular (the other triangle zero) and b a (stack of) matrices: the solve of a x = b
_trsolve = Primitive("solve_triangular", _trsolve_impl)
_trsolve.defjvp_all(_trsolve_jvp)
_trsolve.defvjp_all(_trsolve_vjp)

_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.solve_triangular``: ``x`` with ``a x = b`` (``trans``: 0/'N',
    1/'T' for ``aᵀ x = b``, 2/'C' for ``aᴴ x = b``) reading one triangle of ``a`` (and not its
    diagonal with ``unit_diagonal``); differentiable in both, in the triangle read.

    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError("Incorrect value for trans")
    a, b = _check_matrix(a, "solve_triangular"), as_array(b)
    _check_finite(check_finite, a, b)
    n, sb = _shape(a)[-1], _shape(b)
    vector = len(sb) == 1
    if len(sb) == 0 or sb[0 if vector else -2] != n:
        raise ValueError(f"shapes of a {_shape(a)} and b {sb} are incompatible")
    if not _traced(a, b):
        return _sl.solve_triangular(a, b, trans, lower, unit_diagonal, check_finite=False)
    m = _triangle(a, lower, 1 if unit_diagonal else 0)
    if unit_diagonal:
        m = m + _eye_like(a, n)
    if _TRANS[trans]:
        m, lower = (_H(m) if _TRANS[trans] == 2 else _T(m)), not lower
    x = _trsolve.bind(m, expand_dims(b, -1) if vector else b, lower=lower)
    return squeeze(x, -1) if vector else x


# --- Cholesky ------------------------------------------------------------------------------------
def cho_factor(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.cho_factor``: ``(c, lower)`` with the Cholesky factor in one
    triangle of ``c`` (the other holds ``a``'s entries, as in SciPy), read from that triangle.

    >>> c, low = cho_factor(np.array([[4.0, 2.0], [2.0, 3.0]]), lower=True)
    >>> float(c[1, 0]), low
    (1.0, True)
    """
    a = _check_matrix(a, "cho_factor")
    _check_finite(check_finite, a)
    if not _traced(a):
        return _sl.cho_factor(a, lower=lower, check_finite=False)
    factor = _nl.cholesky(_hermitian_from(a, lower))
    if not lower:
        factor = _H(factor)
    return factor + _triangle(a, not lower, 1), lower


def cho_solve(c_and_lower, b, overwrite_b: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.cho_solve``: ``x`` with ``a x = b`` from ``cho_factor(a)``.

    >>> cho_solve(cho_factor(np.array([[4.0, 2.0], [2.0, 3.0]])), np.array([6.0, 5.0]))
    array([1., 1.])
    """
    c, lower = c_and_lower
    c, b = _check_matrix(c, "cho_solve"), as_array(b)
    _check_finite(check_finite, c, b)
    if not _traced(c, b):
        return _sl.cho_solve((c, lower), b, check_finite=False)
    first, second = (0, 2) if lower else (2, 0)
    y = solve_triangular(c, b, first, lower=lower, check_finite=False)
    return solve_triangular(c, y, second, lower=lower, check_finite=False)


# --- LU ------------------------------------------------------------------------------------------
def _lu_jvp(tangents, ans, primals, params):
    # A = P L U: with F = L⁻¹ Pᵀ dA U⁻¹, dL = L tril(F, -1) and dU = triu(F) U.
    (t,) = tangents
    if t is None:
        return (None, None, None)
    p, lo, up = ans
    y = _trsolve.bind(lo, matmul(_T(p), t), lower=True)
    f = _T(_trsolve.bind(_T(up), _T(y), lower=True))
    return (None, matmul(lo, tril(f, -1)), matmul(triu(f), up))


def _lu_vjp(g, ans, args, params, which):
    # The transpose: P L⁻ᵀ [tril(Lᵀ Ḡ_L, -1) + triu(Ḡ_U Uᵀ)] U⁻ᵀ.
    _, gl, gu = g
    p, lo, up = ans
    m = zeros_like_value(lo) if gl is None else tril(matmul(_T(lo), gl), -1)
    if gu is not None:
        m = m + triu(matmul(gu, _T(up)))
    z = _trsolve.bind(_T(lo), m, lower=False)
    return [_real_like(matmul(p, _T(_trsolve.bind(up, _T(z), lower=False))), args[0])]


_lu = Primitive("lu", lambda a: tuple(_sl.lu(a, check_finite=False)), multiple_results=True)
_lu.defjvp_all(_lu_jvp)
_lu.defvjp_all(_lu_vjp, symbolic_zeros=True)
_lu.defbatch(_stack_batch)


def _traced_lu(a, name: str):
    shape = _shape(a)
    if shape[-1] != shape[-2]:
        raise NotImplementedError(f"scipy.linalg.{name}: the derivative of the LU factors of a "
                                  f"non-square matrix (shape {shape}) is not implemented")
    return _lu.bind(a)


def lu(a, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True,
       p_indices: bool = False):
    """Differentiable ``scipy.linalg.lu``: ``(p, l, u)`` with ``a = p @ l @ u`` (``permute_l``:
    ``(p @ l, u)``; ``p_indices``: ``p`` as row indices, ``a = l[p] @ u``). ``l`` and ``u`` are
    differentiable (square matrices); the permutation is an integer pattern.

    >>> p, l, u = lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> u
    array([[3.        , 4.        ],
           [0.        , 0.66666667]])
    """
    a = _check_matrix(a, "lu", square=False)
    _check_finite(check_finite, a)
    if not _traced(a):
        return _sl.lu(a, permute_l=permute_l, check_finite=False, p_indices=p_indices)
    p, lo, up = _traced_lu(a, "lu")
    if permute_l:
        return matmul(p, lo), up
    if p_indices:  # a = P L U = L[p] U: p[i] is the column of P's 1 in row i
        p = astype(argmax(p, axis=-1), np.int32)
    return p, lo, up


def _over_stack(fn, x, core: int, dtype):
    """``fn`` (a vector of integers from a matrix, ``core`` 2, or a vector, ``core`` 1) applied to
    each of a stack ``x``."""
    stack = x.shape[:x.ndim - core]
    out = np.empty(stack + x.shape[-1:], dtype=dtype)
    for i in np.ndindex(stack):
        out[i] = fn(x[i])
    return out


def _permutation(piv, inverse: bool = False):
    """The row order ``perm`` of LAPACK's interchanges ``piv``: Pᵀ b = b[perm] (``inverse``: the
    order that undoes it, P z = z[inverse])."""
    perm = np.arange(len(piv))
    for i, j in enumerate(piv):
        perm[i], perm[j] = perm[j], perm[i]
    return np.argsort(perm) if inverse else perm


# integers (no derivative), as primitives so that they batch under vmap
_pivots = Primitive("lu_pivots", lambda a: _over_stack(
    lambda m: _sl.lu_factor(m, check_finite=False)[1], a, 2, np.int32), differentiable=False)
_pivots.defbatch(_stack_batch)
_perm = Primitive("lu_permutation", lambda piv, inverse: _over_stack(
    lambda v: _permutation(v, inverse), piv, 1, np.intp), differentiable=False)
_perm.defbatch(_stack_batch)


def lu_factor(a, overwrite_a: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.lu_factor``: ``(lu, piv)``, ``L`` (unit diagonal implied) and
    ``U`` packed in ``lu`` and LAPACK's row interchanges ``piv``.

    >>> lu_and_piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> lu_and_piv[1]
    array([1, 1], dtype=int32)
    """
    a = _check_matrix(a, "lu_factor", square=False)
    _check_finite(check_finite, a)
    if not _traced(a):
        return _sl.lu_factor(a, check_finite=False)
    _, lo, up = _traced_lu(a, "lu_factor")
    return tril(lo, -1) + up, _pivots.bind(a)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.lu_solve``: ``x`` with ``a x = b`` (``trans`` 1: ``aᵀ x = b``,
    2: ``aᴴ x = b``) from ``lu_factor(a)``.

    >>> lu_solve(lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]])), np.array([3.0, 7.0]))
    array([1., 1.])
    """
    lu_, piv = lu_and_piv
    lu_, b = _check_matrix(lu_, "lu_solve"), as_array(b)
    _check_finite(check_finite, lu_, b)
    if trans not in _TRANS:
        raise ValueError("Incorrect value for trans")
    if not _traced(lu_, b):
        return _sl.lu_solve((lu_, piv), b, trans, check_finite=False)
    n = _shape(lu_)[-1]
    if _shape(b)[0] != n:
        raise ValueError(f"Shapes of lu {_shape(lu_)} and b {_shape(b)} are incompatible")
    piv = as_array(piv)  # Pᵀ a = L U, with Pᵀ b = b[perm]
    if _TRANS[trans] == 0:
        pb = take(b, _perm.bind(piv, inverse=False), axis=0)
        y = solve_triangular(lu_, pb, lower=True, unit_diagonal=True, check_finite=False)
        return solve_triangular(lu_, y, check_finite=False)
    y = solve_triangular(lu_, b, trans, check_finite=False)
    z = solve_triangular(lu_, y, trans, lower=True, unit_diagonal=True, check_finite=False)
    return take(z, _perm.bind(piv, inverse=True), axis=0)


# --- QR ------------------------------------------------------------------------------------------
_QR_MODES = ("full", "r", "economic", "raw")


def qr(a, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True):
    """Differentiable ``scipy.linalg.qr``: modes 'full' (``(Q, R)``, Q square), 'economic' (reduced
    factors) and 'r' (``(R,)``, R of ``a``'s shape). Derivatives as ``diffopt.numpy.linalg.qr``
    (full Q of a tall matrix: not unique); ``pivoting`` and mode 'raw' have values only.

    >>> q, r = qr(np.array([[3.0, 0.0], [4.0, 5.0]]))
    >>> r
    array([[-5., -4.],
           [ 0.,  3.]])
    """
    if mode not in _QR_MODES:
        raise ValueError(f"Mode argument should be one of {list(_QR_MODES)}")
    a = _check_matrix(a, "qr", square=False)
    _check_finite(check_finite, a)
    if not _traced(a):
        return _sl.qr(a, lwork=lwork, mode=mode, pivoting=pivoting, check_finite=False)
    for option, used in (("pivoting=True", pivoting), ("mode='raw'", mode == "raw")):
        if used:
            raise NotImplementedError(f"scipy.linalg.qr: {option} is not differentiable here; use "
                                      "pivoting=False and mode 'full', 'economic' or 'r'")
    m, n = _shape(a)[-2:]
    if mode == "full" and m > n:
        raise NotImplementedError("scipy.linalg.qr: the derivative with mode='full' of a tall "
                                  "matrix is not defined (the extra columns of Q are not "
                                  "unique); use mode='economic'")
    if mode == "economic":
        return tuple(_nl.qr(a, "reduced"))
    if mode == "full":
        return tuple(_nl.qr(a, "complete"))
    r = _nl.qr(a, "r")
    if m > n:  # the full R: zero rows below the reduced one
        r = pad(r, [(0, 0)] * (len(_shape(a)) - 2) + [(0, m - n), (0, 0)])
    return (r,)


# --- eigh ----------------------------------------------------------------------------------------
def eigh(a, b=None, *, lower: bool = True, eigvals_only: bool = False, overwrite_a: bool = False,
         overwrite_b: bool = False, type: int = 1, check_finite: bool = True,  # noqa: A002
         subset_by_index=None, subset_by_value=None, driver=None):
    """Differentiable ``scipy.linalg.eigh``: eigenvalues, ascending, and eigenvectors of the
    Hermitian matrix read from one triangle of ``a`` (``lower``), or of the generalized problem
    with a positive definite ``b`` (``type`` 1, 2, 3, through its Cholesky factor);
    ``eigvals_only`` and ``subset_by_index`` too. Derivatives as ``diffopt.numpy.linalg.eigh``
    (the vectors' need distinct eigenvalues); ``subset_by_value`` has values only, and
    ``driver`` (LAPACK's routine) makes no difference on traced values.

    >>> eigh(np.array([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True)
    array([1., 3.])
    """
    a = _check_matrix(a, "eigh")
    _check_finite(check_finite, a, *(() if b is None else (b,)))
    if not _traced(a, b):
        return _sl.eigh(a, b, lower=lower, eigvals_only=eigvals_only, type=type,
                        check_finite=False, subset_by_index=subset_by_index,
                        subset_by_value=subset_by_value, driver=driver)
    if subset_by_value is not None:
        raise NotImplementedError("scipy.linalg.eigh: subset_by_value is not differentiable here "
                                  "(use subset_by_index)")
    if type not in (1, 2, 3):
        raise ValueError("'type' keyword must be 1, 2 or 3")
    n = _shape(a)[-1]
    lo, hi = 0, n - 1
    if subset_by_index is not None:
        lo, hi = (operator.index(i) for i in subset_by_index)
        if not 0 <= lo <= hi < n:
            raise ValueError(f"Requested eigenvalue indices are not valid. Valid range is "
                             f"[0, {n - 1}] and start <= end, but start={lo}, end={hi} is given")
    h = _hermitian_from(a, lower)
    if b is not None:
        factor = _nl.cholesky(_hermitian_from(_check_matrix(b, "eigh"), lower))
        h, vectors = _standard_form(h, factor, type)
    if eigvals_only:
        return _nl.eigvalsh(h)[..., lo:hi + 1]
    w, v = _nl.eigh(h)
    v = v[..., lo:hi + 1]
    return w[..., lo:hi + 1], (v if b is None else vectors(v))


def _standard_form(a, factor, kind: int):
    """The Hermitian C and the map u -> v that turn the generalized problem of type ``kind`` (1:
    A v = w B v, 2: A B v = w v, 3: B A v = w v; B = L Lᴴ) into C u = w u: C = L⁻¹ A L⁻ᴴ and
    v = L⁻ᴴ u for type 1, C = Lᴴ A L for the others, with v = L⁻ᴴ u (2) or v = L u (3), so
    that vᴴ B v = I (type 1, 2) or vᴴ B⁻¹ v = I (type 3), as SciPy normalizes them."""
    def tri(x, trans=0):
        return solve_triangular(factor, x, trans, lower=True, check_finite=False)

    if kind == 1:
        c = tri(_H(tri(a)))
    else:
        c = matmul(_H(factor), matmul(a, factor))
    if kind == 3:
        return c, lambda u: matmul(factor, u)
    return c, lambda u: tri(u, 2)


# --- Sylvester equations and sqrtm ---------------------------------------------------------------
def _sylvester_jvp(tangents, ans, primals, params):
    # A X + X B = Q: A dX + dX B = dQ - dA X - X dB.
    a, b, _ = primals
    ta, tb, tq = tangents
    terms = [t for t in (tq, None if ta is None else -matmul(ta, ans),
                         None if tb is None else -matmul(ans, tb)) if t is not None]
    return _sylvester.bind(a, b, sum(terms[1:], terms[0]))


def _sylvester_vjp(g, ans, args, params, which):
    # The adjoint of Y -> A Y + Y B is Y -> Aᵀ Y + Y Bᵀ.
    gq = _sylvester.bind(_T(args[0]), _T(args[1]), g)
    outs = {0: lambda: -matmul(gq, _T(ans)), 1: lambda: -matmul(_T(ans), gq), 2: lambda: gq}
    return [outs[i]() for i in which]


_sylvester = Primitive("solve_sylvester", _sl.solve_sylvester)
_sylvester.defjvp_all(_sylvester_jvp)
_sylvester.defvjp_all(_sylvester_vjp)


def solve_sylvester(a, b, q):
    """Differentiable ``scipy.linalg.solve_sylvester``: ``x`` with ``a x + x b = q``, in all three.

    >>> solve_sylvester(np.eye(2), 2 * np.eye(2), 3 * np.eye(2))
    array([[1., 0.],
           [0., 1.]])
    """
    a, b, q = (_check_matrix(x, "solve_sylvester", square=s) for x, s in
               ((a, True), (b, True), (q, False)))
    return _sylvester.bind(a, b, q)


_sqrtm = Primitive("sqrtm", lambda a: _sl.sqrtm(a))
_sqrtm.defjvp(lambda t, ans, a: _sylvester.bind(ans, ans, t))
_sqrtm.defvjp(lambda g, ans, a: _real_like(_sylvester.bind(_T(ans), _T(ans), g), a))


def sqrtm(A, disp: bool = True, blocksize: int = 64):  # noqa: N803 - SciPy's name
    """Differentiable ``scipy.linalg.sqrtm``: the principal square root X (X @ X = A; complex where
    A has negative eigenvalues); dX solves X dX + dX X = dA. ``disp=False`` also returns SciPy's
    error estimate ``|X X - A|_F² / |A|_F``.

    >>> sqrtm(np.array([[4.0, 0.0], [0.0, 9.0]]))
    array([[2., 0.],
           [0., 3.]])
    """
    A = _check_matrix(A, "sqrtm")
    x = _sqrtm.bind(A)
    if disp:
        return x
    fro = (-2, -1)
    return x, _nl.norm(matmul(x, x) - A, "fro", fro) ** 2 / _nl.norm(A, "fro", fro)


# --- Schur (values only) -------------------------------------------------------------------------
def _schur_impl(a, output, sort):
    return tuple(_sl.schur(a, output=output, sort=sort, check_finite=False))


_schur = Primitive("schur", _schur_impl, multiple_results=True)
_schur.defjvp_all(_no_derivative("schur", "the Schur vectors are not unique"))
_schur.defvjp_all(_no_derivative("schur", "the Schur vectors are not unique"))


def schur(a, output: str = "real", lwork=None, overwrite_a: bool = False, sort=None,
          check_finite: bool = True):
    """``scipy.linalg.schur``: ``(T, Z)`` with ``a = Z T Zᴴ`` (with ``sort``: ``(T, Z, sdim)``).
    Values (also on traced inputs and under ``vmap``); differentiating raises
    ``NotImplementedError``.

    >>> t, z = schur(np.array([[1.0, 2.0], [0.0, 3.0]]))
    >>> t
    array([[1., 2.],
           [0., 3.]])
    """
    if output not in ("real", "complex", "r", "c"):
        raise ValueError("argument must be 'real', or 'complex'")
    a = _check_matrix(a, "schur")
    _check_finite(check_finite, a)
    if not _traced(a):
        return _sl.schur(a, output=output, lwork=lwork, sort=sort, check_finite=False)
    return _schur.bind(a, output=output, sort=sort)


# --- block_diag ----------------------------------------------------------------------------------
def block_diag(*arrs):
    """Differentiable ``scipy.linalg.block_diag``: the blocks on the diagonal of a zero matrix
    (0-d and 1-d inputs are read as 1-row matrices).

    >>> block_diag(np.array([[1.0]]), np.array([2.0, 3.0]))
    array([[1., 0., 0.],
           [0., 2., 3.]])
    """
    if not _traced(*arrs):
        return _sl.block_diag(*arrs)
    arrs = [as_array(a) for a in arrs]
    deep = [i for i, a in enumerate(arrs) if len(_shape(a)) > 2]
    if deep:
        raise ValueError("arguments in the following positions have dimension greater than 2: "
                         f"{deep}")
    dtype = np.result_type(*(concrete(a).dtype for a in arrs))
    blocks = [a.reshape((1,) * (2 - len(_shape(a))) + _shape(a)) for a in arrs]
    cols = [_shape(a)[1] for a in blocks]
    total, before, rows = sum(cols), 0, []
    for a, c in zip(blocks, cols, strict=True):
        rows.append(pad(astype(a, dtype), ((0, 0), (before, total - before - c))))
        before += c
    return concatenate(rows, axis=0)


# --- det, inv, solve (SciPy's signatures over diffopt.numpy.linalg) ------------------------------
def _assumed(a, assume_a, lower: bool, name: str):
    """The matrix SciPy's ``assume_a`` reads of ``a``."""
    if assume_a in (None, "gen", "general"):
        return a
    if assume_a in ("sym", "symmetric"):
        return _hermitian_from(a, lower, conjugate=False)
    if assume_a in ("her", "hermitian", "pos", "positive definite"):
        return _hermitian_from(a, lower)
    if assume_a in ("upper triangular", "lower triangular"):
        return _triangle(a, assume_a == "lower triangular")
    if assume_a == "diagonal":
        return a * _eye_like(a, _shape(a)[-1])
    if assume_a == "tridiagonal":
        return tril(triu(a, -1), 1)
    raise NotImplementedError(f"scipy.linalg.{name}: assume_a={assume_a!r} is not supported when "
                              "differentiating")


def det(a, overwrite_a: bool = False, check_finite: bool = True):
    """Differentiable ``scipy.linalg.det`` (``diffopt.numpy.linalg.det``; stacks too).

    >>> float(det(np.array([[1.0, 2.0], [3.0, 4.0]])))
    -2.0
    """
    _check_finite(check_finite, a)
    return _sl.det(a, check_finite=False) if not _traced(a) else _nl.det(a)


_INV_ASSUME = (None, "general", "gen", "diagonal", "upper triangular", "lower triangular", "pos",
               "sym", "her")


def inv(a, overwrite_a: bool = False, check_finite: bool = True, *, assume_a=None,
        lower: bool = False):
    """Differentiable ``scipy.linalg.inv`` (``diffopt.numpy.linalg.inv`` of what ``assume_a``
    reads of ``a``).

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    _check_finite(check_finite, a)
    if assume_a not in _INV_ASSUME:
        raise ValueError(f"inv: assume_a must be one of {_INV_ASSUME}, not {assume_a!r}")
    if not _traced(a):
        if assume_a == "diagonal":  # SciPy 1.17 keeps the off-diagonal entries it should ignore
            a = _assumed(as_array(a), assume_a, lower, "inv")
        return _sl.inv(a, check_finite=False, assume_a=assume_a, lower=lower)
    return _nl.inv(_assumed(_check_matrix(a, "inv"), assume_a, lower, "inv"))


def solve(a, b, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          check_finite: bool = True, assume_a=None, transposed: bool = False):
    """Differentiable ``scipy.linalg.solve``: ``x`` with ``a x = b`` (``transposed``: ``aᵀ x = b``),
    for what ``assume_a`` reads of ``a``; differentiable in both.

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    _check_finite(check_finite, a, b)
    if not _traced(a, b):
        return _sl.solve(a, b, lower=lower, check_finite=False, assume_a=assume_a,
                         transposed=transposed)
    a = _assumed(_check_matrix(a, "solve"), assume_a, lower, "solve")
    if transposed:
        if vspace.is_complex(a):
            raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b or "
                                      "a^H x = b for complex matrices.")
        a = _T(a)
    return _nl.solve(a, b)


__all__ = ["expm", "solve_triangular", "cho_factor", "cho_solve", "lu", "lu_factor", "lu_solve",
           "qr", "eigh", "sqrtm", "schur", "block_diag", "solve_sylvester", "det", "inv", "solve"]
