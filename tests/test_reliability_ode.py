"""diffopt.ode under inf/nan: every loop of every executor ends, with a status and a message.

NaN or inf in the state, the slope, the step size or an event condition (at the start, in the
middle of a solve, inside a step while an event's crossing is located) ends the solve with a
failure status and a message naming what and where, the same on the NumPy, batched and compiled
paths; a derivative of a failed solve raises ODESolveError; ``max_steps`` bounds step attempts,
rejected ones included. Before these fixes several of these solves looped forever, so each test
relies on the bound and keeps its problem tiny.

Compile cost (``backend="numba"``): one problem per right-hand side x events x method below, about
a dozen (batched solves and derivatives reuse them); cached on disk after the first run.
"""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.ode import Event, ODESolveError, solve
from diffopt.ode.events import locate
from diffopt.ode.interpolation import StepInterpolant

ADAPTIVE = ("dopri5", "bosh3", "tsit5")
FIXED = ("rk4", "euler")
BACKENDS = ("numpy", "numba")
SLOPE0 = "non-finite slope fun(t, y) at the initial state, t=0: y0 may lie outside fun's domain"

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def sqrt_rhs(t, y):
    """The issue's example: nan for y < 2."""
    return dnp.sqrt(y - 2.0)


def down_to_zero(t, y):
    """y' = -1: from y0 = 0.5 the state reaches 0 at t = 0.5, where sqrt(y) turns nan."""
    return -1.0 + 0.0 * dnp.sqrt(y)


def decay(t, y):
    return -y


def standing_still(t, y):
    return 0.0 * y


# (conditions written for one state y (1,) and for a batch (B, 1) alike)
NEVER = Event(lambda t, y: 1.0 + 0.0 * y[..., 0], direction=-1)  # terminal, never fires
HIGH = Event(lambda t, y: y[..., 0] - 10.0, terminal=False)
# finite up to t = 0.5, nan after it
UNTIL_HALF = Event(lambda t, y: dnp.sqrt(0.5 - t) + 0.0 * y[..., 0], terminal=False)
# crosses zero at t = 0.5, where it is nan (|t - 0.5| < 0.01): no root finder can avoid it
NAN_AT_ROOT = Event(lambda t, y: (t - 0.5) + 0.0 * dnp.sqrt(dnp.abs(t - 0.5) - 0.01)
                    + 0.0 * y[..., 0])


def method_kw(method):
    return dict(method=method, dt=0.1 if method in FIXED else None)


