"""Compile-only checks of CUDA kernels for the real target, without a GPU.

Numba's simulator runs kernels as Python, so it lets through what the GPU compiler refuses
(Python lists and dicts, unsupported functions) and hides float64 leaks (a bare ``0.1`` in a
float32 kernel runs in float64 on the GPU). :func:`ptx` compiles a kernel to PTX for a chosen
compute capability with numba-cuda's NVVM (the ``numba-cuda[cu13]`` wheels), with no device and
outside the simulator; :func:`float64_instructions` lists the PTX instructions that compute in
float64, for asserting that a float32 kernel has none.
"""

from __future__ import annotations

import contextlib
import re

# libdevice's float32 sin, cos and tan reduce huge arguments (Payne-Hanek) with one float64
# product of an integer by 2**-62 * pi/2: three float64 instructions that are not a leak of the
# kernel's own arithmetic (they run only for |x| > 105615).
_PAYNE_HANEK = re.compile(r"mul\.f64\s+(%fd\d+),\s*(%fd\d+),\s*0d3BF921FB54442D19;")
_F64 = re.compile(r"\.f64\b")


def _stub_current_device(cc):
    """Kernels that call device functions ask for the current device's compute capability while
    compiling them (``numba.cuda.dispatcher.get_current_device``); without a GPU, answer ``cc``."""
    import numba.cuda.dispatcher as dispatcher
    from numba import cuda

    if cuda.is_available():
        return contextlib.nullcontext()

    class _Device:
        compute_capability = cc

    @contextlib.contextmanager
    def stubbed():
        real = dispatcher.get_current_device
        dispatcher.get_current_device = lambda: _Device
        try:
            yield
        finally:
            dispatcher.get_current_device = real

    return stubbed()


def ptx(kernel, signature, cc=(9, 0)) -> str:
    """The PTX of ``kernel`` (a Python function or a ``cuda.jit`` kernel) compiled for ``signature``
    and compute capability ``cc`` (default 9.0, the H100/H200), without a GPU.

    Needs numba-cuda with its NVVM wheels (``pip install 'numba-cuda[cu13]'``) and does not work
    under the simulator (``NUMBA_ENABLE_CUDASIM=1``), which has no compiler: run compile-only
    checks in a process without the variable.

    >>> import math
    >>> import numpy as np
    >>> from numba import cuda
    >>> def halve(x, out):
    ...     for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
    ...         out[i] = math.sqrt(x[i]) * np.float32(0.5)
    >>> text = ptx(halve, "void(float32[:], float32[:])")  # doctest: +SKIP
    >>> float64_instructions(text)  # doctest: +SKIP
    []
    """
    from numba import cuda

    if not hasattr(cuda, "compile_ptx") or cuda.compile_ptx is None:
        raise RuntimeError("compiling to PTX needs numba-cuda outside the simulator: run it in a "
                           "process without NUMBA_ENABLE_CUDASIM=1")
    pyfunc = getattr(kernel, "py_func", kernel)
    with _stub_current_device(tuple(cc)):
        text, _ = cuda.compile_ptx(pyfunc, signature, cc=tuple(cc))
    return text


def float64_instructions(ptx_text: str) -> list[str]:
    """The instructions of ``ptx_text`` that compute in float64 (declarations and libdevice's
    float32 sin/cos/tan argument reduction left out): empty for a clean float32 kernel.

    >>> float64_instructions("  .reg .f64 %fd<3>;\\n  cvt.f64.f32 %fd1, %f1;\\n  add.f32 %f2, %f1;")
    ['cvt.f64.f32 %fd1, %f1;']
    """
    lines = [line.strip() for line in ptx_text.splitlines()]
    excused = set()
    for line in lines:
        m = _PAYNE_HANEK.search(line)
        if m:
            out, arg = m.groups()
            excused.add(line)
            excused.update(x for x in lines if re.match(rf"cvt\.rn\.f64\.s64\s+{arg},", x)
                           or re.match(rf"cvt\.rn\.f32\.f64\s+%f\d+,\s*{out};", x))
    return [line for line in lines if _F64.search(line) and not line.startswith((".reg", "//"))
            and line not in excused]


def uses_float64(ptx_text: str) -> bool:
    """Whether ``ptx_text`` computes anything in float64 (see :func:`float64_instructions`).

    >>> uses_float64("mul.f32 %f2, %f1, 0f3F000000;")
    False
    """
    return bool(float64_instructions(ptx_text))


__all__ = ["ptx", "float64_instructions", "uses_float64"]
