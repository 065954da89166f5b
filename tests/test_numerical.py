"""diffopt.numerical: finite differences (accuracy, step sizes, Richardson, complex step) and
check_grads' verdicts and reports."""

import re

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.core.primitive import Primitive
from diffopt.core.trace import concrete
from diffopt.numerical import METHODS, check_grads, derivative, gradient, hessian, hvp, jacobian

EPS = np.finfo(float).eps
# Error bounds with the automatic steps, relative to the derivative's size.
TOL = {"forward": 1e-6, "backward": 1e-6, "central": 1e-8, "complex": 1e-15}
# ... and for second derivatives (hessian, hvp).
TOL2 = {"forward": 1e-3, "backward": 1e-3, "central": 1e-6, "complex": 1e-8}


def f_scalar(x):
    return dnp.exp(x) * dnp.sin(x) / (x**2 + 1)


def df_scalar(x):
    return np.exp(x) * (np.cos(x) + np.sin(x)) / (x**2 + 1) - 2 * x * np.exp(x) * np.sin(x) / (
        x**2 + 1) ** 2


def f_vec(v):
    return dnp.sum(dnp.sin(v) * v[0]) + v[1] ** 3 * v[2] + dnp.exp(v[2] / 2)


X3 = np.array([0.3, 1.5, -2.0])


# --- accuracy of each method --------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("x", [0.7, -3.0, 8.0])
def test_derivative_accuracy(method, x):
    d = derivative(f_scalar, x, method=method)
    assert abs(d - df_scalar(x)) <= TOL[method] * max(1.0, abs(df_scalar(x)))


@pytest.mark.parametrize("method", METHODS)
def test_derivative_elementwise_on_arrays(method):
    x = np.linspace(-2.0, 3.0, 7).reshape(7)
    np.testing.assert_allclose(derivative(np.sin, x, method=method), np.cos(x),
                               atol=TOL[method] * 10)
    with pytest.raises(ValueError, match="elementwise"):
        derivative(lambda v: np.sum(v), x, method=method)


def test_complex_step_reaches_machine_precision():
    for x in (0.1, 0.7, 2.0, 40.0):
        d = derivative(f_scalar, x, method="complex")
        assert abs(d - df_scalar(x)) <= 4 * EPS * abs(df_scalar(x))
    # plain NumPy functions accept complex input too
    assert derivative(np.exp, 1.0, method="complex") == pytest.approx(np.e, rel=EPS)
    assert derivative(np.arctan, 0.5, method="complex") == pytest.approx(0.8, rel=2 * EPS)


def test_complex_step_refuses_functions_that_drop_the_imaginary_part():
    with pytest.raises(ValueError, match="dropped the imaginary part"):
        derivative(lambda x: np.abs(x) ** 2, 1.0, method="complex")
    with pytest.raises(ValueError, match="real x"):
        derivative(np.exp, 1.0 + 1j, method="complex")


@pytest.mark.parametrize("method", ["forward", "backward", "central"])
def test_holomorphic_derivative_at_a_complex_point(method):
    z = 0.5 + 0.8j
    assert abs(derivative(np.exp, z, method=method) - np.exp(z)) < TOL[method] * 10


# --- step sizes ---------------------------------------------------------------------------------
def _recorded_steps(method, x, **kw):
    seen = []

    def f(v):
        seen.append(v)
        return np.sin(v)

    derivative(f, x, method=method, **kw)
    return sorted({abs(complex(v) - x) for v in seen} - {0.0})


@pytest.mark.parametrize("method, power", [("forward", 1 / 2), ("backward", 1 / 2),
                                           ("central", 1 / 3)])
@pytest.mark.parametrize("x", [0.25, 1.0, 1e4, -3e6])
def test_automatic_step_scales_with_x(method, power, x):
    (h,) = _recorded_steps(method, x)
    expected = EPS**power * max(1.0, abs(x))
    assert expected / 1.01 < h < expected * 1.01


