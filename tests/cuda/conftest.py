"""The CUDA kernel tests run in pytest processes of their own, which tests/test_cuda_simulator.py
starts: one with NUMBA_ENABLE_CUDASIM=1 (Numba reads it once, at its first import) runs every
kernel under Numba's CUDA simulator; one with DIFFOPT_CUDA_COMPILE=1 and without the simulator runs
the tests marked ``ptx``, which compile kernels for the real target (``diffopt.cuda.check.ptx``:
the simulator has no compiler). Anywhere else these tests are skipped."""

import os

import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
COMPILE = os.environ.get("DIFFOPT_CUDA_COMPILE") == "1" and not SIMULATOR


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/cuda/" not in str(item.fspath).replace("\\", "/"):
            continue
        compile_only = item.get_closest_marker("ptx") is not None
        if compile_only and not COMPILE:
            reason = "compile-only CUDA checks run with DIFFOPT_CUDA_COMPILE=1, not the simulator"
        elif not compile_only and not SIMULATOR:
            reason = "CUDA tests run under NUMBA_ENABLE_CUDASIM=1 in their own process"
        else:
            continue
        item.add_marker(pytest.mark.skip(reason=reason))
