"""Forward against reverse mode: the Jacobian benchmark behind ``diffopt bench modes``.

Three program families f: Rⁿ → Rᵐ with fixed seeded weights (``FAMILIES``):

- ``tanh2``: a two-layer map ``W2 tanh(W1 x)`` (hidden width 100);
- ``elementwise``: twenty elementwise operations applied to ``A x``;
- ``chain``: a deep chain of small maps ``x → B_L tanh(... tanh(B_0 x))`` (width 10, depth 20).

For every (family, n, m) of the grid it times one Jacobian by ``jacfwd``, ``jacrev``,
``jacobian(mode="auto")`` (and ``mode="optimal"`` when ``diffopt.modes.jacobian_optimal``
exists), central finite differences (``diffopt.numerical.jacobian``) and JAX's jitted ``jacfwd`` /
``jacrev`` when JAX is installed, and checks every result against ``jacfwd``'s (finite differences
with a loose tolerance). Forward mode costs O(n) passes, reverse mode O(m): the figures show where
each wins.

Writes ``modes.json``, ``modes_heatmap.png`` (time(forward) / time(reverse) over (n, m) for the
``chain`` family with the measured crossover) and ``modes_scaling.png`` (Jacobian cost in units of
one evaluation of f against n and against m, log-log, with fitted slopes) into ``out_dir``.
For steady timings run BLAS on one thread (``OPENBLAS_NUM_THREADS=1``; ``benchmarks/modes.py``
sets it before NumPy loads).

>>> import tempfile
>>> res = run_modes(tempfile.mkdtemp(), quick=True, families=("tanh2",), use_jax=False,
...                 budget=0.002)  # doctest: +ELLIPSIS
family           n     m ...
>>> res["summary"]["all_agree"]
True
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import diffopt
import diffopt.numpy as dnp
from diffopt import numerical
from diffopt.timing import time_call

__all__ = ["FAMILIES", "main", "make_family", "run_modes"]

FAMILIES = ("tanh2", "elementwise", "chain")
HEATMAP_FAMILY = "chain"
GRID = (1, 10, 100, 1000)
FINE_GRID = (1, 3, 10, 30, 100, 300, 1000, 3000)  # the heat-map family: cheap, so finer and larger
QUICK_GRID = (1, 10, 100)
HIDDEN, WIDTH, DEPTH, N_ELEMENTWISE = 100, 10, 20, 20
RTOL, FD_RTOL = 1e-8, 1e-5  # agreement with jacfwd: exact modes, finite differences


def make_family(name: str, n: int, m: int, seed: int = 0) -> Callable[[object], Callable]:
    """``build(np_module) -> f``: the program ``name``: Rⁿ → Rᵐ, for diffopt.numpy or jax.numpy.

    The weights are drawn once from ``seed`` so that every system differentiates the same function.

    >>> f = make_family("tanh2", 3, 2)(dnp); f(np.ones(3)).shape
    (2,)
    """
    if name not in FAMILIES:
        raise ValueError(f"make_family: unknown family {name!r}; choose one of {FAMILIES}")
    rng = np.random.default_rng([seed, n, m, FAMILIES.index(name)])
    if name == "tanh2":
        W1 = rng.standard_normal((HIDDEN, n)) / np.sqrt(n)
        W2 = rng.standard_normal((m, HIDDEN)) / np.sqrt(HIDDEN)
        return lambda xp: (lambda x: W2 @ xp.tanh(W1 @ x))
    if name == "elementwise":
        A = rng.standard_normal((m, n)) / np.sqrt(n)

        def build(xp):
            def f(x):
                z = A @ x
                for _ in range(N_ELEMENTWISE // 4):  # four elementwise operations a round
                    z = xp.sin(z) * 0.9 + xp.tanh(z) * 0.1
                return z

            return f

        return build
    first = rng.standard_normal((WIDTH, n)) / np.sqrt(n)
    middle = [rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(DEPTH)]
    last = rng.standard_normal((m, WIDTH)) / np.sqrt(WIDTH)

    def build(xp):
        def f(x):
            z = xp.tanh(first @ x)
            for B in middle:
                z = xp.tanh(B @ z)
            return last @ z

        return f

    return build


def diffopt_methods(f: Callable) -> dict[str, Callable]:
    """The diffopt Jacobian programs of ``f``, by name (``optimal`` only where it exists)."""
    methods = {
        "jacfwd": diffopt.jacfwd(f),
        "jacrev": diffopt.jacrev(f),
        "auto": diffopt.jacobian(f, mode="auto"),
    }
    modes = _optional("diffopt.modes")
    if modes is not None and hasattr(modes, "jacobian_optimal"):
        methods["optimal"] = modes.jacobian_optimal(f)
    methods["fd central"] = lambda x: numerical.jacobian(f, x, method="central")
    return methods


def jax_methods(f: Callable) -> dict[str, Callable]:
    """JAX's jitted ``jacfwd`` and ``jacrev`` of ``f`` (compiled here, on a first call)."""
    import jax

    return {"jax jacfwd": jax.jit(jax.jacfwd(f)), "jax jacrev": jax.jit(jax.jacrev(f))}


