"""What every solver shares: the monitor that watches iterations, and what a solver returns.

A solver is a function ``solver(problem, x0, monitor, *, maxiter, tol, **options) -> Outcome``
working on flat float64 vectors. It calls ``monitor.iteration(x, f, g)`` for x0 and then once per
iteration: the first report is iteration 0 (the start), so ``nit`` counts steps, as scipy does, and
the history has ``nit + 1`` entries. The monitor records the history, updates the progress bar,
calls the user's callback and raises ``StopOptimization`` when the run must end early (the
callback asked, or a value is not finite).
The front door (``diffopt.optimize``) catches it, so solvers need no stopping logic of their own.

``problem`` is a minimisation objective (``fun``, ``grad``, ``value_and_grad``, ``hessp``,
``hess``) or a least-squares problem (``residuals``, ``jvp``, ``vjp``, ``linearize``, ``jac``).
Solvers know nothing about automatic differentiation: they see only these callables.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import numpy as np


@dataclass
class Outcome:
    """What a solver returns: the final iterate and why it stopped (scipy's status codes)."""

    x: np.ndarray
    success: bool
    message: str
    status: int = 0
    extra: dict | None = None  # solver-specific fields for the result (e.g. scipy's own)


class StopOptimization(Exception):
    """Raised by the monitor to end a run; carries the reason."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


# scipy's status for "stopped by the callback" is 99 in minimize; ours count down from it.
STATUS_CALLBACK = 99
STATUS_NONFINITE = 98
STATUS_RAISED = 97  # the objective or the callback raised (the exception carries the result)


class Monitor:
    """Watches a run: history (f, gradient norm, step, time), progress bar, callback, NaN check."""

    def __init__(self, callback: Callable | None = None, progress: bool = False,
                 maxiter: int | None = None, make_intermediate: Callable | None = None):
        self.callback = callback
        self.make_intermediate = make_intermediate
        self.history = {"f": [], "grad_norm": [], "step": [], "time": []}
        self.last_x = None  # the last finite iterate
        self.last_f = None
        self.last_g = None
        self._start = time.perf_counter()
        self._bar = None
        if progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=maxiter, desc="optimize", leave=False)

    @property
    def nit(self) -> int:
        """Iterations (steps) recorded so far; the start x0 is iteration 0."""
        return max(len(self.history["f"]) - 1, 0)

    def iteration(self, x: np.ndarray, f: float, g: np.ndarray | None = None) -> None:
        """Record an iterate (the first call: x0); raises ``StopOptimization`` to end the run."""
        f = float(f)
        k = len(self.history["f"])  # this iterate's number
        gnorm = float(np.linalg.norm(g)) if g is not None else float("nan")
        if not np.isfinite(f) or (g is not None and not np.all(np.isfinite(g))):
            what = "objective" if not np.isfinite(f) else "gradient"
            value = f if what == "objective" else "NaN/inf"
            where = ("at x0 (iteration 0)" if k == 0 else
                     f"at iteration {k}; x holds the last finite iterate (iteration {k - 1})")
            raise StopOptimization(f"the {what} became non-finite ({value}) {where}",
                                   STATUS_NONFINITE)
        step = float(np.linalg.norm(x - self.last_x)) if self.last_x is not None else 0.0
        self.history["f"].append(f)
        self.history["grad_norm"].append(gnorm)
        self.history["step"].append(step)
        self.history["time"].append(time.perf_counter() - self._start)
        self.last_x, self.last_f, self.last_g = np.array(x, dtype=float, copy=True), f, g
        if k == 0:
            return  # the start: no progress tick, no callback (scipy calls it after steps only)
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(f=f"{f:.6g}", grad=f"{gnorm:.3g}", refresh=False)
        if self.callback is not None:
            info = self.make_intermediate(self) if self.make_intermediate else x
            try:
                stop = self.callback(info)
            except StopIteration:
                stop = True
            if stop is True:
                raise StopOptimization("stopped by the callback", STATUS_CALLBACK)

    def finish(self, x: np.ndarray, f: float, g: np.ndarray | None = None) -> None:
        """Record the returned point if the solver stepped there without reporting it (a loop
        that ends on maxiter), so that ``nit`` counts every step taken. No callback."""
        if self.last_x is not None and np.array_equal(self.last_x, x):
            return
        self.history["f"].append(float(f))
        self.history["grad_norm"].append(float(np.linalg.norm(g)) if g is not None else np.nan)
        self.history["step"].append(
            float(np.linalg.norm(x - self.last_x)) if self.last_x is not None else 0.0)
        self.history["time"].append(time.perf_counter() - self._start)
        self.last_x, self.last_f, self.last_g = np.array(x, dtype=float, copy=True), float(f), g

    def check_finite(self, f, g=None) -> None:
        """Stop at once on a non-finite value met outside ``iteration`` (inside a line search)."""
        if not np.isfinite(f) or (g is not None and not np.all(np.isfinite(g))):
            self.stop_nonfinite("the objective or its gradient became non-finite")

    def stop_nonfinite(self, what: str) -> NoReturn:
        """End the run on a non-finite value met between iterates (every trial point of a line
        search, a Jacobian product inside CG): ``what`` happened in the iteration under way."""
        k = len(self.history["f"])
        raise StopOptimization(f"{what}, in iteration {k}; x holds the last finite iterate "
                               f"(iteration {max(k - 1, 0)})", STATUS_NONFINITE)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()  # show the final f and gradient norm, even for a short run
            self._bar.close()
