"""diffopt.scipy.special, the gamma, beta, entropy, normal, Bessel and zeta families: values
against SciPy (tails included), derivatives of order 2 against finite differences in both modes,
broadcasting, float32, and the derivatives that are refused."""

import numpy as np
import pytest
import scipy.special as sc

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.scipy import special

RNG = np.random.default_rng(1)


def _u(lo, hi, shape=(2, 3)):
    return RNG.uniform(lo, hi, size=shape)


# name: (arguments in the function's domain, the positions that are differentiable)
CASES = {
    "gamma": ((np.array([[-2.5, -0.3, 0.4], [1.0, 3.7, 6.2]]),), (0,)),
    "gammainc": ((_u(0.3, 5), _u(0.1, 6)), (1,)),
    "gammaincc": ((_u(0.3, 5), _u(0.1, 6)), (1,)),
    "beta": ((_u(0.3, 4), _u(0.3, 4)), (0, 1)),
    "betaln": ((_u(0.3, 4), _u(0.3, 4)), (0, 1)),
    "betainc": ((_u(0.5, 4), _u(0.5, 4), _u(0.05, 0.95)), (2,)),
    "betaincc": ((_u(0.5, 4), _u(0.5, 4), _u(0.05, 0.95)), (2,)),
    "stdtr": ((np.array([[0.5, 1.0, 2.5], [4.0, 30.0, np.inf]]), 3 * RNG.normal(size=(2, 3))),
              (1,)),
    "xlogy": ((RNG.normal(size=(2, 3)), _u(0.2, 3)), (0, 1)),
    "xlog1py": ((RNG.normal(size=(2, 3)), _u(-0.8, 3)), (0, 1)),
    "entr": ((_u(0.1, 3),), (0,)),
    "rel_entr": ((_u(0.1, 3), _u(0.1, 3)), (0, 1)),
    "kl_div": ((_u(0.1, 3), _u(0.1, 3)), (0, 1)),
    "ndtr": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "log_ndtr": ((np.array([[-30.0, -5.0, -0.5], [0.3, 4.0, 9.0]]),), (0,)),
    "ndtri": ((_u(0.02, 0.98),), (0,)),
    "erfinv": ((_u(-0.95, 0.95),), (0,)),
    "erfcx": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "i0": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "i1": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "i0e": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "i1e": ((3 * RNG.normal(size=(2, 3)),), (0,)),
    "zeta": ((_u(1.5, 4), _u(0.3, 3)), (1,)),
    "spence": ((np.array([[0.1, 0.5, 0.999], [1.001, 2.0, 5.0]]),), (0,)),
}


def _partial(fn, args, i):
    """``fn`` as a function of argument ``i`` alone, the others held at ``args``."""
    return lambda v: fn(*args[:i], v, *args[i + 1:])


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_grads(name):
    args, diff = CASES[name]
    fn = getattr(special, name)
    out = fn(*args)
    np.testing.assert_allclose(out, getattr(sc, name)(*args), rtol=1e-14)
    assert out.dtype == np.float64 and out.shape == (2, 3)
    for i in diff:
        check_grads(_partial(fn, args, i), (args[i],), order=2)
        scalars = tuple(float(a[0, 0]) for a in args)
        check_grads(_partial(fn, scalars, i), (scalars[i],), order=2)
    if len(diff) > 1:
        check_grads(fn, args, order=2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_as_scipy(name):
    args = tuple(a.astype(np.float32) for a in CASES[name][0])
    out, ref = getattr(special, name)(*args), getattr(sc, name)(*args)
    assert out.dtype == ref.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-6)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "betaln", "xlogy", "kl_div", "zeta"])
def test_broadcasting(name):
    args, diff = CASES[name]
    col, row = args[0][:, :1], args[1][0]  # (2, 1) against (3,)
    out = getattr(special, name)(col, row)
    np.testing.assert_allclose(out, getattr(sc, name)(col, row), rtol=1e-14)
    assert out.shape == (2, 3)
    for i in diff:
        check_grads(_partial(getattr(special, name), (col, row), i), ((col, row)[i],), order=2)


def test_betainc_broadcasts_three_arguments():
    a, b, x = np.array([[0.5], [2.0]]), np.array([1.5, 3.0, 4.0]), 0.3
    np.testing.assert_allclose(special.betainc(a, b, x), sc.betainc(a, b, x), rtol=1e-14)
    check_grads(lambda x: special.betainc(a, b, x), (np.full((2, 3), 0.3),), order=2)


@pytest.mark.parametrize("name", ["gamma", "gammainc", "betainc", "xlogy", "kl_div", "log_ndtr",
                                  "ndtri", "i1e", "zeta", "spence", "stdtr"])
