"""Step-size control for the adaptive methods, on concrete values only (never on the tape)."""

from __future__ import annotations

import numpy as np

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


def error_norm(err, y0, y1, rtol: float, atol: float) -> float:
    """RMS norm of the error estimate scaled by ``atol + rtol * max(|y0|, |y1|)``.

    >>> error_norm(np.array([1e-7]), np.array([1.0]), np.array([1.0]), 1e-6, 0.0)  # 0.1
    """
    scale = atol + rtol * np.maximum(np.abs(y0), np.abs(y1))
    e = np.abs(err) / scale
    return float(np.sqrt(np.mean(e * e))) if e.size else 0.0


def initial_step(fun_c, t0: float, y0, f0, order: int, rtol: float, atol: float,
                 span: float) -> float:
    """Hairer-Wanner's starting step (one extra evaluation of ``fun_c``, on plain arrays)."""
    scale = atol + np.abs(y0) * rtol
    d0 = _rms(y0 / scale)
    d1 = _rms(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, span)
    f1 = fun_c(t0 + h0, y0 + h0 * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1, span)


def _rms(x) -> float:
    x = np.abs(np.asarray(x))
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


class PIController:
    """Proportional-integral step-size controller (Hairer's DOPRI5 variant, β = 0.2/(q+1)).

    ``factor(err)`` gives the ratio new step / current step; ``accept`` records an accepted error.

    >>> PIController(order=4).factor(0.5) > 1
    True
    """

    def __init__(self, order: int):
        k = 1.0 / (order + 1)
        self.beta = 0.2 * k
        self.alpha = k - 0.75 * self.beta
        self.prev = 1e-4

    def factor(self, err: float, rejected: bool = False) -> float:
        if err == 0.0:
            return MAX_FACTOR
        fac = SAFETY * err ** -self.alpha * self.prev ** self.beta
        return float(min(1.0 if rejected else MAX_FACTOR, max(MIN_FACTOR, fac)))

    def accept(self, err: float) -> None:
        self.prev = max(err, 1e-4)


__all__ = ["error_norm", "initial_step", "PIController"]
