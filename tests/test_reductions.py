"""Reductions and scans of diffopt.numpy: values against NumPy, derivatives against finite
differences (both modes, order 2), vmap against a Python loop, jacfwd against jacrev."""

import numpy as np
import pytest
from numpy.exceptions import AxisError

import diffopt
import diffopt.numpy as dnp
from diffopt import grad, vmap
from diffopt.numerical import check_grads

RNG = np.random.default_rng(0)
X3 = RNG.standard_normal((2, 3, 4))
XS = RNG.standard_normal(())  # a 0-d array

# name -> keyword sets; every set runs the value, derivative, vmap and Jacobian checks on X3.
REDUCE_KW = [{}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 2)},
             {"axis": (2, 0, 1), "keepdims": True}, {"axis": None, "keepdims": True}]
CASES = {
    "sum": REDUCE_KW,
    "mean": REDUCE_KW,
    "prod": REDUCE_KW,
    "max": REDUCE_KW,
    "min": REDUCE_KW,
    "amax": [{"axis": 1}],
    "amin": [{"axis": (1, 2), "keepdims": True}],
    "var": REDUCE_KW[:4] + [{"axis": 1, "ddof": 1}, {"axis": (0, 2), "ddof": 2, "keepdims": True}],
    "std": [{}, {"axis": 1, "ddof": 1}, {"axis": (0, 2), "keepdims": True}, {"correction": 1}],
    "cumsum": [{}, {"axis": 0}, {"axis": -1}, {"axis": 1}],
    "cumprod": [{}, {"axis": 0}, {"axis": -1}, {"axis": 1}],
    "trace": [{}, {"offset": 1}, {"offset": -1, "axis1": 1, "axis2": 2},
              {"offset": 2, "axis1": -1, "axis2": 0}, {"offset": 5}],
    "diff": [{}, {"axis": 0}, {"n": 2, "axis": 1}, {"n": 3}, {"n": 0},
             {"prepend": 0.5, "append": X3[:, :, :1]}],
}
PARAMS = [(name, kw) for name, kws in CASES.items() for kw in kws]
IDS = [f"{name}-{kw}" for name, kw in PARAMS]


def _fn(name, kw):
    fn = getattr(dnp, name)
    return lambda x: fn(x, **kw)


