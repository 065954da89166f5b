"""Differentiable ODE solvers: explicit Runge-Kutta methods with dense output and events.

>>> import numpy as np
>>> from diffopt.ode import solve
>>> sol = solve(lambda t, y: -y, np.array([1.0]), (0.0, 1.0), method="dopri5")
>>> bool(abs(sol.y_final[0] - np.exp(-1.0)) < 1e-6)
True
"""

from ._types import BatchSolution, ODESolveError, Solution
from .eager import solve_batch
from .events import Event
from .solve import solve
from .tableaus import TABLEAUS

__all__ = ["BatchSolution", "Event", "ODESolveError", "Solution", "TABLEAUS", "solve",
           "solve_batch"]