def assert_same(a, b):
    """Two solutions (compiled and NumPy, or a batch row and a single solve) end alike."""
    assert (a.status, a.message, a.n_steps) == (b.status, b.message, b.n_steps)
    assert float(a.t_final) == pytest.approx(float(b.t_final), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(a.y_final, b.y_final, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- nan at the start


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ADAPTIVE + FIXED)
def test_nan_slope_at_the_start_ends_the_solve(method, backend):
    sol = solve(sqrt_rhs, np.array([1.0]), (0.0, 1.0), max_steps=10, backend=backend,
                **method_kw(method))
    assert sol.status == -3 and not sol.success and sol.message == SLOPE0
    assert sol.n_steps == 0 and sol.n_rejected == 0 and sol.nfev == 1
    assert float(sol.t_final) == 0.0 and sol.y_final[0] == 1.0


@pytest.mark.parametrize("method", ADAPTIVE + FIXED)
def test_nan_slope_at_the_start_with_events(method):
    sol = solve(sqrt_rhs, np.array([1.0]), (0.0, np.inf), events=[NEVER, HIGH],
                **method_kw(method))
    assert sol.status == -3 and sol.message == SLOPE0 and sol.event_log == []
    if method in ("dopri5", "rk4"):
        assert_same(solve(sqrt_rhs, np.array([1.0]), (0.0, np.inf), events=[NEVER, HIGH],
                          backend="numba", **method_kw(method)), sol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ("dopri5", "rk4"))
def test_nan_slope_at_the_start_batched(method, backend):
    # row 0 starts outside the domain; row 1 is fine
    y0 = np.array([[1.0], [3.0]])
    sol = solve(sqrt_rhs, y0, (0.0, 1.0), backend=backend, batched=True, **method_kw(method))
    assert list(sol.status) == [-3, 0] and list(sol.success) == [False, True]
    assert sol.message == [SLOPE0, "reached the end of t_span"]
    good = solve(sqrt_rhs, y0[1], (0.0, 1.0), **method_kw(method))
    assert float(sol.t_final[1]) == 1.0
    np.testing.assert_allclose(sol.y_final[1], good.y_final, rtol=1e-12)
    assert float(sol.t_final[0]) == 0.0 and sol.y_final[0, 0] == 1.0


def test_inf_state_at_the_start():
    for backend in BACKENDS:
        sol = solve(sqrt_rhs, np.array([np.inf]), (0.0, 1.0), backend=backend)
        assert sol.status == -3
        assert sol.message == "non-finite initial state y0 (inf or nan) at t=0"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batched", (False, True))
def test_nan_at_the_start_under_grad_raises(backend, batched):
    y0 = np.array([[1.0], [3.0]]) if batched else np.array([1.0])

    def loss(y):
        return dnp.sum(solve(sqrt_rhs, y, (0.0, 1.0), backend=backend, batched=batched).y_final)

    with pytest.raises(ODESolveError, match="non-finite slope fun"):
        diffopt.grad(loss)(y0)


@pytest.mark.parametrize("adjoint", ("checkpoint", "backsolve", "forward"))
def test_nan_at_the_start_under_grad_raises_with_every_adjoint(adjoint):
    def loss(y):
        return solve(sqrt_rhs, y, (0.0, 1.0), adjoint=adjoint).y_final[0]

    with pytest.raises(ODESolveError, match="non-finite slope fun"):
        diffopt.grad(loss)(np.array([1.0]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batched", (False, True))
def test_nan_bounds_tolerances_and_end_times_are_refused(backend, batched):
    # each would let a loop run unbounded, or end it at once as if the solve had succeeded
    y0 = np.ones((1, 1)) if batched else np.ones(1)
    kw = dict(backend=backend, batched=batched)
    for bad in (np.nan, np.inf, -1, 2.5, "10"):
        with pytest.raises(ValueError, match="max_steps must be a whole number"):
            solve(decay, y0, (0.0, np.inf), method="rk4", dt=0.1, events=[NEVER],
                  max_steps=bad, **kw)
    for tol in (dict(rtol=np.nan), dict(atol=np.nan), dict(rtol=np.inf)):
        with pytest.raises(ValueError, match="need finite rtol > 0 and atol >= 0"):
            solve(decay, y0, (0.0, 1.0), **tol, **kw)
    with pytest.raises(ValueError, match="t_span must be finite"):
        solve(decay, y0, (0.0, np.nan), events=[NEVER], **kw)


# ---------------------------------------------------------------- nan in the middle


@pytest.mark.parametrize("method", ADAPTIVE)
def test_nan_mid_solve_adaptive(method):
    # the steps that reach past t = 0.5 give nan and are rejected until the step underflows
    sol = solve(down_to_zero, np.array([0.5]), (0.0, 1.0), method=method)
    assert sol.status == -3 and sol.message.startswith("non-finite state: the step size "
                                                       "underflowed")
    assert "at t=0.5 while shrinking the step" in sol.message
    assert float(sol.t_final) == pytest.approx(0.5, abs=1e-12) and sol.y_final[0] >= 0.0
    assert sol.n_rejected > 0 and np.all(np.isfinite(sol.y))
    batch = solve(down_to_zero, np.array([[0.5], [3.0]]), (0.0, 1.0), method=method,
                  batched=True)
    assert list(batch.status) == [-3, 0] and batch.message[0] == sol.message
    assert (batch.n_steps[0], batch.n_rejected[0]) == (sol.n_steps, sol.n_rejected)
    if method == "dopri5":
        compiled = solve(down_to_zero, np.array([0.5]), (0.0, 1.0), backend="numba")
        assert_same(compiled, sol)
        assert compiled.n_rejected == sol.n_rejected and compiled.nfev == sol.nfev
        row = solve(down_to_zero, np.array([[0.5], [3.0]]), (0.0, 1.0), backend="numba",
                    batched=True)
        assert list(row.status) == [-3, 0] and row.message == batch.message


def test_nan_mid_solve_fixed_step():
    sol = solve(down_to_zero, np.array([0.55]), (0.0, 1.0), method="rk4", dt=0.1)
    assert sol.status == -3 and sol.message == "non-finite state at t=0.6"
    assert float(sol.t_final) == pytest.approx(0.5)
    assert_same(solve(down_to_zero, np.array([0.55]), (0.0, 1.0), method="rk4", dt=0.1,
                      backend="numba"), sol)
    for backend in BACKENDS:
        batch = solve(down_to_zero, np.array([[0.55], [3.0]]), (0.0, 1.0), method="rk4", dt=0.1,
                      batched=True, backend=backend)
        assert list(batch.status) == [-3, 0] and batch.message[0] == sol.message
        assert float(batch.t_final[0]) == pytest.approx(0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_mid_solve_under_grad_raises(backend):
    def loss(y):
        return solve(down_to_zero, y, (0.0, 1.0), backend=backend).y_final[0]

    with pytest.raises(ODESolveError, match="non-finite state"):
        diffopt.grad(loss)(np.array([0.5]))
    # a batch names the failed trajectory and what went wrong there
    with pytest.raises(ODESolveError, match=r"trajectories \[0\] .*trajectory 0: non-finite "
                                            "state: the step size underflowed"):
        diffopt.grad(lambda y: dnp.sum(solve(down_to_zero, y, (0.0, 1.0), backend=backend,
                                             batched=True).y_final))(np.array([[0.5], [3.0]]))
    with pytest.raises(ODESolveError, match="non-finite state"):
        diffopt.grad(lambda y: solve(down_to_zero, y, (0.0, 1.0),
                                     adjoint="checkpoint").y_final[0])(np.array([0.5]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_steps_counts_rejected_steps(backend):
    sol = solve(down_to_zero, np.array([0.5]), (0.0, 1.0), max_steps=40, backend=backend)
    assert sol.status == -1 and sol.n_steps + sol.n_rejected == 40 and sol.n_rejected > 0
    assert sol.message == f"max_steps=40 reached at t={float(sol.t_final):.6g} before t_span[1]=1"
    batch = solve(down_to_zero, np.array([[0.5]]), (0.0, 1.0), max_steps=40, batched=True,
                  backend=backend)
    assert list(batch.status) == [-1] and batch.message == [sol.message]


def test_a_first_step_probe_outside_the_domain_falls_back_on_the_first_guess():
    # y' = -sqrt(y - 0.995): Hairer's probe step lands below 0.995 (nan there), yet the solve
    # up to t = 0.1 stays inside the domain: y(t) = 0.995 + (sqrt(0.005) - t / 2)^2
    def rhs(t, y):
        return -dnp.sqrt(y - 0.995)

    exact = 0.995 + (np.sqrt(0.005) - 0.05) ** 2
    for backend in BACKENDS:
        sol = solve(rhs, np.array([1.0]), (0.0, 0.1), backend=backend)
        assert sol.status == 0 and sol.y_final[0] == pytest.approx(exact, rel=1e-6)
    batch = solve(rhs, np.array([[1.0], [1.0]]), (0.0, 0.1), batched=True)
    assert list(batch.status) == [0, 0]
    np.testing.assert_allclose(batch.y_final[:, 0], exact, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_step_size_grown_past_the_float_range_ends_the_solve(backend):
    # nothing moves and no event fires: each accepted step grows the step tenfold until inf
    sol = solve(standing_still, np.array([1.0]), (0.0, np.inf), events=[NEVER], backend=backend)
    assert sol.status == -3 and sol.message.startswith("non-finite step size (h=inf) at t=")
    assert np.isfinite(float(sol.t_final)) and sol.n_steps < 400
    batch = solve(standing_still, np.array([[1.0]]), (0.0, np.inf), events=[NEVER],
                  batched=True, backend=backend)
    assert list(batch.status) == [-3] and batch.message == [sol.message]


def test_backsolve_with_a_nan_adjoint_raises():
    # y' = |y| from y0 = 0: the forward solve is y = 0, but d|y|/dy = 0/0 there, so the backward
    # adjoint ODE starts with a nan slope
    def abs_rhs(t, y):
        return dnp.sqrt(y * y)

    with pytest.raises(ODESolveError, match="backward adjoint solve failed.*non-finite slope"), \
            np.errstate(divide="ignore"):
        diffopt.grad(lambda y: solve(abs_rhs, y, (0.0, 1.0), adjoint="backsolve").y_final[0])(
            np.array([0.0]))


# ---------------------------------------------------------------- nan event conditions


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_condition_nan_at_a_step_end(backend):
    sol = solve(decay, np.array([1.0]), (0.0, 1.0), method="rk4", dt=0.3, events=[UNTIL_HALF],
                backend=backend)
    assert sol.status == -4
    assert sol.message == "event 0's condition gave a non-finite value at t=0.6"
    assert float(sol.t_final) == pytest.approx(0.3) and sol.n_steps == 1
    assert sol.y_final[0] == pytest.approx(float(sol.y[1, 0])) and np.isfinite(sol.y_final[0])
    batch = solve(decay, np.array([[1.0], [2.0]]), (0.0, 1.0), method="rk4", dt=0.3,
                  events=[UNTIL_HALF], batched=True, backend=backend)
    assert list(batch.status) == [-4, -4] and batch.message == [sol.message] * 2
    np.testing.assert_allclose(batch.t_final, 0.3)
    with pytest.raises(ODESolveError, match="event 0's condition"):
        diffopt.grad(lambda y: solve(decay, y, (0.0, 1.0), method="rk4", dt=0.3,
                                     events=[UNTIL_HALF], backend=backend).y_final[0])(
            np.array([1.0]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_condition_nan_at_the_start(backend):
    sol = solve(decay, np.array([1.0]), (0.7, 1.0), method="rk4", dt=0.1, events=[UNTIL_HALF],
                backend=backend)
    assert sol.status == -4
    assert sol.message == "event 0's condition gave a non-finite value at t=0.7"
    assert sol.n_steps == 0 and float(sol.t_final) == 0.7
    batch = solve(decay, np.array([[1.0]]), (0.7, 1.0), method="rk4", dt=0.1,
                  events=[UNTIL_HALF], batched=True, backend=backend)
    assert list(batch.status) == [-4] and batch.message == [sol.message]


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_condition_nan_where_its_root_is(backend):
    # finite at the step ends (t = 0.3, 0.6), so the crossing is located, into the nan
    sol = solve(decay, np.array([1.0]), (0.0, 1.0), method="rk4", dt=0.3, events=[NAN_AT_ROOT],
                backend=backend)
    assert sol.status == -4 and sol.event_index is None and sol.event_log == []
    assert sol.message == ("event 0's condition gave a non-finite value on the step from t=0.3 "
                           "to t=0.6, while locating its crossing")
    assert float(sol.t_final) == pytest.approx(0.3) and sol.n_steps == 1
    batch = solve(decay, np.array([[1.0], [2.0]]), (0.0, 1.0), method="rk4", dt=0.3,
                  events=[NAN_AT_ROOT], batched=True, backend=backend)
    assert list(batch.status) == [-4, -4] and batch.message == [sol.message] * 2
    assert list(batch.event_index) == [-1, -1]
    np.testing.assert_allclose(batch.t_final, 0.3)


# ---------------------------------------------------------------- the root finders themselves


def _step(t0, h, rows=None):
    """A step of y' = 0 from y = 1 (its dense output is constant), one row or a batch."""
    y = np.ones((1,) if rows is None else (rows, 1))
    return StepInterpolant(t0, h, y, y, [np.zeros_like(y), np.zeros_like(y)])


def test_locate_returns_nan_when_the_condition_is_nan_near_the_root():
    calls = []

    def condition(t, y):
        calls.append(t)
        return (t - 0.5) + 0.0 * np.sqrt(abs(t - 0.5) - 1e-6)

    with np.errstate(invalid="ignore"):
        theta = locate(Event(condition), _step(0.3, 0.3), (), 0.1)
    assert np.isnan(theta) and len(calls) < 200
    # a finite condition is located as before
    calls.clear()
    theta = locate(Event(lambda t, y: t - 0.5 + 0.0 * y[0]), _step(0.3, 0.3), (), 0.1)
    assert 0.3 + theta * 0.3 == pytest.approx(0.5, abs=1e-14)


def test_illinois_returns_nan_in_the_rows_where_the_condition_is_nan():
    # row 0: nan around its root; row 1: finite, root at 0.45; row 2: no crossing asked
    shift = np.array([0.0, 0.05, 0.0])

    def condition(t, y):
        nan_zone = np.where(np.arange(3) == 0, np.abs(t - 0.5) - 1e-6, 1.0)
        return (t - 0.5 + shift) + 0.0 * np.sqrt(nan_zone) + 0.0 * y[:, 0]

    ci = _step(np.full(3, 0.3), np.full(3, 0.3), rows=3)
    rows = np.array([True, True, False])
    g1 = condition(np.full(3, 0.6), ci.y1)
    with np.errstate(invalid="ignore"):
        theta = locate(Event(condition), ci, (), g1, rows)
    assert np.isnan(theta[0]) and theta[2] == np.inf
    assert 0.3 + theta[1] * 0.3 == pytest.approx(0.45, abs=1e-14)