@pytest.mark.parametrize("name,kw", PARAMS, ids=IDS)
def test_values_match_numpy(name, kw):
    np.testing.assert_allclose(getattr(dnp, name)(X3, **kw), getattr(np, name)(X3, **kw),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name,kw", PARAMS, ids=IDS)
def test_grads_order2(name, kw):
    check_grads(_fn(name, kw), (X3,), order=2)


@pytest.mark.parametrize("name,kw", PARAMS, ids=IDS)
def test_vmap_equals_loop(name, kw):
    f = _fn(name, kw)
    batch = RNG.standard_normal((3,) + X3.shape)
    np.testing.assert_allclose(diffopt.vmap(f)(batch), np.stack([f(b) for b in batch]),
                               rtol=1e-12, atol=1e-12)
    # mapped along a middle axis as well
    np.testing.assert_allclose(diffopt.vmap(f, in_axes=1)(np.moveaxis(batch, 0, 1)),
                               np.stack([f(b) for b in batch]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,kw", PARAMS, ids=IDS)
def test_jacfwd_equals_jacrev(name, kw):
    f = _fn(name, kw)
    np.testing.assert_allclose(diffopt.jacfwd(f)(X3), diffopt.jacrev(f)(X3), rtol=1e-10,
                               atol=1e-12)


# --- scalars -------------------------------------------------------------------------------------
SCALAR_FUNCS = ["sum", "mean", "prod", "max", "min", "var", "cumsum", "cumprod"]


@pytest.mark.parametrize("name", SCALAR_FUNCS)
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_scalars(name, axis):
    f = _fn(name, {"axis": axis})
    if name in ("mean", "var") and axis is not None:
        # NumPy's mean and var refuse an axis for 0-d input (its ufunc reductions accept 0, -1)
        for x in (XS, float(XS)):
            with pytest.raises(AxisError):
                getattr(np, name)(x, axis=axis)
            with pytest.raises(AxisError):
                f(x)
        return
    for x in (XS, float(XS)):
        np.testing.assert_allclose(f(x), getattr(np, name)(x))
    check_grads(f, (XS,), order=2)
    batch = RNG.standard_normal(5)  # vmap over 0-d elements
    np.testing.assert_allclose(diffopt.vmap(f)(batch), np.stack([f(b) for b in batch]))


def test_scalar_derivative_values():
    assert diffopt.grad(dnp.prod)(3.0) == 1.0
    assert diffopt.grad(dnp.max)(3.0) == 1.0
    assert diffopt.grad(dnp.var)(3.0) == 0.0
    np.testing.assert_allclose(diffopt.grad(lambda x: dnp.sum(dnp.cumprod(x)))(2.0), 1.0)


# --- max / min with ties -------------------------------------------------------------------------
def test_max_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, 3.0, 2.0])
    np.testing.assert_allclose(diffopt.grad(dnp.max)(x), [0, 1 / 3, 1 / 3, 1 / 3, 0])
    np.testing.assert_allclose(diffopt.grad(dnp.min)(-x), [0, 1 / 3, 1 / 3, 1 / 3, 0])
    t = np.array([5.0, 1.0, 2.0, 6.0, 7.0])
    _, tout = diffopt.jvp(dnp.max, (x,), (t,))
    np.testing.assert_allclose(tout, 3.0)  # the mean of the tied tangents
    m = np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])
    np.testing.assert_allclose(diffopt.grad(lambda m: dnp.sum(dnp.max(m, axis=1) * [1.0, 4.0]))(m),
                               [[0.5, 0.5, 0], [0, 2, 2]])
    np.testing.assert_allclose(diffopt.grad(lambda m: dnp.max(m))(m), [[0, 0, 0], [0, .5, .5]])
    np.testing.assert_allclose(diffopt.jacfwd(lambda m: dnp.min(m, axis=0))(m),
                               diffopt.jacrev(lambda m: dnp.min(m, axis=0))(m))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("kw", [{}, {"axis": 1}, {"axis": 0, "keepdims": True}])
def test_max_two_way_ties_match_central_differences(name, kw):
    # at a two-way tie the central difference is the mean of the two one-sided slopes, which is
    # exactly the even split; the derivative jumps there, so only first order is meaningful
    m = np.array([[2.0, 2.0, 1.0], [4.0, -1.0, 4.0]])
    m = m if name == "max" else -m
    check_grads(_fn(name, kw), (m,), order=1)


def test_max_nan_takes_the_gradient():
    x = np.array([1.0, np.nan, 3.0])
    assert np.isnan(dnp.max(x))
    np.testing.assert_array_equal(diffopt.grad(dnp.max)(x), [0.0, 1.0, 0.0])


# --- prod and cumprod with zeros -----------------------------------------------------------------
ZEROS = [
    np.array([2.0, 0.0, 3.0, -1.5]),
    np.array([0.0, 2.0, 0.0, 1.5]),  # two zeros: the gradient vanishes, the Hessian does not
    np.array([[1.5, 0.0, 2.0], [0.0, 0.0, -1.0], [0.7, 1.2, 0.0]]),
]


def test_prod_gradient_with_zeros_is_exact():
    x = np.array([2.0, 0.0, 3.0, -1.5])
    np.testing.assert_array_equal(diffopt.grad(dnp.prod)(x), [0.0, -9.0, 0.0, 0.0])
    np.testing.assert_array_equal(diffopt.hessian(dnp.prod)(np.array([0.0, 2.0, 0.0])),
                                  [[0, 0, 2], [0, 0, 0], [2, 0, 0]])


