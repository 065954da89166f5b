"""Elementwise functions: values against NumPy, and first and second derivatives in both modes
against central differences, for every differentiable name in ``elementwise.__all__``.

The tables below give each function the domain its inputs are drawn from (away from poles,
branch cuts, jumps and ties) and whether it is holomorphic (then it is also checked on complex
input). A completeness test makes sure a new function in ``__all__`` lands in a table.
"""

import warnings
import zlib

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.numpy import elementwise as ew


# --- input domains: rng, shape -> array --------------------------------------------------------
def uniform(lo, hi):
    return lambda rng, s: rng.uniform(lo, hi, s)


def nonzero(lo=0.3, hi=2.0):
    """|x| in [lo, hi] with a random sign: away from 0 (poles, kinks)."""
    return lambda rng, s: rng.uniform(lo, hi, s) * rng.choice([-1.0, 1.0], s)


def frac(rng, s):
    """An integer plus a fraction in [0.1, 0.4]: away from the jumps of floor/ceil/rint."""
    return rng.integers(-3, 4, s) + rng.uniform(0.1, 0.4, s)


def cplx(rng, s):
    return rng.normal(size=s) + 1j * rng.normal(size=s)


REAL, POS, UNIT = uniform(-2, 2), uniform(0.2, 3), uniform(-0.9, 0.9)

# name: (domain, holomorphic: also checked on complex input)
UNARY = {
    "negative": (REAL, True), "positive": (REAL, True), "square": (REAL, True),
    "sqrt": (POS, True), "cbrt": (nonzero(), False), "reciprocal": (nonzero(), True),
    "exp": (REAL, True), "expm1": (REAL, True), "exp2": (REAL, True), "log": (POS, True),
    "log1p": (uniform(-0.5, 2), True), "log2": (POS, True), "log10": (POS, True),
    "sin": (REAL, True), "cos": (REAL, True), "tan": (uniform(-1.2, 1.2), True),
    "arcsin": (UNIT, True), "arccos": (UNIT, True), "arctan": (REAL, True),
    "sinh": (REAL, True), "cosh": (REAL, True), "tanh": (REAL, True),
    "arcsinh": (REAL, True), "arccosh": (uniform(1.2, 3), True), "arctanh": (UNIT, True),
    "deg2rad": (REAL, False), "rad2deg": (REAL, False), "radians": (REAL, False),
    "degrees": (REAL, False), "sinc": (nonzero(0.1, 2.0), False),
    "sign": (nonzero(), False), "floor": (frac, False), "ceil": (frac, False),
    "rint": (frac, False), "trunc": (frac, False), "round": (frac, False),
    "around": (frac, False), "fabs": (nonzero(), False), "abs": (nonzero(), False),
    "absolute": (nonzero(), False), "real": (REAL, False), "imag": (REAL, False),
    "conj": (REAL, False), "conjugate": (REAL, False),
}

# Not holomorphic, checked on complex input (real-linear derivatives).
COMPLEX_PARTS = ["real", "imag", "conj", "conjugate", "abs", "absolute", "angle"]


def divisor_pair(rng, s1, s2):
    """(x, y) with |y| in [0.5, 2] and every x / y at least 0.1 from an integer (mod, fmod...)."""
    while True:
        x, y = uniform(-4, 4)(rng, s1), nonzero(0.5, 2.0)(rng, s2)
        r = np.asarray(x / y) % 1.0
        if np.all((r > 0.1) & (r < 0.9)):
            return x, y


def pairs(da, db):
    return lambda rng, s1, s2: (da(rng, s1), db(rng, s2))


# name: (pair domain, holomorphic)
BINARY = {
    "add": (pairs(REAL, REAL), True), "subtract": (pairs(REAL, REAL), True),
    "multiply": (pairs(REAL, REAL), True), "divide": (pairs(REAL, nonzero()), True),
    "true_divide": (pairs(REAL, nonzero()), True), "power": (pairs(POS, REAL), True),
    "float_power": (pairs(POS, REAL), False), "arctan2": (pairs(nonzero(), nonzero()), False),
    "hypot": (pairs(nonzero(), nonzero()), False), "logaddexp": (pairs(REAL, REAL), False),
    "logaddexp2": (pairs(REAL, REAL), False), "maximum": (pairs(REAL, REAL), False),
    "minimum": (pairs(REAL, REAL), False), "fmax": (pairs(REAL, REAL), False),
    "fmin": (pairs(REAL, REAL), False), "remainder": (divisor_pair, False),
    "mod": (divisor_pair, False), "fmod": (divisor_pair, False),
    "floor_divide": (divisor_pair, False),
}

