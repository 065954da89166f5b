"""Second order and accuracy: three studies, each with a figure and JSON.

1. **HVP four ways.** The Hessian-vector product ∇²f(x)·v by forward-over-reverse
   (``jvp(grad(f))``), reverse-over-reverse (``grad(x -> grad(f)(x) · v)``), reverse-over-forward
   (``grad(x -> jvp(f, x, v))``) and central differences of the gradient
   ((∇f(x + tv) − ∇f(x − tv)) / 2t, t = eps^(1/3) max(1, ‖x‖∞) / ‖v‖∞): time per product and
   relative error against the exact product, for Rosenbrock's function (exact: its analytic,
   tridiagonal Hessian) and the mean squared error of a 2-layer tanh network as a function of its
   flattened weights (exact: the dense Hessian, ``diffopt.hessian``), at several n.
2. **Finite-difference step.** The relative error of forward, central and complex-step
   differences (``diffopt.numerical.derivative(..., step=h)``) of f(x) = exp(x) sin(x) at x = 1
   against h: truncation error falls as h^p, rounding error grows as eps / h (not for the complex
   step, which has no cancellation), hence the V. The automatic step of ``diffopt.numerical`` is
   marked on each curve.
3. **Reverse-mode memory against depth.** Peak memory (``tracemalloc``: NumPy reports its
   allocations to it) of ``grad`` of a chain of L blocks of elementwise operations on an array,
   stored plainly, with every block under ``diffopt.checkpoint``, and with √L checkpointed
   segments of √L blocks (the classic O(√L) schedule); also the time each takes.

``run(out_dir, quick)`` prints a table per study, writes ``second_order.json`` and three PNGs into
``out_dir`` and returns the results; ``main(argv)`` is the command line (one BLAS thread, set by
``_harness`` before NumPy loads):

    python benchmarks/second_order.py [--quick] [--out DIR]
"""

from __future__ import annotations

from _harness import (  # first: it sets one BLAS thread before NumPy loads
    figure,
    output_dir,
    parser,
    peak_bytes,
    print_table,
    save,
    time_call,
    versions,
    write_json,
)

# isort: split

import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import _base_step, derivative

__all__ = ["run", "main", "hvp_study", "step_study", "memory_study", "rosenbrock",
           "rosenbrock_hvp", "mlp_loss", "HVP_METHODS"]

EPS = float(np.finfo(np.float64).eps)
JSON_NAME = "second_order.json"
FIGURES = {"hvp": "second_order_hvp.png", "steps": "second_order_fd_steps.png",
           "memory": "second_order_memory.png"}
# (full, quick) settings
ROSEN_SIZES = ((10, 100, 1000, 10_000, 100_000), (10, 100))
MLP_HIDDEN = ((2, 20, 200), (2, 20))  # n = 5 * hidden + 1 weights: 11, 101, 1001
DEPTHS = ((2, 4, 8, 16, 32, 64, 128, 256), (2, 4, 9, 16))
MEMORY_SIZE = (20_000, 5_000)  # floats in the array the chain works on
TIME_BUDGET = (0.3, 0.01)  # seconds of timing per measurement


# --- 1. HVP four ways ---------------------------------------------------------------------------
def rosenbrock(x):
    """Rosenbrock's function Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)².

    >>> rosenbrock(np.ones(3))  # 0.0
    """
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hvp(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The exact ∇²f(x)·v of ``rosenbrock`` from its analytic tridiagonal Hessian.

    >>> rosenbrock_hvp(np.ones(2), np.array([1.0, 0.0]))  # [802., -400.]
    """
    diag = np.zeros_like(x)
    diag[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]  # H[i, i+1] = H[i+1, i]
    out = diag * v
    out[:-1] += off * v[1:]
    out[1:] += off * v[:-1]
    return out


def mlp_loss(hidden: int, batch: int = 64, n_in: int = 3, seed: int = 0):
    """``(loss, n)``: the mean squared error of a 2-layer tanh network of its flat weights.

    The network maps ``n_in`` inputs through ``hidden`` tanh units to one output; the weights
    (W1, b1, w2, b2) are one vector of ``n = hidden * (n_in + 2) + 1`` entries.

    >>> loss, n = mlp_loss(20)  # n = 101
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, n_in))
    y = np.sin(X.sum(axis=1))
    k = hidden * n_in

    def loss(w):
        W1 = w[:k].reshape((hidden, n_in))
        b1, w2, b2 = w[k:k + hidden], w[k + hidden:k + 2 * hidden], w[-1]
        pred = dnp.tanh(X @ W1.T + b1) @ w2 + b2
        return dnp.mean((pred - y) ** 2)

    return loss, k + 2 * hidden + 1


