"""The rest of NumPy's elementwise functions, their NumPy 2 aliases, predicates and dtype helpers,
I/O and printing pass-throughs, and the messages for casts of traced values to Python numbers.

Values against NumPy (dtype and shape too), derivatives against central differences (check_grads,
forward and reverse, order 2) where they exist, complex inputs where NumPy accepts them, ``vmap``
against a Python loop, and traced inputs inside ``grad``/``vmap`` for the pass-throughs.
"""

import io as _io
import zlib

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt import grad, jvp, vjp, vmap
from diffopt.numerical import check_grads
from diffopt.numpy import elementwise as ew


def rng_for(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def nonzero(rng, s, lo=0.3, hi=2.0):
    return rng.uniform(lo, hi, s) * rng.choice([-1.0, 1.0], s)


def away_from_powers_of_two(rng, s):
    """|x| in [1.1, 1.9] * 2**k: spacing is constant there."""
    return nonzero(rng, s, 1.1, 1.9) * 2.0 ** rng.integers(-2, 3, s)


def assert_same(out, expected):
    """NumPy's values, dtype and shape."""
    out, expected = np.asarray(out), np.asarray(expected)
    assert out.dtype == expected.dtype and out.shape == expected.shape, (out, expected)
    np.testing.assert_array_equal(out, expected)


SHAPES = [((), ()), ((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), ())]


# --- aliases ------------------------------------------------------------------------------------
ALIASES = {
    "acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh", "atan": "arctan",
    "atan2": "arctan2", "atanh": "arctanh", "pow": "power", "bitwise_invert": "invert",
    "bitwise_not": "invert", "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift", "permute_dims": "transpose",
}


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()))
def test_aliases_are_the_older_functions_as_in_numpy(alias, name):
    assert getattr(dnp, alias) is getattr(dnp, name)
    assert getattr(np, alias) is getattr(np, name)  # the same pairing as NumPy's
    assert alias in dnp.__all__


def test_aliases_values_and_grads():
    x = np.array([0.1, -0.4, 0.7])
    for alias in ("acos", "asin", "atan", "asinh", "atanh"):
        np.testing.assert_array_equal(getattr(dnp, alias)(x), getattr(np, alias)(x))
        check_grads(getattr(dnp, alias), (x,), order=2)
    check_grads(dnp.acosh, (x + 1.5,), order=2)
    check_grads(dnp.atan2, (x, x[::-1] + 1.0), order=2)
    check_grads(dnp.pow, (x + 1.0, x), order=2)
    a = np.arange(24.0).reshape(2, 3, 4)
    assert_same(dnp.permute_dims(a, (2, 0, 1)), np.permute_dims(a, (2, 0, 1)))
    check_grads(lambda v: dnp.permute_dims(v, (1, 2, 0)), (a,), order=2)


def test_concat():
    a, b = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    for axis in (0, 1, -1, None):
        assert_same(dnp.concat([a, b], axis=axis), np.concat([a, b], axis=axis))
    assert_same(dnp.concat([a, b], dtype=np.float32), np.concat([a, b], dtype=np.float32))
    i = np.arange(3)
    assert_same(dnp.concat([i, i], dtype=float), np.concat([i, i], dtype=float))
    with pytest.raises(TypeError, match="according to the rule 'same_kind'"):
        dnp.concat([a, b], dtype=np.int64)
    np.concat([a, b], dtype=np.int64, casting="unsafe")  # NumPy allows it, and so do we:
    assert_same(dnp.concat([a, b], dtype=np.int64, casting="unsafe"),
                np.concat([a, b], dtype=np.int64, casting="unsafe"))
    with pytest.raises(TypeError, match="out="):
        dnp.concat([a, b], out=np.empty((4, 3)))
    check_grads(lambda u, v: dnp.concat([u, v], axis=1), (a, b), order=2)
    check_grads(lambda u: dnp.concat([u, u * u], dtype=np.complex128) * (1 + 2j), (b,), order=2)


