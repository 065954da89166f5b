"""diffopt.ode: the tsit5 method, and batched solves with adaptive methods, saveat and events
(batched results and derivatives equal a loop of single solves)."""

from dataclasses import replace

import numpy as np
import pytest
from ode_problems import A, G, ball, linear, lorenz, pendulum
from scipy.integrate import solve_ivp
from scipy.linalg import expm

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.ode import TABLEAUS, Event, ODESolveError, solve, solve_batch
from diffopt.ode.control import PIController, error_norm, initial_step
from diffopt.ode.interpolation import StepInterpolant
from diffopt.ode.tableaus import TSIT5, combine


def pendulum_rows(t, y, k):  # the batched right-hand side: y (B, 2), k (B,)
    return dnp.stack([y[:, 1], -k * dnp.sin(y[:, 0])], axis=1)


def ball_rows(t, y, g):
    return dnp.stack([y[:, 1], -g + 0.0 * y[:, 0]], axis=1)


# ---------------------------------------------------------------- tsit5


def test_tsit5_coefficients_satisfy_the_order_conditions():
    tab = TSIT5
    assert TABLEAUS["tsit5"] is tab and tab.adaptive and tab.order == 5
    c = np.array(tab.c)
    b = np.array(tab.b)
    a = np.zeros((6, 6))
    for i, row in enumerate(tab.a):
        a[i, :len(row)] = row
    np.testing.assert_allclose(a.sum(axis=1), c, atol=1e-15)
    for k in range(5):  # quadrature conditions up to order 5
        assert b @ c ** k == pytest.approx(1 / (k + 1), abs=1e-14)
    assert b @ (a @ c) == pytest.approx(1 / 6, abs=1e-14)
    assert b @ (a @ (a @ c)) == pytest.approx(1 / 24, abs=1e-14)
    assert b @ (c * (a @ c ** 2)) == pytest.approx(1 / 15, abs=1e-14)
    assert b @ (a @ (a @ (a @ c))) == pytest.approx(1 / 120, abs=1e-14)
    # the embedded pair (error = b_hat - b; its last weight is on f(t + h, y1), node 1) is order 4
    b_hat = np.append(b, 0.0) + np.array(tab.error)
    c_hat = np.append(c, 1.0)
    assert abs(tab.error[-1]) > 0.01  # a genuinely different lower-order solution
    for k in range(4):
        assert b_hat @ c_hat ** k == pytest.approx(1 / (k + 1), abs=1e-14)
    assert b @ c ** 5 != pytest.approx(1 / 6, abs=1e-6)  # order exactly 5
    # the continuous extension: b_i(1) = b_i, and order 4 at every theta
    np.testing.assert_allclose(tab.dense.sum(axis=1), np.append(b, 0.0), atol=1e-14)
    for theta in (0.2, 0.5, 0.9):
        b_theta = tab.dense @ theta ** np.arange(1, 5)
        for k in range(4):
            assert b_theta @ c_hat ** k == pytest.approx(theta ** (k + 1) / (k + 1), abs=1e-14)


def one_step(tab, h, y0, a):
    """One Runge-Kutta step of ``y' = a y`` with plain numpy, and its dense output."""
    ks = [a @ y0]
    for i in range(1, tab.n_stages):
        ks.append(a @ (y0 + h * combine(tab.a[i], ks)))
    y1 = y0 + h * combine(tab.b, ks)
    return y1, StepInterpolant(0.0, h, y0, y1, ks + [a @ y1], tab.dense)


def test_tsit5_local_errors_of_step_and_dense_output():
    y0 = np.array([1.0, -0.5, 0.25])
    errs_end, errs_mid = [], []
    for h in (0.1, 0.05):
        y1, interp = one_step(TSIT5, h, y0, A)
        errs_end.append(np.max(np.abs(y1 - expm(A * h) @ y0)))
        errs_mid.append(np.max(np.abs(interp(0.37 * h) - expm(A * 0.37 * h) @ y0)))
        np.testing.assert_allclose(interp(h), y1, atol=1e-15)
        np.testing.assert_allclose(interp(0.0), y0, atol=0)
    # local error h^(p+1): order 5 at the step end, order 4 in between
    assert np.log2(errs_end[0] / errs_end[1]) == pytest.approx(6.0, abs=0.3)
    assert np.log2(errs_mid[0] / errs_mid[1]) == pytest.approx(5.0, abs=0.3)


