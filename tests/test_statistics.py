"""diffopt.numpy.statistics: values (and dtypes, shapes, warnings, errors) against NumPy, and
derivatives against central differences (check_grads, forward and reverse, order 2); std's zero
derivative where the variance is 0; vmap against a Python loop.
"""

import warnings

import numpy as np
import pytest
from numpy.exceptions import AxisError

import diffopt
import diffopt.numpy as dnp
from diffopt import grad, jvp, vmap
from diffopt.numerical import check_grads

METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation",
           "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
           "normal_unbiased", "lower", "higher", "midpoint", "nearest"]
INTERPOLATING = ["interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
                 "normal_unbiased"]
R = np.random.default_rng(0)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def with_nans(x, frac=0.3, seed=1):
    x = np.array(x, dtype=float)
    x[np.random.default_rng(seed).random(x.shape) < frac] = np.nan
    return x


def same(out, expected, rtol=1e-6, atol=1e-7):
    assert np.shape(out) == np.shape(expected)
    assert np.asarray(out).dtype == np.asarray(expected).dtype, (np.asarray(out).dtype,
                                                                 np.asarray(expected).dtype)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol, equal_nan=True)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kw)


def test_names_are_exported():
    from diffopt.numpy import statistics

    assert set(statistics.__all__) <= set(dnp.__all__)
    assert all(getattr(dnp, name) is getattr(statistics, name) for name in statistics.__all__)


# --- quantile, percentile, median (and the nan* forms): values -------------------------------
SHAPES_AXES = [((7,), None), ((6,), 0), ((1,), None), ((4, 5), 1), ((4, 5), 0), ((4, 5), -1),
               ((3, 4, 5), (0, 2)), ((3, 4, 5), None), ((2, 3, 4), (2, 1))]
QS = [0.3, 0.5, 0.0, 1.0, 0, 1, np.array([0.1, 0.25, 0.5, 0.75, 0.99]), np.array([0, 1]),
      np.linspace(0, 1, 7).reshape(7, 1), np.float32(0.4), np.array([0.2, 0.7], np.float32)]
DATA_KINDS = {"f8": lambda s: randn(*s, seed=3), "i8": lambda s: R.integers(0, 9, s),
              "f4": lambda s: randn(*s, seed=4).astype(np.float32)}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
@pytest.mark.parametrize("kind", list(DATA_KINDS))
def test_quantile_family_matches_numpy(method, shape, axis, kind):
    a = DATA_KINDS[kind](shape)
    for q in QS:
        for keepdims in (False, True):
            for name, scale in (("quantile", 1), ("percentile", 100), ("nanquantile", 1),
                                ("nanpercentile", 100)):
                if name.startswith("nan") and isinstance(axis, tuple) and np.ndim(q) > 1:
                    continue  # NumPy's nan* misplace the axes of a 2-D q with a tuple axis
                qq = q * scale
                expected = getattr(np, name)(a, qq, axis=axis, method=method, keepdims=keepdims)
                out = getattr(dnp, name)(a, qq, axis=axis, method=method, keepdims=keepdims)
                same(out, expected)
                assert type(out) is type(expected)


@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_median_matches_numpy(shape, axis):
    for a in (randn(*shape, seed=5), R.integers(0, 9, shape), randn(*shape).astype(np.float32)):
        for keepdims in (False, True):
            same(dnp.median(a, axis=axis, keepdims=keepdims),
                 np.median(a, axis=axis, keepdims=keepdims))
            same(dnp.nanmedian(a, axis=axis, keepdims=keepdims),
                 np.nanmedian(a, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape,axis", [((9,), None), ((4, 6), 1), ((5, 4), 0),
                                        ((3, 4, 5), (0, 2))])
def test_nan_order_statistics_match_numpy(method, shape, axis):
    a = with_nans(randn(*shape, seed=6), seed=7)
    for x in (a, a.astype(np.float32)):
        for q in (0.3, np.array([0.1, 0.5, 0.9])):
            same(quiet(dnp.nanquantile, x, q, axis=axis, method=method),
                 quiet(np.nanquantile, x, q, axis=axis, method=method))
            same(dnp.quantile(x, q, axis=axis, method=method),  # NaN poisons its slice
                 np.quantile(x, q, axis=axis, method=method))
    same(quiet(dnp.nanmedian, a, axis=axis), quiet(np.nanmedian, a, axis=axis))
    same(dnp.median(a, axis=axis), np.median(a, axis=axis))


