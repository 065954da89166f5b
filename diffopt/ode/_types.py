"""The ODE package's types: the results of a solve (:class:`Solution`, :class:`BatchSolution`), how
it ended (status codes, causes, messages), its errors, and the checks of its inputs, written once
for every executor.

Every executor (the NumPy single and batched loops, the compiled loops) reports a failure as a
status, a ``cause`` (what went non-finite) and the time and step size where it happened, and
:func:`message` words them, so that every path gives the same text. The compiled loops import the
integer constants from :mod:`diffopt.ode._scalar` (Numba reads them as compile-time constants);
they are named here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete
from diffopt.core.pytree import tree_leaves

from ._scalar import (  # noqa: F401  (the codes' home is the compiled loops' source)
    BAD_CONDITION,
    BAD_CONDITION_IN_STEP,
    BAD_SLOPE0,
    BAD_STATE,
    BAD_STEP,
    BAD_Y0,
    DONE,
    EVENT_NON_FINITE,
    MAX_STEPS,
    NON_FINITE,
    SHRUNK,
    STEP_UNDERFLOW,
    TERMINAL_EVENT,
)
from .events import Event
from .tableaus import TABLEAUS, Tableau


class ODESolveError(RuntimeError):
    """A solve failed while a derivative was requested (its derivative would be wrong)."""


def tangential(event: int, where: str) -> ODESolveError:
    """The error of a derivative through event ``event``'s time ``where`` (e.g. ``"at t=1"``)
    when its crossing is tangential."""
    return ODESolveError(f"event {event} {where}: tangential crossing (dg/dt = 0), its time has "
                         "no derivative")


class NotCompilable(Exception):
    """Why a problem cannot take the compiled path (``warn``: say so to the user)."""

    def __init__(self, reason: str, warn: bool = True):
        super().__init__(reason)
        self.warn = warn


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
    if not batched:
        return bool(np.isfinite(x).all())
    x = np.asarray(x)
    return np.all(np.isfinite(x.reshape(x.shape[0], -1)), axis=1)


def start_cause(y0, f0, batched: bool = False):
    """``BAD_Y0``, ``BAD_SLOPE0`` or 0 for a start state and its slope (``batched``: per row).
    A non-finite slope at the start spoils every step (it is each step's first stage)."""
    y_ok, f_ok = finite(y0, batched), finite(f0, batched)
    cause = np.where(y_ok, np.where(f_ok, 0, BAD_SLOPE0), BAD_Y0)
    return cause if batched else int(cause)


@dataclass
class Solution:
    """Result of :func:`diffopt.ode.solve`.

    ``t``/``y``: saved times and states (``y.shape == (len(t),) + y0.shape``);
    ``t_final``/``y_final``: where the solve stopped (``t_span[1]`` or a terminal event's time);
    ``event_time``/``event_index``/``event_state``: the terminal event that stopped the
    solve (``None`` if none fired);
    ``event_log``: ``(index, time, state)`` of every event that fired, terminal or not;
    ``status``: 0 reached ``t_span[1]``, 1 terminal event, -1 ``max_steps`` exhausted, -2 step size
    underflow, -3 non-finite state, slope or step size, -4 non-finite event condition;
    ``message`` says what happened and at what time. ``n_steps``/``n_rejected``: accepted and
    rejected steps.

    >>> from diffopt.ode import solve
    >>> round(float(solve(lambda t, y: -y, 1.0, (0.0, 1.0)).y_final), 6)  # exp(-1)
    0.367879
    """

    t: object
    y: object
    t_final: object
    y_final: object
    event_time: object = None
    event_index: int | None = None
    event_state: object = None
    nfev: int = 0
    n_steps: int = 0
    n_rejected: int = 0
    status: int = 0
    message: str = ""
    event_log: list = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.status >= 0


@dataclass
class BatchSolution:
    """Result of a batched solve (every per-trajectory field has the batch axis first).

    ``t_final``/``y_final``: ``(B,)`` times and ``(B, ...)`` states where each trajectory
    stopped; ``event_time`` ``(B,)`` (its ``t_final``: the terminal event's time where one fired),
    ``event_index`` ``(B,)`` ints: the terminal event that stopped the trajectory (-1: none);
    ``status`` ``(B,)`` ints (0 end of ``t_span``, 1 terminal event, -1 ``max_steps``, -2 step size
    underflow, -3 non-finite state, slope or step size, -4 non-finite event condition) and
    ``message``, one string per trajectory, as :attr:`Solution.message`; ``n_steps``/
    ``n_rejected`` ``(B,)`` accepted/rejected steps of each trajectory (``max_steps`` bounds
    their sum).

    ``t``/``y``: with ``saveat``, the common save times ``(n,)`` (plain values) and the states
    ``(n, B, ...)`` read off each trajectory's dense output; a trajectory that stopped before a
    save time (terminal event, failure) holds its final state there. Without ``saveat``, from
    the NumPy loop (which steps every trajectory at once): the loop history, times ``(n + 1, B)``
    and states ``(n + 1, B, ...)``, one entry per loop iteration (rows that were rejected or had
    stopped repeat). The compiled loop steps each trajectory on its own, so it has no common
    history: ``None`` there (and ``saveat`` runs the NumPy loop).

    ``event_log``: one list per trajectory, ``event_log[b]`` the events that fired in trajectory
    ``b`` (non-terminal ones, then the terminal one if any) in time order, each an
    ``(event index, time, state)`` tuple like :attr:`Solution.event_log`; times and states carry
    derivatives.

    >>> import numpy as np
    >>> from diffopt.ode import solve
    >>> solve(lambda t, y: -y, np.ones((4, 2)), (0.0, 1.0), batched=True).y_final.shape
    (4, 2)
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
    n_rejected: np.ndarray | None = None
    event_log: list = field(default_factory=list)
    message: list = field(default_factory=list)

    @property
    def success(self) -> np.ndarray:
        """``(B,)`` bools: the trajectories that ended normally."""
        return self.status >= 0

    def failures(self) -> list[int]:
        """Indices of the trajectories that failed."""
        return [int(i) for i in np.flatnonzero(self.status < 0)]


class Failures:
    """Each trajectory's status and, for a failure, what went wrong where: ``cause``, ``t``,
    ``h``, ``event`` (see :func:`message`); the compiled loops write these arrays, the NumPy
    loop calls ``fail``.

    ``fail(rows, code, t, cause=, h=, event=)`` ends the ``rows`` (a mask, or a bool for one
    trajectory; each of ``code``, ``cause``, ``t``, ``h`` a scalar or ``(B,)``) with the
    failure ``code``; a row keeps its first failure (and a stopped row its status)."""

    def __init__(self, n_b: int):
        self.status = np.full(n_b, DONE, dtype=np.int64)  # (int64s: the compiled loops write)
        self.cause = np.zeros(n_b, dtype=np.int64)
        self.event = np.full(n_b, -1, dtype=np.int64)
        self.t, self.h = np.zeros(n_b), np.zeros(n_b)

    def fail(self, rows, code, t, *, cause=0, h=0.0, event: int = -1) -> None:
        if not (rows.any() if isinstance(rows, np.ndarray) else rows):
            return
        n_b = len(self.status)
        rows = np.broadcast_to(rows, (n_b,)) & (self.status == DONE)
        for mine, value in ((self.status, code), (self.cause, cause), (self.t, t), (self.h, h),
                            (self.event, event)):
            mine[rows] = np.broadcast_to(value, (n_b,))[rows]

    def messages(self, t_c, event_index, max_steps: int, t_end_c, terminal: bool) -> list:
        """One message per trajectory (``t_c``: where each stopped; ``terminal``: whether the
        solve has terminal events)."""
        t_end_c = np.broadcast_to(t_end_c, self.status.shape)
        out = []
        for b, code in enumerate(self.status.tolist()):
            if code == DONE:
                out.append(message(DONE, 0.0))
            elif code == TERMINAL_EVENT:
                out.append(message(code, float(t_c[b]), event=int(event_index[b])))
            else:
                out.append(message(code, float(self.t[b]), cause=int(self.cause[b]),
                                   h=float(self.h[b]), event=int(self.event[b]),
                                   max_steps=max_steps, t_end=float(t_end_c[b]),
                                   terminal=terminal))
        return out

    def error(self, messages: list):
        """The :class:`ODESolveError` of a failed solve under a derivative, naming the failed
        trajectories and the first one's message."""
        failed = np.flatnonzero(self.status < 0)
        err = ODESolveError(f"batched ODE solve failed for trajectories {failed.tolist()} "
                            f"(status {self.status[failed].tolist()}; trajectory {failed[0]}: "
                            f"{messages[failed[0]]}); no derivative can be given")
        err.status = self.status
        return err


def stack_times(ts):
    """Saved times as one array (a traced one if any is traced)."""
    if not ts:
        return np.zeros((0,))
    if not any(isinstance(v, Tracer) for v in ts):
        return np.array([float(v) for v in ts])
    return dnp.stack([dnp.asarray(v, dtype=float) if not isinstance(v, Tracer) else v
                      for v in ts])


def stack_states(ys, shape0):
    """Saved states as one ``(n,) + shape0`` array."""
    if not ys:
        return np.zeros((0,) + tuple(shape0))
    return dnp.stack(ys)


# --- input checks ---------------------------------------------------------------------------
ADJOINTS = ("auto", "direct", "checkpoint", "backsolve", "forward")
BACKENDS = ("auto", "numpy", "numba", "cuda")


def choice(value, options: tuple, what: str):
    """``value`` if it is one of ``options``, else ValueError naming them.

    >>> choice("numba", BACKENDS, "backend")
    'numba'
    """
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}; choose one of {options}")
    return value


