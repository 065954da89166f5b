"""Forward against reverse mode Jacobians over a grid of input and output sizes.

A thin wrapper of ``diffopt.bench`` (the same as ``diffopt bench modes``): prints a table, writes
``benchmarks/results/modes.json``, ``modes_heatmap.png`` and ``modes_scaling.png``. BLAS runs on
one thread (unless the environment says otherwise).

    python benchmarks/modes.py [--quick] [--out DIR] [--families tanh2,elementwise,chain] [--no-jax]
"""

from __future__ import annotations

import sys

import _harness  # noqa: F401 - first: it sets one BLAS thread before NumPy loads

# isort: split

from diffopt.bench import main

if __name__ == "__main__":
    sys.exit(main())
