"""diffopt.ode: accuracy against scipy, convergence orders, derivatives, events, failures."""

import numpy as np
import pytest
from ode_problems import GROUND, Y0, A, G, ball, linear, lorenz, pendulum
from scipy.integrate import solve_ivp
from scipy.linalg import expm, expm_frechet

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.ode import TABLEAUS, Event, ODESolveError, solve

PROBLEMS = {
    "linear": (linear, Y0, (A,), 2.0),
    "lorenz": (lorenz, np.array([1.0, 1.0, 1.0]), ((10.0, 28.0, 8 / 3),), 0.5),
    "pendulum": (pendulum, np.array([1.2, 0.0]), (2.0,), 3.0),
}


def reference(name, times):
    fun, y0, args, _ = PROBLEMS[name]
    np_fun = (lambda t, y: np.asarray(fun(t, y, *args)))
    r = solve_ivp(np_fun, (0.0, times[-1]), y0, method="DOP853", rtol=1e-12, atol=1e-12,
                  t_eval=times)
    return r.y.T


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("method,tol,err", [("dopri5", 1e-10, 1e-7), ("bosh3", 1e-8, 5e-6)])
def test_adaptive_against_scipy(name, method, tol, err):
    fun, y0, args, T = PROBLEMS[name]
    times = np.linspace(0.0, T, 7)
    sol = solve(fun, y0, (0.0, T), args, method=method, rtol=tol, atol=tol, saveat=times)
    assert sol.status == 0 and sol.success
    np.testing.assert_allclose(sol.t, times)
    assert sol.y.shape == (7,) + y0.shape
    np.testing.assert_allclose(sol.y, reference(name, times), atol=err, rtol=err)
    np.testing.assert_allclose(sol.y_final, sol.y[-1])
    assert sol.t_final == T and sol.n_steps > 0 and sol.nfev > sol.n_steps


def test_dopri5_takes_fewer_steps_at_looser_tolerance():
    fun, y0, args, T = PROBLEMS["lorenz"]
    loose = solve(fun, y0, (0.0, T), args, rtol=1e-4, atol=1e-6)
    tight = solve(fun, y0, (0.0, T), args, rtol=1e-10, atol=1e-10)
    assert loose.n_steps < tight.n_steps / 5
    assert loose.t.shape == (loose.n_steps + 1,) and loose.y.shape == (loose.n_steps + 1, 3)


@pytest.mark.parametrize("method,order,dt", [("euler", 1, 0.01), ("rk4", 4, 0.1)])
@pytest.mark.parametrize("name", ["linear", "pendulum"])
def test_fixed_step_order_of_convergence(method, order, dt, name):
    fun, y0, args, T = PROBLEMS[name]
    exact = reference(name, np.array([0.0, T]))[-1]
    errs = [np.max(np.abs(solve(fun, y0, (0.0, T), args, method=method, dt=h).y_final - exact))
            for h in (dt, dt / 2)]
    assert errs[0] / errs[1] == pytest.approx(2.0 ** order, rel=0.15)


def test_fixed_step_lands_on_t_end_and_dense_output_is_hermite():
    sol = solve(linear, Y0, (0.0, 1.05), (A,), method="rk4", dt=0.1,
                saveat=np.array([0.0, 0.33, 1.05]))
    assert sol.n_steps == 11 and sol.t_final == 1.05
    exact = np.stack([expm(A * t) @ Y0 for t in (0.0, 0.33, 1.05)])
    np.testing.assert_allclose(sol.y, exact, atol=1e-5)


def test_tableaus_are_consistent():
    for tab in TABLEAUS.values():
        assert sum(tab.b) == pytest.approx(1.0)
        for ci, row in zip(tab.c, tab.a):
            assert sum(row) == pytest.approx(ci)
        if tab.adaptive:
            assert sum(tab.error) == pytest.approx(0.0, abs=1e-15)
            np.testing.assert_allclose(tab.dense.sum(axis=1), list(tab.b) + [0.0], atol=1e-14)


# ---------------------------------------------------------------- derivatives


def final_state(y0, a, T=1.5, method="dopri5", dt=None):
    return solve(linear, y0, (0.0, T), (a,), method=method, dt=dt, rtol=1e-11, atol=1e-11).y_final