def test_complex_step_is_tiny_and_steps_grow_with_richardson():
    assert _recorded_steps("complex", 2.0) == [pytest.approx(1e-20)]
    steps = _recorded_steps("central", 1.0, richardson=2)
    base = EPS ** (1 / 7)  # central: error order 2 + 2 * 2 levels, plus 1 for rounding
    np.testing.assert_allclose(steps, [base / 4, base / 2, base], rtol=1e-3)
    assert _recorded_steps("central", 1.0, step=0.125) == [0.125]


def test_step_scaling_keeps_accuracy_at_large_x():
    x = 3e6
    scaled = derivative(np.log, x)
    fixed = derivative(np.log, x, step=EPS ** (1 / 3))  # the unscaled step loses digits
    assert abs(scaled * x - 1) < 1e-9
    assert abs(fixed * x - 1) > 100 * abs(scaled * x - 1)


# --- Richardson extrapolation -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["forward", "backward", "central"])
def test_richardson_improves_a_coarse_step(method):
    x, h = 0.7, 0.1
    errs = [abs(derivative(f_scalar, x, method=method, step=h, richardson=k) - df_scalar(x))
            for k in range(5)]
    for k in range(4):  # each level removes one more error term
        assert errs[k + 1] < errs[k] / 5, errs
    assert errs[4] < 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_richardson_with_automatic_steps(method):
    x = 0.7
    for k in (1, 2):
        d = derivative(f_scalar, x, method=method, richardson=k)
        assert abs(d - df_scalar(x)) < {"forward": 1e-9, "backward": 1e-9}.get(method, 1e-12)


def test_bad_options():
    with pytest.raises(ValueError, match="method must be one of"):
        derivative(np.sin, 1.0, method="centered")
    with pytest.raises(ValueError, match="richardson"):
        derivative(np.sin, 1.0, richardson=-1)
    with pytest.raises(ValueError, match="positive"):
        derivative(np.sin, 1.0, step=0.0)


# --- gradient, jacobian, hessian, hvp -----------------------------------------------------------
@pytest.mark.parametrize("richardson", [0, 1])
@pytest.mark.parametrize("method", METHODS)
def test_gradient_jacobian_hessian_hvp_against_ad(method, richardson):
    kw = {"method": method, "richardson": richardson}
    g, H = diffopt.grad(f_vec)(X3), diffopt.hessian(f_vec)(X3)
    np.testing.assert_allclose(gradient(f_vec, X3, **kw), g, atol=TOL[method] * 30)
    J = diffopt.jacfwd(lambda v: dnp.tanh(v) * v[::-1])(X3)
    np.testing.assert_allclose(jacobian(lambda v: dnp.tanh(v) * v[::-1], X3, **kw), J,
                               atol=TOL[method] * 30)
    np.testing.assert_allclose(hessian(f_vec, X3, **kw), H, atol=TOL2[method] * 30)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(hvp(f_vec, X3, v, **kw), H @ v, atol=TOL2[method] * 30)


def test_jacobian_shape_is_out_shape_plus_x_shape():
    x = np.arange(6.0).reshape(2, 3) / 6
    W = np.random.default_rng(0).normal(size=(4, 6))
    f = lambda m: W @ np.sin(m.reshape(-1))
    J = jacobian(f, x)
    assert J.shape == (4, 2, 3)
    np.testing.assert_allclose(J, (W * np.cos(x.reshape(-1))).reshape(4, 2, 3), atol=1e-9)
    assert jacobian(np.sin, 0.5).shape == ()
    assert hessian(lambda m: np.sum(m**3), x).shape == (2, 3, 2, 3)
    np.testing.assert_allclose(hessian(lambda m: np.sum(m**3), x),
                               np.diag(6 * x.reshape(-1)).reshape(2, 3, 2, 3), atol=1e-6)


