"""Forward against reverse mode Jacobians over a grid of input and output sizes (issue 5, 1).

A thin wrapper of ``diffopt.bench`` (the same as ``diffopt bench modes``): prints a table, writes
``benchmarks/results/modes.json``, ``modes_heatmap.png`` and ``modes_scaling.png``. BLAS runs on
one thread (unless the environment says otherwise).

    python benchmarks/modes.py [--quick] [--out DIR] [--families tanh2,elementwise,chain] [--no-jax]
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: steadier timings

from diffopt.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
