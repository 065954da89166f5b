"""Per-call overhead of diffopt against HIPS autograd, JAX (eager and jit) and PyTorch.

Cases:
- grad of a 300-primitive scalar chain (``x = sin(x) * 1.01 + 0.1``, 100 times);
- grad of ``sum(tanh(A @ x)**2)`` with A 1000 x 1000, and that function's own time;
- grad and HVP of the Rosenbrock function at n = 1000;
- a plain ``diffopt.numpy`` call with no transform against the same NumPy call.

Prints a table and writes ``benchmarks/results/overhead.json``. Systems that are not installed are
skipped (``pip install -e ".[bench]"`` adds autograd and JAX).

    python benchmarks/overhead.py [--quick]
"""

from __future__ import annotations

from _harness import (  # first: it sets one BLAS thread before NumPy loads
    machine,
    parser,
    time_call,
    versions,
    write_json,
)

# isort: split

import numpy as np
from tqdm import tqdm

import diffopt
import diffopt.numpy as dnp

N_ROSEN = 1000
REPEATS = (9, 9)  # timed samples per measurement: the best of 9
TARGETS = {  # (case, numerator system, denominator system or case, maximum ratio)
    "scalar chain grad <= 0.5 x autograd": ("chain grad", "diffopt", "autograd", 0.5),
    "array grad <= 3 x the function": ("array grad", "diffopt", ("array f", "diffopt"), 3.0),
    "HVP <= 2.5 x grad": ("rosenbrock hvp", "diffopt", ("rosenbrock grad", "diffopt"), 2.5),
}


def chain(np_mod):
    def f(x):
        for _ in range(100):
            x = np_mod.sin(x) * 1.01 + 0.1
        return x

    return f


def rosenbrock(np_mod):
    return lambda x: np_mod.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def array_loss(np_mod, A):
    return lambda x: np_mod.sum(np_mod.tanh(A @ x) ** 2)


def diffopt_cases(A, x, xr, v):
    loss, rosen = array_loss(dnp, A), rosenbrock(dnp)
    small = np.random.default_rng(1).random(100)
    return {
        "chain grad": lambda: diffopt.grad(chain(dnp))(0.5),
        "array f": lambda: loss(x),
        "array grad": lambda: diffopt.grad(loss)(x),
        "rosenbrock grad": lambda: diffopt.grad(rosen)(xr),
        "rosenbrock hvp": lambda: diffopt.hvp(rosen, xr, v),
        "no-transform sin(100)": lambda: dnp.sin(small),
        "no-transform add(100)": lambda: dnp.add(small, small),
        "no-transform sum(100)": lambda: dnp.sum(small),
    }


def numpy_cases(A, x, xr, v):
    small = np.random.default_rng(1).random(100)
    return {
        "array f": lambda: array_loss(np, A)(x),
        "no-transform sin(100)": lambda: np.sin(small),
        "no-transform add(100)": lambda: np.add(small, small),
        "no-transform sum(100)": lambda: np.sum(small),
    }


def autograd_cases(A, x, xr, v):
    import autograd
    import autograd.numpy as anp

    loss, rosen = array_loss(anp, A), rosenbrock(anp)
    rosen_grad = autograd.grad(rosen)
    hvp = autograd.grad(lambda x: anp.dot(rosen_grad(x), v))  # reverse-over-reverse, autograd's way
    return {
        "chain grad": lambda: autograd.grad(chain(anp))(0.5),
        "array grad": lambda: autograd.grad(loss)(x),
        "rosenbrock grad": lambda: rosen_grad(xr),
        "rosenbrock hvp": lambda: hvp(xr),
    }


def jax_cases(A, x, xr, v, jit: bool):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    wrap = jax.jit if jit else (lambda f: f)
    Aj, xj, xrj, vj = (jnp.asarray(a) for a in (A, x, xr, v))
    loss, rosen = array_loss(jnp, Aj), rosenbrock(jnp)
    chain_grad = wrap(jax.grad(chain(jnp)))
    loss_grad = wrap(jax.grad(loss))
    rosen_grad = wrap(jax.grad(rosen))
    hvp = wrap(lambda x, v: jax.jvp(jax.grad(rosen), (x,), (v,))[1])
    block = lambda y: y.block_until_ready()
    return {
        "chain grad": lambda: block(chain_grad(0.5)),
        "array grad": lambda: block(loss_grad(xj)),
        "rosenbrock grad": lambda: block(rosen_grad(xrj)),
        "rosenbrock hvp": lambda: block(hvp(xrj, vj)),
    }


