"""``solve_batch``: many trajectories of one ODE integrated at once (fixed-step methods).

``y0`` carries a leading batch axis ``B``. All trajectories step in lockstep (same step count,
the same ``dt``) but each has its own clock ``t`` (``t_span[0]``/``t_span[1]`` may be ``(B,)``
arrays), its own terminal event time and its own final state. A trajectory that has reached its
end time or fired a terminal event is frozen (``diffopt.numpy.where`` keeps its state, so its
derivatives stay exact) while the others go on; the loop ends when every trajectory has stopped
or after ``max_steps`` steps.

Events are located per trajectory on each step's cubic Hermite interpolant by vectorised root
finding (Illinois false position) on plain values; each event time is then made differentiable by
the same one-Newton-step implicit-function-theorem correction as :func:`diffopt.ode.solve`,
elementwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete
from diffopt.core.pytree import tree_leaves, tree_map
from diffopt.transforms import jvp

from .events import STEP_START_THETA, Event, call_condition
from .interpolation import hermite
from .tableaus import Tableau, combine

# per-trajectory status codes (as in ``Solution.status``), plus a failed event condition
DONE, TERMINAL_EVENT = 0, 1
MAX_STEPS, NON_FINITE, EVENT_NON_FINITE = -1, -3, -4
ILLINOIS_STEPS, ROOT_STEPS = 40, 100
EPS = np.finfo(float).eps


@dataclass
class BatchSolution:
    """Result of :func:`solve_batch` (every field has the batch axis first).

    ``t_final``/``y_final``: ``(B,)`` times and ``(B, ...)`` states where each trajectory
    stopped; ``event_time`` ``(B,)`` (its ``t_final``; NaN-free, equal to ``t_final`` where no
    event fired), ``event_index`` ``(B,)`` ints (-1: none fired); ``status`` ``(B,)`` ints (0 end
    of ``t_span``, 1 terminal event, -1 ``max_steps``, -3 non-finite state, -4 non-finite event
    condition); ``n_steps`` ``(B,)`` steps each took; ``t``/``y``: the lockstep history
    ``(n + 1, B)`` / ``(n + 1, B, ...)`` when ``save_steps=True`` (frozen rows repeat), else
    ``None``.

    >>> sol.y_final.shape == y0.shape
    """

    t_final: object
    y_final: object
    event_time: object
    event_index: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray
    nfev: int = 0
    t: object = None
    y: object = None

    @property
    def success(self) -> np.ndarray:
        """``(B,)`` bools: the trajectories that ended normally."""
        return self.status >= 0

    def failures(self) -> list[int]:
        """Indices of the trajectories that failed."""
        return [int(i) for i in np.flatnonzero(self.status < 0)]


def solve_batch(fun: Callable, y0, t_span: Sequence, args: tuple = (), tab: Tableau = None, *,
                dt: float, events: Sequence[Event] = (), max_steps: int = 100_000,
                save_steps: bool = False, raise_on_failure: bool = True) -> BatchSolution:
    """Integrate ``B`` trajectories of ``dy/dt = fun(t, y, *args)`` in lockstep.

    ``fun`` is called on the whole batch, ``t`` of shape ``(B,)`` and ``y`` of shape ``(B, ...)``,
    and must return ``(B, ...)``; per-trajectory parameters in ``args`` are arrays with a
    leading ``B`` axis (shared ones broadcast as the function sees fit). Event conditions are
    called the same way and return ``(B,)`` values; with ``needs_step_start`` they receive
    ``step_start=(t0, y0)`` per trajectory, and must give finite values (and finite derivatives)
    at ``t == t0``. Only terminal events are supported. Differentiable in ``y0``, ``args`` and
    ``t_span`` like :func:`diffopt.ode.solve`. ``raise_on_failure``: when derivatives are being
    taken, a failed trajectory raises :class:`ODESolveError` naming it (``False``: return, and let
    the caller read ``status``). Usually called as ``solve(..., batched=True)``.

    >>> solve(lambda t, y: -y, np.ones((4, 1)), (0.0, 1.0), method="rk4", dt=0.1, batched=True)
    """
    from .solve import ODESolveError

    if tab.adaptive:
        raise NotImplementedError(f"batched solves support the fixed-step methods (euler, rk4), "
                                  f"not {tab.name!r}")
    if dt is None or not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"batched solves need a positive finite fixed step dt=, got {dt!r}")
    for e in events:
        if not e.terminal:
            raise NotImplementedError("batched solves support terminal events only")
    y0 = y0 if isinstance(y0, Tracer) else np.asarray(y0, dtype=float)
    shape0 = tuple(dnp.shape(y0))
    if len(shape0) < 1 or shape0[0] == 0:
        raise ValueError(f"a batched y0 needs a leading batch axis, got shape {shape0}")
    n_b = shape0[0]
    t0, t_end = (_batch_time(v, n_b, name) for v, name in zip(t_span, ("t_span[0]",
                                                                       "t_span[1]")))
    traced = any(isinstance(v, Tracer) for v in tree_leaves((y0, t0, t_end, args)))
    args_c = tree_map(concrete, args)
    t_c, t_end_c = np.array(concrete(t0), dtype=float), np.array(concrete(t_end), dtype=float)
    if np.any(t_end_c < t_c):
        raise NotImplementedError("backward integration (t_span[1] < t_span[0]) is not supported")
    if np.any(~np.isfinite(t_end_c)) and not events:
        raise ValueError("t_span[1] may be infinite only with a terminal event to stop the solve")
    nfev = [0]

    def f(t, y):
        nfev[0] += 1
        out = dnp.asarray(fun(t, y, *args))
        if tuple(dnp.shape(out)) != shape0:
            raise ValueError(f"fun(t, y, *args) returned shape {dnp.shape(out)} but the batched "
                             f"y0 has shape {shape0}: it must return dy/dt for the whole batch")
        return out

    def col(mask):  # a (B,) mask or vector shaped to broadcast against states
        return dnp.reshape(mask, (n_b,) + (1,) * (len(shape0) - 1))

    t, y = t0, y0
    f_cur = f(t, y)
    y_c = np.asarray(concrete(y))
    g_prev = [_values(e, t_c, y_c, args_c, (t_c, y_c), n_b) for e in events]
    status = np.full(n_b, DONE)
    event_index = np.full(n_b, -1)
    n_steps = np.zeros(n_b, dtype=int)
    active = t_c < t_end_c
    hist_t, hist_y = ([t], [y]) if save_steps else (None, None)
    step = 0
    while active.any():
        if step >= max_steps:
            status[active] = MAX_STEPS
            break
        step += 1
        last = t_end_c - t_c <= dt * (1 + 1e-9)
        h_c = np.where(last, t_end_c - t_c, dt)
        h = dnp.where(last, t_end - t, dt) if np.any(last & active) else np.full(n_b, dt)
        t_new_c = np.where(last, t_end_c, t_c + h_c)
        t_new = dnp.where(last, t_end, t + h) if np.any(last & active) else t + h
        stages = [f_cur]
        for i in range(1, tab.n_stages):
            acc = combine(tab.a[i], stages)
            stages.append(f(t + tab.c[i] * h, y if acc is None else y + col(h) * acc))
        y_new = y + col(h) * combine(tab.b, stages)
        f_new = f(t_new, y_new)
        y_new_c = np.asarray(concrete(y_new))
        bad = active & ~np.all(np.isfinite(y_new_c.reshape(n_b, -1)), axis=1)
        status[bad] = NON_FINITE
        active &= ~bad
        n_steps[active] += 1
        ci = (t_c, h_c, y_c, y_new_c, np.asarray(concrete(f_cur)), np.asarray(concrete(f_new)))
        start_c = (t_c, y_c)
        g_new = [_values(e, t_new_c, y_new_c, args_c, start_c, n_b) for e in events]
        fired = np.zeros(n_b, dtype=bool)
        theta = np.ones(n_b)
        for i, e in enumerate(events):
            nan = active & ~np.isfinite(g_new[i])
            status[nan] = EVENT_NON_FINITE
            active &= ~nan
            rows = active & _crosses(g_prev[i], g_new[i], e.direction)
            if not rows.any():
                continue
            th = _locate(e, ci, args_c, g_new[i], rows, col)
            earlier = rows & (~fired | (th < theta))
            theta[earlier] = th[earlier]
            event_index[earlier] = i
            fired |= rows
        keep = col(active & ~fired)
        if fired.any():
            t_star = _event_times(events, event_index, fired, theta, ci, (t, h, y, y_new, f_cur,
                                  f_new), args, args_c, col, traced)
            y_star = _hermite_at(t_star, t, h, y, y_new, f_cur, f_new, col)
            fin = col(fired)
            t_next = dnp.where(fired, t_star, dnp.where(active, t_new, t))
            y_next = dnp.where(fin, y_star, dnp.where(keep, y_new, y))
            f_next = dnp.where(keep, f_new, f_cur)  # (frozen rows never use f again)
            status[fired] = TERMINAL_EVENT
        else:
            t_next = dnp.where(active, t_new, t)
            y_next = dnp.where(keep, y_new, y)
            f_next = dnp.where(keep, f_new, f_cur)
        reached = active & ~fired & last
        active &= ~fired & ~last
        t_c = np.where(fired, t_c + theta * h_c, np.where(active | reached, t_new_c, t_c))
        t, y, f_cur = t_next, y_next, f_next
        y_c = np.asarray(concrete(y))
        g_prev = [np.where(active, g, gp) for g, gp in zip(g_new, g_prev)]
        if save_steps:
            hist_t.append(t)
            hist_y.append(y)

    failed = np.flatnonzero(status < 0)
    if failed.size and traced and raise_on_failure:
        raise ODESolveError(f"batched ODE solve failed for trajectories {failed.tolist()} "
                            f"(status {status[failed].tolist()}); no derivative can be given")
    return BatchSolution(
        t_final=t, y_final=y, event_time=t, event_index=event_index, status=status,
        n_steps=n_steps, nfev=nfev[0],
        t=None if hist_t is None else dnp.stack(hist_t),
        y=None if hist_y is None else dnp.stack(hist_y))


def _batch_time(v, n_b, name):
    """A start/end time as a ``(B,)`` array (scalars broadcast), traced or not."""
    shape = tuple(np.shape(concrete(v)))
    if shape not in ((), (n_b,)):
        raise ValueError(f"{name} must be a scalar or have the batch shape ({n_b},), got {shape}")
    if isinstance(v, Tracer):
        return dnp.broadcast_to(v, (n_b,))
    return np.broadcast_to(np.asarray(v, dtype=float), (n_b,)).copy()


def _values(event, t, y, args_c, step_start, n_b) -> np.ndarray:
    g = np.asarray(concrete(call_condition(event, t, y, args_c, step_start)), dtype=float)
    if g.shape != (n_b,):
        raise ValueError(f"a batched event condition must return shape ({n_b},), got {g.shape}")
    return g


def _crosses(g0, g1, direction):
    down = (g0 > 0) & (g1 <= 0)
    up = (g0 < 0) & (g1 >= 0)
    return down if direction < 0 else up if direction > 0 else (down | up)


def _hermite_at(t, t0, h, y0, y1, f0, f1, col):
    """The cubic Hermite interpolant of each row's step at its own time ``t``."""
    return hermite(col((t - t0) / h), col(h), y0, y1, f0, f1)


