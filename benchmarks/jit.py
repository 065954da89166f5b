"""Compiled derivative programs: diffopt eager against ``diffopt.jit`` (NumPy and Numba backends),
``jax.jit`` and HIPS autograd.

Cases:
- grad of a 300-primitive scalar chain (``x = sin(x) * 1.01 + 0.1``, 100 times);
- grad and HVP of the Rosenbrock function at n = 1000;
- grad of ``sum(tanh(A @ x)**2)`` with A 1000 x 1000.

Prints a table of times per call, the compile times (first call, which traces and compiles), and
the targets: ``jit(numba)`` within 2 x ``jax.jit`` on the scalar chain and on the Rosenbrock HVP.
Every compiled result is checked against the eager one. Writes ``benchmarks/results/jit.json``.
BLAS runs on one thread (unless the environment says otherwise). Systems that are not installed are
skipped (``pip install -e ".[bench]"`` adds autograd and JAX).

    python benchmarks/jit.py [--quick] [--out FILE] [--systems "eager,jit numpy,..."]
"""

from __future__ import annotations

from _harness import (  # first: it sets one BLAS thread before NumPy loads
    machine,
    parser,
    time_call,
    timed,
    versions,
    write_json,
)

# isort: split

import os

import numpy as np
from overhead import REPEATS, array_loss, chain, rosenbrock
from tqdm import tqdm

import diffopt
import diffopt.numpy as dnp

N_ROSEN = 1000
CASES = ("chain grad", "rosenbrock grad", "rosenbrock hvp", "array grad")
TARGETS = {  # label: (case, numerator system, denominator system, maximum ratio)
    "chain grad: jit(numba) <= 2 x jax.jit": ("chain grad", "jit numba", "jax jit", 2.0),
    "rosenbrock hvp: jit(numba) <= 2 x jax.jit": ("rosenbrock hvp", "jit numba", "jax jit", 2.0),
}
COMPILE_LIMIT = 1.0  # seconds: the NumPy backend's compile time on these programs


def diffopt_programs(A):
    """The derivative programs of the four cases, as functions of their array arguments."""
    loss, rosen = array_loss(dnp, A), rosenbrock(dnp)
    return {
        "chain grad": diffopt.grad(chain(dnp)),
        "rosenbrock grad": diffopt.grad(rosen),
        "rosenbrock hvp": lambda x, v: diffopt.hvp(rosen, x, v),
        "array grad": diffopt.grad(loss),
    }


def eager_cases(A, args):
    programs = diffopt_programs(A)
    return {case: (lambda p=programs[case], a=args[case]: p(*a)) for case in CASES}, {}


def jit_cases(A, args, backend: str):
    """Jitted programs; the first call (trace, optimize, generate, compile) is timed apart."""
    from diffopt.compile.jit import jit

    programs = diffopt_programs(A)
    cases, compile_times = {}, {}
    for case in CASES:
        fn = jit(programs[case], backend=backend)
        _, first = timed(fn, *args[case])
        compile_times[case] = {"first_call": first,
                               "compile_seconds": getattr(fn, "compile_seconds", None)}
        cases[case] = lambda fn=fn, a=args[case]: fn(*a)
    return cases, compile_times


def jax_cases(A, args):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    Aj = jnp.asarray(A)
    loss, rosen = array_loss(jnp, Aj), rosenbrock(jnp)
    programs = {
        "chain grad": jax.jit(jax.grad(chain(jnp))),
        "rosenbrock grad": jax.jit(jax.grad(rosen)),
        "rosenbrock hvp": jax.jit(lambda x, v: jax.jvp(jax.grad(rosen), (x,), (v,))[1]),
        "array grad": jax.jit(jax.grad(loss)),
    }
    cases, compile_times = {}, {}
    for case in CASES:
        a = tuple(jnp.asarray(x) if isinstance(x, np.ndarray) else x for x in args[case])
        _, first = timed(lambda p=programs[case], a=a: p(*a).block_until_ready())
        compile_times[case] = {"first_call": first}
        cases[case] = lambda p=programs[case], a=a: p(*a).block_until_ready()
    return cases, compile_times


def autograd_cases(A, args):
    import autograd
    import autograd.numpy as anp

    loss, rosen = array_loss(anp, A), rosenbrock(anp)
    rosen_grad = autograd.grad(rosen)
    programs = {
        "chain grad": autograd.grad(chain(anp)),
        "rosenbrock grad": rosen_grad,
        "rosenbrock hvp": lambda x, v: autograd.grad(lambda y: anp.dot(rosen_grad(y), v))(x),
        "array grad": autograd.grad(loss),
    }
    return {case: (lambda p=programs[case], a=args[case]: p(*a)) for case in CASES}, {}


SYSTEMS = ("eager", "jit numpy", "jit numba", "jax jit", "autograd")


