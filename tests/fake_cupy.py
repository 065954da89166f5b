"""A test double for CuPy, to check that diffopt's reference paths keep arrays in their own module.

``FakeArray`` wraps a NumPy array and behaves as a CuPy array does where array-module hygiene is
concerned: NumPy functions and ufuncs called on it dispatch (``__array_function__``,
``__array_ufunc__``) and return ``FakeArray``; mixing it with a NumPy array of one or more
dimensions raises ``TypeError``, and so does any implicit conversion to NumPy (``__array__``,
hence ``np.asarray(x)``), as CuPy's does ("Implicit conversion to a NumPy array is not allowed").
NumPy scalars, 0-d arrays and Python numbers mix freely, as with CuPy. ``xp`` is the module
(``xp.zeros``, ``xp.asarray``, ``xp.fft.rfft``, ``xp.asnumpy``...): NumPy's functions returning
``FakeArray``. ``install()`` makes ``diffopt.numpy.backend.array_module`` answer ``xp`` for it.

>>> x = xp.asarray([1.0, 2.0])
>>> type(np.sin(x) + 1).__name__, xp.asnumpy(x * x)
('FakeArray', array([1., 4.]))
>>> np.asarray(x)
Traceback (most recent call last):
TypeError: Implicit conversion to a NumPy array is not allowed (a FakeArray: use xp.asnumpy)
"""

from __future__ import annotations

import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


def _unwrap(value, strict: bool):
    """The NumPy data under ``value`` (through tuples, lists and dicts). ``strict``: a NumPy array
    of one or more dimensions met on the way is an error, as CuPy refuses to mix host arrays."""
    if isinstance(value, FakeArray):
        return value._data
    if isinstance(value, np.ndarray):
        if strict and value.ndim > 0:
            raise TypeError(f"a NumPy array of shape {value.shape} mixed with a FakeArray (CuPy "
                            "refuses host arrays: move it with xp.asarray)")
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, strict) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, strict) for k, v in value.items()}
    return value


def _wrap(value):
    """NumPy arrays and scalars as ``FakeArray`` (CuPy's reductions give 0-d arrays too)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return FakeArray(np.asarray(value))
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class FakeArray(NDArrayOperatorsMixin):
    """A NumPy array in CuPy's clothes (see the module's docstring)."""

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = np.asarray(data)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (a FakeArray: use "
                        "xp.asnumpy)")

    __array_priority__ = 100  # CuPy's: operators defer to types with a higher one (tracers)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if not all(isinstance(a, _OPERANDS) for a in inputs + kwargs.get("out", ())):
            return NotImplemented  # a tracer, say: its own __array_ufunc__ takes over
        out = kwargs.pop("out", None)
        kwargs = _unwrap(kwargs, True)
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, True) for o in out)
        result = getattr(ufunc, method)(*_unwrap(inputs, True), **kwargs)
        return out[0] if out is not None and len(out) == 1 else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (FakeArray, np.ndarray)) for t in types):
            return NotImplemented
        return _wrap(func(*_unwrap(args, True), **_unwrap(kwargs, True)))

    # what CuPy arrays offer besides the protocols: attributes and methods of the data
    def __getattr__(self, name):
        if name.startswith("__"):  # no __array_interface__ & co: NumPy would read the data
            raise AttributeError(name)
        value = getattr(self._data, name)
        if callable(value):
            return lambda *args, **kwargs: _wrap(value(*_unwrap(args, True),
                                                       **_unwrap(kwargs, True)))
        return _wrap(value)

    def __getitem__(self, index):
        return _wrap(self._data[_unwrap(index, False)])

    def __setitem__(self, index, value):
        self._data[_unwrap(index, False)] = _unwrap(value, True)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (_wrap(v) for v in self._data)

    def __float__(self):
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __complex__(self):
        return complex(self._data)

    def __bool__(self):
        return bool(self._data)

    def __repr__(self):
        return f"FakeArray({self._data!r})"


_OPERANDS = (FakeArray, np.ndarray, np.generic, int, float, complex)


def _wrapped_namespace(name, source):
    """A module whose functions are ``source``'s, taking anything and returning ``FakeArray``."""

    class Namespace(types.ModuleType):
        def __getattr__(self, attr):
            value = getattr(source, attr)
            if isinstance(value, types.ModuleType):
                sub = _wrapped_namespace(f"{name}.{attr}", value)
            elif callable(value) and not isinstance(value, (type, np.ufunc)):
                def sub(*args, _f=value, **kwargs):
                    return _wrap(_f(*_unwrap(args, False), **_unwrap(kwargs, False)))
            else:  # constants, dtypes, and ufuncs (which dispatch on FakeArray themselves)
                sub = value
            setattr(self, attr, sub)
            return sub

    return Namespace(name)


xp = _wrapped_namespace("fake_cupy", np)
xp.ndarray = FakeArray
xp.asnumpy = lambda a: a._data.copy() if isinstance(a, FakeArray) else np.asarray(a)


def install():
    """Make diffopt treat ``FakeArray`` as it treats CuPy arrays (its module is ``xp``)."""
    from diffopt.numpy.backend import register_array_module

    register_array_module(FakeArray, xp)
