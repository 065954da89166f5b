"""diffopt.ode.solve(..., backend="numba"): the compiled integrator, events and discrete adjoint.

Compiled equals NumPy (the same steps, values to rounding, reverse-mode gradients to 1e-9), closed
forms and analytic event derivatives; batched compiled solves equal the batched NumPy path and
looped single solves; forward mode and second order run the NumPy path; fallbacks and failures.

Compile cost: each distinct problem (right-hand side x events x method x shapes) costs Numba
10-30 s the first time (then it is cached on disk, under ``DIFFOPT_CACHE_DIR``). The right-hand
sides and events are defined once below and the whole file compiles these ten problems only:

    linear dopri5, linear rk4, lorenz tsit5, lorenz euler, forced bosh3     (single solves)
    ball rk4 + TERMINAL, ball dopri5 + TERMINAL, ball dopri5 + LEVEL_EVENTS (events)
    pendulum_rows rk4, pendulum dopri5 + SWING                             (batched)

Add tests to these problems rather than new ones.
"""

import warnings

import numpy as np
import pytest
from scipy.linalg import expm

import diffopt
import diffopt.numpy as dnp
from diffopt.core.pytree import tree_leaves
from diffopt.ode import Event, ODESolveError, solve

pytest.importorskip("numba")

A = np.array([[-0.5, 1.0, 0.0], [-1.0, -0.3, 0.2], [0.1, 0.0, -0.8]])
Y0 = np.array([1.0, -0.5, 0.25])
W = np.array([0.3, -1.0, 0.7])
LIN_ARGS = (A, {"k": 1.3, "b": np.array([0.2, 0.0, -0.1])})  # a pytree with a matrix
G = 9.81


# ---------------------------------------------------------------- the problems


def linear(t, y, a, p):
    return p["k"] * (a @ y) + p["b"]


