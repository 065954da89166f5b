"""ODE benchmark: ``diffopt.ode`` against itself and other ODE libraries.

1. **Lorenz**, 1,000 RK4 steps over t in [0, 1] (dt = 1e-3): the forward solve and the value and
   gradient of ``sum(y(T)**2)`` with respect to ``y0`` and the parameters (sigma, rho, beta) by the
   diffopt NumPy path, the diffopt Numba path (its cold compile measured in a subprocess with a
   fresh ``DIFFOPT_CACHE_DIR``, then again from that disk cache), scipy ``solve_ivp`` (RK45 at the
   loosest tolerance at least as accurate as the RK4 solve; gradient by central differences,
   2P + 1 solves), diffrax (the same RK4 tableau, fixed step, ``jax.jit``; compile time apart) and
   torchdiffeq (``rk4``, fixed step, backprop) when installed, each in its own process. Errors
   are against RK4 at dt = 1e-5; times as ratios to the diffopt Numba path.
2. **One trebuchet shot** with its gradient in (wind, angle, weight): Numba against NumPy backends.
3. **1,024 trebuchet shots** with gradients: the compiled batched solve, a loop of single compiled
   shots (estimated from a sample of them) and the NumPy batched solve; throughput ratios.
4. **Peak memory** (``tracemalloc``) of a gradient against the number of steps for each adjoint
   (``direct``, ``checkpoint``, ``backsolve``, ``forward`` on the NumPy path, ``direct`` on the
   Numba path) on a 3-d linear system with Euler steps. ``tracemalloc`` sees Numba's array
   allocations (Numba's runtime allocates through Python's raw allocator; checked at run time).
   Combinations predicted to take over ``MEMORY_LIMITS`` are skipped and marked.
5. **GPU**: not measured here (a line says so).

``run(out_dir, quick)`` prints a table per section, writes ``ode.json`` (all numbers, machine and
versions) and the figures ``ode_memory.png`` and ``ode_lorenz.png`` into ``out_dir`` and returns
the results; ``main(argv)`` is the command line. The trebuchet's
compiled stages come from the on-disk cache (``~/.cache/diffopt``) when it holds them; on a cold
cache their first calls compile them (about a minute each for the single and the batched shot),
which the tables report as first-call times.

    python benchmarks/ode.py [--quick] [--out DIR] [--no-competitors]
"""

from __future__ import annotations

from _harness import (  # first: it sets one BLAS thread before NumPy loads
    child_process,
    figure,
    machine,
    output_dir,
    parser,
    peak_bytes,
    print_table,
    save,
    time_call,
    timed,
    versions,
    write_json,
)

# isort: split

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar  # (a module global: dataclasses read string annotations)

import numpy as np
from tqdm.auto import tqdm

import diffopt
import diffopt.numpy as dnp
from diffopt.ode import solve

__all__ = ["run", "main", "lorenz", "lorenz_study", "trebuchet_study", "batch_study",
           "memory_study"]

EPS = float(np.finfo(np.float64).eps)
JSON_NAME = "ode.json"
VERSIONS = ("diffopt", "numpy", "scipy", "numba", "jax", "diffrax", "torch", "torchdiffeq")
FIGURES = {"memory": "ode_memory.png", "lorenz": "ode_lorenz.png"}
# (full, quick) settings
BUDGET = (1.0, 0.15)  # seconds of timing per measurement
MIN_REPEATS = (3, 1)
N_SHOTS = (1024, 128)
LOOP_SAMPLE = (64, 16)  # single shots timed to estimate a loop over all of them
MEMORY_STEPS = ((100, 1000, 10_000, 100_000), (100, 1000, 10_000))
MEMORY_LIMITS = ((30.0, 2**30), (3.0, 2**28))  # skip: predicted seconds, predicted peak bytes
SHOT_TARGET_MS, BATCH_TARGET = 1.0, 10.0

LORENZ_Y0 = np.array([1.0, 1.0, 1.0])
LORENZ_P = np.array([10.0, 28.0, 8.0 / 3.0])
T_END, DT, DT_REF = 1.0, 1e-3, 1e-5
SCIPY_RTOLS = tuple(10.0 ** -k for k in range(5, 14))


