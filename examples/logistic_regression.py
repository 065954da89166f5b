"""Logistic regression with a 2-3-1 sigmoid network on two moons.

The demo ``diffopt demo logistic_regression`` (code: ``diffopt.examples.logistic_regression``),
as a script:

    python examples/logistic_regression.py [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "logistic_regression", *sys.argv[1:]]))
