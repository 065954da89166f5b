"""Adjoint modes of diffopt.ode.solve: checkpoint, backsolve and forward against direct, closed
forms and finite differences; forward values; memory; errors."""

import functools
import gc
import tracemalloc

import numpy as np
import pytest
from ode_problems import GROUND, Y0, A, G, ball, linear, lorenz, pendulum
from scipy.linalg import expm, expm_frechet

import diffopt
import diffopt.numpy as dnp
from diffopt.core import concrete
from diffopt.core.pytree import tree_leaves
from diffopt.numerical import check_grads
from diffopt.ode import Event, ODESolveError, solve
from diffopt.ode.adjoint import solve_with_adjoint

W = np.array([0.3, -1.0, 0.7])
EXACT = ("checkpoint", "forward")  # the direct derivative, up to rounding
MODES = ("direct",) + EXACT + ("backsolve",)
METHODS = [("rk4", 0.02), ("dopri5", None)]


HALF = Event(lambda t, y, g: y[0] - 1.0, direction=-1, terminal=False)


@pytest.fixture
def short_segments(monkeypatch):
    """Checkpoint every 3 steps: many segments even in short solves."""
    monkeypatch.setitem(globals(), "solve", functools.partial(solve, checkpoint_every=3))


def assert_trees_close(got, want, rtol, atol=0.0):
    for g, w in zip(tree_leaves(got), tree_leaves(want), strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol + rtol * np.max(np.abs(w)))


def grads(loss, args, argnums):
    return {m: diffopt.grad(lambda *a, m=m: loss(m, *a), argnums=argnums)(*args) for m in MODES}


# ---------------------------------------------------------------- closed form, linear ODE


@pytest.mark.parametrize("method,dt", METHODS)
def test_linear_against_expm_wrt_y0_matrix_t0_and_t_end(method, dt, short_segments):
    t0, T = 0.1, 1.6

    def loss(mode, y0, a, t0, T):
        sol = solve(linear, y0, (t0, T), (a,), method=method, dt=dt, rtol=1e-11, atol=1e-11,
                    adjoint=mode)
        return dnp.sum(W * sol.y_final)

    got = grads(loss, (Y0, A, t0, T), (0, 1, 2, 3))
    tau = T - t0
    e = expm(A * tau)
    d_a = np.array([[W @ expm_frechet(A * tau, np.eye(3)[i][:, None] * np.eye(3)[j] * tau,
                                      compute_expm=False) @ Y0 for j in range(3)]
                    for i in range(3)])
    exact = (e.T @ W, d_a, -W @ A @ e @ Y0, W @ A @ e @ Y0)
    tol = 1e-6 if method == "rk4" else 1e-8
    for mode in MODES:
        assert_trees_close(got[mode], exact, rtol=tol)
    for mode in EXACT:
        assert_trees_close(got[mode], got["direct"], rtol=1e-12)


# ---------------------------------------------------------------- nonlinear problems


PROBLEMS = {
    "lorenz": (lorenz, np.array([1.0, 1.0, 1.0]), ((10.0, 28.0, 8 / 3),), 0.5),
    "pendulum": (pendulum, np.array([1.2, 0.0]), (2.0,), 2.0),
}


@pytest.mark.parametrize("method,dt", METHODS)
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_nonlinear_adjoints_agree_wrt_y0_args_and_t_end(name, method, dt, short_segments):
    fun, y0, args, T = PROBLEMS[name]
    fixed = np.linspace(0.2, 0.8, 4) * T

    def loss(mode, y0, args, T):  # saved states at fixed times, and at t_end (moving with it)
        saveat = np.append(fixed, float(concrete(T)))
        sol = solve(fun, y0, (0.0, T), args, method=method, dt=dt and dt / 2, rtol=1e-9,
                    atol=1e-9, saveat=saveat, adjoint=mode)
        return dnp.sum(sol.y ** 2) + dnp.sum(dnp.sin(sol.y_final))

    got = grads(loss, (y0, args, T), (0, 1, 2))
    for mode in EXACT:
        assert_trees_close(got[mode], got["direct"], rtol=1e-11)
    # backsolve differentiates the ODE, not the discrete solution: close to the solver's error
    assert_trees_close(got["backsolve"], got["direct"], rtol=1e-4 if method == "rk4" else 1e-6)
    check_grads(lambda y0, T: loss("checkpoint", y0, args, T), (y0, T), modes=("rev",), order=1)


def mlp_rhs(t, y, w):
    h = dnp.tanh(w["W1"] @ y + w["b1"])
    return w["W2"] @ h - 0.1 * y


