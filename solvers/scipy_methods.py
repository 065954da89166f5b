"""scipy.optimize methods fed by the problem's derivatives: trust regions, Newton-CG, (L-)BFGS(-B).

Every method here is one row of ``METHODS`` (our name -> scipy's name, the derivatives it is given,
the scipy options it passes through) and one shared driver, ``_minimize``, that calls
``scipy.optimize.minimize`` with

- ``fun=value_and_grad, jac=True``: one forward and one reverse pass per point;
- ``hessp=problem.hessp`` (trust-ncg, trust-krylov, newton-cg-scipy: forward-over-reverse products,
  no Hessian matrix) or ``hess=problem.hess`` (trust-exact: the dense Hessian);
- ``callback(intermediate_result)``, which hands every iterate to ``monitor.iteration`` with the
  gradient already computed at that point (no second pass), so ``nit`` is scipy's iteration count;
- ``tol`` as scipy's own ``minimize(tol=...)``: the gradient tolerance ``gtol`` for bfgs and the
  trust regions, ``xtol`` for newton-cg-scipy, ``ftol`` and ``gtol`` for l-bfgs-b. An explicit
  option (``gtol=...``) wins over ``tol``; options left at None take scipy's defaults.

A NaN or inf in f, its gradient or a Hessian product ends the run at the point where it appears,
also at trial points scipy would otherwise keep going from.

>>> import diffopt, diffopt.numpy as dnp
>>> rosen = lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
>>> res = diffopt.optimize(rosen, np.zeros(10), "trust-ncg", options={"initial_trust_radius": 0.5})
>>> res.success, np.allclose(res.x, 1.0, atol=1e-4)
(True, True)
"""

from __future__ import annotations

import inspect
from collections import deque
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from .base import STATUS_NONFINITE, Outcome, StopOptimization
from .registry import register

_TRUST = ("gtol", "initial_trust_radius", "max_trust_radius", "eta")


@dataclass(frozen=True)
class ScipyMethod:
    """One scipy method as we expose it."""

    scipy_name: str  # the name scipy.optimize.minimize knows it by
    uses: tuple  # derivatives given to scipy: "grad" always, then "hessp" or "hess"
    options: tuple  # scipy options passed through (keyword parameters, default None = scipy's)
    summary: str
    bounds: bool = False
    default_maxiter: int = 10000  # scipy's own default is 200 * n (15000 for l-bfgs-b)


METHODS = {
    "trust-ncg": ScipyMethod("trust-ncg", ("grad", "hessp"), _TRUST,
                             "Newton-CG trust region (scipy) with Hessian-vector products."),
    "trust-krylov": ScipyMethod("trust-krylov", ("grad", "hessp"), _TRUST + ("inexact",),
                                "Nearly exact trust region by Lanczos/GLTR (scipy) with "
                                "Hessian-vector products."),
    "trust-exact": ScipyMethod("trust-exact", ("grad", "hess"), _TRUST,
                               "Nearly exact trust region (scipy) with dense Hessians; small n."),
    "newton-cg-scipy": ScipyMethod("newton-cg", ("grad", "hessp"), ("xtol", "c1", "c2"),
                                   "scipy's line-search Newton-CG with Hessian-vector products."),
    "bfgs": ScipyMethod("bfgs", ("grad",), ("gtol", "norm", "xrtol", "c1", "c2", "hess_inv0"),
                        "BFGS (scipy): dense inverse-Hessian updates from gradients."),
    "l-bfgs-b": ScipyMethod("l-bfgs-b", ("grad",), ("maxcor", "ftol", "gtol", "maxfun", "maxls"),
                            "L-BFGS-B (scipy): limited-memory BFGS with box bounds.", bounds=True,
                            default_maxiter=15000),
}


