"""diffopt.scipy.linalg: values against scipy.linalg (plain and traced inputs), derivatives against
central differences (check_grads, order 2, forward and reverse) on well-conditioned random real
and complex matrices, and the errors for what is not differentiable.
"""

import numpy as np
import pytest
import scipy.linalg as sl

import diffopt
import diffopt.numpy as dnp
from diffopt import jvp, vmap
from diffopt.numerical import check_grads
from diffopt.scipy import linalg as L


def randn(*shape, seed=0, complex_=False):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


def well(n, seed=0, complex_=False):
    """A well-conditioned (diagonally dominant) n x n matrix."""
    return randn(n, n, seed=seed, complex_=complex_) / n + 2 * np.eye(n)


def spd(n, seed=0, complex_=False):
    x = randn(n, n, seed=seed, complex_=complex_)
    return x @ x.conj().T / n + np.eye(n)


def traced(f, *args):
    """f evaluated on traced inputs (the primal of a jvp)."""
    return jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]


def real_loss(f):
    """A real scalar loss of f's (possibly complex, possibly tuple) output."""
    def loss(*args):
        out = f(*args)
        outs = out if isinstance(out, tuple) else (out,)
        total = 0.0
        for k, o in enumerate(outs):
            w = np.cos(np.arange(int(np.prod(o.shape))).reshape(o.shape) + k)
            total = total + dnp.sum(dnp.real(o * w) + dnp.imag(o * w) ** 2)
        return total
    return loss


REAL_COMPLEX = [False, True]


# --- expm ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_expm_values_and_stacks(c):
    a = randn(4, 4, seed=1, complex_=c)
    np.testing.assert_allclose(L.expm(a), sl.expm(a), rtol=1e-13)
    np.testing.assert_allclose(traced(L.expm, a), sl.expm(a), rtol=1e-13)
    s = randn(2, 3, 3, seed=2, complex_=c)
    np.testing.assert_allclose(traced(L.expm, s), sl.expm(s), rtol=1e-13)


@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_expm_grads(c):
    a = randn(3, 3, seed=3, complex_=c) * 0.5
    check_grads(L.expm, (a,), order=2)
    check_grads(real_loss(L.expm), (a,), order=2)


def test_expm_derivative_is_the_frechet_derivative():
    a, e = randn(3, 3, seed=4), randn(3, 3, seed=5)
    _, frechet = sl.expm_frechet(a, e)
    np.testing.assert_allclose(jvp(L.expm, (a,), (e,))[1], frechet, rtol=1e-12)
    g = randn(3, 3, seed=6)
    _, vjp_fn = diffopt.vjp(L.expm, a)
    np.testing.assert_allclose(vjp_fn(g)[0], sl.expm_frechet(a.T, g)[1], rtol=1e-12)


def test_expm_under_vmap():
    s = randn(3, 2, 2, seed=7)
    np.testing.assert_allclose(vmap(L.expm)(s), sl.expm(s), rtol=1e-13)


# --- solve_triangular ---------------------------------------------------------------------------
TRI_CASES = [(t, lo, u) for t in (0, 1, 2, "N", "T", "C") for lo in (False, True)
             for u in (False, True)]


@pytest.mark.parametrize("trans,lower,unit", TRI_CASES)
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_solve_triangular_values(trans, lower, unit, c):
    a, b = randn(4, 4, seed=8, complex_=c) + 3 * np.eye(4), randn(4, 2, seed=9, complex_=c)
    kw = dict(trans=trans, lower=lower, unit_diagonal=unit)
    expected = sl.solve_triangular(a, b, **kw)
    np.testing.assert_allclose(L.solve_triangular(a, b, **kw), expected, rtol=1e-12)
    out = traced(lambda a, b: L.solve_triangular(a, b, **kw), a, b)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    out = traced(lambda a, b: L.solve_triangular(a, b, **kw), a, b[:, 0])
    np.testing.assert_allclose(out, expected[:, 0], rtol=1e-12)


@pytest.mark.parametrize("trans,lower,unit", [(0, True, False), (1, False, True), (2, True, True),
                                              (0, False, False)])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_solve_triangular_grads(trans, lower, unit, c):
    a, b = well(3, seed=10, complex_=c), randn(3, 2, seed=11, complex_=c)
    f = lambda a, b: L.solve_triangular(a, b, trans, lower, unit)  # noqa: E731
    check_grads(f, (a, b), order=2)
    check_grads(real_loss(f), (a, b[:, 0]), order=2)


