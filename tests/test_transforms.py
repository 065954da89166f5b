"""Transforms: worked values, pytrees, Jacobians, Hessians, nesting, custom rules, threads."""

import threading

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt import (
    checkpoint,
    custom_jvp,
    custom_vjp,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
    vmap,
)
from diffopt.numerical import check_grads


def expit(x):
    return 1 / (1 + dnp.exp(-x))


def f_xy(x, y):
    return x**2 * y + y + 2


# --- worked values (issue section 6) --------------------------------------------------------------
def test_worked_polynomial_value_gradient_hessian():
    value, g = value_and_grad(f_xy, argnums=(0, 1))(3.0, 4.0)
    assert value == 42.0
    assert g == (24.0, 10.0)
    h = hessian(lambda v: f_xy(v[0], v[1]))(np.array([3.0, 4.0]))
    np.testing.assert_allclose(h, [[8.0, 6.0], [6.0, 0.0]])
    for mode in ("forward", "reverse"):
        j = jacobian(lambda v: f_xy(v[0], v[1]), mode=mode)(np.array([3.0, 4.0]))
        np.testing.assert_allclose(j, [24.0, 10.0])


def test_worked_sin_of_square():
    np.testing.assert_allclose(grad(lambda x: dnp.sin(x**2))(3.0), 6 * np.cos(9.0), rtol=1e-14)
    _, t = jvp(lambda x: dnp.sin(x**2), (3.0,), (1.0,))
    np.testing.assert_allclose(t, 6 * np.cos(9.0), rtol=1e-14)


def test_worked_sigmoid_neuron():
    y = lambda x, a, b: 1 / (1 + dnp.exp(-(a * x + b)))
    g = grad(y, argnums=(0, 1, 2))(2.0, 3.0, 1.0)
    np.testing.assert_allclose(g, (0.0027307, 0.0018205, 0.00091022), rtol=1e-4)
    s = expit(7.0)
    np.testing.assert_allclose(g, (3 * s * (1 - s), 2 * s * (1 - s), s * (1 - s)), rtol=1e-12)


def test_worked_product_plus_sine():
    z = lambda x1, x2: x1 * x2 + dnp.sin(x1)
    np.testing.assert_allclose(grad(z)(1.0, 2.0), 2 + np.cos(1.0), rtol=1e-14)


def test_worked_square_of_square():
    assert grad(lambda x: (x**2 + 1) ** 2)(1.0) == 8.0


def test_worked_log_sigmoid_against_hand_chain_rule():
    w, x = 0.7, 1.3
    loss = lambda w: -dnp.log(1 / (1 + dnp.exp(-w * x**2)))
    s = 1 / (1 + np.exp(-w * x**2))
    hand = -(1 / s) * s * (1 - s) * x**2  # dL/ds * ds/dz * dz/dw
    np.testing.assert_allclose(grad(loss)(w), hand, rtol=1e-13)


def test_worked_power():
    g = grad(lambda x, y: x**y, argnums=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose(g, (12.0, 8 * np.log(2.0)), rtol=1e-14)


# --- pytrees and argnums --------------------------------------------------------------------------
def test_grad_of_pytree_argument():
    params = {"w": np.array([1.0, 2.0]), "b": (np.float64(0.5), [np.ones(2)])}

    def loss(p):
        return dnp.sum(p["w"] ** 2) + p["b"][0] * dnp.sum(p["b"][1][0] * 3)

    g = grad(loss)(params)
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["w"], [2.0, 4.0])
    np.testing.assert_allclose(g["b"][0], 6.0)
    np.testing.assert_allclose(g["b"][1][0], [1.5, 1.5])


def test_has_aux_returns_plain_values():
    g, aux = grad(lambda x: (x**2, {"half": x / 2}), has_aux=True)(3.0)
    assert g == 6.0
    assert aux["half"] == 1.5 and not isinstance(aux["half"], diffopt.core.Tracer)
    (v, aux2), g2 = value_and_grad(lambda x: (x**3, x), has_aux=True)(2.0)
    assert (v, aux2, g2) == (8.0, 2.0, 12.0)


