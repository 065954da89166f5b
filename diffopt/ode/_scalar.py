"""The integrator's scalar rules, written once: the NumPy paths call them (elementwise on a batch's
rows where they take arrays) and the compiled loops are built from this file's source
(:mod:`diffopt.ode.compiled` compiles it with Numba, :func:`select` as :func:`branch`).

Only plain Python and NumPy here, no diffopt import: the status codes, event crossing, the event
root finder, the end-of-span landing rule, the checks before a step, the PI step-size factor and
the accept/reject rule, and the cubic Hermite interpolant.
"""

import numpy as np

EPS = 2.220446049250313e-16
# the event root finder: Illinois false position for ROOT_ILLINOIS iterations, then bisection,
# ROOT_STEPS iterations in all; it stops when the point moves or the bracket is within ROOT_TOL
ROOT_STEPS, ROOT_ILLINOIS, ROOT_TOL = 100, 40, 4 * EPS
# a root found this close to a step's start (as a fraction of the step) is the step start itself
STEP_START_THETA = 1e-12
# the PI controller (Hairer's DOPRI5 variant)
SAFETY, MIN_FACTOR, MAX_FACTOR, MIN_PREV_ERROR = 0.9, 0.2, 10.0, 1e-4
# a step that would end this close to t_end ends on it: relative to the step, and to the rounding
# a clock accumulates over many fixed steps (else 1e5 steps of 1e-5 end with a step of 2e-12)
LAND_STEP, LAND_CLOCK = 1e-9, 1e-11

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
# what an adaptive step attempt came to (:func:`judge`)
ACCEPTED, REJECTED, NOT_FINITE = 0, 1, 2


INF = float("inf")


def branch(c, a, b):
    """``a if c else b``."""
    return a if c else b


def select(c, a, b):
    """``a`` where ``c``, else ``b``: elementwise for an array ``c``, else :func:`branch`.

    >>> select(np.array([True, False]), 1.0, 2.0).tolist()
    [1.0, 2.0]
    """
    if isinstance(c, np.ndarray):
        return np.where(c, a, b)
    return branch(c, a, b)


def crosses(g0, g1, direction):
    """Whether an event condition going from ``g0`` to ``g1`` over a step fires (elementwise
    for arrays): -1 from positive to non-positive, +1 from negative to non-negative, 0 both.

    >>> bool(crosses(1.0, -0.5, -1))
    True
    """
    down = (g0 > 0) & (g1 <= 0)
    up = (g0 < 0) & (g1 >= 0)
    if direction < 0:
        return down
    if direction > 0:
        return up
    return down | up


def lands_on_end(remaining, h, t):
    """Whether a step of size ``h`` at time ``t`` with ``remaining`` time to go is the last one
    (then cut to end exactly at ``t_end``). Elementwise for arrays.

    >>> bool(lands_on_end(0.1 + 1e-13, 0.1, 0.9))
    True
    """
    return remaining - h <= LAND_STEP * h + LAND_CLOCK * abs(t)


def larger(x, floor):
    """``max(x, floor)`` (elementwise for arrays; nan stays nan)."""
    return select(x < floor, floor, x)


def plan(remaining, h, t):
    """``(last, hc)``: whether the step proposed as ``h`` at ``t`` with ``remaining`` time to go
    is the last one (:func:`lands_on_end`), and its size (``remaining`` then)."""
    last = lands_on_end(remaining, h, t)
    return last, select(last, remaining, h)


def stop_before_step(attempts: int, max_steps: int, hc, t, last_nonfinite):
    """``(status, cause)`` that ends a solve before a step of size ``hc`` at ``t``, ``(DONE, 0)``
    to take it: ``max_steps`` attempts made, a step size that is not finite, or one that
    underflowed (``SHRUNK`` when the last attempt was not finite).

    >>> stop_before_step(3, 10, 1e-300, 1.0, False) == (STEP_UNDERFLOW, 0)
    True
    """
    over = attempts >= max_steps
    ok = abs(hc) < INF
    under = hc <= 10 * EPS * larger(abs(t), 1.0)
    status = select(over, MAX_STEPS, select(ok, select(under, select(
        last_nonfinite, NON_FINITE, STEP_UNDERFLOW), DONE), NON_FINITE))
    cause = select(over, 0, select(ok, select(under & last_nonfinite, SHRUNK, 0), BAD_STEP))
    return status, cause


def pi_factor(err, prev, rejected, alpha, beta):
    """New step / current step after the error norm ``err`` (``prev``: the last accepted one),
    at most 1 for a ``rejected`` step.

    >>> float(pi_factor(0.0, 1e-4, False, 0.17, 0.04))
    10.0
    """
    zero = err == 0.0
    fac = larger(SAFETY * select(zero, 1.0, err) ** -alpha * prev ** beta, MIN_FACTOR)
    upper = select(rejected, 1.0, MAX_FACTOR)
    return select(zero, MAX_FACTOR, select(fac > upper, upper, fac))