def test_all_nan_slices_warn_and_give_nan():
    a = np.array([[np.nan, np.nan], [1.0, 2.0]])
    for fn in ("nanmedian", "nanquantile", "nanpercentile"):
        args = () if fn == "nanmedian" else (50 if fn == "nanpercentile" else 0.5,)
        with pytest.warns(RuntimeWarning, match="All-NaN slice encountered"):
            out = getattr(dnp, fn)(a, *args, axis=1)
        same(out, quiet(getattr(np, fn), a, *args, axis=1))


def test_lists_as_input():
    same(dnp.quantile([3, 1, 2], [0.5, 0.25]), np.quantile([3, 1, 2], [0.5, 0.25]))
    same(dnp.percentile([[1.0, 5.0], [2.0, 4.0]], 40, axis=0),
         np.percentile([[1.0, 5.0], [2.0, 4.0]], 40, axis=0))


def test_order_statistic_errors():
    x = randn(3, 4)
    with pytest.raises(ValueError, match="Quantiles must be in the range"):
        dnp.quantile(x, 1.5)
    with pytest.raises(ValueError, match="Quantiles must be in the range"):
        dnp.nanquantile(x, [-0.1, 0.5])
    with pytest.raises(ValueError, match="Percentiles must be in the range"):
        dnp.percentile(x, 101)
    with pytest.raises(ValueError, match="is not a valid method"):
        dnp.quantile(x, 0.5, method="foo")
    with pytest.raises(TypeError, match="real numbers"):
        dnp.median(x + 1j)
    with pytest.raises(AxisError):
        dnp.quantile(x, 0.5, axis=2)
    with pytest.raises(AxisError):
        dnp.nanmedian(x, axis=(0, -3))
    with pytest.raises(ValueError, match="duplicate"):
        dnp.median(x, axis=(0, 0))
    for fn in (dnp.quantile, dnp.percentile, dnp.nanquantile, dnp.nanpercentile):
        with pytest.raises(TypeError, match="out="):
            fn(x, 0.5, out=np.empty(()))
        with pytest.raises(ValueError, match="Only method 'inverted_cdf' supports weights"):
            fn(x, 0.5, weights=np.ones_like(x))
        with pytest.raises(ValueError, match="Weights must be non-negative"):
            fn(x, 0.5, weights=-np.ones_like(x), method="inverted_cdf")
        with pytest.raises(ValueError, match="all zero"):
            fn(x, 0.5, weights=np.zeros_like(x), method="inverted_cdf")
        with pytest.raises(TypeError, match="Axis must be specified"):
            fn(x, 0.5, weights=np.ones(4), method="inverted_cdf")
        with pytest.raises(ValueError, match="Shape of weights"):
            fn(x, 0.5, axis=0, weights=np.ones(4), method="inverted_cdf")
    with pytest.raises(TypeError, match="out="):
        dnp.median(x, out=np.empty(()))


WEIGHT_CASES = [((7,), None, (7,)), ((7,), 0, (7,)), ((4, 5), 1, (5,)), ((4, 5), 0, (4,)),
                ((4, 5), 1, (4, 5)), ((3, 4, 5), (0, 2), (3, 5)), ((3, 4, 5), (2, 0), (5, 3)),
                ((3, 4, 5), None, (3, 4, 5))]


@pytest.mark.parametrize("shape,axis,wshape", WEIGHT_CASES)
def test_weighted_inverted_cdf_matches_numpy(shape, axis, wshape):
    r = np.random.default_rng(42)
    nan_data = np.where(r.random(shape) < 0.3, np.nan, r.standard_normal(shape))
    for a in (r.standard_normal(shape), r.integers(0, 5, shape), nan_data,
              r.standard_normal(shape).astype(np.float32)):
        for w in (r.random(wshape), r.integers(0, 3, wshape) + (r.random(wshape) < 0.1)):
            # NumPy's nan* forms fail (IndexError) on weights along the axis: compare those
            # with the same weights broadcast to the data's shape
            full = w if w.shape == shape else _spread(w, shape, axis)
            for q in (0.3, 0.0, 1.0, np.array([0.1, 0.5, 0.99]), 0, np.float32(0.4)):
                for keepdims in (False, True):
                    for name, scale in (("quantile", 1), ("percentile", 100),
                                        ("nanquantile", 1), ("nanpercentile", 100)):
                        kw = dict(axis=axis, method="inverted_cdf", keepdims=keepdims)
                        ref_w = full if name.startswith("nan") else w
                        expected = quiet(getattr(np, name), a, q * scale, weights=ref_w, **kw)
                        out = quiet(getattr(dnp, name), a, q * scale, weights=w, **kw)
                        same(out, expected)


def _spread(w, shape, axis):
    """Weights along ``axis`` broadcast to ``shape`` (NumPy's _weights_are_valid)."""
    axes = [x % len(shape) for x in ((axis,) if isinstance(axis, int) else axis)]
    w = np.transpose(w, np.argsort(axes))
    return np.broadcast_to(w.reshape([s if i in axes else 1 for i, s in enumerate(shape)]), shape)