def test_gradient_and_hvp_on_pytrees():
    def f(p):
        return dnp.sum(p["w"] ** 2 * p["b"]) + dnp.sin(p["b"])

    p = {"w": np.array([1.0, 2.0]), "b": 0.5}
    g = gradient(f, p)
    np.testing.assert_allclose(g["w"], 2 * p["w"] * 0.5)
    np.testing.assert_allclose(g["b"], 5.0 + np.cos(0.5))
    hv = hvp(f, p, {"w": np.array([1.0, 0.0]), "b": 1.0})
    np.testing.assert_allclose(hv["w"], [1.0 + 2.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(hv["b"], 2.0 - np.sin(0.5), rtol=1e-6)
    assert np.all(hvp(f, p, {"w": np.zeros(2), "b": 0.0})["w"] == 0)


def test_gradient_and_hvp_errors():
    with pytest.raises(ValueError, match="scalar-valued"):
        gradient(np.sin, np.ones(3))
    with pytest.raises(ValueError, match="components"):
        hvp(f_vec, X3, np.ones(2))


def test_user_step_per_component():
    x = np.array([1.0, 1e5])
    J = jacobian(np.log, x, step=np.array([1e-6, 1e-1]))
    np.testing.assert_allclose(np.diag(J), 1 / x, rtol=1e-8)


# --- check_grads ------------------------------------------------------------------------------
def test_check_grads_accepts_correct_rules():
    check_grads(f_vec, (X3,), order=3)
    check_grads(lambda p: p["a"] * dnp.cos(p["b"]), ({"a": X3, "b": 2.0},), order=2)
    check_grads(dnp.multiply, (X3, 2.0), modes=("rev",), order=1)


def _wrong_forward():
    @diffopt.custom_jvp
    def f(x):
        return dnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 1.1 * dnp.cos(p[0]) * t[0]))  # 10% too large
    return f


def _wrong_reverse():
    @diffopt.custom_vjp
    def g(x):
        return dnp.sin(x)

    g.defvjp(lambda x: (dnp.sin(x), x), lambda x, ct: (-ct * dnp.cos(x),))  # wrong sign
    return g


def test_check_grads_reports_a_wrong_jvp():
    with pytest.raises(AssertionError) as info:
        check_grads(_wrong_forward(), (X3,), modes=("fwd",), order=1)
    msg = str(info.value)
    assert "forward mode (JVP) of f" in msg and "derivative order 1" in msg
    assert "max |error|" in msg and "AD = " in msg and "central difference = " in msg
    # the report names the worst element and its two numbers: here AD = 1.1 * the difference
    ad = float(re.search(r"AD = (\S+),", msg).group(1))
    fd = float(re.search(r"central difference = (\S+) ", msg).group(1))
    assert "index (" in msg and ad / fd == pytest.approx(1.1, rel=1e-6)


def test_check_grads_reports_a_wrong_vjp():
    with pytest.raises(AssertionError) as info:
        check_grads(_wrong_reverse(), (X3,), order=1)
    msg = str(info.value)
    assert "reverse mode (VJP) of g" in msg and "derivative order 1" in msg
    assert "<u, J v> by central differences" in msg and "<vjp(u), v>" in msg


def _sin_with_constant_slope():
    """sin whose derivative rule treats cos(x) as a constant: right first, wrong second."""
    prim = Primitive("bad_sin", np.sin)
    rule = lambda t, ans, x: t * concrete(dnp.cos(x))
    prim.defjvp(rule).defvjp(rule)
    return lambda x: prim.bind(x)


@pytest.mark.parametrize("modes, first", [(("fwd", "rev"), "JVP"), (("rev",), "VJP")])
def test_check_grads_catches_a_wrong_second_derivative(modes, first):
    f = _sin_with_constant_slope()
    check_grads(f, (X3,), modes=modes, order=1)  # the first derivative is right
    with pytest.raises(AssertionError) as info:
        check_grads(f, (X3,), modes=modes, order=2)
    msg = str(info.value)
    assert "derivative order 2" in msg and f"of the {first} of <lambda>" in msg