@pytest.mark.parametrize("name", ["linear", "pendulum"])
def test_tsit5_global_order_of_convergence_with_fixed_steps(name):
    fixed = replace(TSIT5, name="tsit5-fixed", error=None, error_order=None)
    fun, y0, args, T = PROBLEMS[name]
    exact = reference(name, np.array([0.0, T]))[-1]
    errs = []
    for dt in (0.1, 0.05):
        sol = solve_batch(lambda t, y, *p: dnp.stack([fun(t, y[0], *p)]), y0[None],
                          (0.0, T), args, fixed, dt=dt)
        assert sol.n_steps[0] == round(T / dt)
        errs.append(np.max(np.abs(sol.y_final[0] - exact)))
    assert np.log2(errs[0] / errs[1]) == pytest.approx(5.0, abs=0.5)  # (5.1 and 5.5)


PROBLEMS = {
    "linear": (linear, np.array([1.0, -0.5, 0.25]), (A,), 2.0),
    "lorenz": (lorenz, np.array([1.0, 1.0, 1.0]), ((10.0, 28.0, 8 / 3),), 0.5),
    "pendulum": (pendulum, np.array([1.2, 0.0]), (2.0,), 3.0),
}


def reference(name, times):
    fun, y0, args, _ = PROBLEMS[name]
    r = solve_ivp(lambda t, y: np.asarray(fun(t, y, *args)), (0.0, times[-1]), y0,
                  method="DOP853", rtol=1e-12, atol=1e-12, t_eval=times)
    return r.y.T


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_tsit5_against_scipy_dop853_with_dense_output(name):
    fun, y0, args, T = PROBLEMS[name]
    times = np.linspace(0.0, T, 7)[[0, 1, 3, 4, 6]] * 0.97  # mostly inside steps
    sol = solve(fun, y0, (0.0, T), args, method="tsit5", rtol=1e-10, atol=1e-10, saveat=times)
    assert sol.success and sol.y.shape == (5,) + y0.shape
    np.testing.assert_allclose(sol.y, reference(name, times), atol=1e-7, rtol=1e-7)
    final = solve(fun, y0, (0.0, T), args, method="tsit5", rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(final.y_final, reference(name, np.array([0.0, T]))[-1],
                               atol=1e-7, rtol=1e-7)
    dopri = solve(fun, y0, (0.0, T), args, method="dopri5", rtol=1e-10, atol=1e-10)
    assert 0.5 * dopri.n_steps < final.n_steps < 1.5 * dopri.n_steps


def test_tsit5_derivatives():
    def f(y0, k, T):
        return solve(pendulum, y0, (0.0, T), (k,), method="tsit5", rtol=1e-7).y_final

    check_grads(f, (np.array([0.8, 0.1]), 1.7, 1.3), order=1)
    x = np.array([0.8, 0.1])
    np.testing.assert_allclose(diffopt.jacfwd(f)(x, 1.7, 1.3), diffopt.jacrev(f)(x, 1.7, 1.3),
                               rtol=1e-10, atol=1e-12)
    # saved states read off the dense output carry derivatives too
    times = np.array([0.3, 0.77, 1.1])

    def saved(y0, k):
        return solve(pendulum, y0, (0.0, 1.3), (k,), method="tsit5", saveat=times).y

    check_grads(saved, (x, 1.7), order=1)


def test_tsit5_event_time_and_derivative():
    ground = Event(lambda t, y, g: y[0], direction=-1)

    def drop(h):
        return solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (G,), method="tsit5",
                     events=[ground]).event_time

    assert float(drop(2.0)) == pytest.approx(np.sqrt(4 / G), rel=1e-12)
    assert diffopt.grad(drop)(2.0) == pytest.approx(1 / np.sqrt(2 * G * 2.0), rel=1e-9)


