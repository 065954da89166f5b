"""The ``diffopt`` command: ``diffopt demo`` shows derivatives by every method;
``diffopt demo NAME`` runs an optimization example (least_squares, logistic_regression,
shallow_net, rosenbrock) and writes its plots."""

from __future__ import annotations

import argparse
import sys

DEMOS = {  # name: module with run(); the optimization examples take run(out_dir=, quick=)
    "derivatives": "diffopt.demo",
    "least_squares": "diffopt.examples.least_squares",
    "logistic_regression": "diffopt.examples.logistic_regression",
    "shallow_net": "diffopt.examples.shallow_net",
    "rosenbrock": "diffopt.examples.rosenbrock",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffopt`` console script.

    >>> main(["demo"])  # prints the derivative table
    """
    parser = argparse.ArgumentParser(prog="diffopt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a demo (default: derivatives)")
    demo.add_argument("name", nargs="?", default="derivatives", choices=sorted(DEMOS))
    demo.add_argument("--quick", action="store_true", help="examples: a smaller, faster run")
    demo.add_argument("--out", metavar="DIR", help="examples: folder for the PNG plots "
                      "(default plots/NAME)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        import importlib

        options = {}
        if args.quick:
            options["quick"] = True
        if args.out is not None:
            options["out_dir"] = args.out
        if options and args.name == "derivatives":
            parser.error("--quick and --out apply to the optimization examples, not derivatives")
        importlib.import_module(DEMOS[args.name]).run(**options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
