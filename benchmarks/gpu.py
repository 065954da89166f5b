"""GPU benchmark: diffopt's CUDA kernels (``backend="cuda"``) on CuPy arrays.

1. **Image pipeline** (``diffopt.models.camera.ENHANCEMENT``): forward and value+grad of the mean
   squared error in MP/s at 4, 12 and 48 MP, against the memory-bandwidth bound. The bound is the
   bytes each pass must move, divided by the device's copy bandwidth (a device-to-device copy of
   256 MiB, read and write counted). Forward: every stage reads its input and writes its output.
   Backward: every stage reads its output's cotangent and its input, and writes its input's
   cotangent. The target is at least 50% of the bound.
2. **jit**: ``diffopt.jit(f, backend="cuda")`` of an elementwise chain (one fused kernel) in GB/s,
   against the same copy bandwidth.
3. **ODE ensembles** (``solve(..., batched=True, backend="cuda")``): a Lorenz ensemble (Tsit5,
   rtol = atol = 1e-8, t in [0, 1]) of 2^20 to 2^23 trajectories in solves per second (anchor:
   DiffEqGPU.jl, 2^23 trajectories in 69.5 ms on a V100, about 1.2e8 solves/s; diffrax on that card
   2,611 ms). Where the CUDA executor does not run a case, the row says why.

``--quick``: tiny sizes under Numba's CUDA simulator (run with ``NUMBA_ENABLE_CUDASIM=1``, NumPy
arrays): it checks that the script runs, not speed. Results go to ``gpu.json``.

    python benchmarks/gpu.py [--quick] [--out DIR]      # on the device machine: benchmarks/gpu.sh
"""

from __future__ import annotations

from _harness import machine, parser, print_table, time_call, versions, write_json

# isort: split

import numpy as np

import diffopt
import diffopt.cuda as dcuda

JSON_NAME = "gpu.json"
IMAGE_MP = {False: ((2000, 2000), (3000, 4000), (6000, 8000)), True: ((8, 12),)}
JIT_SIZES = {False: (1 << 24,), True: (64,)}
LORENZ_SIZES = {False: (1 << 20, 1 << 21, 1 << 22, 1 << 23), True: (4,)}
BUDGET = {False: 1.0, True: 0.01}
BOUND_TARGET = 0.5
ANCHOR_SOLVES_PER_S = 2**23 / 0.0695  # DiffEqGPU.jl, V100, 2^23 Lorenz trajectories


def _xp():
    """The array module the kernels take here: CuPy on a GPU, NumPy under the simulator."""
    if dcuda.MODE == "gpu":
        import cupy

        return cupy
    return np


def _sync() -> None:
    if dcuda.MODE == "gpu":
        import cupy

        cupy.cuda.Device().synchronize()