# --- differentiable elementwise functions ------------------------------------------------------
BINARY = {  # name: (x domain, y domain)
    "copysign": (nonzero, nonzero),
    "heaviside": (nonzero, lambda rng, s: rng.uniform(-2, 2, s)),
    "nextafter": (lambda rng, s: rng.uniform(-2, 2, s), lambda rng, s: rng.uniform(-2, 2, s)),
}


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_grads(name, shapes):
    rng = rng_for(name, shapes)
    x, y = (np.asarray(d(rng, s), dtype=float) for d, s in zip(BINARY[name], shapes, strict=True))
    fn = getattr(dnp, name)
    assert_same(fn(x, y), getattr(np, name)(x, y))
    check_grads(fn, (x, y), order=2)


def test_copysign_derivative_follows_the_signs():
    x, y = np.array([1.5, -1.5, 1.5, -1.5]), np.array([2.0, 2.0, -2.0, -2.0])
    g = grad(lambda a: dnp.sum(dnp.copysign(a, y)))(x)
    np.testing.assert_array_equal(g, [1.0, -1.0, -1.0, 1.0])
    assert grad(lambda b: dnp.copysign(1.5, b))(-2.0) == 0.0
    assert_same(dnp.copysign(np.float32(2), np.float32(-1)), np.copysign(np.float32(2), -1))


def test_heaviside_derivative_is_in_h0_at_zero():
    x, h0 = np.array([-1.0, 0.0, 2.0, 0.0]), np.array([0.3, 0.5, 0.7, 0.9])
    assert_same(dnp.heaviside(x, h0), np.heaviside(x, h0))
    g = grad(lambda h: dnp.sum(dnp.heaviside(x, h)))(h0)
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0, 1.0])
    check_grads(lambda h: dnp.heaviside(x, h), (h0,), order=2)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.heaviside(v, h0)))(x + 0.5), 0.0)


def test_nextafter_and_spacing():
    rng = rng_for("spacing")
    x = away_from_powers_of_two(rng, (2, 3))
    assert_same(dnp.spacing(x), np.spacing(x))
    assert_same(dnp.spacing(np.float32(1)), np.spacing(np.float32(1)))
    check_grads(dnp.spacing, (x,), order=2)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.spacing(v)))(x), 0.0)
    assert_same(dnp.nextafter(1.0, 2.0), np.nextafter(1.0, 2.0))
    assert grad(dnp.nextafter, argnums=(0, 1))(1.0, 2.0) == (1.0, 0.0)


def test_ldexp():
    rng = rng_for("ldexp")
    x, n = rng.normal(size=(2, 3)), rng.integers(-4, 5, (3,))
    assert_same(dnp.ldexp(x, n), np.ldexp(x, n))
    x32 = x.astype(np.float32)
    assert_same(dnp.ldexp(x32, n), np.ldexp(x32, n))
    check_grads(lambda v: dnp.ldexp(v, n), (x,), order=2)
    check_grads(lambda v: dnp.ldexp(v * v, 3), (1.5,), order=2)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.ldexp(v, n)))(x),
                                  np.broadcast_to(2.0 ** n, x.shape))
    t = jvp(lambda v: dnp.ldexp(v, n), (x32,), (np.ones_like(x32),))[1]
    assert t.dtype == np.float32  # the tangent keeps x's dtype


@pytest.mark.parametrize("x", [np.array([3.0, -0.25, 0.0, -0.0, 1e-310, np.inf, -np.inf, np.nan]),
                               np.array([3.0, -5.5], np.float32), 7.0], ids=str)
def test_frexp_modf_values(x):
    for name in ("frexp", "modf"):
        out, expected = getattr(dnp, name)(x), getattr(np, name)(x)
        assert len(out) == 2
        for o, e in zip(out, expected, strict=True):
            assert_same(o, e)
            np.testing.assert_array_equal(np.signbit(o), np.signbit(e))  # signed zeros too