def judge(err, y_ok, hc, prev, alpha, beta):
    """``(outcome, h, prev)`` after an adaptive step of size ``hc`` with error norm ``err``
    (``y_ok``: its new state is finite; ``prev``: the last accepted error norm): ``ACCEPTED``
    (``err <= 1``), ``REJECTED`` (then retried smaller by the PI factor) or ``NOT_FINITE``
    (retried at a quarter step); the next step size and error memory.

    >>> judge(0.5, True, 0.1, 1e-4, 0.17, 0.04)[0] == ACCEPTED
    True
    """
    ok = y_ok & (err <= 1.0)
    retry = y_ok & (err > 1.0) & (err < INF)
    outcome = select(ok, ACCEPTED, select(retry, REJECTED, NOT_FINITE))
    h = select(ok | retry, hc * pi_factor(err, prev, err > 1.0, alpha, beta), 0.25 * hc)
    return outcome, h, select(ok, larger(err, MIN_PREV_ERROR), prev)


def hermite(theta, h, y0, y1, f0, f1):
    """Cubic Hermite interpolant at ``t0 + theta * h`` from the end states and their derivatives.

    >>> hermite(0.5, 1.0, 0.0, 1.0, 1.0, 1.0)  # exact for y = t
    0.5
    """
    t2 = theta * theta
    t3 = t2 * theta
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + theta
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    return h00 * y0 + h01 * y1 + h * (h10 * f0 + h11 * f1)


def root_next(it, lo, hi, f_lo, f_hi):
    """The root finder's next point in ``[lo, hi]``: false position while it lands inside and
    ``it < ROOT_ILLINOIS``, else the midpoint (elementwise for arrays)."""
    d = f_hi - f_lo
    xf = (lo * f_hi - hi * f_lo) / select(d != 0.0, d, 1.0)
    inside = (it < ROOT_ILLINOIS) & (d != 0.0) & (lo < xf) & (xf < hi)  # (False for nan)
    return select(inside, xf, 0.5 * (lo + hi))


def root_start(g1, f_lo, f_hi):
    """The event root finder on ``[0, 1]``, from the condition at the step's end ``g1`` and on
    the interpolant at its ends ``f_lo``, ``f_hi``: ``(state, x)``, the point ``x`` at which
    :func:`root_step` wants the condition next (elementwise for arrays: rows search together).
    ``state[-1]`` is the result: -1 while searching, then ``theta`` (1, the step end:
    ``g1 == 0`` or no sign change on the interpolant, where rounding in its end values hides
    it; nan: the condition was not finite)."""
    finite = np.isfinite(f_lo) & np.isfinite(f_hi)
    theta = select(g1 == 0.0, 1.0, select(finite, select(f_lo * f_hi < 0, -1.0, 1.0), np.nan))
    # (the previous point starts as nan: a first point that equals any start value must not
    # count as converged)
    return (0, 0.0, 1.0, f_lo, f_hi, 0, np.nan, theta), root_next(0, 0.0, 1.0, f_lo, f_hi)


def root_step(state, x_new, f_x, needs_start):
    """The root finder's state after the condition's value ``f_x`` at ``x_new``, and its next
    point: the bracket keeps the sign change (Illinois-halving the end kept twice in a row);
    it stops when the point moves or the bracket shrinks by at most ``ROOT_TOL``, after
    ``ROOT_STEPS`` iterations, or at a non-finite ``f_x`` (nan). A root within
    ``STEP_START_THETA`` of the step start is the start itself for conditions that
    ``needs_start``. Elementwise for arrays (rows whose search has ended must be masked by
    the caller)."""
    it, lo, hi, f_lo, f_hi, side, x, theta = state
    finite = np.isfinite(f_x)
    moves = finite & (f_x != 0.0)
    to_hi = moves & ((f_x > 0) == (f_hi > 0))  # the root is in [lo, x_new]
    to_lo = moves & ((f_x > 0) != (f_hi > 0))
    f_lo, f_hi = (select(to_lo, f_x, select(to_hi & (side == -1), 0.5 * f_lo, f_lo)),
                  select(to_hi, f_x, select(to_lo & (side == 1), 0.5 * f_hi, f_hi)))
    lo, hi = select(to_lo, x_new, lo), select(to_hi, x_new, hi)
    side = select(to_hi, -1, select(to_lo, 1, side))
    done = (f_x == 0.0) | (moves & ((abs(x_new - x) <= ROOT_TOL) | (hi - lo <= ROOT_TOL)
                                    | (it + 1 >= ROOT_STEPS)))
    found = select(needs_start & (x_new < STEP_START_THETA), 0.0, x_new)
    theta = select(finite, select(done, found, theta), np.nan)
    return (it + 1, lo, hi, f_lo, f_hi, side, x_new, theta), root_next(it + 1, lo, hi, f_lo, f_hi)


def find_root(phi, g1, needs_start):
    """``theta`` in [0, 1] of the sign change of ``phi(theta)`` (an event condition on a step's
    dense output, ``g1`` its value at the step's end) by :func:`root_start` and
    :func:`root_step`; nan if ``phi`` was not finite on the way.

    >>> round(find_root(lambda th: th - 0.3, 0.7, False), 12)
    0.3
    """
    if g1 == 0.0:
        return 1.0
    state, x = root_start(g1, phi(0.0), phi(1.0))
    while state[-1] == -1.0:
        state, x_next = root_step(state, x, phi(x), needs_start)
        x = x_next
    return state[-1]
