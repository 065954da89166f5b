"""``optimize()`` and ``least_squares()``: one front door to the solvers in ``solvers/``.

The user writes an objective with ``diffopt.numpy``; this module supplies its derivatives. The
parameters may be any pytree; solvers see a flat float64 vector through an adapter
(``Objective`` for minimisation, ``Residuals`` for least squares) that also counts evaluations, so
scipy and our own solvers use the same callables.

``method="auto"`` picks: ``l-bfgs-b`` when bounds are given; ``trust-exact`` (exact Hessians by
forward-over-reverse) for up to 100 parameters; ``l-bfgs-b`` above that.

The inputs are checked in ``optimize_checks`` before anything runs. A run never loses its work:
if the user's function or callback raises (or Ctrl-C), the exception propagates with the result
so far as ``exc.result`` and a note saying so (``_keeping_work``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import scipy.optimize

from . import numpy as dnp
from . import optimize_checks as checks
from . import solvers
from .core.pytree import tree_flatten, tree_structure, tree_unflatten
from .transforms import hessian, hvp, value_and_grad, vjp_and_jvp

__all__ = ["OptimizeResult", "Objective", "Residuals", "objective", "optimize", "least_squares"]

AUTO_SMALL = 100  # up to this many parameters, method="auto" uses exact Hessians


# --- flat views of pytrees ------------------------------------------------------------------------
class FlatView:
    """A pytree of arrays seen as one flat float64 vector, and back."""

    def __init__(self, tree, what: str = "x0"):
        arrays = checks.parameter_arrays(tree, what)
        self.treedef = tree_structure(tree)
        # a list or tuple of numbers is a pytree of scalars (a common slip for a vector)
        self.scalar_sequence = type(tree).__name__ if isinstance(tree, (list, tuple)) and all(
            a.ndim == 0 for a in arrays) else None
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


# --- the user's function on a flat vector ---------------------------------------------------------
class UserFunction:
    """The user's function of a parameter pytree, called on a flat float64 vector (``call``).

    Checks its inputs (``fun``, ``x0``, ``args``); ``raised`` is the last exception the user's
    function raised (so the front door knows where an exception came from); ``nfev``, ``njev``,
    ``nhev`` count evaluations as scipy does.
    """

    what = "the function"

    def __init__(self, fun: Callable, x0, args: tuple = ()):
        checks.check_callable(fun, self.what)
        self.view = FlatView(x0)
        self.x0 = self.view.x0
        self.n = self.view.size
        self._user = fun
        self._args = checks.check_args(args)
        self.raised = None
        self.nfev = self.njev = self.nhev = 0

    def call(self, x):
        """The user's function at the flat point ``x`` (plain or traced)."""
        try:
            return self._user(self.view.unravel(x), *self._args)
        except BaseException as exc:
            self.raised = exc
            raise

    def first_call(self):
        """The user's function at x0, as the front doors' check call (not counted). If it fails
        on an x0 that is a list or tuple of numbers, the error says that such an x0 is a
        pytree."""
        view = self.view
        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                return self._user(view.unravel(view.x0), *self._args)  # NaN: the solver says
        except Exception as exc:
            if view.scalar_sequence:
                add_note(exc, f"diffopt: x0 is a {view.scalar_sequence} of {len(view.shapes)} "
                         "numbers, which is a pytree: the function receives a "
                         f"{view.scalar_sequence} of scalars, not a vector. Pass np.asarray(x0) "
                         "to optimize over a vector.")
            raise

    def unravel(self, x):
        """The pytree of parameters for a flat vector."""
        return self.view.unravel(np.asarray(x))