def test_weighted_quantile_derivatives():
    x, w = randn(3, 8, seed=43), np.abs(randn(8, seed=44)) + 0.1
    check_grads(lambda v: dnp.quantile(v, [0.2, 0.55], axis=1, weights=w,
                                       method="inverted_cdf"), (x,), order=2)
    check_grads(lambda v: dnp.nanpercentile(v, 40, axis=1, weights=np.broadcast_to(w, x.shape),
                                            method="inverted_cdf"), (x,), order=2)
    with pytest.warns(UserWarning, match="does not depend on its inputs"):
        g = grad(lambda u: dnp.quantile(x[0], 0.5, weights=u, method="inverted_cdf"))(w)
    assert np.all(g == 0)


# --- order statistics: derivatives ----------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_quantile_derivatives_in_the_data(method):
    x = randn(4, 7, seed=8)
    q = np.array([0.13, 0.5, 0.82])
    check_grads(lambda v: dnp.quantile(v, q, axis=1, method=method), (x,), order=2)
    check_grads(lambda v: dnp.percentile(v, 37.0, axis=(0, 1), method=method), (x,), order=2)
    check_grads(lambda v: dnp.quantile(v, 0.61, method=method, keepdims=True), (x[0],), order=2)


@pytest.mark.parametrize("method", METHODS)
def test_nanquantile_derivatives_skip_the_nans(method):
    mask = np.isnan(with_nans(np.ones((3, 6)), 0.3, seed=9))

    def f(v):
        return dnp.nanquantile(dnp.where(mask, np.nan, v), [0.21, 0.66], axis=1, method=method)

    check_grads(f, (randn(3, 6, seed=10),), order=2)
    g = grad(lambda v: dnp.sum(f(v)))(randn(3, 6, seed=10))
    assert np.all(g[mask] == 0)


@pytest.mark.parametrize("method", INTERPOLATING)
def test_quantile_derivatives_in_q(method):
    x = randn(2, 9, seed=11)
    q = np.array([0.137, 0.471, 0.853])  # away from the knots (where the derivative jumps)
    check_grads(lambda t: dnp.quantile(x, t, axis=1, method=method), (q,), order=2)
    check_grads(lambda t: dnp.nanpercentile(with_nans(x, seed=12), t, axis=1, method=method),
                (100 * q,), order=2)
    check_grads(lambda v, t: dnp.quantile(v, t, method=method), (x[1], 0.3173), order=2)
    slope = grad(lambda t: dnp.quantile(np.array([0.0, 2.0, 3.0]), t, method="linear"))(0.2)
    assert slope == pytest.approx(4.0)  # (n - 1) * (x1 - x0)


def test_q_has_zero_derivative_for_discrete_methods():
    for method in ("lower", "higher", "nearest", "midpoint", "inverted_cdf",
                   "averaged_inverted_cdf", "closest_observation"):
        def f(t, method=method):
            return dnp.quantile(np.array([0.0, 2.0, 3.0]), t, method=method)

        assert grad(f)(0.3) == 0


def test_median_derivative_splits_between_the_middle_entries():
    g = grad(dnp.median)(np.array([4.0, 1.0, 3.0, 2.0]))
    np.testing.assert_allclose(g, [0.0, 0.0, 0.5, 0.5])
    check_grads(lambda v: dnp.median(v, axis=0), (randn(5, 3, seed=13),), order=2)
    check_grads(lambda v: dnp.nanmedian(v, axis=-1, keepdims=True), (randn(2, 4, seed=14),),
                order=2)


# --- std / var at zero variance --------------------------------------------------------------
@pytest.mark.parametrize("x", [np.array([2.5]), np.full(4, 3.0), np.full((2, 3), -1.5),
                               np.array(7.0)])
def test_std_has_zero_derivative_where_the_variance_is_zero(x):
    for fn in (dnp.std, dnp.nanstd):
        for jac in (diffopt.jacfwd, diffopt.jacrev):
            g = jac(fn)(x)
            assert np.all(g == 0), g
        h = diffopt.hessian(fn)(x)
        assert np.all(np.isfinite(h))
    check_grads(dnp.std, (np.array([2.5]),), order=2)  # identically zero: all orders vanish
    check_grads(lambda v: dnp.std(v, axis=0), (np.ones((1, 3)),), order=2)


