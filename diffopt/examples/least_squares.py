"""Least squares four ways: f(x) = ½‖y − Ax‖² with A 500 x 100 and y random normal.

Gradient descent with the classic fixed step 1e-4 for 500 steps, then Newton-CG (Hessian-vector
products by forward-over-reverse), L-BFGS and Levenberg-Marquardt (matrix-free, on the residuals
y − Ax) on the same problem, each compared with the closed form ``numpy.linalg.lstsq``. One plot:
f − f* against iteration for every method. No derivative is written by hand.
"""

from __future__ import annotations

import numpy as np

import diffopt
import diffopt.numpy as dnp

from ..timing import timed
from ._shared import figure, output_dir, print_table, save

GD_STEP = 1e-4
GD_STEPS = 500


def problem(m: int = 500, n: int = 100, seed: int = 0):
    """``(A, y)``: an m x n standard normal matrix and a standard normal right-hand side."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m)


def run(out_dir="plots/least_squares", quick: bool = False) -> dict:
    """Solve the problem by every method, print a table, plot the convergence; return the numbers.

    ``quick`` changes nothing: the whole example takes well under a second.

    >>> import tempfile
    >>> res = run(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    writing plots to ...
    >>> abs(res["methods"]["lm"]["loss"] / res["optimum"] - 1) < 1e-12  # lstsq's optimum
    True
    """
    out = output_dir(out_dir)
    del quick  # already quick
    A, y = problem()
    x0 = np.zeros(A.shape[1])

    def residuals(x):
        return y - A @ x

    def loss(x):
        return 0.5 * dnp.sum(residuals(x) ** 2)

    x_star = np.linalg.lstsq(A, y, rcond=None)[0]
    f_star = float(loss(x_star))

    runs = {
        "gd": lambda: diffopt.optimize(loss, x0, "gd", maxiter=GD_STEPS,
                                       options={"lr": GD_STEP}),
        "newton-cg": lambda: diffopt.optimize(loss, x0, "newton-cg"),
        "l-bfgs-b": lambda: diffopt.optimize(loss, x0, "l-bfgs-b"),
        "lm": lambda: diffopt.least_squares(residuals, x0, method="lm"),
    }
    methods, rows = {}, []
    fig, axes = figure()
    ax = axes[0, 0]
    for name, solve in runs.items():
        res, seconds = timed(solve)
        final = float(res.cost if "cost" in res else res.fun)
        methods[name] = {"loss": final, "nit": res.nit, "time": seconds,
                         "x_error": float(np.linalg.norm(res.x - x_star)),
                         "success": bool(res.success)}
        label = f"gd, step {GD_STEP:g}" if name == "gd" else name
        rows.append({"method": label, "nit": res.nit, "nfev": res.nfev, "njev": res.njev,
                     "nhev": res.nhev, "loss": final, "gap": (final - f_star) / f_star,
                     "x_error": methods[name]["x_error"], "time": seconds})
        f = np.asarray(res.history["f"], dtype=float)
        gap = np.maximum(f - f_star, 1e-16 * f_star)
        ax.loglog(np.arange(1, f.size + 1), gap, label=f"{label} ({res.nit} it)")
    rows.append({"method": "numpy.linalg.lstsq", "loss": f_star, "gap": 0.0, "x_error": 0.0})
    ax.set(xlabel="iteration + 1", ylabel="f − f*  (f* from lstsq)",
           title=f"½‖y − Ax‖², A {A.shape[0]} x {A.shape[1]}")
    ax.legend()
    plot = save(fig, out / "loss.png")

    print(f"\nleast squares, A {A.shape[0]} x {A.shape[1]}: optimum f* = {f_star:.10g}")
    print_table(rows, [("method", "method", "s"), ("nit", "nit", "d"), ("nfev", "nfev", "d"),
                       ("njev", "njev", "d"), ("nhev", "nhev", "d"), ("loss", "final f", ".10g"),
                       ("gap", "(f − f*)/f*", ".1e"), ("x_error", "‖x − x*‖", ".1e"),
                       ("time", "time [s]", ".3f")])
    return {"out_dir": str(out), "plots": [plot], "optimum": f_star, "methods": methods}
