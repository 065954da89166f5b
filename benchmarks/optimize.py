"""Optimizers: diffopt.optimize against scipy.optimize fed by HIPS autograd and by jax.jit.

Problems: Rosenbrock at n = 2, 100, 1000, 10000 from the classic start
(-1.2, 1, -1.2, 1, ...), and least squares f(x) = ½‖y − Ax‖² with A 500 x 100 and y random
normal from x = 0. Every registered minimisation method runs through ``diffopt.optimize`` (the
least-squares methods also through ``diffopt.least_squares`` on the residuals y − Ax); the
scipy-backed methods also run as ``scipy.optimize.minimize`` with the same method, options and
maxiter, fed by

- autograd: ``value_and_grad``; HVP = grad of (gradient · v) (reverse-over-reverse); ``hessian``;
- JAX (float64): ``jax.jit`` of ``value_and_grad``, of jvp-of-grad (HVP) and of ``jax.hessian``,
  compiled before the clock starts.

Reported per run: nit, nfev, njev, nhev (calls made: for the references, calls of the callables
handed to scipy), final f, wall time and time per iteration. Target: for n >= 1000, time per
iteration <= 1.2 x scipy + autograd with the same method.

Limits, so that the whole run takes a few minutes on two cores: methods with dense n x n matrices
(trust-exact, newton: the Hessian; bfgs: its inverse-Hessian estimate, updated by n x n matrix
products) are skipped above n = 1000 and run 20 iterations at n = 1000; maxiter is capped
(``MAXITER_CAP``) for n >= 1000. Column ``ok``: the run reported success (a capped run cannot).
BLAS runs on one thread for every system. The JAX runs come last (XLA's threads stay busy for a
while after each call and would slow the others). Systems that are not installed are skipped
(``pip install -e ".[bench]"`` adds autograd and JAX).

    python benchmarks/optimize.py [--quick]
"""

from __future__ import annotations

# One BLAS thread for every system (set by _harness, first): on few cores, OpenBLAS threads make
# scipy's L-BFGS-B (small LAPACK calls each iteration) up to 10x slower and its timings erratic.
from _harness import machine, parser, timed, versions, write_json

# isort: split

import numpy as np
import scipy
import scipy.optimize
from tqdm import tqdm

import diffopt
import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.solvers.scipy_methods import METHODS

SIZES, QUICK_SIZES = (2, 100, 1000, 10000), (2, 100)
DENSE = {"trust-exact", "newton", "bfgs"}  # n x n matrices: skipped above DENSE_MAX
DENSE_MAX = 1000
MAXITER_CAP = {1000: 200, 10000: 100}  # n -> maxiter for every method (None below 1000)
DENSE_CAP = 20  # maxiter for the dense methods at n = DENSE_MAX (one Hessian per iteration)
QUICK_CAP = 100  # --quick: maxiter for every method, one run each
TARGET_N, TARGET_RATIO = 1000, 1.2
MIN_TIME = 1.0  # repeat a run until this many seconds have passed (best of <= 5 repeats)


# --- problems, written once for each array namespace ----------------------------------------------
def rosenbrock(xp):
    return lambda x: xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def least_squares_loss(xp, A, y):
    return lambda x: 0.5 * xp.sum((y - A @ x) ** 2)


def problems(sizes):
    """(label, n, x0, objective builder xp -> f, residual function or None)."""
    out = [(f"rosenbrock n={n}", n, np.tile([-1.2, 1.0], n // 2)[:n].copy(), rosenbrock, None)
           for n in sizes]
    rng = np.random.default_rng(0)
    A, y = rng.standard_normal((500, 100)), rng.standard_normal(500)
    out.append(("least squares 500x100", 100, np.zeros(100),
                lambda xp: least_squares_loss(xp, A, y), lambda x: y - A @ x))
    return out


def maxiter_for(method: str, n: int, kind: str = "minimize", quick: bool = False) -> int:
    """The maxiter every system gets for this method and size (capped for large n)."""
    if method in DENSE and n >= DENSE_MAX:
        return DENSE_CAP
    cap = QUICK_CAP if quick else MAXITER_CAP.get(n)
    default = solvers.get(method, kind).default_maxiter
    return default if cap is None else min(cap, default)


# --- the systems ---------------------------------------------------------------------------------
class Counting:
    """The callables scipy gets, counting calls (as diffopt's Objective counts its own)."""

    def __init__(self, value_and_grad, hvp, hess):
        self._vg, self._hvp, self._hess = value_and_grad, hvp, hess
        self.nfev = self.nhev = 0

    def value_and_grad(self, x):
        self.nfev += 1
        f, g = self._vg(x)
        return float(f), np.array(g, dtype=np.float64)

    def hessp(self, x, p):
        self.nhev += 1
        return np.array(self._hvp(x, p), dtype=np.float64)

    def hess(self, x):
        self.nhev += 1
        return np.array(self._hess(x), dtype=np.float64)


def autograd_callables(build, x0=None, second_order=None):
    import autograd
    import autograd.numpy as anp

    f = build(anp)
    grad = autograd.grad(f)
    hvp = autograd.grad(lambda x, v: anp.dot(grad(x), v))  # reverse-over-reverse
    return autograd.value_and_grad(f), hvp, autograd.hessian(f)


def jax_callables(build, x0, second_order):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    f = build(jnp)
    vg = jax.jit(jax.value_and_grad(f))
    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])
    hess = jax.jit(jax.hessian(f))
    vg(x0)  # compile before the clock starts
    if second_order == "hessp":
        hvp(x0, x0)
    elif second_order == "hess":
        hess(x0)
    return vg, hvp, hess