def test_std_per_axis_zero_variance_rows_and_ordinary_rows():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    g = diffopt.jacrev(lambda v: dnp.std(v, axis=1))(x)
    assert np.all(g[0] == 0) and np.all(np.isfinite(g))
    check_grads(lambda v: dnp.std(v, axis=1, ddof=1), (randn(3, 4, seed=15),), order=2)
    same(dnp.std(x, axis=1), np.std(x, axis=1))
    same(dnp.std(x.astype(np.float32)), np.std(x.astype(np.float32)))
    assert np.isnan(dnp.std(np.array([1.0, np.nan])))


# --- NaN-ignoring reductions ----------------------------------------------------------------
A = with_nans(randn(4, 5, seed=16), 0.3, seed=17)
A3 = with_nans(randn(2, 3, 4, seed=18), 0.25, seed=19)
NAN_AXES = [None, 0, 1, -1, (0, 1)]


@pytest.mark.parametrize("axis", NAN_AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_nan_reductions_match_numpy(axis, keepdims):
    for x in (A, A.astype(np.float32), R.integers(-3, 9, (4, 5))):
        for name in ("nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd"):
            same(quiet(getattr(dnp, name), x, axis=axis, keepdims=keepdims),
                 quiet(getattr(np, name), x, axis=axis, keepdims=keepdims))
        for name in ("nanargmax", "nanargmin"):
            if axis is None or isinstance(axis, int):
                same(getattr(dnp, name)(x, axis=axis, keepdims=keepdims),
                     getattr(np, name)(x, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 2)])
def test_nan_reductions_options_match_numpy(axis):
    mask = R.random(A3.shape) < 0.7
    for name in ("nansum", "nanprod"):
        for kw in ({"initial": 2.0}, {"where": mask}, {"dtype": np.float32},
                   {"where": mask, "initial": -1.0}):
            same(getattr(dnp, name)(A3, axis=axis, **kw), getattr(np, name)(A3, axis=axis, **kw))
    for name in ("nanmax", "nanmin"):
        same(getattr(dnp, name)(A3, axis=axis, initial=0.5),
             getattr(np, name)(A3, axis=axis, initial=0.5))
        same(getattr(dnp, name)(A3, axis=axis, where=mask, initial=0.5),
             getattr(np, name)(A3, axis=axis, where=mask, initial=0.5))
    for name in ("nanmean", "nanvar", "nanstd"):
        for kw in ({"where": mask}, {"dtype": np.float32}):
            same(quiet(getattr(dnp, name), A3, axis=axis, **kw),
                 quiet(getattr(np, name), A3, axis=axis, **kw), rtol=1e-5)
    for name in ("nanvar", "nanstd"):
        for kw in ({"ddof": 1}, {"correction": 1.5}, {"ddof": 2, "keepdims": True}):
            same(quiet(getattr(dnp, name), A3, axis=axis, **kw),
                 quiet(getattr(np, name), A3, axis=axis, **kw))
        m = np.nanmean(A3, axis=axis, keepdims=True)
        same(quiet(getattr(dnp, name), A3, axis=axis, mean=m),
             quiet(getattr(np, name), A3, axis=axis, mean=m))
    z = A3 + 1j * with_nans(randn(*A3.shape, seed=20), 0.0)
    for name in ("nansum", "nanmean", "nanvar", "nanstd", "nanprod"):
        same(quiet(getattr(dnp, name), z, axis=axis), quiet(getattr(np, name), z, axis=axis))


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_nan_scans_match_numpy(axis):
    for x in (A, A.astype(np.float32), R.integers(-3, 9, (4, 5))):
        same(dnp.nancumsum(x, axis=axis), np.nancumsum(x, axis=axis))
        same(dnp.nancumprod(x, axis=axis), np.nancumprod(x, axis=axis))
    same(dnp.nancumsum(A, axis=axis, dtype=np.float32), np.nancumsum(A, axis=axis,
                                                                     dtype=np.float32))


def test_all_nan_behaviour_matches_numpy():
    a = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 3.0]])
    for name, message in (("nanmax", "All-NaN slice"), ("nanmin", "All-NaN slice"),
                          ("nanmean", "Mean of empty slice"),
                          ("nanvar", "Degrees of freedom <= 0"),
                          ("nanstd", "Degrees of freedom <= 0")):
        with pytest.warns(RuntimeWarning, match=message):
            out = getattr(dnp, name)(a, axis=1)
        same(out, quiet(getattr(np, name), a, axis=1))
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        same(dnp.nanvar(a, axis=1, ddof=2), quiet(np.nanvar, a, axis=1, ddof=2))
    for name in ("nanargmax", "nanargmin"):
        with pytest.raises(ValueError, match="All-NaN slice encountered"):
            getattr(dnp, name)(a, axis=1)
        same(getattr(dnp, name)(a[:, ::2], axis=0), getattr(np, name)(a[:, ::2], axis=0))
    same(dnp.nansum(a, axis=1), np.nansum(a, axis=1))
    same(dnp.nanprod(a, axis=1), np.nanprod(a, axis=1))
    with pytest.raises(ValueError, match="identity"):
        dnp.nanmax(np.ones(3), where=np.zeros(3, bool))


