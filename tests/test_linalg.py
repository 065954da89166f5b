"""Products (dot, vdot, inner, outer, tensordot, einsum, kron) and diffopt.numpy.linalg.

For every function: values against NumPy, derivatives against central differences (check_grads,
order 2, forward and reverse), ``vmap`` against a Python loop and ``jacfwd`` against ``jacrev``.
"""

import numpy as np
import pytest

import diffopt.core.batching as batching
import diffopt.numpy as dnp
from diffopt import grad, jacfwd, jacrev, jvp, vmap
from diffopt.numerical import check_grads

la = dnp.linalg


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(*shape, seed=0, complex_=False):
    r = rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


def well_conditioned(*shape, seed=0, complex_=False):
    """Random square matrices (stacked) pushed away from singularity."""
    n = shape[-1]
    return randn(*shape, seed=seed, complex_=complex_) + n * np.eye(n)


def spd(x):
    """A symmetric positive definite matrix from any square one: x xᵀ + n I (traced or not)."""
    n = x.shape[-1]
    return dnp.matmul(x, dnp.swapaxes(x, -1, -2)) + n * np.eye(n)


def traced(fn, *args):
    """``fn(*args)`` computed under a transform (the composite path, not NumPy's fast path)."""
    zeros = tuple(np.zeros_like(a) for a in args)
    return jvp(fn, args, zeros)[0]


# --- products -------------------------------------------------------------------------------------
A23, B34, C3, D4 = randn(2, 3, seed=1), randn(3, 4, seed=2), randn(3, seed=3), randn(4, seed=4)
T234, T345 = randn(2, 3, 4, seed=5), randn(3, 4, 5, seed=6)
S33 = randn(3, 3, seed=7)

PRODUCTS = [  # (id, diffopt function, numpy function, args)
    ("dot-scalar", dnp.dot, np.dot, (np.float64(2.5), C3)),
    ("dot-1d-1d", dnp.dot, np.dot, (C3, randn(3, seed=8))),
    ("dot-2d-1d", dnp.dot, np.dot, (A23, C3)),
    ("dot-1d-2d", dnp.dot, np.dot, (C3, B34)),
    ("dot-2d-2d", dnp.dot, np.dot, (A23, B34)),
    ("dot-3d-1d", dnp.dot, np.dot, (T234, D4)),
    ("dot-3d-3d", dnp.dot, np.dot, (T234, randn(2, 4, 3, seed=9))),
    ("dot-1d-3d", dnp.dot, np.dot, (D4, randn(2, 4, 3, seed=9))),
    ("vdot", dnp.vdot, np.vdot, (A23, randn(3, 2, seed=10))),
    ("inner-1d", dnp.inner, np.inner, (C3, randn(3, seed=8))),
    ("inner-nd", dnp.inner, np.inner, (T234, randn(5, 4, seed=11))),
    ("inner-scalar", dnp.inner, np.inner, (np.float64(-1.5), A23)),
    ("outer", dnp.outer, np.outer, (A23, C3)),
    ("tensordot-2", dnp.tensordot, np.tensordot, (T234, T345)),
    ("tensordot-0", lambda a, b: dnp.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
     (C3, D4)),
    ("tensordot-pairs", lambda a, b: dnp.tensordot(a, b, ([0, 2], [2, 0])),
     lambda a, b: np.tensordot(a, b, ([0, 2], [2, 0])), (T234, randn(4, 5, 2, seed=12))),
    ("tensordot-negative", lambda a, b: dnp.tensordot(a, b, (-1, 1)),
     lambda a, b: np.tensordot(a, b, (-1, 1)), (T234, T345)),
    ("kron-2d", dnp.kron, np.kron, (A23, randn(2, 2, seed=13))),
    ("kron-mixed", dnp.kron, np.kron, (C3, A23)),
    ("matmul-stack", dnp.matmul, np.matmul, (randn(2, 1, 2, 3, seed=14), randn(4, 3, 2, seed=15))),
]