def test_linear_jacobian_wrt_y0_is_expm():
    want = expm(A * 1.5)
    np.testing.assert_allclose(diffopt.jacrev(final_state)(Y0, A), want, atol=1e-8)
    np.testing.assert_allclose(diffopt.jacfwd(final_state)(Y0, A), want, atol=1e-8)


def test_linear_gradient_wrt_matrix_is_expm_frechet():
    w = np.array([0.3, -1.0, 0.7])
    grad = diffopt.grad(lambda a: dnp.sum(w * final_state(Y0, a)))(A)
    want = np.zeros_like(A)
    for i in range(3):
        for j in range(3):
            e = np.zeros_like(A)
            e[i, j] = 1.0
            want[i, j] = w @ expm_frechet(A * 1.5, e * 1.5, compute_expm=False) @ Y0
    np.testing.assert_allclose(grad, want, atol=1e-8)


@pytest.mark.parametrize("method,dt", [("dopri5", None), ("bosh3", None), ("rk4", 0.1),
                                       ("euler", 0.05)])
def test_gradients_match_finite_differences(method, dt):
    def f(y0, k):
        return solve(pendulum, y0, (0.0, 1.3), (k,), method=method, dt=dt, rtol=1e-6).y_final

    check_grads(f, (np.array([0.8, 0.1]), 1.7), order=1)


def test_second_order_derivatives_without_events():
    def f(y0, k, T):
        return solve(pendulum, y0, (0.0, T), (k,), method="dopri5").y_final

    check_grads(f, (np.array([0.8, 0.1]), 1.7, 1.3), order=2)


@pytest.mark.parametrize("method,dt,tol", [("dopri5", None, 1e-6), ("rk4", 0.05, 1e-5),
                                           ("euler", 1e-3, 1e-2)])
def test_derivative_wrt_final_time_is_the_right_hand_side(method, dt, tol):
    def f(T):
        return solve(pendulum, np.array([1.0, 0.0]), (0.0, T), (2.0,), method=method, dt=dt,
                     rtol=1e-10, atol=1e-10).y_final

    T = 1.23
    y = f(T)
    np.testing.assert_allclose(diffopt.jacrev(f)(T), pendulum(T, y, 2.0), atol=tol)
    np.testing.assert_allclose(diffopt.jacfwd(f)(T), pendulum(T, y, 2.0), atol=tol)


def mlp_rhs(t, y, w):
    h = dnp.tanh(w["W1"] @ y + w["b1"])
    return w["W2"] @ h - 0.1 * y


def test_forward_equals_reverse_for_pytree_args():
    rng = np.random.default_rng(0)
    w = {"W1": rng.normal(size=(4, 2)) * 0.5, "b1": rng.normal(size=4) * 0.1,
         "W2": rng.normal(size=(2, 4)) * 0.5}

    def loss(w):
        sol = solve(mlp_rhs, np.array([1.0, -1.0]), (0.0, 1.0), (w,), saveat=np.linspace(0, 1, 5))
        return dnp.sum(sol.y ** 2)

    g = diffopt.grad(loss)(w)
    v = {k: rng.normal(size=np.shape(x)) for k, x in w.items()}
    _, jv = diffopt.jvp(loss, (w,), (v,))
    assert float(jv) == pytest.approx(sum(np.sum(g[k] * v[k]) for k in w), rel=1e-10)
    eps = 1e-6
    fd = (loss({k: w[k] + eps * v[k] for k in w})
          - loss({k: w[k] - eps * v[k] for k in w})) / (2 * eps)
    assert float(jv) == pytest.approx(float(fd), rel=1e-5)


# ---------------------------------------------------------------- events


def drop(h, g=G, method="dopri5", dt=None, **kw):
    return solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (g,), method=method, dt=dt,
                 events=[GROUND], **kw)


@pytest.mark.parametrize("method,dt,tol", [("dopri5", None, 1e-12), ("rk4", 0.05, 1e-12),
                                           ("bosh3", None, 1e-12), ("euler", 1e-3, 2e-3)])
