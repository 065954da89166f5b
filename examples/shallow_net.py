"""A shallow ReLU network fitted by Adam and by L-BFGS.

The demo ``diffopt demo shallow_net`` (code: ``diffopt.examples.shallow_net``), as a script:

    python examples/shallow_net.py [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "shallow_net", *sys.argv[1:]]))
