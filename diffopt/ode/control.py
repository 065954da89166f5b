"""Step-size control for the adaptive methods, on concrete values only (never on the tape).

Every function works for one trajectory (plain floats) and, with ``batched=True`` / an ``n`` for
:class:`PIController`, for a batch of trajectories stepped at once: a leading batch axis ``B`` on
the states and one step size, error norm and controller state per row.
"""

from __future__ import annotations

import numpy as np

from ._scalar import MIN_PREV_ERROR, judge, lands_on_end, pi_factor
from .interpolation import broadcast_rows


def error_norm(err, y0, y1, rtol: float, atol: float, batched: bool = False):
    """RMS norm of the error estimate scaled by ``atol + rtol * max(|y0|, |y1|)``.

    ``batched=True``: one norm per row of the leading batch axis, a ``(B,)`` array.

    >>> round(error_norm(np.array([1e-7]), np.array([1.0]), np.array([1.0]), 1e-6, 0.0), 12)
    0.1
    """
    scale = atol + rtol * np.maximum(np.abs(y0), np.abs(y1))
    return _rms(np.abs(err) / scale, batched)


def initial_step(fun_c, t0, y0, f0, order: int, rtol: float, atol: float, span,
                 batched: bool = False):
    """Hairer-Wanner's starting step (one extra evaluation of ``fun_c``, on plain arrays).

    ``batched=True``: ``t0``/``span`` are ``(B,)``, ``y0``/``f0`` ``(B, ...)`` and ``fun_c`` is
    called once on the whole batch; gives a ``(B,)`` array of first steps. Where the probe
    ``fun_c(t0 + h0, y0 + h0 f0)`` is not finite (it left ``fun``'s domain) and the step comes
    out nan or 0, the step is the first guess ``h0``, which step control then shrinks; it is
    non-finite only if ``y0`` or ``f0`` is.

    >>> h = initial_step(lambda t, y: -y, 0.0, np.ones(2), -np.ones(2), 4, 1e-6, 1e-9, 1.0)
    >>> bool(0 < h < 1)
    True
    """
    scale = atol + np.abs(y0) * rtol
    d0 = _rms(y0 / scale, batched)
    d1 = _rms(f0 / scale, batched)
    tiny = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = np.minimum(np.where(tiny, 1e-6, 0.01 * d0 / np.where(tiny, 1.0, d1)), span)
    f1 = fun_c(t0 + h0, y0 + (broadcast_rows(h0, y0) if batched else h0) * f0)
    d2 = _rms((f1 - f0) / scale, batched) / np.where(h0 > 0, h0, 1.0)  # (h0 = 0: span = 0)
    flat = (d1 <= 1e-15) & (d2 <= 1e-15)
    ratio = 0.01 / np.where(flat, 1.0, np.maximum(d1, d2))
    if not batched:  # a plain float: Python's pow, as before (numpy's may differ in the last bit)
        ratio = float(ratio)
    h1 = np.where(flat, np.maximum(1e-6, h0 * 1e-3), ratio ** (1.0 / (order + 1)))
    h = np.minimum(np.minimum(100 * h0, h1), span)
    h = np.where((h > 0) & (h < np.inf), h, h0)  # (nan fails both)
    return h if batched else float(h)


def _rms(x, batched: bool = False):
    x = np.abs(np.asarray(x))
    if not batched:
        return float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    if x.size == 0:
        return np.zeros(x.shape[:1])
    return np.sqrt(np.mean(x * x, axis=tuple(range(1, x.ndim))))


class PIController:
    """Proportional-integral step-size controller (Hairer's DOPRI5 variant, β = 0.2/(q+1)).

    ``judge(err, y_ok, hc)`` decides a step attempt and gives the next step size; ``factor(err)``
    the ratio new step / current step; ``accept`` records an accepted error.
    With ``n``, it controls ``n`` trajectories at once: errors are ``(n,)`` arrays, ``factor``
    returns an ``(n,)`` array and ``accept(err, rows)`` records only the rows in the ``rows`` mask.

    >>> bool(PIController(order=4).factor(0.01) > 1)
    True
    """

    def __init__(self, order: int, n: int | None = None):
        k = 1.0 / (order + 1)
        self.beta = 0.2 * k
        self.alpha = k - 0.75 * self.beta
        self.batched = n is not None
        self.prev = np.full(n, MIN_PREV_ERROR) if self.batched else MIN_PREV_ERROR

    def factor(self, err, rejected=False):
        """New step / current step after an error ``err`` (at most 1 for a rejected step)."""
        if not self.batched:
            return float(pi_factor(float(err), self.prev, rejected, self.alpha, self.beta))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return pi_factor(np.asarray(err, dtype=float), self.prev, rejected, self.alpha,
                             self.beta)

    def accept(self, err, rows=None) -> None:
        """Record the error of an accepted step (batched: of the rows in the mask ``rows``)."""
        prev = np.maximum(err, MIN_PREV_ERROR)
        if self.batched:
            self.prev = np.where(True if rows is None else rows, prev, self.prev)
        else:
            self.prev = float(prev)

    def accepted_factor(self, err, rows=None):
        """The factor for the next step after an accepted error (from the previous accepted
        error, the PI controller's memory), then record this one (batched: the factor for every
        row; only the ``rows`` mask is recorded)."""
        fac = self.factor(err)
        self.accept(err, rows)
        return fac

    def judge(self, err, y_ok, hc, rows=None):
        """``(outcome, next step size)`` of a step attempt of size ``hc`` by
        :func:`diffopt.ode._scalar.judge` (the rule the compiled loops run), recording an
        accepted error (batched: only in the ``rows`` mask). Every solver steps through it."""
        if not self.batched:
            outcome, h, prev = judge(float(err), bool(y_ok), hc, self.prev, self.alpha, self.beta)
            self.prev = float(prev)
            return int(outcome), float(h)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            outcome, h, prev = judge(err, y_ok, hc, self.prev, self.alpha, self.beta)
        self.prev = prev if rows is None else np.where(rows, prev, self.prev)
        return outcome, h


__all__ = ["lands_on_end", "error_norm", "initial_step", "PIController"]