def _optional(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _jax_numpy():
    jax = _optional("jax")
    if jax is None:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jnp


INTERLEAVED_ROUNDS = 3


def measure_cell(family: str, n: int, m: int, budget: float, jnp=None) -> dict:
    """Times and agreement of every method on one (family, n, m), plus the time of f itself."""
    build = make_family(family, n, m)
    f = build(dnp)
    x = np.random.default_rng([1, n]).standard_normal(n)
    t_f, _ = time_call(lambda: f(x), budget)
    methods = diffopt_methods(f)
    if jnp is not None:
        methods.update(jax_methods(build(jnp)))
        for name in ("jax jacfwd", "jax jacrev"):
            np.asarray(methods[name](x))  # compile outside the timing
    times, errors, results = {}, {}, {}
    for name, jac in methods.items():
        times[name], J = time_call(lambda jac=jac: np.asarray(jac(x)), budget)
        results[name] = np.asarray(J, dtype=float).reshape(m, n)
    # The modes compared against each other are timed again in interleaved rounds, so that drift
    # on a busy machine cannot favour whichever was timed in a quiet moment.
    close = [k for k in ("jacfwd", "jacrev", "auto") if times[k] < budget / 10]
    for _ in range(INTERLEAVED_ROUNDS if close else 0):
        for name in close:
            t, _ = time_call(lambda jac=methods[name]: np.asarray(jac(x)), budget / 5)
            times[name] = min(times[name], t)
    ref = results["jacfwd"]
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    agree = {}
    for name, J in results.items():
        errors[name] = float(np.max(np.abs(J - ref)) / scale)
        agree[name] = errors[name] <= (FD_RTOL if name.startswith("fd") else RTOL)
    return {"family": family, "n": n, "m": m, "f": t_f, "times": times, "rel_errors": errors,
            "agree": agree, "ratio_fwd_rev": times["jacfwd"] / times["jacrev"],
            "auto_slowdown": times["auto"] / min(times["jacfwd"], times["jacrev"])}


def grid_for(family: str, quick: bool) -> tuple[int, ...]:
    """The values of n (and of m) measured for ``family``."""
    if quick:
        return QUICK_GRID
    return FINE_GRID if family == HEATMAP_FAMILY else GRID


def crossover(cells: list[dict], family: str) -> list[tuple[int, float | None]]:
    """For each m: the n where forward and reverse cost the same (log-interpolated), or None."""
    out = []
    ms = sorted({c["m"] for c in cells if c["family"] == family})
    for m in ms:
        row = sorted((c["n"], c["ratio_fwd_rev"]) for c in cells
                     if c["family"] == family and c["m"] == m)
        at = None
        for (n0, r0), (n1, r1) in zip(row, row[1:]):
            if r0 <= 1.0 < r1:  # forward stops winning between n0 and n1
                w = np.log(r0) / (np.log(r0) - np.log(r1))
                at = float(np.exp(np.log(n0) + w * (np.log(n1) - np.log(n0))))
                break
        out.append((m, at))
    return out


def fit_slope(xs, ys, low: float) -> float:
    """Least-squares slope of log y against log x over the points with x >= ``low``."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    keep = xs >= low
    if keep.sum() < 2:
        keep = xs >= np.sort(xs)[-2]
    return float(np.polyfit(np.log(xs[keep]), np.log(ys[keep]), 1)[0])


def scaling(cells: list[dict], family: str) -> dict:
    """Jacobian cost in evaluations of f against n (at the smallest m) and m (at the smallest n),
    with the slopes fitted over the upper decade of each axis."""
    mine = [c for c in cells if c["family"] == family]
    values = sorted({c["n"] for c in mine})
    low = values[-1] / 10 if values[-1] >= 100 else values[-2]
    fixed = values[0]
    out = {}
    for axis, other in (("n", "m"), ("m", "n")):
        line = sorted((c for c in mine if c[other] == fixed), key=lambda c: c[axis])
        xs = [c[axis] for c in line]
        entry = {"fixed": {other: fixed}, axis: xs}
        for mode in ("jacfwd", "jacrev"):
            cost = [c["times"][mode] / c["f"] for c in line]
            entry[mode] = {"cost_in_f": cost, "slope": fit_slope(xs, cost, low)}
        out[axis] = entry
    return out


def plot_heatmap(cells: list[dict], family: str, cross, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    ns = sorted({c["n"] for c in cells if c["family"] == family})
    ratio = np.full((len(ns), len(ns)), np.nan)  # rows: m, columns: n
    for c in cells:
        if c["family"] == family:
            ratio[ns.index(c["m"]), ns.index(c["n"])] = c["ratio_fwd_rev"]
    span = float(np.nanmax(np.abs(np.log10(ratio))))
    span = max(span, 0.1)
    fig, ax = plt.subplots(figsize=(6.0, 5.2))
    img = ax.imshow(ratio, origin="lower", cmap="RdBu_r",
                    norm=LogNorm(vmin=10 ** -span, vmax=10 ** span))
    for i in range(len(ns)):
        for j in range(len(ns)):
            ax.text(j, i, f"{ratio[i, j]:.2g}", ha="center", va="center", fontsize=7)
    ticks = range(len(ns))
    ax.set_xticks(ticks, [str(v) for v in ns])
    ax.set_yticks(ticks, [str(v) for v in ns])
    to_pos = lambda v: np.interp(np.log(v), np.log(ns), np.arange(len(ns)))  # noqa: E731
    pts = [(to_pos(n), ns.index(m)) for m, n in cross if n is not None]
    if pts:
        ax.plot(*zip(*pts), "k-o", lw=2, ms=3, label="measured crossover (ratio = 1)")
    ax.plot([0, len(ns) - 1], [0, len(ns) - 1], "k:", lw=1, label="n = m")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7)
    ax.set_xlabel("n (inputs)")
    ax.set_ylabel("m (outputs)")
    ax.set_title(f"time(jacfwd) / time(jacrev), family '{family}'\n"
                 "red: reverse wins, blue: forward wins", fontsize=9)
    fig.colorbar(img, ax=ax, label="forward / reverse")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_scaling(scale: dict, family: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8))
    for ax, axis in zip(axes, ("n", "m")):
        entry = scale[axis]
        (other, fixed), = entry["fixed"].items()
        for mode, style in (("jacfwd", "o-"), ("jacrev", "s-")):
            ax.loglog(entry[axis], entry[mode]["cost_in_f"], style,
                      label=f"{mode}: slope {entry[mode]['slope']:.2f}")
        xs = np.asarray(entry[axis], float)
        ref = entry["jacfwd" if axis == "n" else "jacrev"]["cost_in_f"][-1]
        ax.loglog(xs, ref * xs / xs[-1], "k:", lw=1, label="slope 1")
        ax.set_xlabel(axis)
        ax.set_ylabel("time(Jacobian) / time(f)")
        ax.set_title(f"against {axis} at {other} = {fixed} ('{family}')", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_table(cells: list[dict]) -> None:
    methods = list(cells[0]["times"])
    head = f"{'family':<12}{'n':>6}{'m':>6}{'f':>10}" + "".join(f"{k:>12}" for k in methods)
    print(head + f"{'fwd/rev':>9}{'auto/best':>10}  ok")
    for c in cells:
        row = f"{c['family']:<12}{c['n']:>6}{c['m']:>6}{_ms(c['f']):>10}"
        row += "".join(f"{_ms(c['times'][k]):>12}" for k in methods)
        ok = "yes" if all(c["agree"].values()) else "NO: " + ",".join(
            k for k, v in c["agree"].items() if not v)
        print(row + f"{c['ratio_fwd_rev']:>9.2f}{c['auto_slowdown']:>10.2f}  {ok}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}ms"


def summarize(cells: list[dict], heat_family: str) -> dict:
    """Crossover, fitted slopes, and the worst ``auto`` (and ``optimal``) against the best pure
    mode."""
    summary = {"crossover": crossover(cells, heat_family),
               "scaling": scaling(cells, heat_family),
               "all_agree": all(all(c["agree"].values()) for c in cells)}
    for name in ("auto", "optimal"):
        ratios = [(c["times"][name] / min(c["times"]["jacfwd"], c["times"]["jacrev"]), c)
                  for c in cells if name in c["times"]]
        if ratios:
            worst, c = max(ratios, key=lambda rc: rc[0])
            summary[f"{name}_vs_best"] = {
                "max_slowdown": worst, "at": [c["family"], c["n"], c["m"]],
                "cells_over_10pct": sum(r > 1.1 for r, _ in ratios), "cells": len(ratios),
                "per_family_max": {fam: max(r for r, cc in ratios if cc["family"] == fam)
                                   for fam in sorted({cc["family"] for _, cc in ratios})}}
    return summary


def run_modes(out_dir: str | Path = "benchmarks/results", quick: bool = False,
              families: tuple[str, ...] = FAMILIES, use_jax: bool = True,
              budget: float | None = None) -> dict:
    """Run the benchmark, print the table and summary, write JSON and PNGs; returns the JSON dict.

    >>> import tempfile
    >>> res = run_modes(tempfile.mkdtemp(), quick=True, families=("elementwise",),
    ...                 use_jax=False, budget=0.002)  # doctest: +ELLIPSIS
    family ...
    all results agree: True; wrote ...
    >>> sorted(res["summary"])[:3]
    ['all_agree', 'auto_vs_best', 'crossover']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    budget = budget if budget is not None else (0.01 if quick else 0.08)
    jnp = _jax_numpy() if use_jax else None
    cells = []
    start = time.perf_counter()
    for family in families:
        values = grid_for(family, quick)
        for n in values:
            for m in values:
                cells.append(measure_cell(family, n, m, budget, jnp))
    heat = HEATMAP_FAMILY if HEATMAP_FAMILY in families else families[0]
    print_table(cells)
    summary = summarize(cells, heat)
    result = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                          "processor": platform.processor() or platform.machine(),
                          "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                          "jax": None if jnp is None else _optional("jax").__version__},
              "quick": quick, "budget_s": budget, "seconds": time.perf_counter() - start,
              "heatmap_family": heat, "cells": cells, "summary": summary}
    (out / "modes.json").write_text(json.dumps(result, indent=1))
    plot_heatmap(cells, heat, summary["crossover"], out / "modes_heatmap.png")
    plot_scaling(summary["scaling"], heat, out / "modes_scaling.png")
    _print_summary(summary, heat, out)
    return result


