"""Test-suite settings. One BLAS thread: on small CI machines threaded BLAS makes the many small
linear-algebra calls of the tests slower, not faster (and timings erratic)."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
