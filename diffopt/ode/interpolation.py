"""Dense output of one step: the method's own continuous extension, or cubic Hermite.

The interpolant is evaluated with ``diffopt.numpy`` operations, so states read off it (saved times,
event states) carry derivatives with respect to everything the step depended on, and with respect to
the evaluation time itself when that is traced (an event time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete

from ._scalar import hermite


@dataclass
class StepInterpolant:
    """Dense output of the step from ``t0`` to ``t0 + h`` (values may be traced).

    ``stages`` holds the Runge-Kutta stages followed by ``f(t0 + h, y1)``; with ``dense``
    (a tableau's ``P`` matrix) the method's own extension is used, otherwise cubic Hermite from
    ``(y0, stages[0])`` and ``(y1, stages[-1])``. For a batch of trajectories ``t0``/``h`` may be
    ``(B,)`` arrays, one step per row of the ``(B, ...)`` states; times and ``theta`` are then
    ``(B,)`` too and each row is read off its own step.

    >>> float(StepInterpolant(0.0, 1.0, 0.0, 1.0, [1.0, 1.0])(0.25))  # y = t
    0.25
    """

    t0: object
    h: object
    y0: object
    y1: object
    stages: list
    dense: np.ndarray | None = None

    def __call__(self, t):
        """The interpolated state at time ``t`` (traced or not)."""
        return self.at_theta((t - self.t0) / self.h)

    def at(self, t, rows=None):
        """The state at time ``t``; ``rows`` (a batch's mask): the rows whose step is real, the
        others (whose step may have size 0) read it with ``h = 1``, so nothing is inf/nan."""
        if rows is None or np.all(rows):
            return self(t)
        h = self.h
        return self.at_theta((t - self.t0) / (dnp.where(rows, h, 1.0) if isinstance(h, Tracer)
                                              else np.where(rows, h, 1.0)))

    def at_theta(self, theta):
        """The interpolated state at ``t0 + theta * h`` (``theta`` in [0, 1], traced or not)."""
        theta = broadcast_rows(theta, self.y0)
        h = broadcast_rows(self.h, self.y0)
        if self.dense is None:
            return hermite(theta, h, self.y0, self.y1, self.stages[0], self.stages[-1])
        powers = [theta]
        for _ in range(1, self.dense.shape[1]):
            powers.append(powers[-1] * theta)
        acc = None
        for k, row in zip(self.stages, self.dense):
            q = sum((float(p) * tp for p, tp in zip(row, powers) if p != 0.0), 0.0)
            if isinstance(q, float) and q == 0.0:
                continue
            acc = q * k if acc is None else acc + q * k
        return self.y0 if acc is None else self.y0 + h * acc

    def concrete(self) -> StepInterpolant:
        """The same interpolant on plain arrays (derivatives dropped): fast to evaluate."""
        return StepInterpolant(
            _plain(self.t0), _plain(self.h), concrete(self.y0), concrete(self.y1),
            [concrete(k) for k in self.stages], self.dense,
        )


def broadcast_rows(v, like):
    """A per-row ``(B,)`` value (traced or not) shaped ``(B, 1, ...)`` to broadcast against
    ``(B, ...)`` states like ``like``; scalars as they are.

    >>> broadcast_rows(np.ones(4), np.zeros((4, 2, 3))).shape
    (4, 1, 1)
    """
    nd = len(dnp.shape(v))
    extra = len(dnp.shape(like)) - nd
    if nd == 0 or extra <= 0:
        return v
    return dnp.reshape(v, tuple(dnp.shape(v)) + (1,) * extra)


def _plain(v):
    """A time or step as a float, or a float array for a batch."""
    c = concrete(v)
    return float(c) if np.ndim(c) == 0 else np.asarray(c, dtype=float)


__all__ = ["hermite", "StepInterpolant", "broadcast_rows"]
