"""The CUDA kernel tests (tests/cuda) from the main suite, each kind in a pytest process of its own:
under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, which numba reads once, at its first import,
so it cannot be switched on in this process), and compiled to PTX for the GPU (the tests marked
``ptx``, without the simulator). Skipped where numba-cuda is not installed (the test extra
installs it)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300  # seconds per process: the simulator is slow, the CUDA tests use tiny problems

if importlib.util.find_spec("numba_cuda") is None:
    pytest.skip("numba-cuda is not installed (pip install -e '.[test]' installs it)",
                allow_module_level=True)


def run_cuda_tests(variables, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_ENABLE_CUDASIM", "DIFFOPT_CUDA_COMPILE")}
    env.update(variables)
    paths = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cuda", *args]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"{' '.join(cmd)} ran past {TIMEOUT} s:\n{out[-4000:]}")
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, f"{variables} {' '.join(cmd)} failed:\n{tail}"
    assert " passed" in done.stdout, tail


def test_cuda_kernels_under_the_simulator():
    run_cuda_tests({"NUMBA_ENABLE_CUDASIM": "1"}, "-m", "not ptx")


def test_cuda_kernels_compile_for_the_gpu():
    run_cuda_tests({"DIFFOPT_CUDA_COMPILE": "1"}, "-m", "ptx")
