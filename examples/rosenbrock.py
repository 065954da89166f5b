"""Every registered solver on Rosenbrock's function, n = 2 and n = 1000.

The code is in ``diffopt.examples.rosenbrock`` (installed with diffopt). Run it with

    python examples/rosenbrock.py [--quick] [--out DIR]
    diffopt demo rosenbrock [--quick] [--out DIR]
"""

import sys

from diffopt.examples import main

if __name__ == "__main__":
    sys.exit(main("rosenbrock"))
