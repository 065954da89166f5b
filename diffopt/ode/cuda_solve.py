"""``solve(..., batched=True, backend="cuda")``: one CUDA thread per trajectory.

The kernel is generated from the same source as the Numba executor (:mod:`diffopt.ode.compiled`):
the problem's module (the loops of :mod:`diffopt.ode._loops`, the scalar rules of
:mod:`diffopt.ode._scalar` and the problem's traced right-hand side kernels), with the thread
driver of :mod:`diffopt.ode._cuda_loops`, every function compiled as a CUDA device function
(``numba.cuda.jit(device=True)``); NumPy's scalar ufuncs in those sources are bound to device
functions of ``math`` (:data:`DEVICE_UFUNCS`). So the steps, step control and landing rules are the
compiled loop's, and the numbers equal ``backend="numba"``'s.

Device code cannot allocate: the per-thread stages and states are rows of preallocated arrays
indexed by the trajectory (``K[b, stage, dim]``). The first step of an adaptive method is chosen
on the host, as the Numba path chooses it.

Reverse mode is the compiled batch's discrete adjoint (:func:`diffopt.ode._loops.adjoint_into`,
one thread per trajectory), over step histories saved by the forward kernel in preallocated
``(B, max_steps + 1, n)`` arrays (no checkpointing: memory ``B * (max_steps + 1) * (n + 2)``
floats, so give a tight ``max_steps`` for large batches).

Runs today: fixed (``euler``, ``rk4``) and adaptive (``bosh3``, ``dopri5``, ``tsit5``) methods,
values and reverse-mode derivatives with respect to ``y0``, the span's times and scalar
arguments (shared or per trajectory), flat states (``y0`` of shape ``(B, n)``), per-trajectory
start and end times and parameters. Refused with ``NotImplementedError`` (never a wrong number):
events, derivatives with respect to array arguments, forward mode and second derivatives,
``saveat``, the other adjoints, unbatched solves, other state shapes, right-hand sides using NumPy
functions with no device code here. On a GPU the inputs are copied to the device and the results
come back as NumPy arrays (the step histories of reverse mode stay on the device).
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import re
import sys
import types
from pathlib import Path

import numpy as np

from diffopt import cuda as dcuda

from . import _cuda_loops

WHAT = 'solve(backend="cuda")'
KERNELS = ("integrate_kernel", "backward_kernel")


def _ufuncs() -> dict:
    """Plain-Python scalar forms of the NumPy ufuncs the kernels call (compiled as device
    functions)."""
    def maximum(a, b):
        return a if a >= b or a != a else b

    def minimum(a, b):
        return a if a <= b or a != a else b

    def sign(x):
        return 1.0 if x > 0 else -1.0 if x < 0 else x * 0.0

    one = {"negative": lambda x: -x, "positive": lambda x: +x, "absolute": abs, "abs": abs,
           "square": lambda x: x * x, "reciprocal": lambda x: 1.0 / x, "sign": sign,
           "exp": math.exp, "expm1": math.expm1, "log": math.log, "log1p": math.log1p,
           "log2": math.log2, "log10": math.log10, "sqrt": math.sqrt, "sin": math.sin,
           "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
           "arctan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
           "arcsinh": math.asinh, "arccosh": math.acosh, "arctanh": math.atanh,
           "floor": math.floor, "ceil": math.ceil, "isfinite": math.isfinite,
           "isnan": math.isnan, "isinf": math.isinf}
    two = {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
           "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b,
           "true_divide": lambda a, b: a / b, "power": lambda a, b: a ** b,
           "maximum": maximum, "minimum": minimum, "arctan2": math.atan2,
           "hypot": math.hypot}
    out = {}
    for name, fn in {**one, **two}.items():
        if fn in (abs,) or isinstance(fn, types.BuiltinFunctionType):  # wrap: device functions
            fn = _wrap(fn, name in two)  # are Python functions
        out[name] = fn
    return out


def _wrap(fn, binary: bool):
    if binary:
        return lambda a, b: fn(a, b)
    return lambda x: fn(x)


DEVICE_UFUNCS = _ufuncs()
_DTYPES = {"float64", "float32", "int64", "int32", "bool_", "nan", "inf", "pi", "e"}
_SHIM = None
_MODULES: dict = {}


def _shim():
    """The ``np`` (and ``_np``) the device code sees: NumPy, with its scalar ufuncs replaced by
    device functions."""
    global _SHIM
    if _SHIM is None:
        from numba import cuda

        shim = types.ModuleType("diffopt_cuda_np")
        shim.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
        for name, fn in DEVICE_UFUNCS.items():
            setattr(shim, name, cuda.jit(device=True)(fn))
        _SHIM = shim
    return _SHIM


def _check_kernels(source: str):
    """Refuse kernels that call NumPy functions without device code here."""
    kernels = source[source.index("# --- this problem ---"):]
    used = set(re.findall(r"\b_?np\.(\w+)", "\n".join(
        line for line in kernels.splitlines() if not line.startswith(
            ("A =", "B =", "C =", "E =", "P =", "DIRECTION", "TERMINAL", "NEEDS_START")))))
    allowed = set(DEVICE_UFUNCS) | _DTYPES | {"zeros", "zeros_like", "full", "ascontiguousarray"}
    bad = sorted(used - allowed)
    if bad:
        raise NotImplementedError(f"{WHAT}: the right-hand side uses numpy.{bad[0]}, which has "
                                  "no CUDA device code here; use backend='numba'")
    for kernel in ("_rhs_kernel", "_rhs_vjp_kernel"):
        body = kernels.split(f"def {kernel}(")[1].split("\ndef ")[0] if kernel in kernels else ""
        if "_np.full" in body or "_np.zeros" in body or "_np.ascontiguousarray" in body:
            raise NotImplementedError(f"{WHAT}: the right-hand side builds arrays (runs on flat "
                                      "states written element by element only); use "
                                      "backend='numba'")


def module(problem):
    """The CUDA module of a compiled :class:`diffopt.ode.compiled.Problem` (built once)."""
    from numba import cuda

    source = Path(problem.module.__file__).read_text()
    if problem.module.__name__ in _MODULES:
        return _MODULES[problem.module.__name__]
    _check_kernels(source)
    name = problem.module.__name__ + "_cuda"
    full = (inspect.getsource(_cuda_loops) + "\n" + source +
            "\nfrom numba import cuda\nnp = _np = _CUDA_NP\n")
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod._CUDA_NP = _shim()
    exec(compile(full, f"<{name}>", "exec"), mod.__dict__)
    for attr, value in list(vars(mod).items()):
        if inspect.isfunction(value) and value.__module__ == name:
            setattr(mod, attr, cuda.jit(value) if attr in KERNELS else
                    cuda.jit(device=True)(value))
    sys.modules[name] = mod
    _MODULES[problem.module.__name__] = mod
    return mod


class Executor:
    """``integrate_batch`` and ``backward_batch`` with :mod:`._loops`'s signatures, on CUDA."""

    def __init__(self, problem):
        dcuda.require(WHAT)
        if len(problem.shape) != 1:
            raise NotImplementedError(f"{WHAT}: states of shape {problem.shape} (flat states, "
                                      "y0 of shape (B, n), only); use backend='numba'")
        self.problem = problem
        self.module = module(problem)

    @staticmethod
    def chunks(nb: int) -> list:
        return [(0, nb)]

    def integrate_batch(self, lo, hi, y0s, t0s, t_ends, h0s, p, cst, rtol, atol, max_steps, keep,
                        status, n_steps, n_rej, t_f, y_f, ev, nfev, theta, clipped, t_r, g_c,
                        slope, cause, t_bad, h_bad, i_bad):
        if keep and not all(self.problem.scalar_leaf):
            raise NotImplementedError(f"{WHAT}: derivatives with respect to array arguments "
                                      "(scalars, shared or per trajectory, only); use "
                                      "backend='numba'")
        from numba import cuda

        nb, d = y0s.shape
        s = self.problem.tab.n_stages
        rows = max_steps + 1 if keep else 1
        K, Y, W, ts, hs, ys = (cuda.device_array(shape) for shape in (
            (nb, s + 1, d), (nb, s, d), (nb, 6, d), (nb, rows), (nb, rows), (nb, rows, d)))
        outs = (status, n_steps, n_rej, t_f, y_f, nfev, clipped, cause, t_bad, h_bad)
        on_device = _to_device(outs)
        dcuda.launch(self.module.integrate_kernel, nb, *_to_device((y0s, t0s, t_ends, h0s, p, cst)),
                     float(rtol), float(atol), int(max_steps), bool(keep), K, Y, W, ts, hs, ys,
                     *on_device)
        _to_host(on_device, outs)
        ev[:], theta[:], i_bad[:] = -1, 1.0, -1
        none = np.zeros(nb + 1, np.int64)
        # (the step histories stay on the device, for backward_batch)
        return none, np.zeros(0, np.int64), np.zeros(0), np.zeros((0, d)), None, ts, hs, ys

    def backward_batch(self, lo, hi, kept, n_steps, ev, theta, clipped, t_r, g_c, slope, p, cst,
                       gt, gy, y0_bar, t0_bar, t_end_bar, pbar_rows):
        """The discrete adjoint of every trajectory kept by :meth:`integrate_batch`."""
        from numba import cuda

        ts, hs, ys = kept[5], kept[6], kept[7]
        nb, _, d = ys.shape
        s = self.problem.tab.n_stages
        K, Y, kbar, W = (cuda.device_array(shape) for shape in (
            (nb, s + 1, d), (nb, s, d), (nb, s, d), (nb, 3, d)))
        gt = np.broadcast_to(np.asarray(gt, dtype=float), (nb,))
        outs = (y0_bar, t0_bar, t_end_bar, pbar_rows)
        on_device = _to_device(outs)
        dcuda.launch(self.module.backward_kernel, nb, ts, hs, ys,
                     *_to_device((n_steps, clipped, p, cst, gt, gy)), K, Y, kbar, W, *on_device)
        _to_host(on_device, outs)
        return 0


def _to_device(x):
    """``x`` (arrays, in tuples) on the device, on the launch stream."""
    from numba import cuda

    if isinstance(x, tuple):
        return tuple(_to_device(v) for v in x)
    if isinstance(x, np.ndarray):
        return cuda.to_device(np.ascontiguousarray(x), stream=dcuda.stream())
    return x


def _to_host(on_device, host, top: bool = True):
    """Copy the device arrays ``on_device`` back into the host arrays ``host`` (alike tuples),
    and wait for them."""
    for d_x, x in zip(on_device, host):
        if isinstance(x, tuple):
            _to_host(d_x, x, False)
        else:
            d_x.copy_to_host(x, stream=dcuda.stream())
    if top and dcuda.MODE == "gpu":
        dcuda.stream().synchronize()


__all__ = ["Executor", "module", "DEVICE_UFUNCS"]