def torch_cases(A, x, xr, v):
    import torch

    torch.set_num_threads(1)
    At, xt, xrt, vt = (torch.tensor(a, dtype=torch.float64) for a in (A, x, xr, v))
    loss, rosen = array_loss(torch, At), rosenbrock(torch)

    def grad_of(f, x0):
        x = x0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x)
        return g

    def hvp(x0):
        x = x0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(rosen(x), x, create_graph=True)
        (h,) = torch.autograd.grad(g @ vt, x)
        return h

    return {
        "chain grad": lambda: grad_of(chain(torch), torch.tensor(0.5, dtype=torch.float64)),
        "array grad": lambda: grad_of(loss, xt),
        "rosenbrock grad": lambda: grad_of(rosen, xrt),
        "rosenbrock hvp": lambda: hvp(xrt),
    }


def available_systems(A, x, xr, v) -> dict:
    systems = {"diffopt": diffopt_cases(A, x, xr, v), "numpy": numpy_cases(A, x, xr, v)}
    optional = {
        "autograd": lambda: autograd_cases(A, x, xr, v),
        "jax eager": lambda: jax_cases(A, x, xr, v, jit=False),
        "jax jit": lambda: jax_cases(A, x, xr, v, jit=True),
        "torch": lambda: torch_cases(A, x, xr, v),
    }
    for name, build in optional.items():
        try:
            systems[name] = build()
        except ImportError:
            print(f"({name} not installed: skipped)")
    return systems


def ratio(times: dict, num: tuple, den: tuple) -> float | None:
    a, b = times.get(num[0], {}).get(num[1]), times.get(den[0], {}).get(den[1])
    return None if a is None or b is None else a / b


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__, "overhead.json", "shorter timings (for smoke tests)").parse_args(argv)
    budget = 0.05 if args.quick else 1.8  # (9 samples of about 0.2 s each)

    rng = np.random.default_rng(0)
    A = rng.standard_normal((1000, 1000))
    x = rng.standard_normal(1000)
    xr, v = rng.random(N_ROSEN), rng.standard_normal(N_ROSEN)
    systems = available_systems(A, x, xr, v)

    times: dict[str, dict[str, float]] = {}
    jobs = [(case, name, fn) for name, cases in systems.items() for case, fn in cases.items()]
    for case, name, fn in tqdm(jobs, desc="timing", leave=False):
        times.setdefault(case, {})[name] = time_call(fn, budget, REPEATS)[0]

    names = list(systems)
    print(f"\n{'case':<24}" + "".join(f"{n:>13}" for n in names) + "   (microseconds per call)")
    for case, row in times.items():
        cells = "".join(f"{row[n] * 1e6:>13.2f}" if n in row else f"{'-':>13}" for n in names)
        print(f"{case:<24}{cells}")

    print("\ntargets:")
    checks = {}
    for label, (case, num, den, limit) in TARGETS.items():
        den_key = den if isinstance(den, tuple) else (case, den)
        r = ratio(times, (case, num), den_key)
        checks[label] = {"ratio": r, "limit": limit, "met": None if r is None else r <= limit}
        verdict = "n/a (system missing)" if r is None else ("met" if r <= limit else "MISSED")
        shown = verdict if r is None else f"{r:.2f} ({verdict})"
        print(f"  {label:<40} {shown}")
    overheads = {}
    for case in ("no-transform sin(100)", "no-transform add(100)", "no-transform sum(100)"):
        extra = (times[case]["diffopt"] - times[case]["numpy"]) * 1e6
        overheads[case] = extra
        print(f"  {case + ' overhead <= 1 us':<40} {extra:.2f} us "
              f"({'met' if extra <= 1.0 else 'MISSED'})")

    report = {"machine": machine(**versions("numpy")), "quick": args.quick,
              "seconds_per_call": times, "targets": checks,
              "no_transform_overhead_us": overheads}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "overhead.json", report)
    print(f"\nwrote {args.out / 'overhead.json'}")
    return report


if __name__ == "__main__":
    main()
