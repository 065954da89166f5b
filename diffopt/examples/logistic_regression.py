"""Logistic regression with a 2-3-1 sigmoid network on two moons.

The features φ(x) = σ(W₁x + b₁) come from a hidden layer of three sigmoid units; the loss is the
negative log-likelihood −Σ log σ((2yᵢ − 1)(φ(xᵢ)ᵀw + b)), written with ``diffopt.numpy`` and
minimised over the dict of weights {"W1", "b1", "w", "b"} by L-BFGS and by Newton-CG. A small ridge
term ½λ‖θ‖² (λ = 1e-2) keeps the weights finite: without it the sigmoids saturate into steps as
the weights grow without bound on nearly separable data. Prints the accuracy of each method and
plots the decision boundaries over the data.
"""

from __future__ import annotations

import numpy as np

import diffopt
import diffopt.numpy as dnp
from diffopt.scipy.special import expit, log_expit

from ..timing import timed
from ._shared import figure, output_dir, print_table, save

METHODS = ("l-bfgs-b", "newton-cg")
RIDGE = 1e-2


def two_moons(n: int = 200, noise: float = 0.15, seed: int = 0):
    """``(X, y)``: n points in two interleaved half circles with Gaussian noise; labels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.0, np.pi, n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                 np.c_[1.0 - np.cos(t), 0.5 - np.sin(t)])
    return X + noise * rng.standard_normal((n, 2)), y


def init_params(hidden: int = 3, seed: int = 1) -> dict:
    """Random starting weights of the 2-``hidden``-1 network."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((hidden, 2)), "b1": rng.standard_normal(hidden),
            "w": rng.standard_normal(hidden), "b": np.zeros(())}


def logit(params: dict, X):
    """φ(X)ᵀw + b for each row of X, with φ(x) = σ(W₁x + b₁)."""
    phi = expit(X @ params["W1"].T + params["b1"])
    return phi @ params["w"] + params["b"]


def nll(params: dict, X, y):
    """−Σ log σ((2yᵢ − 1) logitᵢ): the negative log-likelihood of the labels."""
    return -dnp.sum(log_expit((2.0 * y - 1.0) * logit(params, X)))


def loss(params: dict, X, y, ridge: float = RIDGE):
    """The NLL plus ½ ``ridge`` ‖θ‖² over all the weights: what the example minimises."""
    return nll(params, X, y) + 0.5 * ridge * sum(dnp.sum(v ** 2) for v in params.values())


def accuracy(params: dict, X, y) -> float:
    """Fraction of points on the right side of the decision boundary (logit = 0)."""
    return float(np.mean((np.asarray(logit(params, X)) > 0) == (y == 1)))


def _boundary(ax, params, X, y, title):
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.c_[g0.ravel(), g1.ravel()]
    prob = np.asarray(expit(logit(params, grid))).reshape(g0.shape)
    ax.contourf(g0, g1, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(g0, g1, prob, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[y == 0, 0], X[y == 0, 1], s=12, c="tab:blue", edgecolors="k", label="y = 0")
    ax.scatter(X[y == 1, 0], X[y == 1, 1], s=12, c="tab:red", edgecolors="k", label="y = 1")
    ax.set(title=title, xlabel="x₁", ylabel="x₂")
    ax.legend(loc="lower left")


def run(out_dir="plots/logistic_regression", quick: bool = False) -> dict:
    """Train by each method, print accuracies, plot boundaries and convergence; return the numbers.

    ``quick`` uses 100 points instead of 200.

    >>> import tempfile
    >>> res = run(tempfile.mkdtemp(), quick=True)  # doctest: +ELLIPSIS
    writing plots to ...
    >>> res["methods"]["l-bfgs-b"]["accuracy"] > 0.9
    True
    """
    out = output_dir(out_dir)
    X, y = two_moons(100 if quick else 200)
    params0 = init_params()
    fig, axes = figure(1, len(METHODS), size=(5.0, 4.5))
    conv, conv_axes = figure(len(METHODS), 2, size=(4.5, 3.0))
    methods, rows = {}, []
    for k, method in enumerate(METHODS):
        res, seconds = timed(diffopt.optimize, loss, params0, method, args=(X, y))
        acc = accuracy(res.x, X, y)
        methods[method] = {"accuracy": acc, "loss": float(res.fun),
                           "nll": float(nll(res.x, X, y)), "nit": res.nit, "time": seconds,
                           "success": bool(res.success), "params": res.x}
        rows.append({**methods[method], "method": method, "nfev": res.nfev, "nhev": res.nhev})
        _boundary(axes[0, k], res.x, X, y, f"{method}: accuracy {acc:.1%}")
        res.plot(ax=conv_axes[k])
    plots = [save(fig, out / "decision_boundary.png"), save(conv, out / "convergence.png")]

    print(f"\n2-3-1 sigmoid network on two moons ({len(y)} points); "
          f"initial loss {float(loss(params0, X, y)):.4g}, ridge λ = {RIDGE:g}")
    print_table(rows, [("method", "method", "s"), ("nit", "nit", "d"), ("nfev", "nfev", "d"),
                       ("nhev", "nhev", "d"), ("loss", "final loss", ".4g"),
                       ("nll", "of which NLL", ".4g"),
                       ("accuracy", "accuracy", ".1%"), ("time", "time [s]", ".3f")])
    return {"out_dir": str(out), "plots": plots, "methods": methods}