def _fd_hvp(grad_f: Callable, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    t = EPS ** (1 / 3) * max(1.0, float(np.max(np.abs(x)))) / float(np.max(np.abs(v)))
    return (grad_f(x + t * v) - grad_f(x - t * v)) / (2 * t)


def hvp_methods(f: Callable, v: np.ndarray) -> dict[str, Callable]:
    """The four ways to ∇²f(x)·v, each a function of x."""
    grad_f = diffopt.grad(f)
    return {
        "fwd-over-rev": lambda x: diffopt.jvp(grad_f, (x,), (v,))[1],
        "rev-over-rev": diffopt.grad(lambda x: dnp.vdot(grad_f(x), v)),
        "rev-over-fwd": diffopt.grad(lambda x: diffopt.jvp(f, (x,), (v,))[1]),
        "fd of grad": lambda x: _fd_hvp(grad_f, x, v),
    }


HVP_METHODS = ("fwd-over-rev", "rev-over-rev", "rev-over-fwd", "fd of grad")


def _hvp_problems(quick: bool):
    """(problem, n, f, x, v, exact product)."""
    rng = np.random.default_rng(1)
    for n in ROSEN_SIZES[quick]:
        x, v = rng.uniform(-1.5, 1.5, n), rng.standard_normal(n)
        yield "rosenbrock", n, rosenbrock, x, v, rosenbrock_hvp(x, v)
    for hidden in MLP_HIDDEN[quick]:
        f, n = mlp_loss(hidden)
        x, v = rng.standard_normal(n) / np.sqrt(3), rng.standard_normal(n)
        yield "mlp", n, f, x, v, np.asarray(diffopt.hessian(f)(x)) @ v


def hvp_study(quick: bool = False) -> list[dict]:
    """Time and relative error of each HVP method on each problem and size (study 1)."""
    budget = TIME_BUDGET[quick]
    rows = []
    for problem, n, f, x, v, exact in _hvp_problems(quick):
        t_grad = time_call(lambda f=f, x=x: diffopt.grad(f)(x), budget, (1, 7))[0]
        for method, hvp in hvp_methods(f, v).items():
            got = np.asarray(hvp(x))
            err = float(np.linalg.norm(got - exact) / np.linalg.norm(exact))
            t = time_call(lambda hvp=hvp, x=x: hvp(x), budget, (1, 7))[0]
            rows.append({"problem": problem, "n": n, "method": method, "time_s": t,
                         "rel_error": err, "time_over_grad": t / t_grad})
    return rows


def _plot_hvp(rows: list[dict], path: Path) -> str:
    fig, axes = figure(1, 2, size=(5.5, 4.0))
    styles = {"rosenbrock": "-", "mlp": "--"}
    for k, method in enumerate(HVP_METHODS):
        for problem, ls in styles.items():
            sel = [r for r in rows if r["method"] == method and r["problem"] == problem]
            ns = [r["n"] for r in sel]
            kw = {"color": f"C{k}", "ls": ls, "marker": "o",
                  "label": f"{method} ({problem})"}
            axes[0, 0].loglog(ns, [r["time_s"] for r in sel], **kw)
            axes[0, 1].loglog(ns, [max(r["rel_error"], 1e-18) for r in sel], **kw)
    axes[0, 0].set(xlabel="n", ylabel="seconds per HVP", title="HVP time")
    axes[0, 1].set(xlabel="n", ylabel="‖Hv − exact‖ / ‖exact‖",
                   title="HVP relative error (exact: analytic / dense H)")
    axes[0, 1].axhline(EPS, color="gray", lw=0.8, ls=":")
    axes[0, 0].legend(fontsize=7)
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
    return save(fig, path)


# --- 2. finite-difference error against step ------------------------------------------------------
def _smooth(x):
    return np.exp(x) * np.sin(x)  # complex input passes through (for the complex step)


def _smooth_prime(x: float) -> float:
    return math.exp(x) * (math.sin(x) + math.cos(x))


STEP_METHODS = {"forward": 1e-16, "central": 1e-16, "complex": 1e-20}  # method -> smallest h


def step_study(quick: bool = False, x: float = 1.0) -> dict:
    """Relative error of each difference against the step, and at the automatic step (study 2)."""
    per_decade = 2 if quick else 8
    exact = _smooth_prime(x)
    out = {"function": "exp(x) sin(x)", "x": x, "exact": exact, "methods": {}}
    for method, h_min in STEP_METHODS.items():
        hs = np.logspace(np.log10(h_min), -1, int(round((-1 - np.log10(h_min)) * per_decade)) + 1)
        with np.errstate(invalid="ignore", divide="ignore"):  # x + h == x: 0 / 0
            errs = [abs(derivative(_smooth, x, method=method, step=float(h)) - exact) / abs(exact)
                    for h in hs]
        h_auto = _base_step(method, np.float64, 0) * max(1.0, abs(x))
        err_auto = abs(derivative(_smooth, x, method=method) - exact) / abs(exact)
        best = int(np.nanargmin(errs))
        out["methods"][method] = {  # error None: the step vanishes in x + h (below eps |x| / 2)
            "h": hs.tolist(), "rel_error": [None if np.isnan(e) else float(e) for e in errs],
            "auto_h": h_auto, "auto_rel_error": float(err_auto),
            "best_h": float(hs[best]), "best_rel_error": float(errs[best]),
        }
    return out


def _plot_steps(study: dict, path: Path) -> str:
    fig, axes = figure(1, 1, size=(6.5, 4.5))
    ax = axes[0, 0]
    floor = EPS / 8  # exact results (error 0) drawn at this floor
    for k, (method, m) in enumerate(study["methods"].items()):
        errs = np.array(m["rel_error"], dtype=float)  # None -> nan: not drawn
        ax.loglog(m["h"], np.maximum(errs, floor), color=f"C{k}", marker=".",
                  label=method)
        ax.loglog([m["auto_h"]], [max(m["auto_rel_error"], floor)], color=f"C{k}", marker="*",
                  ms=16, mec="k", ls="none",
                  label=f"{method}: automatic h = {m['auto_h']:.1e}")
    ax.axhline(EPS, color="gray", lw=0.8, ls=":")
    ax.set(xlabel="step h", ylabel="relative error",
           title=f"d/dx {study['function']} at x = {study['x']}: truncation vs rounding")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


# --- 3. reverse-mode memory against depth ---------------------------------------------------------
def _block(x):
    return dnp.tanh(x) * 0.9 + 0.1 * dnp.sin(x)


def _chain(blocks: int) -> Callable:
    def run(x):
        for _ in range(blocks):
            x = _block(x)
        return x

    return run


def chain_loss(depth: int, schedule: str) -> Callable:
    """``sum(chain(x))`` for ``depth`` blocks, stored per ``schedule``.

    ``"plain"``: everything stored; ``"every block"``: each block checkpointed; ``"sqrt(L)
    segments"``: segments of ceil(√L) blocks, each checkpointed.

    >>> diffopt.grad(chain_loss(16, "sqrt(L) segments"))(np.ones(10))
    """
    if schedule == "plain":
        parts = [_chain(depth)]
    elif schedule == "every block":
        parts = [diffopt.checkpoint(_block)] * depth
    elif schedule == "sqrt(L) segments":
        size = math.ceil(math.sqrt(depth))
        parts = [diffopt.checkpoint(_chain(min(size, depth - s))) for s in range(0, depth, size)]
    else:
        raise ValueError(f"unknown schedule {schedule!r}: use one of {', '.join(SCHEDULES)}")

    def loss(x):
        for part in parts:
            x = part(x)
        return dnp.sum(x)

    return loss


SCHEDULES = ("plain", "every block", "sqrt(L) segments")


def memory_study(quick: bool = False) -> list[dict]:
    """Peak memory and time of ``grad`` of the chain per depth and schedule (study 3)."""
    size, budget = MEMORY_SIZE[quick], TIME_BUDGET[quick]
    x = np.random.default_rng(2).uniform(-1, 1, size)
    rows = []
    for depth in DEPTHS[quick]:
        reference = None
        for schedule in SCHEDULES:
            g = diffopt.grad(chain_loss(depth, schedule))
            result = np.asarray(g(x))
            if reference is None:
                reference = result
            elif not np.allclose(result, reference, rtol=1e-12, atol=0):
                raise AssertionError(f"checkpointed gradient differs ({schedule}, L={depth})")
            peak, _ = peak_bytes(lambda g=g: g(x))
            rows.append({"depth": depth, "schedule": schedule, "array_floats": size,
                         "peak_mb": peak / 2**20, "peak_arrays": peak / x.nbytes,
                         "time_s": time_call(lambda g=g: g(x), budget, (1, 7))[0]})
        plain = rows[-len(SCHEDULES)]
        for r in rows[-len(SCHEDULES):]:
            r["time_over_plain"] = r["time_s"] / plain["time_s"]
            r["memory_over_plain"] = r["peak_mb"] / plain["peak_mb"]
    return rows


def _plot_memory(rows: list[dict], path: Path) -> str:
    fig, axes = figure(1, 2, size=(5.5, 4.0))
    for k, schedule in enumerate(SCHEDULES):
        sel = [r for r in rows if r["schedule"] == schedule]
        depths = [r["depth"] for r in sel]
        kw = {"color": f"C{k}", "marker": "o", "label": schedule}
        axes[0, 0].loglog(depths, [r["peak_mb"] for r in sel], **kw)
        axes[0, 1].semilogx(depths, [r["time_over_plain"] for r in sel], **kw)
    size = rows[0]["array_floats"]
    axes[0, 0].set(xlabel="depth L (blocks)", ylabel="peak MB during grad",
                   title=f"reverse-mode memory ({size} floats per array)")
    axes[0, 1].set(xlabel="depth L (blocks)", ylabel="time / time(plain)",
                   title="time overhead of recomputation")
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return save(fig, path)


# --- the whole benchmark --------------------------------------------------------------------------
def _print_steps(study: dict) -> None:
    print_table([{"method": k, **m} for k, m in study["methods"].items()],
                [("method", "method", "s"), ("auto_h", "auto h", "g"),
                 ("auto_rel_error", "error at auto h", "g"), ("best_h", "best h", "g"),
                 ("best_rel_error", "best error", "g")])


def run(out_dir=Path("benchmarks/results"), quick: bool = False) -> dict:
    """Run the three studies, print their tables, write the JSON and figures into ``out_dir``.

    >>> run("/tmp/so", quick=True)["files"]  # the JSON and three PNGs
    """
    out = output_dir(out_dir)
    start = time.perf_counter()
    print("\n1. Hessian-vector products four ways")
    hvp = hvp_study(quick)
    print_table(hvp, [("problem", "problem", "s"), ("n", "n", "d"), ("method", "method", "s"),
                      ("time_s", "seconds", "g"), ("time_over_grad", "x grad", "g"),
                      ("rel_error", "rel. error", "g")])
    print("\n2. finite-difference error against step (f = exp(x) sin(x), x = 1)")
    steps = step_study(quick)
    _print_steps(steps)
    print("\n3. reverse-mode peak memory against depth")
    memory = memory_study(quick)
    print_table(memory, [("depth", "L", "d"), ("schedule", "schedule", "s"),
                         ("peak_mb", "peak MB", "g"), ("peak_arrays", "arrays", "g"),
                         ("time_s", "seconds", "g"), ("time_over_plain", "x plain", "g")])
    files = [str(out / JSON_NAME), _plot_hvp(hvp, out / FIGURES["hvp"]),
             _plot_steps(steps, out / FIGURES["steps"]),
             _plot_memory(memory, out / FIGURES["memory"])]
    result = {
        "meta": {"quick": quick, **versions("numpy"), "machine": platform.machine(),
                 "seconds": time.perf_counter() - start},
        "hvp": hvp, "fd_steps": steps, "memory": memory, "files": files,
    }
    write_json(files[0], result)
    print(f"\nwrote {', '.join(files)} in {result['meta']['seconds']:.1f} s")
    return result


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``[--quick] [--out DIR]``.

    >>> main(["--quick", "--out", "/tmp/so"])
    """
    cli = parser(__doc__, JSON_NAME, "small sizes and short timings (a smoke test)")
    args = cli.parse_args(argv)
    return run(args.out, args.quick)


if __name__ == "__main__":
    main()