# Tested by their own tests below.
OTHERS = {"where", "clip", "angle", "astype"}
# Tested in test_elementwise_more.py.
MORE = {
    "copysign", "heaviside", "nextafter", "spacing", "i0", "gcd", "lcm", "left_shift",
    "right_shift", "bitwise_count", "ldexp", "frexp", "modf", "divmod", "nan_to_num",
}
NONDIFF = {
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "invert", "isnan", "isfinite", "isinf", "signbit", "zeros_like_value", "nonzero",
}

UNARY_SHAPES = [(), (2, 3)]
BINARY_SHAPES = [((), ()), ((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), (3,)), ((), (2, 3)),
                 ((2, 3), ())]


def _seed(*key) -> int:
    return zlib.crc32(repr(key).encode())


def _ref(name):
    return getattr(np, name)


def _args_of(x):
    return x if isinstance(x, tuple) else (x,)


def test_every_name_in_all_is_tested():
    tested = set(UNARY) | set(BINARY) | OTHERS | NONDIFF | MORE
    assert set(ew.__all__) == tested, (
        f"untested: {sorted(set(ew.__all__) - tested)}; stale: {sorted(tested - set(ew.__all__))}"
    )


# --- unary -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_value_and_grads(name, shape):
    domain, _ = UNARY[name]
    rng = np.random.default_rng(_seed(name, shape))
    x = np.asarray(domain(rng, shape), dtype=float)
    fn = getattr(dnp, name)
    np.testing.assert_allclose(fn(x), _ref(name)(x), rtol=1e-15, atol=0)
    check_grads(fn, (x,), order=2)


@pytest.mark.parametrize("name", sorted(n for n, (_, holo) in UNARY.items() if holo))
def test_unary_holomorphic_on_complex_input(name):
    rng = np.random.default_rng(1)
    z = cplx(rng, (4,))
    fn = getattr(dnp, name)
    np.testing.assert_allclose(fn(z), _ref(name)(z), rtol=1e-15, atol=0)
    check_grads(fn, (z,), order=2)
    # holomorphic: the JVP is multiplication by f'(z), for real and imaginary tangents alike
    t = np.ones_like(z)
    _, d_re = diffopt.jvp(fn, (z,), (t,))
    _, d_im = diffopt.jvp(fn, (z,), (1j * t,))
    np.testing.assert_allclose(d_im, 1j * d_re, rtol=1e-12)


@pytest.mark.parametrize("name", COMPLEX_PARTS)
def test_complex_parts_on_complex_input(name):
    rng = np.random.default_rng(2)
    z = cplx(rng, (2, 3))
    fn = getattr(dnp, name)
    np.testing.assert_allclose(fn(z), _ref(name)(z), rtol=1e-15, atol=0)
    check_grads(fn, (z,), order=2)
    check_grads(fn, (z[0, 0],), order=2)


def test_complex_parts_worked_values():
    z = 3.0 + 4.0j
    assert diffopt.grad(dnp.abs)(z) == pytest.approx((3 - 4j) / 5)  # JAX's convention: conj(z)/|z|
    assert diffopt.grad(lambda z: dnp.real(z * z))(z) == pytest.approx(2 * z)
    assert diffopt.grad(dnp.imag)(z) == pytest.approx(-1j)
    # angle = atan2(y, x): d/dx = -y/r**2, d/dy = x/r**2; the gradient is d/dx - i d/dy
    np.testing.assert_allclose(diffopt.grad(dnp.angle)(1.0 + 1.0j), -0.5 - 0.5j)
    assert dnp.angle(1j, deg=True) == pytest.approx(90.0)


def test_piecewise_constant_functions_have_zero_derivative():
    x = np.array([-1.3, 0.2, 2.7])
    for name in ("sign", "floor", "ceil", "rint", "trunc", "round"):
        fn = getattr(dnp, name)
        g = diffopt.grad(lambda v, fn=fn: dnp.sum(fn(v) * v))(x)
        np.testing.assert_array_equal(g, _ref(name)(x))  # d(f(x) x) = f(x) when f' = 0


def test_round_decimals():
    x = np.array([1.2345, -2.5678])
    np.testing.assert_array_equal(dnp.round(x, 2), np.round(x, 2))
    check_grads(lambda v: dnp.round(v, 2) * v, (x,), order=2)


