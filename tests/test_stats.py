"""diffopt.scipy.stats: values against scipy.stats (tails, edges of the support, invalid
parameters), derivatives of order 2 in the values and the parameters in both modes, broadcasting,
freezing, and the refusals."""

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.scipy import stats

RNG = np.random.default_rng(2)

CONTINUOUS_METHODS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
DISCRETE_METHODS = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]

# name: (values across the domain, tails and outside the support, shape parameters (a column
# each, broadcasting against the row of values), interior values for derivatives)
CONTINUOUS = {
    "norm": (np.array([-np.inf, -1e3, -40.0, -8.0, -1.0, 0.0, 0.3, 2.0, 9.0, 40.0, np.inf]),
             (), np.array([-1.3, 0.2, 2.5])),
    "t": (np.array([-1e6, -40.0, -3.0, -0.5, 0.0, 0.7, 4.0, 1e4]),
          (np.array([[0.7], [3.0], [30.0], [np.inf]]),), np.array([-1.3, 0.2, 2.5])),
    "gamma": (np.array([-1.0, 0.0, 1e-8, 0.01, 0.7, 3.0, 25.0, 400.0]),
              (np.array([[0.5], [1.0], [3.5], [60.0]]),), np.array([0.4, 1.1, 3.0])),
    "beta": (np.array([-0.5, 0.0, 1e-9, 0.01, 0.5, 0.93, 1 - 1e-9, 1.0, 1.5]),
             (np.array([[0.5], [2.0], [1.0]]), np.array([[2.0], [0.4], [1.0]])),
             np.array([0.15, 0.5, 0.8])),
}
INTERIOR_SHAPES = {
    "norm": (), "t": (np.array([1.5, 4.0, 9.0]),), "gamma": (np.array([0.8, 2.0, 4.5]),),
    "beta": (np.array([0.7, 2.0, 3.0]), np.array([1.5, 0.9, 4.0])),
}


def _compare(out, ref, rtol=1e-12):
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=0)
    assert np.shape(out) == np.shape(ref)


@pytest.mark.parametrize("method", CONTINUOUS_METHODS)
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_values(name, method):
    x, shapes, _ = CONTINUOUS[name]
    ours, ref = getattr(getattr(stats, name), method), getattr(getattr(st, name), method)
    with np.errstate(all="ignore"):
        _compare(ours(x, *shapes), ref(x, *shapes))
        _compare(ours(x, *shapes, loc=0.5, scale=2.0), ref(x, *shapes, loc=0.5, scale=2.0))
        _compare(ours(x, *shapes, 0.5, 2.0), ref(x, *shapes, 0.5, 2.0))  # loc, scale by position
        scalar = ours(0.3, *(s[0, 0] for s in shapes))
        assert np.isscalar(scalar) and scalar == pytest.approx(ref(0.3, *(s[0, 0] for s in shapes)),
                                                               rel=1e-13)


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_invalid_parameters_and_nan_give_nan(name):
    x, shapes, _ = CONTINUOUS[name]
    dist = getattr(stats, name)
    for method in CONTINUOUS_METHODS:
        fn = getattr(dist, method)
        assert np.all(np.isnan(fn(x, *shapes, scale=-1.0)))
        assert np.isnan(fn(np.nan, *(s[0, 0] for s in shapes)))
        if shapes:
            bad = (-1.0,) + tuple(s[0, 0] for s in shapes[1:])
            ref = getattr(getattr(st, name), method)(x, *bad)
            _compare(fn(x, *bad), ref)
            assert np.all(np.isnan(ref))


def test_far_tails():
    assert stats.norm.logcdf(-40.0) == pytest.approx(st.norm.logcdf(-40.0), rel=1e-14)
    assert stats.norm.logsf(40.0) == pytest.approx(-804.6084420137538, rel=1e-14)
    g = diffopt.grad(stats.norm.logcdf)(-1e3)
    assert g == pytest.approx(1e3 + 1e-3 - 2e-9, rel=1e-14)  # Mills' ratio
    g2 = diffopt.grad(diffopt.grad(stats.norm.logsf))(40.0)
    assert g2 == pytest.approx(-1 + 1 / 40.0**2, rel=1e-3)
    assert stats.t.logcdf(-1e6, 3.0) == pytest.approx(st.t.logcdf(-1e6, 3.0), rel=1e-13)
    assert stats.gamma.logsf(400.0, 3.5) == pytest.approx(st.gamma.logsf(400.0, 3.5), rel=1e-13)


