"""Differentiable ODE solvers: explicit Runge-Kutta methods with dense output and events.

>>> from diffopt.ode import solve, Event
>>> sol = solve(lambda t, y: -y, np.array([1.0]), (0.0, 1.0), method="dopri5")
"""

from .batch import BatchSolution, solve_batch
from .events import Event
from .solve import ODESolveError, Solution, solve
from .tableaus import TABLEAUS

__all__ = ["BatchSolution", "Event", "ODESolveError", "Solution", "TABLEAUS", "solve",
           "solve_batch"]