def test_frexp_modf_divmod_grads():
    rng = rng_for("frexp")
    x = nonzero(rng, (2, 3), 0.1, 9.0)
    check_grads(lambda v: dnp.frexp(v)[0], (x,), order=2)
    check_grads(lambda v: dnp.modf(v)[0] + dnp.modf(v)[1], (x,), order=2)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.modf(v)[0]))(x), 1.0)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.modf(v)[1]))(x), 0.0)
    _, e = np.frexp(x)
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(dnp.frexp(v)[0]))(x), 2.0 ** -e)
    y = np.array([0.7, -1.3, 2.1])
    for out, expected in zip(dnp.divmod(x, y), np.divmod(x, y), strict=True):
        assert_same(out, expected)
    check_grads(lambda a, b: dnp.divmod(a, b)[1] + dnp.divmod(a, b)[0], (x, y), order=2)


def test_i0_values_and_grads():
    rng = rng_for("i0")
    x = rng.uniform(-4, 4, (2, 3))
    np.testing.assert_allclose(dnp.i0(x), np.i0(x), rtol=1e-15, atol=0)
    assert_same(dnp.i0(x.astype(np.float32)), np.i0(x.astype(np.float32)))
    assert_same(dnp.i0(np.arange(3)), np.i0(np.arange(3)))
    for v in (x, 1.3, 0.0, np.array([0.0, 1e-9, -2.0])):
        check_grads(dnp.i0, (v,), order=2)
        check_grads(ew._i1, (v,), order=2)
    with pytest.raises(TypeError, match="complex"):
        dnp.i0(np.array([1j]))


def test_i0_derivatives_at_zero():
    # i0 = 1 + x^2/4 + x^4/64 + ...: derivatives 0, 1/2, 0, 3/8 at 0; i1's limit i1'(0) = 1/2
    d = dnp.i0
    for k, expected in enumerate([0.0, 0.5, 0.0, 0.375], start=1):
        d = grad(d)
        assert d(0.0) == pytest.approx(expected, rel=1e-14, abs=1e-15), k
    assert grad(ew._i1)(0.0) == 0.5
    np.testing.assert_allclose(grad(dnp.i0)(2.0), ew._i1(2.0), rtol=1e-15)


def test_nan_to_num_values():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    for kw in ({}, {"nan": 5.0}, {"posinf": 9.0, "neginf": -9.0}, {"nan": np.float64(1.5)}):
        assert_same(dnp.nan_to_num(x, **kw), np.nan_to_num(x, **kw))
        assert_same(dnp.nan_to_num(x.astype(np.float32), **kw),
                    np.nan_to_num(x.astype(np.float32), **kw))
    z = np.array([np.nan + 1j, complex(1.0, np.inf), 2 - 3j])
    assert_same(dnp.nan_to_num(z, neginf=3.0), np.nan_to_num(z, neginf=3.0))
    assert_same(dnp.nan_to_num(np.arange(3)), np.nan_to_num(np.arange(3)))
    y = x.copy()
    assert dnp.nan_to_num(y, copy=False) is y and np.isfinite(y).all()  # in place, as NumPy


def test_nan_to_num_derivative_is_one_where_finite():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    mask = np.isfinite(x).astype(float)
    g = grad(lambda v: dnp.sum(dnp.nan_to_num(v, posinf=1.0, neginf=-1.0) * 3.0))(x)
    np.testing.assert_array_equal(g, 3 * mask)
    np.testing.assert_array_equal(jvp(dnp.nan_to_num, (x,), (np.ones(5),))[1], mask)
    check_grads(lambda v: dnp.nan_to_num(v * v), (np.array([0.5, -1.5]),), order=2)
    # complex: the real and imaginary parts separately, in both modes
    z = np.array([np.nan + 1j, complex(1.0, np.inf), 2 - 3j])
    t = jvp(dnp.nan_to_num, (z,), (np.full(3, 1 + 1j),))[1]
    np.testing.assert_array_equal(t, [1j, 1, 1 + 1j])
    _, back = vjp(dnp.nan_to_num, z)
    np.testing.assert_array_equal(back(np.full(3, 2 - 5j))[0], [-5j, 2, 2 - 5j])
    check_grads(dnp.nan_to_num, (np.array([0.5 + 1j, -1.5 - 0.5j]),), order=2)
    with pytest.raises(NotImplementedError, match="traced nan=, posinf= or neginf="):
        grad(lambda v: dnp.sum(dnp.nan_to_num(x, nan=v)))(1.0)


