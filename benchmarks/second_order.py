"""Second order and accuracy: HVP four ways, finite-difference error against step, and reverse-mode
memory against depth with and without ``diffopt.checkpoint`` (issue 5, section 2).

The logic lives in ``diffopt.bench_second_order`` (installed with the package); this script sets
one BLAS thread and writes ``second_order.json`` and three PNG figures into ``--out``
(default ``benchmarks/results``).

    python benchmarks/second_order.py [--quick] [--out DIR]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread: steadier timings

from pathlib import Path  # noqa: E402

from diffopt.bench_second_order import main as _main  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark (``--quick`` for a smoke test) and return its results."""
    return _main(argv, default_out=RESULTS)


if __name__ == "__main__":
    main()