def test_sinc_at_zero():
    assert dnp.sinc(0.0) == 1.0
    assert diffopt.grad(dnp.sinc)(0.0) == 0.0
    _, t = diffopt.jvp(dnp.sinc, (np.zeros(3),), (np.ones(3),))
    np.testing.assert_array_equal(t, 0.0)


def test_sinc_second_derivative_at_zero():
    h = diffopt.grad(diffopt.grad(dnp.sinc))(0.0)
    assert h == pytest.approx(-np.pi**2 / 3, rel=1e-12)


# --- binary ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_value_and_grads(name, shapes):
    domain, _ = BINARY[name]
    rng = np.random.default_rng(_seed(name, shapes))
    x, y = domain(rng, *shapes)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    fn = getattr(dnp, name)
    out = fn(x, y)
    assert np.shape(out) == np.broadcast_shapes(x.shape, y.shape)
    np.testing.assert_allclose(out, _ref(name)(x, y), rtol=1e-15, atol=0)
    check_grads(fn, (x, y), order=2)


@pytest.mark.parametrize("name", sorted(n for n, (_, holo) in BINARY.items() if holo))
def test_binary_holomorphic_on_complex_input(name):
    rng = np.random.default_rng(3)
    x, y = cplx(rng, (2, 3)), cplx(rng, (3,))
    fn = getattr(dnp, name)
    np.testing.assert_allclose(fn(x, y), _ref(name)(x, y), rtol=1e-14)
    check_grads(fn, (x, y), order=2)
    check_grads(fn, (x, 2.0 + 0.5j), order=2)


def test_binary_with_python_scalar_constants():
    x = np.array([0.5, 1.5, 2.5])
    check_grads(lambda v: 2.0 ** v + v**3 - 1.0 / v + v % 0.7, (x,), order=2)
    check_grads(lambda v: dnp.power(v, 2), (-x,), order=2)  # integer power of negatives


def test_power_at_zero_base():
    # d/dy 0**y is taken as 0 (the limit for y > 0), as JAX does; d/dx x**y at 0 for y > 1 is 0.
    assert diffopt.grad(lambda y: dnp.power(0.0, y))(2.0) == 0.0
    assert diffopt.grad(lambda x: dnp.power(x, 3.0))(0.0) == 0.0


def test_ties_and_nans_in_maximum_family():
    # at a tie the derivative is split evenly; fmax/fmin pass it to the non-NaN argument
    assert diffopt.grad(lambda x: dnp.maximum(x, 1.0))(1.0) == 0.5
    assert diffopt.grad(lambda x: dnp.minimum(x, 1.0))(1.0) == 0.5
    assert diffopt.grad(lambda x: dnp.fmax(x, np.nan))(1.0) == 1.0
    assert diffopt.grad(lambda x: dnp.fmin(np.nan, x))(1.0) == 1.0
    assert diffopt.grad(lambda x: dnp.fmax(x, 0.0))(-1.0) == 0.0


# --- where, clip, astype -----------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((3,), (2, 3)), ((), (2, 3))], ids=str)
def test_where(shapes):
    rng = np.random.default_rng(4)
    c = rng.random((2, 3)) > 0.5
    x, y = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    np.testing.assert_array_equal(dnp.where(c, x, y), np.where(c, x, y))
    check_grads(lambda a, b: dnp.where(c, a, b), (x, y), order=2)
    check_grads(lambda a: dnp.where(c, a * a, 0.0), (x,), order=2)
    g = diffopt.grad(lambda a: dnp.sum(dnp.where(c, a, -a)))(np.ones((2, 3)))
    np.testing.assert_array_equal(g, np.where(c, 1.0, -1.0))


def test_clip():
    rng = np.random.default_rng(5)
    # x near -1.5, 0 and 1.5 (below, inside, above), bounds near -0.7 and 0.7
    x = rng.choice([-1.5, 0.0, 1.5], (2, 3)) + rng.uniform(-0.3, 0.3, (2, 3))
    lo, hi = -0.7 + rng.uniform(-0.1, 0.1, 3), 0.7 + rng.uniform(-0.1, 0.1, (2, 3))
    np.testing.assert_array_equal(dnp.clip(x, lo, hi), np.clip(x, lo, hi))
    check_grads(dnp.clip, (x, lo, hi), order=2)
    check_grads(lambda v: dnp.clip(v, None, 0.5), (x,), order=2)
    check_grads(lambda v: dnp.clip(v, -0.5, None), (x,), order=2)
    g = diffopt.grad(lambda v: dnp.sum(dnp.clip(v, lo, hi)))(x)
    np.testing.assert_array_equal(g, (x >= lo) & (x <= hi))