def build_systems(A, args, names=SYSTEMS) -> tuple[dict, dict, dict]:
    """``(cases per system, compile times per system, why a system was skipped)``."""
    builders = {
        "eager": lambda: eager_cases(A, args),
        "jit numpy": lambda: jit_cases(A, args, "numpy"),
        "jit numba": lambda: jit_cases(A, args, "numba"),
        "jax jit": lambda: jax_cases(A, args),
        "autograd": lambda: autograd_cases(A, args),
    }
    systems, compiles, skipped = {}, {}, {}
    for name in tqdm(names, desc="compiling", leave=False):
        build = builders[name]
        try:
            systems[name], compiles[name] = build()
        except ImportError as e:
            skipped[name] = f"not available ({e})"
        except Exception as e:  # noqa: BLE001 - report a broken system, time the others
            skipped[name] = f"failed: {type(e).__name__}: {e}"
    for name, why in skipped.items():
        print(f"({name} skipped: {why})")
    return systems, compiles, skipped


def check_against_eager(systems: dict) -> dict:
    """Largest relative difference of each system's result from eager diffopt, per case."""
    if "eager" not in systems:
        return {}
    diffs = {}
    for case in CASES:
        ref = np.asarray(systems["eager"][case]())
        scale = max(1.0, float(np.max(np.abs(ref))))
        for name, cases in systems.items():
            if name != "eager":
                out = np.asarray(cases[case]())
                diffs.setdefault(case, {})[name] = float(np.max(np.abs(out - ref))) / scale
    return diffs


def main(argv: list[str] | None = None) -> dict:
    cli = parser(__doc__, "jit.json", "shorter timings (for smoke tests)")
    cli.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated subset of: {', '.join(SYSTEMS)}")
    args = cli.parse_args(argv)
    systems_wanted = [n.strip() for n in args.systems.split(",") if n.strip()]
    unknown = [n for n in systems_wanted if n not in SYSTEMS]
    if unknown:
        cli.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    budget = 0.05 if args.quick else 1.8  # (9 samples of about 0.2 s each)

    rng = np.random.default_rng(0)
    A = rng.standard_normal((1000, 1000))
    x = rng.standard_normal(1000)
    xr, v = rng.random(N_ROSEN), rng.standard_normal(N_ROSEN)
    case_args = {"chain grad": (np.float64(0.5),), "rosenbrock grad": (xr,),
                 "rosenbrock hvp": (xr, v), "array grad": (x,)}
    systems, compiles, skipped = build_systems(A, case_args, systems_wanted)
    diffs = check_against_eager(systems)

    times: dict[str, dict[str, float]] = {}
    jobs = [(case, name, fn) for name, cases in systems.items() for case, fn in cases.items()]
    for case, name, fn in tqdm(jobs, desc="timing", leave=False):
        times.setdefault(case, {})[name] = time_call(fn, budget, REPEATS)[0]

    names = list(systems)
    print(f"\n{'case':<18}" + "".join(f"{n:>12}" for n in names) + "   (microseconds per call)")
    for case in CASES:
        row = times.get(case, {})
        cells = "".join(f"{row[n] * 1e6:>12.2f}" if n in row else f"{'-':>12}" for n in names)
        print(f"{case:<18}{cells}")

    print("\nfirst call (trace + compile), seconds:")
    for name, per_case in compiles.items():
        if per_case:
            cells = ", ".join(f"{case} {t['first_call']:.3f}" for case, t in per_case.items())
            print(f"  {name:<10} {cells}")

    print("\nlargest difference from eager (relative):")
    bad = []
    for case, per in diffs.items():
        print(f"  {case:<18}" + ", ".join(f"{n} {d:.1e}" for n, d in per.items()))
        bad += [f"{case} / {n}" for n, d in per.items() if not d <= 1e-8]
    if bad:
        print(f"  MISMATCH: {', '.join(bad)}")

    print("\ntargets:")
    checks = {}
    for label, (case, num, den, limit) in TARGETS.items():
        a, b = times.get(case, {}).get(num), times.get(case, {}).get(den)
        r = None if a is None or b is None else a / b
        checks[label] = {"ratio": r, "limit": limit, "met": None if r is None else r <= limit}
        verdict = "n/a (system missing)" if r is None else ("met" if r <= limit else "MISSED")
        print(f"  {label:<44} {verdict if r is None else f'{r:.2f} ({verdict})'}")
    numpy_compiles = compiles.get("jit numpy", {})
    if numpy_compiles:
        worst = max(t["first_call"] for t in numpy_compiles.values())
        met = worst <= COMPILE_LIMIT
        checks[f"jit(numpy) compile <= {COMPILE_LIMIT:g} s"] = {"seconds": worst, "met": met}
        print(f"  {f'jit(numpy) compile <= {COMPILE_LIMIT:g} s':<44} {worst:.3f} s "
              f"({'met' if met else 'MISSED'})")

    report = {
        "machine": machine(**versions("numpy"),
                           blas_threads=os.environ.get("OPENBLAS_NUM_THREADS")),
        "quick": args.quick,
        "seconds_per_call": times,
        "compile_seconds": compiles,
        "relative_difference_from_eager": diffs,
        "skipped": skipped,
        "targets": checks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "jit.json", report)
    print(f"\nwrote {args.out / 'jit.json'}")
    return report


if __name__ == "__main__":
    main()