# --- minimisation objective -----------------------------------------------------------------------
class Objective(UserFunction):
    """scipy-ready callables on a flat float64 vector: ``fun``, ``jac``, ``hessp``, ``hess``.

    ``value_and_grad`` is memoised at the last point, so ``fun`` then ``jac`` at the same ``x``
    (scipy's habit) costs one forward and one reverse pass. ``nfev``, ``njev`` and ``nhev`` count
    function values, gradients and Hessian(-vector) products.
    """

    what = "the objective"

    def __init__(self, fun: Callable, x0, args: tuple = ()):
        super().__init__(fun, x0, args)
        self._flat = self.call
        self._vg = value_and_grad(self._flat)
        self._last = None  # (x, f, g)

    def check(self) -> None:
        """Evaluate once at x0 and say clearly if the objective is not a real scalar (a
        validation call, not counted in ``nfev``)."""
        f = self.first_call()
        shape, kind = np.shape(f), np.asarray(f).dtype.kind
        if shape != ():
            what = f"an array of shape {shape}"
        elif kind == "c":
            what = "a complex number"
        elif kind not in "biuf":
            what = f"{type(f).__name__} {f!r}"
        else:
            return
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


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` (Python 3.11+); on 3.10 the note is kept in ``__notes__``, which
    is what 3.11 shows and what the exceptiongroup backport prints."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
        return
    try:
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass


def objective(fun: Callable, x0, args: tuple = ()) -> Objective:
    """scipy-ready callables for ``fun`` on a flat float64 vector, derivatives by diffopt.

    >>> rosen = lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> obj = objective(rosen, np.zeros(2))
    >>> obj.fun(obj.x0), obj.jac(obj.x0)
    (1.0, array([-2.,  0.]))
    >>> res = scipy.optimize.minimize(obj.fun, obj.x0, jac=obj.jac, hessp=obj.hessp,
    ...                               method="trust-ncg")
    >>> res.success
    True
    """
    return Objective(fun, x0, args)


# --- least-squares residuals ----------------------------------------------------------------------
class Residuals(UserFunction):
    """A residual function on a flat float64 vector, with matrix-free Jacobian products.

    ``linearize(x)`` returns ``(r, jvp, vjp)`` from one recorded forward pass: ``jvp(v) = J v`` and
    ``vjp(u) = Jᵀ u`` as often as a solver wants. ``jac(x)`` builds the dense m x n Jacobian (for
    small problems). ``nfev`` counts residual evaluations, ``njev`` Jacobian products or matrices.
    """

    what = "the residual function"

    def __init__(self, fun: Callable, x0, args: tuple = ()):
        super().__init__(fun, x0, args)
        self.complex = False  # complex residuals: the flat vector is [Re r, Im r] (see check)
        self._flat = lambda x: self._ravel_out(self.call(x))

    def check(self) -> None:
        """Evaluate once at x0 (not counted) and say clearly if the residuals are not numbers or
        there are none. Complex residuals r count as their real and imaginary parts: ½‖r‖² =
        ½Σ|rᵢ|² = ½‖[Re r, Im r]‖², so the solvers see the real vector [Re r, Im r]."""
        arrays = [np.asarray(leaf) for leaf in tree_flatten(self.first_call())[0]]
        if not sum(a.size for a in arrays):
            raise ValueError("the residual function returned no residuals; it must return the "
                             "vector r(x) (an array, or a pytree of arrays) whose ½‖r‖² is "
                             "minimised")
        kinds = {a.dtype.kind for a in arrays}
        if not kinds <= set("biufc"):
            raise TypeError(f"the residual function must return numbers, but it returned "
                            f"arrays of dtype {', '.join(str(a.dtype) for a in arrays)}")
        self.complex = "c" in kinds

    def _ravel_out(self, out):
        leaves = tree_flatten(out)[0]
        r = dnp.ravel(leaves[0]) if len(leaves) == 1 else dnp.concatenate(
            [dnp.ravel(leaf) for leaf in leaves])
        return dnp.concatenate([dnp.real(r), dnp.imag(r)]) if self.complex else r

    def user_residuals(self, r: np.ndarray) -> np.ndarray:
        """The flat residuals as the user's function returns them: complex ones rebuilt from
        [Re r, Im r]."""
        if not self.complex:
            return r
        m = r.size // 2
        return r[:m] + 1j * r[m:]

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
        from .modes import jacobian

        self.njev += 1
        return np.asarray(jacobian(self._flat)(np.asarray(x, dtype=np.float64)), dtype=np.float64)


# --- result ---------------------------------------------------------------------------------------
class OptimizeResult(scipy.optimize.OptimizeResult):
    """scipy's result fields (``x, fun, jac, success, status, message, nit, nfev, njev, nhev``) plus
    ``history`` (per iteration: ``f``, ``grad_norm``, ``step``, ``time``) and ``plot()``.

    >>> res = optimize(lambda x: dnp.sum((x - 3.0) ** 2), np.zeros(2))
    >>> sorted(res.history)  # res.plot("convergence.png") draws f and grad_norm
    ['f', 'grad_norm', 'step', 'time']
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
    if method.lower() != "auto":
        return method
    if bounds is not None:
        return "l-bfgs-b"
    return "trust-exact" if n <= AUTO_SMALL else "l-bfgs-b"


def _result(problem, info, monitor, x, success, status, message, fields, extra=None):
    """The ``OptimizeResult`` of a run that ended at the flat point ``x``."""
    res = OptimizeResult(x=problem.unravel(x), success=bool(success), status=status,
                         message=message, nit=monitor.nit, method=info.name,
                         history={k: np.asarray(v) for k, v in monitor.history.items()})
    res.update(fields)
    res.update(nfev=problem.nfev, njev=problem.njev, nhev=problem.nhev)
    if extra:
        res.update(extra)
    return res


@contextmanager
def _keeping_work(problem, info, monitor, summary):
    """Closes the monitor. An exception from the user's function, from the callback or Ctrl-C
    propagates unchanged, carrying the work so far as ``exc.result`` (success False, x the last
    accepted iterate, the history up to it) and a note that says so. (A solver's own error
    before x0 was recorded, a bad option, carries nothing: no work was done.)"""
    try:
        yield
    except BaseException as exc:
        if (exc is problem.raised or isinstance(exc, KeyboardInterrupt)
                or monitor.last_x is not None):
            exc.result = _interrupted(problem, info, monitor, summary, exc)
            front = "optimize" if info.kind == "minimize" else info.kind
            add_note(exc, f"diffopt.{front}(method={info.name!r}) was interrupted; the work "
                     f"done is kept in this exception's .result: {exc.result.message}")
        raise
    finally:
        monitor.close()
        problem.raised = None  # no reference cycle through the traceback


def _interrupted(problem, info, monitor, summary, exc) -> OptimizeResult:
    """The result of a run that ``exc`` interrupted: what the monitor recorded, no new calls."""
    name = type(exc).__name__
    if monitor.last_x is None:
        x, message = problem.x0, f"{name} raised at x0, before iteration 0; x is x0"
    else:
        x, message = monitor.last_x, (
            f"{name} raised after iteration {monitor.nit}; x is the last accepted iterate "
            f"(iteration {monitor.nit}, f = {monitor.last_f:.6g}), the history holds iterations "
            f"0 to {monitor.nit}")
    fields = summary(x, monitor, evaluate=False)[0]
    return _result(problem, info, monitor, x, False, solvers.base.STATUS_RAISED, message, fields)


def _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary):
    """Check the inputs, run a registered solver on ``problem`` and assemble the result.

    ``summary(x, monitor, evaluate=True) -> (result fields, f, g)`` describes the final point;
    with ``evaluate=False`` it calls no user code and uses what the monitor recorded."""
    maxiter, tol, options, flat_bounds = checks.run_settings(
        info, problem.view, problem.x0, bounds, tol, maxiter, callback, options)
    problem.check()
    monitor = solvers.Monitor(callback, progress, maxiter, make_intermediate=lambda m: (
        OptimizeResult(x=problem.unravel(m.last_x), fun=m.last_f, nit=m.nit,
                       jac=None if m.last_g is None else problem.unravel(m.last_g))))
    kwargs = dict(maxiter=maxiter, tol=tol, **options)
    if info.bounds:
        kwargs["bounds"] = flat_bounds
    with _keeping_work(problem, info, monitor, summary), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # a diverging run is reported in the result, not by NumPy warnings
        try:
            out = info.fn(problem, problem.x0.copy(), monitor, **kwargs)
            x, success, status, message, extra = (out.x, out.success, out.status, out.message,
                                                  out.extra)
        except solvers.StopOptimization as stop:
            x = monitor.last_x if monitor.last_x is not None else problem.x0
            success, status, message, extra = False, stop.status, stop.message, None
        x = np.asarray(x, dtype=float)
        fields, f, g = summary(x, monitor)
    if status != solvers.base.STATUS_NONFINITE:
        monitor.finish(x, f, g)
    return _result(problem, info, monitor, x, success, status, message, fields, extra)


def _recorded(monitor, x) -> bool:
    """The monitor holds f and the gradient at ``x`` (no evaluation needed)."""
    return (monitor.last_x is not None and monitor.last_g is not None
            and np.array_equal(monitor.last_x, x))


def optimize(fun: Callable, x0, method: str = "auto", *, args: tuple = (), bounds=None,
             tol: float | None = None, maxiter: int | None = None, callback: Callable | None = None,
             progress: bool = False, options: dict | None = None) -> OptimizeResult:
    """Minimise a scalar function written with ``diffopt.numpy``; derivatives come from diffopt.

    ``x0`` may be a pytree (a dict of arrays for a network): the result's ``x`` has its structure.
    ``method``: any of ``solvers.available()`` or "auto" (see the module docstring).
    ``callback(intermediate_result)`` may stop the run by returning True or raising
    StopIteration; ``progress=True`` shows a tqdm bar. ``options`` go to the solver (e.g. ``lr``).
    If ``fun`` or the callback raises (or Ctrl-C), the exception propagates with the work so far
    as ``exc.result``: an ``OptimizeResult`` at the last accepted iterate, ``success=False``.

    >>> res = optimize(lambda x: dnp.sum((x - 3.0) ** 2), np.zeros(2))
    >>> res.success, np.allclose(res.x, [3.0, 3.0])
    (True, True)
    """
    problem = Objective(fun, x0, args)
    info = solvers.get(_choose(checks.check_method(method), problem.n, bounds), "minimize")

    def summary(x, monitor, evaluate=True):
        if _recorded(monitor, x) or not evaluate:
            f, g = monitor.last_f, monitor.last_g
        else:
            f, g = problem.value_and_grad(x)
        return {"fun": f, "jac": None if g is None else problem.unravel(g)}, f, g

    return _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary)


def least_squares(residuals: Callable, x0, method: str = "lm", *, args: tuple = (),
                  bounds=None, tol: float | None = None, maxiter: int | None = None,
                  callback: Callable | None = None, progress: bool = False,
                  options: dict | None = None) -> OptimizeResult:
    """Minimise ½‖r(x)‖² for residuals ``r`` written with ``diffopt.numpy``.

    ``method``: "lm" (Levenberg-Marquardt) and "gauss-newton", ours and matrix-free (Jacobian
    products by JVP/VJP); "trf" and "scipy-lm", scipy's ``least_squares`` fed an AD Jacobian. The
    result has scipy's fields: ``x``, ``cost`` (½‖r‖²), ``fun`` (the residuals), ``grad`` (Jᵀr).
    Complex residuals count as their real and imaginary parts (½‖r‖² = ½Σ|rᵢ|²); ``fun`` is
    then complex. An exception from ``residuals`` or the callback carries ``exc.result``, as in
    ``optimize`` (its ``fun`` is None: the residuals are not evaluated again).

    >>> t = np.linspace(0.0, 1.0, 5)
    >>> y = 2.0 * np.exp(-t)
    >>> res = least_squares(lambda p: p[0] * dnp.exp(p[1] * t) - y, np.array([1.0, 0.0]))
    >>> np.allclose(res.x, [2.0, -1.0])
    True
    """
    problem = Residuals(residuals, x0, args)
    info = solvers.get(checks.check_method(method), "least_squares")

    def summary(x, monitor, evaluate=True):
        if _recorded(monitor, x) or not evaluate:
            g = monitor.last_g  # no new linearization
            r = problem.peek_residuals(x) if evaluate else None
        else:
            r, _, pull = problem.linearize(x)
            g = pull(r)
        cost = monitor.last_f if r is None else 0.5 * float(r @ r)
        optimality = float(np.max(np.abs(g), initial=0.0)) if g is not None else np.nan
        return {"fun": None if r is None else problem.user_residuals(r), "cost": cost,
                "grad": g, "optimality": optimality}, cost, g

    return _run(problem, info, bounds, tol, maxiter, callback, progress, options, summary)
