#!/usr/bin/env bash
# Issue 15's GPU checks and measurements, for the device machine (CuPy for CUDA 13, numba-cuda and
# the CUDA toolkit; about 8 minutes): the CuPy tests through every interpreter, the kernels'
# compile-only checks for the real target, then benchmarks/gpu.py (table, and gpu.json in OUT).
# Run from the repository root: bash benchmarks/gpu.sh   (OUT: the results folder, default
# benchmarks/results).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results}"
mkdir -p "$out"
python -c "import diffopt.cuda as c; print('diffopt.cuda mode:', c.MODE)"
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_gpu.py | tail -3
DIFFOPT_CUDA_COMPILE=1 timeout 120 python -m pytest -q -p no:cacheprovider -m ptx tests/cuda \
    | tail -3
timeout 360 python benchmarks/gpu.py --out "$out"