# ---------------------------------------------------------------- vectorised step control


def test_vectorised_step_control_matches_the_scalar_one():
    rng = np.random.default_rng(1)
    y0, y1, err = rng.normal(size=(3, 4, 2))
    rows = error_norm(err * 1e-6, y0, y1, 1e-6, 1e-9, batched=True)
    assert rows.shape == (4,)
    for i in range(4):
        assert rows[i] == pytest.approx(error_norm(err[i] * 1e-6, y0[i], y1[i], 1e-6, 1e-9),
                                        rel=1e-14)
    h = initial_step(lambda t, y: -t[:, None] * y, np.arange(4.0), y0, -y0, 4, 1e-6, 1e-9,
                     np.array([1.0, 2.0, 1e-7, 3.0]), batched=True)
    for i in range(4):
        assert h[i] == pytest.approx(initial_step(lambda t, y: -t * y, float(i), y0[i], -y0[i],
                                                  4, 1e-6, 1e-9, [1.0, 2.0, 1e-7, 3.0][i]),
                                     rel=1e-14)
    batch, single = PIController(4, n=3), [PIController(4) for _ in range(3)]
    errs = np.array([0.5, 2.0, 0.0])
    fac = batch.factor(errs, rejected=errs > 1)
    assert list(fac) == pytest.approx([s.factor(e, e > 1) for s, e in zip(single, errs)])
    ok = errs <= 1
    fac = batch.accepted_factor(errs, ok)
    for i in np.flatnonzero(ok):
        assert fac[i] == pytest.approx(single[i].accepted_factor(errs[i]), rel=1e-14)
    assert batch.prev[1] == 1e-4  # the rejected row's history is untouched


# ---------------------------------------------------------------- batched adaptive solves

Y0 = np.array([[1.2, 0.0], [0.3, 0.5], [2.5, -0.2], [0.05, 0.0]])
K = np.array([2.0, 0.5, 3.0, 10.0])
T_END = np.array([3.0, 1.0, 2.2, 0.9])
SAVEAT = np.array([0.0, 0.25, 0.6, 0.9])


def looped(y0, k, t_end, method, **kw):
    return [solve(pendulum, y0[i], (0.0, t_end[i]), (k[i],), method=method, **kw)
            for i in range(len(k))]


@pytest.mark.parametrize("method", ["bosh3", "dopri5", "tsit5"])
def test_batched_adaptive_equals_looped(method):
    kw = dict(rtol=1e-7, atol=1e-9)
    sol = solve_batch(pendulum_rows, Y0, (0.0, T_END), (K,), method, saveat=SAVEAT, **kw)
    singles = looped(Y0, K, T_END, method, saveat=SAVEAT, **kw)
    assert list(sol.status) == [0] * 4 and sol.success.all()
    np.testing.assert_allclose(sol.t, SAVEAT)
    assert sol.y.shape == (4, 4, 2)
    for i, s in enumerate(singles):
        # each row takes its own steps: exactly those of the single solve
        assert sol.n_steps[i] == s.n_steps and sol.n_rejected[i] == s.n_rejected
        assert float(sol.t_final[i]) == T_END[i]
        np.testing.assert_allclose(sol.y_final[i], s.y_final, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sol.y[:, i], s.y, rtol=1e-12, atol=1e-14)
    assert len(set(sol.n_steps)) > 1 and sol.n_rejected.sum() > 0
    assert sol.nfev < sum(s.nfev for s in singles)  # one batched call serves every row

    w = np.array([0.7, -1.3])

    def loss_b(y0, k, t_end):
        s = solve_batch(pendulum_rows, y0, (0.0, t_end), (k,), method, saveat=SAVEAT, **kw)
        return dnp.sum(s.y_final @ w) + dnp.sum(s.y ** 2)

    def loss_1(y0, k, t_end):
        s = solve(pendulum, y0, (0.0, t_end), (k,), method=method, saveat=SAVEAT, **kw)
        return s.y_final @ w + dnp.sum(s.y ** 2)

    gb = diffopt.grad(loss_b, argnums=(0, 1, 2))(Y0, K, T_END)
    for i in range(4):
        gs = diffopt.grad(loss_1, argnums=(0, 1, 2))(Y0[i], K[i], T_END[i])
        np.testing.assert_allclose(gb[0][i], gs[0], rtol=1e-9, atol=1e-12)
        assert float(gb[1][i]) == pytest.approx(float(gs[1]), rel=1e-9, abs=1e-12)
        assert float(gb[2][i]) == pytest.approx(float(gs[2]), rel=1e-9, abs=1e-12)
    v = (np.ones_like(Y0), np.array([1.0, -1.0, 0.5, 0.2]), np.array([0.1, 0.2, -0.3, 0.4]))
    _, tan = diffopt.jvp(loss_b, (Y0, K, T_END), v)
    assert float(tan) == pytest.approx(sum(float(np.sum(g * d)) for g, d in zip(gb, v)),
                                       rel=1e-10)