REFERENCES = {"scipy + autograd": ("autograd", autograd_callables),
              "scipy + jax.jit": ("jax", jax_callables)}


def reference_system(name: str):
    """``prepare(method, build, x0, maxiter) -> run``: scipy fed by autograd or JAX, with the
    derivatives built (and compiled) by ``prepare``, outside the clock. None: not installed."""
    module, make = REFERENCES[name]
    try:
        __import__(module)
    except ImportError:
        return None

    def prepare(method, build, x0, maxiter):
        spec = METHODS[method]
        second = next((u for u in spec.uses if u in ("hessp", "hess")), None)
        fns = make(build, x0, second)

        def run():
            calls = Counting(*fns)
            res = scipy.optimize.minimize(
                calls.value_and_grad, x0, method=spec.scipy_name, jac=True,
                hessp=calls.hessp if second == "hessp" else None,
                hess=calls.hess if second == "hess" else None, options={"maxiter": maxiter})
            return {"nit": int(res.nit), "nfev": calls.nfev, "njev": calls.nfev,
                    "nhev": calls.nhev, "fun": float(res.fun), "success": bool(res.success)}

        return run

    return prepare


def run_ours(method, build, x0, maxiter, residuals=None):
    if residuals is not None:
        res = diffopt.least_squares(residuals, x0, method, maxiter=maxiter)
        fun = float(res.cost)
    else:
        res = diffopt.optimize(build(dnp), x0, method, maxiter=maxiter)
        fun = float(res.fun)
    return {"nit": int(res.nit), "nfev": int(res.nfev), "njev": int(res.njev),
            "nhev": int(res.nhev), "fun": fun, "success": bool(res.success)}


def best_run(run, min_time: float = MIN_TIME) -> dict:
    """Run until ``min_time`` has passed (at most 5 times); the best wall time, its counts."""
    best, spent = None, 0.0
    for _ in range(5):
        out, wall = timed(run)
        spent += wall
        if best is None or wall < best["wall_s"]:
            best = dict(out, wall_s=wall)
        if spent >= min_time:
            break
    best["s_per_iter"] = best["wall_s"] / max(best["nit"], 1)
    return best


# --- the run --------------------------------------------------------------------------------------
def jobs(sizes, skipped, quick=False):
    """(problem, n, method, system, prepare) with ``prepare() -> run``; the JAX jobs last."""
    refs = {name: reference_system(name) for name in REFERENCES}
    for name, ref in refs.items():
        if ref is None:
            print(f"({name}: not installed, skipped)")
    first, last = [], []
    for label, n, x0, build, residuals in problems(sizes):
        kinds = [("minimize", m) for m in solvers.available("minimize")]
        if residuals is not None:
            kinds += [("least_squares", m) for m in solvers.available("least_squares")]
        for kind, method in kinds:
            if method in DENSE and n > DENSE_MAX:
                skipped.append(f"{label}: {method} (dense n x n matrix)")
                continue
            maxiter = maxiter_for(method, n, kind, quick)
            res = residuals if kind == "least_squares" else None
            first.append((label, n, method, "diffopt", lambda m=method, b=build, x=x0, k=maxiter,
                          r=res: lambda: run_ours(m, b, x, k, r)))
            if kind != "minimize" or method not in METHODS:
                continue
            for name, ref in refs.items():
                if ref is not None:
                    job = (label, n, method, name, lambda m=method, b=build, x=x0, k=maxiter,
                           p=ref: p(m, b, x, k))
                    (last if "jax" in name else first).append(job)
    return first + last


