"""Newton methods of our own: truncated Newton-CG on Hessian-vector products, and Newton with the
exact Hessian for small problems. Both run in the shared loop ``gradient_descent.iterate`` and
end each step with a line search.

- ``newton-cg``: CG on ∇²f p = −∇f with ``problem.hessp`` (forward-over-reverse products, no
  Hessian formed), stopped by the forcing term min(0.5, √‖g‖₁)·‖g‖₁ on the residual (as scipy's
  newton-cg, so the two are comparable) or by non-positive curvature (Steihaug): keep the
  direction found so far, or on the first CG step take steepest descent scaled by the curvature.
- ``newton``: the dense Hessian (``problem.hess``), factorised by Cholesky; where it is not
  positive definite, τI is added and τ grown until it is (Nocedal & Wright, Algorithm 3.3).

>>> import diffopt, diffopt.numpy as dnp
>>> rosen = lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
>>> res = diffopt.optimize(rosen, np.zeros(10), method="newton-cg")
>>> res.success, np.allclose(res.x, 1.0, atol=1e-4)
(True, True)
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.optimize

from . import checks
from .base import STATUS_NONFINITE, Outcome
from .gradient_descent import armijo, iterate, no_decrease
from .registry import register

EPS = float(np.finfo(np.float64).eps)
LINE_SEARCHES = ("armijo", "wolfe")


def line_search_step(problem, x, f, g, p, monitor, kind: str = "armijo"):
    """A step along the descent direction ``p`` from the Newton step t = 1.

    ``"armijo"``: backtracking (sufficient decrease). ``"wolfe"``: scipy's strong-Wolfe search,
    falling back to Armijo where it fails. Returns ``(t, x_new)``; ``t = 0`` when no step was found.

    >>> import diffopt.numpy as dnp
    >>> from diffopt.optimize import Objective
    >>> from diffopt.solvers import Monitor
    >>> problem = Objective(lambda x: dnp.sum(x**2), np.ones(2))
    >>> x = np.array([1.0, 2.0])
    >>> f, g = problem.value_and_grad(x)
    >>> line_search_step(problem, x, f, g, -g / 2, Monitor(), "wolfe")  # the Newton step
    (1.0, array([0., 0.]))
    """
    if kind == "wolfe":
        def value(z):
            return problem.value_and_grad(z)[0]

        def gradient(z):
            return problem.value_and_grad(z)[1]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy's LineSearchWarning
            t, _, _, f_new, _, _ = scipy.optimize.line_search(value, gradient, x, p, gfk=g,
                                                              old_fval=f)
        if t is not None and np.isfinite(t) and t > 0 and f_new is not None \
                and np.isfinite(f_new):
            return float(t), x + t * p
    t, x_new, _ = armijo(problem, x, f, g, p, 1.0, monitor)
    return t, x_new


def _check_line_search(kind: str) -> None:
    if kind not in LINE_SEARCHES:
        raise ValueError(f"line_search must be one of {LINE_SEARCHES}, not {kind!r}")


def _non_finite_hessian(x, monitor, what: str) -> Outcome:
    it = monitor.nit
    return Outcome(x, False, f"the {what} became non-finite at iteration {it}; x holds the last "
                   f"finite iterate (iteration {it})", STATUS_NONFINITE)


def _descend(problem, x, f, g, p, monitor, kind):
    """Line search along ``p`` (steepest descent if ``p`` is not a descent direction)."""
    if not float(g @ p) < 0.0:
        p = -g
    t, x_new = line_search_step(problem, x, f, g, p, monitor, kind)
    return no_decrease(x, monitor) if t == 0.0 else x_new


# --- truncated Newton --------------------------------------------------------------------------
def truncated_cg(hessp, g: np.ndarray, maxiter: int):
    """Approximately solve ∇²f p = −g by conjugate gradients.

    Stops when ‖r‖₁ <= min(0.5, √‖g‖₁)·‖g‖₁ (the forcing term), after ``maxiter`` steps, or on
    curvature dᵀ∇²f d <= 3ε (Steihaug): then the iterate so far is returned, or on the first step
    the steepest-descent direction scaled to the model's step length ‖g‖²/|dᵀ∇²f d| (−g when the
    curvature is zero). Returns ``(p, steps)``; ``p`` is None if a product was not finite.

    >>> A, g = np.array([[2.0, 1.0], [1.0, 4.0]]), np.array([1e-4, 2e-4])
    >>> p, steps = truncated_cg(lambda v: A @ v, g, 100)
    >>> np.allclose(p, -np.linalg.solve(A, g)), steps
    (True, 2)
    """
    gnorm = float(np.sum(np.abs(g)))
    termcond = min(0.5, np.sqrt(gnorm)) * gnorm
    p = np.zeros_like(g)
    r = -g  # residual −g − ∇²f p
    d = r
    rr = float(r @ r)
    for i in range(maxiter):
        if float(np.sum(np.abs(r))) <= termcond:
            return p, i
        hd = hessp(d)
        curv = float(d @ hd)
        if not np.isfinite(curv):
            return None, i + 1
        if curv <= 3.0 * EPS:
            if i == 0:
                p = -g * (rr / -curv) if curv < 0.0 else -g
            return p, i + 1
        alpha = rr / curv
        p = p + alpha * d
        r = r - alpha * hd
        rr_new = float(r @ r)
        d = r + (rr_new / rr) * d
        rr = rr_new
    return p, maxiter


@register("newton-cg", uses=("grad", "hessp"), default_maxiter=10000)
def newton_cg(problem, x0, monitor, *, maxiter, tol, cg_maxiter=None, line_search="armijo"):
    """Truncated Newton (ours): CG on Hessian-vector products, then a line search.

    ``line_search``: "armijo" or "wolfe". ``cg_maxiter``: CG steps per iteration (default 20 n,
    as scipy).

    >>> import diffopt, diffopt.numpy as dnp
    >>> rosen = lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = diffopt.optimize(rosen, np.zeros(10), method="newton-cg",
    ...                        options={"line_search": "wolfe"})
    >>> res.success, np.allclose(res.x, 1.0, atol=1e-4)
    (True, True)
    """
    _check_line_search(line_search)
    cg_maxiter = 20 * x0.size if cg_maxiter is None else checks.positive_int("cg_maxiter",
                                                                             cg_maxiter)

    def step(x, f, g):
        p, _ = truncated_cg(lambda v: problem.hessp(x, v), g, cg_maxiter)
        if p is None:
            return _non_finite_hessian(x, monitor, "Hessian-vector product")
        return _descend(problem, x, f, g, p, monitor, line_search)

    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=step)


# --- exact Newton ------------------------------------------------------------------------------
def shifted_cholesky(h: np.ndarray, beta: float = 1e-3, max_tries: int = 80):
    """Cholesky factor of h + τI for the smallest τ in {0, τ₀·2ᵏ} that makes it positive definite
    (Nocedal & Wright, Algorithm 3.3). Returns ``(cho_factor, τ)``.

    >>> factor, tau = shifted_cholesky(np.diag([1.0, -2.0]))
    >>> tau  # just above 2
    2.001
    """
    dmin = float(np.min(np.diag(h)))
    tau = 0.0 if dmin > 0.0 else beta - dmin
    eye = np.eye(h.shape[0])
    for _ in range(max_tries):
        try:
            return scipy.linalg.cho_factor(h + tau * eye, check_finite=False), tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, beta)
    raise np.linalg.LinAlgError(f"no shift up to {tau:.3g} made the Hessian positive definite")


@register("newton", uses=("grad", "hess"), default_maxiter=200)
def newton(problem, x0, monitor, *, maxiter, tol, line_search="armijo"):
    """Newton with the exact dense Hessian (small n), shifted where not positive definite.

    τI is added until the Hessian is positive definite, then a line search ("armijo" or "wolfe")
    along the Newton step. It forms the n x n Hessian: meant for small problems.

    >>> import diffopt, diffopt.numpy as dnp
    >>> rosen = lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> res = diffopt.optimize(rosen, np.array([-1.2, 1.0]), method="newton")
    >>> res.success, np.allclose(res.x, 1.0)
    (True, True)
    """
    _check_line_search(line_search)

    def step(x, f, g):
        h = problem.hess(x)
        if not np.all(np.isfinite(h)):
            return _non_finite_hessian(x, monitor, "Hessian")
        try:
            factor, _ = shifted_cholesky(0.5 * h + 0.5 * h.T)  # h + hᵀ may overflow
        except np.linalg.LinAlgError as err:
            return Outcome(x, False, f"{err} (iteration {monitor.nit})", 2)
        p = -scipy.linalg.cho_solve(factor, g, check_finite=False)
        return _descend(problem, x, f, g, p, monitor, line_search)

    return iterate(problem, x0, monitor, maxiter=maxiter, tol=tol, step=step)
