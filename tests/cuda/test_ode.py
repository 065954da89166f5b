"""solve(batched=True, backend="cuda") under Numba's CUDA simulator: one thread per trajectory,
the same numbers as backend="numba" (bit for bit: the same loops and kernels) and "numpy"; the
generated kernel compiles to PTX for sm_90 (in a process without the simulator)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt.ode import Event, solve

Y0 = np.array([[1.0, 0.0], [0.5, -1.0], [-2.0, 1.0]])
T_END = np.array([0.3, 0.5, 0.4])  # per trajectory
K = np.array([1.0, 2.0, 0.5])  # a per-trajectory parameter


def oscillator(t, y, k, c):  # a forced damped oscillator, k per trajectory, c shared
    return dnp.stack([y[1], -k * y[0] - c * y[1] + dnp.sin(t)])


def oscillator_rows(t, y, k, c):  # the same on the batch (the NumPy path's batched call)
    return dnp.stack([y[:, 1], -k * y[:, 0] - c * y[:, 1] + dnp.sin(t)], axis=1)


def run(backend, method, **kw):
    dt = 0.02 if method in ("euler", "rk4") else None
    fun = oscillator_rows if backend == "numpy" else oscillator
    return solve(fun, Y0, (0.0, T_END), (K, 0.3), method=method, dt=dt, batched=True,
                 backend=backend, rtol=1e-6, atol=1e-9, **kw)


@pytest.mark.parametrize("method", ["euler", "rk4", "bosh3", "dopri5", "tsit5"])
def test_values_equal_numba_and_numpy(method):
    gpu, cpu, ref = run("cuda", method), run("numba", method), run("numpy", method)
    np.testing.assert_array_equal(gpu.y_final, cpu.y_final)  # the same arithmetic
    np.testing.assert_array_equal(gpu.t_final, T_END)  # each trajectory's own end
    np.testing.assert_array_equal(gpu.n_steps, cpu.n_steps)
    np.testing.assert_array_equal(gpu.n_rejected, cpu.n_rejected)
    np.testing.assert_array_equal(gpu.status, 0)
    assert gpu.nfev == cpu.nfev
    np.testing.assert_allclose(gpu.y_final, ref.y_final, rtol=1e-12, atol=1e-12)


def test_max_steps_and_failures_as_numba():
    gpu, cpu = run("cuda", "dopri5", max_steps=3), run("numba", "dopri5", max_steps=3)
    np.testing.assert_array_equal(gpu.status, cpu.status)
    assert -1 in gpu.status
    np.testing.assert_array_equal(gpu.y_final, cpu.y_final)
    np.testing.assert_array_equal(gpu.t_final, cpu.t_final)
    assert gpu.message == cpu.message


@pytest.mark.parametrize("option", [
    {"events": Event(lambda t, y: y[0], terminal=True)},
    {"saveat": np.linspace(0.0, 0.3, 4)},
    {"adjoint": "backsolve"},
    {"batched": False},
])
def test_what_is_not_on_cuda_is_refused(option):
    kw = {"batched": True, **option}
    y0 = Y0[0] if not kw["batched"] else Y0
    with pytest.raises(NotImplementedError, match='backend="cuda"'):
        solve(oscillator, y0, (0.0, 0.3), (1.0, 0.3), method="rk4", dt=0.1, backend="cuda",
              **kw)


def loss(backend, method):
    def f(y0, t_end, k, c):
        fun = oscillator_rows if backend == "numpy" else oscillator
        dt = 0.02 if method in ("euler", "rk4") else None
        sol = solve(fun, y0, (0.0, t_end), (k, c), method=method, dt=dt, batched=True,
                    backend=backend, rtol=1e-6, atol=1e-9)
        return dnp.sum(sol.y_final * np.array([1.0, -2.0])) + dnp.sum(sol.t_final ** 2)

    return f


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_gradients_equal_numba_and_numpy(method):
    import diffopt

    args = (Y0, T_END, K, 0.3)
    gpu, cpu, ref = (diffopt.grad(loss(b, method), argnums=(0, 1, 2, 3))(*args)
                     for b in ("cuda", "numba", "numpy"))
    for a, b, r in zip(gpu, cpu, ref):
        np.testing.assert_array_equal(a, b)  # the same adjoint
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-12)


def test_derivatives_wrt_array_arguments_are_refused():
    import diffopt

    def f(y0):
        sol = solve(lambda t, y, w: -w * y, y0, (0.0, 0.3), (np.ones(2),), method="rk4",
                    dt=0.1, batched=True, backend="cuda")
        return dnp.sum(sol.y_final)

    with pytest.raises(NotImplementedError, match="array arguments"):
        diffopt.grad(f)(Y0)


def test_right_hand_sides_without_device_code_are_refused():
    def f(t, y):
        return dnp.sum(y) * y  # (an array function: no device code)

    with pytest.raises(NotImplementedError, match='backend="cuda"'):
        solve(f, Y0, (0.0, 0.1), method="rk4", dt=0.05, batched=True, backend="cuda")


PTX = """
import types
import numba
import numba.cuda.dispatcher as dispatcher
import numpy as np
from numba import cuda

import diffopt.numpy as dnp
from diffopt.ode import cuda_solve
from diffopt.ode._types import tableau
from diffopt.ode.compiled import get_problem

# (no device here: device functions ask the current device for its compute capability)
dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))


def oscillator(t, y, k, c):
    return dnp.stack([y[1], -k * y[0] - c * y[1] + dnp.sin(t) * dnp.exp(-t)])


for method in ("rk4", "tsit5"):
    pr = get_problem(oscillator, (), tableau(method), np.ones(2), (1.0, 0.3), (1, 0))
    mod = cuda_solve.module(pr)
    nb, d, s = 3, 2, pr.tab.n_stages
    f, i8 = np.zeros(nb), np.zeros(nb, np.int64)
    args = (np.zeros((nb, d)), f, f, f, (np.ones(nb), 0.3), pr.cst, 1e-6, 1e-9, 100, False,
            np.zeros((nb, s + 1, d)), np.zeros((nb, s, d)), np.zeros((nb, 6, d)),
            np.zeros((nb, 1)), np.zeros((nb, 1)), np.zeros((nb, 1, d)), i8, i8, i8, f,
            np.zeros((nb, d)), i8, np.zeros(nb, bool), i8, f, f)
    ptx, _ = cuda.compile_ptx(mod.integrate_kernel.py_func,
                              tuple(numba.typeof(a) for a in args), cc=(9, 0))
    assert ".target sm_90" in ptx
    back = (np.zeros((nb, 5)), np.zeros((nb, 5)), np.zeros((nb, 5, d)), i8, np.zeros(nb, bool),
            (np.ones(nb), 0.3), pr.cst, f, np.zeros((nb, d)), np.zeros((nb, s + 1, d)),
            np.zeros((nb, s, d)), np.zeros((nb, s, d)), np.zeros((nb, 3, d)), np.zeros((nb, d)),
            f, f, (f, f))
    ptx, _ = cuda.compile_ptx(mod.backward_kernel.py_func,
                              tuple(numba.typeof(a) for a in back), cc=(9, 0))
    assert ".target sm_90" in ptx
    print(method, "ok", len(ptx))
"""


def test_the_kernel_compiles_to_ptx_for_sm_90():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(PTX)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rk4 ok" in out.stdout and "tsit5 ok" in out.stdout
