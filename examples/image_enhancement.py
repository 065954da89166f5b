"""Camera-pipeline parameters learned by gradient descent from a synthetic raw image.

The demo ``diffopt demo enhance`` (code: ``diffopt.examples.image_enhancement``), as a script:

    python examples/image_enhancement.py [--quick] [--out DIR] [--image PATH]
"""

import sys

from diffopt.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "enhance", *sys.argv[1:]]))