@pytest.mark.parametrize("x", ZEROS, ids=["one", "two", "matrix"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0,)])
def test_prod_and_cumprod_with_zeros_order2(x, axis):
    check_grads(lambda x: dnp.prod(x, axis=axis), (x,), order=2)
    if not isinstance(axis, tuple):
        check_grads(lambda x: dnp.cumprod(x, axis=axis), (x,), order=2)
    f = lambda x: dnp.prod(x, axis=axis)  # noqa: E731
    np.testing.assert_allclose(diffopt.jacfwd(f)(x), diffopt.jacrev(f)(x))


def test_prod_cumprod_third_order_with_zeros():
    x = np.array([0.0, 1.5, 0.0, -2.0, 0.5])
    check_grads(dnp.prod, (x,), order=3)
    check_grads(dnp.cumprod, (x,), order=3)


def test_cumprod_jacobian_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.5])
    expected = np.zeros((4, 4))  # d cumprod_i / d x_j = prod_{k <= i, k != j} x_k
    for i in range(4):
        for j in range(i + 1):
            expected[i, j] = np.prod([x[k] for k in range(i + 1) if k != j])
    np.testing.assert_array_equal(diffopt.jacrev(dnp.cumprod)(x), expected)
    np.testing.assert_array_equal(diffopt.jacfwd(dnp.cumprod)(x), expected)


# --- complex inputs ------------------------------------------------------------------------------
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))


@pytest.mark.parametrize("name,kw", [
    ("sum", {"axis": 0}), ("mean", {}), ("prod", {"axis": 1}), ("prod", {}),
    ("cumsum", {"axis": 0}), ("cumprod", {"axis": 1}), ("var", {"axis": 1, "ddof": 1}),
    ("std", {}), ("trace", {"offset": 1}), ("diff", {"axis": 0}),
])
def test_complex(name, kw):
    f = _fn(name, kw)
    out = f(Z)
    np.testing.assert_allclose(out, getattr(np, name)(Z, **kw), rtol=1e-13)
    if name in ("var", "std"):
        assert not np.iscomplexobj(out)
    check_grads(f, (Z,), order=2)


def test_complex_prod_is_holomorphic():
    # JAX's convention: the VJP of a holomorphic f is g * f'(z), no conjugate
    z = np.array([1 + 2j, 0.5 - 1j, 3j])
    _, pull = diffopt.vjp(dnp.prod, z)
    np.testing.assert_allclose(pull(1.0 + 0j)[0], [z[1] * z[2], z[0] * z[2], z[0] * z[1]])


# --- non-differentiable helpers ------------------------------------------------------------------
NONDIFF = [
    ("argmax", {}), ("argmax", {"axis": 1}), ("argmax", {"axis": -1, "keepdims": True}),
    ("argmax", {"keepdims": True}), ("argmin", {}), ("argmin", {"axis": 0}),
    ("argsort", {}), ("argsort", {"axis": 0}), ("argsort", {"axis": None}),
    ("argsort", {"axis": 1, "kind": "stable"}), ("all", {}), ("all", {"axis": (0, 2)}),
    ("any", {"axis": 1, "keepdims": True}), ("any", {}),
]


def _nondiff_input(name, x):
    return x > 0 if name in ("all", "any") else x


@pytest.mark.parametrize("name,kw", NONDIFF, ids=[f"{n}-{k}" for n, k in NONDIFF])
def test_nondiff_values_and_vmap(name, kw):
    f = lambda x: getattr(dnp, name)(_nondiff_input(name, x), **kw)  # noqa: E731
    ref = getattr(np, name)(_nondiff_input(name, X3), **kw)
    out = f(X3)
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == ref.dtype
    batch = RNG.standard_normal((4,) + X3.shape)
    np.testing.assert_array_equal(diffopt.vmap(f)(batch), np.stack([f(b) for b in batch]))


@pytest.mark.parametrize("name,kw", NONDIFF, ids=[f"{n}-{k}" for n, k in NONDIFF])
def test_nondiff_accept_traced_values(name, kw):
    ref = getattr(np, name)(_nondiff_input(name, X3), **kw)
    seen = {}

    def f(x):
        seen["out"] = getattr(dnp, name)(_nondiff_input(name, x), **kw)
        return dnp.sum(x**2)

    diffopt.grad(f)(X3)
    np.testing.assert_array_equal(seen["out"], ref)
    diffopt.jvp(f, (X3,), (X3,))
    np.testing.assert_array_equal(seen["out"], ref)