def test_nan_reduction_errors():
    for name in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
                 "nanargmax", "nanargmin", "nancumsum", "nancumprod"):
        with pytest.raises(TypeError, match="out="):
            getattr(dnp, name)(A, axis=0, out=np.empty(5))
        with pytest.raises(AxisError):
            getattr(dnp, name)(A, axis=2)
    with pytest.raises(ValueError, match="ddof and correction"):
        dnp.nanvar(A, ddof=1, correction=1)


def _nan_input(fn, shape=(4, 5), seed=21):
    mask = np.isnan(with_nans(np.ones(shape), 0.3, seed=seed))
    mask[0] = False  # no all-NaN slice
    return (lambda v: fn(dnp.where(mask, np.nan, v))), mask


@pytest.mark.parametrize("name,kw", [
    ("nansum", {"axis": 1}), ("nansum", {"axis": None, "initial": 1.5}),
    ("nanprod", {"axis": 0}), ("nanmean", {"axis": 0}), ("nanmean", {"axis": (0, 1)}),
    ("nanvar", {"axis": 0}), ("nanvar", {"axis": 0, "ddof": 1}), ("nanstd", {"axis": 0}),
    ("nanstd", {"axis": None, "keepdims": True}), ("nanmax", {"axis": 0}),
    ("nanmin", {"axis": None}), ("nancumsum", {"axis": 1}), ("nancumprod", {"axis": 0}),
])
def test_nan_reduction_derivatives(name, kw):
    f, mask = _nan_input(lambda v: getattr(dnp, name)(v, **kw))
    x = randn(4, 5, seed=22)
    check_grads(f, (x,), order=2)
    g = grad(lambda v: dnp.sum(f(v)))(x)
    assert np.all(g[mask] == 0)


# --- average, ptp, count_nonzero, cumulative_sum / cumulative_prod -----------------------------
X3 = randn(2, 3, 4, seed=23)


@pytest.mark.parametrize("axis,w", [
    (None, None), (1, None), ((0, 2), None), (None, np.abs(randn(2, 3, 4, seed=24))),
    (2, np.abs(randn(4, seed=25))), ((0, 2), np.abs(randn(2, 4, seed=26))),
    ((2, 0), np.abs(randn(4, 2, seed=27))), (-2, np.arange(1, 4)),
])
@pytest.mark.parametrize("keepdims", [False, True])
def test_average_matches_numpy(axis, w, keepdims):
    for a in (X3, X3.astype(np.float32), R.integers(0, 5, X3.shape)):
        same(dnp.average(a, axis, w, keepdims=keepdims),
             np.average(a, axis, w, keepdims=keepdims))
        avg, scl = dnp.average(a, axis, w, returned=True, keepdims=keepdims)
        e_avg, e_scl = np.average(a, axis, w, returned=True, keepdims=keepdims)
        same(avg, e_avg)
        same(scl, e_scl)


def test_average_errors_and_derivatives():
    with pytest.raises(TypeError, match="Axis must be specified"):
        dnp.average(X3, weights=np.ones(4))
    with pytest.raises(ValueError, match="Shape of weights"):
        dnp.average(X3, axis=1, weights=np.ones(4))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        dnp.average(X3, axis=2, weights=np.array([1.0, -1.0, 0.0, 0.0]))
    with pytest.raises(AxisError):
        dnp.average(X3, axis=3)
    w = np.abs(randn(4, seed=28)) + 0.1
    check_grads(lambda a, v: dnp.average(a, axis=2, weights=v), (X3, w), order=2)
    check_grads(lambda a: dnp.average(a, axis=(0, 1), keepdims=True), (X3,), order=2)
    check_grads(lambda v: dnp.average(X3, axis=2, weights=v, returned=True)[1], (w,), order=2)


