"""Every registered solver on Rosenbrock's function, n = 2 and n = 1000.

f(x) = Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², minimum 0 at x = (1, ..., 1). Each minimisation solver in
``solvers.available()`` runs on f through ``diffopt.optimize``; each least-squares solver runs on
the residuals rᵢ = (10 (xᵢ₊₁ − xᵢ²), 1 − xᵢ) (½‖r‖² = f/2) through ``diffopt.least_squares``.
The start is the classic (−1.2, 1) for n = 2 and (0.5, ..., 0.5) for larger n.

A table of nit, nfev, njev, nhev, wall time and the final error ‖x − 1‖, and two plots: the paths
of the solvers over the contours for n = 2, and f against iteration for each n. To keep the example
fast, first-order methods stop after ``FIRST_ORDER_MAXITER`` iterations (they need many thousands
here), and on the large problem scipy's BFGS (O(n³) work per iteration) is capped and scipy's
MINPACK ``lm`` (a dense QR of the 2(n − 1) x n Jacobian per iteration) is skipped, as the table
says.
"""

from __future__ import annotations

import numpy as np

import diffopt
import diffopt.numpy as dnp

from .. import solvers
from ..timing import timed
from ._shared import figure, output_dir, print_table, save

# Step sizes that are stable on Rosenbrock from these starts (gd: Armijo backtracking).
FIRST_ORDER = {"gd": {}, "momentum": {"lr": 1e-3}, "nesterov": {"lr": 5e-4},
               "adam": {"lr": 3e-2}}
FIRST_ORDER_MAXITER = {False: 2000, True: 500}  # by quick
SETTINGS = {  # method: (keyword arguments, note)
    "newton-cg-scipy": ({"tol": 1e-8}, "tol 1e-8 (scipy's xtol 1e-5 stops it early)"),
}
LARGE = 500  # from this n on, the limits below apply
LARGE_LIMITS = {  # method: (maxiter, why); maxiter 0 = skipped
    "bfgs": (30, "scipy's dense update is O(n³) per iteration"),
    "scipy-lm": (0, "MINPACK's dense QR takes ~1 s per iteration"),
}


def rosen(x):
    """Rosenbrock's function Σ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²."""
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_residuals(x):
    """Residuals whose half squared norm is rosen(x) / 2."""
    return dnp.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1]])


def start(n: int) -> np.ndarray:
    """(−1.2, 1) for n = 2, else 0.5 everywhere."""
    return np.array([-1.2, 1.0]) if n == 2 else np.full(n, 0.5)


def _plan(n: int, quick: bool):
    """(method, kind, keyword arguments, note) for every registered solver at this n."""
    for kind in ("minimize", "least_squares"):
        for method in solvers.available(kind):
            kwargs, note = SETTINGS.get(method, ({}, ""))
            kwargs = dict(kwargs)
            if method in FIRST_ORDER:
                cap = FIRST_ORDER_MAXITER[quick]
                kwargs = {"maxiter": cap, "options": FIRST_ORDER[method]}
                note = f"first-order: capped at {cap} iterations"
            if n >= LARGE and method in LARGE_LIMITS:
                cap, why = LARGE_LIMITS[method]
                kwargs["maxiter"] = cap
                note = f"capped at {cap} iterations: {why}" if cap else f"skipped: {why}"
            yield method, kind, kwargs, note


def solve(method: str, kind: str, x0: np.ndarray, **kwargs):
    """``diffopt.optimize(rosen, ...)`` or ``diffopt.least_squares(rosen_residuals, ...)``."""
    if kind == "minimize":
        return diffopt.optimize(rosen, x0, method, **kwargs)
    return diffopt.least_squares(rosen_residuals, x0, method, **kwargs)


def _contours(ax, paths, colors):
    g0, g1 = np.meshgrid(np.linspace(-1.6, 1.6, 300), np.linspace(-0.6, 1.6, 300))
    f = 100.0 * (g1 - g0**2) ** 2 + (1.0 - g0) ** 2
    ax.contour(g0, g1, np.log10(f + 1e-3), levels=20, colors="0.75", linewidths=0.6)
    for name, path in paths.items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=0.8, color=colors[name])
    ax.plot([1.0], [1.0], "k*", ms=12)
    ax.set(xlim=(-1.6, 1.6), ylim=(-0.6, 1.6), xlabel="x₁", ylabel="x₂",
           title="paths from (−1.2, 1), n = 2")


def run(out_dir="plots/rosenbrock", quick: bool = False) -> dict:
    """Run every solver at each n, print the table, plot paths and curves; return the rows.

    ``quick`` uses n = 2 and n = 100 and caps first-order methods at 500 iterations.

    >>> import tempfile
    >>> rows = run(tempfile.mkdtemp(), quick=True)["runs"]  # doctest: +ELLIPSIS
    writing plots to ...
    >>> all(r["error"] < 1e-3 for r in rows if r["method"] in ("newton", "bfgs", "lm (lsq)"))
    True
    """
    from matplotlib import colormaps

    out = output_dir(out_dir)
    sizes = (2, 100) if quick else (2, 1000)
    names = [m for kind in ("minimize", "least_squares") for m in solvers.available(kind)]
    colors = {m: colormaps["tab20"](k % 20) for k, m in enumerate(names)}
    rows, plots = [], []
    for n in sizes:
        x0 = start(n)
        fig, axes = figure(1, 2 if n == 2 else 1, size=(6.0, 4.5))
        curves = axes[0, -1]
        paths = {}
        for method, kind, kwargs, note in _plan(n, quick):
            row = {"n": n, "method": method, "kind": kind, "note": note, "skipped": False}
            rows.append(row)
            if kwargs.get("maxiter") == 0:
                row.update(skipped=True, success=False)
                continue
            if n == 2:
                path = paths[method] = [x0]
                kwargs["callback"] = lambda r, path=path: path.append(np.asarray(r.x))
            res, seconds = timed(solve, method, kind, x0, **kwargs)
            x = np.asarray(res.x, dtype=float)
            row.update(nit=res.nit, nfev=res.nfev, njev=res.njev, nhev=res.nhev, time=seconds,
                       fun=float(rosen(x)), error=float(np.linalg.norm(x - 1.0)),
                       success=bool(res.success))
            f = np.asarray(res.history["f"], dtype=float) * (2.0 if kind == "least_squares" else 1)
            curves.loglog(np.arange(1, f.size + 1), np.maximum(f, 1e-20),
                          "--" if kind == "least_squares" else "-", lw=1, label=method,
                          color=colors[method])
        curves.set(xlabel="iteration + 1", ylabel="f", title=f"Rosenbrock, n = {n}")
        curves.legend(fontsize=6, ncol=2)
        if n == 2:
            _contours(axes[0, 0], paths, colors)
        plots.append(save(fig, out / f"rosenbrock_n{n}.png"))

    print("\nRosenbrock: minimisation solvers on f, least-squares solvers (lsq) on its residuals")
    table = [{**r, "method": r["method"] + (" (lsq)" if r["kind"] == "least_squares" else ""),
              "ok": "-" if r["skipped"] else ("yes" if r["success"] else "no")} for r in rows]
    print_table(table, [("n", "n", "d"), ("method", "method", "s"), ("nit", "nit", "d"),
                        ("nfev", "nfev", "d"), ("njev", "njev", "d"), ("nhev", "nhev", "d"),
                        ("time", "time [s]", ".3f"), ("error", "‖x − 1‖", ".1e"),
                        ("ok", "success", "s"), ("note", "note", "s")])
    return {"out_dir": str(out), "plots": plots, "runs": rows}
