"""The rest of diffopt.numpy.linalg (eig, eigvals, qr, lstsq, matrix_power, multi_dot, tensorinv,
tensorsolve, cond, matrix_rank and the array-API names), complex derivatives of the Hermitian and
SVD-based functions, and the top-level products cross, vecdot, matvec, vecmat, matrix_transpose
and einsum_path.

Values against NumPy (plain and traced), derivatives against central differences (check_grads,
order 2, forward and reverse) on well-conditioned random matrices; for eigenvectors and singular
vectors of complex matrices (defined up to a phase) on phase-invariant functions of them.
Inputs never come from seed 0: check_grads draws its directions from seed 0, and a direction
equal to the input would hide gauge errors (the eigenvectors of (1 + h) A are those of A).
"""

import warnings

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import grad, jvp, vmap
from diffopt.core.primitive import DerivativeError
from diffopt.numerical import check_grads

la = dnp.linalg


def randn(*shape, seed=1, complex_=False):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


def well_conditioned(*shape, seed=1, complex_=False):
    n = shape[-1]
    return randn(*shape, seed=seed, complex_=complex_) + n * np.eye(n)


def traced(fn, *args):
    """``fn(*args)`` computed under a transform (the composite path, not NumPy's fast path)."""
    zeros = tuple(np.zeros_like(a) for a in args)
    return jvp(fn, args, zeros)[0]


def _H(x):  # noqa: N802
    return dnp.conj(dnp.swapaxes(x, -1, -2))


def hermitian(z):
    """A Hermitian positive definite matrix from any square one (traced or not)."""
    n = z.shape[-1]
    return dnp.matmul(z, _H(z)) + n * np.eye(n)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


X3, X4 = randn(3, 3, seed=2), randn(4, 4, seed=3)
XS = randn(2, 3, 3, seed=4)  # a stack
XT, XW = randn(5, 3, seed=5), randn(3, 5, seed=6)  # tall, wide
Z3, ZS = randn(3, 3, seed=7, complex_=True), randn(2, 3, 3, seed=8, complex_=True)
ZT, ZW = randn(5, 3, seed=9, complex_=True), randn(3, 5, seed=10, complex_=True)


def test_every_jax_linalg_name_is_offered():
    names = ["cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
             "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
             "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve",
             "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot",
             "vector_norm"]
    assert set(names) <= set(la.__all__)
    assert all(callable(getattr(la, n)) for n in names)
    for n in ["cross", "vecdot", "matvec", "vecmat", "matrix_transpose", "einsum_path"]:
        assert n in dnp.__all__ and callable(getattr(dnp, n))


# --- complex derivatives of the Hermitian and SVD-based functions --------------------------------
def _gram(v):
    """v vᴴ (per matrix): invariant under the phases of v's columns."""
    return dnp.matmul(v, _H(v))


def _reconstruct_svd(z):
    u, s, vh = la.svd(z, full_matrices=False)
    return dnp.matmul(u * s[..., None, :], vh)