def test_vmap_equals_loop():
    rng = rng_for("vmap")
    xs, ys = nonzero(rng, (4, 3)), nonzero(rng, (4, 3))
    xs[1, 1], xs[2, 0] = np.nan, np.inf
    n = rng.integers(-3, 4, (4, 3))
    cases = [
        (dnp.copysign, (xs, ys)), (dnp.heaviside, (xs, ys)), (dnp.nextafter, (xs, ys)),
        (dnp.spacing, (xs,)), (dnp.i0, (ys,)), (dnp.nan_to_num, (xs,)), (dnp.ldexp, (ys, n)),
        (lambda v: dnp.frexp(v)[0] + dnp.frexp(v)[1], (ys,)), (lambda v: dnp.modf(v)[0], (ys,)),
        (dnp.gcd, (n, n + 5)), (dnp.lcm, (n, n + 5)), (dnp.left_shift, (n + 3, 2)),
        (dnp.bitwise_count, (n,)), (dnp.isposinf, (xs,)), (dnp.isclose, (xs, ys)),
        (dnp.allclose, (xs, xs)), (dnp.array_equal, (xs, ys)), (dnp.iscomplex, (xs,)),
    ]
    for fn, args in cases:
        batched = [a for a in args if np.ndim(a)]
        in_axes = tuple(0 if np.ndim(a) else None for a in args)
        loop = np.stack([np.asarray(fn(*(a[b] if np.ndim(a) else a for a in args)))
                         for b in range(4)])
        assert_same(vmap(fn, in_axes=in_axes)(*args), loop)
        assert batched


# --- integer (non-differentiable) functions ----------------------------------------------------
def test_integer_functions():
    a, b = np.array([12, -18, 7, 0]), np.array([8, 12, -3, 5])
    for name in ("gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor"):
        assert_same(getattr(dnp, name)(a, b), getattr(np, name)(a, b))
    s = np.array([0, 1, 3])
    for name in ("left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift"):
        assert_same(getattr(dnp, name)(a[:3], s), getattr(np, name)(a[:3], s))
    for name in ("invert", "bitwise_not", "bitwise_invert", "bitwise_count"):
        assert_same(getattr(dnp, name)(a), getattr(np, name)(a))
    assert_same(dnp.bitwise_count(np.uint8(255)), np.bitwise_count(np.uint8(255)))
    # inside grad they are constants
    g = grad(lambda v: dnp.sum(v * dnp.gcd(a, b)))(np.ones(4))
    np.testing.assert_array_equal(g, np.gcd(a, b))


# --- predicates and dtype helpers --------------------------------------------------------------
PAIRS = [
    (np.array([1.0, 2.0, np.nan]), np.array([1.0, 2.0 + 1e-9, np.nan])),
    (np.array([1.0, 2.0]), np.array([1.0, 2.1])),
    (np.array([[1.0, 2.0]]), np.array([1.0, 2.0])),
    (np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0])),
    (np.array([1 + 1j, np.nan]), np.array([1 + 1j, complex(np.nan, 1)])),
    (np.arange(3), np.arange(3)),
    (1.0, 1.0 + 1e-12),
]


@pytest.mark.parametrize("a,b", PAIRS, ids=range(len(PAIRS)))
def test_comparison_predicates_match_numpy(a, b):
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
        names = ("array_equal", "isclose", "allclose")
    except ValueError:
        names = ("array_equal",)
    for equal_nan in (False, True):
        for name in names:
            out = getattr(dnp, name)(a, b, equal_nan=equal_nan)
            expected = getattr(np, name)(a, b, equal_nan=equal_nan)
            assert type(out) is type(expected), name
            assert_same(out, expected)
    assert dnp.array_equiv(a, b) is np.array_equiv(a, b)
    if "isclose" in names:
        assert_same(dnp.isclose(a, b, rtol=0.1, atol=0.0), np.isclose(a, b, rtol=0.1, atol=0.0))


