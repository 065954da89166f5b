"""Checks of numeric settings (``maxiter``, tolerances, solver options): one rule per kind of
value, one wording of the error. The front door checks its own arguments with them; each solver
checks the options it owns.

>>> positive("lr", 0.1)
0.1
>>> fraction("momentum", 1.0)
Traceback (most recent call last):
    ...
ValueError: momentum must lie in [0, 1), not 1.0
"""

from __future__ import annotations

import numbers

import numpy as np


def _real(name: str, value, what: str) -> float:
    """``value`` as a float if it is a finite real number (not a bool), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be {what}, not {value!r}")
    return float(value)


def positive(name: str, value) -> float:
    """A finite number > 0 (a step length, a damping factor)."""
    v = _real(name, value, "a positive number")
    if not v > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return v


def nonnegative(name: str, value) -> float:
    """A finite number >= 0 (a tolerance: 0 means "never stop on this test")."""
    v = _real(name, value, "a finite number >= 0")
    if not v >= 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
    return v


def fraction(name: str, value) -> float:
    """A number in [0, 1) (a momentum, a moment decay, a forcing term)."""
    v = _real(name, value, "a number in [0, 1)")
    if not 0.0 <= v < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), not {value!r}")
    return v


def positive_int(name: str, value) -> int:
    """An integer >= 1 (an iteration count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def optional_bool(name: str, value) -> bool | None:
    """None (decide automatically), True or False."""
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be None, True or False, not {value!r}")
    return None if value is None else bool(value)


__all__ = ["fraction", "nonnegative", "optional_bool", "positive", "positive_int"]
