"""Events: sign changes of ``condition(t, y, *args)`` located on a step's dense output.

Detection and root finding run on concrete values (plain floats). The located time is then made
differentiable by the implicit function theorem: one Newton step on traced values at the converged
root, ``t* = t_r - (g(t_r, y(t_r)) - g_r) / (dg/dt)``, whose value is ``t_r`` exactly and
whose first derivative is the IFT one, ``dt*/dp = -(∂g/∂p + ∂g/∂y · ∂y/∂p) / (dg/dt)``.
(``dg/dt`` is a concrete number, so second derivatives of event times are not exact.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import concrete
from diffopt.transforms import jvp

from ._scalar import crosses, root_start, root_step
from .interpolation import StepInterpolant


@dataclass(frozen=True)
class Event:
    """A zero crossing of ``condition(t, y, *args)`` (a real scalar) to detect during a solve.

    ``direction``: -1 fires only when the condition goes from positive to non-positive, +1 from
    negative to non-negative, 0 either way. ``terminal``: stop the solve at the event time.
    ``needs_step_start``: the condition also depends on the current step's start and is called as
    ``condition(t, y, *args, step_start=(t0, y0))`` (e.g. a finite-difference estimate over the
    partial step ``t - t0``). Its value at the previous step's end (seen with that step's start)
    and at this step's end decide whether it fires; if the condition is already past zero just after
    ``t0`` (a jump at the step start), the event time is ``t0`` itself, whose derivative is only
    that of ``t0``.

    >>> hit_ground = Event(lambda t, y, g: y[0], direction=-1)
    """

    condition: Callable
    direction: int = 0
    terminal: bool = True
    needs_step_start: bool = False

    def __post_init__(self):
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"Event direction must be -1, 0 or +1, got {self.direction!r}")
        if not callable(self.condition):
            raise TypeError("Event condition must be a callable condition(t, y, *args) -> scalar")


def call_condition(event: Event, t, y, args, step_start=None):
    """``event.condition(t, y, *args)``, with ``step_start=(t0, y0)`` for events that need it."""
    if event.needs_step_start:
        return event.condition(t, y, *args, step_start=step_start)
    return event.condition(t, y, *args)


def event_value(event: Event, t, y, args, step_start=None, n_b: int | None = None):
    """The condition as a plain float (no derivative), with a clear error if it is not a scalar;
    for a batch of ``n_b`` trajectories a ``(n_b,)`` array."""
    g = np.asarray(concrete(call_condition(event, t, y, args, step_start)))
    if n_b is not None:
        if g.shape != (n_b,):
            raise ValueError(f"a batched event condition must return shape ({n_b},), got "
                             f"{g.shape}")
        return g.real.astype(float)
    if g.size != 1:
        raise ValueError(f"an event condition must return a scalar, got shape {g.shape}")
    return float(g.reshape(()).real)


def locate(event: Event, ci: StepInterpolant, args_c, g1, rows=None):
    """``theta`` in [0, 1] of the condition's sign change on a step's concrete dense output
    ``ci`` (``g1``: the condition at the step's end), by the root finder every path runs,
    :func:`diffopt.ode._scalar.root_start` and :func:`~diffopt.ode._scalar.root_step`; nan if
    the condition was not finite on the way. For a batch, ``rows`` masks the rows to search
    (the others get inf): they step through the root finder together, the condition evaluated
    on the whole batch at each iteration."""
    n_b = None if rows is None else len(rows)
    if n_b is None and g1 == 0.0:
        return 1.0
    if n_b is not None and not rows.any():
        return np.full(n_b, np.inf)

    def phi(x):
        return event_value(event, ci.t0 + x * ci.h, ci.at_theta(x), args_c, (ci.t0, ci.y0), n_b)

    ends = (0.0, 1.0) if n_b is None else (np.zeros(n_b), np.ones(n_b))
    with np.errstate(all="ignore"):  # (a batch's rows that are not searching hold any values)
        state, x = root_start(g1, phi(ends[0]), phi(ends[1]))
        if n_b is None:
            while state[-1] == -1.0:  # (bounded: root_step ends within ROOT_STEPS)
                state, x = root_step(state, x, phi(x), event.needs_step_start)
            return state[-1]
        state = tuple(np.broadcast_to(v, (n_b,)) for v in state)
        searching = rows & (state[-1] == -1.0)
        while searching.any():
            new, x_next = root_step(state, x, phi(x), event.needs_step_start)
            state = tuple(np.where(searching, n, o) for n, o in zip(new, state))
            x = np.where(searching, x_next, x)
            searching &= state[-1] == -1.0
    return np.where(rows, state[-1], np.inf)


def on_step(event: Event, interp: StepInterpolant, args, t, rows=None):
    """The condition at time ``t`` on the step's dense output (``rows``: see
    :meth:`StepInterpolant.at`)."""
    return call_condition(event, t, interp.at(t, rows), args, (interp.t0, interp.y0))


def slope(event: Event, interp: StepInterpolant, args, t, rows=None):
    """``dg/dt`` of the condition along the step's dense output at ``t`` (scalar or ``(B,)``)."""
    return jvp(lambda tt: on_step(event, interp, args, tt, rows), (t,), (dnp.ones_like(t),))[1]


def newton_time(t_root, g, g_root, dg_dt):
    """``t_root - (g - g_root) / dg_dt``: the value ``t_root`` (``g`` is the condition, traced,
    at ``t_root``, where its value is ``g_root``) with the implicit-function-theorem derivative."""
    return t_root - (g - g_root) / dg_dt


def event_time(event: Event, interp: StepInterpolant, args, args_c, t_root, rows=None):
    """The event time ``t_root`` (plain: a float, or ``(B,)`` for a batch with the mask ``rows``
    of the rows where the event fired) as a value carrying the implicit-function-theorem
    derivative, by :func:`newton_time` with the slope along the step's dense output.

    Returns ``(t_star, tangential)``: ``tangential`` marks where ``dg/dt`` is 0 or not finite
    (no derivative exists; ``t_star`` is ``t_root`` there). A batch's other rows, and a
    ``needs_step_start`` event that jumps at the step start, take the step start's time.
    """
    ci = interp.concrete()
    one = rows is None
    rows = np.asarray(True if one else rows)
    smooth = rows & (t_root != ci.t0) if event.needs_step_start else rows
    if not smooth.any():
        return interp.t0, np.zeros_like(rows)
    tr = t_root if smooth.all() else np.where(smooth, t_root, ci.t0)
    dg = np.asarray(concrete(slope(event, ci, args_c, tr, smooth))).real
    tangential = smooth & ~(np.isfinite(dg) & (dg != 0.0))
    if one:
        if tangential:
            return t_root, tangential
        dg = float(dg)
    else:
        smooth = smooth & ~tangential
        dg = np.where(smooth, dg, 1.0)
    g = on_step(event, interp, args, tr, smooth)
    if dnp.shape(g) != np.shape(tr):
        g = dnp.reshape(g, np.shape(tr))
    t_star = newton_time(tr, g, concrete(g), dg)
    if smooth.all():
        return t_star, tangential
    t_star = dnp.where(smooth, t_star, interp.t0)
    return (dnp.where(tangential, t_root, t_star) if tangential.any() else t_star), tangential


__all__ = ["Event", "call_condition", "crosses", "locate", "on_step", "slope", "newton_time",
           "event_time", "event_value"]
