"""Image pipeline benchmark (issue 7, section 6): megapixels per second of the 9-stage camera
pipeline (``normalize → demosaic_mhc → white_balance → color_matrix → gaussian_blur → exposure →
tone_curve → gamma → unsharp_mask``), forward and forward+backward (value and gradient of an MSE
in every stage parameter), float32 raws of 0.4, 4 and 12 MP: diffopt's Numba kernels and NumPy
reference against the same pipeline in PyTorch (CPU, eager) and JAX (``jax.jit``), and diffopt on
CuPy when a GPU is present.

The logic lives in ``diffopt.bench_image`` (installed with the package); this script writes
``image.json`` and ``image_throughput.png`` into ``--out`` (default ``benchmarks/results``). Every
system runs in its own process on all cores; PyTorch and JAX are measured when installed
(``--no-competitors`` skips them).

    python benchmarks/image.py [--quick] [--out DIR] [--no-competitors] [--sizes WxH,...]
"""

from __future__ import annotations

from pathlib import Path

from diffopt.bench_image import main as _main

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark (``--quick`` for a shorter run) and return its results."""
    return _main(argv, default_out=RESULTS)


if __name__ == "__main__":
    main()