def tableau(method) -> Tableau:
    """The :class:`Tableau` of a method name (or the tableau itself)."""
    if isinstance(method, Tableau):
        return method
    try:
        return TABLEAUS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(TABLEAUS)}") from None


def as_state(y0):
    """``y0`` as a float or complex array (traced values kept)."""
    if isinstance(y0, Tracer):
        return y0
    if isinstance(y0, (dict, list, tuple)) and any(
            isinstance(v, Tracer) for v in tree_leaves(y0)):
        return dnp.asarray(y0)
    arr = np.asarray(y0)
    if arr.dtype.kind in "biu":
        arr = arr.astype(float)
    if arr.dtype.kind not in "fc":
        raise TypeError(f"y0 must be a numeric array, got dtype {arr.dtype} (shape {arr.shape})")
    if arr.size == 0:
        raise ValueError(f"y0 is empty (shape {arr.shape}): there is nothing to integrate")
    return arr


def as_span(t_span, n_b: int | None = None):
    """``(t0, t_end)``: scalars, or with ``n_b`` (a batch) scalars or ``(n_b,)`` arrays."""
    try:
        t0, t_end = t_span
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be a pair (t0, t_end), got {t_span!r}") from None
    for name, v in (("t_span[0]", t0), ("t_span[1]", t_end)):
        shape = tuple(np.shape(concrete(v)))
        if n_b is None and shape != ():
            raise ValueError(f"{name} must be a scalar, got shape {shape}")
        if n_b is not None and shape not in ((), (n_b,)):
            raise ValueError(f"{name} must be a scalar or have the batch shape ({n_b},), "
                             f"got {shape}")
    return t0, t_end


