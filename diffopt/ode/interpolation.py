"""Dense output of one step: the method's own continuous extension, or cubic Hermite.

The interpolant is evaluated with ``diffopt.numpy`` operations, so states read off it (saved times,
event states) carry derivatives with respect to everything the step depended on, and with respect to
the evaluation time itself when that is traced (an event time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffopt.core import concrete


def hermite(theta, h, y0, y1, f0, f1):
    """Cubic Hermite interpolant at ``t0 + theta * h`` from the end states and their derivatives.

    >>> hermite(0.5, 1.0, 0.0, 1.0, 1.0, 1.0)  # exact for y = t: 0.5
    """
    t2 = theta * theta
    t3 = t2 * theta
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + theta
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    return h00 * y0 + h01 * y1 + h * (h10 * f0 + h11 * f1)


@dataclass
class StepInterpolant:
    """Dense output of the step from ``t0`` to ``t0 + h`` (values may be traced).

    ``stages`` holds the Runge-Kutta stages followed by ``f(t0 + h, y1)``; with ``dense``
    (a tableau's ``P`` matrix) the method's own extension is used, otherwise cubic Hermite from
    ``(y0, stages[0])`` and ``(y1, stages[-1])``.

    >>> StepInterpolant(0.0, 1.0, y0, y1, [f0, f1])(0.25)
    """

    t0: object
    h: object
    y0: object
    y1: object
    stages: list
    dense: np.ndarray | None = None

    def __call__(self, t):
        """The interpolated state at time ``t`` (traced or not)."""
        theta = (t - self.t0) / self.h
        if self.dense is None:
            return hermite(theta, self.h, self.y0, self.y1, self.stages[0], self.stages[-1])
        powers = [theta]
        for _ in range(1, self.dense.shape[1]):
            powers.append(powers[-1] * theta)
        acc = None
        for k, row in zip(self.stages, self.dense):
            q = sum((float(p) * tp for p, tp in zip(row, powers) if p != 0.0), 0.0)
            if isinstance(q, float) and q == 0.0:
                continue
            acc = q * k if acc is None else acc + q * k
        return self.y0 if acc is None else self.y0 + self.h * acc

    def concrete(self) -> StepInterpolant:
        """The same interpolant on plain arrays (derivatives dropped): fast to evaluate."""
        return StepInterpolant(
            float(concrete(self.t0)), float(concrete(self.h)), concrete(self.y0),
            concrete(self.y1), [concrete(k) for k in self.stages], self.dense,
        )




__all__ = ["hermite", "StepInterpolant"]