def test_falling_ball_event_time_and_derivatives(method, dt, tol):
    h = 2.0
    sol = drop(h, method=method, dt=dt)
    assert sol.status == 1 and sol.event_index == 0
    assert sol.event_time == pytest.approx(np.sqrt(2 * h / G), rel=tol)
    assert sol.t_final == sol.event_time and abs(sol.event_state[0]) < 1e-12
    np.testing.assert_allclose(sol.y_final, sol.event_state)
    dth = diffopt.grad(lambda h: drop(h, method=method, dt=dt).event_time)(h)
    assert dth == pytest.approx(1 / np.sqrt(2 * G * h), rel=max(tol, 1e-9))
    _, dth_fwd = diffopt.jvp(lambda h: drop(h, method=method, dt=dt).event_time, (h,), (1.0,))
    assert float(dth_fwd) == pytest.approx(float(dth), rel=1e-12)
    dtg = diffopt.grad(lambda g: drop(h, g, method=method, dt=dt).event_time)(G)
    assert dtg == pytest.approx(-0.5 * np.sqrt(2 * h) * G ** -1.5, rel=max(tol, 1e-9))
    # impact velocity -sqrt(2 g h): its derivative flows through the event time
    dv = diffopt.grad(lambda h: drop(h, method=method, dt=dt).y_final[1])(h)
    assert dv == pytest.approx(-np.sqrt(G / (2 * h)), rel=max(tol, 1e-9))


def test_event_direction_and_nonterminal_log():
    up = Event(lambda t, y, g: y[0], direction=+1)
    sol = solve(ball, np.array([2.0, 0.0]), (0.0, 1.0), (G,), events=[up])
    assert sol.status == 0 and sol.event_time is None and sol.event_log == []
    half = Event(lambda t, y, g: y[0] - 1.0, direction=-1, terminal=False)
    sol = solve(ball, np.array([2.0, 0.0]), (0.0, np.inf), (G,), events=[half, GROUND],
                saveat=np.array([0.1, 0.2, 5.0]))
    assert sol.status == 1 and sol.event_index == 1
    assert [i for i, _, _ in sol.event_log] == [0, 1]
    assert sol.event_log[0][1] == pytest.approx(np.sqrt(2 / G), rel=1e-12)
    np.testing.assert_allclose(sol.t, [0.1, 0.2])  # times after the terminal event are not reached
    np.testing.assert_allclose(sol.y[:, 0], 2.0 - 0.5 * G * np.array([0.1, 0.2]) ** 2)


def test_chained_stages_compose():
    # fall 1 m, then continue from the event state with a different gravity
    def two_stage(h):
        s1 = solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (G,),
                   events=[Event(lambda t, y, g: y[0] - 1.0, direction=-1)])
        s2 = solve(ball, s1.y_final, (s1.t_final, np.inf), (2 * G,), events=[GROUND])
        return s2.t_final

    h = 3.0
    t1 = np.sqrt(2 * (h - 1) / G)
    v1 = G * t1
    t2 = (-v1 + np.sqrt(v1 ** 2 + 2 * 2 * G)) / (2 * G)
    assert float(two_stage(h)) == pytest.approx(t1 + t2, rel=1e-12)
    check_grads(two_stage, (h,), order=1)


# ---------------------------------------------------------------- failures and bad input


def test_event_that_never_fires_exhausts_max_steps():
    never = Event(lambda t, y, g: 1.0 + 0.0 * y[0], direction=-1)
    sol = solve(ball, np.array([1.0, 0.0]), (0.0, np.inf), (G,), events=[never], max_steps=50)
    assert sol.status == -1 and not sol.success and "max_steps=50" in sol.message
    assert "terminal event" in sol.message and sol.n_steps == 50
    with pytest.raises(ODESolveError, match="max_steps"):
        diffopt.grad(lambda h: drop(h, max_steps=3).event_time)(100.0)


