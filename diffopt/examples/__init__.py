"""Worked optimization examples. Run one with ``diffopt demo NAME`` or ``python examples/NAME.py``.

Each module ``diffopt.examples.NAME`` has ``run(out_dir="plots/NAME", quick=False) -> dict``: it
prints the folder it writes its PNG plots to and a small table, and returns what it measured.
``quick=True`` runs a smaller version of the same thing (what the tests use).

- ``least_squares``: ½‖y − Ax‖² by gradient descent, Newton-CG, L-BFGS and Levenberg-Marquardt
  against ``numpy.linalg.lstsq``.
- ``logistic_regression``: a 2-3-1 sigmoid network classifying two moons; decision boundary.
- ``shallow_net``: a one-hidden-layer ReLU regression network (a dict of weights), Adam and
  L-BFGS.
- ``rosenbrock``: every registered solver on Rosenbrock's function, n = 2 and n = 1000.
- ``trebuchet`` (module ``trebuchet_control``; ``trebuchet`` is the simulator): a neural network
  learns to aim a simulated trebuchet by gradient descent through the differentiable ODE solver.
- ``enhance`` (module ``image_enhancement``): camera-pipeline parameters learned by gradient
  descent from a synthetic raw (``--image PATH``: your own photograph).

>>> from diffopt.examples import least_squares
>>> least_squares.run("plots/least_squares")["methods"]["l-bfgs-b"]["loss"]
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

NAMES = ("least_squares", "logistic_regression", "shallow_net", "rosenbrock", "trebuchet",
         "enhance")
MODULES = {"trebuchet": "trebuchet_control",  # example name -> module, where they differ
           "enhance": "image_enhancement"}

__all__ = ["NAMES", "main"]


def main(name: str, argv: list[str] | None = None) -> int:
    """Command line of the script ``examples/NAME.py``: ``[--quick] [--out DIR]``.

    >>> main("rosenbrock", ["--quick"])
    """
    if name not in NAMES:
        raise ValueError(f"unknown example {name!r}; the examples are: {', '.join(NAMES)}")
    module = importlib.import_module(f"{__name__}.{MODULES.get(name, name)}")
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=module.__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--out", default=f"plots/{name}", help="folder for the PNG plots")
    extra = getattr(module, "OPTIONS", {})  # an example's own options: {name: help}
    for option, text in extra.items():
        parser.add_argument(f"--{option}", help=text)
    args = parser.parse_args(argv)
    run: Callable = module.run
    run(out_dir=args.out, quick=args.quick,
        **{k: getattr(args, k) for k in extra if getattr(args, k) is not None})
    return 0
