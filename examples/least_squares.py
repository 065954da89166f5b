"""Least squares four ways: f(x) = ½‖y − Ax‖² with A 500 x 100 and y random normal.

The demo ``diffopt demo least_squares`` (code: ``diffopt.examples.least_squares``), as a script:

    python examples/least_squares.py [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "least_squares", *sys.argv[1:]]))
