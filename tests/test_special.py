"""diffopt.scipy.special: values against SciPy, derivatives against finite differences, batching."""

import numpy as np
import pytest
import scipy.special as sc

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.scipy import special

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3))
POS = RNG.uniform(0.3, 4.0, size=(2, 3))
PROB = RNG.uniform(0.05, 0.95, size=(2, 3))

# name: input in the function's domain
ELEMENTWISE = {
    "expit": X, "logit": PROB, "log_expit": 3 * X, "erf": X, "erfc": X, "gammaln": POS,
    "digamma": POS,
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_values_and_grads(name):
    x = ELEMENTWISE[name]
    fn = getattr(special, name)
    np.testing.assert_allclose(fn(x), getattr(sc, name)(x), rtol=1e-14)
    check_grads(fn, (x,), order=2)
    check_grads(fn, (float(x[0, 0]),), order=2)


def test_aliases():
    assert special.sigmoid is special.expit
    assert special.psi is special.digamma


def test_worked_values():
    assert special.expit(0.0) == 0.5
    assert diffopt.grad(special.expit)(0.0) == 0.25
    assert diffopt.grad(special.logit)(0.5) == pytest.approx(4.0)
    assert diffopt.grad(special.erf)(0.0) == pytest.approx(2 / np.sqrt(np.pi))
    assert diffopt.grad(special.gammaln)(1.0) == pytest.approx(-np.euler_gamma)
    assert diffopt.grad(diffopt.grad(special.gammaln))(1.0) == pytest.approx(np.pi**2 / 6)


def test_gammaln_third_order_uses_polygamma():
    check_grads(special.gammaln, (POS,), order=3)
    d3 = diffopt.grad(diffopt.grad(diffopt.grad(special.gammaln)))(2.5)
    assert d3 == pytest.approx(sc.polygamma(2, 2.5), rel=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma(n):
    np.testing.assert_allclose(special.polygamma(n, POS), sc.polygamma(n, POS), rtol=1e-14)
    check_grads(lambda x: special.polygamma(n, x), (POS,), order=2)


def test_polygamma_array_order_broadcasts_and_has_no_derivative():
    n = np.array([0, 1, 2])
    np.testing.assert_allclose(special.polygamma(n, POS), sc.polygamma(n, POS), rtol=1e-14)
    check_grads(lambda x: special.polygamma(n, x), (POS,), order=2)
    with pytest.raises(TypeError, match="polygamma: cannot differentiate with respect to arg"):
        diffopt.grad(lambda m: special.polygamma(m, 2.0))(1.0)


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_erf_is_holomorphic_on_complex_input(name):
    z = RNG.normal(size=3) + 0.5j * RNG.normal(size=3)
    fn = getattr(special, name)
    np.testing.assert_allclose(fn(z), getattr(sc, name)(z), rtol=1e-13)
    check_grads(fn, (z,), order=2)


def test_log_expit_is_stable():
    np.testing.assert_allclose(special.log_expit(np.array([-1000.0, 1000.0])), [-1000.0, 0.0])
    np.testing.assert_allclose(diffopt.grad(lambda x: dnp.sum(special.log_expit(x)))(
        np.array([-1000.0, 0.0, 1000.0])), [1.0, 0.5, 0.0])


def test_vmap_of_elementwise_equals_loop():
    for name in ELEMENTWISE:
        fn = getattr(special, name)
        xs = ELEMENTWISE[name]
        np.testing.assert_allclose(diffopt.vmap(fn)(xs), np.stack([fn(x) for x in xs]))
        g = diffopt.grad(lambda v, fn=fn: dnp.sum(fn(v)))
        np.testing.assert_allclose(diffopt.vmap(g)(xs), np.stack([g(x) for x in xs]))


# --- logsumexp, softmax, log_softmax -------------------------------------------------------------
A = RNG.normal(size=(3, 4))
AXES = [None, 0, 1, -1, (0, 1)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
def test_logsumexp_values_and_grads(axis, keepdims):
    out = special.logsumexp(A, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out, sc.logsumexp(A, axis=axis, keepdims=keepdims), rtol=1e-14)
    check_grads(lambda a: special.logsumexp(a, axis=axis, keepdims=keepdims), (A,), order=2)


@pytest.mark.parametrize("bshape", [(3, 4), (4,), (3, 1), ()], ids=str)
def test_logsumexp_weights(bshape):
    b = RNG.uniform(0.5, 2.0, size=bshape)
    for axis in (None, 1):
        np.testing.assert_allclose(special.logsumexp(A, axis=axis, b=b),
                                   sc.logsumexp(A, axis=axis, b=b), rtol=1e-14)
        check_grads(lambda a, w, axis=axis: special.logsumexp(a, axis=axis, b=w), (A, b),
                    order=2)


def test_logsumexp_scalar_and_vector():
    assert special.logsumexp(2.0) == 2.0
    check_grads(special.logsumexp, (0.7,), order=2)
    v = A[0]
    np.testing.assert_allclose(special.logsumexp(v), sc.logsumexp(v), rtol=1e-14)


def test_logsumexp_gradient_is_softmax():
    for axis in (None, 0, 1):
        g = diffopt.grad(lambda a, axis=axis: dnp.sum(special.logsumexp(a, axis=axis)))(A)
        np.testing.assert_allclose(g, sc.softmax(A, axis=axis), rtol=1e-14)
    g_b = diffopt.grad(lambda b: special.logsumexp(A[0], b=b))(np.ones(4))
    np.testing.assert_allclose(g_b, sc.softmax(A[0]), rtol=1e-14)  # d/db at b = 1


def test_logsumexp_is_stable():
    big = np.array([1000.0, 1000.0, -np.inf])
    assert special.logsumexp(big) == pytest.approx(1000.0 + np.log(2.0))
    np.testing.assert_allclose(diffopt.grad(special.logsumexp)(big), [0.5, 0.5, 0.0])
    assert special.logsumexp(-big[:2]) == pytest.approx(-1000.0 + np.log(2.0))
    assert special.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf
    assert special.logsumexp(np.array([np.inf, 0.0])) == np.inf
    np.testing.assert_allclose(special.softmax(np.array([1000.0, 0.0])), [1.0, 0.0])
    np.testing.assert_allclose(special.log_softmax(np.array([1000.0, 0.0])), [0.0, -1000.0])


@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, axis):
    fn = getattr(special, name)
    np.testing.assert_allclose(fn(A, axis=axis), getattr(sc, name)(A, axis=axis), rtol=1e-13,
                               atol=1e-15)
    check_grads(lambda a: fn(a, axis=axis), (A,), order=2)


def test_softmax_sums_to_one_and_its_jacobian():
    s = special.softmax(A, axis=1)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    v = A[0]
    p = sc.softmax(v)
    for jac in (diffopt.jacfwd, diffopt.jacrev):
        np.testing.assert_allclose(jac(special.softmax)(v), np.diag(p) - np.outer(p, p),
                                   atol=1e-15)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_vmap_of_softmax_family_equals_loop(name):
    fn = getattr(special, name)
    xs = RNG.normal(size=(5, 3, 4))
    for axis in (None, 0, 1):
        f = lambda x, axis=axis: fn(x, axis=axis)
        np.testing.assert_allclose(diffopt.vmap(f)(xs), np.stack([f(x) for x in xs]),
                                   rtol=1e-14)
        g = diffopt.grad(lambda x, f=f: dnp.sum(dnp.sin(f(x))))
        np.testing.assert_allclose(diffopt.vmap(g)(xs), np.stack([g(x) for x in xs]),
                                   rtol=1e-13)


def test_vmap_of_weighted_logsumexp():
    xs, bs = RNG.normal(size=(5, 4)), RNG.uniform(0.5, 2.0, size=(5, 4))
    f = lambda x, b: special.logsumexp(x, b=b)
    for in_axes in ((0, 0), (0, None), (None, 0)):
        x_ = [xs[i] if in_axes[0] == 0 else xs[0] for i in range(5)]
        b_ = [bs[i] if in_axes[1] == 0 else bs[0] for i in range(5)]
        np.testing.assert_allclose(
            diffopt.vmap(f, in_axes=in_axes)(xs if in_axes[0] == 0 else xs[0],
                                             bs if in_axes[1] == 0 else bs[0]),
            [f(a, b) for a, b in zip(x_, b_, strict=True)], rtol=1e-14)


def test_jacfwd_equals_jacrev_for_logsumexp():
    f = lambda a: special.logsumexp(a, axis=1, b=POS)
    np.testing.assert_allclose(diffopt.jacfwd(f)(X), diffopt.jacrev(f)(X), rtol=1e-13)
    hf = diffopt.hessian(lambda a: special.logsumexp(a))(A[0])
    p = sc.softmax(A[0])
    np.testing.assert_allclose(hf, np.diag(p) - np.outer(p, p), atol=1e-15)


def test_backend_module_is_scipy_for_numpy_values():
    assert special._special_module(np.ones(2)) is sc
    assert special._special_module(1.0) is sc