# --- timing and memory ------------------------------------------------------------------------
def first_call_and_cache(fn: Callable) -> tuple[float, object, str | None]:
    """``(seconds, result, cache)`` of a first call that may load compiled ODE modules:
    ``cache`` is ``"compiled"`` when a module it loaded was written (or had its Numba cache
    written) during the call, ``"cached"`` when its modules came from the disk cache, ``None``
    when it loaded none (another process writing to the same cache does not count)."""
    before = {m for m in sys.modules if m.startswith("diffopt_ode_")}
    start_wall = time.time()
    result, seconds = timed(fn)
    new = [m for m in sys.modules if m.startswith("diffopt_ode_") and m not in before]
    if not new:
        return seconds, result, None
    from diffopt.ode.compiled import cache_dir

    folder = cache_dir()
    written = any(path.stat().st_mtime >= start_wall - 1.0 for name in new
                  for path in folder.rglob(f"{name}*"))
    return seconds, result, "compiled" if written else "cached"


def tracemalloc_sees_numba() -> bool:
    """Whether ``tracemalloc`` counts an array allocated inside a Numba-compiled function."""
    import numba

    @numba.njit
    def fill(n):
        a = np.ones(n)
        return a.sum()

    fill(1)
    size = 1 << 20
    peak, _ = peak_bytes(lambda: fill(size))
    return peak >= 8 * size


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# --- 1. Lorenz ----------------------------------------------------------------------------------
def lorenz(t, y, p):
    """The Lorenz system's right-hand side, ``p = (sigma, rho, beta)``.

    >>> lorenz(0.0, np.ones(3), LORENZ_P)  # [0., 26., -1.667]
    """
    s, r, b = p[0], p[1], p[2]
    return dnp.stack([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def _lorenz_np(t, y, p):
    s, r, b = p
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def diffopt_lorenz(backend: str, dt: float = DT) -> tuple[Callable, Callable]:
    """``(final, value_and_grad)`` of the Lorenz RK4 solve by diffopt: ``final(y0, p) -> y(T)``
    and ``value_and_grad(y0, p) -> (sum(y(T)**2), gradient in (y0, p) as one 6-vector)``."""

    def final(y0, p):
        return solve(lorenz, y0, (0.0, T_END), (p,), method="rk4", dt=dt, backend=backend,
                     max_steps=2 * int(T_END / dt)).y_final

    vg = diffopt.value_and_grad(lambda y0, p: dnp.sum(final(y0, p) ** 2), argnums=(0, 1))

    def value_and_grad(y0, p):
        v, (g0, gp) = vg(y0, p)
        return float(v), np.concatenate([np.asarray(g0), np.asarray(gp)])

    return (lambda y0, p: np.asarray(final(y0, p))), value_and_grad


def scipy_lorenz(rtol: float, method: str = "RK45") -> tuple[Callable, Callable]:
    """``(final, value_and_grad)`` by ``scipy.integrate.solve_ivp`` (``method`` at ``rtol``,
    ``atol = rtol``); the gradient by central differences (2P + 1 solves) with the step
    ``rtol^(1/3) max(1, |z_i|)`` that balances truncation against the solver's noise."""
    from scipy.integrate import solve_ivp

    def final(y0, p):
        sol = solve_ivp(_lorenz_np, (0.0, T_END), y0, method=method, rtol=rtol, atol=rtol,
                        args=(p,))
        return sol.y[:, -1]

    def loss(z):
        return float(np.sum(final(z[:3], z[3:]) ** 2))

    def value_and_grad(y0, p):
        z = np.concatenate([y0, p])
        g = np.empty_like(z)
        for i in range(z.size):
            h = max(rtol, EPS) ** (1 / 3) * max(1.0, abs(z[i]))
            up, down = z.copy(), z.copy()
            up[i] += h
            down[i] -= h
            g[i] = (loss(up) - loss(down)) / (2 * h)
        return loss(z), g

    return final, value_and_grad


def diffrax_lorenz() -> tuple[Callable, Callable]:
    """``(final, value_and_grad)`` by diffrax with the classic RK4 tableau at the fixed step
    ``DT`` (default adjoint: recursive checkpointing), each under ``jax.jit``."""
    import diffrax
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    class RK4(diffrax.AbstractERK):
        tableau: ClassVar[diffrax.ButcherTableau] = diffrax.ButcherTableau(
            c=np.array([0.5, 0.5, 1.0]), b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
            b_error=np.zeros(4),
            a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])))
        interpolation_cls: ClassVar = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

        def order(self, terms):
            return 4

    def vf(t, y, p):
        return jnp.stack([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1],
                          y[0] * y[1] - p[2] * y[2]])

    term = diffrax.ODETerm(vf)

    def final(y0, p):
        sol = diffrax.diffeqsolve(term, RK4(), 0.0, T_END, DT, y0, args=p,
                                  stepsize_controller=diffrax.ConstantStepSize(),
                                  saveat=diffrax.SaveAt(t1=True),
                                  max_steps=int(round(T_END / DT)) + 1)
        return sol.ys[-1]

    final_jit = jax.jit(final)
    vg_jit = jax.jit(jax.value_and_grad(lambda y0, p: jnp.sum(final(y0, p) ** 2),
                                        argnums=(0, 1)))

    def run_final(y0, p):
        return np.asarray(jax.block_until_ready(final_jit(y0, p)))

    def value_and_grad(y0, p):
        v, (g0, gp) = jax.block_until_ready(vg_jit(y0, p))
        return float(v), np.concatenate([np.asarray(g0), np.asarray(gp)])

    return run_final, value_and_grad


