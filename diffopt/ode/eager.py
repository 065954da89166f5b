"""The NumPy executor: explicit Runge-Kutta steps in diffopt.numpy, differentiable end to end, for
one trajectory or a batch of them.

The integrator runs eagerly; every state update is a diffopt operation, so ``grad``/``vjp`` record
the steps on the reverse tape (the "direct" discrete adjoint: memory grows with the number of steps)
and ``jvp`` carries forward sensitivities. All control decisions (accept/reject, next step size,
event detection and root finding, loop termination) are made on concrete values; they are
piecewise constant in the inputs, so the derivative is the exact derivative of the discrete
solution that was computed ("discretise, then differentiate"). The last step ends exactly at
``t_span[1]`` and its size is ``t_end - t``, so ``y(T)`` depends on ``T`` through it.

One loop, :class:`Stepper`, serves both. Its control values (time, step size, counters, masks) are
plain scalars for one trajectory and ``(B,)`` arrays for a batch, and every decision goes through
the elementwise rules of :mod:`diffopt.ode._scalar` (``select`` is a branch on scalars and
``numpy.where`` on arrays), so a single solve pays no array overhead. A batch attempts one step for
all its running trajectories at once; per-row masks decide which rows move on: a row whose step is
rejected stays where it is (and retries with a smaller step) while the others advance, and a row
that has reached its end time, fired a terminal event or failed is frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete
from diffopt.core.pytree import tree_leaves, tree_map

from . import _types as st
from ._scalar import ACCEPTED, NOT_FINITE, crosses, plan, select, stop_before_step
from ._types import (
    DONE,
    EVENT_NON_FINITE,
    NON_FINITE,
    TERMINAL_EVENT,
    BatchSolution,
    Failures,
    ODESolveError,
    Solution,
    as_args,
    as_events,
    as_span,
    as_state,
    check_dt,
    check_max_steps,
    check_saveat,
    check_times,
    check_tolerances,
    stack_states,
    stack_times,
    tableau,
    tangential,
)
from .control import PIController, error_norm, initial_step
from .events import Event, event_time, event_value, locate
from .interpolation import StepInterpolant, broadcast_rows
from .tableaus import Tableau


def solve_eager(fun: Callable, y0, t_span: Sequence, args, tab: Tableau, **opts) -> Solution:
    """One solve by :class:`Stepper` (``opts``: ``dt``, ``rtol``, ``atol``, ``events``,
    ``saveat``, ``max_steps`` as :func:`diffopt.ode.solve` takes them)."""
    stepper = Stepper(fun, y0, t_span, args, tab, **opts)
    stepper.start()
    stepper.run()
    return stepper.solution()


def solve_batch(fun: Callable, y0, t_span: Sequence, args: tuple = (),
                tab: Tableau | str = "dopri5", *, dt=None, rtol: float = 1e-6,
                atol: float = 1e-9, events: Sequence[Event] = (), saveat=None,
                max_steps: int = 100_000, save_steps: bool = False,
                raise_on_failure: bool = True) -> BatchSolution:
    """Integrate ``B`` trajectories of ``dy/dt = fun(t, y, *args)`` at once.

    ``fun`` is called on the whole batch, ``t`` of shape ``(B,)`` and ``y`` of shape ``(B, ...)``,
    and must return ``(B, ...)``; per-trajectory parameters in ``args`` are arrays with a
    leading ``B`` axis (shared ones broadcast as the function sees fit). Each trajectory has its
    own clock (``t_span[0]``/``t_span[1]`` may be ``(B,)`` arrays), its own steps and step
    control, events, saved states and final state, with the same rules and constants as
    :func:`diffopt.ode.solve`. ``tab``: a :class:`Tableau` or a method name. Fixed-step methods
    need ``dt``; for adaptive ones ``dt`` (a scalar or ``(B,)``) is the first step, else each row
    gets Hairer's starting step, and ``rtol``/``atol`` set every row's error tolerance.
    ``saveat``: a 1-D array of times within every trajectory's span at which to report the states
    (see :class:`BatchSolution`); ``save_steps``: without it, keep the loop's history instead.
    Event conditions are called like ``fun`` and return ``(B,)`` values; with
    ``needs_step_start`` they receive ``step_start=(t0, y0)`` per trajectory, and must give
    finite values (and finite derivatives) at ``t == t0``. Terminal events stop their
    trajectory; every event that fires is logged per trajectory. ``max_steps`` bounds each
    trajectory's step attempts (accepted or rejected); failures end a trajectory as in
    :func:`diffopt.ode.solve`. Differentiable in ``y0``, ``args`` and ``t_span`` like
    :func:`diffopt.ode.solve`. ``raise_on_failure``: when derivatives are being taken, a failed
    trajectory raises :class:`ODESolveError` naming it (``False``: return, and let the caller
    read ``status``). Usually called as ``solve(..., batched=True)``.

    >>> import numpy as np
    >>> sol = solve_batch(lambda t, y: -y, np.ones((4, 1)), (0.0, 1.0), (), "tsit5")
    >>> np.round(sol.y_final[:, 0], 6).tolist()
    [0.367879, 0.367879, 0.367879, 0.367879]
    """
    stepper = Stepper(fun, y0, t_span, args, tableau(tab), dt=dt, rtol=rtol, atol=atol,
                      events=events, saveat=saveat, max_steps=max_steps, batched=True,
                      save_steps=save_steps)
    stepper.start()
    stepper.run()
    return stepper.batch_solution(raise_on_failure)


def any_(mask) -> bool:
    """Whether any row of ``mask`` (a bool, or an array of them) is set."""
    return mask if mask is True or mask is False else bool(np.any(mask))


def not_(mask):
    """Elementwise not (``~`` on a Python bool is an int)."""
    return ~mask if isinstance(mask, np.ndarray) else not mask


def quiet(batched: bool, **errors):
    """``numpy.errstate(**errors)`` for a batch, whose stopped rows may hold inf or nan; nothing
    for one trajectory (it costs a microsecond a step, and its values are all in play)."""
    return np.errstate(**errors) if batched else nullcontext()


def pick(mask, a, b):
    """``a`` where ``mask``, else ``b``, for values that may be traced (``mask``: a bool, or an
    array broadcasting against them); a mask that is all one way returns that value itself."""
    if not isinstance(mask, np.ndarray):
        return a if mask else b
    if mask.all():
        return a
    if not mask.any():
        return b
    return dnp.where(mask, a, b)


class Stepper:
    """The integration loop as a resumable object (the adjoints re-run pieces of it).

    ``start()`` evaluates ``f`` at the start and picks the first step; ``run(until)`` takes steps
    until the solve ends (returns True) or ``n_steps`` reaches ``until`` (False; one trajectory
    only); ``solution()`` / ``batch_solution()`` pack the result. ``snapshot()``/``restore()``
    save and put back the loop's state: the values ``t, y, f_cur`` (possibly traced) and the
    concrete ``STATE`` rest, with which a re-run makes the same control decisions. ``traced``: a
    derivative is requested (failures then raise). ``batched``: ``y0`` has a leading batch axis
    (see :func:`solve_batch`).
    """

    STATE = ("t", "t_c", "y", "f_cur", "h_prop", "g_prev", "n_steps", "n_rej",
             "last_nonfinite", "active")

    def __init__(self, fun: Callable, y0, t_span: Sequence, args, tab: Tableau, *, dt=None,
                 rtol=1e-6, atol=1e-9, events=(), saveat=None, max_steps: int = 100_000,
                 batched: bool = False, save_steps: bool = True):
        events = as_events(events)
        args = as_args(args)
        if tab.adaptive:
            rtol, atol = check_tolerances(rtol, atol)
        max_steps = check_max_steps(max_steps)
        if batched:
            y0 = y0 if isinstance(y0, Tracer) else np.asarray(y0, dtype=float)
            shape0 = tuple(dnp.shape(y0))
            if len(shape0) < 1 or shape0[0] == 0:
                raise ValueError(f"a batched y0 needs a leading batch axis, got shape {shape0}")
            self.n_b = shape0[0]
            t0, t_end = (_batch_time(v, self.n_b) for v in as_span(t_span, self.n_b))
            t0_c = np.array(concrete(t0), dtype=float)
            t_end_c = np.array(concrete(t_end), dtype=float)
        else:
            y0 = as_state(y0)
            shape0 = tuple(dnp.shape(y0))
            self.n_b = None
            t0, t_end = as_span(t_span)
            t0_c, t_end_c = float(concrete(t0)), float(concrete(t_end))
        self.traced = any(isinstance(v, Tracer) for v in tree_leaves((y0, t0, t_end, args)))
        self.args_c = tree_map(concrete, args)
        check_times(t0_c, t_end_c, events)
        saves = check_saveat(saveat, t0_c, t_end_c)
        self.saves = saves if batched or saves is None else [float(v) for v in saves]
        self.dt = check_dt(dt, tab, self.n_b)
        self.fun, self.tab, self.args, self.events = fun, tab, args, events
        self.y0, self.t0, self.t_end, self.t0_c, self.t_end_c = y0, t0, t_end, t0_c, t_end_c
        self.rtol, self.atol, self.max_steps = rtol, atol, max_steps
        self.batched, self.shape0 = batched, shape0
        self.nfev = 0
        self.ctrl = PIController(tab.error_order, self.n_b) if tab.adaptive else None
        self.failures = Failures(self.n_b or 1)
        self.event_index = self.full(-1, int)
        self.log = [[] for _ in range(self.n_b)] if batched else []
        if saves is None:
            self.record = (_History() if save_steps else _Record()) if batched else _Steps()
        else:
            self.record = _BatchSaves(saves, self.n_b) if batched else _Saves(self.saves)

    # --- per-row helpers: scalars for one trajectory, (B,) arrays for a batch ---------------
    def full(self, value, dtype=float):
        return value if self.n_b is None else np.full(self.n_b, value, dtype=dtype)

    def col(self, v):
        """A per-row value or mask shaped to broadcast against the states."""
        return broadcast_rows(v, self.y0) if self.batched else v

    def fail(self, rows, code, t, **detail) -> None:
        """End the running ``rows`` with the failure ``code`` at time ``t`` (``detail``:
        ``cause``, ``h``, ``event``; see :func:`diffopt.ode._types.message`)."""
        if any_(rows):
            self.failures.fail(rows, code, t, **detail)
            self.active = self.active & not_(rows)

    def f(self, t, y):
        self.nfev += 1
        out = dnp.asarray(self.fun(t, y, *self.args))
        if tuple(dnp.shape(out)) != self.shape0:
            if self.batched:
                raise ValueError(f"fun(t, y, *args) returned shape {dnp.shape(out)} but the "
                                 f"batched y0 has shape {self.shape0}: it must return dy/dt for "
                                 "the whole batch")
            raise ValueError(f"fun(t, y, *args) returned shape {dnp.shape(out)} but y0 has shape "
                             f"{self.shape0}: the right-hand side must return dy/dt shaped like y0")
        return out

    def conditions(self, t_c, y_c, start_c) -> list:
        """Every event condition at ``(t_c, y_c)`` as plain values (``start_c``: the step's
        start)."""
        return [event_value(e, t_c, y_c, self.args_c, start_c, self.n_b) for e in self.events]

    # --- the loop -------------------------------------------------------------------------
    def start(self) -> None:
        """The state at ``t_span[0]``: ``f`` there, the saves due there, the first step size
        (or a failure: ``y0``, ``f`` or an event condition not finite there)."""
        tab, t0_c = self.tab, self.t0_c
        self.t, self.t_c, self.y = self.t0, t0_c, self.y0
        self.f_cur = self.f(self.t0, self.y0)
        y_c = np.asarray(concrete(self.y0))
        self.g_prev = self.conditions(t0_c, y_c, (t0_c, y_c))
        self.n_steps, self.n_rej = self.full(0, int), self.full(0, int)
        self.last_nonfinite = self.full(False, bool)
        self.active = t0_c < self.t_end_c
        self.record.start(self.t0, self.y0, t0_c)
        cause = st.start_cause(y_c, concrete(self.f_cur), self.batched)
        self.fail(cause > 0, NON_FINITE, t0_c, cause=cause)
        if self.dt is not None:
            self.h_prop = self.dt if self.batched else float(self.dt)
        elif not any_(cause == 0):
            self.h_prop = self.full(np.nan)
        else:
            def fun_c(tt, yy):
                self.nfev += 1
                return np.asarray(concrete(self.fun(tt, yy, *self.args_c)))

            span = self.t_end_c - t0_c
            span = select(np.isfinite(span) & (span > 0), span, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.h_prop = initial_step(fun_c, t0_c, y_c, np.asarray(concrete(self.f_cur)),
                                           tab.order, self.rtol, self.atol, span, self.batched)
        for i, g in enumerate(self.g_prev):
            self.fail(not_(np.isfinite(g)), EVENT_NON_FINITE, t0_c, cause=st.BAD_CONDITION,
                      event=i)

    def snapshot(self) -> dict:
        """The loop's state, and how many saves and event-log entries there are so far."""
        snap = {k: getattr(self, k) for k in self.STATE}
        snap.update(ctrl_prev=None if self.ctrl is None else self.ctrl.prev,
                    record=self.record.position(), n_ts=len(self.ts), n_log=len(self.log))
        return snap

    def restore(self, snap: dict, **values) -> None:
        """Resume from ``snap``; ``values`` replace some of its entries (e.g. traced ``t, y``)."""
        for k in self.STATE:
            setattr(self, k, values.get(k, snap[k]))
        if self.ctrl is not None:
            self.ctrl.prev = snap["ctrl_prev"]
        self.record.seek(snap["record"])

    def attempt(self, hc, last):
        """One step of every row: size ``hc`` (``t_end - t`` for the ``last`` rows)."""
        t = self.t
        if any_(last):
            h = pick(last, self.t_end - t, hc)
            t_new = pick(last, self.t_end, t + h)
        else:
            h, t_new = hc, t + hc
        return (h, t_new) + self.tab.step(self.f, t, self.y, self.f_cur, h, t_new, self.col(h))

    def run(self, until: int | None = None) -> bool:
        """Take steps until the solve ends (True) or ``n_steps`` reaches ``until`` (False).
        Every attempt, accepted or rejected, counts toward ``max_steps``."""
        tab, t_end_c = self.tab, self.t_end_c
        while any_(self.active):
            if until is not None and self.n_steps >= until:
                return False
            t_c, active = self.t_c, self.active
            with quiet(self.batched, invalid="ignore"):
                last, hc = plan(t_end_c - t_c, self.h_prop, t_c)
                code, cause = stop_before_step(self.n_steps + self.n_rej, self.max_steps, hc, t_c,
                                               self.last_nonfinite)
            self.fail(active & (code != DONE), code, t_c, cause=cause, h=hc)
            active = self.active
            if not any_(active):
                break
            last = last & active
            hc = select(active, hc, 0.0)  # stopped rows "step" by zero: their values stay finite
            h, t_new, stages, y_new, f_new = self.attempt(hc, last)
            t_new_c = select(last, t_end_c, t_c + hc)
            y_c, y_new_c = np.asarray(concrete(self.y)), np.asarray(concrete(y_new))
            finite = st.finite(y_new_c, self.batched)
            if tab.adaptive:
                ks = [np.asarray(concrete(k)) for k in stages + [f_new]]
                with quiet(self.batched, over="ignore", invalid="ignore"):
                    en = error_norm(tab.error_estimate(self.col(hc), ks), y_c, y_new_c,
                                    self.rtol, self.atol, self.batched)
                # (a step grown to inf fails at the next attempt)
                outcome, h_next = self.ctrl.judge(en, finite, hc, active if self.batched
                                                  else None)
                bad = active & (outcome == NOT_FINITE)
                accepted = active & (outcome == ACCEPTED)
                self.n_rej = self.n_rej + (active & not_(accepted))
                self.last_nonfinite = select(active, bad, self.last_nonfinite)
                self.h_prop = select(active, h_next, self.h_prop)
            else:
                bad = active & not_(finite)
                self.fail(bad, NON_FINITE, t_new_c, cause=st.BAD_STATE)
                accepted = self.active
            if not any_(accepted):
                self.record.iteration(self.t, self.y)
                continue
            if self.batched and any_(bad) and self.traced:
                # redo the step with those rows standing still: inf/nan there would leak into the
                # other rows' derivatives (0 * inf) although the rows are masked out
                hc = select(bad, 0.0, hc)
                h, t_new, stages, y_new, f_new = self.attempt(hc, last & ~bad)
            self.advance(StepInterpolant(self.t, h, self.y, y_new, stages + [f_new], tab.dense),
                         accepted, last, hc, t_new, t_new_c, y_new, f_new, (t_c, y_c),
                         y_new_c)
        return True

    def advance(self, interp, accepted, last, hc, t_new, t_new_c, y_new, f_new, start_c,
                y_new_c) -> None:
        """Move the ``accepted`` rows over their step: events (checked, located, logged; a
        terminal one stops its row at its time), saves, the new state."""
        t_c = start_c[0]
        g_new, theta, interp_c = [], None, None
        if self.events:
            g_new = self.conditions(t_new_c, y_new_c, start_c)
            accepted, theta, interp_c = self.find_events(interp, accepted, g_new, t_c, t_new_c,
                                                         hc)
        if not any_(accepted):
            self.record.iteration(self.t, self.y)
            return
        self.n_steps = self.n_steps + accepted
        fired, t_stop_c = self.full(False, bool), t_new_c
        if theta is not None:
            stop_theta, stop_index = self.first_terminal(theta)
            fired = stop_index >= 0
            t_star, y_star = self.log_events(theta, stop_theta, stop_index, interp, interp_c)
            t_stop_c = select(fired, t_c + select(fired, stop_theta, 0.0) * hc, t_new_c)
        self.record.step(interp, t_new, y_new, accepted, t_c, t_new_c, t_stop_c)
        keep = accepted & not_(fired)
        if keep is True:  # (one trajectory moving on: what the rest comes to, without its cost)
            self.t, self.y, self.f_cur, self.t_c, self.g_prev = t_new, y_new, f_new, t_new_c, g_new
            self.active = not last
            self.record.moved(t_new, y_new, True)
            return
        self.t = pick(keep, t_new, self.t)
        self.y = pick(self.col(keep), y_new, self.y)
        self.f_cur = pick(self.col(keep), f_new, self.f_cur)  # (stopped rows never use f again)
        if any_(fired):
            self.t = pick(fired, t_star, self.t)
            self.y = pick(self.col(fired), y_star, self.y)
            rows = np.broadcast_to(fired, self.failures.status.shape)
            self.failures.status[rows] = TERMINAL_EVENT
            self.event_index = select(fired, stop_index, self.event_index)
        self.active = self.active & not_(fired) & not_(keep & last)
        self.t_c = select(accepted, t_stop_c, t_c)
        self.g_prev = [select(accepted, g, gp) for g, gp in zip(g_new, self.g_prev)]
        self.record.moved(self.t, self.y, accepted & (not_(fired) | (t_stop_c != t_c)))

    def find_events(self, interp, accepted, g_new, t_c, t_new_c, hc):
        """The events in the ``accepted`` rows' step (``g_new``: the conditions at its end):
        ``(accepted, theta, interp_c)``, the rows still accepted (a condition that is not
        finite, at the step's end or on its dense output, fails its row), each event's root as
        a fraction of the step (inf: none; ``theta`` is None when none crossed) and the step's
        concrete dense output."""
        if not np.isfinite(g_new).all():
            for i, g in enumerate(g_new):
                self.fail(accepted & not_(np.isfinite(g)), EVENT_NON_FINITE, t_new_c,
                          cause=st.BAD_CONDITION, event=i)
            accepted = accepted & self.active
        crossing = [accepted & crosses(gp, g, e.direction)
                    for e, gp, g in zip(self.events, self.g_prev, g_new)]
        if not any(any_(c) for c in crossing):
            return accepted, None, None
        interp_c = interp.concrete()
        theta = [locate(e, interp_c, self.args_c, g, rows if self.batched else None)
                 if any_(rows) else self.full(np.inf)
                 for e, g, rows in zip(self.events, g_new, crossing)]
        for i, th in enumerate(theta):
            self.fail(np.isnan(th), EVENT_NON_FINITE, t_c, cause=st.BAD_CONDITION_IN_STEP,
                      h=hc, event=i)
        accepted = accepted & self.active
        theta = [select(accepted, th, np.inf) for th in theta]  # (failed rows log nothing)
        return accepted, theta, interp_c

    def first_terminal(self, theta):
        """Each row's earliest terminal event in the step: its ``theta`` (inf: none) and index
        (-1); simultaneous ones: the lowest index."""
        stop_theta, stop_index = self.full(np.inf), self.full(-1, int)
        for i, e in enumerate(self.events):
            if e.terminal:
                earlier = theta[i] < stop_theta
                stop_theta = select(earlier, theta[i], stop_theta)
                stop_index = select(earlier, i, stop_index)
        return stop_theta, stop_index

    def log_events(self, theta, stop_theta, stop_index, interp, ci):
        """Append the step's events to each row's log in time order, up to and including the
        row's first terminal event; gives the terminal events' times and states (the step
        start's values in the rows where none fired)."""
        t_stop, y_stop = interp.t0, interp.y0
        entries = []
        for i, e in enumerate(self.events):
            th = theta[i]
            rows = np.isfinite(th) & ((th < stop_theta) | ((th == stop_theta) & (i <= stop_index)))
            if not any_(rows):
                continue
            t_root = ci.t0 + select(rows, th, 0.0) * ci.h
            mask = rows if self.batched else None
            t_i, flat = event_time(e, interp, self.args, self.args_c, t_root, mask)
            if any_(flat) and self.traced:
                raise tangential(i, f"in trajectories {np.flatnonzero(flat).tolist()}"
                                 if self.batched else f"at t={t_root:.6g}")
            y_i = interp.at(t_i, mask)
            if self.batched:
                entries += [(th[r], i, r, t_i, y_i) for r in np.flatnonzero(rows)]
            else:
                entries.append((th, i, None, t_i, y_i))
            stops = rows & (stop_index == i)
            if any_(stops):
                t_stop = pick(stops, t_i, t_stop)
                y_stop = pick(self.col(stops), y_i, y_stop)
        for _, i, r, t_i, y_i in sorted(entries, key=lambda en: en[:2] + (en[2] or 0,)):
            if r is None:
                self.log.append((i, t_i, y_i))
            else:
                self.log[r].append((i, t_i[r], y_i[r]))
        return t_stop, y_stop

    # --- results --------------------------------------------------------------------------
    @property
    def ts(self) -> list:
        return self.record.ts

    @property
    def ys(self) -> list:
        return self.record.ys

    def messages(self) -> list:
        return self.failures.messages(np.atleast_1d(self.t_c), np.atleast_1d(self.event_index),
                                      self.max_steps, self.t_end_c,
                                      any(e.terminal for e in self.events))

    def solution(self) -> Solution:
        """The :class:`Solution` of one trajectory (raises :class:`ODESolveError` on failure
        when ``traced``)."""
        status, message = int(self.failures.status[0]), self.messages()[0]
        if status < 0 and self.traced:
            raise ODESolveError(f"ODE solve failed ({message}); no derivative can be given")
        fired = status == TERMINAL_EVENT
        return Solution(
            t=stack_times(self.ts), y=stack_states(self.ys, self.shape0), t_final=self.t,
            y_final=self.y, event_time=self.t if fired else None,
            event_index=int(self.event_index) if fired else None,
            event_state=self.y if fired else None, nfev=self.nfev, n_steps=int(self.n_steps),
            n_rejected=int(self.n_rej), status=status, message=message, event_log=self.log,
        )

    def batch_solution(self, raise_on_failure: bool = True) -> BatchSolution:
        """The :class:`BatchSolution` (raises :class:`ODESolveError` naming the failed rows
        when ``traced`` and ``raise_on_failure``)."""
        message = self.messages()
        if self.traced and raise_on_failure and np.any(self.failures.status < 0):
            raise self.failures.error(message)
        ts, ys = self.record.result(self.y)
        return BatchSolution(
            t_final=self.t, y_final=self.y, event_time=self.t, event_index=self.event_index,
            status=self.failures.status, n_steps=self.n_steps, nfev=self.nfev, t=ts, y=ys,
            n_rejected=self.n_rej, event_log=self.log, message=message)


