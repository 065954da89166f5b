"""The gradient descent family: plain descent (fixed step or Armijo), heavy-ball momentum,
Nesterov momentum and Adam, all on the deterministic gradient.

They share one loop, ``iterate``: evaluate f and ∇f, record the iterate, test convergence, and
ask an update rule ``step(x, f, g)`` for the next iterate. A rule holds its own state (velocity,
moment estimates, step length) in a closure; it may return an ``Outcome`` to end the run (e.g. a
line search that found no decrease). The Newton solvers (``newton.py``) use the same loop.

>>> import diffopt, diffopt.numpy as dnp
>>> quad = lambda x: dnp.sum((x - 1.0) ** 2)
>>> res = diffopt.optimize(quad, np.zeros(2), method="adam", options={"lr": 0.1})
>>> res.success, np.allclose(res.x, 1.0, atol=1e-5)
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import checks
from .base import Outcome
from .registry import register

DEFAULT_GTOL = 1e-6

# An update rule: (x, f(x), ∇f(x)) -> the next iterate, or an Outcome that ends the run.
StepRule = Callable[[np.ndarray, float, np.ndarray], "np.ndarray | Outcome"]


def converged(g: np.ndarray, tol: float | None) -> bool:
    """The first-order test every gradient solver here uses: ‖g‖∞ <= tol (default 1e-6).

    >>> converged(np.array([1e-7, -2e-7]), None)
    True
    """
    return float(np.max(np.abs(g))) <= (DEFAULT_GTOL if tol is None else tol)


def armijo(problem, x, f, g, direction, step, monitor, shrink=0.5, c1=1e-4, max_halvings=60):
    """Backtracking: the largest ``step * shrink**k`` with f(x + t d) <= f + c1 t g·d.

    Trial points where f is not finite are rejected (the step shrinks), so the search backs out
    of regions where the objective is undefined; if it is still non-finite at the shortest trial
    step, the run ends there (``monitor.stop_nonfinite``). Returns ``(t, x_new, f_new)``;
    ``t = 0`` when no decrease was found.

    >>> import diffopt.numpy as dnp
    >>> from diffopt.optimize import Objective
    >>> from diffopt.solvers import Monitor
    >>> problem, monitor = Objective(lambda x: dnp.sum(x**2), np.ones(2)), Monitor()
    >>> x = np.array([1.0, 2.0])
    >>> f, g = problem.value_and_grad(x)
    >>> armijo(problem, x, f, g, -g, 1.0, monitor)  # (t, x_new, f_new)
    (0.5, array([0., 0.]), 0.0)
    """
    slope = float(g @ direction)
    t = step
    f_new = f
    for _ in range(max_halvings):
        x_new = x + t * direction
        if np.array_equal(x_new, x):
            break  # the step is below the resolution of x
        f_new = problem.fun(x_new)
        if np.isfinite(f_new) and f_new <= f + c1 * t * slope:
            return t, x_new, f_new
        t *= shrink
    if not np.isfinite(f_new):
        monitor.stop_nonfinite("the objective was non-finite at the trial points of the line "
                               "search down to its shortest step")
    return 0.0, x, f


def iterate(problem, x0, monitor, *, maxiter: int, tol: float | None, step: StepRule) -> Outcome:
    """The loop all our gradient-based solvers share.

    Per iteration: ``f, g = problem.value_and_grad(x)``, ``monitor.iteration(x, f, g)`` (history,
    callback, non-finite check), stop if ``converged(g, tol)``, else ``x = step(x, f, g)``; a rule
    returning an ``Outcome`` ends the run with it.

    >>> import diffopt.numpy as dnp
    >>> from diffopt.optimize import Objective
    >>> from diffopt.solvers import Monitor
    >>> problem, monitor = Objective(lambda x: dnp.sum(x**2), np.ones(2)), Monitor()
    >>> out = iterate(problem, np.ones(2), monitor, maxiter=100, tol=None,
    ...               step=lambda x, f, g: x - 0.25 * g)
    >>> out.success, out.message, monitor.nit
    (True, 'gradient norm below tol', 21)
    """
    x = x0
    for _ in range(maxiter):
        f, g = problem.value_and_grad(x)
        monitor.iteration(x, f, g)
        if converged(g, tol):
            return Outcome(x, True, "gradient norm below tol")
        nxt = step(x, f, g)
        if isinstance(nxt, Outcome):
            return nxt
        x = nxt
    return Outcome(x, False, "maximum number of iterations reached", 1)


def no_decrease(x, monitor) -> Outcome:
    """The outcome of a line search that found no decrease (status 2), naming the iteration.

    >>> from diffopt.solvers import Monitor
    >>> no_decrease(np.zeros(2), Monitor()).message  # returned by an update rule
    'line search found no decrease at iteration 0'
    """
    return Outcome(x, False, f"line search found no decrease at iteration {monitor.nit}", 2)


def _validate(lr=None, **fractions) -> None:
    """``lr`` (if given) must be positive; each named fraction must lie in [0, 1)."""
    if lr is not None:
        checks.positive("lr", lr)
    for name, value in fractions.items():
        checks.fraction(name, value)


# --- update rules --------------------------------------------------------------------------------
def fixed_step_rule(lr: float) -> StepRule:
    """x ← x − lr ∇f(x).

    >>> import diffopt.numpy as dnp
    >>> from diffopt.optimize import Objective
    >>> from diffopt.solvers import Monitor
    >>> problem, monitor = Objective(lambda x: dnp.sum(x**2), np.ones(2)), Monitor()
    >>> iterate(problem, np.ones(2), monitor, maxiter=100, tol=None, step=fixed_step_rule(0.5)).x
    array([0., 0.])
    """
    return lambda x, f, g: x - lr * g


def armijo_rule(problem, monitor, step: float = 1.0) -> StepRule:
    """Armijo backtracking along −∇f from the last accepted step, doubled after a full step.

    >>> import diffopt.numpy as dnp
    >>> from diffopt.optimize import Objective
    >>> from diffopt.solvers import Monitor
    >>> problem, monitor = Objective(lambda x: dnp.sum(x**2), np.ones(2)), Monitor()
    >>> x = np.array([1.0, 2.0])
    >>> rule = armijo_rule(problem, monitor)
    >>> rule(x, *problem.value_and_grad(x))  # t = 1 overshoots, t = 0.5 reaches the minimum
    array([0., 0.])
    """
    state = {"t": float(step)}

    def rule(x, f, g):
        t, x_new, _ = armijo(problem, x, f, g, -g, state["t"], monitor)
        if t == 0.0:
            return no_decrease(x, monitor)
        state["t"] = 2.0 * t if t == state["t"] else t
        return x_new

    return rule


def momentum_rule(x0: np.ndarray, lr: float, momentum: float, nesterov: bool) -> StepRule:
    """v ← μ v + ∇f; heavy ball: x ← x − lr v; Nesterov: x ← x − lr (∇f + μ v).

    The Nesterov form is the one of Sutskever et al. (and PyTorch): ``x`` is the look-ahead
    point, so the gradient is taken where it is needed and no extra evaluation is spent.

    >>> rule = momentum_rule(np.zeros(2), lr=0.1, momentum=0.9, nesterov=True)
    >>> x = np.array([1.0, 2.0])
    >>> rule(x, None, 2 * x)  # x - 0.1 (g + 0.9 g)
    array([0.62, 1.24])
    """
    v = np.zeros_like(x0)

    def rule(x, f, g):
        nonlocal v
        v = momentum * v + g
        return x - lr * (g + momentum * v if nesterov else v)

    return rule


def adam_rule(x0: np.ndarray, lr: float, beta1: float, beta2: float, eps: float) -> StepRule:
    """Adam (Kingma & Ba): bias-corrected first and second moment estimates of ∇f.

    >>> rule = adam_rule(np.zeros(2), lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    >>> x = np.array([1.0, 2.0])
    >>> rule(x, None, 2 * x)  # the first step is lr in every coordinate
    array([0.9, 1.9])
    """
    m, v, t = np.zeros_like(x0), np.zeros_like(x0), 0

    def rule(x, f, g):
        nonlocal m, v, t
        t += 1
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * (g * g)
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        return x - lr * m_hat / (np.sqrt(v_hat) + eps)

    return rule


# --- registered solvers --------------------------------------------------------------------------
@register("gd", default_maxiter=1000)
def gradient_descent(problem, x0, monitor, *, maxiter, tol, lr=None, line_search=None):
    """Gradient descent with a fixed step ``lr`` or Armijo backtracking.

    Backtracking when ``lr`` is None or ``line_search="armijo"`` (starting from ``lr`` or 1,
    growing after easy steps).

    >>> import diffopt, diffopt.numpy as dnp
    >>> quad = lambda x: dnp.sum((x - 1.0) ** 2)
    >>> res = diffopt.optimize(quad, np.zeros(2), method="gd", options={"lr": 0.1})
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-5)
    (True, True)
    """
    if line_search not in (None, "armijo"):
        raise ValueError(f"line_search must be None or 'armijo', not {line_search!r}")
    _validate(lr)
    if lr is None or line_search == "armijo":
        rule = armijo_rule(problem, monitor, 1.0 if lr is None else lr)
    else:
        rule = fixed_step_rule(float(lr))
    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=rule)


@register("momentum", default_maxiter=1000)
def heavy_ball(problem, x0, monitor, *, maxiter, tol, lr=1e-3, momentum=0.9):
    """Heavy-ball momentum (Polyak): v ← μ v + ∇f, x ← x − lr v.

    >>> import diffopt, diffopt.numpy as dnp
    >>> quad = lambda x: dnp.sum((x - 1.0) ** 2)
    >>> res = diffopt.optimize(quad, np.zeros(2), method="momentum",
    ...                        options={"lr": 0.1, "momentum": 0.5})
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-5)
    (True, True)
    """
    _validate(lr, momentum=momentum)
    rule = momentum_rule(x0, float(lr), float(momentum), nesterov=False)
    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=rule)


@register("nesterov", default_maxiter=1000)
def nesterov(problem, x0, monitor, *, maxiter, tol, lr=1e-3, momentum=0.9):
    """Nesterov accelerated gradient: v ← μ v + ∇f, x ← x − lr (∇f + μ v).

    >>> import diffopt, diffopt.numpy as dnp
    >>> quad = lambda x: dnp.sum((x - 1.0) ** 2)
    >>> res = diffopt.optimize(quad, np.zeros(2), method="nesterov", options={"lr": 0.1})
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-5)
    (True, True)
    """
    _validate(lr, momentum=momentum)
    rule = momentum_rule(x0, float(lr), float(momentum), nesterov=True)
    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=rule)


@register("adam", default_maxiter=1000)
def adam(problem, x0, monitor, *, maxiter, tol, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam: steps ``lr`` scaled by bias-corrected moment estimates of the gradient.

    >>> import diffopt, diffopt.numpy as dnp
    >>> quad = lambda x: dnp.sum((x - 1.0) ** 2)
    >>> res = diffopt.optimize(quad, np.zeros(2), method="adam", options={"lr": 0.1})
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-5)
    (True, True)
    """
    _validate(lr, beta1=beta1, beta2=beta2)
    checks.positive("eps", eps)
    rule = adam_rule(x0, float(lr), float(beta1), float(beta2), float(eps))
    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=rule)