@pytest.mark.parametrize("axis", [None, 0, 2, (0, 1)])
def test_ptp_and_count_nonzero_match_numpy(axis):
    for a in (X3, R.integers(-2, 3, X3.shape), X3 > 0):
        if a.dtype != bool:
            same(dnp.ptp(a, axis), np.ptp(a, axis))
            same(dnp.ptp(a, axis, keepdims=True), np.ptp(a, axis, keepdims=True))
        same(dnp.count_nonzero(a, axis), np.count_nonzero(a, axis))
        same(dnp.count_nonzero(a, axis, keepdims=True), np.count_nonzero(a, axis, keepdims=True))
    check_grads(lambda v: dnp.ptp(v, axis), (X3,), order=2)
    with pytest.raises(TypeError, match="out="):
        dnp.ptp(X3, out=np.empty(()))
    assert vmap(dnp.count_nonzero)(np.array([[0.0, 1.0], [2.0, 3.0]])).tolist() == [1, 2]


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
def test_cumulative_match_numpy(name):
    fn, ref = getattr(dnp, name), getattr(np, name)
    for x, axis in ((X3[0, 0], None), (X3, 0), (X3, -1), (X3, 1), (np.array(2.5), None),
                    (R.integers(1, 4, (3, 4)), 1)):
        for include_initial in (False, True):
            same(fn(x, axis=axis, include_initial=include_initial),
                 ref(x, axis=axis, include_initial=include_initial))
    same(fn(X3, axis=1, dtype=np.float32), ref(X3, axis=1, dtype=np.float32))
    with pytest.raises(ValueError, match="``axis`` argument is required"):
        fn(X3)
    with pytest.raises(AxisError):
        fn(X3, axis=3)
    with pytest.raises(TypeError, match="out="):
        fn(X3, axis=0, out=np.empty(X3.shape))
    check_grads(lambda v: fn(v, axis=1, include_initial=True), (X3,), order=2)
    check_grads(lambda v: fn(v), (X3[1, 2],), order=2)


# --- cov, corrcoef --------------------------------------------------------------------------
M = randn(3, 6, seed=29)
FW = np.array([1, 2, 1, 3, 1, 2])
AW = np.abs(randn(6, seed=30)) + 0.2


@pytest.mark.parametrize("kw", [
    {}, {"rowvar": False}, {"bias": True}, {"ddof": 2}, {"fweights": FW}, {"aweights": AW},
    {"fweights": FW, "aweights": AW}, {"fweights": FW, "aweights": AW, "ddof": 0},
    {"aweights": AW, "bias": True}, {"dtype": np.float32},
])
def test_cov_and_corrcoef_match_numpy(kw):
    cases = [(M, None), (M[0], None), (M[:2], M[2])]
    if "dtype" not in kw:
        cases.append((M + 1j * randn(3, 6, seed=31), None))
    for m, y in cases:
        mm = m.T if kw.get("rowvar") is False and m.ndim == 2 else m
        yy = None if y is None else (y if kw.get("rowvar") is not False else y[:, None])
        same(dnp.cov(mm, yy, **kw), np.cov(mm, yy, **kw), rtol=1e-5)
        ckw = {k: v for k, v in kw.items() if k in ("rowvar", "dtype")}
        same(dnp.corrcoef(mm, yy, **ckw), np.corrcoef(mm, yy, **ckw), rtol=1e-5)


def test_cov_errors_and_edge_cases():
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        dnp.cov(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="ddof must be integer"):
        dnp.cov(M, ddof=1.5)
    with pytest.raises(TypeError, match="fweights must be integer"):
        dnp.cov(M, fweights=FW + 0.5)
    with pytest.raises(RuntimeError, match="incompatible numbers of samples and aweights"):
        dnp.cov(M, aweights=AW[:3])
    with pytest.raises(ValueError, match="aweights cannot be negative"):
        dnp.cov(M, aweights=-AW)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = dnp.cov(np.array([1.0]))
    assert any("Degrees of freedom" in str(w.message) for w in caught)
    assert np.isnan(out) or np.isinf(out)


def test_cov_and_corrcoef_derivatives():
    check_grads(lambda m: dnp.cov(m), (M,), order=2)
    check_grads(lambda m, w: dnp.cov(m, aweights=w, fweights=FW), (M, AW), order=2)
    check_grads(lambda m: dnp.cov(m, rowvar=False, bias=True), (M.T,), order=2)
    check_grads(lambda m: dnp.corrcoef(m), (M,), order=2)
    check_grads(lambda x, y: dnp.corrcoef(x, y), (M[0], M[1]), order=2)
    z = M + 1j * randn(3, 6, seed=32)
    check_grads(lambda m: dnp.cov(m), (z,), order=2)


# --- bincount, digitize, histograms ---------------------------------------------------------
IDX = np.array([0, 3, 1, 1, 5, 0, 3])
W = randn(7, seed=33)


