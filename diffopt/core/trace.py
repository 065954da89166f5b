"""Traces, tracers and the per-thread stack of active transformations.

A *trace* is one active transformation (one call of ``grad``, ``jvp``, ``vmap``...). Each has a
``level``: its position in the calling thread's stack. A *tracer* is a value owned by one trace.
When a primitive is bound, the tracer of the highest level among its arguments picks the trace that
interprets the call; values of lower levels are constants to that trace. This is what keeps nested
transforms from confusing their perturbations.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

_local = threading.local()


def trace_stack() -> list:
    """The calling thread's stack of active traces (innermost last)."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class Trace:
    """One active transformation. Subclasses implement ``process``."""

    __slots__ = ("level", "alive")

    def __init__(self, level: int):
        self.level = level
        self.alive = True

    def process(self, prim, args: tuple, params: dict):
        raise NotImplementedError

    def check_alive(self):
        if not self.alive:
            raise RuntimeError(
                "a traced value escaped the transformation that created it (for example a tracer "
                "stored in a global or returned through has_aux and used later). Return plain "
                "results from the transformed function instead."
            )


@contextmanager
def new_trace(cls, *args):
    """Push a new trace of type ``cls`` onto this thread's stack for the duration of a block."""
    stack = trace_stack()
    trace = cls(len(stack), *args)
    stack.append(trace)
    try:
        yield trace
    finally:
        stack.pop()
        trace.alive = False


# NumPy ufunc name -> the diffopt.numpy function for `ndarray <op> tracer`; filled by
# diffopt.numpy (its methods module), so that core needs no import of it.
OPERATOR_UFUNCS: dict = {}

_NP_HINT = (
    "{what} was called on a traced value. Plain NumPy cannot see derivatives: use the same "
    "function from diffopt.numpy (import diffopt.numpy as np)."
)


_TO_PYTHON = (
    "x.{what}() was called on a traced value: Python numbers cannot carry what the transformation "
    "tracks (the derivative under grad/jvp, the batch under vmap). Keep the value an array: index "
    "it (x[i], or x itself for a 0-d value) and compute with diffopt.numpy functions; call "
    ".{what}() on what the transformation returns instead."
)


class Tracer:
    """A value carried through a transformation. Behaves like an array via ``diffopt.numpy``."""

    __slots__ = ("_trace",)
    # Lets `ndarray <op> tracer` defer to our reflected operators via __array_ufunc__ below.
    __array_priority__ = 1000

    # -- abstract value -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        raise NotImplementedError

    @property
    def dtype(self):
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    # -- refusals with a way out ---------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(_NP_HINT.format(what="numpy.asarray (or a NumPy function)"))

    def __array_function__(self, func, types, args, kwargs):
        name = getattr(func, "__name__", str(func))
        raise TypeError(_NP_HINT.format(what=f"numpy.{name}"))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # `ndarray + tracer` arrives here as np.add(ndarray, tracer): route the operator ufuncs to
        # diffopt.numpy so arithmetic keeps working; refuse everything else with a hint.
        fn = OPERATOR_UFUNCS.get(ufunc.__name__)
        if method == "__call__" and fn is not None and not kwargs:
            return fn(*inputs)
        raise TypeError(_NP_HINT.format(what=f"numpy.{ufunc.__name__}"))

    def __setitem__(self, idx, value):
        raise TypeError(
            "traced arrays are immutable: instead of `x[idx] = v` write `x = x.at[idx].set(v)` "
            "(or build the array with diffopt.numpy.where or concatenate)."
        )

    def _concretization_error(self, what):
        return TypeError(
            f"{what} of a traced value would drop its derivative (under vmap, its batch): a "
            "Python number cannot carry what the transformation tracks, so no number is "
            "available here. Keep the value an array: compute with diffopt.numpy functions "
            "(x.astype(int) gives an integer array, diffopt.numpy.where chooses between values); "
            "under grad/jvp compare it for Python control flow (x > 0 is a plain boolean there); "
            "or pass a number that needs no derivative as an argument that is not transformed."
        )

    def __bool__(self):
        raise self._concretization_error("bool()")

    def __float__(self):
        raise self._concretization_error("float()")

    def __int__(self):
        raise self._concretization_error("int()")

    def __complex__(self):
        raise self._concretization_error("complex()")

    def __index__(self):
        raise self._concretization_error("using as an index")

    def item(self, *args):
        raise TypeError(_TO_PYTHON.format(what="item"))

    def tolist(self):
        raise TypeError(_TO_PYTHON.format(what="tolist"))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"


def top_trace(values):
    """The trace of the highest level among the tracers in ``values``; None if there are none."""
    top = None
    for a in values:
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    return top


def concrete(x):
    """The plain array under any number of tracers (derivative information dropped)."""
    while isinstance(x, Tracer):
        x = x.primal_value()
    return x
