"""Gradient descent: a fixed step, or Armijo backtracking along the negative gradient."""

from __future__ import annotations

import numpy as np

from .base import Outcome
from .registry import register

DEFAULT_GTOL = 1e-6


def converged(g: np.ndarray, tol: float | None) -> bool:
    """The first-order test every gradient solver here uses: ‖g‖∞ <= tol (default 1e-6)."""
    return float(np.max(np.abs(g))) <= (DEFAULT_GTOL if tol is None else tol)


def armijo(problem, x, f, g, direction, step, monitor, shrink=0.5, c1=1e-4, max_halvings=60):
    """Backtracking: the largest ``step * shrink**k`` with f(x + t d) <= f + c1 t g·d.

    Returns ``(t, x_new, f_new)``; ``t = 0`` when no decrease was found.
    """
    slope = float(g @ direction)
    t = step
    for _ in range(max_halvings):
        x_new = x + t * direction
        f_new = problem.fun(x_new)
        if np.isfinite(f_new) and f_new <= f + c1 * t * slope:
            return t, x_new, f_new
        t *= shrink
    return 0.0, x, f


@register("gd", default_maxiter=1000)
def gradient_descent(problem, x0, monitor, *, maxiter, tol, lr=None, line_search=None):
    """Gradient descent: step ``lr`` (fixed), or Armijo backtracking when ``lr`` is None or
    ``line_search="armijo"`` (starting from ``lr`` or 1, growing after easy steps)."""
    if line_search not in (None, "armijo"):
        raise ValueError(f"line_search must be None or 'armijo', not {line_search!r}")
    backtrack = lr is None or line_search == "armijo"
    step = 1.0 if lr is None else float(lr)
    x = x0
    for _ in range(maxiter):
        f, g = problem.value_and_grad(x)
        monitor.iteration(x, f, g)
        if converged(g, tol):
            return Outcome(x, True, "gradient norm below tol")
        if not backtrack:
            x = x - step * g
            continue
        t, x_new, _ = armijo(problem, x, f, g, -g, step, monitor)
        if t == 0.0:
            return Outcome(x, False, "line search found no decrease", 2)
        step = 2.0 * t if t == step else t
        x = x_new
    return Outcome(x, False, "maximum number of iterations reached", 1)
