"""Which array library a value lives in: NumPy on the CPU, CuPy on the GPU."""

from __future__ import annotations

import numpy as np


def as_array(a):
    """Arrays (NumPy, CuPy) and traced values as they are; scalars and lists as arrays.

    >>> as_array([1.0, 2.0])
    array([1., 2.])
    """
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return a
    from .creation import asarray  # lists of traced values are stacked there

    return asarray(a)


_MODULES: dict = {}  # array type -> its module, for array types other than NumPy's and CuPy's


def register_array_module(array_type: type, module) -> None:
    """Have :func:`array_module` answer ``module`` for arrays of ``array_type``, as it answers
    ``cupy`` for CuPy arrays (the test suite registers a CuPy look-alike that runs on the CPU).

    >>> import types
    >>> class Box:
    ...     pass
    >>> fake = types.SimpleNamespace()
    >>> register_array_module(Box, fake)
    >>> array_module(Box()) is fake
    True
    >>> del _MODULES[Box]
    """
    _MODULES[array_type] = module


def array_module(x):
    """``cupy`` for CuPy arrays, the registered module for types registered with
    :func:`register_array_module`, else ``numpy``.

    >>> array_module(np.ones(2)) is np
    True
    """
    t = type(x)
    if t.__module__.startswith("cupy"):
        import cupy

        return cupy
    return _MODULES.get(t, np) if _MODULES else np
