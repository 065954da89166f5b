"""Least squares four ways: f(x) = ½‖y − Ax‖² with A 500 x 100 and y random normal.

The code is in ``diffopt.examples.least_squares`` (installed with diffopt). Run it with

    python examples/least_squares.py [--quick] [--out DIR]
    diffopt demo least_squares [--quick] [--out DIR]
"""

import sys

from diffopt.examples import main

if __name__ == "__main__":
    sys.exit(main("least_squares"))
