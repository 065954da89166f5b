"""Input, output, printing and bit packing: NumPy's functions, on the values of arrays.

Printing and saving a traced value inside ``grad``/``jvp`` use its value (what the function
computes there); inside ``vmap`` (the value is the whole batch) or ``jit`` (the value exists only
while tracing) they refuse, with a message. Reading (``load``, ``frombuffer``...) gives plain
arrays, constants to any transformation; print options are NumPy's own. ``packbits`` and
``unpackbits`` (integers, no derivative) run on plain and traced values, under ``vmap`` too.

>>> import diffopt
>>> import diffopt.numpy as dnp
>>> float(diffopt.grad(lambda x: print(dnp.array_str(x)) or x * x)(3.0))
3.0
6.0
"""

from __future__ import annotations

import numpy as np

from ..core.axes import normalize_axis
from ..core.batching import batch_axis_param
from ..core.forward import JVPTracer
from ..core.primitive import Primitive
from ..core.reverse import ReverseTracer
from ..core.trace import Tracer
from ..core.vspace import shape_of
from .backend import as_array
from .shape import ravel

get_printoptions = np.get_printoptions
set_printoptions = np.set_printoptions
printoptions = np.printoptions
load = np.load
frombuffer = np.frombuffer
fromfile = np.fromfile
fromstring = np.fromstring


def _value(x, what: str):
    """The plain array under the grad/jvp tracers of ``x``; an error for any other transformation
    (vmap, jit...), whose traced value does not stand for one array of this call."""
    while isinstance(x, Tracer):
        if not isinstance(x, (JVPTracer, ReverseTracer)):
            raise TypeError(
                f"{what} was called on a traced value inside vmap (or jacfwd/jacrev, or jit): "
                "there it is not one array with numbers (it holds a whole batch, or exists only "
                f"while tracing). Call {what} on the result of the transformation instead."
            )
        x = x.primal_value()
    return x


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None) -> str:
    """``numpy.array_repr`` of the array's value (under grad/jvp, the traced value's).

    >>> array_repr(np.array([1.0, 2.5]))
    'array([1. , 2.5])'
    """
    return np.array_repr(_value(arr, "array_repr"), max_line_width, precision, suppress_small)


def array_str(a, max_line_width=None, precision=None, suppress_small=None) -> str:
    """``numpy.array_str`` of the array's value (under grad/jvp, the traced value's).

    >>> array_str(np.array([1.0, 2.5]))
    '[1.  2.5]'
    """
    return np.array_str(_value(a, "array_str"), max_line_width, precision, suppress_small)


def save(file, arr, allow_pickle: bool = True, **kwargs) -> None:
    """``numpy.save`` of the array's value (under grad/jvp, the traced value's).

    >>> import io
    >>> f = io.BytesIO(); save(f, np.array([1.0, 2.0])); _ = f.seek(0); load(f)
    array([1., 2.])
    """
    np.save(file, _value(arr, "save"), allow_pickle=allow_pickle, **kwargs)


def savez(file, *args, allow_pickle: bool = True, **kwds) -> None:
    """``numpy.savez`` of the arrays' values (under grad/jvp, the traced values').

    >>> import io
    >>> f = io.BytesIO(); savez(f, a=np.ones(2)); _ = f.seek(0); load(f)["a"]
    array([1., 1.])
    """
    args = [_value(a, "savez") for a in args]
    kwds = {k: _value(v, "savez") for k, v in kwds.items()}
    np.savez(file, *args, allow_pickle=allow_pickle, **kwds)


def _no_traced_items(items):
    for item in items:
        if isinstance(item, Tracer):
            raise TypeError(
                "fromiter met a traced value: it copies numbers into a new NumPy array, which "
                "would drop the derivative. Build the array with diffopt.numpy.array(list(...)) "
                "or diffopt.numpy.stack instead."
            )
        yield item