def lorenz(t, y, p):
    s, r, b = p
    return dnp.stack([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def forced(t, y, w, drive):  # a damped oscillator driven at frequency drive[1]: f depends on t
    return dnp.stack([y[1], -w ** 2 * y[0] - 0.1 * y[1] + drive[0] * dnp.sin(drive[1] * t)])


# name: (fun, y0, args, t_span, options); each a compiled problem (fun x method)
CASES = {
    "linear-dopri5": (linear, Y0, LIN_ARGS, (0.1, 2.0), dict(method="dopri5", rtol=1e-9,
                                                             atol=1e-9)),
    "linear-rk4": (linear, Y0, LIN_ARGS, (0.1, 1.25), dict(method="rk4", dt=0.1)),
    "lorenz-tsit5": (lorenz, np.array([1.0, 1.0, 1.0]), ((10.0, 28.0, 8 / 3),), (0.0, 0.6),
                     dict(method="tsit5", rtol=1e-7, atol=1e-9)),
    "lorenz-euler": (lorenz, np.array([1.0, 1.0, 1.0]), ((10.0, 28.0, 8 / 3),), (0.0, 0.33),
                     dict(method="euler", dt=0.01)),
    "forced-bosh3": (forced, np.array([1.0, 0.0]), (1.5, np.array([0.8, 2.0])), (0.2, 2.0),
                     dict(method="bosh3", rtol=1e-6, atol=1e-9)),
}


def ball(t, y, p):
    return dnp.stack([y[1], -p["g"] + 0.0 * y[0]])


# A ball thrown up from BALL_Y0. Terminal events of each direction (and two that read the step's
# start), each switched off by its parameter in P_OFF: they compile as one problem.
def jump_condition(t, y, p, *, step_start):
    """Jumps below zero just after the start ``t0`` of the first step with ``t0 > p["jump"]``."""
    t0, _ = step_start
    return dnp.where(t == t0, 1.0, p["jump"] - t0) + 0.0 * y[0]


def mean_velocity(t, y, p, *, step_start):
    """The height's mean velocity since the step's start (the velocity at the start itself),
    minus ``p["mean"]``."""
    t0, y0 = step_start
    at_start = t == t0
    mean = dnp.where(at_start, y[1], (y[0] - y0[0]) / dnp.where(at_start, 1.0, t - t0))
    return mean - p["mean"]


TERMINAL = [Event(lambda t, y, p: y[0], direction=-1),  # 0: it lands
            Event(lambda t, y, p: -y[1] - p["fast"], direction=+1),  # 1: falling at this speed
            Event(lambda t, y, p: t - p["clock"] + 0.0 * y[0], direction=0),  # 2: at this time
            Event(jump_condition, direction=-1, needs_step_start=True),  # 3
            Event(mean_velocity, direction=-1, needs_step_start=True)]  # 4
P_OFF = {"g": G, "fast": 100.0, "clock": 100.0, "jump": 100.0, "mean": -100.0}
# both exact for the ball, with their dense output; dopri5's steps: 0.1, then 1 (error 0)
BALL_KW = {"rk4": dict(method="rk4", dt=0.1), "dopri5": dict(method="dopri5", dt=0.1)}
# a non-terminal event: the ball passes the level 1 going up and coming down (it lands at 0.93)
LEVEL_EVENTS = [Event(lambda t, y, p: y[0] - 1.0, direction=0, terminal=False), TERMINAL[0]]
BALL_Y0 = np.array([0.5, 4.0])


def pendulum(t, y, k, w):
    """One trajectory (``y`` (2,), ``k`` a scalar) or a batch (``y`` (B, 2), ``k`` (B,)); ``w``
    (2,) is shared: damping and torque. A batched compiled solve traces it on one row."""
    return dnp.stack([y[..., 1], -k * dnp.sin(y[..., 0]) - w[0] * y[..., 1] + w[1]], axis=-1)


def pendulum_rows(t, y, k, w):
    """``pendulum`` for a batch only: a batched compiled solve traces it on a batch of one."""
    return dnp.stack([y[:, 1], -k * dnp.sin(y[:, 0]) - w[0] * y[:, 1] + w[1]], axis=1)


SWING = Event(lambda t, y, k, w: y[..., 0], direction=-1)  # the angle passes 0 downwards

NB = 17  # rows: the compiled batch runs in two threads (8 rows or more each)
_rng = np.random.default_rng(7)
P_Y0 = np.stack([_rng.uniform(-1.0, 1.5, NB), _rng.uniform(-0.5, 0.5, NB)], axis=1)
P_K = _rng.uniform(0.5, 4.0, NB)
P_W = np.array([0.1, 0.05])
P_T0 = _rng.uniform(0.0, 0.3, NB)
P_T_END = P_T0 + _rng.uniform(0.3, 2.0, NB)


# ---------------------------------------------------------------- helpers


def both(fun, y0, t_span, args=(), **kw):
    """The compiled and the NumPy solution."""
    return tuple(solve(fun, y0, t_span, args, backend=b, **kw) for b in ("numba", "numpy"))


def assert_same_solution(c, n, rtol=1e-12, atol=1e-14):
    assert (c.status, c.n_steps, c.n_rejected, c.nfev) == (n.status, n.n_steps, n.n_rejected,
                                                           n.nfev)
    assert (c.event_index, c.message) == (n.event_index, n.message)
    assert c.t.shape == n.t.shape and c.y.shape == n.y.shape
    np.testing.assert_allclose(c.t, n.t, rtol=rtol, atol=atol)
    np.testing.assert_allclose(c.y, n.y, rtol=rtol, atol=atol)
    assert float(c.t_final) == pytest.approx(float(n.t_final), rel=rtol, abs=atol)
    np.testing.assert_allclose(c.y_final, n.y_final, rtol=rtol, atol=atol)
    assert [i for i, _, _ in c.event_log] == [i for i, _, _ in n.event_log]
    for (_, tc, yc), (_, tn, yn) in zip(c.event_log, n.event_log):
        assert float(tc) == pytest.approx(float(tn), rel=rtol, abs=atol)
        np.testing.assert_allclose(yc, yn, rtol=rtol, atol=atol)


def assert_trees_close(got, want, rtol=1e-9, atol=1e-12):
    got, want = tree_leaves(got), tree_leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol + rtol * np.max(np.abs(w)))


def trajectory_loss(fun, backend, **kw):
    """A scalar of ``(y0, args, t0, t_end)`` with cotangents on every output of the solve: the
    final state and time, and the saved trajectory's states and times."""
    def loss(y0, args, t0, t_end):
        s = solve(fun, y0, (t0, t_end), args, backend=backend, **kw)
        w = np.linspace(0.3, -0.7, y0.size).reshape(y0.shape)
        return (dnp.sum(s.y_final * w) + 0.7 * s.t_final + dnp.sum(s.y ** 2)
                + 0.1 * dnp.sum(s.t))

    return loss


def linear_exact(y0, args, t0, t_end):
    """The closed form of ``linear``: ``y(T) = e^{M s} y0 + M^{-1} (e^{M s} - I) b``."""
    a, p = args
    m = p["k"] * a
    e = expm(m * (t_end - t0))
    return e @ y0 + np.linalg.solve(m, (e - np.eye(3)) @ p["b"])


# ---------------------------------------------------------------- compiled equals NumPy


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_numpy(name):
    fun, y0, args, span, kw = CASES[name]
    c, n = both(fun, y0, span, args, **kw)
    assert c.status == 0 and c.n_steps > 10 and c.event_index is None and c.event_log == []
    assert_same_solution(c, n)
    assert c.t[0] == span[0] and c.t[-1] == span[1] and c.t_final == span[1]
    if kw["method"] in ("dopri5", "tsit5", "bosh3"):  # different tolerances, different steps
        loose = both(fun, y0, span, args, **dict(kw, rtol=1e-4))
        assert loose[0].n_steps < c.n_steps
        assert_same_solution(*loose)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_equal_numpy(name):
    fun, y0, args, span, kw = CASES[name]
    grads = [diffopt.grad(trajectory_loss(fun, b, **kw), argnums=(0, 1, 2, 3))(y0, args, *span)
             for b in ("numba", "numpy")]
    assert_trees_close(grads[0], grads[1], rtol=1e-9)
    assert len(tree_leaves(grads[0])) == 3 + len(tree_leaves(args))
    values = [trajectory_loss(fun, b, **kw)(y0, args, *span) for b in ("numba", "numpy")]
    assert float(values[0]) == pytest.approx(float(values[1]), rel=1e-12)


def test_kernels_write_into_the_loops_buffers():
    """A right-hand side (or its VJP) that ends in a vector literal returns a tuple, which the
    loop writes into its own buffer: no heap allocation per call. Other results are copied."""
    from pathlib import Path

    from diffopt.ode import TABLEAUS
    from diffopt.ode.compiled import get_problem

    src = {}
    for name in ("lorenz-tsit5", "linear-rk4"):
        fun, y0, args, span, kw = CASES[name]
        problem = get_problem(fun, (), TABLEAUS[kw["method"]], y0, args)
        src[name] = Path(problem.module.__file__).read_text()
    lorenz_src = src["lorenz-tsit5"]
    kernel = lorenz_src[lorenz_src.index("def _rhs_kernel"):lorenz_src.index("def rhs_into")]
    assert "_np.array" not in kernel
    assert "out[2] = r[2]" in lorenz_src and "out[2] = r[1][2]" in lorenz_src  # rhs, its VJP
    assert "out[:] = r" in src["linear-rk4"]


@pytest.mark.parametrize("name,tol", [("linear-dopri5", 1e-7), ("linear-rk4", 1e-4)])
def test_linear_system_against_the_closed_form(name, tol):
    _, y0, args, (t0, t_end), kw = CASES[name]

    def final(y0, args, t0, t_end):
        return solve(linear, y0, (t0, t_end), args, backend="numba", **kw).y_final

    np.testing.assert_allclose(final(y0, args, t0, t_end), linear_exact(y0, args, t0, t_end),
                               rtol=tol, atol=tol)
    m = args[1]["k"] * args[0]
    e = expm(m * (t_end - t0))
    # d y(T) / d y0 = e^{M (T - t0)}: by jacrev (batched cotangents) and by grad
    np.testing.assert_allclose(diffopt.jacrev(final)(y0, args, t0, t_end), e, atol=tol)
    gy0, gt0, gte = diffopt.grad(lambda *a: dnp.sum(final(*a) * W), argnums=(0, 2, 3))(
        y0, args, t0, t_end)
    np.testing.assert_allclose(gy0, e.T @ W, atol=tol)
    rhs_end = m @ linear_exact(y0, args, t0, t_end) + args[1]["b"]
    assert float(gte) == pytest.approx(W @ rhs_end, abs=tol)  # d y(T)/dT = f(T, y(T))
    assert float(gt0) == pytest.approx(-W @ e @ (m @ y0 + args[1]["b"]), abs=tol)


# ---------------------------------------------------------------- events


# name: (parameters, t_end, the event that fires, its exact time (per method where it depends on
# the steps) and derivatives with respect to h, v0, t0 and the parameters), for
# BALL_Y0 = (h, v0) = (0.5, 4) and t0 = 0
_S = np.sqrt(4.0 ** 2 + 2 * G * 0.5)
SCENARIOS = {
    "lands (-1) in the last, shortened step": (
        {}, 0.93, 0, (4.0 + _S) / G,
        {"h": 1 / _S, "v0": (1 + 4.0 / _S) / G, "t0": 1.0,
         "g": 0.5 / (_S * G) - (4 + _S) / G ** 2}),
    "falls at speed 3 (+1)": ({"fast": 3.0}, 2.0, 1, 7.0 / G,
                              {"v0": 1 / G, "t0": 1.0, "g": -7.0 / G ** 2, "fast": 1 / G}),
    "clock (0)": ({"clock": 0.55}, 2.0, 2, 0.55, {"clock": 1.0}),
    # the jump at the start of the (second) step from t0 + 0.1: it moves with t0 only
    "jump at a step start": ({"jump": 0.05}, 2.0, 3, 0.1, {"t0": 1.0}),
    # the mean velocity from the start t_k of the step is v_k - g (t - t_k) / 2: zero at
    # 2 v0 / g - t_k (t_k = 0.4 with rk4, 0.1 with dopri5)
    "mean velocity from the step start": ({"mean": 0.0}, 2.0, 4,
                                          {"rk4": 8.0 / G - 0.4, "dopri5": 8.0 / G - 0.1},
                                          {"v0": 2 / G, "t0": 1.0, "g": -8.0 / G ** 2,
                                           "mean": -2 / G}),
}


@pytest.mark.parametrize("method", sorted(BALL_KW))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_terminal_events(scenario, method):
    change, t_end, index, t_star, d_exact = SCENARIOS[scenario]
    t_star = t_star[method] if isinstance(t_star, dict) else t_star
    p = dict(P_OFF, **change)
    kw = BALL_KW[method]
    sol, ref = both(ball, BALL_Y0, (0.0, t_end), (p,), events=TERMINAL, **kw)
    assert sol.status == 1 and sol.event_index == index
    assert_same_solution(sol, ref, atol=1e-13)
    assert [i for i, _, _ in sol.event_log] == [index]
    assert float(sol.event_time) == pytest.approx(t_star, rel=1e-12)
    assert sol.t_final == sol.event_time and sol.t[-1] == sol.event_time
    if index == 0:  # in the last step, [0.9 or 0.1, 0.93]: its size depends on t_end
        assert sol.t[-2] == pytest.approx(0.9 if method == "rk4" else 0.1, rel=1e-12)
        assert sol.n_steps == (10 if method == "rk4" else 2)
    h, v0 = BALL_Y0
    np.testing.assert_allclose(sol.event_state, [h + v0 * t_star - G * t_star ** 2 / 2,
                                                 v0 - G * t_star], rtol=1e-12, atol=1e-13)

    def stop(y0, p, t0, t_end, backend):
        return solve(ball, y0, (t0, t_end), (p,), events=TERMINAL, backend=backend, **kw)

    def event_time(*a):
        return stop(*a).event_time

    def event_state(*a):  # y(t*), t* moving too; and the log's entry, the same values
        s = stop(*a)
        return dnp.sum(s.event_state * W[:2]) + 0.3 * s.event_log[-1][1]

    grads = [diffopt.grad(event_time, argnums=(0, 1, 2, 3))(BALL_Y0, p, 0.0, t_end, b)
             for b in ("numba", "numpy")]
    assert_trees_close(grads[0], grads[1], atol=1e-11)
    d_y0, d_p, d_t0, d_t_end = grads[0]
    want = dict.fromkeys(["h", "v0", "t0"] + list(p), 0.0)
    want.update(d_exact)
    np.testing.assert_allclose(d_y0, [want["h"], want["v0"]], rtol=1e-9, atol=1e-11)
    assert float(d_t0) == pytest.approx(want["t0"], rel=1e-9, abs=1e-11)
    assert abs(float(d_t_end)) < 1e-11
    for k in p:
        assert float(d_p[k]) == pytest.approx(want[k], rel=1e-9, abs=1e-11), k
    grads = [diffopt.grad(event_state, argnums=(0, 1, 2, 3))(BALL_Y0, p, 0.0, t_end, b)
             for b in ("numba", "numpy")]
    assert_trees_close(grads[0], grads[1], atol=1e-11)
    if index == 0:  # the impact velocity -sqrt(v0^2 + 2 g h)
        dv = diffopt.grad(lambda y0: stop(y0, p, 0.0, t_end, "numba").y_final[1])(BALL_Y0)
        np.testing.assert_allclose(dv, -np.array([G, v0]) / _S, rtol=1e-9)


def test_non_terminal_event_log_and_its_derivatives():
    h, v0 = BALL_Y0
    up, down = sorted(np.roots([-G / 2, v0, h - 1.0]))
    for t_end, log in ((0.8, [0, 0]), (np.inf, [0, 0, 1])):  # up, down (and landing)
        sol, ref = both(ball, BALL_Y0, (0.0, t_end), (P_OFF,), events=LEVEL_EVENTS)
        assert sol.status == (t_end == np.inf) and [i for i, _, _ in sol.event_log] == log
        assert_same_solution(sol, ref, atol=1e-13)
        np.testing.assert_allclose([t for _, t, _ in sol.event_log[:2]], [up, down], rtol=1e-12)
        np.testing.assert_allclose([y[0] for _, _, y in sol.event_log[:2]], 1.0, rtol=1e-12)

    def logged(y0, p, backend):
        s = solve(ball, y0, (0.0, np.inf), (p,), events=LEVEL_EVENTS, backend=backend)
        return sum(t + dnp.sum(y * W[:2]) for _, t, y in s.event_log)

    grads = [diffopt.grad(logged, argnums=(0, 1))(BALL_Y0, P_OFF, b) for b in ("numba", "numpy")]
    assert_trees_close(grads[0], grads[1])
    # the time the ball passes the level coming down: d/dh = 1 / sqrt(v0^2 + 2 g (h - 1))
    dh = diffopt.grad(lambda y0: solve(ball, y0, (0.0, np.inf), (P_OFF,), events=LEVEL_EVENTS,
                                       backend="numba").event_log[1][1])(BALL_Y0)
    assert dh[0] == pytest.approx(1 / np.sqrt(v0 ** 2 + 2 * G * (h - 1.0)), rel=1e-9)


# ---------------------------------------------------------------- forward mode, second order


def test_forward_mode_and_second_order_run_the_numpy_path():
    _, y0, args, span, kw = CASES["linear-dopri5"]

    def f(y0, t_end, backend):
        return solve(linear, y0, (span[0], t_end), args, backend=backend, **kw).y_final

    def results(backend):
        def g(y0, t_end):
            return f(y0, t_end, backend)

        def scalar(y0):
            return dnp.sum(g(y0, span[1]) ** 2)

        v = np.array([0.5, -1.0, 2.0])
        return (diffopt.jvp(g, (y0, span[1]), (v, 1.0))[1], diffopt.jacfwd(g)(y0, span[1]),
                diffopt.hessian(scalar)(y0),
                diffopt.grad(lambda y: dnp.sum(diffopt.grad(scalar)(y) ** 2))(y0),
                diffopt.hvp(scalar, y0, v))

    assert_trees_close(results("numba"), results("numpy"), rtol=1e-14, atol=0.0)
    # the event time under forward mode (the implicit-function-theorem derivative)
    h, v0 = BALL_Y0
    _, dt = diffopt.jvp(lambda y0: solve(ball, y0, (0.0, np.inf), (P_OFF,),
                                         events=LEVEL_EVENTS, backend="numba").event_time,
                        (BALL_Y0,), (np.array([1.0, 0.0]),))
    assert float(dt) == pytest.approx(1 / np.sqrt(v0 ** 2 + 2 * G * h), rel=1e-12)


# ---------------------------------------------------------------- batched


def batched_loss(fun, method, backend, **kw):
    """``sum(a * t_final) + sum(y_final * w)`` of a batched solve, of ``(y0, k, w, t0, t_end)``,
    and row ``i``'s term by a single solve."""
    a = np.linspace(0.5, 1.5, NB)

    def loss(y0, k, w, t0, t_end):
        s = solve(fun, y0, (t0, t_end), (k, w), method=method, batched=True, backend=backend,
                  **kw)
        return dnp.sum(a * s.t_final) + dnp.sum(s.y_final * np.array([0.4, -0.9]))

    def single(i, y0, k, w, t0, t_end):
        s = solve(pendulum, y0, (t0, t_end), (k, w), method=method, **kw)
        return a[i] * s.t_final + dnp.sum(s.y_final * np.array([0.4, -0.9]))

    return loss, single


def batch_fields(sol):
    """``(status, n_steps, event_index, t_final, y_final)`` of a batched solution or of a list of
    single ones."""
    if isinstance(sol, list):
        return (np.array([s.status for s in sol]), np.array([s.n_steps for s in sol]),
                np.array([-1 if s.event_index is None else s.event_index for s in sol]),
                np.array([float(s.t_final) for s in sol]), np.stack([s.y_final for s in sol]))
    return (sol.status, sol.n_steps, sol.event_index, np.asarray(sol.t_final, dtype=float),
            np.asarray(sol.y_final))


BATCH_CASES = {"rk4, traced with the batch axis": (pendulum_rows, "rk4", dict(dt=0.1)),
               "dopri5 + event, traced on one row": (pendulum, "dopri5", dict(
                   rtol=1e-7, atol=1e-9, events=[SWING]))}


@pytest.mark.parametrize("case", sorted(BATCH_CASES))
def test_batched_equals_batched_numpy_and_looped(case):
    fun, method, kw = BATCH_CASES[case]
    inputs = (P_Y0, P_K, P_W, P_T0, P_T_END)
    c, n = (solve(fun, P_Y0, (P_T0, P_T_END), (P_K, P_W), method=method, batched=True,
                  backend=b, **kw) for b in ("numba", "numpy"))
    singles = [solve(pendulum, P_Y0[i], (P_T0[i], P_T_END[i]), (P_K[i], P_W), method=method,
                     **kw) for i in range(NB)]
    got = batch_fields(c)
    for want in (batch_fields(n), batch_fields(singles)):
        for i in range(3):  # status, n_steps, event_index
            np.testing.assert_array_equal(got[i], want[i])
        np.testing.assert_allclose(got[3], want[3], rtol=1e-12)  # t_final
        np.testing.assert_allclose(got[4], want[4], rtol=1e-12, atol=1e-13)  # y_final
    np.testing.assert_allclose(c.event_time, c.t_final)
    np.testing.assert_array_equal(c.n_rejected, n.n_rejected)  # the one result type, complete
    assert [[i for i, _, _ in r] for r in c.event_log] == [[i for i, _, _ in r]
                                                           for r in n.event_log]
    for rc, rn in zip(c.event_log, n.event_log):
        for (_, tc, yc), (_, tn, yn) in zip(rc, rn):
            np.testing.assert_allclose(float(tc), float(tn), rtol=1e-12)
            np.testing.assert_allclose(yc, yn, rtol=1e-10, atol=1e-12)
    if "events" in kw:  # some rows swing through 0 before their end time, some do not
        assert 0 < np.sum(c.status == 1) < NB and set(c.status) == {0, 1}
    else:
        np.testing.assert_array_equal(c.t_final, P_T_END)

    loss_c, single = batched_loss(fun, method, "numba", **kw)
    g_c = diffopt.grad(loss_c, argnums=(0, 1, 2, 3, 4))(*inputs)
    g_n = diffopt.grad(batched_loss(fun, method, "numpy", **kw)[0], argnums=(0, 1, 2, 3, 4))(
        *inputs)
    assert_trees_close(g_c, g_n)
    g_w = 0.0
    for i in range(NB):
        g_i = diffopt.grad(single, argnums=(1, 2, 3, 4, 5))(i, *(x[i] for x in (
            P_Y0, P_K)), P_W, P_T0[i], P_T_END[i])
        for k in (0, 1, 3, 4):
            np.testing.assert_allclose(g_c[k][i], g_i[k], rtol=1e-9, atol=1e-12)
        g_w = g_w + g_i[2]
    np.testing.assert_allclose(g_c[2], g_w, rtol=1e-9)  # the shared w: summed over rows


def test_batched_scalar_times():
    # one start and end time for every row: their cotangents are summed over the rows
    sol = solve(pendulum_rows, P_Y0, (0.0, 1.0), (P_K, P_W), method="rk4", dt=0.1,
                batched=True, backend="numba")
    for i in (0, NB - 1):
        s = solve(pendulum, P_Y0[i], (0.0, 1.0), (P_K[i], P_W), method="rk4", dt=0.1)
        np.testing.assert_allclose(sol.y_final[i], s.y_final, rtol=1e-12)

    def loss(t0, t_end, backend):
        return dnp.sum(solve(pendulum_rows, P_Y0, (t0, t_end), (P_K, P_W), method="rk4",
                             dt=0.1, batched=True, backend=backend).y_final ** 2)

    g = diffopt.grad(loss, argnums=(0, 1))(0.0, 1.0, "numba")
    assert all(np.shape(v) == () for v in g)
    assert_trees_close(g, diffopt.grad(loss, argnums=(0, 1))(0.0, 1.0, "numpy"))


def test_batched_jacobian_by_jacrev():
    # jacrev pulls back a batch of cotangents at once (vmap over the compiled adjoint)
    def angles(k, backend):
        return solve(pendulum_rows, P_Y0, (P_T0, P_T_END), (k, P_W), method="rk4", dt=0.1,
                     batched=True, backend=backend).y_final[:, 0]

    jac = diffopt.jacrev(angles)(P_K, "numba")
    assert jac.shape == (NB, NB)
    np.testing.assert_array_equal(jac, np.diag(np.diag(jac)))  # the rows are independent
    assert np.all(np.diag(jac) != 0.0)
    assert_trees_close(jac, diffopt.jacrev(angles)(P_K, "numpy"), atol=1e-13)


# ---------------------------------------------------------------- fallback


def cumsum_rhs(t, y, a):
    return -a * dnp.cumsum(y)


def linalg_rhs(t, y, a):
    return -dnp.linalg.solve(a, y)


def branching_rhs(t, y, a):
    if y[0] > 0:  # Python control flow on a traced value
        return -a @ y
    return a @ y


@pytest.mark.parametrize("fun,reason", [(cumsum_rhs, "cumsum"), (linalg_rhs, "solve"),
                                        (branching_rhs, "tracing failed")])
def test_uncompilable_right_hand_sides_warn_and_run_the_numpy_path(fun, reason):
    a = 0.5 if fun is cumsum_rhs else np.eye(3) + 0.1 * A
    fun = (lambda f: lambda t, y, a: f(t, y, a))(fun)  # a fresh function: it warns once
    with pytest.warns(UserWarning, match="cannot be compiled") as record:
        sol = solve(fun, Y0, (0.0, 1.0), (a,), backend="numba")
    assert any(reason in str(w.message) for w in record)
    ref = solve(fun, Y0, (0.0, 1.0), (a,), backend="numpy")
    assert_same_solution(sol, ref, rtol=0.0, atol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (warned once per problem)
        g = diffopt.grad(lambda y: dnp.sum(solve(fun, y, (0.0, 1.0), (a,),
                                                 backend="numba").y_final))(Y0)
    g_n = diffopt.grad(lambda y: dnp.sum(solve(fun, y, (0.0, 1.0), (a,)).y_final))(Y0)
    assert_trees_close(g, g_n, rtol=0.0, atol=0.0)


def test_complex_state_and_bad_right_hand_side_take_the_numpy_path():
    _, y0, args, span, kw = CASES["linear-dopri5"]
    z0 = y0 + 0.5j * y0[::-1]
    with pytest.warns(UserWarning, match="complex state cannot be compiled"):
        sol = solve(linear, z0, span, args, backend="numba", **kw)
    ref = solve(linear, z0, span, args, **kw)
    assert np.iscomplexobj(sol.y_final) and np.all(sol.y_final.imag != 0)
    assert_same_solution(sol, ref, rtol=0.0, atol=0.0)

    def flat(t, y, a, p):  # dy/dt of the wrong shape
        return dnp.sum(linear(t, y, a, p))

    with pytest.warns(UserWarning, match=r"cannot be compiled.*returned shape \(\)"):
        with pytest.raises(ValueError, match=r"returned shape \(\) but y0 has shape \(3,\)"):
            solve(flat, y0, span, args, backend="numba", **kw)


# ---------------------------------------------------------------- failures


def test_max_steps():
    fun, y0, args, span, kw = CASES["linear-dopri5"]
    sol, ref = both(fun, y0, span, args, max_steps=3, **kw)
    assert sol.status == -1 and not sol.success and sol.n_steps == 3
    assert_same_solution(sol, ref)
    assert sol.message == f"max_steps=3 reached at t={float(sol.t_final):.6g} before t_span[1]=2"
    with pytest.raises(ODESolveError, match="max_steps=3 reached"):
        diffopt.grad(lambda y: dnp.sum(solve(fun, y, span, args, max_steps=3, backend="numba",
                                             **kw).y_final))(y0)
    # with a terminal event that has not fired yet
    sol, ref = both(ball, BALL_Y0, (0.0, np.inf), (P_OFF,), events=TERMINAL, max_steps=4,
                    **BALL_KW["rk4"])
    assert sol.status == -1 and sol.message.endswith("before any terminal event fired")
    assert_same_solution(sol, ref)
    with pytest.raises(ODESolveError, match="max_steps=4 reached"):
        diffopt.grad(lambda y: solve(ball, y, (0.0, np.inf), (P_OFF,), events=TERMINAL,
                                     max_steps=4, backend="numba", **BALL_KW["rk4"]).t_final)(
            BALL_Y0)


def test_non_finite_state():
    fun, y0, args, span, kw = CASES["lorenz-euler"]
    kw = dict(kw, dt=0.2)  # euler with a far too large step blows up
    with np.errstate(over="ignore", invalid="ignore"):
        sol, ref = both(fun, y0, (0.0, 10.0), args, **kw)
        assert sol.status == -3 and not sol.success and sol.message == "non-finite state at t=3.2"
        assert_same_solution(sol, ref)
        assert np.all(np.isfinite(sol.y)) and float(sol.t_final) == pytest.approx(3.0)
        with pytest.raises(ODESolveError, match="non-finite"):
            diffopt.grad(lambda y: dnp.sum(solve(fun, y, (0.0, 10.0), args, backend="numba",
                                                 **kw).y_final))(y0)


def test_cuda_backend_without_cuda_says_what_to_install():
    from diffopt import cuda

    y0 = np.ones((2, 1))
    if cuda.MODE is not None:
        pytest.skip("CUDA runs here (tests/cuda tests it)")
    with pytest.raises(RuntimeError, match="needs CUDA"):
        solve(lambda t, y: -y, y0, (0.0, 1.0), method="rk4", dt=0.1, batched=True,
              backend="cuda")
    # ("auto" picks CUDA only for CuPy arrays on a GPU)
    sol = solve(lambda t, y: -y, y0, (0.0, 1.0), method="rk4", dt=0.1, batched=True)
    assert sol.y_final.shape == (2, 1)