def test_solve_triangular_reads_one_triangle():
    a, b = well(3, seed=12), randn(3, seed=13)
    g = diffopt.grad(lambda a: dnp.sum(L.solve_triangular(a, b, lower=True, unit_diagonal=True)))
    grad = g(a)
    assert np.all(np.triu(grad) == 0)


def test_solve_triangular_errors():
    with pytest.raises(ValueError, match="incompatible"):
        L.solve_triangular(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="trans"):
        L.solve_triangular(np.eye(2), np.ones(2), trans=3)
    with pytest.raises(ValueError, match="infs or NaNs"):
        L.solve_triangular(np.eye(2), np.array([1.0, np.nan]))
    L.solve_triangular(np.eye(2), np.array([1.0, np.nan]), check_finite=False)


# --- Cholesky -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_cho_factor_and_solve_values(lower, c):
    a, b = spd(4, seed=14, complex_=c), randn(4, 3, seed=15, complex_=c)
    a_junk = a + np.triu(randn(4, 4, seed=16), 1) * (1 if lower else 0) \
        + np.tril(randn(4, 4, seed=17), -1) * (0 if lower else 1)  # SciPy ignores that triangle
    cf, low = sl.cho_factor(a_junk, lower=lower)
    out = traced(lambda a: L.cho_factor(a, lower=lower)[0], a_junk)
    np.testing.assert_allclose(out, cf, rtol=1e-12)
    np.testing.assert_allclose(L.cho_factor(a_junk, lower=lower)[0], cf)
    expected = sl.cho_solve((cf, low), b)
    got = traced(lambda a, b: L.cho_solve(L.cho_factor(a, lower=lower), b), a_junk, b)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(L.cho_solve((cf, low), b), expected)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_cho_solve_grads(lower, c):
    a, b = spd(3, seed=18, complex_=c), randn(3, seed=19, complex_=c)
    f = lambda a, b: L.cho_solve(L.cho_factor(a, lower=lower), b)  # noqa: E731
    check_grads(f, (a, b), order=2)
    check_grads(lambda a: L.cho_factor(a, lower=lower)[0], (a,), order=2)


# --- LU -----------------------------------------------------------------------------------------
def lu_matrix(n, seed, c=False):
    return randn(n, n, seed=seed, complex_=c) + 0.5 * np.eye(n)  # pivoting happens


@pytest.mark.parametrize("c", REAL_COMPLEX)
@pytest.mark.parametrize("kw", [{}, {"permute_l": True}, {"p_indices": True}])
def test_lu_values(kw, c):
    a = lu_matrix(4, 20, c)
    expected = sl.lu(a, **kw)
    for got in (L.lu(a, **kw), traced(lambda a: L.lu(a, **kw), a)):
        assert len(got) == len(expected)
        for x, y in zip(got, expected, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)
            assert np.asarray(x).dtype == y.dtype
    np.testing.assert_allclose(L.lu(randn(3, 5, seed=1))[2], sl.lu(randn(3, 5, seed=1))[2])


@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_lu_grads(c):
    a = lu_matrix(3, 21, c)
    check_grads(lambda a: L.lu(a)[1:], (a,), order=2)
    check_grads(lambda a: L.lu(a, permute_l=True), (a,), order=2)
    check_grads(real_loss(lambda a: L.lu(a)[2]), (a,), order=2)
    check_grads(lambda a: vmap(lambda m: L.lu(m)[2])(dnp.stack([a, 2 * a])), (a,), order=1)


@pytest.mark.parametrize("trans", [0, 1, 2])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_lu_factor_and_solve(trans, c):
    a, b = lu_matrix(4, 22, c), randn(4, 2, seed=23, complex_=c)
    lu_, piv = sl.lu_factor(a)
    got_lu, got_piv = traced(lambda a: L.lu_factor(a)[0], a), L.lu_factor(a)[1]
    np.testing.assert_allclose(got_lu, lu_, rtol=1e-12)
    np.testing.assert_array_equal(got_piv, piv)
    expected = sl.lu_solve((lu_, piv), b, trans=trans)
    np.testing.assert_allclose(L.lu_solve((lu_, piv), b, trans=trans), expected)
    f = lambda a, b: L.lu_solve(L.lu_factor(a), b, trans=trans)  # noqa: E731
    np.testing.assert_allclose(traced(f, a, b), expected, rtol=1e-12)
    np.testing.assert_allclose(traced(f, a, b[:, 0]), expected[:, 0], rtol=1e-12)
    check_grads(f, (lu_matrix(3, 24, c), randn(3, seed=25, complex_=c)), order=2)


def test_lu_non_square_derivative_is_refused():
    with pytest.raises(NotImplementedError, match="non-square"):
        jvp(L.lu, (randn(3, 4),), (randn(3, 4),))