def ratios(runs):
    """Time per iteration, ours / reference, for each problem and scipy-backed method."""
    index = {(r["problem"], r["method"], r["system"]): r for r in runs}
    out = []
    for r in runs:
        if r["system"] != "diffopt" or r["method"] not in METHODS:
            continue
        row = {"problem": r["problem"], "n": r["n"], "method": r["method"]}
        for ref in ("scipy + autograd", "scipy + jax.jit"):
            other = index.get((r["problem"], r["method"], ref))
            row[ref] = None if other is None else r["s_per_iter"] / other["s_per_iter"]
        out.append(row)
    return out


def print_table(runs, rows):
    ratio = {(r["problem"], r["method"]): r for r in rows}
    head = (f"{'problem':<24}{'method':<17}{'system':<18}{'nit':>6}{'nfev':>7}{'njev':>7}"
            f"{'nhev':>7}{'f':>11}{'ok':>4}{'time s':>9}{'ms/iter':>9}{'/autograd':>10}{'/jax':>7}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in runs:
        cells = ["", ""]
        if r["system"] == "diffopt" and (r["problem"], r["method"]) in ratio:
            rr = ratio[r["problem"], r["method"]]
            cells = [f"{rr[k]:.2f}" if rr[k] is not None else "-"
                     for k in ("scipy + autograd", "scipy + jax.jit")]
        print(f"{r['problem']:<24}{r['method']:<17}{r['system']:<18}{r['nit']:>6}{r['nfev']:>7}"
              f"{r['njev']:>7}{r['nhev']:>7}{r['fun']:>11.3g}{'ny'[r['success']]:>4}{r['wall_s']:>9.3f}"
              f"{r['s_per_iter'] * 1e3:>9.3f}{cells[0]:>10}{cells[1]:>7}")


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__, "optimize.json", "small n only (a smoke test)").parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES

    skipped: list[str] = []
    todo = jobs(sizes, skipped, args.quick)
    min_time = 0.0 if args.quick else MIN_TIME
    runs, failed = [], []
    for label, n, method, system, prepare in tqdm(todo, desc="optimizing", leave=False):
        try:
            runs.append(dict(problem=label, n=n, method=method, system=system,
                             **best_run(prepare(), min_time)))
        except Exception as err:  # a broken solver must not end the benchmark
            failed.append(f"{label}: {method} ({system}): {type(err).__name__}: {err}")
    systems = ["diffopt", *REFERENCES]
    order = {label: k for k, label in enumerate(dict.fromkeys(job[0] for job in todo))}
    runs.sort(key=lambda r: (order[r["problem"]], r["method"] not in METHODS, r["method"],
                             systems.index(r["system"])))
    rows = ratios(runs)
    print_table(runs, rows)
    if skipped:
        print("\nskipped: " + "; ".join(skipped))
    for line in failed:
        print(f"FAILED {line}")
    caps = {"all": QUICK_CAP} if args.quick else {n: c for n, c in MAXITER_CAP.items()
                                                   if n in sizes}
    print(f"maxiter capped at {caps} (n: cap); dense methods at n = {DENSE_MAX}: {DENSE_CAP}")

    print(f"\ntarget: n >= {TARGET_N}, time per iteration <= {TARGET_RATIO} x scipy + autograd")
    targets = {}
    for row in rows:
        r = row["scipy + autograd"]
        if row["n"] < TARGET_N or r is None:
            continue
        key = f"{row['problem']}: {row['method']}"
        targets[key] = {"ratio": r, "limit": TARGET_RATIO, "met": r <= TARGET_RATIO}
        print(f"  {key:<40} {r:.2f} ({'met' if r <= TARGET_RATIO else 'MISSED'})")
    if not targets:
        print("  n/a (no n >= 1000 in this run, or autograd missing)")

    report = {
        "machine": machine(**versions("numpy", "scipy")),
        "quick": args.quick,
        "maxiter_cap": caps, "dense_cap": DENSE_CAP, "skipped": skipped, "failed": failed,
        "runs": runs,
        "per_iteration_ratio": rows,
        "targets": targets,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "optimize.json", report)
    print(f"\nwrote {args.out / 'optimize.json'}")
    return report


if __name__ == "__main__":
    main()
