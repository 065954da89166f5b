"""Camera-pipeline parameters learned by gradient descent from a synthetic raw image.

The code is in ``diffopt.examples.image_enhancement`` (installed with diffopt; the pipeline is
``diffopt.image``). Run it with

    python examples/image_enhancement.py [--quick] [--out DIR] [--image PATH]
    diffopt demo enhance [--quick] [--out DIR] [--image PATH]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "enhance", *sys.argv[1:]]))
