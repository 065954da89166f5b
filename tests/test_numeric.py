"""diffopt.numpy's numeric routines (windows, polynomial, calculus): values against NumPy (shapes,
dtypes, modes, axes, complex inputs), derivatives against central differences (check_grads,
order 2, forward and reverse), ``vmap`` against a loop, and NumPy's argument errors.
"""

import warnings

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import grad, jvp, vmap
from diffopt.numerical import check_grads


def randn(*shape, seed=0, complex_=False):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


def same(out, expected, rtol=1e-12, atol=1e-12):
    out = np.asarray(out)
    assert out.shape == np.shape(expected), (out.shape, np.shape(expected))
    assert out.dtype == np.asarray(expected).dtype, (out.dtype, np.asarray(expected).dtype)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


def grads(f, *args):
    check_grads(f, args, modes=("fwd", "rev"), order=2)


X1, X2, X3 = randn(7, seed=1), randn(4, 5, seed=2), randn(3, 4, 5, seed=3)
Z1, Z2 = randn(6, seed=4, complex_=True), randn(4, 5, seed=5, complex_=True)
NAMES = {
    "windows": ["bartlett", "blackman", "hamming", "hanning", "kaiser"],
    "polynomial": ["poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul",
                   "polysub", "polyval", "roots"],
    "calculus": ["gradient", "trapezoid", "interp", "unwrap", "piecewise", "select", "vander",
                 "convolve", "correlate"],
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_exported(module):
    mod = getattr(dnp, module)
    assert sorted(mod.__all__) == sorted(NAMES[module])
    assert all(getattr(dnp, n) is getattr(mod, n) for n in mod.__all__)


# --- windows -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
@pytest.mark.parametrize("m", [-1, 0, 1, 2, 5, 8])
def test_windows_match_numpy(name, m):
    same(getattr(dnp, name)(m), getattr(np, name)(m), rtol=0, atol=0)


@pytest.mark.parametrize("m", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("beta", [0.0, 2.5, 8.6, -3.0])
def test_kaiser_matches_numpy_plain_and_traced(m, beta):
    same(dnp.kaiser(m, beta), np.kaiser(m, beta), rtol=0, atol=0)
    out, _ = jvp(lambda b: dnp.kaiser(m, b), (beta,), (1.0,))
    same(out, np.kaiser(m, beta), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("beta", [0.0, 1.0, 6.0, 14.0])
def test_kaiser_derivatives_in_beta(beta):
    grads(lambda b: dnp.kaiser(6, b), beta)
    grads(lambda b: dnp.kaiser(5, b), beta)


def test_window_length_must_be_concrete():
    with pytest.raises(TypeError, match="concrete integer"):
        grad(lambda m: dnp.hanning(m))(3.0)


# --- polynomial ----------------------------------------------------------------------------------
P3, P5 = np.array([2.0, -1.0, 0.5]), randn(5, seed=9)
PZ = randn(4, seed=10, complex_=True)
PAIRS = [(P3, P5), (P5, P3), (P3, P3), (np.array([3.0]), P5), (PZ, P3), ([1, 2], [3, 4, 5]),
         (2.0, P3)]


@pytest.mark.parametrize("name", ["polyadd", "polysub", "polymul"])
@pytest.mark.parametrize("a1,a2", PAIRS)
def test_polynomial_arithmetic_values(name, a1, a2):
    same(getattr(dnp, name)(a1, a2), getattr(np, name)(a1, a2))


@pytest.mark.parametrize("name", ["polyadd", "polysub", "polymul"])
def test_polynomial_arithmetic_derivatives(name):
    f = getattr(dnp, name)
    grads(lambda a, b: f(a, b) ** 2, P3, P5)
    grads(lambda a, b: f(a, b), PZ, P5)


@pytest.mark.parametrize("u,v", [(P5, P3), (P3, P5), ([1.0, 0.0, -1.0], [1.0, 1.0]), (P5, [2.0]),
                                 (PZ, P3), ([1, 2, 3], [1, 1])])
def test_polydiv_values_and_derivatives(u, v):
    q, r = dnp.polydiv(u, v)
    eq, er = np.polydiv(u, v)
    same(q, eq)
    same(r, er)
    if np.asarray(u).dtype.kind == "f" and len(np.atleast_1d(u)) >= len(np.atleast_1d(v)):
        grads(lambda a, b: dnp.polydiv(a, b)[0], np.asarray(u), np.asarray(v))
        grads(lambda a, b: dnp.polydiv(a, b)[1], np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("m", [0, 1, 2, 5])
@pytest.mark.parametrize("p", [P5, PZ, [1, 2, 3]])
def test_polyder_polyint_values(m, p):
    same(dnp.polyder(p, m), np.polyder(p, m))
    same(dnp.polyint(p, m), np.polyint(p, m))
    if m:
        k = np.arange(1.0, m + 1)
        same(dnp.polyint(p, m, k), np.polyint(p, m, k))
        same(dnp.polyint(p, m, 2.5), np.polyint(p, m, 2.5))


def test_polyder_polyint_derivatives():
    grads(lambda p: dnp.polyder(p, 2) ** 2, P5)
    grads(lambda p, k: dnp.polyint(p, 2, k) ** 2, P5, np.array([0.5, -1.0]))


@pytest.mark.parametrize("p,x", [(P5, X1), (P5, X2), (P3, 0.7), (PZ, X1), (P5, Z1), ([1, 2], 3),
                                 (P3, np.array([1, 2]))])
def test_polyval_values(p, x):
    same(dnp.polyval(p, x), np.polyval(p, x))


def test_polyval_derivatives():
    grads(dnp.polyval, P5, X2)
    grads(dnp.polyval, PZ, Z1)
    grads(dnp.polyval, P3, 0.7)


@pytest.mark.parametrize("z", [np.array([1.0, -2.0, 0.5]), np.array([1 + 1j, 1 - 1j, 3.0]),
                               np.array([1j, 2.0]), np.array([1, 2, 3]), np.zeros(0),
                               np.array([[1.0, 2.0], [3.0, 4.0]])])
def test_poly_values(z):
    same(dnp.poly(z), np.poly(z), rtol=1e-12, atol=1e-12)


def test_poly_derivatives_and_traced_matrix():
    grads(dnp.poly, np.array([1.0, -2.0, 0.5]))
    grads(dnp.poly, np.array([1j, 2.0 - 1j]))
    if not hasattr(dnp.linalg, "eigvals"):
        with pytest.raises(NotImplementedError, match="eigvals"):
            grad(lambda a: dnp.sum(dnp.poly(a)))(np.eye(2))


ROOTS = [np.array([1.0, -3.0, 2.0]), np.array([1.0, 0.0, 1.0]), P5, PZ,
         np.array([0.0, 0.0, 1.0, -1.0, 0.0]), np.array([0.0, 2.0]), np.array([3.0]),
         np.zeros(3), np.array([1, -6, 11, -6])]


@pytest.mark.parametrize("p", ROOTS)
def test_roots_values(p):
    same(dnp.roots(p), np.roots(p))
    out, _ = jvp(dnp.roots, (np.asarray(p, float) if p.dtype.kind != "c" else p,),
                 (np.ones_like(p, dtype=float if p.dtype.kind != "c" else complex),))
    same(out, np.roots(p))


def test_roots_vmap():
    p = np.array([[1.0, -3.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, -1.0]])
    same(vmap(dnp.roots)(np.hstack([np.zeros((3, 1)), p])), np.stack([np.roots(q) for q in p]))
    with pytest.raises(NotImplementedError, match="leading zero"):
        vmap(dnp.roots)(np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 2.0]]))


@pytest.mark.parametrize("p", [np.array([1.0, -3.0, 2.0]), np.array([1.0, 0.0, 1.0]), P5, PZ,
                               np.array([1.0, 2.0, 3.0, 4.0])], ids=range(5))
def test_roots_derivatives(p):
    grads(dnp.roots, p)
    grads(lambda q: dnp.sum(dnp.abs(dnp.roots(q)) ** 2), p)


POLYFIT = [(X1, np.cos(X1), 2, {}), (X1, np.stack([np.sin(X1), X1**3], 1), 3, {}),
           (X1, np.exp(X1), 1, {"w": np.linspace(0.5, 2.0, 7)}),
           (X1, np.sin(X1), 2, {"rcond": 1e-3}), (np.arange(5), np.arange(5) ** 2, 2, {}),
           (X1, np.sin(X1) + 1j * X1, 2, {})]


@pytest.mark.parametrize("x,y,deg,kw", POLYFIT)
def test_polyfit_values(x, y, deg, kw):
    same(dnp.polyfit(x, y, deg, **kw), np.polyfit(x, y, deg, **kw), rtol=1e-9, atol=1e-11)
    if np.iscomplexobj(y):
        return
    out, expected = dnp.polyfit(x, y, deg, full=True, **kw), np.polyfit(x, y, deg, full=True, **kw)
    for o, e in zip(out, expected, strict=True):
        same(np.asarray(o), np.asarray(e), rtol=1e-9, atol=1e-11)
    for cov in (True, "unscaled"):
        out, expected = dnp.polyfit(x, y, deg, cov=cov, **kw), np.polyfit(x, y, deg, cov=cov, **kw)
        same(out[1], expected[1], rtol=1e-8, atol=1e-11)


def test_polyfit_derivatives():
    w = np.linspace(0.5, 2.0, 7)
    grads(lambda y: dnp.polyfit(X1, y, 2), np.cos(X1))
    grads(lambda y: dnp.polyfit(X1, y, 1), np.stack([np.sin(X1), X1], 1))
    grads(lambda x, y, w: dnp.polyfit(x, y, 2, w=w), X1, np.cos(X1), w)
    grads(lambda y: dnp.polyfit(X1, y, 2, cov=True)[1], np.cos(X1))
    grads(lambda y: dnp.polyfit(X1, y, 2, full=True)[1], np.cos(X1))


def test_polyfit_rank_warning():
    with pytest.warns(np.exceptions.RankWarning):
        dnp.polyfit(np.ones(4), np.arange(4.0), 2)


def test_polynomial_errors():
    with pytest.raises(NotImplementedError, match="poly1d"):
        dnp.polyval(np.poly1d([1.0, 2.0]), 1.0)
    with pytest.raises(NotImplementedError, match="poly1d"):
        dnp.polyadd(np.poly1d([1.0]), [1.0])
    with pytest.raises(ValueError, match="positive"):
        dnp.polyder(P3, -1)
    with pytest.raises(ValueError, match="positive"):
        dnp.polyint(P3, -1)
    with pytest.raises(ValueError, match="length 1 or >m"):
        dnp.polyint(P3, 3, [1.0, 2.0])
    with pytest.raises(ValueError, match="rank-1"):
        dnp.roots(np.ones((2, 2)))
    with pytest.raises(ValueError, match="1d or non-empty square"):
        dnp.poly(np.ones((2, 3)))
    for args, err in [((X1, X1, -1), ValueError), ((X2, X2, 1), TypeError),
                      ((X1, X1[:3], 1), TypeError), ((X1, X1, 1, None, False, X1[:2]), TypeError),
                      ((X1[:2], X1[:2], 3, None, False, None, True), ValueError)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(err):
                np.polyfit(*args)
            with pytest.raises(err):
                dnp.polyfit(*args)


# --- gradient ------------------------------------------------------------------------------------
XS = np.cumsum(np.abs(randn(7, seed=11)) + 0.3)
GRADIENT = [((X1,), {}), ((X1, 0.5), {}), ((X1, XS), {"edge_order": 2}), ((X1, XS), {}),
            ((X2,), {}), ((X2, 2.0), {"axis": 1}), ((X3,), {"axis": (0, 2), "edge_order": 2}),
            ((X3, 1.0, np.arange(5.0) ** 2), {"axis": (0, -1)}), ((Z2,), {"edge_order": 2}),
            ((np.arange(6) ** 2,), {}), ((X1.astype(np.float32),), {}),
            ((X1, np.arange(7)), {"edge_order": 2}), ((X2, 1.0, 2.0), {})]


@pytest.mark.parametrize("args,kw", GRADIENT)
def test_gradient_values(args, kw):
    out, expected = dnp.gradient(*args, **kw), np.gradient(*args, **kw)
    if isinstance(expected, tuple):
        assert isinstance(out, tuple) and len(out) == len(expected)
        for o, e in zip(out, expected, strict=True):
            same(o, e)
    else:
        same(out, expected, rtol=1e-6 if expected.dtype == np.float32 else 1e-12)


def test_gradient_derivatives():
    grads(lambda f: dnp.gradient(f, edge_order=2), X1)
    grads(lambda f, x: dnp.gradient(f, x) ** 2, X1, XS)
    grads(lambda f, x: dnp.gradient(f, x, edge_order=2), X1, XS)
    grads(lambda f, d: dnp.gradient(f, d, axis=1), X2, 0.7)
    grads(lambda f: dnp.stack(dnp.gradient(f, edge_order=2)), Z2)


def test_gradient_errors():
    for args, kw, err in [((X1,), {"edge_order": 3}, ValueError), ((X1[:2],), {"edge_order": 2},
                          ValueError), ((X1, XS[:3]), {}, ValueError), ((X2, 1.0, 1.0, 1.0), {},
                          TypeError), ((X1, np.ones((7, 1))), {}, ValueError),
                          ((X2,), {"axis": 2}, np.exceptions.AxisError)]:
        with pytest.raises(err):
            np.gradient(*args, **kw)
        with pytest.raises(err):
            dnp.gradient(*args, **kw)


# --- trapezoid -----------------------------------------------------------------------------------
TRAP = [((X1,), {}), ((X1, XS), {}), ((X1,), {"dx": 0.25}), ((X2,), {"axis": 0}),
        ((X3, np.arange(4.0) ** 2), {"axis": 1}), ((X3, np.cumsum(np.abs(X3), axis=2)), {}),
        ((Z2,), {"dx": 0.5}), ((np.arange(5),), {})]


@pytest.mark.parametrize("args,kw", TRAP)
def test_trapezoid_values(args, kw):
    same(dnp.trapezoid(*args, **kw), np.trapezoid(*args, **kw))


def test_trapezoid_derivatives():
    grads(lambda y, x: dnp.trapezoid(y * y, x), X1, XS)
    grads(lambda y, d: dnp.trapezoid(y, dx=d, axis=0) ** 2, X2, 0.3)
    grads(lambda y, x: dnp.trapezoid(y, x, axis=2), X3, np.cumsum(np.abs(X3), axis=2))
    with pytest.raises(np.exceptions.AxisError):
        dnp.trapezoid(X2, axis=2)


# --- interp --------------------------------------------------------------------------------------
XP = np.array([-1.0, 0.0, 0.5, 2.0, 3.0])
FP = np.array([1.0, -1.0, 2.0, 0.5, 1.5])
XQ = np.array([-2.0, -1.0, -0.3, 0.0, 0.25, 1.0, 2.0, 2.9, 3.0, 4.0])
INTERP = [(XQ, XP, FP, {}), (XQ.reshape(2, 5), XP, FP, {}), (0.3, XP, FP, {}),
          (XQ, XP, FP, {"left": -7.0, "right": 9.0}), (XQ, XP, FP + 1j * XP, {}),
          (XQ, XP, FP + 1j * XP, {"left": 1j}), (XQ, [1.0], [2.0], {}),
          (XQ * 3, XP, FP, {"period": 2.5}), (XQ, XP[::-1] * 2, FP, {"period": -4.0}),
          ([1, 2], [0, 3], [0, 6], {}), (XQ, XP, [0.0, np.inf, 1.0, -np.inf, 2.0], {}),
          (XQ, XP, [np.inf, np.inf, 1.0, 1.0, 2.0], {}),
          (XQ, XP, np.array([0.0, np.inf, 1.0, 1.0, 2.0]) * (1 + 1j), {}),
          (XQ.astype(np.float32), XP, FP.astype(np.float32), {})]


@pytest.mark.parametrize("x,xp,fp,kw", INTERP)
def test_interp_values(x, xp, fp, kw):
    same(dnp.interp(x, xp, fp, **kw), np.interp(x, xp, fp, **kw), rtol=1e-14, atol=1e-14)


def test_interp_derivatives():
    xq = np.array([-2.0, -0.3, 0.25, 1.0, 2.9, 4.0])  # away from the sample points
    grads(lambda x, f: dnp.interp(x, XP, f), xq, FP)
    grads(lambda x, xp, f: dnp.interp(x, xp, f) ** 2, xq, XP, FP)
    grads(lambda x, f: dnp.interp(x, XP, f), xq, FP + 1j * XP)
    grads(lambda x, lo, hi: dnp.interp(x, XP, FP, lo, hi), xq, 0.5, -0.5)
    grads(lambda x, f: dnp.interp(x, XP, f, period=3.7), xq * 2 + 0.1, FP)
    # at a sample point: the slope of the interval to its right (0 at the right end)
    assert grad(lambda x: dnp.interp(x, XP, FP))(0.0) == pytest.approx(6.0)
    assert grad(lambda x: dnp.interp(x, XP, FP))(3.0) == 0.0


def test_interp_errors():
    for args, kw in [((XQ, XP, FP[:3]), {}), ((XQ, [], []), {}), ((XQ, XP, FP), {"period": 0}),
                     ((XQ, np.ones((2, 2)), np.ones((2, 2))), {})]:
        with pytest.raises(ValueError):
            np.interp(*args, **kw)
        with pytest.raises(ValueError):
            dnp.interp(*args, **kw)


# --- unwrap --------------------------------------------------------------------------------------
PHASE = np.cumsum(randn(12, seed=12) * 2.5)
UNWRAP = [(PHASE, {}), (PHASE, {"discont": 4.0}), (PHASE.reshape(3, 4), {"axis": 0}),
          (PHASE.reshape(3, 4), {}), (PHASE, {"period": 5.0}),
          (np.array([0, 1, 2, 1, 0, 5, 6, 7]), {"period": 6}),
          (np.array([0, 1, 2, 1, 0, 5, 6, 7]), {"period": 5}),
          (np.array([0, 4, 8, 12]), {}), (PHASE.astype(np.float32), {})]


@pytest.mark.parametrize("p,kw", UNWRAP)
def test_unwrap_values(p, kw):
    same(dnp.unwrap(p, **kw), np.unwrap(p, **kw), rtol=0, atol=0)


def test_unwrap_derivatives_and_vmap():
    p = PHASE.reshape(3, 4)
    grads(lambda p: dnp.unwrap(p, axis=0) ** 2, p)
    grads(lambda p: dnp.unwrap(p, period=5.0), PHASE)
    grads(lambda p, t: dnp.unwrap(p, period=t), PHASE, 5.0)
    same(grad(lambda t: dnp.unwrap(PHASE, period=t)[-1])(5.0),
         np.rint((np.unwrap(PHASE, period=5.0) - PHASE)[-1] / 5.0))
    same(vmap(dnp.unwrap)(p), np.unwrap(p, axis=1))
    with pytest.raises(np.exceptions.AxisError):
        dnp.unwrap(PHASE, axis=1)


# --- piecewise, select ---------------------------------------------------------------------------
def _pieces(x):
    return [x < -0.5, (x >= -0.5) & (x < 0.5)], [lambda v: v**2, lambda v: -v, lambda v: 3.0]


@pytest.mark.parametrize("x", [X1, X2, np.array(0.2), np.arange(-3, 4)])
def test_piecewise_values(x):
    conds, funcs = _pieces(x)
    same(dnp.piecewise(x, conds, funcs), np.piecewise(x, conds, funcs))
    same(dnp.piecewise(x, conds, funcs[:2]), np.piecewise(x, conds, funcs[:2]))
    same(dnp.piecewise(x, [x > 0], [lambda v, a: v * a, 0.5], 4.0),
         np.piecewise(x, [x > 0], [lambda v, a: v * a, 0.5], 4.0))
    if x.ndim == 1:  # a single condition array, unwrapped
        same(dnp.piecewise(x, x > 0, [np.sin]), np.piecewise(x, x > 0, [np.sin]))


def test_piecewise_derivatives_and_errors():
    def f(x):
        conds, funcs = _pieces(x)
        return dnp.piecewise(x, conds, funcs)

    grads(f, X2)
    grads(lambda x: dnp.piecewise(x, [x < 0], [lambda v: dnp.sin(v) * v, dnp.exp]), 0.4)
    with pytest.raises(ValueError, match="with 2 condition"):
        dnp.piecewise(X1, [X1 < 0, X1 > 1], [1.0])


def test_piecewise_select_vmap():
    def f(x):
        conds, funcs = _pieces(x)
        return dnp.piecewise(x, conds, funcs)

    same(vmap(f)(X2), np.stack([np.piecewise(x, *_pieces(x)) for x in X2]))
    g = lambda x: dnp.select([x > 0, x < -1], [x**2, 5.0], -1.0)  # noqa: E731
    same(vmap(g)(X2), np.stack([np.select([x > 0, x < -1], [x**2, 5.0], -1.0) for x in X2]))
    check_grads(vmap(g), (X2,), order=2)


@pytest.mark.parametrize("default", [0, -5.0, np.arange(7.0)])
def test_select_values(default):
    conds = [X1 < -0.5, X1 > 0.5, X1 > 0]
    choices = [X1**2, 2.0, np.arange(7)]
    same(dnp.select(conds, choices, default), np.select(conds, choices, default))
    same(dnp.select(conds[:2], [np.arange(7), 3], default),
         np.select(conds[:2], [np.arange(7), 3], default))
    same(dnp.select([X2 > 0], [Z2]), np.select([X2 > 0], [Z2]))
    same(dnp.select([X2 > 0, [True] * 5], [X1[:5], 1.0]), np.select([X2 > 0, [True] * 5],
                                                                     [X1[:5], 1.0]))


def test_select_derivatives_and_errors():
    conds = [X1 < -0.5, X1 > 0.5]
    grads(lambda a, b, d: dnp.select(conds, [a, b], d) ** 2, X1, 0.3, X1[::-1])
    grads(lambda z: dnp.select([X2 > 0], [z], 1j), Z2)
    grads(lambda x: dnp.select([x > 0], [dnp.sin(x)], dnp.cos(x)), X1)
    for args, err in [(([X1 > 0], [X1, X1]), ValueError), (([], []), ValueError),
                      (([X1], [X1]), TypeError)]:
        with pytest.raises(err):
            np.select(*args)
        with pytest.raises(err):
            dnp.select(*args)


# --- vander --------------------------------------------------------------------------------------
@pytest.mark.parametrize("x", [X1, Z1, np.arange(4), np.array([True, False]),
                               X1.astype(np.float32), np.zeros(0)])
@pytest.mark.parametrize("n", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_values(x, n, increasing):
    same(dnp.vander(x, n, increasing), np.vander(x, n, increasing), rtol=1e-6, atol=0)


def test_vander_derivatives_and_errors():
    grads(lambda x: dnp.vander(x, 5), np.array([0.0, 0.5, -1.2, 2.0]))
    grads(lambda x: dnp.vander(x, increasing=True), Z1)
    with pytest.raises(ValueError, match="one-dimensional"):
        dnp.vander(X2)


# --- convolve, correlate -------------------------------------------------------------------------
CONV = [(X1, P3), (P3, X1), (X1, X1), (Z1, P5), (P5, Z1), (Z1, Z2[0]), (np.arange(5), [1, 2]),
        (2.0, X1), (X1, np.array([0.5])), (P5[:4], P5[:2])]


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("a,v", CONV)
def test_convolve_correlate_values(name, mode, a, v):
    if name == "correlate" and np.ndim(a) == 0:
        with pytest.raises(ValueError, match="too small depth"):
            np.correlate(a, v, mode)
        with pytest.raises(ValueError, match="too small depth"):
            dnp.correlate(a, v, mode)
        return
    same(getattr(dnp, name)(a, v, mode), getattr(np, name)(a, v, mode))


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate_derivatives(name, mode):
    f = getattr(dnp, name)
    grads(lambda a, v: f(a, v, mode) ** 2, X1, P3)
    grads(lambda a, v: f(a, v, mode), P3, X1)
    grads(lambda a, v: f(a, v, mode), Z1, Z2[1])
    grads(lambda a, v: f(a, v, mode), X1, Z2[0, :3])


def test_convolve_correlate_vmap_and_errors():
    a = randn(3, 7, seed=13)
    same(vmap(lambda r: dnp.convolve(r, P3, "same"))(a),
         np.stack([np.convolve(r, P3, "same") for r in a]))
    for fn in ("convolve", "correlate"):
        for args, err in [(([], X1), ValueError), ((X1, []), ValueError),
                          ((X1, X1, "middle"), ValueError)]:
            with pytest.raises(err):
                getattr(np, fn)(*args)
            with pytest.raises(err):
                getattr(dnp, fn)(*args)