def test_step_underflow_and_non_finite_state():
    blowup = (lambda t, y: y * y)
    sol = solve(blowup, np.array([1.0]), (0.0, 2.0))  # y = 1/(1-t) blows up at t = 1
    assert sol.status in (-2, -3) and "t=" in sol.message
    assert float(sol.t_final) == pytest.approx(1.0, abs=1e-3)
    cubic = (lambda t, y: y ** 3)
    with np.errstate(over="ignore", invalid="ignore"):
        sol = solve(cubic, np.array([10.0]), (0.0, 5.0), method="euler", dt=0.5)
        assert sol.status == -3 and "non-finite" in sol.message
        with pytest.raises(ODESolveError, match="non-finite"):
            diffopt.grad(lambda y0: solve(cubic, y0, (0.0, 5.0), method="euler",
                                          dt=0.5).y_final[0])(np.array([10.0]))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"shape \(3,\).*y0 has shape \(2,\)"):
        solve(lambda t, y: dnp.stack([y[0], y[1], y[0]]), np.array([1.0, 2.0]), (0.0, 1.0))
    with pytest.raises(ValueError, match="dt="):
        solve(linear, Y0, (0.0, 1.0), (A,), method="rk4")
    with pytest.raises(ValueError, match="unknown method"):
        solve(linear, Y0, (0.0, 1.0), (A,), method="tsit7")
    with pytest.raises(TypeError, match="args="):
        solve(linear, Y0, (0.0, 1.0), A)
    with pytest.raises(ValueError, match="terminal event"):
        solve(linear, Y0, (0.0, np.inf), (A,))
    with pytest.raises(ValueError, match="saveat"):
        solve(linear, Y0, (0.0, 1.0), (A,), saveat=np.array([0.5, 2.0]))
    with pytest.raises(TypeError, match="numeric"):
        solve(linear, np.array(["a"]), (0.0, 1.0), (A,))
    with pytest.raises(ValueError, match="t_span"):
        solve(linear, Y0, (0.0, 1.0, 2.0), (A,))
    with pytest.raises(ValueError, match="scalar"):
        solve(ball, np.array([1.0, 0.0]), (0.0, 1.0), (G,), events=[Event(lambda t, y, g: y)])


# ---- batched solves: y0 with a leading batch axis, each trajectory its own clock and events ----

def ball_batch(t, y, g):
    return dnp.stack([y[..., 1], -g + 0.0 * y[..., 0]], axis=-1)


GROUND_BATCH = Event(lambda t, y, g: y[..., 0], direction=-1)
BALL_Y0 = np.array([[10.0, 0.0], [5.0, 2.0], [1.0, -1.0], [0.3, 4.0]])
BALL_G = np.array([9.81, 3.0, 9.81, 1.5])


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_batched_ball_equals_looped(method):
    def batched(y0, g, t0):
        sol = solve(ball_batch, y0, (t0, np.inf), (g,), method=method, dt=0.1,
                    events=[GROUND_BATCH], batched=True)
        return sol.t_final, sol.y_final

    def single(y0, g, t0):
        sol = solve(ball, y0, (t0, np.inf), (g,), method=method, dt=0.1, events=[GROUND])
        return sol.t_final, sol.y_final

    t0 = np.array([0.0, 0.05, 1.0, -0.3])  # each trajectory its own start time
    tb, yb = batched(BALL_Y0, BALL_G, t0)
    sol = solve(ball_batch, BALL_Y0, (t0, np.inf), (BALL_G,), method=method, dt=0.1,
                events=[GROUND_BATCH], batched=True)
    assert list(sol.status) == [1] * 4 and list(sol.event_index) == [0] * 4
    assert sol.y.shape == (max(sol.n_steps) + 1, 4, 2)
    for i in range(4):
        ts, ys = single(BALL_Y0[i], BALL_G[i], t0[i])
        assert float(tb[i]) == pytest.approx(float(ts), abs=1e-13)
        np.testing.assert_allclose(yb[i], ys, atol=1e-12)
        assert sol.n_steps[i] == solve(ball, BALL_Y0[i], (t0[i], np.inf), (BALL_G[i],),
                                       method=method, dt=0.1, events=[GROUND]).n_steps
    # gradients of the event time and of the landing speed: batched (of the sum) vs looped
    def fb(y0, g, t0):
        t, y = batched(y0, g, t0)
        return dnp.sum(t) + dnp.sum(y[:, 1] ** 2)

    gb = diffopt.grad(fb, argnums=(0, 1, 2))(BALL_Y0, BALL_G, t0)
    for i in range(4):
        gs = diffopt.grad(lambda y0, g, s: (lambda r: r[0] + r[1][1] ** 2)(single(y0, g, s)),
                          argnums=(0, 1, 2))(BALL_Y0[i], BALL_G[i], t0[i])
        np.testing.assert_allclose(gb[0][i], gs[0], rtol=1e-10, atol=1e-12)
        assert float(gb[1][i]) == pytest.approx(float(gs[1]), rel=1e-10)
        assert float(gb[2][i]) == pytest.approx(float(gs[2]), rel=1e-10, abs=1e-12)
    # forward mode agrees with reverse
    v = np.array([1.0, -0.5, 0.2, 0.7])
    _, tan = diffopt.jvp(lambda g: fb(BALL_Y0, g, t0), (BALL_G,), (v,))
    assert float(tan) == pytest.approx(float(np.dot(gb[1], v)), rel=1e-10)