# --- what a solve keeps of its way: the saved times and states ----------------------------
class _Record:
    """What a solve keeps: the loop calls ``start`` at ``t0``, ``step`` for every step before
    the rows move (the states on the way are on its dense output), ``moved`` after they move
    (``moved``: a row went somewhere new) and ``iteration`` after an attempt that moved none;
    ``position``/``seek`` save and restore where it is (for :meth:`Stepper.restore`). This base
    keeps nothing (a batch without ``save_steps``)."""

    def __init__(self):
        self.ts, self.ys = [], []

    def start(self, t0, y0, t0_c):
        pass

    def step(self, interp, t_new, y_new, accepted, t_c, t_new_c, t_stop_c):
        pass

    def moved(self, t, y, moved):
        pass

    def iteration(self, t, y):
        pass

    def position(self):
        return None

    def seek(self, position):
        pass

    def result(self, y_final):
        return None, None


class _Steps(_Record):
    """One trajectory's every step: the start, each accepted step's end, a terminal event."""

    def start(self, t0, y0, t0_c):
        self.moved(t0, y0, True)

    def moved(self, t, y, moved):
        if moved:
            self.ts.append(t)
            self.ys.append(y)


class _Saves(_Record):
    """One trajectory's states at the ``saveat`` times, read off each step's dense output."""

    def __init__(self, saves):
        super().__init__()
        self.saves, self.next = saves, 0

    def start(self, t0, y0, t0_c):
        self.step(None, None, y0, True, t0_c, t0_c, t0_c)

    def position(self):
        return self.next

    def seek(self, position):
        self.next = position

    def step(self, interp, t_new, y_new, accepted, t_c, t_new_c, t_stop_c):
        saves = self.saves
        while self.next < len(saves) and saves[self.next] <= t_stop_c:
            s = saves[self.next]
            self.ts.append(t_new if s == t_new_c and t_new is not None else s)
            self.ys.append(y_new if s == t_new_c else interp(s))
            self.next += 1