COMPLEX_GRADS = [
    ("cholesky", lambda z: la.cholesky(hermitian(z)), (Z3,)),
    ("cholesky-stack", lambda z: la.cholesky(hermitian(z)), (ZS,)),
    ("eigvalsh", lambda z: la.eigvalsh(hermitian(z)), (Z3,)),
    ("eigh-values", lambda z: la.eigh(hermitian(z))[0], (ZS,)),
    ("eigh-abs2-vectors", lambda z: dnp.abs(la.eigh(hermitian(z))[1]) ** 2, (Z3,)),
    ("eigh-projector", lambda z: _gram(la.eigh(hermitian(z))[1][..., :2]), (ZS,)),
    ("eigh-non-hermitian-input", lambda z: dnp.abs(la.eigh(z + 3 * np.eye(3))[1]) ** 2, (Z3,)),
    ("svdvals-tall", la.svdvals, (ZT,)),
    ("svdvals-wide-stack", la.svdvals, (randn(2, 3, 4, seed=11, complex_=True),)),
    ("svd-reconstruct-tall", _reconstruct_svd, (ZT,)),
    ("svd-reconstruct-wide", _reconstruct_svd, (ZW,)),
    ("svd-abs2-u", lambda z: dnp.abs(la.svd(z, full_matrices=False)[0]) ** 2, (ZT,)),
    ("svd-abs2-vh", lambda z: dnp.abs(la.svd(z, full_matrices=False)[2]) ** 2, (ZW,)),
    ("svd-u-vh", lambda z: dnp.matmul(*la.svd(z, full_matrices=False)[::2]), (ZT,)),
    ("svd-u-vh-square-stack", lambda z: dnp.matmul(*la.svd(z)[::2]), (ZS,)),
    ("pinv-tall", la.pinv, (ZT,)),
    ("pinv-wide", la.pinv, (ZW,)),
    ("pinv-stack", la.pinv, (ZS,)),
    ("norm-2", lambda z: la.norm(z, 2), (ZT,)),
    ("norm-nuc", lambda z: la.norm(z, "nuc"), (Z3,)),
]


@pytest.mark.parametrize("name,fn,args", COMPLEX_GRADS, ids=[c[0] for c in COMPLEX_GRADS])
def test_complex_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


def test_complex_values_match_numpy_under_a_transform():
    h = np.asarray(hermitian(Z3))
    close(traced(la.cholesky, h), np.linalg.cholesky(h))
    close(traced(la.eigvalsh, h), np.linalg.eigvalsh(h))
    close(traced(la.pinv, ZT), np.linalg.pinv(ZT))
    close(traced(la.svdvals, ZW), np.linalg.svd(ZW, compute_uv=False))


def test_gauge_dependent_vectors_are_caught_by_the_checks():
    # The raw singular vectors of a complex matrix depend on LAPACK's phase choice, which the
    # derivative does not follow: the checks above are meaningful because this one fails.
    with pytest.raises(AssertionError):
        check_grads(lambda z: la.svd(z)[0], (Z3,), order=1, modes=("fwd",))


def test_hermitian_eigenvalue_gradient_by_hand():
    # d w_i = Re v_iᴴ dA v_i: the gradient (under Re Σ u·v) is conj(v_i) v_iᵀ.
    h = np.asarray(hermitian(Z3))
    w, v = np.linalg.eigh(h)
    g = grad(lambda a: la.eigvalsh(a)[0])(h)
    close(g, np.outer(v[:, 0].conj(), v[:, 0]))


# --- eig and eigvals ------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [X3, X4, XS, Z3, ZS, np.diag([1.0, 2.0, 3.0])],
                         ids=["real", "real4", "real-stack", "complex", "complex-stack", "diag"])
def test_eig_values(a):
    for w, v in (la.eig(a), traced(la.eig, a)):
        assert np.iscomplexobj(w) and np.iscomplexobj(v)
        assert w.dtype == np.complex128 and v.shape == a.shape and w.shape == a.shape[:-1]
        close(np.sort_complex(w), np.sort_complex(np.linalg.eigvals(a).astype(complex)))
        close(a @ v, v * w[..., None, :])  # the eigenvector equation
        close(np.linalg.norm(v, axis=-2), np.ones(w.shape))
    for w in (la.eigvals(a), traced(la.eigvals, a)):
        close(w, la.eig(a)[0])
    w, v = la.eig(a)
    assert isinstance(la.eig(a), la.EigResult) and la.eig(a).eigenvalues is not None


def test_eig_float32_is_complex64():
    w, v = la.eig(X3.astype(np.float32))
    assert w.dtype == v.dtype == np.complex64


def _eig_reconstruct(a):
    w, v = la.eig(a)
    return dnp.matmul(v * w[..., None, :], la.inv(v))