def as_args(args) -> tuple:
    """``args`` as a tuple (a tuple or list is required)."""
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args must be a tuple of extra arguments for fun, got "
                        f"{type(args).__name__}"
                        "; wrap a single argument as args=(value,)")
    return tuple(args)


def as_events(events) -> tuple:
    """``events`` (one :class:`Event` or several) as a tuple of events."""
    if isinstance(events, Event):
        events = (events,)
    events = tuple(events)
    for e in events:
        if not isinstance(e, Event):
            raise TypeError(f"events must be Event objects, got {type(e).__name__}")
    return events


def check_dt(dt, tab: Tableau, n_b: int | None = None):
    """``dt`` checked: required by fixed-step methods, positive and finite (with ``n_b``, a
    batch: a scalar or one per trajectory, given back as ``(n_b,)``)."""
    if not tab.adaptive and dt is None:
        raise ValueError(f"method {tab.name!r} is fixed-step: pass dt=")
    if dt is None:
        return None
    arr = np.asarray(dt, dtype=float)
    shapes = ((),) if n_b is None else ((), (n_b,))
    if arr.shape not in shapes or not np.all(np.isfinite(arr) & (arr > 0)):
        per_row = "" if n_b is None else f" (a scalar or one per trajectory, shape ({n_b},))"
        raise ValueError(f"dt must be a positive finite number{per_row}, got {dt!r}")
    return dt if n_b is None else np.broadcast_to(arr, (n_b,)).copy()