def test_third_order(name):
    # the rules are written with differentiable functions: every order follows
    args, diff = CASES[name]
    check_grads(_partial(getattr(special, name), args, diff[-1]), (args[diff[-1]],), order=3)


def test_worked_derivatives():
    assert diffopt.grad(special.gamma)(3.0) == pytest.approx(2 * (1.5 - np.euler_gamma))
    assert diffopt.grad(lambda x: special.gammainc(1.0, x))(2.0) == pytest.approx(np.exp(-2.0))
    assert diffopt.grad(lambda x: special.betainc(2.0, 1.0, x))(0.3) == pytest.approx(0.6)
    assert diffopt.grad(special.ndtri)(0.5) == pytest.approx(np.sqrt(2 * np.pi))
    assert diffopt.grad(special.erfinv)(0.0) == pytest.approx(np.sqrt(np.pi) / 2)
    dq = diffopt.grad(lambda q: special.zeta(3.0, q))(2.0)
    assert dq == pytest.approx(-3 * sc.zeta(4.0, 2.0))
    # spence' = log(z) / (1 - z): -1 at z = 1, where the series is used; spence'' = 1/2 there
    assert diffopt.grad(special.spence)(1.0) == pytest.approx(-1.0)
    assert diffopt.grad(diffopt.grad(special.spence))(1.0) == pytest.approx(0.5)
    assert diffopt.grad(special.spence)(1.0 + 1e-9) == pytest.approx(-1.0 + 0.5e-9, rel=1e-14)


def test_xlogy_and_xlog1py_at_x_zero():
    for fn, pole in ((special.xlogy, 0.0), (special.xlog1py, -1.0)):
        assert fn(0.0, pole) == 0.0
        assert diffopt.grad(fn, argnums=1)(0.0, pole) == 0.0
        assert diffopt.grad(fn, argnums=1)(0.0, 1.0) == 0.0
        assert diffopt.grad(fn, argnums=0)(0.0, 2.0) == pytest.approx(
            np.log(2.0) if pole == 0 else np.log1p(2.0))
        # the mixed second derivative at x = 0 is 1/y (1/(1 + y)): nothing masked away
        mixed = diffopt.grad(lambda y, fn=fn: diffopt.grad(fn, argnums=0)(0.0, y))(2.0)
        assert mixed == pytest.approx(0.5 if pole == 0 else 1 / 3)
        check_grads(lambda y, fn=fn: fn(np.array([0.0, 1.5]), y), (np.array([0.7, 2.0]),),
                    order=2)


def test_entropies_at_the_edges():
    x = np.array([-1.0, 0.0, 0.5])
    np.testing.assert_array_equal(special.entr(x), sc.entr(x))
    g = diffopt.vmap(diffopt.grad(special.entr))(x)
    np.testing.assert_allclose(g, [0.0, np.inf, -(np.log(0.5) + 1)])
    x, y = np.array([0.0, 0.0, -1.0, 1.0, 1.0]), np.array([0.0, 2.0, 1.0, -1.0, 2.0])
    for name in ("kl_div", "rel_entr"):
        np.testing.assert_array_equal(getattr(special, name)(x, y), getattr(sc, name)(x, y))
    dkl = diffopt.vmap(diffopt.grad(special.kl_div, argnums=1))(x, y)
    np.testing.assert_allclose(dkl, [1.0, 1.0, 0.0, 0.0, 0.5])
    drel = diffopt.vmap(diffopt.grad(special.rel_entr, argnums=0))(x, y)
    np.testing.assert_allclose(drel, [-np.inf, -np.inf, 0.0, 0.0, np.log(0.5) + 1])


def test_log_ndtr_far_tails():
    x = np.array([-1e5, -1e3, -40.0, -20.0, 0.0, 8.0, 20.0, 40.0])
    np.testing.assert_allclose(special.log_ndtr(x), sc.log_ndtr(x), rtol=1e-14)
    d = diffopt.vmap(diffopt.grad(special.log_ndtr))(x)
    assert np.all(np.isfinite(d))
    # pdf / cdf: ~ |x| + 1/|x| - 2/|x|**3 in the left tail (Mills' ratio), pdf in the right one
    np.testing.assert_allclose(d[:2], -x[:2] - 1 / x[:2] + 2 / x[:2] ** 3, rtol=1e-14)
    np.testing.assert_allclose(d[4], np.sqrt(2 / np.pi), rtol=1e-14)
    np.testing.assert_allclose(d[5:], np.exp(-x[5:] ** 2 / 2) / np.sqrt(2 * np.pi), rtol=1e-12)
    central = (sc.log_ndtr(-40 + 1e-5) - sc.log_ndtr(-40 - 1e-5)) / 2e-5
    assert d[2] == pytest.approx(central, rel=1e-7)
    d2 = diffopt.vmap(diffopt.grad(diffopt.grad(special.log_ndtr)))(x)
    assert np.all(np.isfinite(d2))
    check_grads(special.log_ndtr, (np.array([-40.0, -20.0, 20.0, 35.0]),), order=2)


