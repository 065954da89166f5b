"""diffopt.cuda's runtime under Numba's CUDA simulator (MODE, grid, launch, require), and the
compile-only check for the real target (tests marked ``ptx``, run without the simulator)."""

import math

import numpy as np
import pytest
from numba import cuda

import diffopt.cuda as dcuda
from diffopt.cuda.check import float64_instructions, ptx, uses_float64


def affine(x, out, n):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = np.float32(2.0) * x[i] + np.float32(1.0)


def leaky(x, out, n):  # a bare 0.1: float64 arithmetic on the GPU
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = x[i] * 0.1


def sine(x, out, n):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = math.sin(x[i])


@cuda.jit(device=True)
def square(v):
    return v * v


def squares(x, out, n):  # calls a device function
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = square(x[i])


SIG = "void(float32[:], float32[:], int64)"


def test_mode_is_the_simulator():
    assert dcuda.SIMULATOR and dcuda.MODE == "simulator" and dcuda.available()
    assert dcuda.stream() == 0


def test_grid_covers_any_size_with_few_blocks():
    assert dcuda.grid(0) == (1, dcuda.THREADS)
    assert dcuda.grid(1) == (1, dcuda.THREADS)
    assert dcuda.grid(dcuda.THREADS + 1) == (2, dcuda.THREADS)
    assert dcuda.grid(10**9) == (dcuda.MAX_BLOCKS, dcuda.THREADS)


@pytest.mark.parametrize("kernel", [affine, squares])
def test_launch_runs_a_grid_stride_kernel(kernel):
    n = dcuda.THREADS * dcuda.MAX_BLOCKS + 5  # more items than threads: the stride loop runs twice
    x = np.linspace(-1, 1, n, dtype=np.float32)
    out = np.zeros_like(x)
    dcuda.launch(cuda.jit(kernel), n, x, out, n)
    expected = 2 * x + 1 if kernel is affine else x * x
    np.testing.assert_array_equal(out, expected.astype(np.float32))


def test_require_says_what_to_install_or_set(monkeypatch):
    monkeypatch.setattr(dcuda, "MODE", None)
    assert not dcuda.available()
    with pytest.raises(RuntimeError, match=r"backend=\"cuda\" needs CUDA: install the gpu extra"
                                           r".*NUMBA_ENABLE_CUDASIM=1 before numba is first"):
        dcuda.require('backend="cuda"')
    with pytest.raises(RuntimeError, match="a CUDA kernel needs CUDA"):
        dcuda.launch(cuda.jit(affine), 3, np.zeros(3), np.zeros(3), 3)


def test_ptx_under_the_simulator_says_where_to_run_it():
    with pytest.raises(RuntimeError, match="without NUMBA_ENABLE_CUDASIM=1"):
        ptx(affine, SIG)


@pytest.mark.ptx
@pytest.mark.parametrize("kernel", [affine, sine, squares, cuda.jit(affine)])
def test_float32_kernels_compile_without_float64(kernel):
    text = ptx(kernel, SIG)
    assert ".target sm_90" in text and ".entry" in text
    assert float64_instructions(text) == [] and not uses_float64(text)


@pytest.mark.ptx
def test_a_bare_float_constant_is_a_float64_leak():
    leaks = float64_instructions(ptx(leaky, SIG))
    assert any(line.startswith("cvt.f64.f32") for line in leaks)
    assert any(line.startswith("mul.f64") for line in leaks)


@pytest.mark.ptx
def test_ptx_targets_the_compute_capability_asked_for():
    assert ".target sm_80" in ptx(squares, SIG, cc=(8, 0))
