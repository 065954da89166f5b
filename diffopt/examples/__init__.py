"""The optimization demos: ``diffopt demo NAME`` (the registry is ``diffopt.cli.DEMOS``), or the
thin script ``python examples/NAME.py``.

Each module ``diffopt.examples.NAME`` has ``run(out_dir="plots/NAME", quick=False) -> dict``: it
prints the folder it writes its PNG plots to and a small table, and returns what it measured.
``quick=True`` runs a smaller version of the same thing (what the tests use).

- ``least_squares``: ½‖y − Ax‖² by gradient descent, Newton-CG, L-BFGS and Levenberg-Marquardt
  against ``numpy.linalg.lstsq``.
- ``logistic_regression``: a 2-3-1 sigmoid network classifying two moons; decision boundary.
- ``shallow_net``: a one-hidden-layer ReLU regression network (a dict of weights), Adam and
  L-BFGS.
- ``rosenbrock``: every registered solver on Rosenbrock's function, n = 2 and n = 1000.
- ``trebuchet`` (module ``trebuchet_control``; the simulator is ``diffopt.models.trebuchet``): a
  neural network learns to aim a simulated trebuchet by gradient descent through the
  differentiable ODE solver.
- ``enhance`` (module ``image_enhancement``): camera-pipeline parameters learned by gradient
  descent from a synthetic raw (``--image PATH``: your own photograph).

Each demo is ``diffopt demo NAME [--quick]`` on the command line, or its module's ``run``:

>>> import tempfile
>>> from diffopt.examples import least_squares
>>> res = least_squares.run(tempfile.mkdtemp(), quick=True)  # doctest: +ELLIPSIS
writing plots to ...
>>> bool(res["methods"]["lm"]["loss"] <= 1.000001 * res["optimum"])
True
"""