@pytest.mark.parametrize("method,dt", METHODS)
def test_pytree_args_and_every_step_saved(method, dt, short_segments):
    rng = np.random.default_rng(0)
    w = {"W1": rng.normal(size=(4, 2)) * 0.5, "b1": rng.normal(size=4) * 0.1,
         "W2": rng.normal(size=(2, 4)) * 0.5}

    def loss(mode, y0, w, t0):  # every step saved (saveat=None): cotangents on all of them
        sol = solve(mlp_rhs, y0, (t0, 1.0), (w,), method=method, dt=dt, rtol=1e-9, atol=1e-9,
                    adjoint=mode)
        return dnp.sum(sol.y ** 2) + dnp.sum(sol.t * sol.y[:, 0])

    got = grads(loss, (np.array([1.0, -1.0]), w, 0.05), (0, 1, 2))
    for mode in EXACT:
        assert_trees_close(got[mode], got["direct"], rtol=1e-11)
    assert_trees_close(got["backsolve"], got["direct"], rtol=1e-5)


def forced(t, y, k):
    return dnp.stack([y[1], -k * dnp.sin(y[0]) + 0.3 * dnp.cos(2 * t)])


@pytest.mark.parametrize("saveat", [None, np.array([0.2, 0.7, 1.3])])
@pytest.mark.parametrize("T", [1.3, 0.2])  # T = t0: no step at all
def test_time_dependent_rhs_saves_at_t0_and_t_end(saveat, T):
    def loss(mode, y0, k, t0, T):
        sol = solve(forced, y0, (t0, T), (k,), rtol=1e-10, atol=1e-10, adjoint=mode,
                    saveat=None if saveat is None else saveat[saveat <= T])
        return dnp.sum(sol.y ** 2) + dnp.sum(sol.y_final) + 3 * sol.t_final + dnp.sum(sol.t)

    got = grads(loss, (np.array([1.0, 0.3]), 2.0, 0.2, T), (0, 1, 2, 3))
    for mode in EXACT:
        assert_trees_close(got[mode], got["direct"], rtol=1e-11)
    assert_trees_close(got["backsolve"], got["direct"], rtol=1e-7)


# ---------------------------------------------------------------- events


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method,dt", [("rk4", 0.05), ("dopri5", None)])
def test_falling_ball_terminal_event(mode, method, dt, short_segments):
    def drop(h, g):
        return solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (g,), method=method, dt=dt,
                     events=[HALF, GROUND], adjoint=mode)

    h = 2.0
    sol = drop(h, G)
    assert sol.status == 1 and sol.event_time == pytest.approx(np.sqrt(2 * h / G), rel=1e-12)
    dth, dtg = diffopt.grad(lambda h, g: drop(h, g).event_time, argnums=(0, 1))(h, G)
    assert dth == pytest.approx(1 / np.sqrt(2 * G * h), rel=1e-9)
    assert dtg == pytest.approx(-0.5 * np.sqrt(2 * h) * G ** -1.5, rel=1e-9)
    dv = diffopt.grad(lambda h: drop(h, G).y_final[1])(h)  # impact speed -sqrt(2 g h)
    assert dv == pytest.approx(-np.sqrt(G / (2 * h)), rel=1e-9)
    _, dth_fwd = diffopt.jvp(lambda h: drop(h, G).event_time, (h,), (1.0,))
    assert float(dth_fwd) == pytest.approx(float(dth), rel=1e-12)

    def half_time(h):  # the non-terminal event's logged time: sqrt(2 (h - 1) / g)
        return drop(h, G).event_log[0][1]

    if mode == "backsolve":
        with pytest.raises(NotImplementedError, match="non-terminal events"):
            diffopt.grad(half_time)(h)
    else:
        assert diffopt.grad(half_time)(h) == pytest.approx(1 / np.sqrt(2 * G * (h - 1)),
                                                            rel=1e-9)


def test_backsolve_refuses_terminal_events_that_need_the_step_start():
    ev = Event(lambda t, y, g, step_start: y[0], direction=-1, needs_step_start=True)

    def f(h):
        return solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (G,), events=[ev],
                     adjoint="backsolve").t_final

    assert float(f(2.0)) == pytest.approx(np.sqrt(4 / G), rel=1e-10)
    with pytest.raises(NotImplementedError, match="needs_step_start"):
        diffopt.grad(f)(2.0)


# ---------------------------------------------------------------- values, forward mode, order 2


