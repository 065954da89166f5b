"""The eager NumPy executor: explicit Runge-Kutta steps in diffopt.numpy, differentiable end to end.

The integrator runs eagerly; every state update is a diffopt operation, so ``grad``/``vjp`` record
the steps on the reverse tape (the "direct" discrete adjoint: memory grows with the number of steps)
and ``jvp`` carries forward sensitivities. All control decisions (accept/reject, next step size,
event detection and root finding, loop termination) are made on concrete values; they are
piecewise constant in the inputs, so the derivative is the exact derivative of the discrete
solution that was computed ("discretise, then differentiate"). The last step ends exactly at
``t_span[1]`` and its size is ``t_end - t``, so ``y(T)`` depends on ``T`` through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete
from diffopt.core.pytree import tree_leaves, tree_map

from . import _types as status
from ._scalar import ACCEPTED, NOT_FINITE, plan, stop_before_step
from ._types import (
    DONE,
    EVENT_NON_FINITE,
    NON_FINITE,
    TERMINAL_EVENT,
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
    tangential,
)
from .control import PIController, error_norm, initial_step
from .events import crosses, event_time, event_value, locate
from .interpolation import StepInterpolant
from .tableaus import Tableau


def solve_eager(fun: Callable, y0, t_span: Sequence, args, tab: Tableau, **opts) -> Solution:
    """One solve by :class:`Stepper` (``opts``: ``dt``, ``rtol``, ``atol``, ``events``,
    ``saveat``, ``max_steps`` as :func:`diffopt.ode.solve` takes them)."""
    stepper = Stepper(fun, y0, t_span, args, tab, **opts)
    stepper.start()
    stepper.run()
    return stepper.solution()


class Stepper:
    """solve()'s integration loop as a resumable object (the adjoints re-run pieces of it).

    ``start()`` evaluates ``f`` at the start and picks the first step; ``run(until)`` takes steps
    until the solve ends (returns True) or ``n_steps`` reaches ``until`` (False); ``solution()``
    packs the result. ``snapshot()``/``restore()`` save and put back the loop's state: the values
    ``t, y, f_cur`` (possibly traced) and the concrete ``STATE`` rest, with which a re-run makes
    the same control decisions. ``traced``: a derivative is requested (failures then raise).
    """

    STATE = ("t", "t_c", "y", "f_cur", "h_c", "g_prev", "n_steps", "n_rej", "last_nonfinite",
             "save_i")

    def __init__(self, fun: Callable, y0, t_span: Sequence, args, tab: Tableau, *, dt=None,
                 rtol=1e-6, atol=1e-9, events=(), saveat=None, max_steps: int = 100_000):
        y0 = as_state(y0)
        t0, t_end = as_span(t_span)
        args = as_args(args)
        events = as_events(events)
        if tab.adaptive:
            rtol, atol = check_tolerances(rtol, atol)
        max_steps = check_max_steps(max_steps)
        self.traced = any(isinstance(v, Tracer) for v in tree_leaves((y0, t0, t_end, args)))
        self.args_c = tree_map(concrete, args)
        t0_c, t_end_c = float(concrete(t0)), float(concrete(t_end))
        check_times(t0_c, t_end_c, events)
        saves = check_saveat(saveat, t0_c, t_end_c)
        self.saves = None if saves is None else [float(v) for v in saves]
        dt = check_dt(dt, tab)
        self.fun, self.tab, self.args, self.events = fun, tab, args, events
        self.y0, self.t0, self.t_end, self.t0_c, self.t_end_c = y0, t0, t_end, t0_c, t_end_c
        self.dt, self.rtol, self.atol, self.max_steps = dt, rtol, atol, max_steps
        self.shape0 = dnp.shape(y0)
        self.nfev = 0
        self.ctrl = PIController(tab.error_order) if tab.adaptive else None
        self.ts, self.ys, self.log = [], [], []
        self.status, self.message, self.ev = DONE, "reached the end of t_span", None

    def f(self, t, y):
        self.nfev += 1
        out = dnp.asarray(self.fun(t, y, *self.args))
        if dnp.shape(out) != self.shape0:
            raise ValueError(f"fun(t, y, *args) returned shape {dnp.shape(out)} but y0 has shape "
                             f"{self.shape0}: the right-hand side must return dy/dt shaped like y0")
        return out

    def fail(self, code: int, t: float, **detail) -> None:
        """End the solve with the failure ``code`` at time ``t`` (``detail``: see
        :func:`diffopt.ode._types.message`)."""
        self.status = code
        self.message = status.message(code, t, max_steps=self.max_steps, t_end=self.t_end_c,
                                      terminal=any(e.terminal for e in self.events), **detail)

    def start(self) -> None:
        """The state at ``t_span[0]``: ``f`` there, the saves due there, the first step size
        (or a failure: ``y0``, ``f`` or an event condition not finite there)."""
        tab, t0, t0_c, y0 = self.tab, self.t0, self.t0_c, self.y0
        self.f_cur = self.f(t0, y0)
        self.t, self.t_c, self.y = t0, t0_c, y0
        y0_c = concrete(y0)
        self.g_prev = [event_value(e, t0_c, y0_c, self.args_c, (t0_c, y0_c))
                       for e in self.events]
        self.n_steps = self.n_rej = 0
        self.last_nonfinite = False
        self.save_i = 0
        if self.saves is None:
            self.ts.append(t0)
            self.ys.append(y0)
        else:
            while self.save_i < len(self.saves) and self.saves[self.save_i] <= t0_c:
                self.ts.append(self.saves[self.save_i])
                self.ys.append(y0)
                self.save_i += 1
        cause = status.start_cause(y0_c, concrete(self.f_cur))
        if cause:
            self.h_c = np.nan
            self.fail(NON_FINITE, t0_c, cause=cause)
            return
        if tab.adaptive and self.dt is None:
            span = self.t_end_c - t0_c

            def fun_c(tt, yy):
                self.nfev += 1
                return np.asarray(concrete(self.fun(tt, yy, *self.args_c)))

            self.h_c = initial_step(fun_c, t0_c, concrete(y0), concrete(self.f_cur), tab.order,
                                    self.rtol, self.atol, span if np.isfinite(span) else 1.0)
        else:
            self.h_c = float(self.dt)
        bad_events = [i for i, g in enumerate(self.g_prev) if not np.isfinite(g)]
        if bad_events:
            self.fail(EVENT_NON_FINITE, t0_c, cause=status.BAD_CONDITION, event=bad_events[0])

    def snapshot(self) -> dict:
        """The loop's state, and how many saves and event-log entries there are so far."""
        snap = {k: getattr(self, k) for k in self.STATE}
        snap.update(ctrl_prev=None if self.ctrl is None else self.ctrl.prev,
                    n_ts=len(self.ts), n_log=len(self.log))
        return snap

    def restore(self, snap: dict, **values) -> None:
        """Resume from ``snap``; ``values`` replace some of its entries (e.g. traced ``t, y``)."""
        for k in self.STATE:
            setattr(self, k, values.get(k, snap[k]))
        if self.ctrl is not None:
            self.ctrl.prev = snap["ctrl_prev"]

    def run(self, until: int | None = None) -> bool:
        """Take steps until the solve ends (True) or ``n_steps`` reaches ``until`` (False).
        Every attempt, accepted or rejected, counts toward ``max_steps``."""
        tab, events, t_end, t_end_c = self.tab, self.events, self.t_end, self.t_end_c
        saves, ts, ys = self.saves, self.ts, self.ys
        while self.status == DONE and self.t_c < t_end_c:
            if until is not None and self.n_steps >= until:
                return False
            t, t_c, y = self.t, self.t_c, self.y
            last, hc = plan(t_end_c - t_c, self.h_c, t_c)
            code, cause = stop_before_step(self.n_steps + self.n_rej, self.max_steps, hc, t_c,
                                           self.last_nonfinite)
            if code != DONE:
                self.fail(int(code), t_c, cause=int(cause), h=hc)
                break
            h = (t_end - t) if last else hc
            t_new = t_end if last else t + h
            t_new_c = t_end_c if last else t_c + hc
            stages, y_new, f_new = tab.step(self.f, t, y, self.f_cur, h, t_new)
            y_new_c = np.asarray(concrete(y_new))
            if tab.adaptive:
                err = tab.error_estimate(hc, [np.asarray(concrete(k)) for k in stages + [f_new]])
                en = error_norm(err, np.asarray(concrete(y)), y_new_c, self.rtol, self.atol)
                outcome, self.h_c = self.ctrl.judge(en, np.all(np.isfinite(y_new_c)), hc)
                self.last_nonfinite = outcome == NOT_FINITE
                if outcome != ACCEPTED:
                    self.n_rej += 1
                    continue
            elif not np.all(np.isfinite(y_new_c)):
                self.fail(NON_FINITE, t_new_c, cause=status.BAD_STATE)
                break
            interp = StepInterpolant(t, h, y, y_new, stages + [f_new], tab.dense)
            start_c = (t_c, np.asarray(concrete(y)))
            g_new = [event_value(e, t_new_c, y_new_c, self.args_c, start_c) for e in events]
            bad_events = [i for i, g in enumerate(g_new) if not np.isfinite(g)]
            if bad_events:
                self.fail(EVENT_NON_FINITE, t_new_c, cause=status.BAD_CONDITION,
                          event=bad_events[0])
                break
            try:
                ev = _events_in_step(events, interp, self.args, self.args_c, self.g_prev, g_new,
                                     self.traced, self.log)
            except _ConditionNotFinite as exc:
                self.fail(EVENT_NON_FINITE, t_c, cause=status.BAD_CONDITION_IN_STEP, h=hc,
                          event=exc.event)
                break
            self.n_steps += 1
            stop_c = ev[1] if ev is not None else t_new_c
            if saves is not None:
                while self.save_i < len(saves) and saves[self.save_i] <= stop_c:
                    s = saves[self.save_i]
                    ts.append(t_new if s == t_new_c else s)
                    ys.append(y_new if s == t_new_c else interp(s))
                    self.save_i += 1
            if ev is not None:
                self.ev = ev
                self.status = TERMINAL_EVENT
                self.message = status.message(TERMINAL_EVENT, ev[1], event=ev[0])
                self.t, self.y = ev[2], ev[3]
                if saves is None and ev[1] != t_c:  # (an event at the step start is saved already)
                    ts.append(self.t)
                    ys.append(self.y)
                break
            if saves is None:
                ts.append(t_new)
                ys.append(y_new)
            self.t, self.t_c, self.y, self.f_cur, self.g_prev = t_new, t_new_c, y_new, f_new, g_new
        return True

    def solution(self) -> Solution:
        """The :class:`Solution` (raises :class:`ODESolveError` on failure when ``traced``)."""
        if self.status < 0 and self.traced:
            raise ODESolveError(f"ODE solve failed ({self.message}); no derivative can be given")
        ev = self.ev
        return Solution(
            t=stack_times(self.ts), y=stack_states(self.ys, self.shape0), t_final=self.t,
            y_final=self.y, event_time=None if ev is None else ev[2],
            event_index=None if ev is None else ev[0],
            event_state=None if ev is None else ev[3], nfev=self.nfev, n_steps=self.n_steps,
            n_rejected=self.n_rej, status=self.status, message=self.message, event_log=self.log,
        )


class _ConditionNotFinite(ArithmeticError):
    """Event ``event``'s condition was not finite on the step's dense output."""

    def __init__(self, event: int):
        super().__init__(event)
        self.event = event


def _events_in_step(events, interp, args, args_c, g_prev, g_new, traced, log):
    """Log the events that fire in this step in time order; the first terminal one as
    ``(index, t_concrete, t_star, y_star)``, or ``None``. Raises :class:`_ConditionNotFinite`
    (before logging any) when a crossing cannot be located."""
    found = []
    for i, e in enumerate(events):
        if crosses(g_prev[i], g_new[i], e.direction):
            t_root = locate(e, interp, args, args_c, g_prev[i], g_new[i])
            if np.isnan(t_root):
                raise _ConditionNotFinite(i)
            found.append((t_root, i))
    for t_root, i in sorted(found):
        t_star, flat = event_time(events[i], interp, args, args_c, t_root)
        if flat and traced:
            raise tangential(i, f"at t={t_root:.6g}")
        y_star = interp(t_star)
        log.append((i, t_star, y_star))
        if events[i].terminal:
            return i, t_root, t_star, y_star
    return None


__all__ = ["Stepper", "solve_eager"]