def test_nondiff_inside_derivatives():
    x = np.array([0.5, -2.0, 3.0, 1.0])

    def f(x):  # keep only the entries above the median via argsort, then a smooth function
        order = dnp.argsort(x)
        keep = order[2:]
        mask = dnp.any(dnp.arange(4)[:, None] == keep[None, :], axis=1)
        return dnp.sum(dnp.where(mask, x**2, 0.0)) * dnp.where(dnp.all(x > -5), 1.0, 0.0)

    np.testing.assert_allclose(diffopt.grad(f)(x), [0, 0, 6, 2])
    check_grads(f, (x,), order=2)
    hits = diffopt.vmap(lambda r: dnp.argmax(r) + dnp.argmin(r))(np.stack([x, -x]))
    np.testing.assert_array_equal(hits, [2 + 1, 1 + 2])


# --- tracer methods, dtypes, diff extras, errors -------------------------------------------------
def test_tracer_methods():
    def f(x):
        return (x.prod(axis=0).sum() + x.max() - x.min(axis=1).sum() + x.var(ddof=1)
                + x.std(axis=0).sum() + x.cumsum().sum() + x.cumprod(axis=1).sum()
                + x.trace() + (x.argmax() + x.argsort(axis=0).sum() + x.any() + x.all()) * 0.0)

    x = X3[0]
    check_grads(f, (x,), order=2)
    expected = (x.prod(axis=0).sum() + x.max() - x.min(axis=1).sum() + x.var(ddof=1)
                + x.std(axis=0).sum() + x.cumsum().sum() + x.cumprod(axis=1).sum() + x.trace())
    np.testing.assert_allclose(diffopt.value_and_grad(f)(x)[0], expected)


def test_dtype_keywords():
    x = X3.astype(np.float32)
    for name in ("prod", "cumsum", "cumprod", "var", "std"):
        out = getattr(dnp, name)(X3, dtype=np.float32)
        ref = getattr(np, name)(x, dtype=np.float32)
        assert out.dtype == np.float32 == ref.dtype, name
        np.testing.assert_allclose(out, ref, rtol=1e-5)
    assert dnp.trace(X3[0], dtype=np.float32).dtype == np.float32
    assert dnp.max(x).dtype == np.float32
    g = diffopt.grad(lambda x: dnp.max(x))(x)
    assert g.dtype == np.float32
    ints = np.array([[3, 1], [2, 5]])
    np.testing.assert_array_equal(dnp.var(ints), np.var(ints))
    np.testing.assert_array_equal(dnp.prod(ints, axis=0), np.prod(ints, axis=0))


def test_diff_extras():
    b = np.array([True, False, False, True])
    np.testing.assert_array_equal(dnp.diff(b), np.diff(b))
    x = X3[0]
    kw = {"axis": 0, "prepend": x[:1] * 2, "append": 1.0, "n": 2}
    np.testing.assert_allclose(dnp.diff(x, **kw), np.diff(x, **kw))
    check_grads(lambda x, p: dnp.diff(x, axis=0, prepend=p, n=2), (x, x[:1] * 2), order=2)
    np.testing.assert_allclose(dnp.diff([1.0, 4.0, 9.0]), [3.0, 5.0])


@pytest.mark.parametrize("call,err", [
    (lambda: dnp.max(X3, out=np.empty(4)), TypeError),
    (lambda: dnp.cumsum(X3, out=np.empty(24)), TypeError),
    (lambda: dnp.prod(X3, axis=3), ValueError),
    (lambda: dnp.var(X3, axis=(0, 0)), ValueError),
    (lambda: dnp.var(X3, ddof=1, correction=1), ValueError),
    (lambda: dnp.cumprod(X3, axis=-4), ValueError),
    (lambda: dnp.argmax(X3, axis=3), ValueError),
    (lambda: dnp.diff(X3, n=-1), ValueError),
    (lambda: dnp.diff(XS), ValueError),
    (lambda: dnp.trace(X3, axis1=1, axis2=-2), ValueError),
    (lambda: dnp.trace(X3[0, 0]), ValueError),
    (lambda: dnp.argsort(X3, order="a"), NotImplementedError),
])
def test_errors(call, err):
    with pytest.raises(err):
        call()


