"""``optimize()`` and ``least_squares()``: one front door to the solvers in ``solvers/``.

The user writes an objective with ``diffopt.numpy``; this module supplies its derivatives. The
parameters may be any pytree; solvers see a flat float64 vector through an adapter
(``Objective`` for minimisation, ``Residuals`` for least squares) that also counts evaluations, so
scipy and our own solvers use the same callables.

``method="auto"`` picks: ``l-bfgs-b`` when bounds are given; ``trust-exact`` (exact Hessians by
forward-over-reverse) for up to 100 parameters; ``l-bfgs-b`` above that.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable

import numpy as np
import scipy.optimize

import solvers

from . import numpy as dnp
from .core.pytree import tree_flatten, tree_unflatten
from .transforms import hessian, hvp, value_and_grad, vjp_and_jvp

__all__ = ["OptimizeResult", "Objective", "Residuals", "objective", "optimize", "least_squares"]

AUTO_SMALL = 100  # up to this many parameters, method="auto" uses exact Hessians


# --- flat views of pytrees ------------------------------------------------------------------------
class FlatView:
    """A pytree of arrays seen as one flat float64 vector, and back."""

    def __init__(self, tree, what: str = "x0"):
        leaves, self.treedef = tree_flatten(tree)
        if not leaves:
            raise ValueError(f"{what} has no arrays in it")
        arrays = []
        for leaf in leaves:
            a = np.asarray(leaf)
            if a.dtype.kind == "c":
                raise TypeError(f"{what} is complex; optimize over real parameters (split a "
                                "complex array into its real and imaginary parts)")
            if a.dtype.kind not in "f":
                warnings.warn(f"{what} has dtype {a.dtype}; optimizing over a float64 copy",
                              stacklevel=4)
            arrays.append(a)
        self.shapes = [a.shape for a in arrays]
        self.offsets = np.cumsum([0] + [a.size for a in arrays])
        self.x0 = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
        self.single = len(arrays) == 1

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def unravel(self, x):
        """The pytree for a flat vector (plain or traced: it slices with ``diffopt.numpy``)."""
        if self.single:
            return tree_unflatten(self.treedef, [dnp.reshape(x, self.shapes[0])])
        leaves = [dnp.reshape(x[self.offsets[k]:self.offsets[k + 1]], shape)
                  for k, shape in enumerate(self.shapes)]
        return tree_unflatten(self.treedef, leaves)

    def ravel(self, tree) -> np.ndarray:
        """A pytree of the same structure as one flat float64 vector."""
        leaves = tree_flatten(tree)[0]
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in leaves])


# --- minimisation objective -----------------------------------------------------------------------
class Objective:
    """scipy-ready callables on a flat float64 vector: ``fun``, ``jac``, ``hessp``, ``hess``.

    ``value_and_grad`` is memoised at the last point, so ``fun`` then ``jac`` at the same ``x``
    (scipy's habit) costs one forward and one reverse pass. ``nfev``, ``njev`` and ``nhev`` count
    function values, gradients and Hessian(-vector) products.
    """

    def __init__(self, fun: Callable, x0, args: tuple = ()):
        self.view = FlatView(x0)
        self.x0 = self.view.x0
        self.n = self.view.size
        self._user = fun
        self._args = tuple(args)
        self._flat = lambda x: fun(self.view.unravel(x), *self._args)
        self._vg = value_and_grad(self._flat)
        self._last = None  # (x, f, g)
        self.nfev = self.njev = self.nhev = 0

    def check(self) -> None:
        """Evaluate once at x0 and say clearly if the objective is not a real scalar (a
        validation call, not counted in ``nfev``)."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            f = self._user(self.view.unravel(self.x0), *self._args)  # a NaN is reported later
        shape = np.shape(f)
        if shape != () or np.iscomplexobj(f):
            what = f"an array of shape {shape}" if shape != () else "a complex number"
            raise ValueError(f"the objective must return a real scalar, but it returned {what}; "
                             "for residuals use diffopt.least_squares, or reduce to a scalar")

    def value_and_grad(self, x):
        """``(f(x), ∇f(x))`` as a float and a flat float64 vector."""
        last = self._last
        if last is not None and np.array_equal(last[0], x):
            return last[1], last[2]
        f, g = self._vg(np.asarray(x, dtype=np.float64))
        f, g = float(f), np.asarray(g, dtype=np.float64)
        self.nfev += 1
        self.njev += 1
        self._last = (np.array(x, dtype=np.float64, copy=True), f, g)
        return f, g

    def fun(self, x) -> float:
        """f(x)."""
        last = self._last
        if last is not None and np.array_equal(last[0], x):
            return last[1]
        self.nfev += 1
        return float(self._flat(np.asarray(x, dtype=np.float64)))

    def jac(self, x) -> np.ndarray:
        """∇f(x) (shares its evaluation with ``fun`` at the same point)."""
        return self.value_and_grad(x)[1]

    grad = jac

    def hessp(self, x, p) -> np.ndarray:
        """∇²f(x)·p by forward-over-reverse, without forming the Hessian."""
        self.nhev += 1
        return np.asarray(hvp(self._flat, np.asarray(x, dtype=np.float64),
                              np.asarray(p, dtype=np.float64)), dtype=np.float64)

    def hess(self, x) -> np.ndarray:
        """The dense Hessian ∇²f(x) (n x n), forward-over-reverse."""
        self.nhev += 1
        return np.asarray(hessian(self._flat)(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def unravel(self, x):
        """The pytree of parameters for a flat vector."""
        return self.view.unravel(np.asarray(x))


def objective(fun: Callable, x0, args: tuple = ()) -> Objective:
    """scipy-ready callables for ``fun`` on a flat float64 vector, derivatives by diffopt.

    >>> obj = objective(rosen, x0)
    >>> scipy.optimize.minimize(obj.fun, obj.x0, jac=obj.jac, hessp=obj.hessp, method="trust-ncg")
    """
    return Objective(fun, x0, args)


# --- least-squares residuals ----------------------------------------------------------------------
class Residuals:
    """A residual function on a flat float64 vector, with matrix-free Jacobian products.

    ``linearize(x)`` returns ``(r, jvp, vjp)`` from one recorded forward pass: ``jvp(v) = J v`` and
    ``vjp(u) = Jᵀ u`` as often as a solver wants. ``jac(x)`` builds the dense m x n Jacobian (for
    small problems). ``nfev`` counts residual evaluations, ``njev`` Jacobian products or matrices.
    """

    def __init__(self, fun: Callable, x0, args: tuple = ()):
        self.view = FlatView(x0)
        self.x0 = self.view.x0
        self.n = self.view.size
        self._args = tuple(args)
        self._flat = lambda x: self._ravel_out(fun(self.view.unravel(x), *self._args))
        self.nfev = self.njev = self.nhev = 0

    @staticmethod
    def _ravel_out(out):
        leaves = tree_flatten(out)[0]
        if len(leaves) == 1:
            return dnp.ravel(leaves[0])
        return dnp.concatenate([dnp.ravel(leaf) for leaf in leaves])

    def residuals(self, x) -> np.ndarray:
        """r(x) as a flat float64 vector."""
        self.nfev += 1
        return np.asarray(self._flat(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def peek_residuals(self, x) -> np.ndarray:
        """r(x) for reporting, not counted as an evaluation."""
        return np.asarray(self._flat(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def linearize(self, x):
        """``(r, jvp, vjp)`` at ``x``: residuals and the two Jacobian products, from one pass."""
        self.nfev += 1
        r, pull, push = vjp_and_jvp(self._flat, np.asarray(x, dtype=np.float64))

        def jvp(v):
            self.njev += 1
            return np.asarray(push(np.asarray(v, dtype=np.float64)), dtype=np.float64)

        def vjp(u):
            self.njev += 1
            return np.asarray(pull(np.asarray(u, dtype=np.float64))[0], dtype=np.float64)

        return np.asarray(r, dtype=np.float64), jvp, vjp

    def jac(self, x) -> np.ndarray:
        """The dense Jacobian (m x n), by the cheaper AD mode."""
        from .transforms import jacobian

        self.njev += 1
        return np.asarray(jacobian(self._flat)(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def unravel(self, x):
        return self.view.unravel(np.asarray(x))


# --- result ---------------------------------------------------------------------------------------
class OptimizeResult(scipy.optimize.OptimizeResult):
    """scipy's result fields (``x, fun, jac, success, status, message, nit, nfev, njev, nhev``) plus
    ``history`` (per iteration: ``f``, ``grad_norm``, ``step``, ``time``) and ``plot()``.

    >>> res = optimize(rosen, np.zeros(2)); res.plot("convergence.png")
    """

    def plot(self, path=None, ax=None):
        """Convergence curves: f and the gradient norm against iteration. Saves PNG at ``path``."""
        import matplotlib

        if path is not None and ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        hist = self.get("history") or {}
        f = np.asarray(hist.get("f", []), dtype=float)
        g = np.asarray(hist.get("grad_norm", []), dtype=float)
        if ax is None:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        else:
            fig, axes = ax[0].figure, ax
        it = np.arange(len(f))
        shift = f - min(f.min(), 0.0) + 1e-300 if f.size else f
        axes[0].semilogy(it, shift) if f.size and np.all(shift > 0) else axes[0].plot(it, f)
        axes[0].set(xlabel="iteration", ylabel="f", title=f"{self.get('method', '')}: objective")
        axes[1].semilogy(it, g)
        axes[1].set(xlabel="iteration", ylabel="‖∇f‖", title="gradient norm")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig


# --- the driver -----------------------------------------------------------------------------------
def _choose(method: str, n: int, bounds) -> str:
    if method != "auto":
        return method
    if bounds is not None:
        return "l-bfgs-b"
    return "trust-exact" if n <= AUTO_SMALL else "l-bfgs-b"


def _flat_bounds(bounds, view: FlatView):
    """Bounds as two flat vectors (lo, hi); accepts (lo, hi) of scalars or pytrees like x0, a
    scipy ``Bounds``, or a sequence of n (lo, hi) pairs (None: unbounded)."""
    if bounds is None:
        return None
    n = view.size
    if isinstance(bounds, scipy.optimize.Bounds):
        lo, hi = bounds.lb, bounds.ub
    elif len(bounds) == 2 and not (n == 2 and all(isinstance(b, (tuple, list)) for b in bounds)):
        lo, hi = (view.ravel(b) if not np.isscalar(b) and b is not None else b for b in bounds)
    else:
        if len(bounds) != n:
            raise ValueError(f"bounds: give (lo, hi), or one (lo, hi) pair per parameter ({n})")
        lo, hi = zip(*bounds)
    lo = np.broadcast_to(np.asarray([-np.inf if v is None else v for v in np.ravel(lo)]
                                    if lo is not None else -np.inf, dtype=float), (n,))
    hi = np.broadcast_to(np.asarray([np.inf if v is None else v for v in np.ravel(hi)]
                                    if hi is not None else np.inf, dtype=float), (n,))
    if np.any(lo > hi):
        raise ValueError("bounds: a lower bound exceeds its upper bound")
    return np.array(lo), np.array(hi)


def _check_options(info, options: dict) -> None:
    params = inspect.signature(info.fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    fixed = {"problem", "x0", "monitor", "maxiter", "tol", "bounds"}
    allowed = [p for p in params if p not in fixed]
    for key in options:
        if key not in allowed:
            raise TypeError(f"method {info.name!r} has no option {key!r}; its options are: "
                            f"{', '.join(allowed) or 'none'}")


def _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary):
    """Run a registered solver on ``problem`` and assemble the ``OptimizeResult``.

    ``summary(x, monitor) -> (result fields, f, g)`` describes the final point."""
    options = dict(options or {})
    _check_options(info, options)
    if bounds is not None and not info.bounds:
        raise ValueError(f"method {info.name!r} does not take bounds; methods that do: "
                         f"{', '.join(solvers.with_bounds(info.kind))}")
    maxiter = info.default_maxiter if maxiter is None else int(maxiter)
    monitor = solvers.Monitor(callback, progress, maxiter, make_intermediate=lambda m: (
        OptimizeResult(x=problem.unravel(m.last_x), fun=m.last_f, nit=m.nit,
                       jac=None if m.last_g is None else problem.unravel(m.last_g))))
    kwargs = dict(maxiter=maxiter, tol=tol, **options)
    if info.bounds:
        kwargs["bounds"] = _flat_bounds(bounds, problem.view)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # a diverging run is reported in the result, not by NumPy warnings
            out = info.fn(problem, problem.x0.copy(), monitor, **kwargs)
        x, success, status, message, extra = out.x, out.success, out.status, out.message, out.extra
    except solvers.StopOptimization as stop:
        x = monitor.last_x if monitor.last_x is not None else problem.x0
        success, status, message, extra = False, stop.status, stop.message, None
    finally:
        monitor.close()
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fields, f, g = summary(x, monitor)
    if status != solvers.base.STATUS_NONFINITE:
        monitor.finish(x, f, g)
    res = OptimizeResult(x=problem.unravel(x), success=bool(success),
                         status=status, message=message, nit=monitor.nit, method=info.name,
                         history={k: np.asarray(v) for k, v in monitor.history.items()})
    res.update(fields)
    res.update(nfev=problem.nfev, njev=problem.njev, nhev=problem.nhev)
    if extra:
        res.update(extra)
    return res


def optimize(fun: Callable, x0, method: str = "auto", *, args: tuple = (), bounds=None,
             tol: float | None = None, maxiter: int | None = None, callback: Callable | None = None,
             progress: bool = False, options: dict | None = None) -> OptimizeResult:
    """Minimise a scalar function written with ``diffopt.numpy``; derivatives come from diffopt.

    ``x0`` may be a pytree (a dict of arrays for a network): the result's ``x`` has its structure.
    ``method``: any of ``solvers.available()`` or "auto" (see the module docstring).
    ``callback(intermediate_result)`` may stop the run by returning True or raising
    StopIteration; ``progress=True`` shows a tqdm bar. ``options`` go to the solver (e.g. ``lr``).

    >>> res = optimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(2))
    >>> res.x  # [3., 3.]
    """
    problem = Objective(fun, x0, args)
    problem.check()
    info = solvers.get(_choose(method, problem.n, bounds), "minimize")

    def summary(x, monitor):
        if monitor.last_x is not None and np.array_equal(monitor.last_x, x) \
                and monitor.last_g is not None:
            f, g = monitor.last_f, monitor.last_g
        else:
            f, g = problem.value_and_grad(x)
        return {"fun": f, "jac": problem.unravel(g)}, f, g

    return _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary)


def least_squares(residuals: Callable, x0, method: str = "lm", *, args: tuple = (),
                  bounds=None, tol: float | None = None, maxiter: int | None = None,
                  callback: Callable | None = None, progress: bool = False,
                  options: dict | None = None) -> OptimizeResult:
    """Minimise ½‖r(x)‖² for residuals ``r`` written with ``diffopt.numpy``.

    ``method``: "lm" (Levenberg-Marquardt) and "gauss-newton", ours and matrix-free (Jacobian
    products by JVP/VJP); "trf" and "scipy-lm", scipy's ``least_squares`` fed an AD Jacobian. The
    result has scipy's fields: ``x``, ``cost`` (½‖r‖²), ``fun`` (the residuals), ``grad`` (Jᵀr).

    >>> res = least_squares(lambda p: p[0] * np.exp(p[1] * t) - y, np.array([1.0, 0.0]))
    """
    problem = Residuals(residuals, x0, args)
    info = solvers.get(method, "least_squares")

    def summary(x, monitor):
        if monitor.last_x is not None and np.array_equal(monitor.last_x, x) \
                and monitor.last_g is not None:
            r, g = problem.peek_residuals(x), monitor.last_g  # no new linearization
        else:
            r, _, pull = problem.linearize(x)
            g = pull(r)
        cost = 0.5 * float(r @ r)
        return {"fun": r, "cost": cost, "grad": g,
                "optimality": float(np.max(np.abs(g))) if g.size else 0.0}, cost, g

    return _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary)
