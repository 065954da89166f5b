"""``solve_batch``: many trajectories of one ODE integrated at once.

``y0`` carries a leading batch axis ``B`` and ``fun`` is called on the whole batch. Each trajectory
has its own clock (``t_span[0]``/``t_span[1]`` may be ``(B,)`` arrays), its own step size (the
fixed ``dt`` of euler/rk4, shortened to land on its end time; or, for the adaptive methods bosh3,
dopri5 and tsit5, its own error norm and PI controller state), its own events, saved states and
final state. Every loop iteration attempts one step for all running trajectories at once; per-row
accept masks decide which rows move on: a row whose step is rejected stays where it is (and retries
with a smaller step) while the others advance, and a row that has reached its end time, fired a
terminal event or failed is frozen. ``diffopt.numpy.where`` applies the masks, so derivatives stay
exact. The loop ends when every trajectory has stopped.

All decisions (accept/reject, step sizes, event detection and location) are made per row on plain
values, with the same rules and constants as :func:`diffopt.ode.solve`, so each row follows the
steps a single solve of that trajectory takes (up to rounding in the step-size controller) and the
derivative is that of the computed discrete solution. Events are located per row on the step's
dense output by the root finder every path uses (Illinois false position, then bisection); each
event time is then made differentiable by the same one-Newton-step implicit-function-theorem
correction as :func:`diffopt.ode.solve`, elementwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete
from diffopt.core.pytree import tree_leaves, tree_map

from . import _types as st
from ._scalar import (
    ACCEPTED,
    DONE,
    NOT_FINITE,
    crosses,
    plan,
    root_start,
    root_step,
    stop_before_step,
)
from ._types import (
    EVENT_NON_FINITE,
    NON_FINITE,
    TERMINAL_EVENT,
    BatchSolution,
    Failures,
    as_events,
    as_span,
    check_dt,
    check_max_steps,
    check_saveat,
    check_times,
    check_tolerances,
    tableau,
    tangential,
)
from .control import PIController, error_norm, initial_step
from .events import Event, call_condition, event_time
from .interpolation import StepInterpolant, broadcast_rows
from .tableaus import Tableau


def solve_batch(fun: Callable, y0, t_span: Sequence, args: tuple = (),
                tab: Tableau | str = "dopri5", *, dt=None, rtol: float = 1e-6,
                atol: float = 1e-9, events: Sequence[Event] = (), saveat=None,
                max_steps: int = 100_000, save_steps: bool = False,
                raise_on_failure: bool = True) -> BatchSolution:
    """Integrate ``B`` trajectories of ``dy/dt = fun(t, y, *args)`` at once.

    ``fun`` is called on the whole batch, ``t`` of shape ``(B,)`` and ``y`` of shape ``(B, ...)``,
    and must return ``(B, ...)``; per-trajectory parameters in ``args`` are arrays with a
    leading ``B`` axis (shared ones broadcast as the function sees fit). ``tab``: a
    :class:`Tableau` or a method name. Fixed-step methods need ``dt``; for adaptive ones ``dt``
    (a scalar or ``(B,)``) is the first step, else each row gets Hairer's starting step, and
    ``rtol``/``atol`` set every row's error tolerance. ``saveat``: a 1-D array of times within
    every trajectory's span at which to report the states (see :class:`BatchSolution`). Event
    conditions are called like ``fun`` and return ``(B,)`` values; with ``needs_step_start``
    they receive ``step_start=(t0, y0)`` per trajectory, and must give finite values (and finite
    derivatives) at ``t == t0``. Terminal events stop their trajectory; every event that fires is
    logged per trajectory. ``max_steps`` bounds each trajectory's step attempts (accepted or
    rejected); failures end a trajectory as in :func:`diffopt.ode.solve`. Differentiable in
    ``y0``, ``args`` and ``t_span`` like :func:`diffopt.ode.solve`. ``raise_on_failure``: when
    derivatives are being taken, a failed trajectory raises :class:`ODESolveError` naming it
    (``False``: return, and let the caller read ``status``). Usually called as
    ``solve(..., batched=True)``.

    >>> import numpy as np
    >>> sol = solve_batch(lambda t, y: -y, np.ones((4, 1)), (0.0, 1.0), (), "tsit5")
    >>> np.round(sol.y_final[:, 0], 6).tolist()
    [0.367879, 0.367879, 0.367879, 0.367879]
    """
    tab = tableau(tab)
    events = as_events(events)
    if tab.adaptive:
        rtol, atol = check_tolerances(rtol, atol)
    max_steps = check_max_steps(max_steps)
    y0 = y0 if isinstance(y0, Tracer) else np.asarray(y0, dtype=float)
    shape0 = tuple(dnp.shape(y0))
    if len(shape0) < 1 or shape0[0] == 0:
        raise ValueError(f"a batched y0 needs a leading batch axis, got shape {shape0}")
    n_b = shape0[0]
    dt = check_dt(dt, tab, n_b)
    t0, t_end = (_batch_time(v, n_b) for v in as_span(t_span, n_b))
    traced = any(isinstance(v, Tracer) for v in tree_leaves((y0, t0, t_end, args)))
    args_c = tree_map(concrete, args)
    t_c, t_end_c = np.array(concrete(t0), dtype=float), np.array(concrete(t_end), dtype=float)
    check_times(t_c, t_end_c, events)
    saves = check_saveat(saveat, t_c, t_end_c)
    nfev = [0]

    def f(t, y):
        nfev[0] += 1
        out = dnp.asarray(fun(t, y, *args))
        if tuple(dnp.shape(out)) != shape0:
            raise ValueError(f"fun(t, y, *args) returned shape {dnp.shape(out)} but the batched "
                             f"y0 has shape {shape0}: it must return dy/dt for the whole batch")
        return out

    def col(v):  # a (B,) mask or vector shaped to broadcast against states
        return broadcast_rows(v, y0)

    t, y = t0, y0
    f_cur = f(t, y)
    y_c = np.asarray(concrete(y))
    g_prev = [_values(e, t_c, y_c, args_c, (t_c, y_c), n_b) for e in events]
    event_index = np.full(n_b, -1)
    n_steps = np.zeros(n_b, dtype=int)
    n_rej = np.zeros(n_b, dtype=int)
    last_nonfinite = np.zeros(n_b, dtype=bool)
    log = [[] for _ in range(n_b)]
    active = t_c < t_end_c
    failures = Failures(n_b, active)
    status, fail = failures.status, failures.fail
    cause = st.start_cause(y_c, concrete(f_cur), batched=True)
    fail(cause > 0, NON_FINITE, t_c, cause=cause)
    for i, g in enumerate(g_prev):
        fail(~np.isfinite(g), EVENT_NON_FINITE, t_c, cause=st.BAD_CONDITION, event=i)
    saved = None if saves is None else _Saves(saves, n_b, y0, t_c)
    hist_t, hist_y = ([t], [y]) if save_steps and saves is None else (None, None)
    if tab.adaptive:
        ctrl = PIController(tab.error_order, n_b)
        if dt is not None:
            h_prop = dt
        else:
            def fun_c(tt, yy):
                nfev[0] += 1
                return np.asarray(concrete(fun(tt, yy, *args_c)))

            span = t_end_c - t_c
            span = np.where(np.isfinite(span) & (span > 0), span, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                h_prop = initial_step(fun_c, t_c, y_c, np.asarray(concrete(f_cur)), tab.order,
                                      rtol, atol, span, batched=True)
    else:
        h_prop = dt

    def attempt(hc, last):
        """One step of every row: size ``hc`` (``t_end - t`` for the ``last`` rows)."""
        if last.any():
            h = dnp.where(last, t_end - t, hc)
            t_new = dnp.where(last, t_end, t + h)
        else:
            h, t_new = hc, t + hc
        return (h, t_new) + tab.step(f, t, y, f_cur, h, t_new, col(h))

    while active.any():
        with np.errstate(invalid="ignore"):
            last, hc = plan(t_end_c - t_c, h_prop, t_c)
            code, cause = stop_before_step(n_steps + n_rej, max_steps, hc, t_c, last_nonfinite)
        fail(active & (code != DONE), code, t_c, cause=cause, h=hc)
        if not active.any():
            break
        last &= active
        hc = np.where(active, hc, 0.0)  # stopped rows "step" by zero: their values stay finite
        h, t_new, stages, y_new, f_new = attempt(hc, last)
        t_new_c = np.where(last, t_end_c, t_c + hc)
        y_new_c = np.asarray(concrete(y_new))
        finite = np.all(np.isfinite(y_new_c.reshape(n_b, -1)), axis=1)
        if tab.adaptive:
            ks = [np.asarray(concrete(k)) for k in stages + [f_new]]
            with np.errstate(over="ignore", invalid="ignore"):
                en = error_norm(tab.error_estimate(col(hc), ks), y_c, y_new_c, rtol, atol,
                                batched=True)
            # (a step grown to inf fails at the next attempt)
            outcome, h_next = ctrl.judge(en, finite, hc, active)
            bad = active & (outcome == NOT_FINITE)
            accepted = active & (outcome == ACCEPTED)
            n_rej[active & ~accepted] += 1
            last_nonfinite = np.where(active, bad, last_nonfinite)
            h_prop = np.where(active, h_next, h_prop)
        else:
            bad = active & ~finite
            fail(bad, NON_FINITE, t_new_c, cause=st.BAD_STATE)
            accepted = active.copy()
        if bad.any() and traced:
            # redo the step with those rows standing still: inf/nan there would leak into the
            # other rows' derivatives (0 * inf) although the rows are masked out
            hc = np.where(bad, 0.0, hc)
            h, t_new, stages, y_new, f_new = attempt(hc, last & ~bad)
        interp = StepInterpolant(t, h, y, y_new, stages + [f_new], tab.dense)
        interp_c = interp.concrete() if events else None
        start_c = (t_c, y_c)
        g_new = [_values(e, t_new_c, y_new_c, args_c, start_c, n_b) for e in events]
        for i, g in enumerate(g_new):
            fail(accepted & ~np.isfinite(g), EVENT_NON_FINITE, t_new_c, cause=st.BAD_CONDITION,
                 event=i)
        accepted &= active
        theta = [_locate(e, interp_c, args_c, g_new[i], accepted & crosses(g_prev[i], g_new[i],
                                                                           e.direction))
                 for i, e in enumerate(events)]
        for i, th in enumerate(theta):
            fail(np.isnan(th), EVENT_NON_FINITE, t_c, cause=st.BAD_CONDITION_IN_STEP, h=hc,
                 event=i)
        accepted &= active
        theta = [np.where(accepted, th, np.inf) for th in theta]  # (failed rows log nothing)
        n_steps[accepted] += 1
        stop_theta, stop_index = _first_terminal(events, theta, n_b)
        fired = stop_index >= 0
        t_star, y_star = _log_events(events, theta, stop_theta, stop_index, interp, interp_c,
                                     args, args_c, traced, log)
        t_stop_c = np.where(fired, t_c + np.where(fired, stop_theta, 0.0) * hc, t_new_c)
        if saved is not None:
            saved.step(interp, y_new, accepted, t_c, t_new_c, t_stop_c)
        keep = accepted & ~fired
        if keep.all():
            t, y, f_cur = t_new, y_new, f_new
        else:
            t = dnp.where(keep, t_new, t)
            y = dnp.where(col(keep), y_new, y)
            f_cur = dnp.where(col(keep), f_new, f_cur)  # (stopped rows never use f again)
        if fired.any():
            t = dnp.where(fired, t_star, t)
            y = dnp.where(col(fired), y_star, y)
            status[fired] = TERMINAL_EVENT
            event_index[fired] = stop_index[fired]
        reached = keep & last
        active &= ~fired & ~reached
        t_c = np.where(accepted, t_stop_c, t_c)
        y_c = np.asarray(concrete(y))
        g_prev = [np.where(accepted, g, gp) for g, gp in zip(g_new, g_prev)]
        if hist_t is not None:
            hist_t.append(t)
            hist_y.append(y)

    message = failures.messages(t_c, event_index, max_steps, t_end_c,
                                any(e.terminal for e in events))
    failed = np.flatnonzero(status < 0)
    if failed.size and traced and raise_on_failure:
        raise failures.error(message)
    if saved is not None:
        ts, ys = saves, saved.result(y)
    elif hist_t is not None:
        ts, ys = dnp.stack(hist_t), dnp.stack(hist_y)
    else:
        ts = ys = None
    return BatchSolution(
        t_final=t, y_final=y, event_time=t, event_index=event_index, status=status,
        n_steps=n_steps, nfev=nfev[0], t=ts, y=ys, n_rejected=n_rej, event_log=log,
        message=message)


class _Saves:
    """The states at the common ``saveat`` times, gathered per row as the rows pass them.

    Every step contributes whole-batch values (a few per step: one per save time the fastest row
    passes); each ``(save time, row)`` pair remembers which value holds it, and one gather at the
    end builds the ``(n, B, ...)`` result (rows that never reached a time take their final state).
    """

    def __init__(self, saves, n_b, y0, t0_c):
        self.saves, self.n_b = saves, n_b
        self.next = np.zeros(n_b, dtype=int)  # each row's next save time
        self.source = np.full((len(saves), n_b), -1)
        self.values = []
        self._take(y0, self._due(t0_c))

    def _due(self, t_c):
        """The rows whose next save time is at or before their time ``t_c``."""
        if not len(self.saves):
            return np.zeros(self.n_b, dtype=bool)
        k = np.minimum(self.next, len(self.saves) - 1)
        return (self.next < len(self.saves)) & (self.saves[k] <= t_c)

    def _take(self, value, rows):
        """``value`` (whole batch) holds the next save time's state of the rows in ``rows``."""
        if rows.any():
            self.values.append(value)
            self.source[self.next[rows], np.flatnonzero(rows)] = len(self.values) - 1
            self.next[rows] += 1

    def step(self, interp, y_new, accepted, t_c, t_new_c, t_stop_c):
        """The save times each accepted row passed in this step (up to where it stopped), read
        off its dense output (its new state itself for a time equal to the step's end)."""
        while True:
            rows = accepted & self._due(t_stop_c)
            if not rows.any():
                return
            s = np.where(rows, self.saves[np.minimum(self.next, len(self.saves) - 1)], t_c)
            value = interp.at(s, rows)
            at_end = rows & (s == t_new_c)
            if at_end.any():
                value = dnp.where(broadcast_rows(at_end, y_new), y_new, value)
            self._take(value, rows)

    def result(self, y_final):
        """The ``(n, B, ...)`` saved states (``y_final`` where a row never reached a time)."""
        self.values.append(y_final)
        where = np.where(self.source < 0, len(self.values) - 1, self.source)
        stacked = dnp.stack(self.values)
        shape = tuple(dnp.shape(stacked))
        flat = dnp.reshape(stacked, (shape[0] * shape[1],) + shape[2:])
        picked = flat[(where * self.n_b + np.arange(self.n_b)).ravel()]
        return dnp.reshape(picked, (len(self.saves), self.n_b) + shape[2:])