def check_times(t0_c, t_end_c, events: tuple) -> None:
    """The plain start and end times (scalars or per trajectory): finite starts, ends not nan
    and not before their start, infinite ends only with a terminal event."""
    if not np.all(np.isfinite(t0_c)) or np.any(np.isnan(t_end_c)):
        raise ValueError(f"t_span must be finite (t_span[1] may be inf), got ({t0_c}, {t_end_c})")
    if np.any(t_end_c < t0_c):
        raise NotImplementedError("backward integration (t_span[1] < t_span[0]) is not "
                                  "supported")
    if not np.all(np.isfinite(t_end_c)) and not any(e.terminal for e in events):
        raise ValueError("t_span[1] may be infinite only with a terminal event to stop the "
                         "solve")


def check_saveat(saveat, t0_c, t_end_c):
    """The save times as a sorted float array within the span (of every trajectory, for
    per-trajectory times), or None."""
    if saveat is None:
        return None
    s = np.asarray(concrete(saveat), dtype=float)
    every = "every trajectory's " if np.ndim(t0_c) else ""
    if s.ndim != 1:
        raise ValueError(f"saveat must be a 1-D array of times, got shape {s.shape}")
    if np.any(np.diff(s) < 0):
        raise ValueError("saveat must be sorted in increasing order")
    lo, hi = np.max(t0_c), np.min(t_end_c)
    if s.size and (s[0] < lo or s[-1] > hi):
        raise ValueError(f"saveat times must lie within {every}t_span [{lo}, {hi}], "
                         f"got [{s[0]}, {s[-1]}]")
    return s


def check_tolerances(rtol, atol) -> tuple[float, float]:
    """``(rtol, atol)`` as floats; ValueError unless ``0 < rtol`` and ``0 <= atol``, both finite
    (a nan tolerance would reject every step).

    >>> check_tolerances(1e-6, 0)
    (1e-06, 0.0)
    """
    rtol, atol = float(rtol), float(atol)
    if not (0 < rtol < np.inf and 0 <= atol < np.inf):
        raise ValueError(f"need finite rtol > 0 and atol >= 0, got rtol={rtol}, atol={atol}")
    return rtol, atol


def check_max_steps(max_steps) -> int:
    """``max_steps`` as an int; ValueError unless it is a whole number >= 0 (nan or inf would
    let a solve run forever).

    >>> check_max_steps(1e3)
    1000
    """
    try:
        whole = max_steps >= 0 and int(max_steps) == max_steps
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or isinstance(max_steps, bool):
        raise ValueError(f"max_steps must be a whole number >= 0 (it bounds the step attempts), "
                         f"got {max_steps!r}")
    return int(max_steps)


__all__ = ["Solution", "BatchSolution", "Failures", "stack_times", "stack_states",
           "DONE", "TERMINAL_EVENT", "MAX_STEPS", "STEP_UNDERFLOW", "NON_FINITE",
           "EVENT_NON_FINITE", "message", "finite", "start_cause", "ODESolveError",
           "NotCompilable", "tangential", "ADJOINTS", "BACKENDS", "choice", "tableau", "as_state",
           "as_span", "as_args", "as_events", "check_dt", "check_times", "check_saveat",
           "check_tolerances", "check_max_steps"]