def torchdiffeq_lorenz() -> tuple[Callable, Callable]:
    """``(final, value_and_grad)`` by torchdiffeq's fixed-step ``rk4`` (the 3/8-rule variant) at
    step ``DT``, float64; the gradient by backpropagation through the steps."""
    import torch
    from torchdiffeq import odeint

    span = torch.tensor([0.0, T_END], dtype=torch.float64)

    def solve_t(y0, p):
        def f(t, y):
            return torch.stack([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1],
                                y[0] * y[1] - p[2] * y[2]])

        return odeint(f, y0, span, method="rk4", options={"step_size": DT})[-1]

    def final(y0, p):
        with torch.no_grad():
            return solve_t(torch.tensor(y0), torch.tensor(p)).numpy()

    def value_and_grad(y0, p):
        y0_t = torch.tensor(y0, requires_grad=True)
        p_t = torch.tensor(p, requires_grad=True)
        loss = torch.sum(solve_t(y0_t, p_t) ** 2)
        g0, gp = torch.autograd.grad(loss, (y0_t, p_t))
        return float(loss.detach()), np.concatenate([g0.numpy(), gp.numpy()])

    return final, value_and_grad


LORENZ_SYSTEMS = {  # system: (method, module that must be installed, build() -> programs)
    "diffopt numba": ("rk4 dt=1e-3", "numba", lambda: diffopt_lorenz("numba")),
    "diffopt numpy": ("rk4 dt=1e-3", "numpy", lambda: diffopt_lorenz("numpy")),
    "diffrax (jax.jit)": ("rk4 dt=1e-3", "diffrax", diffrax_lorenz),
    "torchdiffeq": ("rk4 (3/8 rule) dt=1e-3", "torchdiffeq", torchdiffeq_lorenz),
}
COMPETITORS = ("diffrax (jax.jit)", "torchdiffeq")


def measure_lorenz(system: str, quick: bool = False) -> dict:
    """Time one system of ``LORENZ_SYSTEMS``: its first solve and gradient (compilation, except
    for the eager NumPy path), then the median solve and value-and-gradient; with the results
    ``y`` (``y(T)``) and ``g`` (the gradient in ``(y0, p)``)."""
    budget, reps = BUDGET[quick], MIN_REPEATS[quick]
    y0, p = LORENZ_Y0.copy(), LORENZ_P.copy()
    final, vg = LORENZ_SYSTEMS[system][2]()
    out = {}
    if system != "diffopt numpy":
        out["first_calls_s"], _, out["cache"] = first_call_and_cache(
            lambda: (final(y0, p), vg(y0, p)))
    t_fwd, y_t = time_call(partial(final, y0, p), budget, (reps, 15), median=True)
    t_grad, (_, g) = time_call(partial(vg, y0, p), budget, (reps, 15), median=True)
    return {**out, "fwd_ms": t_fwd * 1e3, "grad_ms": t_grad * 1e3,
            "y": np.asarray(y_t, dtype=float).tolist(), "g": np.asarray(g, dtype=float).tolist()}


def _probe(call: str, env: dict | None = None, timeout: float = 900.0) -> dict:
    """Run ``b.<call>`` of this benchmark in a fresh Python process (which prints one JSON line)
    and return what it printed, or ``{"error": ...}``."""
    cmd, env = child_process(__file__, f"b.{call}", env)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {"error": " ".join(proc.stderr.strip().splitlines()[-1:])}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_json(value) -> None:
    print(json.dumps(value))