class _History(_Record):
    """A batch's loop history: ``(t, y)`` after every iteration (rows that were rejected or had
    stopped repeat)."""

    def start(self, t0, y0, t0_c):
        self.iteration(t0, y0)

    def iteration(self, t, y):
        self.ts.append(t)
        self.ys.append(y)

    def moved(self, t, y, moved):
        self.iteration(t, y)

    def result(self, y_final):
        return dnp.stack(self.ts), dnp.stack(self.ys)


class _BatchSaves(_Record):
    """The states at the common ``saveat`` times, gathered per row as the rows pass them.

    Every step contributes whole-batch values (a few per step: one per save time the fastest row
    passes); each ``(save time, row)`` pair remembers which value holds it, and one gather at the
    end builds the ``(n, B, ...)`` result (rows that never reached a time take their final state).
    """

    def __init__(self, saves, n_b):
        super().__init__()
        self.saves, self.n_b = saves, n_b
        self.next = np.zeros(n_b, dtype=int)  # each row's next save time
        self.source = np.full((len(saves), n_b), -1)
        self.values = []

    def start(self, t0, y0, t0_c):
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

    def step(self, interp, t_new, y_new, accepted, t_c, t_new_c, t_stop_c):
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
        """The save times and the ``(n, B, ...)`` saved states (``y_final`` where a row never
        reached a time)."""
        self.values.append(y_final)
        where = np.where(self.source < 0, len(self.values) - 1, self.source)
        stacked = dnp.stack(self.values)
        shape = tuple(dnp.shape(stacked))
        flat = dnp.reshape(stacked, (shape[0] * shape[1],) + shape[2:])
        picked = flat[(where * self.n_b + np.arange(self.n_b)).ravel()]
        return self.saves, dnp.reshape(picked, (len(self.saves), self.n_b) + shape[2:])


def _batch_time(v, n_b):
    """A start/end time as a ``(B,)`` array (scalars broadcast), traced or not."""
    if isinstance(v, Tracer):
        return dnp.broadcast_to(v, (n_b,))
    return np.broadcast_to(np.asarray(v, dtype=float), (n_b,)).copy()


__all__ = ["Stepper", "solve_eager", "solve_batch"]
