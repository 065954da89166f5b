"""``Stage``: one step of a camera pipeline as a differentiable primitive with compiled kernels.

A stage is a function ``image, parameters -> image``. It is defined by

- its **reference**, written with ``diffopt.numpy``: the NumPy implementation every other one is
  tested against, and what forward mode, ``vmap`` and nested derivatives differentiate (it runs on
  CuPy arrays too, since ``diffopt.numpy`` picks the array module from its inputs);
- optionally its **Numba kernels**: ``forward(x, *params) -> out`` and ``vjp(g, x, out, *params)
  -> (x_bar, *param_bars)``, on plain arrays (scalar parameters as floats, array ones as
  contiguous float64 arrays), registered with :meth:`Stage.numba`. Under ``grad``/``vjp`` the
  stage is then one recorded operation whose forward and backward passes both run compiled
  (:func:`diffopt.transforms.compiled_rule`; ``jacrev`` runs the VJP kernel once per row);
- a **check** of its inputs that raises a clear error (shapes, dtypes, parameter ranges), and
  the **bounds** of the parameters whose range it limits, which ``fit`` hands to solvers that
  take bounds, so that a line search never tries a value the check refuses.

``backend``: ``"numpy"`` (the reference), ``"numba"`` (the kernels; the reference where a stage
has none) or ``"auto"`` (Numba for NumPy arrays, the reference for CuPy arrays).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from diffopt.core import Tracer, concrete
from diffopt.core.batching import BatchTracer
from diffopt.numpy.backend import array_module
from diffopt.transforms import compiled_rule

BACKENDS = ("auto", "numpy", "numba", "cupy")
PARALLEL_MIN = 1 << 18  # values: smaller images run the kernels on one thread


class Stage:
    """A pipeline stage: ``stage(x, backend="auto", **params)``.

    ``name``: the stage's key in a pipeline's parameters; ``defaults``: each parameter's default
    (identity-like where the stage has one), in the order the kernels take them; ``reference``:
    ``reference(x, **params)`` with ``diffopt.numpy``; ``check``: ``check(x, **params)`` on
    concrete values, raising ``ValueError``/``TypeError`` with what was expected; ``bounds``:
    ``{parameter name: (lo, hi)}``, a box inside the range that ``check`` accepts.

    >>> gain = Stage("gain", {"k": 1.0}, lambda x, k: x * k)
    >>> gain(np.ones((2, 2)), k=2.0)
    array([[2., 2.],
           [2., 2.]])
    """

    def __init__(self, name: str, defaults: dict, reference: Callable,
                 check: Callable | None = None, doc: str | None = None,
                 bounds: dict | None = None):
        self.name = name
        self.defaults = dict(defaults)
        self.bounds = dict(bounds or {})
        unknown = set(self.bounds) - set(self.defaults)
        if unknown:
            raise ValueError(f"stage {name!r}: bounds for unknown parameters {sorted(unknown)}")
        self.reference = reference
        self.check = check
        self.kernels = None
        self.__doc__ = doc or reference.__doc__
        names = tuple(self.defaults)

        def by_position(x, *p):
            return reference(x, **dict(zip(names, p)))

        by_position.__name__ = name
        self._rule = compiled_rule(by_position, self._forward_kept, self._backward)

    def numba(self, forward: Callable, vjp: Callable) -> Stage:
        """Register the Numba kernels (see the module docstring); returns the stage."""
        self.kernels = (forward, vjp)
        return self

    def params(self, **params) -> dict:
        """The defaults updated by ``params`` (unknown names are refused)."""
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"stage {self.name!r} has no parameter(s) {sorted(unknown)}; its "
                            f"parameters are {list(self.defaults)}")
        return {**self.defaults, **params}

    def __call__(self, x, backend: str = "auto", **params):
        p = self.params(**params)
        values = [x, *p.values()]
        if self.check is not None:
            self.check(_example(x), **{k: _example(v) for k, v in p.items()})
        backend = _resolve(backend, concrete(x))
        if backend != "numba" or self.kernels is None:
            return self.reference(x, **p)
        return self._rule(*values)

    def _forward_kept(self, *values):
        plain = _plain(values)
        out = _run(self.kernels[0], plain)
        return out, (plain, out)

    def _backward(self, res, g):
        plain, out = res
        g = np.ascontiguousarray(g, dtype=out.dtype)
        bars = _run(self.kernels[1], [g, plain[0], out, *plain[1:]])
        return tuple(bars)

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, {self.defaults})"


def _run(kernel: Callable, args: list):
    """``kernel(*args)``; on one thread for a small image, where starting the parallel loop's
    threads costs more than it saves (and a busy core stalls every call)."""
    if args[0].size >= PARALLEL_MIN:
        return kernel(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)


def _resolve(backend: str, x) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    cupy_input = array_module(x) is not np
    if backend == "auto":
        return "cupy" if cupy_input else "numba"
    if cupy_input and backend != "cupy":
        raise TypeError(f"backend={backend!r} takes NumPy arrays, got a CuPy array; use "
                        "backend='cupy' or 'auto'")
    if backend == "cupy" and not cupy_input:
        raise TypeError("backend='cupy' takes CuPy arrays (cupy.asarray(image)), got a NumPy "
                        "array")
    return backend


def _example(v):
    """The concrete value under ``v``; under ``vmap``, its first example (so that a check sees
    one image, not the batch)."""
    batch_axes = 0
    while isinstance(v, Tracer):
        batch_axes += isinstance(v, BatchTracer)
        v = v.primal_value()
    return v[(0,) * batch_axes] if batch_axes else v


def _plain(values) -> list:
    """The kernels' arguments: the image as a contiguous array, scalar parameters as floats and
    array ones as contiguous float64 arrays."""
    x, *params = (concrete(v) if isinstance(v, Tracer) else v for v in values)
    out = [np.ascontiguousarray(x)]
    for p in params:
        a = np.asarray(p, dtype=np.float64)
        out.append(float(a) if a.ndim == 0 else np.ascontiguousarray(a))
    return out


__all__ = ["Stage", "BACKENDS"]
