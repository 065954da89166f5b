"""Pluggable optimizers. Importing this package registers the built-in solvers.

>>> from diffopt import solvers
>>> solvers.available()
['adam', 'bfgs', 'gd', ...]
>>> solvers.available("least_squares")
['gauss-newton', 'lm', 'scipy-lm', 'trf']
"""

# Importing the solver modules registers them.
from . import checks, gradient_descent, least_squares, newton, scipy_methods  # noqa: F401 - registers them
from .base import Monitor, Outcome, StopOptimization
from .registry import SolverInfo, available, get, register, with_bounds

__all__ = ["Monitor", "Outcome", "StopOptimization", "SolverInfo", "available", "get", "register",
           "with_bounds"]