# --- QR -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("mode", ["full", "economic", "r"])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_qr_values(mode, shape, c):
    a = randn(*shape, seed=26, complex_=c)
    expected = sl.qr(a, mode=mode)
    plain = L.qr(a, mode=mode)
    assert len(plain) == len(expected)
    if mode == "full" and shape[0] > shape[1]:
        return  # the full Q of a tall matrix has no derivative: not traced
    got = traced(lambda a: L.qr(a, mode=mode), a)
    for x, y in zip(got, expected, strict=True):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape,mode", [((3, 3), "full"), ((4, 3), "economic"), ((4, 3), "r"),
                                        ((2, 4), "full")])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_qr_grads(shape, mode, c):
    a = randn(*shape, seed=27, complex_=c)
    check_grads(lambda a: L.qr(a, mode=mode), (a,), order=2)


def test_qr_options():
    a = randn(4, 3, seed=28)
    q, r, p = L.qr(a, pivoting=True)
    np.testing.assert_allclose(q @ r, a[:, p])
    with pytest.raises(NotImplementedError, match="pivoting"):
        jvp(lambda a: L.qr(a, pivoting=True), (a,), (a,))
    with pytest.raises(NotImplementedError, match="raw"):
        jvp(lambda a: L.qr(a, mode="raw"), (a,), (a,))
    with pytest.raises(NotImplementedError, match="mode='full' of a tall"):
        jvp(lambda a: L.qr(a), (a,), (a,))
    with pytest.raises(ValueError, match="Mode argument"):
        L.qr(a, mode="reduced")


# --- eigh ---------------------------------------------------------------------------------------
def phase_fixed(v):
    """Eigenvectors with the largest-magnitude entry of each made real positive."""
    idx = np.argmax(np.abs(v), axis=0)
    ph = v[idx, np.arange(v.shape[1])]
    return v * (np.abs(ph) / ph)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("subset", [None, (1, 2), (0, 0)])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_eigh_values(lower, subset, c):
    a = randn(4, 4, seed=29, complex_=c)  # not Hermitian: SciPy reads one triangle
    kw = dict(lower=lower, subset_by_index=subset)
    w, v = sl.eigh(a, **kw)
    for gw, gv in (L.eigh(a, **kw), traced(lambda a: L.eigh(a, **kw), a)):
        np.testing.assert_allclose(gw, w, rtol=1e-12)
        np.testing.assert_allclose(phase_fixed(np.asarray(gv)), phase_fixed(v), atol=1e-10)
    got = traced(lambda a: L.eigh(a, eigvals_only=True, **kw), a)
    np.testing.assert_allclose(got, sl.eigh(a, eigvals_only=True, **kw), rtol=1e-12)


@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_eigh_grads(c):
    a = randn(3, 3, seed=30, complex_=c)
    check_grads(lambda a: L.eigh(a, eigvals_only=True), (a,), order=2)
    check_grads(lambda a: L.eigh(a, lower=False, subset_by_index=(1, 2), eigvals_only=True),
                (a,), order=2)
    # eigenvectors through a phase-invariant quantity: the projector on the top one
    check_grads(lambda a: dnp.abs(L.eigh(a, subset_by_index=(2, 2))[1]) ** 2, (a,), order=2)


@pytest.mark.parametrize("kind", [1, 2, 3])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_eigh_generalized(kind, lower, c):
    a, b = randn(4, 4, seed=49, complex_=c), spd(4, seed=50, complex_=c)
    b = b + (np.triu(randn(4, 4, seed=51), 1) if lower else np.tril(randn(4, 4, seed=51), -1))
    kw = dict(lower=lower, type=kind)
    w, v = sl.eigh(a, b, **kw)
    gw, gv = traced(lambda a, b: L.eigh(a, b, **kw), a, b)
    np.testing.assert_allclose(gw, w, rtol=1e-10)
    np.testing.assert_allclose(phase_fixed(np.asarray(gv)), phase_fixed(v), atol=1e-10)
    got = traced(lambda a, b: L.eigh(a, b, eigvals_only=True, subset_by_index=(1, 2), **kw), a, b)
    np.testing.assert_allclose(got, w[1:3], rtol=1e-10)


@pytest.mark.parametrize("kind", [1, 2, 3])
def test_eigh_generalized_grads(kind):
    a, b = randn(3, 3, seed=52), spd(3, seed=53)
    check_grads(lambda a, b: L.eigh(a, b, type=kind, eigvals_only=True), (a, b), order=2)
    check_grads(lambda a, b: dnp.abs(L.eigh(a, b, type=kind)[1]) ** 2, (a, b), order=2)