def test_astype():
    x32 = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    out = dnp.astype(x32, np.float64)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, x32.astype(np.float64))
    check_grads(lambda v: dnp.astype(v, np.float64) ** 2, (x32,), order=1, eps=1e-2)
    x = np.array([0.5, -1.25, 2.0])
    check_grads(lambda v: dnp.astype(v, np.complex128) * (1 + 2j), (x,), order=1)
    assert dnp.astype(x, np.float64) is x  # no-op conversion
    _, t = diffopt.jvp(lambda v: dnp.astype(v, np.int64), (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, 0)


def test_astype_second_order():
    x = np.array([0.5, -1.25, 2.0])
    check_grads(lambda v: dnp.astype(v, np.complex128) * (1 + 2j), (x,), order=2)
    gg = diffopt.jvp(diffopt.grad(lambda v: dnp.sum(dnp.astype(v, np.float32) ** 3)), (x,),
                     (np.ones(3),))[1]
    np.testing.assert_allclose(gg, 6 * x, rtol=1e-6)


def test_astype_to_integer_has_zero_gradient():
    g = diffopt.grad(lambda v: dnp.sum(dnp.astype(v, np.int64) * 1.0))(np.array([0.5, 1.5]))
    np.testing.assert_array_equal(g, 0.0)


def test_astype_complex_to_real_is_the_real_part_without_warning():
    z = np.array([0.5 + 1j, -1.25 - 0.5j])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(dnp.astype(z, np.float64), z.real)
        check_grads(lambda w: dnp.astype(w * w, np.float64), (z,), order=1)


# --- batching ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(UNARY))
def test_vmap_unary_equals_loop(name):
    rng = np.random.default_rng(6)
    xs = np.asarray(UNARY[name][0](rng, (4, 3)), dtype=float)
    fn = getattr(dnp, name)
    expected = np.stack([fn(x) for x in xs])
    np.testing.assert_allclose(diffopt.vmap(fn)(xs), expected, rtol=1e-15)
    g = lambda x: diffopt.grad(lambda v: dnp.sum(fn(v)))(x)
    np.testing.assert_allclose(diffopt.vmap(g)(xs), np.stack([g(x) for x in xs]), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_vmap_binary_equals_loop(name):
    rng = np.random.default_rng(7)
    xs, ys = BINARY[name][0](rng, (4, 3), (4, 3))
    fn = getattr(dnp, name)
    pairs_ = list(zip(xs, ys, strict=True))
    np.testing.assert_allclose(diffopt.vmap(fn)(xs, ys), np.stack([fn(x, y) for x, y in pairs_]),
                               rtol=1e-15)
    y0 = ys[0]
    np.testing.assert_allclose(diffopt.vmap(fn, in_axes=(0, None))(xs, y0),
                               np.stack([fn(x, y0) for x in xs]), rtol=1e-15)
    x0 = xs[0]
    np.testing.assert_allclose(diffopt.vmap(fn, in_axes=(None, 0))(x0, ys),
                               np.stack([fn(x0, y) for y in ys]), rtol=1e-15)
    g = lambda x, y: diffopt.grad(lambda a, b: dnp.sum(fn(a, b)), argnums=(0, 1))(x, y)
    gb = diffopt.vmap(g)(xs, ys)
    for k in range(2):
        np.testing.assert_allclose(gb[k], np.stack([g(x, y)[k] for x, y in pairs_]), rtol=1e-14)


def test_vmap_where_and_clip():
    rng = np.random.default_rng(8)
    xs, c = rng.normal(size=(4, 3)), rng.random((4, 3)) > 0.5
    np.testing.assert_array_equal(diffopt.vmap(lambda ci, x: dnp.where(ci, x, -x))(c, xs),
                                  np.where(c, xs, -xs))
    np.testing.assert_array_equal(diffopt.vmap(lambda x: dnp.clip(x, -0.5, 0.5))(xs),
                                  np.clip(xs, -0.5, 0.5))


def test_jacfwd_equals_jacrev_on_a_composite():
    rng = np.random.default_rng(9)
    x = rng.uniform(0.5, 1.5, 4)

    def f(v):
        return (dnp.tanh(v) * dnp.log(v) + dnp.hypot(v, 1.0) / dnp.cosh(v[::-1])
                + dnp.arctan2(v, 2.0))

    np.testing.assert_allclose(diffopt.jacfwd(f)(x), diffopt.jacrev(f)(x), rtol=1e-13)
