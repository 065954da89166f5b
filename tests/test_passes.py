"""Graph passes: each pass on small graphs (equation counts, values elsewhere), simplify on
derivative programs, and the shape/dtype guards of the algebraic identities."""

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import grad, hvp, jacfwd, make_graph
from diffopt.compile import passes
from diffopt.compile.passes import algebraic, cse, dce, fold_constants, simplify
from diffopt.core.graph import Eqn, Graph, Literal, Var
from diffopt.numpy import elementwise as ew

RNG = np.random.default_rng(0)


def prims(g):
    return [e.prim.name for e in g.eqns]


def same_values(g1, g2, *args):
    out1, out2 = g1(*args), g2(*args)
    for a, b in zip(np.atleast_1d(out1), np.atleast_1d(out2)):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=0)
    return out2


# --- dce -----------------------------------------------------------------------------------------
def test_dce_drops_unused_equations_and_keeps_inputs():
    def f(x, y):
        dnp.exp(x) * y  # computed, never used
        return dnp.sin(x)

    g = make_graph(f)(1.0, 2.0)
    before = str(g)
    d = dce(g)
    assert len(g.eqns) == 3 and prims(d) == ["sin"]
    assert len(d.inputs) == 2  # the signature stays
    assert d(0.3, 5.0) == np.sin(0.3)
    assert str(g) == before  # the input graph is untouched


def test_dce_output_that_is_an_input():
    g = make_graph(lambda x: (dnp.cos(x), x)[1])(1.0)
    d = dce(g)
    assert d.eqns == [] and d(4.0) == 4.0


# --- cse -----------------------------------------------------------------------------------------
def test_cse_merges_same_primitive_inputs_and_params():
    g = make_graph(lambda x, y: dnp.sin(x) * y + y * dnp.sin(x))(1.0, 2.0)
    c = dce(cse(g))
    assert len(g.eqns) == 5 and prims(c) == ["sin", "multiply", "add"]  # y*s == s*y
    same_values(g, c, 0.7, -1.3)


def test_cse_literals_must_be_equal_with_the_same_type():
    g = make_graph(lambda x: (x + 0.5) * (x + 0.5) + (x + 0.25))(1.0)
    assert len(cse(g).eqns) == len(g.eqns) - 1
    # 0.0 and -0.0 are equal numbers but not interchangeable; 2 and 2.0 neither are merged
    g = make_graph(lambda x: [x * 0.0, x * -0.0, x * 2, x * 2.0])(np.float32(1.0))
    c = cse(g)
    assert len(c.eqns) == 4
    out = c(np.float32(-3.0))
    assert np.signbit(out[0]) and not np.signbit(out[1])


def test_cse_params_with_arrays_and_slices():
    i, j = np.array([0, 2]), np.array([1, 2])

    def f(x):
        return x[i] + x[np.array([0, 2])] + x[j] + x[1:][:2] + x[1:][:2]

    g = make_graph(f)(np.arange(4.0))
    c = dce(cse(g))
    names = prims(c)
    assert names.count("getitem") == 4  # x[i] (twice), x[j], x[1:] (twice), [:2] (twice)
    same_values(g, c, RNG.normal(size=4))


def test_cse_zeros_like_keyed_by_shape_and_dtype():
    g = make_graph(lambda x, y: dnp.zeros_like(x) + dnp.zeros_like(y) * x)(np.ones(3), np.ones(3))
    c = dce(cse(g))
    assert prims(c).count("zeros_like") == 1
    same_values(g, c, RNG.normal(size=3), RNG.normal(size=3))
    g = make_graph(lambda x, y: dnp.zeros_like(x) + dnp.zeros_like(y))(np.ones(3), np.ones(3, "f4"))
    assert prims(cse(g)).count("zeros_like") == 2


# --- fold_constants ------------------------------------------------------------------------------
def _graph(eqn_specs, inputs, outputs):
    return Graph(inputs, [Eqn(p.primitive, ins, {}, [out]) for p, ins, out in eqn_specs], outputs)