def test_bincount_matches_numpy_and_differentiates_in_weights():
    same(dnp.bincount(IDX), np.bincount(IDX))
    same(dnp.bincount(IDX, minlength=9), np.bincount(IDX, minlength=9))
    same(dnp.bincount(IDX, W), np.bincount(IDX, W))
    same(dnp.bincount(IDX, W.astype(np.float32), 8), np.bincount(IDX, W.astype(np.float32), 8))
    out, tangent = jvp(lambda w: dnp.bincount(IDX, w, 8), (W,), (np.ones(7),))
    same(out, np.bincount(IDX, W, 8))
    same(tangent, np.bincount(IDX, minlength=8).astype(float))
    check_grads(lambda w: dnp.bincount(IDX, w), (W,), order=2)
    with pytest.raises(ValueError):
        dnp.bincount(np.array([-1, 2]))
    with pytest.raises(NotImplementedError, match="vmap"):
        vmap(lambda i: dnp.bincount(i, minlength=4))(np.array([[0, 1], [2, 3]]))


def test_digitize_matches_numpy_on_plain_and_traced_values():
    x, bins = randn(9, seed=34), np.array([-1.0, 0.0, 0.5, 2.0])
    for right in (False, True):
        same(dnp.digitize(x, bins, right), np.digitize(x, bins, right))
        same(dnp.digitize(x, bins[::-1], right), np.digitize(x, bins[::-1], right))
    assert grad(lambda v: dnp.sum(v * dnp.digitize(v, bins)))(x).tolist() == \
        np.digitize(x, bins).astype(float).tolist()
    same(vmap(lambda v: dnp.digitize(v, bins))(x.reshape(3, 3)), np.digitize(x, bins).reshape(3, 3))


HX = randn(40, seed=35)
HW = np.abs(randn(40, seed=36))


@pytest.mark.parametrize("kw", [
    {}, {"bins": 5}, {"bins": "auto"}, {"bins": np.array([-2.0, -0.5, 0.0, 1.0, 3.0])},
    {"bins": 4, "range": (-1.0, 1.0)}, {"bins": 3, "density": True}, {"weights": HW},
    {"weights": HW, "density": True, "bins": 6}, {"bins": 1, "range": (0.5, 0.5)},
])
def test_histogram_matches_numpy(kw):
    same(dnp.histogram_bin_edges(HX, kw.get("bins", 10), kw.get("range")),
         np.histogram_bin_edges(HX, kw.get("bins", 10), kw.get("range")))
    for o, e in zip(dnp.histogram(HX, **kw), np.histogram(HX, **kw), strict=True):
        same(o, e)
    # the differentiable path (a traced argument) gives NumPy's values too
    traced_kw = dict(kw)
    if "weights" in kw:
        (hist, edges), _ = jvp(lambda w: dnp.histogram(HX, **{**kw, "weights": w}), (HW,),
                               (np.ones(40),))
    else:
        (hist, edges), _ = jvp(lambda a: dnp.histogram(a, **traced_kw), (HX,), (np.ones(40),))
    e_hist, e_edges = np.histogram(HX, **kw)
    same(hist, e_hist, rtol=1e-12)
    same(edges, e_edges, rtol=1e-12, atol=1e-12)


def test_histogram_derivatives():
    check_grads(lambda w: dnp.histogram(HX, bins=5, weights=w)[0], (HW,), order=2)
    check_grads(lambda w: dnp.histogram(HX, bins=5, weights=w, density=True)[0], (HW,),
                order=2)
    # density depends on the data through the width of the bins its range sets
    check_grads(lambda a: dnp.histogram(a, bins=4, density=True)[0], (HX,), order=2)
    check_grads(lambda a: dnp.histogram_bin_edges(a, bins=4), (HX,), order=2)
    with pytest.warns(UserWarning, match="does not depend on its inputs"):
        g = grad(lambda a: dnp.sum(dnp.histogram(a, bins=4)[0]))(HX)
    assert np.all(g == 0)  # counts are piecewise constant
    check_grads(lambda e: dnp.histogram(HX, bins=e, density=True)[0],
                (np.array([-3.0, -0.3, 0.4, 2.9]),), order=2)


S = randn(30, 3, seed=37)
SW = np.abs(randn(30, seed=38))


