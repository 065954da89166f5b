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

from ._scalar import crosses, find_root
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


def event_value(event: Event, t, y, args, step_start=None) -> float:
    """The condition as a plain float (no derivative), with a clear error if it is not a scalar."""
    g = np.asarray(concrete(call_condition(event, t, y, args, step_start)))
    if g.size != 1:
        raise ValueError(f"an event condition must return a scalar, got shape {g.shape}")
    return float(g.reshape(()).real)


def locate(event: Event, interp: StepInterpolant, args, args_c, g0: float, g1: float):
    """The event's time (a concrete float) in the step, located on the interpolant by
    :func:`diffopt.ode._scalar.find_root`; nan if the condition was not finite there."""
    ci = interp.concrete()
    start = (ci.t0, ci.y0)

    def phi(theta):
        t = ci.t0 + theta * ci.h
        return event_value(event, t, ci(t), args_c, start)

    theta = find_root(phi, g1, event.needs_step_start)
    return ci.t0 + theta * ci.h


def differentiable_time(event: Event, interp: StepInterpolant, args, args_c, t_root: float):
    """``t_root`` as a value carrying the implicit-function-theorem derivative.

    Returns ``(t_star, slope)`` where ``slope`` is the concrete ``dg/dt`` along the interpolant;
    raises ``ZeroDivisionError`` when the crossing is tangential (no derivative exists).
    """
    ci = interp.concrete()
    if event.needs_step_start and t_root == ci.t0:
        return interp.t0, np.inf  # a jump at the step start: the time moves only with t0
    start_c = (ci.t0, ci.y0)
    _, slope = jvp(lambda tt: call_condition(event, tt, ci(tt), args_c, start_c), (t_root,),
                   (1.0,))
    slope = float(np.asarray(concrete(slope)).real)
    g = call_condition(event, t_root, interp(t_root), args, (interp.t0, interp.y0))
    if dnp.shape(g) != ():
        g = dnp.reshape(g, ())
    if not np.isfinite(slope) or slope == 0.0:
        raise ZeroDivisionError("tangential event crossing: dg/dt = 0 at the event time")
    return t_root - (g - concrete(g)) / slope, slope


__all__ = ["Event", "call_condition", "crosses", "locate", "differentiable_time", "event_value"]