def test_fold_constants_evaluates_literal_only_equations():
    x = Var((), np.float64)
    t, u, y = Var((), np.float64), Var((), np.float64), Var((), np.float64)
    g = _graph([(ew.exp, [Literal(2.0)], t), (ew.add, [t, Literal(1.0)], u),
                (ew.multiply, [x, u], y)], [x], [y])
    f = fold_constants(g)
    assert prims(f) == ["multiply"] and len(f.inputs) == 1
    lit = f.eqns[0].inputs[1]
    assert isinstance(lit, Literal) and lit.value.dtype == np.float64
    np.testing.assert_allclose(f(3.0), 3.0 * (np.exp(2.0) + 1.0), rtol=1e-15)
    assert len(g.eqns) == 3  # input untouched


def test_fold_constants_keeps_dtype_and_skips_big_arrays():
    small, big = Var((3,), np.float32), Var((5000,), np.float64)
    x, y, z = Var((3,), np.float32), Var((3,), np.float32), Var((5000,), np.float64)
    g = _graph([(ew.sin, [Literal(np.arange(3, dtype=np.float32))], small),
                (ew.multiply, [x, small], y),
                (ew.cos, [Literal(np.arange(5000.0))], big), (ew.negative, [big], z)],
               [x], [y, z])
    f = fold_constants(g)
    assert prims(f) == ["multiply", "cos", "negative"]
    assert f.eqns[0].inputs[1].value.dtype == np.float32
    out = f(np.ones(3, np.float32))
    assert out[0].dtype == np.float32
    np.testing.assert_allclose(out[1], -np.cos(np.arange(5000.0)))
    assert passes.FOLD_MAX_SIZE < 5000


def test_fold_constants_leaves_errors_to_run_time():
    x, t, y = Var((2,), np.float64), Var((2,), np.float64), Var((2,), np.float64)
    bad = Literal(np.ones((2, 2)))  # (2, 2) + (3,) does not broadcast
    g = _graph([(ew.add, [bad, Literal(np.ones(3))], t), (ew.add, [x, t], y)], [x], [y])
    assert len(fold_constants(g).eqns) == 2


# --- algebraic -----------------------------------------------------------------------------------
IDENTITIES = [
    (lambda x: x * 1.0, []),
    (lambda x: 1 * x, []),
    (lambda x: x + 0, []),
    (lambda x: 0.0 + x, []),
    (lambda x: x - 0, []),
    (lambda x: x / 1, []),
    (lambda x: dnp.negative(-x), ["negative"]),  # the inner negative is then dead
    (lambda x: +x, []),
    (lambda x: x * dnp.ones_like(x), ["ones_like"]),
    (lambda x: x + dnp.zeros_like(x), ["zeros_like"]),
    (lambda x: x**1, []),
    (lambda x: x**0, ["ones_like"]),
    (lambda x: x**-1, ["reciprocal"]),
    (lambda x: x**2, ["multiply"]),
    (lambda x: x**3.0, ["multiply", "multiply"]),
    (lambda x: x**4, ["multiply", "multiply"]),
    (lambda x: x**5, ["power"]),  # above MAX_POWER
    (lambda x: x**2.5, ["power"]),
]


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("f, expected", IDENTITIES)
def test_algebraic_identities(f, expected, shape):
    x0 = np.full(shape, 1.5)
    g = make_graph(f)(x0)
    a = algebraic(g)
    assert prims(a) == expected
    x = RNG.uniform(0.5, 2.0, size=shape)
    out = a(x)
    np.testing.assert_allclose(out, f(x), rtol=1e-14)
    assert np.shape(out) == shape and np.asarray(out).dtype == np.float64


def test_algebraic_double_negation_then_dce():
    g = make_graph(lambda x: dnp.negative(-dnp.sin(x)))(1.0)
    assert prims(dce(algebraic(g))) == ["sin"]


@pytest.mark.parametrize("f, x0", [
    (lambda x: x * np.ones((2, 3)), np.ones(3)),  # 1 broadcasts x to a bigger shape
    (lambda x: x + np.zeros((4, 1)), np.ones(3)),
    (lambda x: x * 1.0, np.arange(3)),  # int * float -> float
    (lambda x: x * np.float64(1.0), np.ones(3, np.float32)),  # f32 * f64 scalar -> f64
    (lambda x: x + np.int64(0), np.ones(3, np.int32)),
    (lambda x: x / 1, np.arange(3)),  # true division of ints is float
    (lambda x: x**1.0, np.arange(3)),
    (lambda x: x ** np.full((2, 3), 2), np.ones(3)),  # the exponent broadcasts x
])
def test_algebraic_keeps_rewrites_that_change_shape_or_dtype(f, x0):
    g = make_graph(f)(x0)
    a = algebraic(g)
    assert len(a.eqns) == len(g.eqns) == 1
    out = a(x0 * 2)
    ref = f(x0 * 2)
    assert np.shape(out) == np.shape(ref) and np.asarray(out).dtype == np.asarray(ref).dtype