def _eig_projector(a):
    """The spectral projector v_0 u_0ᵀ (u: left eigenvectors, rows of V⁻¹): gauge-free."""
    w, v = la.eig(a)
    return dnp.matmul(v[..., :1], la.inv(v)[..., :1, :])


EIG_GRADS = [
    ("eigvals-real", la.eigvals, (X3,)),
    ("eigvals-complex", la.eigvals, (Z3,)),
    ("eigvals-stack", la.eigvals, (XS,)),
    ("eig-values", lambda a: la.eig(a)[0], (ZS,)),
    ("eig-abs2-vectors-real", lambda a: dnp.abs(la.eig(a)[1]) ** 2, (X4,)),
    ("eig-abs2-vectors-complex", lambda a: dnp.abs(la.eig(a)[1]) ** 2, (ZS,)),
    ("eig-reconstruct", _eig_reconstruct, (X3,)),
    ("eig-projector-real", _eig_projector, (X3,)),
    ("eig-projector-complex", _eig_projector, (Z3,)),
    ("eig-abs-eigvals", lambda a: dnp.abs(la.eigvals(a)), (X4,)),
]


@pytest.mark.parametrize("name,fn,args", EIG_GRADS, ids=[c[0] for c in EIG_GRADS])
def test_eig_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


def test_eigvals_gradient_of_real_input_is_real():
    g = grad(lambda a: dnp.sum(dnp.real(la.eigvals(a)) ** 2))(X3)
    assert not np.iscomplexobj(g)
    # sum Re(w)^2 ... against central differences of the NumPy value
    f = lambda a: np.sum(np.linalg.eigvals(a).real ** 2)  # noqa: E731
    e = np.zeros((3, 3))
    e[1, 2] = 1e-6
    close(g[1, 2], (f(X3 + e) - f(X3 - e)) / 2e-6, tol=1e-6)


@pytest.mark.parametrize("fn", [la.eigvals, lambda a: la.eig(a)[0], lambda a: la.eig(a)[1]],
                         ids=["eigvals", "eig-values", "eig-vectors"])