def _locate(event, ci, args_c, g1, rows, col) -> np.ndarray:
    """Per-row ``theta`` in [0, 1] of the condition's sign change on the step's interpolant, on
    plain values, vectorised: Illinois false position (superlinear for smooth conditions, and
    fast for a jump at the step start), switching to bisection after ``ILLINOIS_STEPS``."""
    t0, h, y0, y1, f0, f1 = ci

    def phi(theta):
        return _values(event, t0 + theta * h, hermite(col(theta), col(h), y0, y1, f0, f1),
                       args_c, (t0, y0), len(t0))

    lo, hi = np.zeros(len(t0)), np.ones(len(t0))
    f_lo, f_hi = phi(lo), phi(hi)
    found = rows & (g1 != 0.0) & (f_lo * f_hi < 0)  # else: the step end (as in ``locate``)
    search = found.copy()
    x = np.where(found, 0.5, 1.0)
    side = np.zeros(len(t0))
    for it in range(ROOT_STEPS):
        if not search.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            xf = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        mid = 0.5 * (lo + hi)
        ok = np.isfinite(xf) & (xf > lo) & (xf < hi) & (it < ILLINOIS_STEPS)
        x_new = np.where(search, np.where(ok, xf, mid), x)
        f_x = phi(x_new)
        to_hi = search & (np.sign(f_x) == np.sign(f_hi))  # root in [lo, x]
        to_lo = search & ~to_hi
        f_lo = np.where(to_hi & (side == -1), 0.5 * f_lo, f_lo)
        f_hi = np.where(to_lo & (side == 1), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(to_hi, x_new, hi), np.where(to_hi, f_x, f_hi)
        lo, f_lo = np.where(to_lo, x_new, lo), np.where(to_lo, f_x, f_lo)
        side = np.where(to_hi, -1, np.where(to_lo, 1, side))
        done = (f_x == 0) | (np.abs(x_new - x) <= 4 * EPS) | (hi - lo <= 4 * EPS)
        x = x_new
        search &= ~done
    theta = np.where(found, x, 1.0)
    if event.needs_step_start:
        theta = np.where(theta < STEP_START_THETA, 0.0, theta)
    return theta


def _event_times(events, event_index, fired, theta, ci, step, args, args_c, col, traced):
    """``(B,)`` event times carrying the implicit-function-theorem derivative (rows that fired;
    the others hold their step start, masked out by the caller)."""
    from .solve import ODESolveError

    t0_c, h_c, y0_c, y1_c, f0_c, f1_c = ci
    t, h, y, y_new, f_cur, f_new = step
    t_root = t0_c + theta * h_c
    t_star = t
    for i, e in enumerate(events):
        rows = fired & (event_index == i)
        if not rows.any():
            continue
        jump = rows & (theta == 0.0) if e.needs_step_start else np.zeros_like(rows)
        smooth = rows & ~jump
        if smooth.any():
            tr = np.where(smooth, t_root, t0_c)  # other rows: their (finite) step start

            def cond_c(tt, e=e):
                return call_condition(e, tt, hermite(col((tt - t0_c) / h_c), col(h_c), y0_c,
                                                     y1_c, f0_c, f1_c), args_c, (t0_c, y0_c))

            _, slope = jvp(cond_c, (tr,), (np.ones_like(tr),))
            slope = np.asarray(concrete(slope), dtype=float)
            bad = smooth & ~(np.isfinite(slope) & (slope != 0.0))
            if bad.any():
                if traced:
                    raise ODESolveError(f"event {i} in trajectories {np.flatnonzero(bad).tolist()}"
                                        ": tangential crossing (dg/dt = 0), its time has no "
                                        "derivative")
                smooth &= ~bad
            g = call_condition(e, tr, _hermite_at(tr, t, h, y, y_new, f_cur, f_new, col), args,
                               (t, y))
            g_c = np.asarray(concrete(g), dtype=float)
            t_i = tr - (g - g_c) / np.where(smooth, slope, 1.0)
            t_star = dnp.where(smooth, t_i, t_star)
            t_star = dnp.where(bad, t_root, t_star)
    return t_star


__all__ = ["solve_batch", "BatchSolution"]
