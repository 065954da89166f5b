"""``diffopt.cuda``: where diffopt's CUDA kernels run, and how they are launched.

Kernels are written once, with numba-cuda (``numba.cuda.jit``: grid-stride loops, ``math.*``,
typed constants), and run in one of two modes, decided once, when this module is imported:

- ``"gpu"``: on an NVIDIA GPU, on CuPy arrays (zero-copy through ``__cuda_array_interface__``),
  launched on CuPy's current stream;
- ``"simulator"``: under Numba's CUDA simulator, on NumPy arrays, thread by thread on the CPU
  (about 100 times slower than NumPy: tiny problems only). It is how CI tests every kernel without
  a GPU. The simulator is chosen by ``NUMBA_ENABLE_CUDASIM=1`` in the environment, which must be
  set **before numba is first imported** (Numba reads it once).

``MODE`` is ``None`` where neither is possible (numba-cuda not installed, or no device and no
simulator); :func:`require` then says what to install or set.

>>> MODE in (None, "gpu", "simulator")
True
"""

from __future__ import annotations

import math
import os

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _mode() -> str | None:
    try:
        from numba import cuda
    except ImportError:
        return None
    if SIMULATOR:
        return "simulator"
    try:
        return "gpu" if cuda.is_available() else None
    except Exception:  # a CUDA runtime without a device or driver
        return None


MODE = _mode()
THREADS = 8 if SIMULATOR else 256  # threads per block
MAX_BLOCKS = 4 if SIMULATOR else 65535  # grid-stride loops cover any size with few blocks


def available() -> bool:
    """Whether CUDA kernels can run here (on a GPU, or under the simulator).

    >>> isinstance(available(), bool)
    True
    """
    return MODE is not None


def require(what: str) -> None:
    """Raise ``RuntimeError`` saying why ``what`` (e.g. ``'backend="cuda"'``) cannot run here."""
    if MODE is None:
        raise RuntimeError(
            f"{what} needs CUDA: install the gpu extra (pip install 'diffopt[gpu]') on a machine "
            "with an NVIDIA GPU, or set NUMBA_ENABLE_CUDASIM=1 before numba is first imported to "
            "run the kernels under Numba's CUDA simulator (slow: for tests)."
        )


def grid(n: int) -> tuple[int, int]:
    """``(blocks, threads)`` for ``n`` work items, for kernels written as grid-stride loops.

    >>> blocks, threads = grid(10**9)
    >>> blocks <= MAX_BLOCKS
    True
    """
    return max(1, min(math.ceil(n / THREADS), MAX_BLOCKS)), THREADS


def stream():
    """The stream to launch on: CuPy's current stream on a GPU (so that kernels order with CuPy's
    own operations), the default stream under the simulator."""
    if MODE != "gpu":
        return 0
    import cupy
    from numba import cuda

    return cuda.external_stream(cupy.cuda.get_current_stream().ptr)


def launch(kernel, n: int, *args, max_blocks: int | None = None) -> None:
    """Run a grid-stride ``kernel`` over ``n`` items: ``kernel[blocks, threads, stream](*args)``
    (at most ``max_blocks`` blocks, e.g. for kernels that sum per block, then atomically)."""
    require("a CUDA kernel")
    blocks, threads = grid(n)
    if max_blocks is not None:
        blocks = min(blocks, max_blocks)
    kernel[blocks, threads, stream()](*args)


__all__ = ["MODE", "SIMULATOR", "THREADS", "MAX_BLOCKS", "available", "require", "grid", "stream",
           "launch"]
