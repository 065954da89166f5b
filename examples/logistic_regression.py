"""Logistic regression with a 2-3-1 sigmoid network on two moons.

The code is in ``diffopt.examples.logistic_regression`` (installed with diffopt). Run it with

    python examples/logistic_regression.py [--quick] [--out DIR]
    diffopt demo logistic_regression [--quick] [--out DIR]
"""

import sys

from diffopt.examples import main

if __name__ == "__main__":
    sys.exit(main("logistic_regression"))