def test_sum_of_0d_with_axis():
    assert dnp.sum(np.array(2.0), axis=0) == 2.0
    assert dnp.prod(np.array(2.0), axis=-1, keepdims=True) == 2.0


def test_lists_of_traced_values():
    f = lambda x: dnp.prod([x, 2 * x, 3.0]) + dnp.max([x, x**2]) + dnp.var([x, 1.0])  # noqa: E731
    check_grads(f, (1.5,), order=2)
    np.testing.assert_allclose(f(1.5), 1.5 * 3.0 * 3.0 + 2.25 + np.var([1.5, 1.0]))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std", "cumsum",
                                  "cumprod", "diff", "argmax", "argsort", "all", "any"])
def test_python_lists(name):
    data = [[1.0, 4.0, 2.0], [3.0, 0.5, 2.5]]
    np.testing.assert_allclose(getattr(dnp, name)(data, axis=-1), getattr(np, name)(data, axis=-1))


# --- NumPy's where= and initial= ------------------------------------------------------------------
_R = np.random.default_rng(3)
_X = _R.standard_normal((3, 4))
_MASK = _R.random((3, 4)) > 0.3
_XI = _R.integers(-5, 5, (3, 4))
WHERE_INITIAL = [
    ("sum", dict(where=_MASK)), ("sum", dict(where=_MASK, initial=2.5, axis=1)),
    ("sum", dict(initial=1, axis=0, keepdims=True)), ("prod", dict(where=_MASK, axis=0)),
    ("prod", dict(initial=2.0)), ("max", dict(where=_MASK, initial=-1.0, axis=1)),
    ("min", dict(where=_MASK, initial=5.0, axis=0)), ("max", dict(initial=10.0)),
    ("mean", dict(where=_MASK, axis=1)), ("mean", dict(where=_MASK)),
    ("var", dict(where=_MASK, axis=1, ddof=1)), ("std", dict(where=_MASK, axis=0, keepdims=True)),
    ("all", dict(where=_MASK)), ("any", dict(where=_MASK, axis=1)),
]


@pytest.mark.parametrize("name,kwargs", WHERE_INITIAL)
def test_where_and_initial_match_numpy(name, kwargs):
    inputs = (_X > 0,) if name in ("all", "any") else (_X, _XI)
    for a in inputs:
        got, want = getattr(dnp, name)(a, **kwargs), getattr(np, name)(a, **kwargs)
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-13)
    if name not in ("all", "any"):
        check_grads(lambda v: getattr(dnp, name)(v, **kwargs), (_X,), order=2)


def test_initial_of_max_and_min():
    for shape, axis in (((0, 3), 0), ((2, 0), 1)):  # an empty slice gives initial
        for keepdims in (False, True):
            got = dnp.max(np.zeros(shape), axis=axis, initial=1.5, keepdims=keepdims)
            np.testing.assert_array_equal(got, np.max(np.zeros(shape), axis=axis, initial=1.5,
                                                      keepdims=keepdims))
    # initial takes the derivative where it wins; a where mask needs an initial, as in NumPy
    np.testing.assert_array_equal(grad(lambda v: dnp.max(v, initial=0.5))(np.array([0.1, 0.2])),
                                  [0.0, 0.0])
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        dnp.max(_X, where=_MASK)


def test_where_under_vmap_matches_a_loop():
    with np.errstate(invalid="ignore"):
        got = vmap(lambda v: dnp.mean(v, where=v > 0))(_X)
        want = [np.mean(v, where=v > 0) for v in _X]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(dnp.var(_X, axis=1, mean=np.mean(_X, axis=1, keepdims=True)),
                               np.var(_X, axis=1, mean=np.mean(_X, axis=1, keepdims=True)))
