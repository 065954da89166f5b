"""Operators and array methods on traced values, mapped onto diffopt.numpy functions."""

from __future__ import annotations

import numpy as np

from ..core import trace as _trace
from ..core.trace import Tracer
from . import elementwise as ew
from . import indexing, products
from .shape import ravel, reshape, squeeze, swapaxes, transpose


def _swap(fn):
    return lambda self, other: fn(other, self)


def _dot(a, b):

    return products.dot(a, b)


_BINARY = {
    "add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.divide,
    "floordiv": ew.floor_divide, "mod": ew.remainder, "pow": ew.power,
    "matmul": products.matmul, "and": ew.bitwise_and, "or": ew.bitwise_or,
    "xor": ew.bitwise_xor,
}
_COMPARE = {
    "lt": ew.less, "le": ew.less_equal, "gt": ew.greater, "ge": ew.greater_equal,
    "eq": ew.equal, "ne": ew.not_equal,
}

# `ndarray <op> tracer` reaches Tracer.__array_ufunc__ with these ufuncs.
OPERATOR_UFUNCS = {
    "add": ew.add, "subtract": ew.subtract, "multiply": ew.multiply, "divide": ew.divide,
    "true_divide": ew.divide, "floor_divide": ew.floor_divide, "remainder": ew.remainder,
    "power": ew.power, "matmul": products.matmul, "less": ew.less,
    "less_equal": ew.less_equal, "greater": ew.greater, "greater_equal": ew.greater_equal,
    "equal": ew.equal, "not_equal": ew.not_equal, "bitwise_and": ew.bitwise_and,
    "bitwise_or": ew.bitwise_or, "bitwise_xor": ew.bitwise_xor, "logical_and": ew.logical_and,
    "logical_or": ew.logical_or,
}


def _astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """``x.astype(dtype)``: NumPy's keywords; order, subok and copy change nothing for a traced
    value (it has no memory layout, subclass or mutable storage of its own)."""
    if casting != "unsafe" and not np.can_cast(self.dtype, dtype, casting):
        raise TypeError(f"Cannot cast array data from {self.dtype!r} to {np.dtype(dtype)!r} "
                        f"according to the rule {casting!r}")
    return ew.astype(self, dtype)


def _reduction(fn_name):
    """``x.fn(...)`` as ``diffopt.numpy.fn(x, ...)``. (``x.sort()`` returns the sorted copy: traced
    values cannot be sorted in place.)"""

    def method(self, *args, **kwargs):
        from diffopt import numpy as dnp

        return getattr(dnp, fn_name)(self, *args, **kwargs)

    method.__name__ = fn_name
    return method


def _in_place(name):
    """``x.fill(...)``, ``x.put(...)``...: NumPy writes into the array; a traced value refuses."""

    def method(self, *args, **kwargs):
        raise TypeError(
            f"x.{name}(...) writes into the array in place, and traced values are immutable. Use "
            "the functional form: x.at[idx].set(v) (or diffopt.numpy.where) returns a new array."
        )

    method.__name__ = name
    return method


def _install():
    _trace.OPERATOR_UFUNCS.update(OPERATOR_UFUNCS)
    for name, fn in _BINARY.items():
        setattr(Tracer, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Tracer, f"__r{name}__", _swap(fn))
    for name, fn in _COMPARE.items():
        setattr(Tracer, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
    Tracer.__neg__ = lambda self: ew.negative(self)
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: ew.absolute(self)
    Tracer.__invert__ = lambda self: ew.invert(self)
    Tracer.__getitem__ = lambda self, idx: indexing.getitem(self, idx)
    Tracer.at = property(lambda self: indexing.at(self))
    Tracer.T = property(lambda self: transpose(self))
    Tracer.mT = property(lambda self: swapaxes(self, -1, -2))
    Tracer.real = property(lambda self: ew.real(self))
    Tracer.imag = property(lambda self: ew.imag(self))
    Tracer.conj = Tracer.conjugate = lambda self: ew.conj(self)
    Tracer.astype = _astype
    Tracer.dot = lambda self, other: _dot(self, other)
    Tracer.reshape = lambda self, *shp, order="C": reshape(
        self, shp[0] if len(shp) == 1 else shp, order
    )
    Tracer.transpose = lambda self, *axes: transpose(
        self, (axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None
    )
    Tracer.ravel = Tracer.flatten = lambda self: ravel(self)
    Tracer.squeeze = lambda self, axis=None: squeeze(self, axis)
    Tracer.swapaxes = lambda self, a, b: swapaxes(self, a, b)
    Tracer.copy = lambda self, order="C": self  # traced values are immutable: a copy is itself
    for name in ("fill", "put", "resize", "setfield"):
        setattr(Tracer, name, _in_place(name))
    for name in ("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod",
                 "argmax", "argmin", "argsort", "clip", "round", "trace", "diagonal", "sort",
                 "repeat", "take", "all", "any", "nonzero", "ptp", "searchsorted", "compress",
                 "choose"):
        setattr(Tracer, name, _reduction(name))


_install()