class _Evaluations:
    """``value_and_grad`` as scipy sees it: checked for NaN/inf, and remembering the points scipy
    stands at, so the per-iteration callback finds the gradient at the iterate without another
    pass (after a rejected trust-region step the iterate is an older point than the last one
    evaluated)."""

    def __init__(self, problem, monitor, keep: int = 3):
        self.problem, self.monitor = problem, monitor
        self.recent: deque = deque(maxlen=keep)  # (x, f, g) of the last points evaluated
        self.current = None  # (x, f, g) at scipy's current iterate (x0 at first)

    def value_and_grad(self, x):
        f, g = self.problem.value_and_grad(x)
        if not np.isfinite(f):
            self._stop("objective", f)
        self._finite(g, "gradient")
        entry = (np.array(x, dtype=float, copy=True), f, g)
        self.recent.append(entry)
        if self.current is None:
            self.current = entry
        return f, g.copy()  # scipy may keep or change its copy; ours stays the memo

    def hessp(self, x, p):
        return self._finite(self.problem.hessp(x, p), "Hessian-vector product")

    def hess(self, x):
        return self._finite(self.problem.hess(x), "Hessian")

    def _finite(self, value, what):
        if not np.all(np.isfinite(value)):
            self._stop(what, "NaN/inf")
        return value

    def _stop(self, what, value):
        """End the run at a non-finite value (scipy would go on from a NaN: a trust region
        rejects the step and proposes the same one again, a line search interpolates NaN)."""
        nit = self.monitor.nit  # iterations completed, counted as scipy does
        where = ("x0 (iteration 0)" if self.current is None
                 else f"a point tried in iteration {nit + 1}")
        raise StopOptimization(
            f"the {what} became non-finite ({value}) at {where}; x holds the last finite "
            f"iterate ({'x0' if nit == 0 else f'after iteration {nit}'})", STATUS_NONFINITE)

    def at(self, x):
        for entry in (self.current, *reversed(self.recent)):
            if entry is not None and np.array_equal(entry[0], x):
                return entry
        f, g = self.problem.value_and_grad(x)  # not met in scipy's methods here; kept for safety
        return np.array(x, dtype=float, copy=True), f, g

    def callback(self, intermediate_result):
        """scipy's per-iteration callback (the ``intermediate_result`` form, scipy >= 1.11)."""
        self.current = entry = self.at(intermediate_result.x)
        self.monitor.iteration(entry[0], entry[1], entry[2])  # may raise StopOptimization


def _minimize(method: ScipyMethod, problem, x0, monitor, maxiter, tol, bounds, options) -> Outcome:
    """The one call to ``scipy.optimize.minimize`` behind every method of this module."""
    evals = _Evaluations(problem, monitor)
    monitor.iteration(x0, *evals.value_and_grad(x0))  # the start; scipy's first call reuses it
    opts = {k: v for k, v in options.items() if v is not None}
    opts["maxiter"] = int(maxiter)
    if method.scipy_name == "l-bfgs-b":  # let maxiter be the limit that binds
        opts.setdefault("maxfun", max(15000, 100 * int(maxiter)))
    res = scipy.optimize.minimize(
        evals.value_and_grad, x0, method=method.scipy_name, jac=True,
        hessp=evals.hessp if "hessp" in method.uses else None,
        hess=evals.hess if "hess" in method.uses else None,
        bounds=None if bounds is None else scipy.optimize.Bounds(*bounds),
        tol=tol, callback=evals.callback, options=opts)
    extra = {k: res[k] for k in ("hess_inv", "hess") if k in res}
    return Outcome(np.asarray(res.x, dtype=float), bool(res.success), str(res.message),
                   int(res.status), extra or None)


def _make_solver(name: str, method: ScipyMethod):
    """A registered solver for one row of ``METHODS``: its options are explicit keyword
    parameters of its signature (what ``optimize`` checks option names against)."""

    def solver(problem, x0, monitor, *, maxiter, tol, bounds=None, **options):
        return _minimize(method, problem, x0, monitor, maxiter, tol, bounds, options)

    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
              for p in ("problem", "x0", "monitor")]
    params += [inspect.Parameter("maxiter", kw), inspect.Parameter("tol", kw)]
    params += [inspect.Parameter("bounds", kw, default=None)] if method.bounds else []
    params += [inspect.Parameter(opt, kw, default=None) for opt in method.options]
    solver.__signature__ = inspect.Signature(params)
    solver.__name__ = solver.__qualname__ = name.replace("-", "_")
    solver.__doc__ = (f"{method.summary}\n\nscipy.optimize.minimize(method={method.scipy_name!r}); "
                      f"options (None: scipy's default): {', '.join(method.options)}.")
    return register(name, bounds=method.bounds, uses=method.uses,
                    default_maxiter=method.default_maxiter)(solver)


SOLVERS = {name: _make_solver(name, method) for name, method in METHODS.items()}

__all__ = ["METHODS", "SOLVERS", "ScipyMethod"]
