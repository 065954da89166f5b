"""Smoke test of benchmarks/gpu.py: a quick run under Numba's CUDA simulator (its own process,
since the simulator must be chosen before numba's first import) writes its JSON."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench
ROOT = Path(__file__).resolve().parents[1]


def test_gpu_quick_runs_under_the_simulator(tmp_path):
    if importlib.util.find_spec("numba_cuda") is None:
        pytest.skip("numba-cuda is not installed (the test extra installs it)")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--out",
                          str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert report["machine"]["cuda_mode"] == "simulator" and report["quick"] is True
    assert report["image"][0]["fwd_mp_s"] > 0 and report["jit"][0]["gb_s"] > 0
    assert len(report["lorenz"]) == 1