EINSUMS = [  # (subscripts, operand shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("iij->ji", [(3, 3, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ijk,ikl,lm->jm", [(2, 3, 2), (2, 2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (2, 3, 2)]),
    ("...i,...i", [(2, 3), (3,)]),
    ("i...->...", [(2, 3, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("Ba,aC", [(2, 3), (3, 2)]),
    (",i->i", [(), (3,)]),
    ("ji,ii->j", [(3, 3), (3, 3)]),
]


@pytest.mark.parametrize("name,fn,np_fn,args", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_values_match_numpy(name, fn, np_fn, args):
    expected = np_fn(*args)
    for out in (fn(*args), traced(fn, *args)):
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
        assert np.shape(out) == np.shape(expected)


@pytest.mark.parametrize("name,fn,np_fn,args", PRODUCTS, ids=[p[0] for p in PRODUCTS])
def test_product_derivatives(name, fn, np_fn, args):
    check_grads(fn, args, order=2)


def _einsum_operands(shapes, seed=0, complex_=False):
    return [randn(*s, seed=seed + k, complex_=complex_) for k, s in enumerate(shapes)]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum_values_and_derivatives(spec, shapes):
    ops = _einsum_operands(shapes)
    np.testing.assert_allclose(dnp.einsum(spec, *ops), np.einsum(spec, *ops), rtol=1e-12,
                               atol=1e-12)
    check_grads(lambda *o: dnp.einsum(spec, *o), ops, order=2)


def test_einsum_sublist_form_and_dtype():
    a, b = randn(2, 3), randn(3, 4, seed=1)
    np.testing.assert_allclose(dnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b, rtol=1e-13)
    np.testing.assert_allclose(dnp.einsum(a, [Ellipsis, 1], [Ellipsis]), a.sum(-1), rtol=1e-13)
    out = dnp.einsum("ij->i", a, dtype=np.float32)
    assert out.dtype == np.float32


def test_einsum_large_contraction_uses_a_plan():
    # Above the naive-loop threshold NumPy plans a BLAS contraction; the value must not change.
    a, b = randn(60, 70), randn(70, 50, seed=1)
    np.testing.assert_allclose(dnp.einsum("ij,jk->ik", a, b), a @ b, rtol=1e-12)
    g = grad(lambda a: dnp.sum(dnp.einsum("ij,jk->ik", a, b) ** 2))(a)
    np.testing.assert_allclose(g, 2 * (a @ b) @ b.T, rtol=1e-10)


@pytest.mark.parametrize("spec,shapes", [
    ("ij,jk->ik", [(2, 3), (4, 5)]),  # size mismatch
    ("ij->k", [(2, 3)]),  # output index not in inputs
    ("ij->ii", [(2, 2)]),  # repeated output index
    ("ij", [(2, 3, 4)]),  # too many dimensions
    ("...i->i", [(2, 3)]),  # ellipsis dims with no '...' in the output
    ("i,j", [(2,)]),  # operand count
    ("i1->i", [(2,)]),  # invalid character
])
def test_einsum_errors(spec, shapes):
    with pytest.raises(ValueError, match="einsum"):
        dnp.einsum(spec, *_einsum_operands(shapes))


COMPLEX_PRODUCTS = [
    ("matmul", dnp.matmul, [(2, 3), (3, 2)]),
    ("dot-nd", dnp.dot, [(2, 3), (2, 3, 2)]),
    ("vdot", dnp.vdot, [(2, 3), (2, 3)]),
    ("tensordot", dnp.tensordot, [(2, 3, 2), (3, 2, 2)]),
    ("kron", dnp.kron, [(2, 2), (2,)]),
    ("einsum-matmul", lambda a, b: dnp.einsum("ij,jk", a, b), [(2, 3), (3, 2)]),
    ("einsum-diag", lambda a, b: dnp.einsum("ii,ij->j", a, b), [(3, 3), (3, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", COMPLEX_PRODUCTS, ids=[c[0] for c in COMPLEX_PRODUCTS])
def test_complex_product_derivatives(name, fn, shapes):
    ops = _einsum_operands(shapes, seed=3, complex_=True)
    check_grads(fn, ops, order=2)


def test_complex_einsum_mixed_with_real_operand():
    z, x = randn(3, 2, seed=1, complex_=True), randn(2, 3, seed=2)
    check_grads(lambda z, x: dnp.einsum("ij,ji->i", z, x), (z, x), order=2)
    g = grad(lambda x: dnp.real(dnp.sum(dnp.einsum("ij,ji->i", z, x))))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.real(z).T, rtol=1e-13)


# --- products under vmap and jacobians ------------------------------------------------------------
def _loop(f, *args, in_axes):
    n = next(np.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax)
                for a, ax in zip(args, in_axes, strict=True)]) for i in range(n)]
    return np.stack([np.asarray(o) for o in outs])


@pytest.fixture
def no_loop_fallback(monkeypatch):
    """Fail if any primitive falls back to batching by a Python loop."""

    def refuse(trace, prim, *args, **kwargs):
        raise AssertionError(f"{prim.name} fell back to a batch loop")

    monkeypatch.setattr(batching, "batch_by_loop", refuse)


VMAP_PRODUCTS = [
    ("einsum-both", lambda a, b: dnp.einsum("ij,jk->ik", a, b), (randn(4, 2, 3), randn(4, 3, 2)),
     (0, 0)),
    ("einsum-first", lambda a, b: dnp.einsum("ii,ij->j", a, b), (randn(3, 3, 4), randn(3, 2)),
     (2, None)),
    ("einsum-second", lambda a, b: dnp.einsum("...i,i", a, b), (randn(2, 3), randn(3, 4)),
     (None, 1)),
    ("einsum-scalar-op", lambda a, b: dnp.einsum(",i->i", a, b), (randn(4), randn(3)), (0, None)),
    ("tensordot", lambda a, b: dnp.tensordot(a, b, ([0], [1])), (randn(4, 2, 3), randn(3, 2)),
     (0, None)),
    ("dot-nd", dnp.dot, (randn(2, 3), randn(4, 2, 3, 2)), (None, 0)),
    ("inner", dnp.inner, (randn(4, 3), randn(2, 3)), (0, None)),
    ("outer", dnp.outer, (randn(4, 3), randn(4, 2)), (0, 0)),
    ("vdot", dnp.vdot, (randn(4, 3), randn(3, 4)), (0, 1)),
    ("kron", dnp.kron, (randn(4, 2, 2), randn(3,)), (0, None)),
]


@pytest.mark.parametrize("name,fn,args,in_axes", VMAP_PRODUCTS, ids=[v[0] for v in VMAP_PRODUCTS])
def test_products_vmap_matches_loop(name, fn, args, in_axes, no_loop_fallback):
    out = vmap(fn, in_axes=in_axes)(*args)
    np.testing.assert_allclose(out, _loop(fn, *args, in_axes=in_axes), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec,shapes", EINSUMS[:12], ids=[e[0] for e in EINSUMS[:12]])
def test_einsum_jacfwd_equals_jacrev(spec, shapes):
    ops = _einsum_operands(shapes)
    argnums = tuple(range(len(ops)))
    f = lambda *o: dnp.einsum(spec, *o)
    for jf, jr in zip(jacfwd(f, argnums)(*ops), jacrev(f, argnums)(*ops), strict=True):
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)


# --- linalg: values -------------------------------------------------------------------------------
SQ = well_conditioned(3, 3, seed=20)
STACK = well_conditioned(2, 3, 3, seed=21)
TALL, WIDE = randn(5, 3, seed=22), randn(3, 5, seed=23)


@pytest.mark.parametrize("a", [SQ, STACK], ids=["matrix", "stack"])
def test_linalg_values_match_numpy(a):
    b_vec, b_mat = randn(3, seed=1), randn(*a.shape[:-1], 2, seed=2)
    np.testing.assert_allclose(la.inv(a), np.linalg.inv(a), rtol=1e-12)
    for b in (b_vec, b_mat):
        np.testing.assert_allclose(la.solve(a, b), np.linalg.solve(a, b), rtol=1e-12)
        np.testing.assert_allclose(traced(la.solve, a, b), np.linalg.solve(a, b), rtol=1e-12)
    np.testing.assert_allclose(la.det(a), np.linalg.det(a), rtol=1e-12)
    sign, logabsdet = la.slogdet(a)
    np.testing.assert_allclose(sign, np.linalg.slogdet(a).sign)
    np.testing.assert_allclose(logabsdet, np.linalg.slogdet(a).logabsdet, rtol=1e-12)
    s = np.asarray(spd(a))
    np.testing.assert_allclose(la.cholesky(s), np.linalg.cholesky(s), rtol=1e-12)
    w, v = la.eigh(s)
    w_np, v_np = np.linalg.eigh(s)
    np.testing.assert_allclose(w, w_np, rtol=1e-12)
    np.testing.assert_allclose(np.abs(v), np.abs(v_np), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.eigvalsh(s), w_np, rtol=1e-12)
    np.testing.assert_allclose(la.pinv(a), np.linalg.pinv(a), rtol=1e-10)
    np.testing.assert_allclose(la.svdvals(a), np.linalg.svd(a, compute_uv=False), rtol=1e-12)


def test_eigh_and_cholesky_read_the_symmetric_part():
    x = randn(3, 3, seed=3)
    s = (x + x.T) / 2
    np.testing.assert_allclose(la.eigh(x).eigenvalues, np.linalg.eigvalsh(s), rtol=1e-12)
    np.testing.assert_allclose(la.eigvalsh(x, UPLO="U"), np.linalg.eigvalsh(s), rtol=1e-12)
    p = s + 4 * np.eye(3)
    np.testing.assert_allclose(la.cholesky(p + (x - x.T)), np.linalg.cholesky(p),
                               rtol=1e-12)


def test_solve_broadcasts_stacks():
    a, b = well_conditioned(2, 1, 3, 3, seed=4), randn(4, 3, 2, seed=5)
    np.testing.assert_allclose(la.solve(a, b), np.linalg.solve(a, b), rtol=1e-12)
    np.testing.assert_allclose(traced(la.solve, a, b), np.linalg.solve(a, b), rtol=1e-12)
    check_grads(la.solve, (a, b), order=2)


def test_svd_values_reconstruct():
    for a in (TALL, WIDE, SQ):
        u, s, vh = la.svd(a, full_matrices=False)
        np.testing.assert_allclose((u * s) @ vh, a, atol=1e-12)
    u, s, vh = la.svd(TALL)  # full matrices, untraced: as NumPy
    assert u.shape == (5, 5) and vh.shape == (3, 3)
    np.testing.assert_allclose(la.svd(TALL, compute_uv=False),
                               np.linalg.svd(TALL, compute_uv=False))


NORM_CASES = [  # (x, kwargs)
    (randn(5, seed=1), {}),
    (randn(5, seed=1), {"ord": 1}),
    (randn(5, seed=1), {"ord": 2}),
    (randn(5, seed=1), {"ord": np.inf}),
    (randn(5, seed=1), {"ord": -np.inf}),
    (randn(5, seed=1), {"ord": 3}),
    (randn(5, seed=1), {"ord": 0.5}),
    (randn(3, 4, seed=2), {}),
    (randn(3, 4, seed=2), {"ord": "fro"}),
    (randn(3, 4, seed=2), {"ord": 1}),
    (randn(3, 4, seed=2), {"ord": -1}),
    (randn(3, 4, seed=2), {"ord": np.inf}),
    (randn(3, 4, seed=2), {"ord": -np.inf}),
    (randn(3, 4, seed=2), {"ord": 2}),
    (randn(3, 4, seed=2), {"ord": -2}),
    (randn(3, 4, seed=2), {"ord": "nuc"}),
    (randn(2, 3, 4, seed=3), {"axis": 1}),
    (randn(2, 3, 4, seed=3), {"ord": 1, "axis": -1, "keepdims": True}),
    (randn(2, 3, 4, seed=3), {"ord": np.inf, "axis": (2, 0)}),
    (randn(2, 3, 4, seed=3), {"ord": "fro", "axis": (0, 2), "keepdims": True}),
    (randn(2, 3, 4, seed=3), {"ord": 2, "axis": (1, 2), "keepdims": True}),
    (randn(2, 3, 4, seed=3), {"keepdims": True}),
    (randn(4, seed=4, complex_=True), {}),
    (randn(3, 3, seed=4, complex_=True), {"ord": 1}),
]


def _norm_id(case):
    x, kw = case
    return f"{x.ndim}d-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("x,kw", NORM_CASES, ids=[_norm_id(c) for c in NORM_CASES])
def test_norm_values_and_derivatives(x, kw):
    expected = np.linalg.norm(x, **kw)
    for out in (la.norm(x, **kw), traced(lambda x: la.norm(x, **kw), x)):
        np.testing.assert_allclose(out, expected, rtol=1e-12)
        assert np.shape(out) == np.shape(expected)
    check_grads(lambda x: la.norm(x, **kw), (x,), order=2)


@pytest.mark.filterwarnings("ignore:the output of the differentiated function")
def test_norm_ord_zero_counts_and_array_api_norms():
    x = np.array([0.0, 2.0, -1.0, 0.0])
    assert la.norm(x, 0) == 2.0
    np.testing.assert_allclose(grad(lambda x: la.norm(x, 0))(x), np.zeros(4))
    y = randn(2, 3, 4)
    np.testing.assert_allclose(la.vector_norm(y), np.linalg.vector_norm(y), rtol=1e-12)
    np.testing.assert_allclose(la.vector_norm(y, axis=(0, 2), ord=3),
                               np.linalg.vector_norm(y, axis=(0, 2), ord=3), rtol=1e-12)
    np.testing.assert_allclose(la.matrix_norm(y, ord=np.inf),
                               np.linalg.matrix_norm(y, ord=np.inf), rtol=1e-12)
    np.testing.assert_allclose(la.matrix_norm(y, keepdims=True),
                               np.linalg.matrix_norm(y, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("fn,x", [
    (lambda x: la.norm(x, "fro"), randn(3)),
    (lambda x: la.norm(x, 3), randn(3, 3)),
    (lambda x: la.norm(x, 1), randn(2, 2, 2)),
    (lambda x: la.norm(x, axis=(0, 0)), randn(2, 2)),
    (la.inv, randn(2, 3)),
    (la.det, randn(3)),
    (lambda a: la.solve(a, randn(4)), SQ),
    (lambda a: la.eigh(a, UPLO="X"), SQ),
])
def test_linalg_errors(fn, x):
    with pytest.raises(ValueError):  # plain arrays: NumPy's message where NumPy is called
        fn(x)
    with pytest.raises(ValueError, match="linalg"):  # traced: ours
        traced(fn, x)


# --- linalg: derivatives --------------------------------------------------------------------------
def _eigh_loss(x):
    w, v = la.eigh(x)
    return w, v * v  # eigenvectors are defined up to sign: v * v is not


def _svd_loss(x):
    u, s, vh = la.svd(x, full_matrices=False)
    return s, u * u, vh * vh, dnp.matmul(u, vh)  # sign-invariant


LINALG_GRADS = [  # (id, function, args)
    ("inv", la.inv, (SQ,)),
    ("inv-stack", la.inv, (STACK,)),
    ("solve-vector", la.solve, (SQ, randn(3, seed=1))),
    ("solve-matrix", la.solve, (SQ, randn(3, 2, seed=1))),
    ("solve-stack-vector", la.solve, (STACK, randn(3, seed=1))),
    ("solve-stack-matrix", la.solve, (STACK, randn(2, 3, 2, seed=1))),
    ("solve-broadcast-b", la.solve, (STACK, randn(3, 2, seed=1))),
    ("det", la.det, (SQ,)),
    ("det-stack", la.det, (STACK,)),
    ("slogdet", la.slogdet, (SQ,)),
    ("slogdet-stack-negative", la.slogdet, (-STACK[..., ::-1, :],)),
    ("cholesky-of-spd", lambda x: la.cholesky(spd(x)), (randn(3, 3, seed=2),)),
    ("cholesky-direct", la.cholesky, (np.asarray(spd(randn(3, 3, seed=2))) + randn(3, 3),)),
    ("cholesky-stack", lambda x: la.cholesky(spd(x)), (randn(2, 3, 3, seed=2),)),
    ("eigh", _eigh_loss, (randn(3, 3, seed=3),)),
    ("eigh-stack", _eigh_loss, (randn(2, 3, 3, seed=3),)),
    ("eigvalsh", la.eigvalsh, (randn(3, 3, seed=3),)),
    ("svd-tall", _svd_loss, (TALL,)),
    ("svd-wide", _svd_loss, (WIDE,)),
    ("svd-square-stack", _svd_loss, (randn(2, 3, 3, seed=4),)),
    ("svdvals", la.svdvals, (TALL,)),
    ("pinv-tall", la.pinv, (TALL,)),
    ("pinv-wide", la.pinv, (WIDE,)),
    ("pinv-stack", la.pinv, (randn(2, 4, 3, seed=5),)),
]


@pytest.mark.parametrize("name,fn,args", LINALG_GRADS, ids=[c[0] for c in LINALG_GRADS])
def test_linalg_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


COMPLEX_LINALG = [
    ("inv", la.inv, (well_conditioned(3, 3, seed=6, complex_=True),)),
    ("inv-stack", la.inv, (well_conditioned(2, 3, 3, seed=6, complex_=True),)),
    ("solve", la.solve, (well_conditioned(3, 3, seed=6, complex_=True),
                         randn(3, seed=7, complex_=True))),
    ("solve-stack", la.solve, (well_conditioned(2, 3, 3, seed=6, complex_=True),
                               randn(2, 3, 2, seed=7, complex_=True))),
    ("det", la.det, (well_conditioned(3, 3, seed=6, complex_=True),)),
    ("slogdet", la.slogdet, (well_conditioned(2, 3, 3, seed=6, complex_=True),)),
]


@pytest.mark.parametrize("name,fn,args", COMPLEX_LINALG, ids=[c[0] for c in COMPLEX_LINALG])
def test_complex_linalg_derivatives(name, fn, args):
    check_grads(fn, args, order=2)


def test_derivative_formulas_by_hand():
    a = SQ
    ainv = np.linalg.inv(a)
    np.testing.assert_allclose(grad(la.det)(a), np.linalg.det(a) * ainv.T, rtol=1e-12)
    np.testing.assert_allclose(grad(lambda a: la.slogdet(a)[1])(a), ainv.T, rtol=1e-12)
    w, v = np.linalg.eigh(np.asarray(spd(a)))
    dw = jvp(lambda s: la.eigvalsh(s), (np.asarray(spd(a)),), (np.outer(v[:, 0], v[:, 0]),))[1]
    np.testing.assert_allclose(dw, [1.0, 0.0, 0.0], atol=1e-12)


def test_eigvalsh_and_spectral_norm_tolerate_repeated_values():
    # Only the vectors' derivatives need distinct values: at the identity these stay finite.
    g = grad(lambda x: dnp.sum(la.eigvalsh(x) ** 2))(np.eye(3))
    np.testing.assert_allclose(g, 2 * np.eye(3), atol=1e-12)
    g = grad(lambda x: la.norm(x, "nuc"))(2 * np.eye(3))
    np.testing.assert_allclose(g, np.eye(3), atol=1e-12)


# Complex derivatives of cholesky, eigh, eigvalsh, svd, svdvals and pinv: tests/test_linalg_more.py


def test_svd_full_matrices_derivative_is_refused():
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        grad(lambda x: dnp.sum(la.svd(x)[0]))(TALL)
    # square matrices: full and thin factors agree, so it is allowed
    grad(lambda x: dnp.sum(la.svd(x)[1]))(SQ)


# --- linalg under vmap and jacobians --------------------------------------------------------------
VMAP_LINALG = [  # (id, function, args, in_axes)
    ("inv", la.inv, (randn(4, 3, 3, seed=1) + 3 * np.eye(3),), (0,)),
    ("inv-of-stack", la.inv, (well_conditioned(2, 4, 3, 3, seed=1),), (1,)),
    ("solve-a", la.solve, (well_conditioned(4, 3, 3, seed=2), randn(3, seed=3)), (0, None)),
    ("solve-b-vector", la.solve, (SQ, randn(4, 3, seed=3)), (None, 0)),
    ("solve-b-matrix", la.solve, (SQ, randn(3, 4, 2, seed=3)), (None, 1)),
    ("solve-both", la.solve, (well_conditioned(4, 3, 3, seed=2), randn(4, 3, seed=3)), (0, 0)),
    ("solve-stacks", la.solve, (well_conditioned(4, 2, 3, 3, seed=2), randn(3, 2, seed=3)),
     (0, None)),
    ("solve-stack-b", la.solve, (well_conditioned(2, 3, 3, seed=2), randn(4, 2, 3, 1, seed=3)),
     (None, 0)),
    ("det", la.det, (well_conditioned(4, 3, 3, seed=4),), (0,)),
    ("slogdet", lambda a: la.slogdet(a)[1], (well_conditioned(4, 3, 3, seed=4),), (0,)),
    ("cholesky", lambda x: la.cholesky(spd(x)), (randn(4, 3, 3, seed=5),), (0,)),
    ("eigh", _eigh_loss, (randn(4, 3, 3, seed=6),), (0,)),
    ("eigvalsh", la.eigvalsh, (randn(4, 3, 3, seed=6),), (0,)),
    ("svd", _svd_loss, (randn(4, 5, 3, seed=7),), (0,)),
    ("svdvals", la.svdvals, (randn(3, 5, 4, seed=7),), (2,)),
    ("pinv", la.pinv, (randn(4, 5, 3, seed=8),), (0,)),
    ("norm-fro", la.norm, (randn(4, 3, 3, seed=9),), (0,)),
    ("norm-vector-inf", lambda x: la.norm(x, np.inf), (randn(4, 3, seed=9),), (0,)),
    ("norm-matrix-1", lambda x: la.norm(x, 1), (randn(4, 3, 3, seed=9),), (0,)),
    ("norm-2", lambda x: la.norm(x, 2), (randn(4, 3, 2, seed=9),), (0,)),
]


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


@pytest.mark.parametrize("name,fn,args,in_axes", VMAP_LINALG, ids=[v[0] for v in VMAP_LINALG])
def test_linalg_vmap_matches_loop(name, fn, args, in_axes, no_loop_fallback):
    out = _as_tuple(vmap(fn, in_axes=in_axes)(*args))
    n = next(np.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None)
    looped = [_as_tuple(fn(*[a if ax is None else np.take(a, i, axis=ax)
                             for a, ax in zip(args, in_axes, strict=True)])) for i in range(n)]
    for k, o in enumerate(out):
        np.testing.assert_allclose(o, np.stack([np.asarray(lp[k]) for lp in looped]), rtol=1e-10,
                                   atol=1e-12)


JAC_LINALG = [
    ("inv", la.inv, (SQ,)),
    ("solve", la.solve, (SQ, randn(3, 2, seed=1))),
    ("det", la.det, (STACK,)),
    ("slogdet", lambda a: la.slogdet(a)[1], (SQ,)),
    ("cholesky", lambda x: la.cholesky(spd(x)), (randn(3, 3, seed=2),)),
    ("eigh", lambda x: _eigh_loss(x)[1], (randn(3, 3, seed=3),)),
    ("eigvalsh", la.eigvalsh, (randn(3, 3, seed=3),)),
    ("svd", lambda x: _svd_loss(x)[3], (TALL,)),
    ("pinv", la.pinv, (WIDE,)),
    ("norm-nuc", lambda x: la.norm(x, "nuc"), (TALL,)),
]


@pytest.mark.parametrize("name,fn,args", JAC_LINALG, ids=[j[0] for j in JAC_LINALG])
def test_linalg_jacfwd_equals_jacrev(name, fn, args):
    argnums = tuple(range(len(args)))
    for jf, jr in zip(jacfwd(fn, argnums)(*args), jacrev(fn, argnums)(*args), strict=True):
        np.testing.assert_allclose(jf, jr, rtol=1e-10, atol=1e-12)


def test_hessian_of_log_det_is_minus_kron_of_inverses():
    # d² log det A [E, F] = -tr(A⁻¹ E A⁻¹ F): the Hessian as a 4-tensor is -A⁻ᵀ ⊗ A⁻ᵀ (swapped).
    a = SQ
    h = jacfwd(grad(lambda a: la.slogdet(a)[1]))(a)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(h, -np.einsum("li,jk->ijkl", ai, ai), rtol=1e-10, atol=1e-12)


# --- dtypes, namespace, methods ------------------------------------------------------------------
def test_float32_stays_float32():
    a = well_conditioned(3, 3, seed=1).astype(np.float32)
    for f in (la.inv, la.det, lambda a: dnp.einsum("ii->i", a), lambda a: la.norm(a, 1),
              lambda a: la.eigvalsh(a), lambda a: dnp.kron(a, a)):
        g = grad(lambda a, f=f: dnp.sum(f(a)))(a)
        assert g.dtype == np.float32
    check_grads(la.inv, (a,), order=1)


def test_linalg_namespace_is_complete():
    for name in la.__all__:
        assert getattr(la, name) is not None
    for name in ("einsum", "tensordot", "dot", "vdot", "inner", "outer", "kron", "matmul"):
        assert name in dnp.__all__ and callable(getattr(dnp, name))


def test_dot_method_on_traced_values():
    a, b = randn(2, 3), randn(4, 3, 2, seed=1)
    g = grad(lambda a: dnp.sum(a.dot(b)))(a)
    np.testing.assert_allclose(g, np.broadcast_to(b.sum(axis=(0, 2)), (2, 3)), rtol=1e-12)


def test_lists_are_accepted_like_numpy():
    m = [[2.0, 1.0], [1.0, 3.0]]
    np.testing.assert_allclose(traced(lambda x: la.solve(m, x), np.ones(2)),
                               np.linalg.solve(m, np.ones(2)))
    np.testing.assert_allclose(traced(lambda x: dnp.dot(m, x), np.ones(2)), np.dot(m, np.ones(2)))
    np.testing.assert_allclose(la.det(m), 5.0)
