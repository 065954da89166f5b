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


def array_module(x):
    """``cupy`` for CuPy arrays, else ``numpy``.

    >>> array_module(np.ones(2)) is np
    True
    """
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np