def _batch_time(v, n_b):
    """A start/end time as a ``(B,)`` array (scalars broadcast), traced or not."""
    if isinstance(v, Tracer):
        return dnp.broadcast_to(v, (n_b,))
    return np.broadcast_to(np.asarray(v, dtype=float), (n_b,)).copy()


def _values(event, t, y, args_c, step_start, n_b) -> np.ndarray:
    g = np.asarray(concrete(call_condition(event, t, y, args_c, step_start)), dtype=float)
    if g.shape != (n_b,):
        raise ValueError(f"a batched event condition must return shape ({n_b},), got {g.shape}")
    return g


def _locate(event, ci, args_c, g1, rows) -> np.ndarray:
    """Per-row ``theta`` in [0, 1] of the condition's sign change on the step's (concrete) dense
    output where ``rows`` (inf elsewhere): the rows step through the root finder of
    :func:`diffopt.ode._scalar.find_root` together, the condition evaluated on the whole batch
    at each iteration. nan in the rows where it was not finite on the way."""
    n_b = len(ci.t0)
    theta = np.full(n_b, np.inf)
    if not rows.any():
        return theta

    def phi(x):
        return _values(event, ci.t0 + x * ci.h, ci.at_theta(x), args_c, (ci.t0, ci.y0), n_b)

    with np.errstate(all="ignore"):  # (rows that are not searching may hold any values)
        state, x = root_start(g1, phi(np.zeros(n_b)), phi(np.ones(n_b)))
        state = tuple(np.broadcast_to(v, (n_b,)) for v in state)
        searching = rows & (state[-1] == -1.0)
        while searching.any():  # (bounded: root_step ends every row within ROOT_STEPS)
            new, x_next = root_step(state, x, phi(x), event.needs_step_start)
            state = tuple(np.where(searching, n, o) for n, o in zip(new, state))
            x = np.where(searching, x_next, x)
            searching &= state[-1] == -1.0
    return np.where(rows, state[-1], theta)


