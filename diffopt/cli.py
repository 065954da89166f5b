"""The ``diffopt`` command: ``diffopt demo`` shows derivatives by three methods;
``diffopt demo methods`` compares every method (finite differences, complex step, symbolic,
forward and reverse mode) with errors and timings; ``diffopt demo NAME`` runs an
example (least_squares, logistic_regression, shallow_net, rosenbrock, trebuchet: a network
learning to aim a differentiable trebuchet simulation, and enhance: camera-pipeline parameters
learned from a raw image, ``--image PATH`` for your own photograph) and writes its plots;
``diffopt bench modes [--quick]`` times forward against reverse mode Jacobians and writes its
table and figures. The other benchmarks are scripts in the repository's ``benchmarks/`` folder:
``python benchmarks/NAME.py [--quick]`` for NAME in ode, image, second_order, jit, overhead,
optimize."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

DEMOS = {  # name: "module" with run(), or "module:function"; examples take (out_dir=, quick=)
    "derivatives": "diffopt.demo",
    "methods": "diffopt.demo:run_methods",  # takes quick=
    "least_squares": "diffopt.examples.least_squares",
    "logistic_regression": "diffopt.examples.logistic_regression",
    "shallow_net": "diffopt.examples.shallow_net",
    "rosenbrock": "diffopt.examples.rosenbrock",
    "trebuchet": "diffopt.examples.trebuchet_control",
    "enhance": "diffopt.examples.image_enhancement",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffopt`` console script.

    >>> main(["demo"])  # doctest: +ELLIPSIS
    diffopt: one derivative, three methods. Error is the largest |computed - exact|.
    ...
    0
    """
    parser = argparse.ArgumentParser(prog="diffopt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a demo (default: derivatives)")
    demo.add_argument("name", nargs="?", default="derivatives", choices=sorted(DEMOS))
    demo.add_argument("--quick", action="store_true", help="examples: a smaller, faster run")
    demo.add_argument("--out", metavar="DIR", help="examples: folder for the PNG plots "
                      "(default plots/NAME)")
    demo.add_argument("--image", metavar="PATH", help="enhance: a PNG or JPEG of your own")
    bench = sub.add_parser("bench", help="run the forward against reverse mode benchmark (the "
                           "others: python benchmarks/NAME.py in the repository)")
    bench_sub = bench.add_subparsers(dest="benchmark", required=True)
    from diffopt import bench as bench_modes

    bench_modes.add_arguments(bench_sub.add_parser("modes", help="Jacobians: forward, reverse, "
                                                   "auto, finite differences, JAX"))
    args = parser.parse_args(argv)
    if args.command == "bench":
        return bench_modes.run_from_args(args)
    if args.command == "demo":
        import importlib

        options = {}
        if args.quick:
            options["quick"] = True
        if args.out is not None:
            options["out_dir"] = args.out
        if args.image is not None:
            if args.name != "enhance":
                parser.error("--image applies to the enhance demo")
            options["image"] = args.image
        if options and args.name == "derivatives":
            parser.error("--quick and --out apply to the optimization examples, not derivatives")
        if args.out is not None and args.name == "methods":
            parser.error("--out applies to the optimization examples, not methods")
        problem = _path_problem(args)
        if problem:
            print(f"diffopt demo: error: {problem}", file=sys.stderr)
            return 2
        module, _, function = DEMOS[args.name].partition(":")
        getattr(importlib.import_module(module), function or "run")(**options)
    return 0


def _path_problem(args) -> str | None:
    """Why the demo could not read ``--image`` or write its plots into ``--out``, before it runs
    (a one-line message), or None."""
    if args.image is not None and not Path(args.image).is_file():
        return f"--image {args.image}: no such file; give the path of a PNG or JPEG"
    if args.out is None:
        return None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return f"--out {args.out} is a file, not a folder; give a folder for the plots"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        return f"--out {args.out}: cannot write plots there ({reason}); give a writable folder"
    return None


if __name__ == "__main__":
    sys.exit(main())
