"""How an ODE solve ended: the status codes, what went wrong, and the message that says so.

Every executor (the NumPy single and batched loops, the compiled loops) reports a failure as a
status, a ``cause`` (what went non-finite) and the time and step size where it happened, and
:func:`message` words them, so that every path gives the same text. The compiled loops import the
integer constants (Numba reads them as compile-time constants).
"""

from __future__ import annotations

import numpy as np

# statuses (``Solution.status``, ``BatchSolution.status``): >= 0 success, < 0 failure
DONE, TERMINAL_EVENT = 0, 1
MAX_STEPS, STEP_UNDERFLOW, NON_FINITE, EVENT_NON_FINITE = -1, -2, -3, -4

# causes of NON_FINITE and EVENT_NON_FINITE (0: none)
BAD_Y0 = 1  # the initial state
BAD_SLOPE0 = 2  # fun(t0, y0)
BAD_STEP = 3  # the step size (the first one, or one grown past the float range)
SHRUNK = 4  # adaptive: steps with inf/nan were rejected until the step size underflowed
BAD_STATE = 5  # fixed step: the new state
BAD_CONDITION = 6  # an event condition at a step's end (or at t0)
BAD_CONDITION_IN_STEP = 7  # an event condition on a step's dense output, while locating a root


def message(status: int, t: float, *, cause: int = 0, h: float = 0.0, event: int = -1,
            max_steps: int = 0, t_end: float = np.inf, terminal: bool = False) -> str:
    """The message of a solve that ended with ``status`` at time ``t`` (``h``: the step size
    there; ``event``: the event concerned; ``terminal``: whether the solve has terminal events).

    >>> message(NON_FINITE, 0.0, cause=BAD_SLOPE0)
    "non-finite slope fun(t, y) at the initial state, t=0: y0 may lie outside fun's domain"
    """
    if status == DONE:
        return "reached the end of t_span"
    if status == TERMINAL_EVENT:
        return f"terminal event {event} fired at t={t:.6g}"
    if status == MAX_STEPS:
        return (f"max_steps={max_steps} reached at t={t:.6g} before "
                + ("any terminal event fired" if terminal else f"t_span[1]={t_end:.6g}"))
    if status == STEP_UNDERFLOW:
        return (f"step size underflow (h={h:.3g}) at t={t:.6g}: the problem may be stiff or "
                "singular there")
    if cause == BAD_Y0:
        return f"non-finite initial state y0 (inf or nan) at t={t:.6g}"
    if cause == BAD_SLOPE0:
        return (f"non-finite slope fun(t, y) at the initial state, t={t:.6g}: y0 may lie "
                "outside fun's domain")
    if cause == BAD_STEP:
        return f"non-finite step size (h={h:.3g}) at t={t:.6g}"
    if cause == SHRUNK:
        return (f"non-finite state: the step size underflowed (h={h:.3g}) at t={t:.6g} while "
                "shrinking the step to avoid inf/nan")
    if cause == BAD_STATE:
        return f"non-finite state at t={t:.6g}"
    if cause == BAD_CONDITION:
        return f"event {event}'s condition gave a non-finite value at t={t:.6g}"
    if cause == BAD_CONDITION_IN_STEP:
        return (f"event {event}'s condition gave a non-finite value on the step from t={t:.6g} "
                f"to t={t + h:.6g}, while locating its crossing")
    raise ValueError(f"no message for status {status} with cause {cause}")


def finite(x, batched: bool = False):
    """Whether every value of ``x`` is finite (``batched``: per row of the leading axis)."""
    x = np.asarray(x)
    if not batched:
        return bool(np.all(np.isfinite(x)))
    return np.all(np.isfinite(x.reshape(x.shape[0], -1)), axis=1)


def start_cause(y0, f0, batched: bool = False):
    """``BAD_Y0``, ``BAD_SLOPE0`` or 0 for a start state and its slope (``batched``: per row).
    A non-finite slope at the start spoils every step (it is each step's first stage)."""
    y_ok, f_ok = finite(y0, batched), finite(f0, batched)
    cause = np.where(y_ok, np.where(f_ok, 0, BAD_SLOPE0), BAD_Y0)
    return cause if batched else int(cause)


__all__ = ["DONE", "TERMINAL_EVENT", "MAX_STEPS", "STEP_UNDERFLOW", "NON_FINITE",
           "EVENT_NON_FINITE", "message", "finite", "start_cause"]
