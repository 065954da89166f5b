"""``compiled_rule``: compiled forward/backward functions as one rule every transform takes."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt import numerical
from diffopt.transforms import compiled_rule

X = np.array([0.3, -1.2, 2.0])
A = 1.7


def make_rule(residuals=False):
    """``f(x, a) = sin(x) * a``: plain NumPy "kernels" that count their calls, and a reference."""
    calls = {"reference": 0, "forward": 0, "backward": 0}

    def reference(x, a):
        calls["reference"] += 1
        return dnp.sin(x) * a

    def forward(x, a):
        calls["forward"] += 1
        assert not isinstance(x, diffopt.core.Tracer) and not isinstance(a, diffopt.core.Tracer)
        return np.sin(x) * a, (np.cos(x), np.sin(x), a)

    def backward(res, g):
        calls["backward"] += 1
        assert not isinstance(g, diffopt.core.Tracer)  # the kernel only sees plain cotangents
        cos_x, sin_x, a = res
        return g * cos_x * a, float(np.sum(g * sin_x))

    return compiled_rule(reference, forward, backward, residuals), calls


def test_plain_call_runs_forward():
    f, calls = make_rule()
    np.testing.assert_allclose(f(X, A), np.sin(X) * A)
    assert calls == {"reference": 0, "forward": 1, "backward": 0}
    g, _ = make_rule(residuals=True)
    out, (cos_x, _, a) = g(X, A)
    np.testing.assert_allclose(cos_x, np.cos(X))
    assert a == A


def test_grad_runs_the_compiled_backward_and_matches_finite_differences():
    f, calls = make_rule()
    gx, ga = diffopt.grad(lambda x, a: dnp.sum(f(x, a) ** 2), argnums=(0, 1))(X, A)
    np.testing.assert_allclose(gx, numerical.gradient(lambda x: np.sum((np.sin(x) * A) ** 2), X),
                               rtol=1e-7)
    np.testing.assert_allclose(ga, numerical.derivative(lambda a: np.sum((np.sin(X) * a) ** 2),
                                                        A), rtol=1e-7)
    assert calls == {"reference": 0, "forward": 1, "backward": 1}


def test_jacrev_pulls_batched_cotangents_through_backward_row_by_row():
    f, calls = make_rule()
    jx = diffopt.jacrev(lambda x: f(x, A))(X)
    np.testing.assert_allclose(jx, numerical.jacobian(lambda x: np.sin(x) * A, X), rtol=1e-7)
    np.testing.assert_allclose(jx, np.diag(np.cos(X) * A), rtol=1e-15)
    assert calls == {"reference": 0, "forward": 1, "backward": len(X)}
    ja = diffopt.jacrev(lambda a: f(X, a))(A)
    np.testing.assert_allclose(ja, np.sin(X), rtol=1e-15)


def test_forward_mode_and_vmap_differentiate_the_reference():
    f, calls = make_rule()
    v = np.array([1.0, 0.5, -2.0])
    _, tangent = diffopt.jvp(lambda x: f(x, A), (X,), (v,))
    np.testing.assert_allclose(tangent, numerical.jacobian(lambda x: np.sin(x) * A, X) @ v,
                               rtol=1e-7)
    np.testing.assert_allclose(diffopt.jacfwd(lambda x: f(x, A))(X), np.diag(np.cos(X) * A),
                               rtol=1e-15)
    batched = diffopt.vmap(lambda x: f(x, A))(np.stack([X, 2 * X]))
    np.testing.assert_allclose(batched, np.sin(np.stack([X, 2 * X])) * A, rtol=1e-15)
    assert calls["forward"] == calls["backward"] == 0 and calls["reference"] == 3


def test_nested_derivatives_use_the_reference():
    f, calls = make_rule()
    h = diffopt.hessian(lambda x: dnp.sum(f(x, A)))(X)  # forward over reverse
    np.testing.assert_allclose(h, np.diag(-np.sin(X) * A), rtol=1e-15)
    # reverse over reverse, with plain primals: the cotangents carry the outer derivative
    w = np.array([0.2, 0.4, -1.0])

    def pulled(g):
        return dnp.sum(diffopt.vjp(lambda x: f(x, A), X)[1](g)[0] * w)

    np.testing.assert_allclose(diffopt.grad(pulled)(np.ones(3)), np.cos(X) * A * w, rtol=1e-15)
    assert calls["backward"] == 0


def test_the_rule_keeps_its_functions():
    f, _ = make_rule()
    assert callable(f.reference) and callable(f.forward) and callable(f.backward)


def test_a_wrong_cotangent_shape_is_refused():
    rule = compiled_rule(lambda x: x * 2.0, lambda x: (x * 2.0, None),
                         lambda res, g: (np.ones(2),))
    with pytest.raises(ValueError, match="shape"):
        diffopt.grad(lambda x: dnp.sum(rule(x)))(X)


def test_jacrev_of_a_jitted_function_runs_its_compiled_vjp():
    def f(x):
        return dnp.tanh(x) * x[::-1]

    j = diffopt.jit(f)
    np.testing.assert_allclose(diffopt.jacrev(j)(X), diffopt.jacrev(f)(X), rtol=1e-15)
    np.testing.assert_allclose(diffopt.jacrev(j)(X),
                               numerical.jacobian(lambda x: np.tanh(x) * x[::-1], X), rtol=1e-7)
    assert j._rule.backward.cache_size == 1  # the rows went through the compiled pullback