def test_eig_repeated_eigenvalues_raise(fn):
    a = np.array([[2.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])  # defective: 2 twice
    loss = lambda x: dnp.sum(dnp.abs(fn(x)) ** 2)  # noqa: E731
    with pytest.raises(DerivativeError, match="repeated eigenvalue"):
        grad(loss)(a)
    with pytest.raises(DerivativeError, match="repeated eigenvalue"):
        jvp(fn, (a,), (np.ones_like(a),))
    with pytest.raises(DerivativeError, match="repeated eigenvalue"):
        grad(loss)(np.eye(3))


def test_eig_errors():
    with pytest.raises(ValueError, match="square"):
        la.eig(XT)
    with pytest.raises(ValueError, match="at least 2-D"):
        la.eigvals(np.ones(3))


def test_eig_under_vmap():
    ws = vmap(la.eigvals)(XS)
    close(ws, np.stack([la.eigvals(x) for x in XS]))


# --- qr -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reduced", "complete", "r", "raw"])
@pytest.mark.parametrize("a", [X3, XT, XW, ZT, ZW, randn(2, 4, 3, seed=12)],
                         ids=["square", "tall", "wide", "complex-tall", "complex-wide", "stack"])
def test_qr_values(a, mode):
    expected = np.linalg.qr(a, mode=mode)
    out = la.qr(a, mode=mode)
    if mode == "r":
        close(out, expected)
        close(traced(lambda x: la.qr(x, mode="r"), a), expected)
        return
    if mode == "raw":
        close(out[0], expected[0])
        close(out[1], expected[1])
        return
    close(out.Q, expected.Q)
    close(out.R, expected.R)
    if mode == "complete" and a.shape[-2] > a.shape[-1]:
        return
    q, r = traced(lambda x: tuple(la.qr(x, mode=mode)), a)
    close(q, expected.Q, 1e-9)
    close(r, expected.R, 1e-9)


QR_GRADS = [
    ("square", lambda a: la.qr(a), (X3,)),
    ("tall", lambda a: la.qr(a), (XT,)),
    ("wide", lambda a: la.qr(a), (XW,)),
    ("complete-wide", lambda a: la.qr(a, mode="complete"), (XW,)),
    ("r-tall", lambda a: la.qr(a, mode="r"), (XT,)),
    ("stack", lambda a: la.qr(a), (randn(2, 4, 3, seed=12),)),
    ("complex-tall", lambda a: la.qr(a), (ZT,)),
    ("complex-wide", lambda a: la.qr(a), (ZW,)),
    ("complex-square-stack", lambda a: la.qr(a), (ZS,)),
    ("q-only", lambda a: la.qr(a)[0], (XT,)),
]


@pytest.mark.parametrize("name,fn,args", QR_GRADS, ids=[c[0] for c in QR_GRADS])
def test_qr_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


def test_qr_errors():
    with pytest.raises(ValueError, match="Unrecognized mode"):
        la.qr(X3, mode="economic-ish")
    with pytest.raises(NotImplementedError, match="raw"):
        grad(lambda a: dnp.sum(la.qr(a, mode="raw")[0]))(X3)
    with pytest.raises(NotImplementedError, match="complete"):
        grad(lambda a: dnp.sum(la.qr(a, mode="complete")[0]))(XT)
    with pytest.raises(ValueError, match="at least 2-D"):
        la.qr(np.ones(3))


# --- lstsq ----------------------------------------------------------------------------------------
LSTSQ_CASES = [
    ("tall", XT, randn(5, seed=13)),
    ("tall-2d-b", XT, randn(5, 2, seed=14)),
    ("wide", XW, randn(3, seed=15)),
    ("square", X3, randn(3, seed=16)),
    ("rank-deficient", np.outer(randn(5, seed=17), randn(3, seed=18)), randn(5, seed=19)),
    ("complex-tall", ZT, randn(5, seed=20, complex_=True)),
]


@pytest.mark.parametrize("name,a,b", LSTSQ_CASES, ids=[c[0] for c in LSTSQ_CASES])
def test_lstsq_values(name, a, b):
    expected = np.linalg.lstsq(a, b)
    for out in (la.lstsq(a, b), traced(lambda a, b: la.lstsq(a, b), a, b)):
        assert len(out) == 4
        close(out[0], expected[0], 1e-9)
        assert np.shape(out[1]) == np.shape(expected[1])
        close(out[1], expected[1], 1e-9)
        assert int(out[2]) == int(expected[2])
        close(out[3], expected[3], 1e-9)
    close(la.lstsq(a, b, rcond=0.5)[0], np.linalg.lstsq(a, b, rcond=0.5)[0], 1e-9)


LSTSQ_GRADS = [
    ("solution-tall", lambda a, b: la.lstsq(a, b)[0], (XT, randn(5, seed=13))),
    ("solution-wide", lambda a, b: la.lstsq(a, b)[0], (XW, randn(3, 2, seed=15))),
    ("residuals", lambda a, b: la.lstsq(a, b)[1], (XT, randn(5, 2, seed=14))),
    ("singular-values", lambda a, b: la.lstsq(a, b)[3], (XT, randn(5, seed=13))),
    ("complex", lambda a, b: la.lstsq(a, b)[0], (ZT, randn(5, seed=20, complex_=True))),
]


@pytest.mark.parametrize("name,fn,args", LSTSQ_GRADS, ids=[c[0] for c in LSTSQ_GRADS])
def test_lstsq_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


def test_lstsq_errors():
    with pytest.raises(np.linalg.LinAlgError, match="Incompatible"):
        grad(lambda a: dnp.sum(la.lstsq(a, np.ones(4))[0]))(XT)
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        grad(lambda a: dnp.sum(la.lstsq(a, np.ones((2, 3)))[0]))(XS[:, :, :2])


# --- matrix_power, multi_dot, tensorinv, tensorsolve ---------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2, -3])
@pytest.mark.parametrize("a", [well_conditioned(3, 3, seed=21), well_conditioned(2, 3, 3, seed=22),
                               well_conditioned(3, 3, seed=23, complex_=True)],
                         ids=["real", "stack", "complex"])
def test_matrix_power(a, n):
    expected = np.linalg.matrix_power(a, n)
    close(la.matrix_power(a, n), expected)
    close(traced(lambda x: la.matrix_power(x, n), a), expected)
    check_grads(lambda x: la.matrix_power(x, n), (a / 3,), order=2)


def test_matrix_power_errors():
    with pytest.raises(TypeError, match="integer"):
        la.matrix_power(X3, 1.5)
    with pytest.raises(ValueError, match="square"):
        la.matrix_power(XT, 2)


def _matrix_chain_cost(dims, split, i, j):
    if i == j:
        return 0
    k = split[i][j]
    return (_matrix_chain_cost(dims, split, i, k) + _matrix_chain_cost(dims, split, k + 1, j)
            + dims[i] * dims[k + 1] * dims[j + 1])


def test_multi_dot_order_is_optimal():
    from diffopt.numpy.linalg import _chain_order

    dims = [10, 30, 5, 60, 2, 40]
    arrays = [np.empty((dims[i], dims[i + 1])) for i in range(len(dims) - 1)]
    split, costs = np.linalg._linalg._multi_dot_matrix_chain_order(arrays, return_costs=True)
    ours = _chain_order(dims)
    assert _matrix_chain_cost(dims, ours, 0, len(arrays) - 1) == costs[0, -1]
    assert _matrix_chain_cost(dims, split, 0, len(arrays) - 1) == costs[0, -1]


MULTI_DOTS = [
    ("matrices", [randn(2, 3, seed=24), randn(3, 4, seed=25), randn(4, 2, seed=26)]),
    ("vector-ends", [randn(3, seed=27), randn(3, 4, seed=25), randn(4, 5, seed=28),
                     randn(5, seed=29)]),
    ("row-vector", [randn(3, seed=27), randn(3, 4, seed=25), randn(4, 2, seed=26)]),
    ("column-vector", [randn(2, 3, seed=24), randn(3, 4, seed=25), randn(4, seed=30)]),
    ("two", [randn(2, 3, seed=24), randn(3, seed=31)]),
    ("complex", [randn(2, 3, seed=24, complex_=True), randn(3, 4, seed=25),
                 randn(4, 6, seed=32, complex_=True), randn(6, 2, seed=33)]),
]


@pytest.mark.parametrize("name,arrays", MULTI_DOTS, ids=[c[0] for c in MULTI_DOTS])
def test_multi_dot(name, arrays):
    expected = np.linalg.multi_dot(arrays)
    close(la.multi_dot(arrays), expected)
    out = traced(lambda *xs: la.multi_dot(list(xs)), *arrays)
    close(out, expected)
    assert np.shape(out) == np.shape(expected)
    check_grads(lambda *xs: la.multi_dot(xs), arrays, order=2)


def test_multi_dot_errors():
    with pytest.raises(TypeError, match="out="):
        la.multi_dot([X3, X3], out=np.empty((3, 3)))
    with pytest.raises(ValueError, match="at least two"):
        la.multi_dot([X3])
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        grad(lambda x: dnp.sum(la.multi_dot([x, XS, x])))(X3)


def test_tensorinv_and_tensorsolve():
    a = well_conditioned(6, 6, seed=34).reshape(6, 2, 3)
    close(la.tensorinv(a, ind=1), np.linalg.tensorinv(a, ind=1))
    close(traced(lambda x: la.tensorinv(x, ind=1), a), np.linalg.tensorinv(a, ind=1))
    a2 = well_conditioned(6, 6, seed=35).reshape(2, 3, 6)
    close(la.tensorinv(a2), np.linalg.tensorinv(a2))
    check_grads(lambda x: la.tensorinv(x, ind=1), (a,), order=2)
    b = randn(2, 3, seed=36)
    close(la.tensorsolve(a2, b), np.linalg.tensorsolve(a2, b))
    check_grads(la.tensorsolve, (a2, b), order=2)
    a3 = well_conditioned(6, 6, seed=37).reshape(6, 2, 3)  # axis 0 moves to the end
    b3 = randn(2, 3, seed=38)
    close(la.tensorsolve(a3, b3, axes=(0,)), np.linalg.tensorsolve(a3, b3, axes=(0,)))
    check_grads(lambda x, y: la.tensorsolve(x, y, axes=(0,)), (a3, b3), order=2)
    zc = well_conditioned(4, 4, seed=39, complex_=True).reshape(2, 2, 4)
    check_grads(la.tensorsolve, (zc, randn(2, 2, seed=40, complex_=True)), order=2)
    with pytest.raises(ValueError, match="Invalid ind"):
        la.tensorinv(a, ind=0)
    with pytest.raises(np.linalg.LinAlgError):
        la.tensorsolve(np.ones((2, 3, 4)), np.ones((2, 3)))


# --- cond, matrix_rank ---------------------------------------------------------------------------
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("a", [X3, XS, Z3], ids=["real", "stack", "complex"])
def test_cond(a, p):
    expected = np.linalg.cond(a, p)
    close(la.cond(a, p), expected)
    close(traced(lambda x: la.cond(x, p), a), expected)
    check_grads(lambda x: la.cond(x, p), (a,), order=2)


def test_cond_non_square_and_errors():
    close(traced(la.cond, XT), np.linalg.cond(XT))
    check_grads(la.cond, (XT,), order=2)
    with pytest.raises(ValueError, match="square"):
        traced(lambda x: la.cond(x, 1), XT)


def test_matrix_rank():
    low = np.outer(randn(4, seed=41), randn(3, seed=42))
    for a in (X3, low, XS, np.zeros((3, 3))):
        assert np.array_equal(la.matrix_rank(a), np.linalg.matrix_rank(a))
    assert la.matrix_rank(low, tol=1e-3) == np.linalg.matrix_rank(low, tol=1e-3)
    assert la.matrix_rank(low, rtol=0.5) == np.linalg.matrix_rank(low, rtol=0.5)
    h = low @ low.T
    assert la.matrix_rank(h, hermitian=True) == 1
    seen = []
    grad(lambda x: seen.append(int(la.matrix_rank(x))) or dnp.sum(x))(low)
    assert seen == [1]
    ranks = vmap(la.matrix_rank)(np.stack([X3, np.outer(X3[0], X3[1])]))
    assert np.array_equal(ranks, [3, 1])


# --- array-API names: diagonal, trace, matrix_transpose, vecdot, cross ---------------------------
def test_array_api_names_match_numpy():
    t = randn(2, 3, 4, seed=43)
    for k in (0, 1, -2):
        close(la.diagonal(t, offset=k), np.linalg.diagonal(t, offset=k))
        close(la.trace(t, offset=k), np.linalg.trace(t, offset=k))
        close(traced(lambda x, k=k: la.trace(x, offset=k), t), np.linalg.trace(t, offset=k))
    close(la.matrix_transpose(t), np.linalg.matrix_transpose(t))
    u, v = randn(2, 3, seed=44, complex_=True), randn(3, seed=45)
    close(la.vecdot(u, v), np.linalg.vecdot(u, v))
    close(la.vecdot(t, t, axis=1), np.linalg.vecdot(t, t, axis=1))
    a3, b3 = randn(4, 3, seed=46), randn(3, seed=47)
    close(la.cross(a3, b3), np.linalg.cross(a3, b3))
    close(la.cross(a3.T, a3.T, axis=0), np.linalg.cross(a3.T, a3.T, axis=0))
    assert la.trace(t, dtype=np.float32).dtype == np.float32
    for fn in (lambda x: la.diagonal(x, offset=1), lambda x: la.trace(x, offset=-1),
               la.matrix_transpose, lambda x: la.vecdot(x, x, axis=-2)):
        check_grads(fn, (t,), order=2)
    check_grads(la.cross, (a3, b3), order=2)


def test_array_api_errors():
    with pytest.raises(ValueError, match="3-dimensional vectors"):
        la.cross(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least 2-D"):
        la.diagonal(np.ones(3))
    with pytest.raises(ValueError, match="at least 2-dimensional"):
        la.matrix_transpose(np.ones(3))


# --- top-level products: cross, vecdot, matvec, vecmat, matrix_transpose, einsum_path -------------
CROSS_CASES = [
    ("3x3", randn(3, seed=48), randn(3, seed=49), {}),
    ("broadcast", randn(4, 3, seed=50), randn(3, seed=51), {}),
    ("axes", randn(3, 4, seed=52), randn(4, 3, seed=53), {"axisa": 0, "axisb": 1, "axisc": 0}),
    ("axis", randn(3, 2, seed=54), randn(3, 2, seed=55), {"axis": 0}),
    ("3x2", randn(2, 3, seed=56), randn(2, 2, seed=57), {}),
    ("2x3", randn(2, 2, seed=58), randn(3, seed=59), {}),
    ("complex", randn(3, seed=60, complex_=True), randn(2, 3, seed=61, complex_=True), {}),
]


@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
@pytest.mark.parametrize("name,a,b,kw", CROSS_CASES, ids=[c[0] for c in CROSS_CASES])
def test_cross(name, a, b, kw):
    expected = np.cross(a, b, **kw)
    close(dnp.cross(a, b, **kw), expected)
    close(traced(lambda x, y: dnp.cross(x, y, **kw), a, b), expected)
    check_grads(lambda x, y: dnp.cross(x, y, **kw), (a, b), order=2)


def test_cross_of_2_vectors_is_deprecated_as_in_numpy():
    a, b = randn(4, 2, seed=62), randn(2, seed=63)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = np.cross(a, b)
    with pytest.warns(DeprecationWarning):
        out = traced(dnp.cross, a, b)
    close(out, expected)
    with pytest.warns(DeprecationWarning):
        traced(dnp.cross, a, randn(3, seed=64))
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        traced(dnp.cross, np.ones(4), np.ones(3))


PRODUCT_CASES = [
    ("vecdot", dnp.vecdot, np.vecdot, (randn(2, 3, seed=64, complex_=True), randn(3, seed=65))),
    ("vecdot-axis", lambda a, b: dnp.vecdot(a, b, axis=0), lambda a, b: np.vecdot(a, b, axis=0),
     (randn(3, 2, seed=66), randn(3, 1, seed=67))),
    ("matvec", dnp.matvec, np.matvec, (randn(2, 3, 4, seed=68), randn(4, seed=69))),
    ("matvec-complex", dnp.matvec, np.matvec,
     (randn(3, 4, seed=70, complex_=True), randn(2, 4, seed=71, complex_=True))),
    ("vecmat", dnp.vecmat, np.vecmat, (randn(3, seed=72), randn(2, 3, 4, seed=73))),
    ("vecmat-complex", dnp.vecmat, np.vecmat,
     (randn(2, 3, seed=74, complex_=True), randn(3, 4, seed=75, complex_=True))),
    ("matrix_transpose", dnp.matrix_transpose, np.matrix_transpose, (randn(2, 3, 4, seed=76),)),
]


@pytest.mark.parametrize("name,fn,np_fn,args", PRODUCT_CASES, ids=[c[0] for c in PRODUCT_CASES])
def test_top_level_products(name, fn, np_fn, args):
    expected = np_fn(*args)
    for out in (fn(*args), traced(fn, *args)):
        close(out, expected)
        assert np.shape(out) == np.shape(expected) and out.dtype == expected.dtype
    check_grads(fn, args, order=2)


def test_top_level_product_options_and_errors():
    a, b = randn(2, 3, seed=77), randn(3, seed=78)
    assert dnp.vecdot(a, b, dtype=np.float32).dtype == np.float32
    for fn, args in ((dnp.vecdot, (a, b)), (dnp.matvec, (a, b)), (dnp.vecmat, (b, a.T))):
        with pytest.raises(TypeError, match="out="):
            fn(*args, out=np.empty(2))
    with pytest.raises(ValueError, match="differ in size"):
        dnp.vecdot(a, np.ones(2))
    with pytest.raises(ValueError, match="at least 2-dimensional"):
        dnp.matrix_transpose(b)


def test_einsum_path_is_numpys():
    ops = [randn(2, 3, seed=79), randn(3, 4, seed=80), randn(4, 5, seed=81)]
    expected = np.einsum_path("ij,jk,kl->il", *ops, optimize="optimal")
    out = dnp.einsum_path("ij,jk,kl->il", *ops, optimize="optimal")
    assert out[0] == expected[0] and out[1] == expected[1]
    seen = []
    grad(lambda x: seen.append(dnp.einsum_path("ij,jk->ik", x, ops[1])[0]) or dnp.sum(x))(ops[0])
    assert seen == [np.einsum_path("ij,jk->ik", *ops[:2])[0]]


# --- pinv's options, and the new functions under vmap ---------------------------------------------
def test_pinv_options_match_numpy():
    low = np.outer(randn(4, seed=82), randn(3, seed=83)) + 1e-3 * randn(4, 3, seed=84)
    h = np.asarray(hermitian(Z3))
    for a, kw in ((low, {"rtol": 1e-2}), (low, {"rcond": 1e-2}), (h, {"hermitian": True}),
                  (ZT, {})):
        expected = np.linalg.pinv(a, **kw)
        close(la.pinv(a, **kw), expected, 1e-9)
        close(traced(lambda x, kw=kw: la.pinv(x, **kw), a), expected, 1e-9)
    check_grads(lambda x: la.pinv(hermitian(x), hermitian=True), (Z3,), order=2)
    with pytest.raises(ValueError, match="both"):
        la.pinv(low, rcond=0.1, rtol=0.1)


VMAPS = [
    ("eig", lambda a: tuple(la.eig(a)), XS),
    ("qr", lambda a: tuple(la.qr(a)), randn(3, 4, 3, seed=85)),
    ("qr-wide", lambda a: tuple(la.qr(a)), randn(3, 3, 4, seed=86)),
    ("lstsq", lambda a: la.lstsq(a, np.ones(4))[0], randn(3, 4, 3, seed=87)),
    ("lstsq-rank", lambda a: la.lstsq(a, np.ones(4))[2], randn(3, 4, 3, seed=87)),
    ("matrix_power", lambda a: la.matrix_power(a, -3), XS + 3 * np.eye(3)),
    ("cond", lambda a: la.cond(a, "fro"), XS),
    ("cross", lambda a: dnp.cross(a, a[::-1]), randn(3, 4, 3, seed=88)),
]


@pytest.mark.parametrize("name,fn,xs", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_a_loop(name, fn, xs):
    out = vmap(fn)(xs)
    loop = [fn(x) for x in xs]
    if isinstance(out, tuple):
        for k, o in enumerate(out):
            close(o, np.stack([np.asarray(r[k]) for r in loop]))
    else:
        close(out, np.stack([np.asarray(r) for r in loop]))
