"""The solver registry: ``@register("name", ...)`` makes a solver available to ``optimize``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SolverInfo:
    """A registered solver and what it can do."""

    name: str
    fn: Callable
    kind: str = "minimize"  # or "least_squares"
    bounds: bool = False  # accepts box bounds
    uses: tuple = ("grad",)  # derivatives it asks for: "grad", "hessp", "hess", "jvp", "vjp", "jac"
    default_maxiter: int = 1000
    doc: str = field(default="", compare=False)


_REGISTRY: dict[str, SolverInfo] = {}


def register(name: str, *, kind: str = "minimize", bounds: bool = False,
             uses: tuple = ("grad",), default_maxiter: int = 1000) -> Callable:
    """Register a solver under ``name``.

    The solver is ``fn(problem, x0, monitor, *, maxiter, tol, bounds=None, **options) -> Outcome``
    on flat float64 vectors; it calls ``monitor.iteration(x, f, g)`` once per iteration.

    >>> import numpy as np
    >>> from diffopt.solvers import Outcome
    >>> @register("my-descent")
    ... def my_descent(problem, x0, monitor, *, maxiter, tol, lr=0.1):
    ...     x = x0
    ...     for _ in range(maxiter):
    ...         f, g = problem.value_and_grad(x)
    ...         monitor.iteration(x, f, g)
    ...         if np.linalg.norm(g) <= (tol or 1e-8):
    ...             return Outcome(x, True, "gradient norm below tol")
    ...         x = x - lr * g
    ...     return Outcome(x, False, "maxiter reached", 1)
    >>> import diffopt, diffopt.numpy as dnp
    >>> res = diffopt.optimize(lambda x: dnp.sum((x - 1.0) ** 2), np.zeros(2), "my-descent")
    >>> res.success, res.method, np.allclose(res.x, 1.0)
    (True, 'my-descent', True)
    >>> del _REGISTRY["my-descent"]  # the example's solver leaves the shared registry
    """
    if kind not in ("minimize", "least_squares"):
        raise ValueError(f"kind must be 'minimize' or 'least_squares', not {kind!r}")

    def deco(fn: Callable) -> Callable:
        key = name.lower()
        if key in _REGISTRY and _REGISTRY[key].fn is not fn:
            raise ValueError(f"a solver named {name!r} is already registered")
        _REGISTRY[key] = SolverInfo(key, fn, kind, bounds, tuple(uses), default_maxiter,
                                    (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__
                                    else "")
        return fn

    return deco


def get(name: str, kind: str = "minimize") -> SolverInfo:
    """The solver registered as ``name``; a clear error listing the known ones otherwise."""
    info = _REGISTRY.get(name.lower())
    if info is None or info.kind != kind:
        known = ", ".join(sorted(available(kind)))
        raise ValueError(f"unknown method {name!r}; the known {kind} methods are: {known}")
    return info


def available(kind: str = "minimize") -> list[str]:
    """Names of the registered solvers of a kind."""
    return sorted(n for n, info in _REGISTRY.items() if info.kind == kind)


def with_bounds(kind: str = "minimize") -> list[str]:
    """Names of the solvers that accept bounds."""
    return sorted(n for n, info in _REGISTRY.items() if info.kind == kind and info.bounds)