def test_batched_adaptive_through_solve_and_first_step():
    y0 = np.array([[1.0, 0.0], [0.5, 0.5]])
    k = np.array([1.0, 4.0])
    sol = solve(pendulum_rows, y0, (0.0, 1.0), (k,), method="tsit5", batched=True)
    assert list(sol.status) == [0, 0] and sol.t.shape == (sol.y.shape[0], 2)
    for i in range(2):
        s = solve(pendulum, y0[i], (0.0, 1.0), (k[i],), method="tsit5")
        np.testing.assert_allclose(sol.y_final[i], s.y_final, rtol=1e-12)
    # a given first step (scalar or one per row) replaces the automatic one, as in solve
    sol = solve_batch(pendulum_rows, y0, (0.0, 1.0), (k,), "dopri5", dt=np.array([0.01, 0.3]))
    for i, dt in enumerate((0.01, 0.3)):
        s = solve(pendulum, y0[i], (0.0, 1.0), (k[i],), method="dopri5", dt=dt)
        assert sol.n_steps[i] == s.n_steps
        np.testing.assert_allclose(sol.y_final[i], s.y_final, rtol=1e-12)


def test_fixed_step_batched_saveat_uses_hermite_like_solve():
    t_end = np.array([1.05, 0.7])
    saveat = np.array([0.0, 0.33, 0.7])
    sol = solve_batch(pendulum_rows, Y0[:2], (0.0, t_end), (K[:2],), "rk4", dt=0.1,
                      saveat=saveat)
    for i in range(2):
        s = solve(pendulum, Y0[i], (0.0, t_end[i]), (K[i],), method="rk4", dt=0.1,
                  saveat=saveat)
        np.testing.assert_allclose(sol.y[:, i], s.y, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- events

HALF = Event(lambda t, y, g: y[:, 0] - 1.0, direction=-1, terminal=False)
APEX = Event(lambda t, y, g: y[:, 1], direction=-1, terminal=False)
GROUND = Event(lambda t, y, g: y[:, 0], direction=-1)
BALL_Y0 = np.array([[10.0, 0.0], [5.0, 2.0], [2.0, -1.0], [0.5, 4.0]])
BALL_G = np.array([9.81, 3.0, 9.81, 1.5])


def single_events(ev):
    return Event(lambda t, y, g: ev.condition(t, y[None], g)[0], direction=ev.direction,
                 terminal=ev.terminal)


@pytest.mark.parametrize("method", ["dopri5", "tsit5"])
def test_batched_events_logged_per_trajectory(method):
    events = [HALF, APEX, GROUND]
    t0 = np.array([0.0, 0.5, -0.2, 1.0])
    saveat = np.array([1.0, 1.2, 1.5, 4.0])  # after the last trajectory lands
    sol = solve_batch(ball_rows, BALL_Y0, (t0, np.inf), (BALL_G,), method, events=events,
                      saveat=saveat)
    assert list(sol.status) == [1] * 4 and list(sol.event_index) == [2] * 4
    for i in range(4):
        s = solve(ball, BALL_Y0[i], (t0[i], np.inf), (BALL_G[i],), method=method,
                  events=[single_events(e) for e in events], saveat=saveat[saveat >= t0[i]])
        assert [e[0] for e in sol.event_log[i]] == [e[0] for e in s.event_log]
        for (_, tb, yb), (_, ts, ys) in zip(sol.event_log[i], s.event_log):
            assert float(tb) == pytest.approx(float(ts), abs=1e-12)
            np.testing.assert_allclose(yb, ys, atol=1e-11)
        assert float(sol.t_final[i]) == pytest.approx(float(s.t_final), abs=1e-12)
        # saved states: the single solve's, then the landing state held for later times
        n = len(s.t)
        np.testing.assert_allclose(sol.y[:n, i], s.y, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(sol.y[n:, i], np.broadcast_to(sol.y_final[i], (4 - n, 2)))
    # the apex is logged only where the ball goes up first
    assert [[i for i, _, _ in lg] for lg in sol.event_log] == [[0, 2], [1, 0, 2], [0, 2],
                                                              [1, 0, 2]]
    apex_time = [t for i, t, _ in sol.event_log[1] if i == 1][0]
    assert float(apex_time) == pytest.approx(0.5 + 2.0 / 3.0, rel=1e-12)

    # derivatives of logged times, of the landing time and of saved states: batched vs looped
    def loss_b(y0, g):
        s = solve_batch(ball_rows, y0, (t0, np.inf), (g,), method, events=events, saveat=saveat)
        logged = sum(t for lg in s.event_log for _, t, _ in lg)
        return logged + dnp.sum(s.t_final) + dnp.sum(s.y[:, :, 1] ** 2)

    gb = diffopt.grad(loss_b, argnums=(0, 1))(BALL_Y0, BALL_G)
    for i in range(4):
        def loss_1(y0, g, i=i):
            s = solve(ball, y0, (t0[i], np.inf), (g,), method=method,
                      events=[single_events(e) for e in events], saveat=saveat)
            held = len(saveat) - len(s.t)
            return (sum(t for _, t, _ in s.event_log) + s.t_final + dnp.sum(s.y[:, 1] ** 2)
                    + held * s.y_final[1] ** 2)

        gs = diffopt.grad(loss_1, argnums=(0, 1))(BALL_Y0[i], BALL_G[i])
        np.testing.assert_allclose(gb[0][i], gs[0], rtol=1e-9, atol=1e-12)
        assert float(gb[1][i]) == pytest.approx(float(gs[1]), rel=1e-9)
    _, tan = diffopt.jvp(lambda g: loss_b(BALL_Y0, g), (BALL_G,), (np.ones(4),))
    assert float(tan) == pytest.approx(float(np.sum(gb[1])), rel=1e-10)


def test_batched_terminal_event_with_adaptive_steps_analytic():
    h = np.array([2.0, 5.0, 0.5])
    g = np.array([9.81, 1.6, 3.7])

    def landing(h, g):
        y0 = dnp.stack([h, 0.0 * h], axis=1)
        return solve_batch(ball_rows, y0, (0.0, np.inf), (g,), "tsit5",
                           events=[GROUND]).event_time

    np.testing.assert_allclose(landing(h, g), np.sqrt(2 * h / g), rtol=1e-12)
    dh, dg = diffopt.grad(lambda h, g: dnp.sum(landing(h, g)), argnums=(0, 1))(h, g)
    np.testing.assert_allclose(dh, 1 / np.sqrt(2 * g * h), rtol=1e-9)
    np.testing.assert_allclose(dg, -0.5 * np.sqrt(2 * h) * g ** -1.5, rtol=1e-9)
    jac = diffopt.jacfwd(landing)(h, g)
    np.testing.assert_allclose(jac, np.diag(dh), rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------- failures and bad input


def test_a_failing_row_does_not_spoil_the_others():
    # y = (1 - p t / 2)^2 reaches 0 at t = 2 / p: row 1's trial steps past it give sqrt(< 0) =
    # nan and are rejected until the step underflows; row 0 is benign. The nan must not leak
    # into row 0's derivative through the masked-out rows.
    def rhs(t, y, p):
        return -p[:, None] * dnp.sqrt(y)

    y0 = np.array([[1.0], [1.0]])
    p = np.array([0.5, 4.0])
    with np.errstate(invalid="ignore"):
        sol = solve_batch(rhs, y0, (0.0, 2.0), (p,), "dopri5")
        assert list(sol.status) == [0, -3] and sol.failures() == [1]
        assert float(sol.t_final[1]) == pytest.approx(0.5, abs=1e-6)
        assert float(sol.y_final[0, 0]) == pytest.approx(0.25, rel=1e-6)
        with pytest.raises(ODESolveError, match=r"trajectories \[1\]"):
            diffopt.grad(lambda y: dnp.sum(solve_batch(rhs, y, (0.0, 2.0), (p,)).y_final))(y0)

        def first(y, p):
            return solve_batch(rhs, y, (0.0, 2.0), (p,), raise_on_failure=False).y_final[0, 0]

        gy, gp = diffopt.grad(first, argnums=(0, 1))(y0, p)
    assert np.all(np.isfinite(gy)) and np.all(np.isfinite(gp))
    assert gy[1, 0] == 0.0 and gp[1] == 0.0
    assert gy[0, 0] == pytest.approx(0.5, rel=1e-6)  # y(2) = (sqrt(y0) - p)^2
    assert gp[0] == pytest.approx(-2 * 0.5, rel=1e-6)


def test_max_steps_counts_each_trajectory_s_step_attempts():
    k = np.array([0.1, 50.0])  # a slow and a fast oscillator: few and many steps
    sol = solve_batch(pendulum_rows, Y0[:2], (0.0, 2.0), (k,), "dopri5", max_steps=15)
    single = [solve(pendulum, Y0[i], (0.0, 2.0), (k[i],), max_steps=15) for i in range(2)]
    assert [s.status for s in single] == [0, -1]
    assert single[1].n_steps + single[1].n_rejected == 15
    assert list(sol.status) == [0, -1] and list(sol.n_steps) == [s.n_steps for s in single]
    assert list(sol.n_rejected) == [s.n_rejected for s in single]
    assert float(sol.t_final[1]) == pytest.approx(float(single[1].t_final), rel=1e-12)
    assert float(sol.t_final[1]) < 2.0


def test_batched_bad_input_is_named():
    y0 = np.ones((2, 1))

    def decay(t, y):
        return -y

    with pytest.raises(ValueError, match="within every trajectory's t_span"):
        solve_batch(decay, y0, (0.0, np.array([1.0, 0.5])), saveat=np.array([0.2, 0.8]))
    with pytest.raises(ValueError, match="1-D"):
        solve_batch(decay, y0, (0.0, 1.0), saveat=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="sorted"):
        solve_batch(decay, y0, (0.0, 1.0), saveat=np.array([0.5, 0.2]))
    with pytest.raises(ValueError, match="dt="):
        solve_batch(decay, y0, (0.0, 1.0), (), "rk4")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        solve_batch(decay, y0, (0.0, 1.0), (), "rk4", dt=np.array([0.1, 0.1, 0.1]))
    with pytest.raises(ValueError, match="unknown method"):
        solve_batch(decay, y0, (0.0, 1.0), (), "tsit7")
    with pytest.raises(ValueError, match="rtol"):
        solve_batch(decay, y0, (0.0, 1.0), rtol=0.0)
    with pytest.raises(TypeError, match="Event"):
        solve_batch(decay, y0, (0.0, 1.0), events=[lambda t, y: y[:, 0]])
