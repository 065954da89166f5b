"""The input checks of ``optimize()``, ``least_squares()`` and ``objective()``, in one place.

Every front door and every solver sees the same rules, and each bad input gets an error that
says what was wrong and what to do. Solver-specific option values (``lr > 0``, a line-search
name) are checked by the solver that owns them.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.optimize

from . import solvers
from .core.pytree import tree_flatten

# Arguments of every solver that the front doors pass themselves (never through ``options``).
RUN_ARGUMENTS = ("maxiter", "tol", "bounds")


def check_callable(fun, what: str) -> None:
    """``fun`` can be called."""
    if not callable(fun):
        raise TypeError(f"{what} must be a function, not {type(fun).__name__}")


def check_args(args) -> tuple:
    """``args`` is the tuple of extra arguments to the user's function."""
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple of extra arguments to the function, not "
                        f"{type(args).__name__}; for one argument write args=({args!r},)")
    return args


def check_method(method) -> str:
    """``method`` is a name (its existence is checked by ``solvers.get``)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a name (a str) such as 'auto' or 'l-bfgs-b', not "
                        f"{type(method).__name__}")
    return method


def parameter_arrays(tree, what: str = "x0") -> list[np.ndarray]:
    """The leaves of the parameter pytree ``tree`` as arrays, checked: real numbers, finite, at
    least one parameter. Integer and boolean leaves are accepted with a warning (float64 copy)."""
    leaves = tree_flatten(tree)[0]
    if not leaves:
        raise ValueError(f"{what} has no arrays in it (got {type(tree).__name__}); pass the "
                         "starting point as an array or a pytree of arrays")
    arrays = [np.asarray(leaf) for leaf in leaves]
    for a in arrays:
        if a.dtype.kind == "c":
            raise TypeError(f"{what} is complex; optimize over real parameters (split a complex "
                            "array into its real and imaginary parts)")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold real numbers, but it holds an array of dtype "
                            f"{a.dtype}; convert it with np.asarray(..., dtype=float)")
    for a in arrays:
        if a.dtype.kind != "f":
            warnings.warn(f"{what} has dtype {a.dtype}; optimizing over a float64 copy",
                          stacklevel=5)
    sizes = [a.size for a in arrays]
    if sum(sizes) == 0:
        raise ValueError(f"{what} is empty: there are no parameters to optimize")
    offset = 0
    for a in arrays:
        bad = np.flatnonzero(~np.isfinite(a.astype(np.float64).ravel()))
        if bad.size:
            raise ValueError(f"{what} is not finite at flat index {offset + bad[0]} "
                             f"({a.ravel()[bad[0]]}); start from finite values")
        offset += a.size
    return arrays


def check_maxiter(maxiter) -> int | None:
    """``maxiter`` is None (the method's default) or a positive integer."""
    return None if maxiter is None else solvers.checks.positive_int("maxiter", maxiter)


def check_tol(tol) -> float | None:
    """``tol`` is None (the method's default) or a finite number >= 0."""
    return None if tol is None else solvers.checks.nonnegative("tol", tol)


def check_options(info: solvers.SolverInfo, options) -> dict:
    """``options`` is a mapping of the solver's own keyword options."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict of the method's options, not "
                        f"{type(options).__name__}")
    options = dict(options)
    for key, value in options.items():
        if key in RUN_ARGUMENTS:
            raise TypeError(f"pass {key} as an argument ({key}=...), not in options")
        if key.endswith("tol") and value is not None:  # gtol, ftol, xtol, xrtol: ours and scipy's
            solvers.checks.nonnegative(key, value)
    params = inspect.signature(info.fn).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return options
    allowed = [p for p in params if p not in ("problem", "x0", "monitor") + RUN_ARGUMENTS]
    for key in options:
        if key not in allowed:
            raise TypeError(f"method {info.name!r} has no option {key!r}; its options are: "
                            f"{', '.join(allowed) or 'none'}")
    return options


def flat_bounds(bounds, view, x0: np.ndarray, strict: bool = False):
    """Bounds as two flat float vectors ``(lo, hi)`` of ``x0``'s size, checked against ``x0``.

    Accepts ``(lo, hi)`` of scalars, flat arrays or pytrees like x0 (None: unbounded), a scipy
    ``Bounds``, or a sequence of n ``(lo, hi)`` pairs. ``strict``: lo < hi is required (scipy's
    least_squares), else lo <= hi (a fixed parameter). For two parameters, two sequences of two
    numbers read both ways (scipy.optimize.minimize writes pairs, least_squares (lo, hi)): the
    reading that fits x0 is taken, and an error asks which was meant if both do and differ.
    """
    if bounds is None:
        return None
    if isinstance(bounds, scipy.optimize.Bounds):
        return _checked(bounds.lb, bounds.ub, view.size, x0, strict)
    if not isinstance(bounds, (tuple, list)):
        raise TypeError(f"bounds must be (lo, hi), a sequence of (lo, hi) pairs or a "
                        f"scipy.optimize.Bounds, not {type(bounds).__name__}")
    two_pairs = view.size == 2 and len(bounds) == 2 and all(
        isinstance(b, (tuple, list)) and len(b) == 2 for b in bounds)
    if not two_pairs:
        return _checked(*_read(bounds, view), view.size, x0, strict)
    readings, errors = [], []
    for lo, hi in (zip(*bounds), bounds):  # per-parameter pairs; (lo, hi)
        try:
            readings.append(_checked(lo, hi, 2, x0, strict))
        except ValueError as err:
            errors.append(err)
    if not readings:
        raise errors[0]
    if len(readings) == 2 and not all(np.array_equal(a, b) for a, b in zip(*readings)):
        raise ValueError(f"bounds {bounds!r} for 2 parameters reads both as one (lo, hi) pair "
                         "per parameter and as (lo, hi) vectors; say which: "
                         "scipy.optimize.Bounds(lo, hi), or (np.array(lo), np.array(hi))")
    return readings[0]


def _read(bounds, view):
    """``(lo, hi)`` of the two spellings: (lo, hi) (scalars, flat arrays or pytrees), or n
    pairs."""
    n = view.size
    if len(bounds) == 2 and not all(isinstance(b, (tuple, list)) for b in bounds):
        return (view.ravel(b) if not np.isscalar(b) and b is not None else b for b in bounds)
    if len(bounds) != n or not all(isinstance(b, (tuple, list)) and len(b) == 2 for b in bounds):
        raise ValueError(f"bounds: give (lo, hi), or one (lo, hi) pair per parameter ({n} "
                         f"pairs; got {len(bounds)} entries)")
    return zip(*bounds)


def _checked(lo, hi, n: int, x0: np.ndarray, strict: bool):
    """``(lo, hi)`` as n floats each, ordered, with x0 between them."""
    lo, hi = (_bound_vector(b, n, side, default)
              for b, side, default in ((lo, "lower", -np.inf), (hi, "upper", np.inf)))
    crossed = np.flatnonzero(lo >= hi if strict else lo > hi)
    if crossed.size:
        i = crossed[0]
        relation = "is not below" if strict else "exceeds"
        raise ValueError(f"bounds: the lower bound {relation} the upper bound at flat index {i} "
                         f"(lo={lo[i]}, hi={hi[i]})")
    outside = np.flatnonzero((x0 < lo) | (x0 > hi))
    if outside.size:
        i = outside[0]
        raise ValueError(f"x0 is outside the bounds at flat index {i} (x0={x0[i]}, bounds="
                         f"[{lo[i]}, {hi[i]}]); start inside them, e.g. np.clip(x0, lo, hi)")
    return lo, hi


def _bound_vector(b, n: int, side: str, default: float) -> np.ndarray:
    """One side of the bounds as n floats; None (whole or per entry) means unbounded."""
    if b is None:
        return np.full(n, default)
    values = [default if v is None else v for v in np.ravel(np.asarray(b, dtype=object))]
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"bounds: the {side} bounds must be numbers (or None), got "
                        f"{values[:3]!r}") from None
    if v.size not in (1, n):
        raise ValueError(f"bounds: {v.size} {side} bounds for {n} parameters; give one number "
                         f"or one per parameter (x0 has {n}), or {n} (lo, hi) pairs")
    bad = np.flatnonzero(np.isnan(v))
    if bad.size:
        raise ValueError(f"bounds: the {side} bound at flat index {bad[0]} is NaN; write "
                         f"{'-inf' if default < 0 else 'inf'} or None for no bound")
    return np.array(np.broadcast_to(v, (n,)))


def run_settings(info: solvers.SolverInfo, view, x0: np.ndarray, bounds, tol, maxiter,
                 callback, options) -> tuple[int, float | None, dict, tuple | None]:
    """The checked ``(maxiter, tol, options, bounds)`` for a run of ``info``'s solver."""
    if callback is not None:
        check_callable(callback, "callback")
    options = check_options(info, options)
    if bounds is not None and not info.bounds:
        raise ValueError(f"method {info.name!r} does not take bounds; methods that do: "
                         f"{', '.join(solvers.with_bounds(info.kind))}")
    maxiter = check_maxiter(maxiter)
    maxiter = info.default_maxiter if maxiter is None else maxiter
    flat = flat_bounds(bounds, view, x0, strict=info.kind == "least_squares")
    return maxiter, check_tol(tol), options, flat


__all__ = ["check_args", "check_callable", "check_maxiter", "check_method", "check_options",
           "check_tol", "flat_bounds", "parameter_arrays", "run_settings"]