def test_power_zero_keeps_the_result_dtype_and_nan():
    g = make_graph(lambda x: x**0.0)(np.arange(3))  # int ** 0.0 is float
    a = algebraic(g)
    assert prims(a) == ["ones_like"]
    out = a(np.arange(3))
    assert out.dtype == np.float64 and np.all(out == 1)
    g = make_graph(lambda x: x**0)(np.ones(2))
    np.testing.assert_array_equal(algebraic(g)(np.array([np.nan, np.inf])), [1.0, 1.0])


def test_times_zero_only_where_exact():
    g = make_graph(lambda x: x * 0)(np.ones(3))  # float: inf * 0 is nan, kept
    assert prims(algebraic(g)) == ["multiply"]
    with np.errstate(invalid="ignore"):
        assert np.isnan(algebraic(g)(np.array([np.inf, 1.0, 2.0]))[0])
    a = algebraic(g, assume_finite=True)
    assert prims(a) == ["zeros_like"] and np.all(a(np.ones(3)) == 0)
    g = make_graph(lambda x: 0 * x)(np.arange(3))  # integers: exact
    a = algebraic(g)
    assert prims(a) == ["zeros_like"]
    out = a(np.arange(3) + 5)
    assert out.dtype == np.arange(3).dtype and np.all(out == 0)


# --- simplify on derivative programs -------------------------------------------------------------
def f_xy(x, y):
    return x**2 * y + y + 2


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_simplify_gradient_of_x2y():
    program = grad(f_xy, argnums=(0, 1))
    g = make_graph(program)(3.0, 4.0)
    s = simplify(g)
    assert len(s.eqns) == 4 < len(g.eqns)
    assert "power" not in prims(s)
    for _ in range(5):
        x, y = RNG.normal(size=2)
        np.testing.assert_allclose(s(x, y), program(x, y), rtol=1e-14)
    np.testing.assert_allclose(s(3.0, 4.0), (24.0, 10.0))


def test_simplify_rosenbrock_hvp():
    n = 6
    program = lambda x, v: hvp(rosen, x, v)  # noqa: E731
    g = make_graph(program)(np.ones(n), np.ones(n))
    s = simplify(g)
    assert len(s.eqns) < len(g.eqns) / 2
    for _ in range(3):
        x, v = RNG.normal(size=n), RNG.normal(size=n)
        np.testing.assert_allclose(s(x, v), program(x, v), rtol=1e-12)


@pytest.mark.parametrize("program", [
    jacfwd(lambda x: dnp.sin(x) ** 2 * x[0] + dnp.exp(x) ** 3),
    jacfwd(grad(rosen)),
])
def test_simplify_jacfwd_programs(program):
    g = make_graph(program)(np.ones(4))
    s = simplify(g)
    assert len(s.eqns) < len(g.eqns)
    x = RNG.uniform(-1, 1, size=4)
    np.testing.assert_allclose(s(x), program(x), rtol=1e-12, atol=1e-12)


def test_simplify_is_idempotent_keeps_pytrees_and_does_not_mutate():
    g = make_graph(lambda p: {"g": grad(rosen)(p["x"]), "x": p["x"] * 1})({"x": np.ones(3)})
    before = str(g)
    s = simplify(g)
    assert str(g) == before
    assert str(simplify(s)) == str(s)
    x = RNG.normal(size=3)
    out = s({"x": x})
    np.testing.assert_allclose(out["g"], grad(rosen)(x), rtol=1e-13)
    assert out["x"] is x  # x * 1 is x itself
    assert s.eqns[0].outputs[0].name == "b"  # renamed in order


def test_simplify_result_is_differentiable_again():
    s = simplify(make_graph(grad(lambda x: dnp.sum(x**3)))(np.ones(3)))
    x = RNG.normal(size=3)
    np.testing.assert_allclose(jacfwd(s)(x), np.diag(6 * x), rtol=1e-13)