def test_elementwise_predicates_match_numpy():
    x = np.array([np.inf, -np.inf, 1.0, np.nan, -0.0])
    z = np.array([1.0 + 0j, 1j, np.inf + 0j])
    for name in ("isposinf", "isneginf"):
        assert_same(getattr(dnp, name)(x), getattr(np, name)(x))
        with pytest.raises(TypeError, match="out="):
            getattr(dnp, name)(x, out=np.empty(5, bool))
    for name in ("iscomplex", "isreal"):
        for v in (x, z, 1j, 2.0):
            assert_same(getattr(dnp, name)(v), getattr(np, name)(v))
    for name in ("iscomplexobj", "isrealobj"):
        for v in (x, z, 1j, 2.0, [1, 2j]):
            assert getattr(dnp, name)(v) is getattr(np, name)(v)


def test_dtype_helpers_match_numpy():
    for v in (1.0, 3, "s", np.float32(1), np.array(1.0), [1.0], None):
        assert dnp.isscalar(v) is np.isscalar(v)
    for v in ([1], 2.0, np.array(1.0), np.ones(2), "ab"):
        assert dnp.iterable(v) is np.iterable(v)
    for args in ((np.float32, "real floating"), (np.int8, "integral"), (np.float64, "bool"),
                 (np.complex64, ("real floating", "complex floating"))):
        assert dnp.isdtype(*args) is np.isdtype(*args)
    for args in ((np.float32, np.floating), (np.int8, np.unsignedinteger), ("f8", float)):
        assert dnp.issubdtype(*args) == np.issubdtype(*args)
    for args in ((np.float32, np.float64), (np.float64, np.float32), (np.ones(2), np.int8),
                 (np.int64, np.float32, "same_kind")):
        assert dnp.can_cast(*args) is np.can_cast(*args)
    assert dnp.promote_types("f4", "i8") == np.promote_types("f4", "i8")


def test_predicates_on_traced_values():
    def f(x):
        assert dnp.allclose(x, x + 1e-12) is True  # a plain bool under grad, for control flow
        assert dnp.array_equal(x, x) is True and dnp.array_equiv(x, x[None]) is True
        assert dnp.iscomplexobj(x) is False and dnp.isrealobj(x) is True
        assert dnp.isscalar(x) is False and dnp.iterable(x) is True
        assert dnp.can_cast(x, np.float32) is False and dnp.can_cast(x, np.complex128) is True
        np.testing.assert_array_equal(dnp.isclose(x, 1.0), [True, False])
        return dnp.sum(x * x)

    np.testing.assert_array_equal(grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])
    assert grad(lambda z: dnp.real(z) * dnp.iscomplexobj(z))(1.0 + 2j) == 1.0
    assert grad(lambda x: dnp.iterable(x) + x)(1.0) == 1.0  # a 0-d traced value: not iterable
    # under vmap, one answer per batch element
    xs = np.array([[1.0, 2.0], [1.0, 3.0]])
    np.testing.assert_array_equal(vmap(lambda x: dnp.allclose(x, [1.0, 2.0]))(xs), [True, False])
    np.testing.assert_array_equal(vmap(lambda x: dnp.array_equiv(x, 1.0))(np.ones((2, 3))), True)


# --- I/O and printing --------------------------------------------------------------------------
def test_printing():
    x = np.array([1.0, 2.5, np.pi])
    assert dnp.array_repr(x) == np.array_repr(x)
    assert dnp.array_str(x, precision=2) == np.array_str(x, precision=2)
    seen = []
    grad(lambda v: seen.append((dnp.array_repr(v), dnp.array_str(v))) or dnp.sum(v))(x)
    jvp(lambda v: seen.append((dnp.array_repr(v), dnp.array_str(v))) or v, (x,), (x,))
    assert seen == [(np.array_repr(x), np.array_str(x))] * 2
    with pytest.raises(TypeError, match="array_str was called on a traced value inside vmap"):
        vmap(dnp.array_str)(np.ones((2, 3)))
    with dnp.printoptions(precision=2):
        assert dnp.get_printoptions()["precision"] == 2
        assert dnp.array_str(x) == "[1.   2.5  3.14]"
    assert dnp.set_printoptions is np.set_printoptions


