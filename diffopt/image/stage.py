"""``Stage``: one step of a camera pipeline as a differentiable primitive with compiled kernels.

A stage is a function ``image, parameters -> image``. It is defined by

- its **reference**, written with ``diffopt.numpy``: the NumPy implementation every other one is
  tested against, and what forward mode, ``vmap`` and nested derivatives differentiate (it runs on
  CuPy arrays too, since ``diffopt.numpy`` picks the array module from its inputs);
- optionally its **Numba kernels**: ``forward(x, *params) -> out`` and ``vjp(g, x, out, *params)
  -> (x_bar, *param_bars)``, on plain arrays (scalar parameters as floats, array ones as
  contiguous float64 arrays), registered with :meth:`Stage.numba`, and its **CUDA kernels**
  with the same signatures, registered with :meth:`Stage.cuda` (on CuPy arrays on a GPU, on
  NumPy arrays under Numba's CUDA simulator; array parameters in the image's array module).
  Both call the same scalar functions for their per-pixel math (:mod:`diffopt.image.device`).
  Under ``grad``/``vjp`` the stage is then one recorded operation whose forward and backward
  passes both run compiled (:func:`diffopt.transforms.compiled_rule`; ``jacrev`` runs the VJP
  kernel once per row);
- a **check** of its inputs that raises a clear error (shapes, dtypes, parameter ranges), and
  the **bounds** of the parameters whose range it limits, which ``fit`` hands to solvers that
  take bounds, so that a line search never tries a value the check refuses.

``backend``: ``"numpy"`` (the reference), ``"numba"`` (the Numba kernels), ``"cuda"`` (the CUDA
kernels; it needs ``diffopt.cuda.MODE``, and raises ``diffopt.cuda.require``'s message without
it), ``"cupy"`` (the reference, on CuPy arrays) or ``"auto"`` (Numba for NumPy arrays; for CuPy
arrays the CUDA kernels on a GPU, where the stage has them, else the reference). A stage without
kernels for the chosen backend runs its reference (for ``"cuda"`` as for ``"numba"``), on the
same arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from diffopt import cuda as dcuda
from diffopt.core import Tracer, concrete
from diffopt.core.batching import BatchTracer
from diffopt.numpy.backend import array_module
from diffopt.transforms import compiled_rule

BACKENDS = ("auto", "numpy", "numba", "cuda", "cupy")
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
        self.cuda_kernels = None
        self.__doc__ = doc or reference.__doc__
        names = tuple(self.defaults)

        def by_position(x, *p):
            return reference(x, **dict(zip(names, p)))

        by_position.__name__ = name
        self._by_position = by_position
        self._rules: dict = {}

    def numba(self, forward: Callable, vjp: Callable) -> Stage:
        """Register the Numba kernels (see the module docstring); returns the stage."""
        self.kernels = (forward, vjp)
        self._rules["numba"] = _rule(self._by_position, forward, vjp, _plain, _run)
        return self

    def cuda(self, forward: Callable, vjp: Callable) -> Stage:
        """Register the CUDA kernels (see the module docstring); returns the stage."""
        self.cuda_kernels = (forward, vjp)
        self._rules["cuda"] = _rule(self._by_position, forward, vjp, _plain_cuda, _call)
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
        rule = self._rules.get(_resolve(backend, concrete(x), "cuda" in self._rules))
        if rule is None:  # numpy, cupy, or a backend this stage has no kernels for
            return self.reference(x, **p)
        return rule(*values)

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, {self.defaults})"


def _rule(reference: Callable, forward: Callable, vjp: Callable, plain: Callable,
          run: Callable) -> Callable:
    """The stage's kernels as one :func:`compiled_rule`: ``plain`` makes their arguments from
    the values (:func:`_plain`, :func:`_plain_cuda`) and ``run(kernel, args)`` calls them."""

    def forward_kept(*values):
        args = plain(values)
        out = run(forward, args)
        return out, (args, out, [concrete(v) if isinstance(v, Tracer) else v for v in values[1:]])

    def backward(res, g):
        args, out, params = res
        xp = array_module(out)
        g = xp.ascontiguousarray(xp.asarray(g), dtype=out.dtype)
        x_bar, *bars = run(vjp, [g, args[0], out, *args[1:]])
        return (x_bar, *(_like(b, p) for b, p in zip(bars, params)))

    return compiled_rule(reference, forward_kept, backward)


def _like(bar, param):
    """A parameter's cotangent in the parameter's array module (a CUDA kernel sums an array
    parameter's cotangent on the device, where the parameter may have been a NumPy array)."""
    if np.ndim(param) == 0 or array_module(bar) is array_module(param):
        return bar
    return bar.get()


def _call(kernel: Callable, args: list):
    return kernel(*args)


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


def _resolve(backend: str, x, has_cuda: bool = False) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    cupy_input = array_module(x) is not np
    if backend == "auto":
        if cupy_input:
            return "cuda" if has_cuda and dcuda.MODE == "gpu" else "cupy"
        return "numba"
    if backend == "cuda":
        dcuda.require('backend="cuda"')
        if dcuda.MODE == "gpu" and not cupy_input:
            raise TypeError("backend='cuda' on a GPU takes CuPy arrays (cupy.asarray(image)), "
                            "got a NumPy array")
        if dcuda.MODE == "simulator" and cupy_input:
            raise TypeError("backend='cuda' under Numba's CUDA simulator takes NumPy arrays, got "
                            "a CuPy array")
        return backend
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


def _plain_cuda(values) -> list:
    """The CUDA kernels' arguments: as :func:`_plain`, with the image and the array parameters
    in the image's array module (CuPy on a GPU, NumPy under the simulator)."""
    x, *params = (concrete(v) if isinstance(v, Tracer) else v for v in values)
    xp = array_module(x)
    out = [xp.ascontiguousarray(x)]
    for p in params:
        if np.ndim(p) == 0:
            out.append(float(p))
        else:
            out.append(xp.ascontiguousarray(xp.asarray(p, dtype=np.float64)))
    return out


__all__ = ["Stage", "BACKENDS"]