@pytest.mark.parametrize("mode", MODES[1:])
def test_forward_values_are_bit_identical_to_direct(mode):
    def run(y0, m):
        sol = solve(ball, y0, (0.0, np.inf), (G,), method="dopri5", events=[HALF, GROUND],
                    saveat=np.linspace(0.0, 0.6, 4), adjoint=m)
        outs = (sol.t, sol.y, sol.t_final, sol.y_final, sol.event_time, sol.event_state,
                sol.event_log[0][1], sol.event_log[0][2])
        return outs, (sol.n_steps, sol.nfev, sol.status, sol.event_index, len(sol.event_log))

    y0 = np.array([2.0, 0.5])
    want, meta = run(y0, "direct")
    got, got_meta = run(y0, mode)  # no transform: the direct solve itself
    (got_rev, got_rev_meta), _ = diffopt.vjp(lambda y: run(y, mode), y0)  # reverse mode
    assert got_meta == meta and got_rev_meta == meta
    for w, g, r in zip(want, got, got_rev):
        assert np.array_equal(np.asarray(w), np.asarray(g))
        assert np.array_equal(np.asarray(w), np.asarray(r))


@pytest.mark.parametrize("mode", MODES[1:])
def test_forward_mode_and_second_derivatives(mode, short_segments):
    def f(mode, y0, k):
        sol = solve(pendulum, y0, (0.0, 1.3), (k,), method="dopri5", rtol=1e-10, atol=1e-10,
                    adjoint=mode)
        return dnp.sum(sol.y_final ** 2)

    y0, v = np.array([1.2, 0.0]), np.array([1.0, 0.5])
    for fn in (lambda m: diffopt.jvp(lambda k: f(m, y0, k), (2.0,), (1.0,))[1],
               lambda m: diffopt.hvp(lambda y: f(m, y, 2.0), y0, v),
               lambda m: diffopt.grad(lambda k: diffopt.grad(f, argnums=2)(m, y0, k))(2.0)):
        tol = 1e-6 if mode == "backsolve" else 1e-10
        np.testing.assert_allclose(fn(mode), fn("direct"), rtol=tol)


# ---------------------------------------------------------------- memory


def test_checkpoint_memory_is_sublinear_in_the_steps():
    n = 20_000

    def peak_and_grad(mode):
        def loss(y0, k):
            sol = solve(linear, y0, (0.0, 1.0), (k,), method="euler", dt=1.0 / n,
                        saveat=np.array([1.0]), adjoint=mode)
            return dnp.sum(sol.y_final)

        gc.collect()
        gc.disable()  # (the collector's passes over a long tape only cost time here)
        tracemalloc.start()
        try:
            g = diffopt.grad(loss, argnums=(0, 1))(np.array([1.0]), np.array([[-0.5]]))
            return tracemalloc.get_traced_memory()[1], g
        finally:
            tracemalloc.stop()
            gc.enable()

    peak_direct, g_direct = peak_and_grad("direct")
    peak_ckpt, g_ckpt = peak_and_grad("checkpoint")
    assert peak_ckpt < peak_direct / 3, (peak_ckpt, peak_direct)
    assert_trees_close(g_ckpt, g_direct, rtol=1e-12)
    assert float(g_direct[0][0]) == pytest.approx(np.exp(-0.5), rel=1e-4)


# ---------------------------------------------------------------- bad input and failures


def test_bad_adjoint_and_unsupported_combinations():
    with pytest.raises(ValueError, match="unknown adjoint 'adjoint'.*checkpoint"):
        solve(linear, Y0, (0.0, 1.0), (A,), adjoint="adjoint")
    with pytest.raises(ValueError, match="unknown adjoint 'direct'"):
        solve_with_adjoint(linear, Y0, (0.0, 1.0), (A,), adjoint="direct")
    with pytest.raises(ValueError, match="checkpoint_every"):
        solve_with_adjoint(linear, Y0, (0.0, 1.0), (A,), checkpoint_every=0)
    with pytest.raises(NotImplementedError, match="batched=True"):
        solve(lambda t, y: -y, np.ones((2, 1)), (0.0, 1.0), method="rk4", dt=0.1,
              adjoint="checkpoint", batched=True)
    with pytest.raises(ValueError, match="dt="):  # solve's own checks still apply
        diffopt.grad(lambda y: solve(linear, y, (0.0, 1.0), (A,), method="rk4",
                                     adjoint="checkpoint").y_final[0])(Y0)


@pytest.mark.parametrize("mode", MODES[1:])
def test_failed_solve_raises_under_reverse_mode(mode):
    never = Event(lambda t, y, g: 1.0 + 0.0 * y[0], direction=-1)

    def f(h):
        return solve(ball, dnp.stack([h, 0.0 * h]), (0.0, np.inf), (G,), events=[never],
                     max_steps=20, adjoint=mode).y_final[0]

    assert solve(ball, np.array([1.0, 0.0]), (0.0, np.inf), (G,), events=[never], max_steps=20,
                 adjoint=mode).status == -1
    with pytest.raises(ODESolveError, match="max_steps"):
        diffopt.grad(f)(1.0)