def _in_param(dist, method, shapes, i):
    """``method`` as a function of parameter ``i`` of (x, *shapes, loc, scale)."""
    def f(v, x, shapes=shapes):
        args = [x, *shapes, 0.3, 1.7]
        args[i] = v
        return getattr(dist, method)(args[0], *args[1:-2], loc=args[-2], scale=args[-1])
    return f


@pytest.mark.parametrize("method", CONTINUOUS_METHODS)
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_grads(name, method):
    _, _, x = CONTINUOUS[name]
    shapes = INTERIOR_SHAPES[name]
    dist = getattr(stats, name)
    x = 0.3 + 1.7 * x  # inside the support after loc = 0.3, scale = 1.7
    cumulative = method not in ("logpdf", "pdf")
    params = [x, *shapes, np.full(3, 0.3), np.full(3, 1.7)]
    for i in range(len(params)):
        f = _in_param(dist, method, shapes, i)
        if cumulative and 1 <= i <= len(shapes):
            continue  # the shape derivative of a cdf: refused (test_refused_shape_derivatives)
        check_grads(lambda v, f=f: f(v, x), (params[i],), order=2)
        check_grads(lambda v, f=f: f(v, float(x[1])), (float(params[i][1]),), order=2)
    # all parameters at once, broadcasting a column of x against the row of parameters
    if not cumulative:
        check_grads(lambda xx, *p: getattr(dist, method)(xx, *p[:-2], loc=p[-2], scale=p[-1]),
                    (x[:, None], *params[1:]), order=2)


@pytest.mark.parametrize("name, method, arg, prim", [
    ("gamma", "cdf", "a", "gammainc"), ("gamma", "logsf", "a", "gammaincc?"),
    ("beta", "cdf", "a", "betainc"), ("beta", "sf", "a", "betaincc"), ("t", "cdf", "df", "stdtr")])
def test_refused_shape_derivatives(name, method, arg, prim):
    dist = getattr(stats, name)
    shapes = [float(s[0]) for s in INTERIOR_SHAPES[name]]
    x = 0.5
    f = lambda s0: getattr(dist, method)(x, s0, *shapes[1:])
    for transform in (diffopt.grad, diffopt.jacfwd):
        with pytest.raises(NotImplementedError, match=f"{prim}: the derivative with respect to "):
            transform(f)(shapes[0])
    # with the shape held constant the cdf is differentiable in x
    check_grads(lambda x: getattr(dist, method)(x, *shapes), (x,), order=2)


def test_worked_derivatives():
    # d/dscale log N(x; loc, scale) = ((x - loc)^2 / scale^2 - 1) / scale
    g = diffopt.grad(lambda s: stats.norm.logpdf(2.0, loc=0.5, scale=s))(1.5)
    assert g == pytest.approx((1.5**2 / 1.5**2 - 1) / 1.5)
    assert diffopt.grad(stats.norm.cdf)(0.0) == pytest.approx(1 / np.sqrt(2 * np.pi))
    # d/da log Gamma(x; a) = log(x) - digamma(a)
    g = diffopt.grad(lambda a: stats.gamma.logpdf(2.0, a))(3.0)
    assert g == pytest.approx(np.log(2.0) - sc.digamma(3.0))
    # d/dp log Bernoulli(1; p) = 1/p, d/dmu log Poisson(k; mu) = k/mu - 1
    assert diffopt.grad(lambda p: stats.bernoulli.logpmf(1, p))(0.25) == pytest.approx(4.0)
    assert diffopt.grad(lambda m: stats.poisson.logpmf(3, m))(2.0) == pytest.approx(0.5)


# --- discrete ------------------------------------------------------------------------------------
DISCRETE = {
    "poisson": (np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 10.0, 60.0]),
                (np.array([[0.0], [0.5], [3.0], [20.0], [-1.0]]),)),
    "bernoulli": (np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0]),
                  (np.array([[0.0], [0.3], [1.0], [1.2], [-0.1]]),)),
}