def fromiter(iter, dtype, count: int = -1, *, like=None):  # noqa: A002 - NumPy's name
    """``numpy.fromiter``: a new array from an iterable of numbers (traced values refused).

    >>> fromiter((k * k for k in range(4)), float)
    array([0., 1., 4., 9.])
    """
    return np.fromiter(_no_traced_items(iter), dtype, count, like=like)


class _PyUfunc:
    """The ufunc of ``numpy.frompyfunc``, refusing traced arguments with a message."""

    __slots__ = ("ufunc",)

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def __call__(self, *args, **kwargs):
        if any(isinstance(a, Tracer) for a in args):
            raise TypeError(
                f"the frompyfunc ufunc {self.ufunc.__name__} was called on a traced value: it "
                "calls a Python function on each number, which cannot carry derivatives. Write "
                "the function with diffopt.numpy operations (and diffopt.vmap for scalar code)."
            )
        return self.ufunc(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.ufunc, name)

    def __repr__(self):
        return repr(self.ufunc)


def frompyfunc(func, /, nin: int, nout: int, **kwargs):
    """``numpy.frompyfunc``: a ufunc (of object arrays) calling ``func``; plain values only.

    >>> frompyfunc(lambda a, b: a + b, 2, 1)(np.array([1, 2]), 3)
    array([4, 5], dtype=object)
    """
    return _PyUfunc(np.frompyfunc(func, nin, nout, **kwargs))


def from_dlpack(x, /, **kwargs):
    """``numpy.from_dlpack``: a NumPy array sharing another library's array memory.

    >>> from_dlpack(np.arange(3.0))
    array([0., 1., 2.])
    """
    if isinstance(x, Tracer):
        raise TypeError(
            "from_dlpack was called on a traced value: it is already an array of this library "
            "and has no memory to share. Use it as it is (or diffopt.numpy.asarray)."
        )
    return np.from_dlpack(x, **kwargs)


def _bits_primitive(name: str, impl) -> Primitive:
    prim = Primitive(name, impl, differentiable=False)
    prim.defbatch(batch_axis_param("axis"))
    return prim


_packbits = _bits_primitive(
    "packbits", lambda a, axis, bitorder: np.packbits(a, axis=axis, bitorder=bitorder))
_unpackbits = _bits_primitive(
    "unpackbits",
    lambda a, axis, count, bitorder: np.unpackbits(a, axis=axis, count=count, bitorder=bitorder))


def _bits_axis(a, axis):
    """``(a, axis)`` with NumPy's meaning of ``axis=None`` (the flattened array)."""
    a = as_array(a)
    if axis is None:
        return ravel(a), 0
    return a, normalize_axis(axis, len(shape_of(a)))


def packbits(a, /, axis: int | None = None, bitorder: str = "big"):
    """``numpy.packbits``: the elements of an integer or boolean array as bits of ``uint8``
    values, along ``axis`` (``None``: the flattened array); plain or traced, no derivative.

    >>> packbits(np.array([1, 0, 1, 1, 0, 0, 0, 1]))
    array([177], dtype=uint8)
    """
    a, axis = _bits_axis(a, axis)
    return _packbits.bind(a, axis=axis, bitorder=bitorder)


def unpackbits(a, /, axis: int | None = None, count: int | None = None, bitorder: str = "big"):
    """``numpy.unpackbits``: the bits of a ``uint8`` array, along ``axis`` (``None``: the
    flattened array), ``count`` of them if given; plain or traced, no derivative.

    >>> unpackbits(np.array([177], dtype=np.uint8))
    array([1, 0, 1, 1, 0, 0, 0, 1], dtype=uint8)
    """
    a, axis = _bits_axis(a, axis)
    return _unpackbits.bind(a, axis=axis, count=count, bitorder=bitorder)


__all__ = ["array_repr", "array_str", "get_printoptions", "set_printoptions", "printoptions",
    "load", "save", "savez", "frombuffer", "fromfile", "fromiter", "fromstring", "frompyfunc",
    "from_dlpack", "packbits", "unpackbits"]
