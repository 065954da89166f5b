"""Every registered solver on Rosenbrock's function, n = 2 and n = 1000.

The demo ``diffopt demo rosenbrock`` (code: ``diffopt.examples.rosenbrock``), as a script:

    python examples/rosenbrock.py [--quick] [--out DIR]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "rosenbrock", *sys.argv[1:]]))
