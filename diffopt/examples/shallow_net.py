"""A shallow ReLU network fitted by Adam and by L-BFGS.

The loss f(W) = Σᵢ ‖yᵢ − W₂ ReLU(W₁xᵢ)‖² is written with ``diffopt.numpy`` over the parameters as a
dict pytree {"W1": (hidden x inputs), "W2": (outputs x hidden)}; ``diffopt.optimize`` hands the
solvers a flat vector and returns the fitted weights as a dict again. The synthetic data come from
a random "teacher" network of the same form plus a little noise. Plots both loss curves, against
iteration and against time.
"""

from __future__ import annotations

import numpy as np

import diffopt
import diffopt.numpy as dnp

from ..timing import timed
from ._shared import figure, output_dir, print_table, save

INPUTS, OUTPUTS, TEACHER_HIDDEN, HIDDEN = 4, 2, 6, 16
ADAM_LR = 1e-2


def data(n: int = 200, noise: float = 0.05, seed: int = 0):
    """``(X, Y)``: n inputs (rows) and the outputs of a random teacher network plus noise."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((TEACHER_HIDDEN, INPUTS))
    W2 = rng.standard_normal((OUTPUTS, TEACHER_HIDDEN)) / np.sqrt(TEACHER_HIDDEN)
    X = rng.standard_normal((n, INPUTS))
    Y = np.maximum(X @ W1.T, 0.0) @ W2.T
    return X, Y + noise * rng.standard_normal(Y.shape)


def init_params(seed: int = 1) -> dict:
    """Random starting weights (scaled by 1/√fan-in)."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((HIDDEN, INPUTS)) / np.sqrt(INPUTS),
            "W2": rng.standard_normal((OUTPUTS, HIDDEN)) / np.sqrt(HIDDEN)}


def predict(params: dict, X):
    """W₂ ReLU(W₁x) for each row x of X."""
    return dnp.maximum(X @ params["W1"].T, 0.0) @ params["W2"].T


def loss(params: dict, X, Y):
    """Σᵢ ‖yᵢ − W₂ ReLU(W₁xᵢ)‖²."""
    return dnp.sum((Y - predict(params, X)) ** 2)


def run(out_dir="plots/shallow_net", quick: bool = False) -> dict:
    """Fit by Adam and by L-BFGS, print a table, plot the loss curves; return the numbers.

    ``quick`` uses 100 samples and fewer iterations.

    >>> import tempfile
    >>> res = run(tempfile.mkdtemp(), quick=True)  # doctest: +ELLIPSIS
    writing plots to ...
    >>> res["initial_loss"] / res["methods"]["l-bfgs-b"]["loss"] > 100  # a large factor
    True
    """
    out = output_dir(out_dir)
    X, Y = data(100 if quick else 200)
    params0 = init_params()
    initial = float(loss(params0, X, Y))
    runs = {"adam": dict(maxiter=1000 if quick else 3000, options={"lr": ADAM_LR}),
            "l-bfgs-b": dict(maxiter=300 if quick else 1000)}
    fig, axes = figure(1, 2)
    methods, rows = {}, []
    for method, kwargs in runs.items():
        res, seconds = timed(diffopt.optimize, loss, params0, method, args=(X, Y), **kwargs)
        methods[method] = {"loss": float(res.fun), "nit": res.nit, "time": seconds,
                           "success": bool(res.success), "params": res.x}
        rows.append({**methods[method], "method": method, "nfev": res.nfev,
                     "factor": initial / float(res.fun)})
        label = f"{method}, lr {ADAM_LR:g}" if method == "adam" else method
        axes[0, 0].semilogy(res.history["f"], label=label)
        axes[0, 1].semilogy(res.history["time"], res.history["f"], label=label)
    axes[0, 0].set(xlabel="iteration", ylabel="Σ‖y − W₂ ReLU(W₁x)‖²", title="loss by iteration")
    axes[0, 1].set(xlabel="time [s]", ylabel="loss", title="loss by wall time")
    for ax in axes[0]:
        ax.legend()
    plot = save(fig, out / "loss_curves.png")

    n_params = sum(v.size for v in params0.values())
    print(f"\nshallow ReLU net {INPUTS}-{HIDDEN}-{OUTPUTS} ({n_params} weights) on {len(X)} "
          f"samples; initial loss {initial:.4g}")
    print_table(rows, [("method", "method", "s"), ("nit", "nit", "d"), ("nfev", "nfev", "d"),
                       ("loss", "final loss", ".4g"), ("factor", "decrease", ".3g"),
                       ("time", "time [s]", ".3f")])
    return {"out_dir": str(out), "plots": [plot], "initial_loss": initial, "methods": methods}
