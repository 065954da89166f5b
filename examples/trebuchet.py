"""A neural network learns to aim a simulated trebuchet, by gradient descent through the simulator.

The demo ``diffopt demo trebuchet`` (code: ``diffopt.examples.trebuchet_control``), as a script:

    python examples/trebuchet.py [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "trebuchet", *sys.argv[1:]]))