def _print_summary(summary: dict, family: str, out: Path) -> None:
    print(f"\ncrossover ({family}): " + ", ".join(
        f"m={m}: n~{'-' if n is None else f'{n:.3g}'}" for m, n in summary["crossover"]))
    for axis, entry in summary["scaling"].items():
        print(f"slopes of cost/f against {axis}: jacfwd {entry['jacfwd']['slope']:.2f}, "
              f"jacrev {entry['jacrev']['slope']:.2f}")
    for name in ("auto", "optimal"):
        if f"{name}_vs_best" in summary:
            s = summary[f"{name}_vs_best"]
            print(f"{name} vs the better pure mode: worst {s['max_slowdown']:.2f}x at {s['at']}, "
                  f"{s['cells_over_10pct']}/{s['cells']} cells over 1.10x")
    print(f"all results agree: {summary['all_agree']}; wrote {out}/modes.json and PNGs")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``[--quick] [--out DIR] [--families a,b] [--no-jax]``."""
    parser = argparse.ArgumentParser(prog="diffopt bench modes",
                                     description="forward against reverse mode Jacobians")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``diffopt bench modes`` (shared with ``benchmarks/modes.py``)."""
    parser.add_argument("--quick", action="store_true", help="a reduced grid (under a minute)")
    parser.add_argument("--out", metavar="DIR", default="benchmarks/results",
                        help="folder for modes.json and the PNGs (default benchmarks/results)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help=f"comma-separated subset of {','.join(FAMILIES)}")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX even when installed")


def run_from_args(args: argparse.Namespace) -> int:
    families = tuple(f for f in args.families.split(",") if f)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise SystemExit(f"diffopt bench modes: unknown families {unknown}; choose from {FAMILIES}")
    result = run_modes(args.out, quick=args.quick, families=families, use_jax=not args.no_jax)
    return 0 if result["summary"]["all_agree"] else 1