@pytest.mark.parametrize("kw", [
    {}, {"bins": 3}, {"bins": (2, 3, 4)}, {"bins": [np.array([-3.0, 0.0, 3.0]), 2, 3]},
    {"bins": 2, "range": [(-1, 1), None, (0, 2)]}, {"density": True, "bins": 3},
    {"weights": SW, "bins": 3}, {"weights": SW, "density": True, "bins": (2, 2, 3)},
])
def test_histogramdd_and_2d_match_numpy(kw):
    for o, e in zip(dnp.histogramdd(S, **kw), np.histogramdd(S, **kw), strict=True):
        if isinstance(e, list):
            for oo, ee in zip(o, e, strict=True):
                same(oo, ee)
        else:
            same(o, e)
    (hist, edges), _ = jvp(lambda s: dnp.histogramdd(s, **kw), (S,), (np.ones_like(S),))
    e_hist, e_edges = np.histogramdd(S, **kw)
    same(hist, e_hist, rtol=1e-12)
    for oo, ee in zip(edges, e_edges, strict=True):
        same(oo, ee, rtol=1e-12, atol=1e-12)
    kw2 = {k: (v[:2] if k in ("bins", "range") and isinstance(v, (list, tuple)) else v)
           for k, v in kw.items()}
    for o, e in zip(dnp.histogram2d(S[:, 0], S[:, 1], **kw2),
                    np.histogram2d(S[:, 0], S[:, 1], **kw2), strict=True):
        same(o, e)
    same(dnp.histogram2d(S[:, 0], S[:, 1], bins=np.array([-2, 0, 1, 2.0]))[0],
         np.histogram2d(S[:, 0], S[:, 1], bins=np.array([-2, 0, 1, 2.0]))[0])


def test_histogramdd_derivatives():
    check_grads(lambda w: dnp.histogramdd(S, bins=3, weights=w)[0], (SW,), order=2)
    check_grads(lambda s: dnp.histogramdd(s, bins=(2, 3, 2), density=True)[0], (S,), order=2)
    check_grads(lambda w: dnp.histogram2d(S[:, 0], S[:, 2], bins=3, weights=w,
                                          density=True)[0], (SW,), order=2)
    check_grads(lambda s: dnp.histogramdd(s, bins=2)[1][0], (S,), order=2)


# --- vmap ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda v: dnp.quantile(v, [0.2, 0.7], method="hazen"),
    lambda v: dnp.median(v, axis=1),
    lambda v: dnp.nanquantile(v, 0.4, axis=0, method="nearest"),
    lambda v: dnp.nanmean(v, axis=1),
    lambda v: dnp.nanvar(v),
    lambda v: dnp.nanmax(v, axis=0),
    lambda v: dnp.nanargmin(v, axis=1),
    lambda v: dnp.average(v, axis=1, weights=np.arange(1.0, 6.0)),
    lambda v: dnp.cov(v),
], ids=["quantile", "median", "nanquantile", "nanmean", "nanvar", "nanmax", "nanargmin",
        "average", "cov"])
def test_vmap_matches_loop(fn):
    x = with_nans(randn(3, 4, 5, seed=39), 0.2, seed=40)
    x[:, :, 0] = randn(3, 4, seed=41)  # no all-NaN slice
    out = quiet(vmap(fn), x)
    looped = np.stack([quiet(fn, v) for v in x])
    np.testing.assert_allclose(out, looped, rtol=1e-12, atol=1e-12, equal_nan=True)


# --- edge cases: empty slices, 0-d results, lists -------------------------------------------
@pytest.mark.parametrize("name,args,kw", [
    ("median", (np.array([]),), {}), ("nanmedian", (np.array([]),), {}),
    ("nanquantile", (np.ones((0, 3)), 0.5), {"axis": 0}),
    ("nanpercentile", (np.ones((0, 3)), [10, 60]), {"axis": 0, "keepdims": True}),
    ("median", (np.ones((0, 3)),), {"axis": 1}), ("quantile", (np.ones((0, 3)), 0.5), {"axis": 1}),
    ("nanmax", (np.array(np.nan),), {}), ("nanmean", (np.ones(0),), {}),
    ("nanvar", (np.array([1 + 1j, np.nan, 2 - 1j]),), {}), ("std", (np.array([1.0, 2.0]),), {}),
    ("nanstd", (np.array([1.0, 2.0]),), {}), ("bincount", ([0, 1, 1],), {}),
    ("nansum", ([1.0, np.nan],), {}), ("average", ([1.0, 2.0],), {"weights": [1, 3]}),
    ("ptp", ([1, 5, 2],), {}), ("count_nonzero", ([[0, 1], [2, 0]],), {}),
    ("cov", ([1.0, 2.0, 4.0], [2.0, 1.0, 0.0]), {}), ("corrcoef", ([1.0, 2.0, 4.0],), {}),
    ("digitize", ([0.5, 2.0], [0.0, 1.0, 2.0]), {}), ("quantile", (np.array(3.0), 0.5), {}),
])
def test_edge_cases_match_numpy(name, args, kw):
    expected = quiet(getattr(np, name), *args, **kw)
    out = quiet(getattr(dnp, name), *args, **kw)
    same(out, expected)
    assert type(out) is type(expected)


def test_quantile_of_an_empty_array_raises_as_numpy():
    with pytest.raises(IndexError):
        dnp.quantile(np.array([]), 0.5)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        dnp.median(np.array([]))