@pytest.mark.parametrize("method", DISCRETE_METHODS)
@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_values(name, method):
    k, shapes = DISCRETE[name]
    ours, ref = getattr(getattr(stats, name), method), getattr(getattr(st, name), method)
    with np.errstate(all="ignore"):
        for loc in ({}, {"loc": 1}):
            # SciPy's logcdf gives 0 above the support even for an invalid parameter (where its
            # cdf gives nan); diffopt gives nan for both
            # near 0, log P is log1p(-(1 - P)) here (as SciPy's continuous families do) and
            # log(P) in SciPy's discrete ones, which resolves it only to about 1e-16
            invalid = np.isnan(getattr(st, name).cdf(k, *shapes, **loc))
            np.testing.assert_allclose(ours(k, *shapes, **loc),
                                       np.where(invalid, np.nan, ref(k, *shapes, **loc)),
                                       rtol=1e-12, atol=1e-15 if method.startswith("log") else 0)
        _compare(ours(k, *shapes, 1), ours(k, *shapes, loc=1))
    assert np.isnan(ours(np.nan, 0.5))


@pytest.mark.parametrize("method", DISCRETE_METHODS)
@pytest.mark.parametrize("name, k, p", [
    ("poisson", np.array([0.0, 1.0, 4.0, 7.0]), np.array([0.4, 1.5, 3.0, 9.0])),
    ("bernoulli", np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.2, 0.4, 0.7, 0.9]))])
def test_discrete_grads_in_the_parameter(name, method, k, p):
    dist = getattr(stats, name)
    if method == "logsf":  # log P(X > k) is -inf (a constant) at the top of the support
        k = np.where(k == k.max(), 0.0, k)
    check_grads(lambda p: getattr(dist, method)(k, p), (p,), order=2)
    check_grads(lambda p: getattr(dist, method)(k[1], p), (float(p[1]),), order=2)
    check_grads(lambda p: getattr(dist, method)(k[:, None], p), (p,), order=2)  # broadcast


def test_poisson_log_likelihood_gradient_is_the_score():
    k = np.array([0, 2, 5, 1, 3])
    mu = 2.3
    g = diffopt.grad(lambda m: dnp.sum(stats.poisson.logpmf(k, m)))(mu)
    assert g == pytest.approx(k.sum() / mu - len(k))
    h = diffopt.grad(diffopt.grad(lambda m: dnp.sum(stats.poisson.logpmf(k, m))))(mu)
    assert h == pytest.approx(-k.sum() / mu**2)


# --- multivariate normal -------------------------------------------------------------------------
A = RNG.normal(size=(3, 3))
COV = A @ A.T + np.eye(3)
MEAN = RNG.normal(size=3)
XS = RNG.normal(size=(4, 3))


@pytest.mark.parametrize("cov", [COV, np.array([0.5, 2.0, 1.5]), 2.5],
                         ids=["full", "diag", "scalar"])
def test_multivariate_normal_values(cov):
    for method in ("logpdf", "pdf"):
        ours = getattr(stats.multivariate_normal, method)
        ref = getattr(st.multivariate_normal, method)
        _compare(ours(XS, MEAN, cov), ref(XS, MEAN, cov))
        _compare(ours(XS[0], mean=MEAN, cov=cov), ref(XS[0], mean=MEAN, cov=cov))
        _compare(ours(XS.reshape(2, 2, 3), MEAN, cov), ref(XS.reshape(2, 2, 3), MEAN, cov))
        frozen = stats.multivariate_normal(MEAN, cov)
        _compare(getattr(frozen, method)(XS), ref(XS, MEAN, cov))


def test_multivariate_normal_one_dimensional_and_defaults():
    x = np.array([-1.0, 0.2, 3.0])
    ours, ref = stats.multivariate_normal.logpdf, st.multivariate_normal.logpdf
    _compare(ours(x), ref(x))  # three points in one dimension
    _compare(ours(x, 1.0, 2.0), ref(x, 1.0, 2.0))
    _compare(ours(0.5), ref(0.5))
    _compare(ours(x, cov=COV), ref(x, cov=COV))  # one point in three dimensions