def _compile_probe() -> None:
    """Print (one JSON line) the seconds of the Numba Lorenz solve's and gradient's first and
    second calls in this process (run by :func:`compile_times` in a fresh one)."""
    final, vg = diffopt_lorenz("numba")
    out = {}
    for name, fn in (("fwd_first", final), ("grad_first", vg), ("fwd_second", final),
                     ("grad_second", vg)):
        start = time.perf_counter()
        fn(LORENZ_Y0, LORENZ_P)
        out[name] = time.perf_counter() - start
    _print_json(out)


def compile_times() -> dict:
    """The Numba Lorenz problem's first calls in fresh processes: ``cold`` with an empty
    ``DIFFOPT_CACHE_DIR`` (code generation and Numba compilation of the solve, then of the
    adjoint at the first gradient), then ``disk_cache`` with that folder filled."""
    folder = tempfile.mkdtemp(prefix="diffopt-ode-bench-")
    env = dict(os.environ, DIFFOPT_CACHE_DIR=folder)
    try:
        return {label: _probe("_compile_probe()", env) for label in ("cold", "disk_cache")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def lorenz_study(quick: bool = False, use_competitors: bool = True) -> dict:
    """Times, errors and compile times of the Lorenz solve and gradient (section 1). diffrax and
    torchdiffeq run in their own processes, so that their imports (and the objects the garbage
    collector then walks) do not slow the other measurements down."""
    budget, reps = BUDGET[quick], MIN_REPEATS[quick]
    y0, p = LORENZ_Y0.copy(), LORENZ_P.copy()
    rows = []
    names = [n for n in LORENZ_SYSTEMS if use_competitors or n not in COMPETITORS]
    for system in tqdm(names, desc="lorenz", leave=False):
        method, module, _ = LORENZ_SYSTEMS[system]
        row = {"system": system, "method": method}
        rows.append(row)
        if importlib.util.find_spec(module) is None:
            row["note"] = f"skipped: {module} not installed"
        elif system in COMPETITORS:
            row.update(_probe(f"_print_json(b.measure_lorenz({system!r}, {quick}))"))
            row["note"] = row.pop("error", "in its own process")
        else:
            row.update(measure_lorenz(system, quick))
    ref_final, ref_vg = diffopt_lorenz("numba", DT_REF)  # (the same compiled problem)
    y_ref, (_, g_ref) = ref_final(y0, p), ref_vg(y0, p)
    scipy_check = None
    if _optional("scipy.integrate") is not None:
        scipy_check = _rel(scipy_lorenz(1e-13, "DOP853")[0](y0, p), y_ref)
        rk4_err = _rel(rows[0]["y"], y_ref)
        rtol = next((r for r in SCIPY_RTOLS if _rel(scipy_lorenz(r)[0](y0, p), y_ref) <= rk4_err),
                    SCIPY_RTOLS[-1])
        final, vg = scipy_lorenz(rtol)
        t_fwd, y_t = time_call(partial(final, y0, p), budget, (reps, 15), median=True)
        t_grad, (_, g) = time_call(partial(vg, y0, p), budget, (reps, 15), median=True)
        rows.insert(2, {"system": "scipy solve_ivp", "method": f"RK45 rtol=atol={rtol:.0e}",
                        "fwd_ms": t_fwd * 1e3, "grad_ms": t_grad * 1e3, "y": y_t.tolist(),
                        "g": g.tolist(),
                        "note": f"gradient: central differences, {2 * 6 + 1} solves"})
    base = rows[0]
    for r in rows:
        if "fwd_ms" in r:
            r.update(fwd_x_numba=r["fwd_ms"] / base["fwd_ms"],
                     grad_x_numba=r["grad_ms"] / base["grad_ms"],
                     y_rel_err=_rel(r["y"], y_ref), grad_rel_err=_rel(r["g"], g_ref))
    compile_info = {"this_process_first_calls_s": base.get("first_calls_s"),
                    "this_process_cache": base.get("cache")}
    if not quick:
        compile_info.update(compile_times())
    return {"steps": int(round(T_END / DT)), "reference": f"rk4 dt={DT_REF:g} (diffopt numba)",
            "reference_vs_scipy_dop853": scipy_check, "rows": rows, "compile": compile_info}


def _print_lorenz(study: dict) -> None:
    print_table(study["rows"], [
        ("system", "system", "s"), ("method", "method", "s"), ("fwd_ms", "fwd ms", "g"),
        ("fwd_x_numba", "x numba", "g"), ("grad_ms", "grad ms", "g"),
        ("grad_x_numba", "x numba", "g"), ("y_rel_err", "y(T) err", "g"),
        ("grad_rel_err", "grad err", "g"), ("first_calls_s", "1st calls s", "g"),
        ("note", "note", "s")])
    c = study["compile"]
    print(f"errors relative to {study['reference']} (which agrees with scipy DOP853 at rtol=1e-13 "
          f"to {study['reference_vs_scipy_dop853'] or float('nan'):.1e})")
    for label, text in (("cold", "cold (empty DIFFOPT_CACHE_DIR)"),
                        ("disk_cache", "from the disk cache")):
        if label in c:
            v = c[label]
            print(f"diffopt numba first calls in a fresh process, {text}: " + (
                f"solve {v['fwd_first']:.2f} s, gradient {v['grad_first']:.2f} s "
                f"(then {v['fwd_second'] * 1e3:.3g} ms, {v['grad_second'] * 1e3:.3g} ms)"
                if "error" not in v else f"failed: {v['error']}"))
    if "cold" not in c:
        print("diffopt numba cold compile: not measured in --quick")
    print(f"diffopt numba first solve and gradient in this process: "
          f"{c['this_process_first_calls_s']:.2f} s ({c['this_process_cache']})")


def _plot_lorenz(study: dict, path: Path) -> str:
    rows = [r for r in study["rows"] if "fwd_ms" in r]
    fig, axes = figure(1, 1, size=(7.0, 3.8))
    ax = axes[0, 0]
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r["fwd_ms"] for r in rows], height=0.4, label="solve")
    ax.barh(y + 0.2, [r["grad_ms"] for r in rows], height=0.4, label="value and gradient")
    ax.set_yticks(y, [f"{r['system']}\n{r['method']}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="ms per call (median)",
           title=f"Lorenz, {study['steps']} RK4 steps: solve and gradient in (y0, σ, ρ, β)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


# --- 2. and 3. the trebuchet ------------------------------------------------------------------
def _shot_programs(backend: str):
    from diffopt.models.trebuchet import shoot

    def fwd(w, a, m):
        return float(shoot(w, a, m, backend=backend).distance)

    vg = diffopt.value_and_grad(lambda w, a, m: shoot(w, a, m, backend=backend).distance,
                                argnums=(0, 1, 2))

    def value_and_grad(w, a, m):
        v, g = vg(w, a, m)
        return float(v), np.array([float(x) for x in g])

    return fwd, value_and_grad


SHOT = (0.0, 45.0, 200.0)  # wind m/s, angle degrees, counterweight lb


def trebuchet_study(quick: bool = False) -> dict:
    """One shot and its 3-input gradient, Numba against NumPy backends (section 2)."""
    budget, reps = BUDGET[quick], MIN_REPEATS[quick]
    rows = []
    for backend in tqdm(("numba", "numpy"), desc="trebuchet", leave=False):
        fwd, vg = _shot_programs(backend)
        first_s, _, cache = first_call_and_cache(partial(vg, *SHOT))
        t_fwd, d = time_call(partial(fwd, *SHOT), budget, (max(reps, 5), 50), median=True)
        t_vg, (_, g) = time_call(partial(vg, *SHOT), budget, (max(reps, 5), 50), median=True)
        rows.append({"backend": backend, "fwd_ms": t_fwd * 1e3, "grad_ms": t_vg * 1e3,
                     "first_call_s": first_s, "cache": cache if backend == "numba" else None,
                     "distance": d,
                     "gradient": g.tolist()})
    numpy_row = rows[-1]
    for r in rows:
        r["grad_x_numba"] = r["grad_ms"] / rows[0]["grad_ms"]
        r["grad_rel_diff_vs_numpy"] = _rel(r["gradient"], numpy_row["gradient"])
    return {"shot": dict(zip(("wind", "angle_deg", "weight_lb"), SHOT)), "rows": rows,
            "target_ms": SHOT_TARGET_MS, "target_met": rows[0]["grad_ms"] <= SHOT_TARGET_MS}


def _print_trebuchet(study: dict) -> None:
    print_table(study["rows"], [
        ("backend", "backend", "s"), ("fwd_ms", "shot ms", "g"), ("grad_ms", "shot+grad ms", "g"),
        ("grad_x_numba", "x numba", "g"), ("first_call_s", "1st call s", "g"),
        ("cache", "cache", "s"), ("distance", "distance m", ".6f"),
        ("grad_rel_diff_vs_numpy", "grad diff", "g")])
    print("cache: compiled (first call compiled its modules), cached (loaded from the disk cache), "
          "- (nothing new to load)")
    print(f"target: compiled shot with gradient <= {study['target_ms']:g} ms: "
          f"{'met' if study['target_met'] else 'NOT met'} ({study['rows'][0]['grad_ms']:.3g} ms)")


def _shot_inputs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(6)
    return rng.uniform(-5, 5, n), rng.uniform(30, 60, n), rng.uniform(150, 250, n)


def batch_study(quick: bool = False) -> dict:
    """``N_SHOTS`` shots with gradients: compiled batched, a loop of compiled single shots
    (timed on ``LOOP_SAMPLE`` of them), NumPy batched (section 3)."""
    from diffopt.models.trebuchet import shoot_batch

    budget, reps = BUDGET[quick], MIN_REPEATS[quick]
    n, k = N_SHOTS[quick], LOOP_SAMPLE[quick]
    w, a, m = _shot_inputs(n)

    def batched(backend: str, grad: bool = True) -> Callable:
        def total(w, a, m):
            return dnp.sum(shoot_batch(w, a, m, backend=backend).distance)

        if not grad:
            return lambda: shoot_batch(w, a, m, backend=backend).distance
        vg = diffopt.value_and_grad(total, argnums=(0, 1, 2))
        return lambda: [np.asarray(x) for x in vg(w, a, m)[1]]

    _, single = _shot_programs("numba")

    def loop():
        return np.array([single(w[i], a[i], m[i])[1] for i in range(k)]).T

    jobs = [("numba batched", "value+grad", n, batched("numba")),
            ("numba batched", "value only", n, batched("numba", grad=False)),
            ("numba loop of single shots", "value+grad", k, loop),
            ("numpy batched", "value+grad", n, batched("numpy"))]
    rows, grads = [], {}
    for mode, what, count, fn in tqdm(jobs, desc="batch", leave=False):
        first_s, out, cache = first_call_and_cache(fn)
        t, out = time_call(fn, budget, (reps, 5), median=True, first=(out, first_s))
        if what == "value+grad":
            grads[mode] = np.array(out)[:, :k]
        rows.append({"mode": mode, "what": what, "shots_timed": count, "s_per_call": t,
                     "ms_per_shot": t / count * 1e3, "shots_per_s": count / t,
                     "s_for_all": t / count * n, "first_call_s": first_s,
                     "cache": cache if mode.startswith("numba") else None})
    loop_rate = rows[2]["shots_per_s"]
    for r in rows:
        r["x_loop"] = r["shots_per_s"] / loop_rate
    ratio = rows[0]["shots_per_s"] / loop_rate
    ref = grads["numba loop of single shots"]
    return {"shots": n, "loop_sample": k, "rows": rows, "batched_over_loop": ratio,
            "target": BATCH_TARGET, "target_met": ratio >= BATCH_TARGET,
            "grad_rel_diff_vs_loop": {mode: _rel(g, ref) for mode, g in grads.items()}}


def _print_batch(study: dict) -> None:
    print_table(study["rows"], [
        ("mode", "mode", "s"), ("what", "what", "s"), ("shots_timed", "shots timed", "d"),
        ("ms_per_shot", "ms/shot", "g"), ("shots_per_s", "shots/s", ".0f"),
        ("s_for_all", f"s for {study['shots']}", "g"), ("x_loop", "x loop", "g"),
        ("first_call_s", "1st call s", "g"), ("cache", "cache", "s")])
    print(f"throughput batched / looped (value+grad): {study['batched_over_loop']:.2f}x; target "
          f">= {study['target']:g}x: {'met' if study['target_met'] else 'NOT met'}. Gradients of "
          f"the first {study['loop_sample']} shots against the loop: " + ", ".join(
              f"{k} {v:.1e}" for k, v in study["grad_rel_diff_vs_loop"].items()))


# --- 4. memory against steps ------------------------------------------------------------------
MEM_A = np.array([[-0.5, 1.0, 0.0], [-1.0, -0.5, 0.2], [0.0, -0.2, -0.1]])
MEM_Y0 = np.array([1.0, 0.5, -0.3])
VARIANTS = (("direct", "numpy"), ("checkpoint", "numpy"), ("backsolve", "numpy"),
            ("forward", "numpy"), ("direct", "numba"))


def _linear(t, y, A):
    return A @ y


def memory_grad(steps: int, adjoint: str, backend: str) -> Callable:
    """The gradient in ``(y0, A)`` of ``sum(y(1)**2)`` for ``y' = A y`` by ``steps`` Euler steps.
    The NumPy path saves only ``y(1)`` (``saveat=[1]``, so the adjoint's own memory shows); the
    Numba path (which ``saveat`` would send to NumPy) keeps every step, as its adjoint needs."""
    saveat = None if backend == "numba" else np.array([1.0])

    def loss(y0, A):
        sol = solve(_linear, y0, (0.0, 1.0), (A,), method="euler", dt=1.0 / steps,
                    adjoint=adjoint, backend=backend, saveat=saveat, max_steps=2 * steps)
        return dnp.sum(sol.y_final ** 2)

    g = diffopt.grad(loss, argnums=(0, 1))
    return lambda: np.concatenate([np.ravel(x) for x in g(MEM_Y0, MEM_A)])


def memory_study(quick: bool = False) -> dict:
    """Peak memory and time of a gradient per adjoint and number of steps (section 4)."""
    limit_s, limit_bytes = MEMORY_LIMITS[quick]
    d = MEM_Y0.size
    rows, direct = [], {}
    jobs = [(adj, be, n) for adj, be in VARIANTS for n in MEMORY_STEPS[quick]]
    last: dict = {}
    for adjoint, backend, n in tqdm(jobs, desc="memory", leave=False):
        key = (adjoint, backend)
        row = {"adjoint": adjoint, "backend": backend, "steps": n,
               "trajectory_mb": (n + 1) * d * 8 / 2**20}
        rows.append(row)
        prev = last.get(key)
        if prev is not None:
            if "skipped" in prev:
                row["skipped"] = prev["skipped"]
                continue
            grow = n / prev["steps"]
            pred_s = max(prev["time_s"], prev["traced_s"]) * grow
            pred_b = prev["peak_mb"] * 2**20 * grow
            if pred_s > limit_s or pred_b > limit_bytes:
                row["skipped"] = (f"predicted {pred_s:.0f} s > {limit_s:g} s" if pred_s > limit_s
                                  else f"predicted {pred_b / 2**20:.0f} MB > "
                                  f"{limit_bytes / 2**20:.0f} MB")
                last[key] = row
                continue
        g = memory_grad(n, adjoint, backend)
        if backend == "numba" or prev is None:
            g()  # (compiles the Numba path; warms caches)
        start = time.perf_counter()
        result = g()
        row["time_s"] = time.perf_counter() - start
        peak, row["traced_s"] = peak_bytes(g)
        row["peak_mb"] = peak / 2**20
        if key == ("direct", "numpy"):
            direct[n] = result
        if n in direct:
            row["grad_rel_diff_vs_direct"] = _rel(result, direct[n])
        last[key] = row
    return {"problem": "y' = A y, 3-d, Euler, t in [0, 1]; gradient of sum(y(1)**2) in (y0, A)",
            "tracemalloc_sees_numba": tracemalloc_sees_numba(),
            "limits": {"seconds": limit_s, "bytes": limit_bytes}, "rows": rows}


def _print_memory(study: dict) -> None:
    print_table(study["rows"], [
        ("adjoint", "adjoint", "s"), ("backend", "backend", "s"), ("steps", "steps", "d"),
        ("peak_mb", "peak MB", "g"), ("trajectory_mb", "trajectory MB", "g"),
        ("time_s", "grad s", "g"), ("traced_s", "traced s", "g"),
        ("grad_rel_diff_vs_direct", "vs direct", "g"), ("skipped", "skipped", "s")])
    print(f"tracemalloc sees NumPy arrays allocated inside Numba code: "
          f"{study['tracemalloc_sees_numba']} ('traced s': the same gradient under tracemalloc; "
          "'trajectory MB': (steps + 1) states)")


def _plot_memory(study: dict, path: Path) -> str:
    fig, axes = figure(1, 2, size=(5.5, 4.0))
    for k, (adjoint, backend) in enumerate(VARIANTS):
        sel = [r for r in study["rows"] if (r["adjoint"], r["backend"]) == (adjoint, backend)
               and "peak_mb" in r]
        kw = {"color": f"C{k}", "marker": "o", "label": f"{adjoint} ({backend})"}
        steps = [r["steps"] for r in sel]
        axes[0, 0].loglog(steps, [max(r["peak_mb"], 1e-4) for r in sel], **kw)
        axes[0, 1].loglog(steps, [r["time_s"] for r in sel], **kw)
    steps = sorted({r["steps"] for r in study["rows"]})
    axes[0, 0].loglog(steps, [(n + 1) * 3 * 8 / 2**20 for n in steps], "k:", lw=1,
                      label="the states, (steps + 1) x 3 floats")
    axes[0, 0].set(xlabel="steps", ylabel="peak MB during the gradient (tracemalloc)",
                   title="memory of y' = Ay (3-d, Euler); NumPy path saves y(1) only")
    axes[0, 1].set(xlabel="steps", ylabel="seconds per gradient", title="time per gradient")
    for ax in axes[0]:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)


# --- the whole benchmark ----------------------------------------------------------------------
def _gpu_line() -> dict:
    """Why the CuPy measurement was not run (this benchmark has none yet: no GPU was available
    to develop it on)."""
    if importlib.util.find_spec("cupy") is None:
        reason = "no GPU was available to this run and CuPy is not installed"
    else:
        try:
            import cupy

            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:  # (CUDA missing or broken: no usable GPU)
            count = 0
        reason = ("no GPU visible to CuPy" if not count else
                  f"{count} GPU(s) visible, but this benchmark has no CuPy measurement yet")
    return {"run": False, "reason": reason}


def run(out_dir=Path("benchmarks/results"), quick: bool = False,
        use_competitors: bool = True) -> dict:
    """Run the five sections, print their tables, write the JSON and figures into ``out_dir``.

    >>> run("/tmp/ode", quick=True)["files"]  # the JSON and two PNGs
    """
    out = output_dir(out_dir)
    start = time.perf_counter()
    load_start = os.getloadavg()
    print(f"\n1. Lorenz, {int(round(T_END / DT))} RK4 steps: solve, and value and gradient of "
          "sum(y(T)**2) in (y0, sigma, rho, beta)")
    lorenz_res = lorenz_study(quick, use_competitors)
    _print_lorenz(lorenz_res)
    print(f"\n2. one trebuchet shot with its gradient in (wind, angle, weight) at {SHOT}")
    shot = trebuchet_study(quick)
    _print_trebuchet(shot)
    print(f"\n3. {N_SHOTS[quick]} trebuchet shots with gradients (value_and_grad of the summed "
          "distances)")
    batch = batch_study(quick)
    _print_batch(batch)
    print("\n4. peak memory of a gradient against steps, per adjoint (y' = Ay, 3-d, Euler)")
    memory = memory_study(quick)
    _print_memory(memory)
    gpu = _gpu_line()
    print(f"\n5. GPU: the CuPy measurement was not run ({gpu['reason']}).")
    files = [str(out / JSON_NAME), _plot_memory(memory, out / FIGURES["memory"]),
             _plot_lorenz(lorenz_res, out / FIGURES["lorenz"])]
    load_end = os.getloadavg()
    result = {
        "meta": {"quick": quick, "seconds": time.perf_counter() - start,
                 "versions": versions(*VERSIONS),
                 "machine": machine(openblas_threads=os.environ.get("OPENBLAS_NUM_THREADS")),
                 "load_average_start": list(load_start),
                 "load_average_end": list(load_end)},
        "lorenz": lorenz_res, "trebuchet": shot, "batch": batch, "memory": memory, "gpu": gpu,
        "files": files,
    }
    write_json(files[0], result)
    print(f"\nload average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, "
          f"on {os.cpu_count()} CPUs")
    print(f"wrote {', '.join(files)} in {result['meta']['seconds']:.1f} s")
    return result


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``[--quick] [--out DIR] [--no-competitors]``.

    >>> main(["--quick", "--out", "/tmp/ode"])
    """
    cli = parser(__doc__, JSON_NAME, "fewer shots, steps and repeats, no cold-compile subprocess "
                 "(under a minute with warm caches)")
    cli.add_argument("--no-competitors", action="store_true",
                     help="skip diffrax and torchdiffeq even when installed")
    args = cli.parse_args(argv)
    return run(args.out, args.quick, use_competitors=not args.no_competitors)


if __name__ == "__main__":
    main()
