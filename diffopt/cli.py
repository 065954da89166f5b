"""The ``diffopt`` command: ``diffopt demo`` shows derivatives by every method."""

from __future__ import annotations

import argparse
import sys

DEMOS = {"derivatives": "diffopt.demo"}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``diffopt`` console script.

    >>> main(["demo"])  # prints the derivative table
    """
    parser = argparse.ArgumentParser(prog="diffopt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a demo (default: derivatives)")
    demo.add_argument("name", nargs="?", default="derivatives", choices=sorted(DEMOS))
    args = parser.parse_args(argv)
    if args.command == "demo":
        import importlib

        importlib.import_module(DEMOS[args.name]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
