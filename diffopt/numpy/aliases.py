"""NumPy 2's array-API names for functions defined elsewhere (``acos`` is ``arccos``...).

Each name is the same function as NumPy's older name, as in NumPy itself; ``concat`` adds
NumPy's ``dtype=`` and ``casting=`` keywords to ``concatenate``.

>>> import diffopt.numpy as dnp
>>> dnp.acos is dnp.arccos and dnp.permute_dims is dnp.transpose
True
"""

from __future__ import annotations

import numpy as np

from . import elementwise as ew
from .reductions import _no_out
from .shape import concatenate, transpose

acos, acosh, asin, asinh = ew.arccos, ew.arccosh, ew.arcsin, ew.arcsinh
atan, atan2, atanh = ew.arctan, ew.arctan2, ew.arctanh
pow = ew.power  # noqa: A001 - NumPy's name
bitwise_invert = bitwise_not = ew.invert
bitwise_left_shift, bitwise_right_shift = ew.left_shift, ew.right_shift
permute_dims = transpose


def concat(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Differentiable ``numpy.concat`` (``numpy.concatenate``): with ``dtype=``, every array is
    cast to it first, if ``casting`` allows.

    >>> concat([np.ones(2), np.zeros(1)], dtype=np.float32)
    array([1., 1., 0.], dtype=float32)
    """
    _no_out(out, "concat")
    if dtype is not None:
        dtype = np.dtype(dtype)
        arrays = list(arrays)
        for a in arrays:
            a_dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
            if not np.can_cast(a_dtype, dtype, casting):
                raise TypeError(f"Cannot cast array data from {a_dtype!r} to {dtype!r} according "
                                f"to the rule {casting!r}")
        arrays = [ew.astype(a, dtype) for a in arrays]
    return concatenate(arrays, axis)


__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "pow", "bitwise_invert",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "permute_dims", "concat"]
