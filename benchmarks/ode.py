"""ODE benchmark (issue 6, part 5): the Lorenz system against scipy, diffrax and torchdiffeq; one
trebuchet shot and a batch of 1,024 with gradients, compiled against NumPy; peak memory of each
adjoint against the number of steps.

The logic lives in ``diffopt.bench_ode`` (installed with the package); this script sets one BLAS
thread and writes ``ode.json``, ``ode_memory.png`` and ``ode_lorenz.png`` into ``--out`` (default
``benchmarks/results``). diffrax and torchdiffeq are measured when installed
(``--no-competitors`` skips them).

    python benchmarks/ode.py [--quick] [--out DIR] [--no-competitors]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: steadier timings

from pathlib import Path  # noqa: E402

from diffopt.bench_ode import main as _main  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark (``--quick`` for a smoke test) and return its results."""
    return _main(argv, default_out=RESULTS)


if __name__ == "__main__":
    main()
