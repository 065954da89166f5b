"""Bad input gets a clear error that says what was wrong and what to do (issue section 5)."""

import warnings

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import grad, jacfwd, jvp, value_and_grad, vjp


@pytest.mark.parametrize("x", [3, np.int64(3), np.array([1, 2]), True, np.array([True])])
def test_integer_and_boolean_inputs_are_refused(x):
    with pytest.raises(TypeError, match="floating-point.*3.0 rather than 3"):
        grad(lambda x: dnp.sum(x * 1.0))(x)
    with pytest.raises(TypeError, match="floating-point"):
        jvp(lambda x: x, (x,), (x,))


def test_non_scalar_output_to_grad():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(3,\).*jacrev"):
        grad(lambda x: x * 2)(np.ones(3))


def test_complex_output_to_grad():
    with pytest.raises(TypeError, match="real scalar output.*complex"):
        grad(lambda z: z * 2)(1.0 + 1.0j)


def test_non_array_output_to_grad():
    with pytest.raises(TypeError, match="real scalar.*returned str"):
        value_and_grad(lambda x: "hello")(1.0)


def test_tangent_shape_mismatch():
    with pytest.raises(ValueError, match=r"tangent of shape \(2,\).*primal of shape \(3,\)"):
        jvp(dnp.sin, (np.ones(3),), (np.ones(2),))


def test_tangent_structure_mismatch():
    with pytest.raises(ValueError, match="structure"):
        jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match="tuples"):
        jvp(dnp.sin, 1.0, 1.0)


def test_cotangent_mismatch():
    _, vjp_fn = vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent of shape \(2,\)"):
        vjp_fn(np.ones(2))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x: np.sin(x), "numpy.sin"),
        (lambda x: np.sum(x), "numpy.sum"),
        (lambda x: np.asarray(x), "numpy.asarray"),
        (lambda x: np.exp(x) + 1, "numpy.exp"),
    ],
)
def test_plain_numpy_on_a_traced_value_says_use_diffopt_numpy(call, name):
    with pytest.raises(TypeError, match=f"{name}.*diffopt.numpy"):
        grad(lambda x: dnp.sum(call(x)))(np.ones(3))
    with pytest.raises(TypeError, match="diffopt.numpy"):
        jvp(call, (np.ones(3),), (np.ones(3),))


def test_ndarray_operators_with_traced_values_still_work():
    a = np.array([1.0, 2.0])
    g = grad(lambda x: dnp.sum(a * x + a / x - a ** x + a @ x))(np.array([1.0, 1.0]))
    # a @ x is a scalar broadcast over both entries before the sum, hence 2 * a
    np.testing.assert_allclose(g, a - a - np.log(a) * a + 2 * a)


def test_assignment_into_a_traced_array_points_to_at():
    def f(x):
        x[0] = 1.0
        return dnp.sum(x)

    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set\(v\)"):
        grad(f)(np.ones(3))


def test_storing_a_traced_value_into_a_numpy_array_is_refused():
    def f(x):
        out = np.zeros(3)
        out[0] = x
        return dnp.sum(out)

    # NumPy wraps our TypeError from float() in a ValueError; the hint is in the chain
    with pytest.raises((TypeError, ValueError)) as info:
        grad(f)(1.0)
    assert "drop its derivative" in str(info.value) + str(info.value.__cause__)


def test_python_control_flow_on_traced_bool_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="where"):
        grad(lambda x: x if x else -x)(1.0)
    # comparisons give plain booleans, so ordinary branching works
    assert grad(lambda x: x**2 if x > 0 else -x)(3.0) == 6.0


def test_function_ignoring_its_input_warns_and_returns_zeros():
    with pytest.warns(UserWarning, match="does not depend on its inputs"):
        g = grad(lambda x: 3.0)(np.ones(2))
    np.testing.assert_array_equal(g, np.zeros(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert grad(lambda x: x * 0.0)(2.0) == 0.0  # connected, so no warning


def test_leaked_tracer_is_reported():
    leak = []

    def f(x):
        leak.append(x)
        return x * 2

    grad(f)(1.0)
    with pytest.raises(RuntimeError, match="escaped"):
        grad(lambda y: leak[0] * y)(2.0)


def test_bad_argnums():
    with pytest.raises(ValueError, match="argnums"):
        grad(lambda x: x, argnums=3)(1.0)


def test_jacfwd_of_integer_input():
    with pytest.raises(TypeError, match="floating-point"):
        jacfwd(lambda x: x * 2.0)(np.arange(3))