def _first_terminal(events, theta, n_b):
    """Each row's earliest terminal event in the step: its ``theta`` (inf: none) and index (-1);
    simultaneous ones: the lowest index."""
    stop_theta, stop_index = np.full(n_b, np.inf), np.full(n_b, -1)
    for i, e in enumerate(events):
        if e.terminal:
            earlier = theta[i] < stop_theta
            stop_theta[earlier] = theta[i][earlier]
            stop_index[earlier] = i
    return stop_theta, stop_index


def _log_events(events, theta, stop_theta, stop_index, interp, interp_c, args, args_c, traced,
                log):
    """Append the step's events to each row's log in time order, up to and including the row's
    first terminal event; gives the terminal events' ``(B,)`` times and ``(B, ...)`` states
    (step-start values in the rows where none fired)."""
    t_stop, y_stop = interp.t0, interp.y0
    entries = []
    for i, e in enumerate(events):
        th = theta[i]
        rows = np.isfinite(th) & ((th < stop_theta) | ((th == stop_theta) & (i <= stop_index)))
        if not rows.any():
            continue
        t_i, flat = event_time(e, interp, args, args_c, interp_c.t0 + np.where(rows, th, 0.0)
                               * interp_c.h, rows)
        if flat.any() and traced:
            raise tangential(i, f"in trajectories {np.flatnonzero(flat).tolist()}")
        y_i = interp.at(t_i, rows)
        entries += [(th[r], i, r, t_i, y_i) for r in np.flatnonzero(rows)]
        stops = rows & (stop_index == i)
        if stops.any():
            t_stop = dnp.where(stops, t_i, t_stop)
            y_stop = dnp.where(broadcast_rows(stops, y_i), y_i, y_stop)
    for _, i, r, t_i, y_i in sorted(entries, key=lambda en: en[:3]):
        log[r].append((i, t_i[r], y_i[r]))
    return t_stop, y_stop


__all__ = ["solve_batch", "BatchSolution"]
