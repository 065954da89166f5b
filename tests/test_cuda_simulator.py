"""The CUDA kernel tests (tests/cuda) from the main suite, each kind in a pytest process of its own:
under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, which numba reads once, at its first import,
so it cannot be switched on in this process), and compiled to PTX for the GPU (the tests marked
``ptx``, without the simulator). Skipped where numba-cuda is not installed (the test extra
installs it)."""

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # seconds a test waits for its process: the simulator is slow (tiny problems)

if importlib.util.find_spec("numba_cuda") is None:
    pytest.skip("numba-cuda is not installed (pip install -e '.[test]' installs it)",
                allow_module_level=True)


RUNS = {  # name: (environment variables, pytest arguments)
    "simulator": ({"NUMBA_ENABLE_CUDASIM": "1"}, ("-m", "not ptx")),
    "ptx": ({"DIFFOPT_CUDA_COMPILE": "1"}, ("-m", "ptx")),
}
_started: dict = {}  # name: (process, its output file, command)


def start_in_background() -> None:
    """Start the CUDA test processes now. tests/conftest.py calls this as soon as a run's
    collection includes this file, so that on a 2-core machine they use the second core while
    the main suite runs; the tests below wait for them."""
    for name, (variables, args) in RUNS.items():
        if name in _started:
            continue
        env = {k: v for k, v in os.environ.items()
               if k not in ("NUMBA_ENABLE_CUDASIM", "DIFFOPT_CUDA_COMPILE")}
        env.update(variables)
        paths = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cuda",
               *args]
        out = tempfile.TemporaryFile(mode="w+")  # (a pipe could fill up and stall the process)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
        _started[name] = (proc, out, cmd)


def finish(name: str) -> None:
    """Wait for the CUDA test process ``name`` and assert that its tests passed."""
    start_in_background()
    proc, out, cmd = _started[name]
    try:
        proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.seek(0)
    tail = out.read()[-4000:]
    out.close()
    assert proc.returncode == 0, f"{' '.join(cmd)} ({RUNS[name][0]}) failed:\n{tail}"
    assert " passed" in tail, tail


def test_cuda_kernels_under_the_simulator():
    finish("simulator")


def test_cuda_kernels_compile_for_the_gpu():
    finish("ptx")