def test_vjp_returns_one_entry_per_primal():
    out, vjp_fn = vjp(lambda x, y: x * y, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    cts = vjp_fn(np.array([1.0, 1.0]))
    assert isinstance(cts, tuple) and len(cts) == 2
    np.testing.assert_allclose(cts[0], [3.0, 4.0])
    np.testing.assert_allclose(cts[1], [1.0, 2.0])


def test_jvp_with_pytrees_and_linearize():
    f = lambda p: {"s": dnp.sin(p["a"]) * p["b"]}
    p = {"a": np.array([0.1, 0.2]), "b": np.array([2.0, 3.0])}
    t = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    out, tout = jvp(f, (p,), (t,))
    np.testing.assert_allclose(tout["s"], [2 * np.cos(0.1), np.sin(0.2)])
    y, f_jvp = linearize(f, p)
    np.testing.assert_allclose(f_jvp(t)["s"], tout["s"])
    np.testing.assert_allclose(y["s"], out["s"])


# --- Jacobians and Hessians -----------------------------------------------------------------------
def _layer(x):
    W = np.arange(12.0).reshape(4, 3) / 10
    return dnp.tanh(W @ x) * dnp.sum(x**2)


@pytest.mark.parametrize("jac", [jacfwd, jacrev, jacobian])
def test_jacobians_agree_with_finite_differences(jac):
    x = np.array([0.3, -0.2, 0.5])
    J = jac(_layer)(x)
    assert J.shape == (4, 3)
    fd = np.stack([(_layer(x + 1e-6 * e) - _layer(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)], -1)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-9)


def test_jacobian_shapes_follow_out_then_in():
    x = np.ones((2, 3))
    f = lambda x: dnp.sum(x, axis=1)
    assert jacfwd(f)(x).shape == (2, 2, 3)
    assert jacrev(f)(x).shape == (2, 2, 3)
    np.testing.assert_allclose(jacfwd(f)(x), jacrev(f)(x))


def test_jacrev_chunks_give_the_same_answer():
    x = np.linspace(0.1, 1.0, 7)
    full = jacrev(_layer)(np.array([0.1, 0.2, 0.3]))
    chunked = jacrev(_layer, chunk_size=2)(np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(full, chunked)
    f = lambda x: dnp.cumsum(x)
    np.testing.assert_allclose(jacrev(f, chunk_size=3)(x), jacfwd(f)(x))


def test_jacobian_with_tuple_argnums_and_pytree_output():
    f = lambda x, y: {"p": x * y, "q": dnp.sum(x)}
    J = jacfwd(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    Jr = jacrev(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(J["p"][0], np.diag([3.0, 4.0]))
    np.testing.assert_allclose(J["p"][1], np.diag([1.0, 2.0]))
    np.testing.assert_allclose(J["q"][0], [1.0, 1.0])
    for key in ("p", "q"):
        for k in range(2):
            np.testing.assert_allclose(J[key][k], Jr[key][k])


def test_jacobian_auto_picks_the_cheaper_mode(monkeypatch):
    import diffopt.modes as tr

    used = []
    real_fwd, real_rev = tr.jacfwd, tr.jacrev
    monkeypatch.setattr(tr, "jacfwd", lambda *a, **k: used.append("fwd") or real_fwd(*a, **k))
    monkeypatch.setattr(tr, "jacrev", lambda *a, **k: used.append("rev") or real_rev(*a, **k))
    tr.jacobian(lambda x: dnp.sum(x**2))(np.ones(1000))  # 1000 inputs, 1 output
    tr.jacobian(lambda x: dnp.tanh(x * np.ones(1000)))(np.ones(1))  # 1 input, 1000 outputs
    assert used == ["rev", "fwd"]


def rosenbrock(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_hessian_and_hvp_analytic():
    x = np.array([1.2, 0.8, -0.5, 0.3])
    H = hessian(rosenbrock)(x)
    n = len(x)
    H_true = np.zeros((n, n))
    for i in range(n - 1):
        H_true[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H_true[i + 1, i + 1] += 200
        H_true[i, i + 1] += -400 * x[i]
        H_true[i + 1, i] += -400 * x[i]
    np.testing.assert_allclose(H, H_true, rtol=1e-12)
    v = np.array([0.5, -1.0, 2.0, 0.1])
    np.testing.assert_allclose(hvp(rosenbrock, x, v), H_true @ v, rtol=1e-12)


# --- nesting and perturbation confusion -----------------------------------------------------------
def test_no_perturbation_confusion_reverse_and_forward():
    # d/dx [x * d/dy (x + y)] = 1
    assert grad(lambda x: x * grad(lambda y: x + y)(2.0))(3.0) == 1.0
    inner = lambda x: jvp(lambda y: x + y, (2.0,), (1.0,))[1]
    assert jvp(lambda x: x * inner(x), (3.0,), (1.0,))[1] == 1.0
    # mixed: forward outside, reverse inside, and the other way round
    assert jvp(lambda x: x * grad(lambda y: x + y)(2.0), (3.0,), (1.0,))[1] == 1.0
    assert grad(lambda x: x * inner(x))(3.0) == 1.0


def test_nested_closure_over_outer_variable():
    # d/dx grad_y (x * y^2) at y=3 = d/dx (6 x) = 6
    assert grad(lambda x: grad(lambda y: x * y**2)(3.0))(5.0) == 6.0


@pytest.mark.parametrize(
    "third",
    [
        lambda f: grad(grad(grad(f))),
        lambda f: jacfwd(jacfwd(jacfwd(f))),
        lambda f: jacfwd(grad(grad(f))),
        lambda f: grad(jacfwd(grad(f))),
        lambda f: grad(lambda x: hvp(f, x, 1.0)),
        lambda f: jacrev(jacfwd(grad(f))),
    ],
)
def test_third_order_in_every_combination(third):
    f = lambda x: dnp.sin(x) * x**2
    x = 0.7
    exact = -x**2 * np.cos(x) - 6 * x * np.sin(x) + 6 * np.cos(x)
    np.testing.assert_allclose(third(f)(x), exact, rtol=1e-12)


def test_fourth_order_of_exp():
    f = lambda x: dnp.exp(2 * x)
    np.testing.assert_allclose(grad(grad(grad(grad(f))))(0.3), 16 * np.exp(0.6), rtol=1e-12)


def test_hessian_of_a_network_loss_is_symmetric_and_matches_fd():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal(5)

    def loss(w):
        return dnp.mean((dnp.tanh(X @ w) - y) ** 2)

    w = rng.standard_normal(3)
    H = hessian(loss)(w)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    g = grad(loss)
    fd = np.stack([(g(w + 1e-6 * e) - g(w - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-8)


# --- vmap -----------------------------------------------------------------------------------------
def test_vmap_matches_loop_and_in_axes():
    xs = np.random.default_rng(1).standard_normal((4, 3))
    W = np.arange(6.0).reshape(2, 3)
    f = lambda x, W: dnp.tanh(W @ x) + dnp.sum(x)
    out = vmap(f, in_axes=(0, None))(xs, W)
    np.testing.assert_allclose(out, np.stack([f(x, W) for x in xs]))
    out1 = vmap(lambda x: dnp.sum(x**2), in_axes=1)(xs)
    np.testing.assert_allclose(out1, np.sum(xs**2, axis=0))


def test_vmap_of_grad_gives_per_example_gradients():
    xs = np.linspace(0.1, 1.0, 5)
    np.testing.assert_allclose(vmap(grad(lambda x: dnp.sin(x) * x))(xs),
                               np.cos(xs) * xs + np.sin(xs))


# --- custom rules and checkpoint ------------------------------------------------------------------
def test_custom_vjp_is_used_in_reverse_and_bypassed_in_forward():
    calls = []

    @custom_vjp
    def f(x):
        return dnp.sin(x)

    def fwd(x):
        calls.append("fwd")
        return dnp.sin(x), x

    def bwd(x, g):
        calls.append("bwd")
        return (g * dnp.cos(x) * 10,)  # deliberately 10x, so we can see it was used

    f.defvjp(fwd, bwd)
    np.testing.assert_allclose(grad(f)(0.3), 10 * np.cos(0.3))
    assert calls == ["fwd", "bwd"]
    # Forward mode differentiates the ordinary implementation (JAX cannot do this).
    np.testing.assert_allclose(jvp(f, (0.3,), (1.0,))[1], np.cos(0.3))
    np.testing.assert_allclose(jacfwd(f)(np.array([0.1, 0.2])), np.diag(np.cos([0.1, 0.2])))


def test_custom_vjp_second_order_through_the_rule():
    @custom_vjp
    def cube(x):
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, g: (3 * x**2 * g,))
    assert grad(grad(cube))(2.0) == 12.0
    np.testing.assert_allclose(hvp(lambda x: dnp.sum(cube(x)), np.array([1.0, 2.0]),
                                   np.array([1.0, 1.0])), [6.0, 12.0])


def test_custom_jvp_in_both_modes():
    @custom_jvp
    def softplus(x):
        return dnp.log1p(dnp.exp(x))

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] * expit(p[0])))
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(jvp(softplus, (x,), (np.ones(3),))[1], expit(x))
    np.testing.assert_allclose(grad(lambda x: dnp.sum(softplus(x)))(x), expit(x))
    np.testing.assert_allclose(jacrev(softplus)(x), np.diag(expit(x)))
    check_grads(softplus, (x,), order=2)


def test_checkpoint_gives_the_same_gradient_and_stores_less():
    def block(x):
        for _ in range(20):
            x = dnp.sin(x) * 1.1
        return x

    x = np.linspace(0, 1, 10)
    plain = grad(lambda x: dnp.sum(block(x)))(x)
    ck = grad(lambda x: dnp.sum(checkpoint(block)(x)))(x)
    np.testing.assert_allclose(plain, ck, rtol=1e-14)

    from diffopt.core.reverse import ReverseTrace

    sizes = []
    original = ReverseTrace.process

    def counting(self, prim, args, params):
        out = original(self, prim, args, params)
        sizes.append(len(self.tape))
        return out

    ReverseTrace.process = counting
    try:
        vjp(lambda x: dnp.sum(checkpoint(block)(x)), x)
        with_ck = max(sizes)
        sizes.clear()
        vjp(lambda x: dnp.sum(block(x)), x)
        without = max(sizes)
    finally:
        ReverseTrace.process = original
    assert with_ck < 5 < 40 <= without
    check_grads(checkpoint(block), (x,), order=2)


# --- threads --------------------------------------------------------------------------------------
def test_concurrent_grads_in_threads_match_serial():
    def f(x, k):
        for _ in range(30):
            x = dnp.sin(x * k) + x
        return dnp.sum(x**2)

    xs = [np.linspace(0, 1, 4) + i for i in range(8)]
    serial = [grad(f)(x, 1.0 + i / 10) for i, x in enumerate(xs)]
    results = [None] * len(xs)
    barrier = threading.Barrier(len(xs))

    def work(i):
        barrier.wait()
        for _ in range(5):
            results[i] = grad(f)(xs[i], 1.0 + i / 10)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, s in zip(results, serial):
        np.testing.assert_array_equal(r, s)


def test_jacobians_of_an_empty_output():
    f = lambda x: x[:0] * 2.0
    assert jacrev(f)(np.ones(3)).shape == (0, 3)
    assert jacfwd(f)(np.ones(3)).shape == (0, 3)


def test_linearize_evaluates_f_once_and_matches_jvp():
    calls = []

    def f(x):
        calls.append(1)
        return {"a": dnp.sin(x) * dnp.sum(x**2), "b": dnp.cumsum(x)}

    x = np.array([0.3, -0.4, 1.1])
    y, f_jvp = linearize(f, x)
    assert len(calls) == 1
    for t in (np.array([1.0, 0.0, 0.0]), np.array([0.2, -1.0, 0.5])):
        lin = f_jvp(t)
        ref = jvp(f, (x,), (t,))[1]
        for k in ("a", "b"):
            np.testing.assert_allclose(lin[k], ref[k], rtol=1e-14)
    assert len(calls) == 3  # the two jvp references, none from f_jvp
    with pytest.raises(ValueError, match="tangent of shape"):
        f_jvp(np.ones(2))


def test_linearize_through_custom_rules_and_checkpoint():
    @custom_vjp
    def g(x):
        return dnp.sin(x)

    g.defvjp(lambda x: (dnp.sin(x), x), lambda x, ct: (ct * dnp.cos(x),))

    @custom_jvp
    def h(x):
        return x**3

    h.defjvp(lambda p, t: (p[0] ** 3, 3 * p[0] ** 2 * t[0]))
    f = lambda x: checkpoint(lambda y: g(y) * h(y))(x)
    x, t = np.array([0.5, 1.5]), np.array([1.0, 2.0])
    _, f_jvp = linearize(f, x)
    np.testing.assert_allclose(f_jvp(t), jvp(f, (x,), (t,))[1], rtol=1e-14)


def test_array_methods_on_traced_values():
    x = np.arange(6.0).reshape(2, 3) / 7

    def f(x):
        y = x.T @ x.reshape(2, 3) + x.transpose().sum(axis=1, keepdims=True)
        y = y.ravel().reshape((3, 3)).squeeze().swapaxes(0, 1) + x.mT.mean()
        return (y.max() + y.min() + y.prod() + y.std() + y.var() + y.cumsum()[-1]
                + y.trace() + y.dot(y).sum() + y.clip(0.1, 0.5).sum() + y.real.sum()
                + y.astype(np.complex128).real.sum() + abs(-y).sum() + (y ** 2).mean())

    check_grads(f, (x,), order=2)
    assert grad(f)(x).shape == x.shape