def test_eigh_options():
    a = spd(3, seed=31)
    w = L.eigh(a, spd(3, seed=32), eigvals_only=True)
    np.testing.assert_allclose(w, sl.eigh(a, spd(3, seed=32), eigvals_only=True))
    with pytest.raises(ValueError, match="type"):
        jvp(lambda a: L.eigh(a, np.eye(3), type=4), (a,), (a,))
    with pytest.raises(NotImplementedError, match="subset_by_value"):
        jvp(lambda a: L.eigh(a, subset_by_value=(0, 10)), (a,), (a,))
    with pytest.raises(ValueError, match="indices are not valid"):
        jvp(lambda a: L.eigh(a, subset_by_index=(2, 1)), (a,), (a,))


# --- Sylvester and sqrtm ------------------------------------------------------------------------
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_solve_sylvester(c):
    a, b, q = well(3, 33, c), well(2, 34, c), randn(3, 2, seed=35, complex_=c)
    expected = sl.solve_sylvester(a, b, q)
    np.testing.assert_allclose(L.solve_sylvester(a, b, q), expected)
    np.testing.assert_allclose(traced(L.solve_sylvester, a, b, q), expected, rtol=1e-12)
    check_grads(L.solve_sylvester, (a, b, q), order=2)


@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_sqrtm(c):
    a = spd(3, seed=36, complex_=c)
    expected = sl.sqrtm(a)
    np.testing.assert_allclose(L.sqrtm(a), expected, rtol=1e-12)
    np.testing.assert_allclose(traced(L.sqrtm, a), expected, rtol=1e-12)
    check_grads(L.sqrtm, (a,), order=2)
    x, err = L.sqrtm(a, disp=False)
    assert err < 1e-20


def test_sqrtm_of_a_matrix_with_negative_eigenvalues_is_complex():
    a = np.array([[-2.0, 1.0], [0.0, 3.0]])
    np.testing.assert_allclose(L.sqrtm(a), sl.sqrtm(a), rtol=1e-12)
    check_grads(real_loss(L.sqrtm), (a,), order=2)


# --- schur, block_diag --------------------------------------------------------------------------
@pytest.mark.parametrize("output", ["real", "complex"])
def test_schur_values_and_refused_derivative(output):
    a = randn(3, 3, seed=37)
    t, z = vmap(lambda a: L.schur(a, output=output))(a[None])
    t, z = t[0], z[0]
    et, ez = sl.schur(a, output=output)
    np.testing.assert_allclose(t, et)
    np.testing.assert_allclose(z, ez)
    np.testing.assert_allclose(vmap(lambda a: L.schur(a)[0])(a[None]), sl.schur(a)[0][None])
    with pytest.raises(NotImplementedError, match="schur"):
        jvp(lambda a: L.schur(a)[0], (a,), (a,))
    with pytest.raises(NotImplementedError, match="schur"):
        diffopt.grad(lambda a: dnp.sum(L.schur(a)[0]))(a)
    with pytest.raises(ValueError):
        L.schur(a, output="other")


def test_block_diag():
    blocks = (randn(2, 2, seed=38), np.array([1.0, 2.0, 3.0]), 4.0, randn(3, 1, seed=39))
    expected = sl.block_diag(*blocks)
    np.testing.assert_allclose(L.block_diag(*blocks), expected)
    got = traced(lambda *b: L.block_diag(*b), *(np.asarray(b) for b in blocks))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected)
    check_grads(lambda x, y: L.block_diag(x, y), (blocks[0], randn(2, 3, seed=40, complex_=True)),
                order=2)
    with pytest.raises(ValueError, match="greater than 2"):
        traced(lambda x: L.block_diag(x), np.ones((2, 2, 2)))


# --- det, inv, solve ----------------------------------------------------------------------------
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_det_inv(c):
    a = well(3, 41, c)
    np.testing.assert_allclose(traced(L.det, a), sl.det(a), rtol=1e-12)
    np.testing.assert_allclose(traced(L.inv, a), sl.inv(a), rtol=1e-12)
    check_grads(L.det, (a,), order=2)
    check_grads(L.inv, (a,), order=2)
    assert L.det(a) == sl.det(a)
    with pytest.raises(ValueError, match="infs or NaNs"):
        L.inv(np.full((2, 2), np.inf))


ASSUME = [None, "gen", "sym", "her", "pos", "upper triangular", "lower triangular", "diagonal",
          "tridiagonal"]


