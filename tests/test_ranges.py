"""linspace / logspace / geomspace with traced end points, and grad of a one-element output."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads

A, B = np.array([0.5, -1.0]), np.array([2.0, 3.0])


def traced_value(f, *args):
    """``f(*args)`` computed on traced inputs (the primal of a jvp)."""
    return diffopt.jvp(f, args, args)[0]


@pytest.mark.parametrize("kw", [dict(num=5), dict(num=5, endpoint=False), dict(num=1),
                                dict(num=2), dict(num=4, axis=1), dict(num=4, axis=-1)])
def test_linspace_traced_equals_numpy_and_differentiates(kw):
    out = traced_value(lambda a, b: dnp.linspace(a, b, **kw), A, B)
    np.testing.assert_array_equal(out, np.linspace(A, B, **kw))
    check_grads(lambda a, b: dnp.linspace(a, b, **kw), (A, B), order=2)


def test_linspace_derivatives_are_the_interpolation_weights():
    # points a + i (b - a) / 3: d/da = 1 - i/3, d/db = i/3
    ga, gb = diffopt.jacobian(lambda a, b: dnp.linspace(a, b, 4), argnums=(0, 1))(1.0, 2.0)
    np.testing.assert_allclose(ga, [1.0, 2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(gb, [0.0, 1 / 3, 2 / 3, 1.0])
    step = diffopt.grad(lambda a: dnp.linspace(a, 3.0, 4, retstep=True)[1])(1.0)
    assert float(step) == pytest.approx(-1 / 3)


def test_linspace_traced_edge_cases():
    assert traced_value(lambda a: dnp.linspace(a, 1.0, 0), 0.0).shape == (0,)
    with pytest.raises(ValueError, match="must be non-negative"):
        diffopt.grad(lambda a: dnp.sum(dnp.linspace(a, 1.0, -1)))(0.0)
    with pytest.raises(TypeError, match="num must be a plain integer"):
        diffopt.grad(lambda a: dnp.sum(dnp.linspace(a, 1.0, a)))(3.0)


@pytest.mark.parametrize("kw", [dict(num=5), dict(num=4, endpoint=False, base=2.0),
                                dict(num=3, axis=-1)])
def test_logspace_traced(kw):
    out = traced_value(lambda a, b: dnp.logspace(a, b, **kw), A, B)
    np.testing.assert_array_equal(out, np.logspace(A, B, **kw))
    check_grads(lambda a, b: dnp.logspace(a, b, **kw), (A, B), order=2)


def test_logspace_differentiable_in_base():
    check_grads(lambda a, b, c: dnp.logspace(a, b, 4, base=c), (0.5, 2.0, 3.0), order=2)


@pytest.mark.parametrize("kw", [dict(num=5), dict(num=4, endpoint=False), dict(num=1),
                                dict(num=3, axis=1)])
def test_geomspace_traced(kw):
    a, b = np.array([0.5, -1.0]), np.array([2.0, -3.0])
    out = traced_value(lambda a, b: dnp.geomspace(a, b, **kw), a, b)
    np.testing.assert_array_equal(out, np.geomspace(a, b, **kw))
    check_grads(lambda a, b: dnp.geomspace(a, b, **kw), (a, b), order=2)


def test_geomspace_traced_errors():
    with pytest.raises(ValueError, match="cannot include zero"):
        diffopt.grad(lambda a: dnp.sum(dnp.geomspace(a, 1.0, 3)))(0.0)
    with pytest.raises(ValueError, match="one sign"):
        diffopt.grad(lambda a: dnp.sum(dnp.geomspace(a, 1.0, 3)))(-1.0)


def test_grad_of_a_one_element_output():
    x = np.array([1.0, 2.0])
    for f in (lambda x: dnp.sum(x * x).reshape(1), lambda x: dnp.sum(x * x).reshape(1, 1)):
        np.testing.assert_allclose(diffopt.grad(f)(x), [2.0, 4.0])
    value, g = diffopt.value_and_grad(lambda x: x[:1] ** 3)(x)
    np.testing.assert_allclose(value, [1.0])
    np.testing.assert_allclose(g, [3.0, 0.0])
    with pytest.raises(TypeError, match=r"scalar output.*shape \(2,\)"):
        diffopt.grad(lambda x: 2 * x)(x)


def test_int_of_a_traced_value_is_refused_and_astype_int_has_no_derivative():
    with pytest.raises(TypeError, match="int\\(\\) of a traced value would drop its derivative"):
        diffopt.grad(lambda x: int(x) * x)(2.0)
    g = diffopt.grad(lambda x: dnp.sum(x.astype(int) * 1.0))(np.array([1.5, 2.5]))
    np.testing.assert_array_equal(g, [0.0, 0.0])