def test_save_load_roundtrip():
    x = np.array([1.0, 2.5])
    f = _io.BytesIO()
    grad(lambda v: dnp.save(f, v) or dnp.sum(v))(x)
    f.seek(0)
    np.testing.assert_array_equal(dnp.load(f), x)
    f = _io.BytesIO()
    dnp.savez(f, x, b=np.arange(3))
    f.seek(0)
    data = dnp.load(f)
    np.testing.assert_array_equal(data["arr_0"], x)
    np.testing.assert_array_equal(data["b"], np.arange(3))
    with pytest.raises(TypeError, match="savez was called on a traced value inside vmap"):
        vmap(lambda v: dnp.savez(_io.BytesIO(), v))(np.ones((2, 3)))
    with pytest.raises(TypeError, match="inside vmap"):
        vmap(lambda v: dnp.save(_io.BytesIO(), v))(np.ones((2, 3)))


def test_array_construction_passthroughs():
    buf = np.arange(4.0).tobytes()
    assert_same(dnp.frombuffer(buf), np.frombuffer(buf))
    assert_same(dnp.fromstring("1 2 3", sep=" "), np.fromstring("1 2 3", sep=" "))
    assert_same(dnp.fromiter(range(4), float), np.fromiter(range(4), float))
    assert_same(dnp.fromiter(iter([1, 2, 3]), np.int8, count=2), np.fromiter([1, 2], np.int8))
    assert_same(dnp.from_dlpack(np.arange(3.0)), np.from_dlpack(np.arange(3.0)))
    add = dnp.frompyfunc(lambda a, b: a + b, 2, 1)
    assert_same(add(np.arange(3), 1), np.frompyfunc(lambda a, b: a + b, 2, 1)(np.arange(3), 1))
    assert add.nin == 2 and add.reduce(np.arange(4)) == 6
    with pytest.raises(TypeError, match="fromiter met a traced value"):
        grad(lambda v: dnp.sum(dnp.fromiter(iter(v), float)))(np.ones(2))
    with pytest.raises(TypeError, match="frompyfunc ufunc .* traced value"):
        grad(lambda v: add(v, 1.0))(1.0)
    with pytest.raises(TypeError, match="from_dlpack was called on a traced value"):
        grad(dnp.from_dlpack)(1.0)


def test_fromfile(tmp_path):
    path = tmp_path / "x.bin"
    np.arange(5.0).tofile(path)
    assert_same(dnp.fromfile(path), np.fromfile(path))


# --- casts of traced values ----------------------------------------------------------------------
BITS = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [1, 1, 1, 1, 1]])


@pytest.mark.parametrize("kwargs",
                         [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "bitorder": "little"}])
def test_packbits_and_unpackbits_match_numpy(kwargs):
    for a in (BITS, BITS.astype(bool), np.array(1), np.array([], dtype=np.uint8)):
        if "axis" in kwargs and not -a.ndim <= kwargs["axis"] < a.ndim:
            with pytest.raises(np.exceptions.AxisError):
                dnp.packbits(a, **kwargs)
            continue
        packed = dnp.packbits(a, **kwargs)
        same = np.packbits(a, **kwargs)
        assert packed.dtype == same.dtype and np.array_equal(packed, same)
    u = np.packbits(BITS, axis=1)
    for count in (None, 3, 8, -2):
        got, want = dnp.unpackbits(u, axis=1, count=count), np.unpackbits(u, axis=1, count=count)
        assert got.shape == want.shape and np.array_equal(got, want)
    assert np.array_equal(dnp.unpackbits(u), np.unpackbits(u))