@pytest.mark.parametrize("assume_a", ASSUME)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("c", REAL_COMPLEX)
def test_solve_and_inv_assume_a(assume_a, lower, c):
    if assume_a == "pos":
        a = spd(4, 42, c) + np.triu(randn(4, 4, seed=43), 1) * (1 if lower else 0)
    else:
        a = well(4, 44, c)
    b = randn(4, 2, seed=45, complex_=c)
    kw = dict(assume_a=assume_a, lower=lower)
    np.testing.assert_allclose(traced(lambda a, b: L.solve(a, b, **kw), a, b),
                               sl.solve(a, b, **kw), rtol=1e-10)
    np.testing.assert_allclose(traced(lambda a, b: L.solve(a, b, **kw), a, b[:, 0]),
                               sl.solve(a, b[:, 0], **kw), rtol=1e-10)
    if assume_a == "diagonal":  # SciPy 1.17's inv keeps the off-diagonal entries: compare on
        np.testing.assert_allclose(L.inv(a, **kw), np.diag(1 / np.diag(a)))  # a diagonal
        a = np.diag(np.diag(a))
    if assume_a != "tridiagonal":  # not one of inv's
        np.testing.assert_allclose(traced(lambda a: L.inv(a, **kw), a), sl.inv(a, **kw),
                                   rtol=1e-10)


def test_solve_grads_and_options():
    a, b = well(3, 46), randn(3, seed=47)
    check_grads(lambda a, b: L.solve(a, b, assume_a="sym"), (a, b), order=2)
    check_grads(lambda a, b: L.solve(a, b, transposed=True), (a, b), order=2)
    np.testing.assert_allclose(traced(lambda a, b: L.solve(a, b, transposed=True), a, b),
                               sl.solve(a, b, transposed=True))
    ac = well(3, 48, True)
    check_grads(lambda a, b: L.solve(a, b, assume_a="her", lower=True), (ac, b + 1j), order=2)
    with pytest.raises(NotImplementedError, match="complex"):
        jvp(lambda a: L.solve(a, b, transposed=True), (ac,), (ac,))
    with pytest.raises(NotImplementedError, match="banded"):
        jvp(lambda a: L.solve(a, b, assume_a="banded"), (a,), (a,))


def test_everything_is_exported():
    assert all(callable(getattr(L, name)) for name in L.__all__)
    import diffopt.scipy

    assert "linalg" in diffopt.scipy.__all__ and diffopt.scipy.linalg is L


def test_vmap_over_the_traced_paths():
    a = np.stack([well(3, 54), well(3, 55)])
    b = randn(2, 3, seed=56)
    cases = [
        (lambda a, b: L.solve_triangular(a, b, lower=True), sl.solve_triangular,
         dict(lower=True)),
        (lambda a, b: L.cho_solve(L.cho_factor(a @ a.T), b),
         lambda a, b: sl.cho_solve(sl.cho_factor(a @ a.T), b), {}),
        (lambda a, b: L.lu_solve(L.lu_factor(a), b), lambda a, b: sl.lu_solve(sl.lu_factor(a), b),
         {}),
        (lambda a, b: L.sqrtm(a @ a.T) @ b, lambda a, b: sl.sqrtm(a @ a.T) @ b, {}),
        (lambda a, b: L.solve_sylvester(a, a.T, b[:, None] * b), lambda a, b: sl.solve_sylvester(
            a, a.T, b[:, None] * b), {}),
    ]
    for f, ref, kw in cases:
        got = vmap(f)(a, b)
        np.testing.assert_allclose(got, [ref(x, y, **kw) for x, y in zip(a, b, strict=True)],
                                   rtol=1e-10)


@pytest.mark.parametrize("trans", [0, 1])
def test_vmap_with_pivoting_that_differs_per_matrix(trans):
    a = np.stack([lu_matrix(4, 57), lu_matrix(4, 58)[::-1]])
    b = randn(2, 4, seed=59)
    pivs = [sl.lu_factor(m)[1] for m in a]
    assert not np.array_equal(*pivs)
    np.testing.assert_array_equal(vmap(lambda m: L.lu_factor(m)[1])(a), pivs)
    np.testing.assert_array_equal(vmap(lambda m: L.lu(m, p_indices=True)[0])(a),
                                  [sl.lu(m, p_indices=True)[0] for m in a])
    got = vmap(lambda m, v: L.lu_solve(L.lu_factor(m), v, trans=trans))(a, b)
    np.testing.assert_allclose(got, [sl.lu_solve(sl.lu_factor(m), v, trans=trans)
                                     for m, v in zip(a, b, strict=True)], rtol=1e-10)