def test_ndtri_and_erfcx_tails():
    p = np.array([1e-300, 1e-20, 1 - 1e-15])
    np.testing.assert_allclose(special.ndtri(p), sc.ndtri(p), rtol=1e-14)
    d = diffopt.vmap(diffopt.grad(special.ndtri))(p)
    pdf = np.exp(-sc.ndtri(p) ** 2 / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(d * pdf, 1.0, rtol=1e-10)  # the inverse function's derivative
    x = np.array([-20.0, 30.0, 1e4])
    np.testing.assert_allclose(special.erfcx(x), sc.erfcx(x), rtol=1e-14)
    check_grads(special.erfcx, (x[1:],), order=2)


def test_scaled_bessel_for_large_arguments():
    x = np.array([-700.0, 50.0, 1000.0])
    np.testing.assert_allclose(special.i0e(x), sc.i0e(x), rtol=1e-14)
    np.testing.assert_allclose(special.i1e(x), sc.i1e(x), rtol=1e-14)
    d0 = diffopt.vmap(diffopt.grad(special.i0e))(x)
    np.testing.assert_allclose(d0, sc.i1e(x) - np.sign(x) * sc.i0e(x), rtol=1e-12)
    check_grads(special.i1e, (x,), order=2)
    assert special.i0 is dnp.i0  # one I0 rule, diffopt.numpy's
    # at 0: i1e / x -> 1/2, so i1e'(0) = i0e(0) - 1/2 = 1/2
    assert diffopt.grad(special.i1e)(0.0) == pytest.approx(0.5)


def test_riemann_zeta_and_multigammaln():
    x = np.array([-3.5, 0.5, 2.0, 7.0])
    np.testing.assert_allclose(special.zeta(x), sc.zeta(x), rtol=1e-14)
    a = _u(2.0, 6.0)
    for d in (1, 2, 3, 5):
        np.testing.assert_allclose(special.multigammaln(a, d), sc.multigammaln(a, d),
                                   rtol=1e-13)
        check_grads(lambda a, d=d: special.multigammaln(a, d), (a,), order=2)
    assert special.multigammaln(2.5, 3) == pytest.approx(sc.multigammaln(2.5, 3))


def test_vmap_equals_loop():
    for name in ("gammainc", "betainc", "xlogy", "log_ndtr", "i1e", "zeta"):
        args, diff = CASES[name]
        fn = getattr(special, name)
        np.testing.assert_allclose(diffopt.vmap(fn)(*args),
                                   np.stack([fn(*row) for row in zip(*args, strict=True)]))
        i = diff[-1]
        g = diffopt.grad(lambda *a, fn=fn, i=i: dnp.sum(fn(*a)), argnums=i)
        np.testing.assert_allclose(diffopt.vmap(g)(*args),
                                   np.stack([g(*row) for row in zip(*args, strict=True)]))


@pytest.mark.parametrize("name, argnums, arg", [
    ("gammainc", 0, "a"), ("gammaincc", 0, "a"), ("betainc", 0, "a"), ("betainc", 1, "b"),
    ("betaincc", 1, "b"), ("stdtr", 0, "df"), ("zeta", 0, "x")])
def test_refused_derivatives_name_the_argument(name, argnums, arg):
    args = tuple(float(a[0, 0]) for a in CASES[name][0])
    fn = getattr(special, name)
    msg = f"{name}: the derivative with respect to {arg} is not implemented"
    for transform in (diffopt.grad, diffopt.jacfwd):
        with pytest.raises(NotImplementedError, match=msg):
            transform(fn, argnums=argnums)(*args)
    if name == "zeta":  # Riemann's zeta too
        with pytest.raises(NotImplementedError, match=msg):
            diffopt.grad(special.zeta)(3.0)


def test_errors():
    with pytest.raises(TypeError, match="out="):
        special.zeta(2.0, 1.0, out=np.empty(()))
    with pytest.raises(ValueError, match="positive integer"):
        special.multigammaln(3.0, 1.5)
    with pytest.raises(ValueError, match="not met"):
        special.multigammaln(1.0, 4)