def test_packbits_on_traced_values_and_under_vmap():
    u = np.packbits(BITS, axis=1)
    assert np.array_equal(vmap(dnp.unpackbits)(u), np.stack([np.unpackbits(r) for r in u]))
    assert np.array_equal(vmap(lambda r: dnp.packbits(r, axis=0))(BITS), np.packbits(BITS, axis=1))
    # a traced float input (inside grad) is packed by its values, with no derivative
    g = grad(lambda x: dnp.sum(x) + 0 * dnp.sum(dnp.packbits(x > 0)))(np.array([1.0, -1.0]))
    assert np.array_equal(g, [1.0, 1.0])
    with pytest.raises(np.exceptions.AxisError):
        dnp.packbits(BITS, axis=2)


def test_astype_int_inside_grad_is_an_integer_array_without_derivative():
    def f(x):
        k = x.astype(int)
        assert k.dtype == np.dtype(int) and k.shape == x.shape
        return dnp.sum(x * k)

    x = np.array([1.5, 2.5, -0.5])
    np.testing.assert_array_equal(grad(f)(x), x.astype(int))
    assert diffopt.jacfwd(f)(x).tolist() == x.astype(int).tolist()
    assert_same(vmap(lambda v: v.astype(np.int32))(np.ones((2, 3))), np.ones((2, 3), np.int32))


def test_astype_method_takes_numpys_keywords():
    x = np.array([1.5, 2.5])
    g = grad(lambda v: dnp.sum(v.astype(np.float32, copy=False, order="C") ** 2))(x)
    np.testing.assert_allclose(g, 2 * x)
    with pytest.raises(TypeError, match="according to the rule 'safe'"):
        grad(lambda v: dnp.sum(v.astype(np.float32, casting="safe")))(x)


@pytest.mark.parametrize("cast", [int, float, complex, bool], ids=lambda c: c.__name__)
def test_python_number_of_a_traced_value_says_what_to_do(cast):
    for transform in (grad, lambda f: vmap(f)):
        with pytest.raises(TypeError) as info:
            transform(lambda x: cast(x) * x)(np.ones(()) if transform is grad else np.ones(2))
        msg = str(info.value)
        assert f"{cast.__name__}() of a traced value would drop its derivative" in msg
        assert "under vmap, its batch" in msg and "diffopt.numpy" in msg
        assert "x.astype(int)" in msg and "not transformed" in msg
    with pytest.raises(TypeError, match="int\\(\\) of a traced value"):
        grad(lambda x: x * int(x.astype(int)))(1.5)  # an integer traced value is no different


@pytest.mark.parametrize("fn,args", [(dnp.sin, (0.5,)), (dnp.add, (1.0, 2.0)),
                                     (dnp.copysign, (1.0, -1.0)), (dnp.i0, (0.5,))])
def test_ufunc_keywords_are_refused_with_a_message(fn, args):
    with pytest.raises(TypeError, match="does not support out="):
        fn(*args, out=np.empty(()))
    with pytest.raises(TypeError, match=r"keyword where=; use diffopt.numpy.where"):
        fn(*args, where=np.True_)
    with pytest.raises(TypeError, match=r"keyword dtype=; cast"):
        fn(*args, dtype=np.float32)
    assert fn(*args) == getattr(np, fn.__name__)(*args)


def test_array_methods_of_traced_values():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(grad(lambda v: dnp.sum(v.copy() ** 2))(x), 2 * x)
    np.testing.assert_array_equal(grad(lambda v: v.ptp())(x), [1.0, -1.0, 0.0])
    rows = np.sort(np.stack([x, x + 1]), axis=1)
    np.testing.assert_array_equal(vmap(lambda v: v.searchsorted(2.5))(rows),
                                  [np.searchsorted(r, 2.5) for r in rows])
    for method, args in (("fill", (0.0,)), ("put", ([0], 1.0)), ("resize", ((2,),))):
        with pytest.raises(TypeError, match=r"in place, and traced values are immutable.*\.at\["):
            grad(lambda v, m=method, a=args: getattr(v, m)(*a) or dnp.sum(v))(x)
