"""A neural network learns to aim a simulated trebuchet, by gradient descent through the simulator.

The code is in ``diffopt.examples.trebuchet_control`` (installed with diffopt; the simulator is
``diffopt.examples.trebuchet``). Run it with

    python examples/trebuchet.py [--quick] [--out DIR]
    diffopt demo trebuchet [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "trebuchet", *sys.argv[1:]]))
