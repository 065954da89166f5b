"""Test-suite settings. One BLAS thread: on small CI machines threaded BLAS makes the many small
linear-algebra calls of the tests slower, not faster (and timings erratic).

tests/cuda/ (the CUDA kernels, under Numba's simulator or compiled to PTX) is collected only in the
processes that tests/test_cuda_simulator.py starts with NUMBA_ENABLE_CUDASIM=1 or
DIFFOPT_CUDA_COMPILE=1: elsewhere its modules are not even imported (their names may repeat those
of tests/, and numba must see the simulator variable before its first import)."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

if "1" not in (os.environ.get("NUMBA_ENABLE_CUDASIM"), os.environ.get("DIFFOPT_CUDA_COMPILE")):
    collect_ignore = ["cuda"]


def pytest_collection_modifyitems(config, items):
    """tests/test_cuda_simulator.py's tests, which wait for the CUDA test processes, run last."""
    items.sort(key=lambda item: getattr(getattr(item, "module", None), "__name__", "")
               == "test_cuda_simulator")


def pytest_collection_finish(session):
    """Start the CUDA test processes as soon as the run is known to include
    tests/test_cuda_simulator.py: they then run beside the main suite (on the second core of a
    2-core machine) instead of after it, and its tests, last, wait for them."""
    for item in session.items:
        start = getattr(getattr(item, "module", None), "start_in_background", None)
        if start is not None:
            start()
            return