def test_multivariate_normal_grads():
    sym = lambda s: (s + dnp.transpose(s)) / 2  # cov as a symmetric function of a free matrix
    f = lambda x, m, s: stats.multivariate_normal.logpdf(x, m, sym(s))
    check_grads(f, (XS, MEAN, COV), order=2)
    check_grads(f, (XS[0], MEAN, COV), order=2)
    check_grads(lambda d: stats.multivariate_normal.logpdf(XS, MEAN, d),
                (np.array([0.5, 2.0, 1.5]),), order=2)
    # d/dx log N(x; m, C) = -C^{-1} (x - m)
    g = diffopt.grad(lambda x: stats.multivariate_normal.logpdf(x, MEAN, COV))(XS[0])
    np.testing.assert_allclose(g, -np.linalg.solve(COV, XS[0] - MEAN), rtol=1e-12)


def test_multivariate_normal_errors():
    mvn = stats.multivariate_normal
    with pytest.raises(NotImplementedError, match="allow_singular"):
        mvn.logpdf(XS, MEAN, COV, allow_singular=True)
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        mvn.logpdf(XS, MEAN, np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="positive semidefinite"):
        mvn.logpdf(XS, MEAN, np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="dimension 3"):
        mvn.logpdf(np.ones((4, 2)), MEAN, COV)
    with pytest.raises(ValueError, match="shape"):
        mvn.logpdf(XS, MEAN, np.eye(2))
    with pytest.raises(NotImplementedError, match="multivariate_normal.cdf"):
        mvn.cdf(XS, MEAN, COV)


# --- freezing, arguments, dtype, vmap ------------------------------------------------------------
def test_frozen_equals_unfrozen():
    x = np.linspace(0.1, 3.0, 5)
    _compare(stats.norm(1.0, 2.0).logpdf(x), st.norm(1.0, 2.0).logpdf(x))
    _compare(stats.gamma(2.0, scale=3.0).cdf(x), st.gamma(2.0, scale=3.0).cdf(x))
    _compare(stats.poisson(2.0).logpmf(np.arange(4)), st.poisson(2.0).logpmf(np.arange(4)))
    g = diffopt.grad(lambda s: stats.norm(0.0, s).logpdf(1.0))(2.0)
    assert g == pytest.approx((1 / 4 - 1) / 2)


def test_frozen_copies_and_pickles():
    import copy
    import pickle

    frozen = stats.norm(1.0, 2.0)
    for clone in (copy.deepcopy(frozen), pickle.loads(pickle.dumps(frozen))):
        assert clone.logpdf(0.5) == frozen.logpdf(0.5)


def test_argument_errors():
    with pytest.raises(TypeError, match="missing required argument 'a'"):
        stats.gamma.logpdf(1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'mean'"):
        stats.norm.logpdf(1.0, mean=2.0)
    with pytest.raises(TypeError, match="multiple values for argument 'loc'"):
        stats.norm.logpdf(1.0, 0.0, loc=1.0)
    with pytest.raises(TypeError, match="at most"):
        stats.bernoulli.logpmf(1, 0.5, 0, 1)
    with pytest.raises(NotImplementedError, match="norm.rvs"):
        stats.norm.rvs(size=3)
    with pytest.raises(AttributeError):
        stats.norm.no_such_method  # noqa: B018


def test_float32_and_lists_compute_in_double():
    x = np.array([0.1, 0.5], dtype=np.float32)
    for name, shapes in (("norm", ()), ("beta", (2.0, 3.0))):
        out = getattr(stats, name).logpdf(x, *shapes)
        assert out.dtype == getattr(st, name).logpdf(x, *shapes).dtype == np.float64
    _compare(stats.norm.cdf([0.0, 1.0]), st.norm.cdf([0.0, 1.0]))


def test_norm_ppf():
    q = np.array([1e-300, 0.025, 0.5, 0.975])
    _compare(stats.norm.ppf(q, 1.0, 2.0), st.norm.ppf(q, 1.0, 2.0))
    check_grads(lambda q, m, s: stats.norm.ppf(q, m, s), (q[1:], 1.0, 2.0), order=2)


def test_vmap_over_parameters_equals_loop():
    mus = np.array([0.5, 1.5, 4.0])
    k = np.arange(5.0)
    f = lambda m: stats.poisson.logcdf(k, m)
    np.testing.assert_allclose(diffopt.vmap(f)(mus), np.stack([f(m) for m in mus]))
    g = diffopt.grad(lambda s: dnp.sum(stats.t.logpdf(k, 3.0, scale=s)))
    np.testing.assert_allclose(diffopt.vmap(g)(mus), [g(m) for m in mus])