def test_batched_linear_equals_looped_with_end_times():
    def lin_batch(t, y, a):  # a: (B, 3, 3), one matrix per trajectory
        return dnp.sum(a * y[:, None, :], axis=-1)

    rng = np.random.default_rng(0)
    a = A + 0.1 * rng.standard_normal((3, 3, 3))
    y0 = Y0 + 0.2 * rng.standard_normal((3, 3))
    t_end = np.array([0.95, 1.0, 0.333])  # not multiples of dt: each its own short last step

    def fb(y0, a, t_end):
        sol = solve(lin_batch, y0, (0.0, t_end), (a,), method="rk4", dt=0.1, batched=True)
        assert list(sol.status) == [0, 0, 0]
        return sol.y_final

    yb = fb(y0, a, t_end)
    for i in range(3):
        ys = solve(linear, y0[i], (0.0, t_end[i]), (a[i],), method="rk4", dt=0.1).y_final
        np.testing.assert_allclose(yb[i], ys, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(yb[i], expm(t_end[i] * a[i]) @ y0[i], atol=1e-5)
    w = np.array([0.3, -1.0, 2.0])
    gb = diffopt.grad(lambda *p: dnp.sum(fb(*p) @ w), argnums=(0, 1, 2))(y0, a, t_end)
    for i in range(3):
        gs = diffopt.grad(lambda y, m, te: solve(linear, y, (0.0, te), (m,), method="rk4",
                                                 dt=0.1).y_final @ w,
                          argnums=(0, 1, 2))(y0[i], a[i], t_end[i])
        for k in range(3):
            np.testing.assert_allclose(gb[k][i], gs[k], rtol=1e-10, atol=1e-13)


def test_batched_bad_input_and_failures():
    y0 = np.ones((2, 1))
    with pytest.raises(ValueError, match="dt="):
        solve(lambda t, y: -y, y0, (0.0, 1.0), method="rk4", batched=True)
    with pytest.raises(ValueError, match="batch shape"):
        solve(lambda t, y: -y, y0, (np.zeros(3), 1.0), method="euler", dt=0.1, batched=True)
    with pytest.raises(ValueError, match="whole batch"):
        solve(lambda t, y: -y[0], y0, (0.0, 1.0), method="euler", dt=0.1, batched=True)
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        solve(lambda t, y: -y, y0, (0.0, 1.0), method="euler", dt=0.1, batched=True,
              events=[Event(lambda t, y: y)])
    # one trajectory never fires: it alone reports max_steps; with a derivative it is named
    ev = Event(lambda t, y: y[:, 0] - 0.5, direction=-1)
    sol = solve(lambda t, y: -y, np.array([[1.0], [-1.0]]), (0.0, np.inf), method="euler",
                dt=0.1, events=[ev], max_steps=50, batched=True)
    assert list(sol.status) == [1, -1] and sol.failures() == [1]
    assert float(sol.t_final[0]) == pytest.approx(0.7, abs=0.1)
    with pytest.raises(ODESolveError, match="trajectories \\[1\\]"):
        diffopt.grad(lambda y: dnp.sum(solve(lambda t, y: -y, y, (0.0, np.inf), method="euler",
                                             dt=0.1, events=[ev], max_steps=50,
                                             batched=True).t_final))(np.array([[1.0], [-1.0]]))
