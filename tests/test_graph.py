"""The graph interpreter: tracing, printing, evaluation, composition with the transforms."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt import grad, hvp, jacfwd, make_graph


def f_xy(x, y):
    return x**2 * y + y + 2


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_graph_prints_like_a_jaxpr_and_evaluates():
    g = make_graph(f_xy)(3.0, 4.0)
    text = str(g)
    assert text.splitlines()[0] == "{ lambda a:f64[] b:f64[] ."
    assert "c:f64[] = power a 2" in text and "in (f) }" in text
    assert len(g.eqns) == 4
    assert g(3.0, 4.0) == 42.0
    assert g(1.0, 2.0) == f_xy(1.0, 2.0)


def test_shapes_dtypes_params_and_literals_are_recorded():
    A = np.arange(6.0).reshape(2, 3)
    g = make_graph(lambda x: dnp.sum(dnp.tanh(A @ x), axis=0))(np.ones(3, np.float32))
    text = str(g)
    assert "a:f32[3]" in text and "const(2, 3)" in text and "sum[axis=(0,), keepdims=False]" in text
    np.testing.assert_allclose(g(np.arange(3.0)), np.sum(np.tanh(A @ np.arange(3.0))))


def test_pytrees_in_and_out():
    g = make_graph(lambda p: {"s": p["a"] * p["b"][0], "t": p["b"][1]})(
        {"a": np.ones(2), "b": (np.ones(2), 3.0)})
    out = g({"a": np.array([1.0, 2.0]), "b": (np.array([3.0, 4.0]), 5.0)})
    np.testing.assert_allclose(out["s"], [3.0, 8.0])
    assert out["t"] == 5.0


@pytest.mark.parametrize("transform", [
    lambda f: grad(f),
    lambda f: jacfwd(grad(f)),
    lambda f: (lambda x: hvp(f, x, np.ones(5))),
])
def test_derivative_programs_are_graphs(transform):
    x = np.linspace(0.1, 0.9, 5)
    program = transform(rosen)
    g = make_graph(program)(x)
    np.testing.assert_allclose(g(x), program(x), rtol=1e-14)
    x2 = x[::-1].copy()
    np.testing.assert_allclose(g(x2), program(x2), rtol=1e-14)


def test_graphs_are_differentiable_again():
    x = np.linspace(0.1, 0.9, 4)
    g = make_graph(rosen)(x)
    np.testing.assert_allclose(grad(g)(x), grad(rosen)(x), rtol=1e-14)
    gg = make_graph(grad(rosen))(x)
    np.testing.assert_allclose(jacfwd(gg)(x), diffopt.hessian(rosen)(x), rtol=1e-12)


def test_multiple_results_primitives():
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    g = make_graph(lambda a: dnp.linalg.eigh(a)[0])(a)
    np.testing.assert_allclose(g(a), np.linalg.eigvalsh(a))


def test_control_flow_on_traced_values_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="control flow.*where.*without jit"):
        make_graph(lambda x: x if x > 0 else -x)(1.0)
    # comparisons themselves are recorded, so where() works
    g = make_graph(lambda x: dnp.where(x > 0, x, -x))(1.0)
    assert g(-2.0) == 2.0


def test_make_graph_inside_a_transform_is_refused_clearly():
    with pytest.raises(TypeError, match="jit\\(grad\\(f\\)\\)"):
        grad(lambda x: make_graph(lambda y: y * x)(1.0)(1.0))(2.0)


def test_wrong_number_of_inputs():
    g = make_graph(f_xy)(1.0, 2.0)
    with pytest.raises(TypeError, match="takes 2 input arrays"):
        g(1.0, 2.0, 3.0)