def copy_bandwidth(xp, nbytes: int = 256 << 20) -> float:
    """Bytes per second of a device-to-device copy (read and write counted)."""
    a = xp.ones(nbytes // 8)
    b = xp.empty_like(a)

    def copy():
        b[...] = a
        _sync()

    return 2 * a.nbytes / time_call(copy, 0.5, (3, 20))[0]


def _stage_bytes(raw, params) -> tuple[int, int]:
    """``(forward, backward)`` bytes the pipeline's stages must move (see the module docstring)."""
    from diffopt.models.camera import ENHANCEMENT

    fwd = bwd = 0
    x = raw
    for stage in ENHANCEMENT.stages:
        y = stage(x, backend="cuda", **params.get(stage.name, {}))
        fwd += x.nbytes + y.nbytes
        bwd += y.nbytes + 2 * x.nbytes
        x = y
    return fwd, fwd + bwd


def image_row(data, h: int, w: int, quick: bool, bandwidth: float) -> dict:
    from diffopt.image import mse
    from diffopt.models.camera import ENHANCEMENT

    xp = _xp()
    raw, target = (xp.asarray(a) for a in data.make_data((h, w)))
    params = {s: {k: xp.asarray(v) for k, v in p.items()} for s, p in data.bench_params().items()}
    vg = diffopt.value_and_grad(lambda p: mse(ENHANCEMENT(raw, p, backend="cuda"), target))
    fwd_bytes, vg_bytes = _stage_bytes(raw, params)
    t_fwd = time_call(lambda: (ENHANCEMENT(raw, params, backend="cuda"), _sync()),
                      BUDGET[quick], (1, 10))[0]
    t_vg = time_call(lambda: (vg(params), _sync()), BUDGET[quick], (1, 10))[0]
    mp = h * w / 1e6
    return {"size": f"{w}x{h}", "mp": mp, "fwd_mp_s": mp / t_fwd, "vg_mp_s": mp / t_vg,
            "fwd_share_of_bound": fwd_bytes / bandwidth / t_fwd,
            "vg_share_of_bound": vg_bytes / bandwidth / t_vg,
            "fwd_bytes": fwd_bytes, "vg_bytes": vg_bytes}


def jit_row(n: int, quick: bool, bandwidth: float) -> dict:
    import diffopt.numpy as dnp

    xp = _xp()

    def chain(x, y):
        return dnp.tanh(x) * y + dnp.exp(-x * x) - 0.5 * y

    f = diffopt.jit(chain, backend="cuda")
    x, y = xp.linspace(-1, 1, n, dtype=np.float32), xp.ones(n, dtype=np.float32)
    f(x, y)
    t = time_call(lambda: (f(x, y), _sync()), BUDGET[quick], (1, 20))[0]
    moved = 3 * x.nbytes  # two inputs read, one output written
    return {"n": n, "gb_s": moved / t / 1e9, "share_of_copy_bandwidth": moved / bandwidth / t}


def _lorenz(t, y, sigma, rho, beta):
    import diffopt.numpy as dnp

    x, v, z = y[..., 0], y[..., 1], y[..., 2]
    return dnp.stack([sigma * (v - x), x * (rho - z) - v, x * v - beta * z], axis=-1)


def lorenz_row(n: int, quick: bool) -> dict:
    from diffopt.ode import solve

    xp = _xp()
    y0 = xp.asarray(np.random.default_rng(0).uniform(-1, 1, (n, 3)) + [1.0, 0.0, 20.0])

    def run():
        sol = solve(_lorenz, y0, (0.0, 1.0), (10.0, 28.0, 8 / 3), method="tsit5", rtol=1e-8,
                    atol=1e-8, batched=True, backend="cuda")
        _sync()
        return sol

    try:
        run()
    except (NotImplementedError, TypeError, ValueError, RuntimeError) as e:
        return {"trajectories": n, "skipped": f"{type(e).__name__}: {e}"}
    t = time_call(run, BUDGET[quick], (1, 5))[0]
    return {"trajectories": n, "seconds": t, "solves_per_s": n / t,
            "x_anchor": (n / t) / ANCHOR_SOLVES_PER_S}


def run(out_dir, quick: bool = False) -> dict:
    """Every section; prints the tables, writes ``gpu.json`` into ``out_dir``, returns it."""
    from pathlib import Path

    dcuda.require("benchmarks/gpu.py")
    data = _image_module()
    xp = _xp()
    bandwidth = copy_bandwidth(xp, 1 << 16 if quick else 256 << 20)
    result = {"machine": machine(cuda_mode=dcuda.MODE), "versions": versions(
        "numpy", "numba", "numba-cuda", "cupy-cuda13x"), "quick": quick,
        "copy_bandwidth_gb_s": bandwidth / 1e9, "bound_target": BOUND_TARGET,
        "image": [image_row(data, h, w, quick, bandwidth) for h, w in IMAGE_MP[quick]],
        "jit": [jit_row(n, quick, bandwidth) for n in JIT_SIZES[quick]],
        "lorenz": [lorenz_row(n, quick) for n in LORENZ_SIZES[quick]]}
    print(f"CUDA mode: {dcuda.MODE}; copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    print_table(result["image"], [("size", "image", "s"), ("fwd_mp_s", "fwd MP/s", ".1f"),
                                  ("fwd_share_of_bound", "fwd / bound", ".0%"),
                                  ("vg_mp_s", "vg MP/s", ".1f"),
                                  ("vg_share_of_bound", "vg / bound", ".0%")])
    print_table(result["jit"], [("n", "jit chain n", "d"), ("gb_s", "GB/s", ".1f"),
                                ("share_of_copy_bandwidth", "of copy bandwidth", ".0%")])
    print_table(result["lorenz"], [("trajectories", "Lorenz trajectories", "d"),
                                   ("solves_per_s", "solves/s", "g"),
                                   ("x_anchor", "x DiffEqGPU.jl (V100)", ".2f"),
                                   ("skipped", "not run", "s")])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / JSON_NAME, result)
    print(f"wrote {out / JSON_NAME}")
    return result


def _image_module():
    """benchmarks/image.py's data and parameters (bench_params, make_data), loaded by path."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("benchmarks_image_data",
                                                  Path(__file__).parent / "image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``[--quick] [--out DIR]``."""
    args = parser(__doc__, JSON_NAME, "tiny sizes under the CUDA simulator (a smoke test)")\
        .parse_args(argv)
    return run(args.out, args.quick)


if __name__ == "__main__":
    main()
