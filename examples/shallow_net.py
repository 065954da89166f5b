"""A shallow ReLU network fitted by Adam and by L-BFGS.

The code is in ``diffopt.examples.shallow_net`` (installed with diffopt). Run it with

    python examples/shallow_net.py [--quick] [--out DIR]
    diffopt demo shallow_net [--quick] [--out DIR]
"""

import sys

from diffopt.examples import main

if __name__ == "__main__":
    sys.exit(main("shallow_net"))
