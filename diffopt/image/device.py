"""One definition of a stage's per-pixel math for the CPU (Numba) and the GPU (numba-cuda).

A stage's arithmetic is written once, as plain scalar Python functions (``math.*`` only, tuples
for several results). :func:`scalar` compiles one for the CPU, inlined into the Numba loops that
call it; :func:`device` gives the same function as a CUDA device function, which the stage's
CUDA kernels call. The CUDA kernels are built on first use by a factory decorated with
:func:`gpu_kernels` (so that nothing is compiled for CUDA where it is not used; kernels name the
module-level ``cuda``, which the simulator swaps for its own per thread), as grid-stride loops
over pixels launched by :func:`launch`; parameter cotangents are summed per thread, then per
block in shared memory (:func:`block_add`), then across blocks with one float64 atomic add per
block and parameter.

>>> reflect(-1, 4), reflect(4, 4)  # a scalar function, called from Python here
(1, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numba
import numpy as np

from diffopt import cuda as dcuda

try:
    from numba import cuda
except ImportError:  # a numba without CUDA support: kernels are never built
    cuda = None

REDUCE_BLOCKS = 1024  # blocks of a kernel that sums parameter cotangents (fewer atomics)

_devices: dict = {}
record: list | None = None  # compile-only checks: launches are recorded here instead of run


def scalar(py: Callable):
    """``py`` compiled for the CPU (``numba.njit(inline="always")``): Numba loops call it with no
    call overhead, and :func:`device` compiles the very same Python for the GPU."""
    return numba.njit(cache=True, inline="always")(py)


def device(fn):
    """The CUDA device function of a :func:`scalar` function (compiled once, on first use)."""
    key = id(fn)
    if key not in _devices:
        _devices[key] = cuda.jit(device=True)(getattr(fn, "py_func", fn))
    return _devices[key]


def gpu_kernels(factory: Callable) -> Callable:
    """``factory() -> kernels`` as a function that builds them once, on first call."""
    return functools.cache(factory)


@scalar
def reflect(p, n):
    """The index that ``p`` reflects to in ``range(n)`` (``np.pad(mode="reflect")``, no edge
    repeat; ``|p| < n``)."""
    if p < 0:
        return -p
    if p > n - 1:
        return 2 * (n - 1) - p
    return p


@scalar
def tap(acc, w, v):
    """One tap of a correlation: ``acc + w * v``."""
    return acc + w * v


@gpu_kernels
def _padding():
    mirror = device(reflect)

    @cuda.jit
    def pad(x, r, p):
        """``p`` ``(H + 2r, W + 2r, C)`` <- ``x`` ``(H, W, C)`` reflect-padded by ``r``."""
        h, w, c = x.shape
        for q in range(cuda.grid(1), p.size, cuda.gridsize(1)):
            i, j, k = q // ((w + 2 * r) * c), (q // c) % (w + 2 * r), q % c
            p[i, j, k] = x[mirror(i - r, h), mirror(j - r, w), k]

    @cuda.jit
    def unpad(pb, r, x_bar):
        """The transpose of ``pad``: each padded position adds (atomically) onto the pixel it
        mirrors (``x_bar``: float64, zeroed)."""
        h, w, c = x_bar.shape
        for q in range(cuda.grid(1), pb.size, cuda.gridsize(1)):
            i, j, k = q // ((w + 2 * r) * c), (q // c) % (w + 2 * r), q % c
            cuda.atomic.add(x_bar, (mirror(i - r, h), mirror(j - r, w), k), pb[i, j, k])

    return pad, unpad


def pad_cuda(x, r: int):
    """``x`` ``(H, W, C)`` reflect-padded by ``r`` (``np.pad(mode="reflect")``) by a kernel."""
    from diffopt.numpy.backend import array_module

    h, w, c = x.shape
    p = array_module(x).empty((h + 2 * r, w + 2 * r, c), x.dtype)
    launch(_padding()[0], p.size, x, r, p)
    return p


def unpad_cuda(pb, r: int):
    """The transpose of :func:`pad_cuda`: ``(H, W, C)`` float64 from ``pb`` ``(H + 2r, W + 2r,
    C)``."""
    from diffopt.numpy.backend import array_module

    hp, wp, c = pb.shape
    x_bar = array_module(pb).zeros((hp - 2 * r, wp - 2 * r, c))
    launch(_padding()[1], pb.size, pb, r, x_bar)
    return x_bar


@gpu_kernels
def _reduction():
    def block_add(part, bars):
        """Adds ``part`` ``(threads, P)`` (each thread's sums, in shared memory) over the block
        by a tree (power-of-two block size), then into ``bars[:P]`` with one atomic each."""
        tid = cuda.threadIdx.x
        cuda.syncthreads()
        s = cuda.blockDim.x // 2
        while s > 0:
            if tid < s:
                for p in range(part.shape[1]):
                    part[tid, p] += part[tid + s, p]
            cuda.syncthreads()
            s //= 2
        if tid == 0:
            for p in range(part.shape[1]):
                cuda.atomic.add(bars, p, part[0, p])

    return cuda.jit(device=True)(block_add)


def block_add():
    """The device function ``block_add(part, bars)`` (see the module docstring)."""
    return _reduction()


def launch(kernel, n: int, *args, reduce: bool = False) -> None:
    """``kernel[blocks, threads, stream](*args)`` over ``n`` items (grid-stride); ``reduce``: a
    kernel that sums cotangents per block runs on at most ``REDUCE_BLOCKS`` blocks."""
    if record is not None:
        record.append((kernel, args))
        return
    dcuda.launch(kernel, n, *args, max_blocks=REDUCE_BLOCKS if reduce else None)


THREADS = dcuda.THREADS
F64 = np.float64  # the dtype of shared and local arrays (numba-cuda takes NumPy dtypes)

__all__ = ["cuda", "scalar", "device", "reflect", "tap", "pad_cuda", "unpad_cuda", "gpu_kernels",
           "block_add", "launch", "THREADS", "F64"]
