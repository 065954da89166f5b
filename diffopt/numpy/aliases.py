"""NumPy 2's array-API names for functions defined elsewhere (``acos`` is ``arccos``...).

Each name is the same function as NumPy's older name, as in NumPy itself.

>>> import diffopt.numpy as dnp
>>> dnp.acos is dnp.arccos and dnp.concat is dnp.concatenate
True
"""

from __future__ import annotations

from . import elementwise as ew
from .shape import concatenate, transpose

acos, acosh, asin, asinh = ew.arccos, ew.arccosh, ew.arcsin, ew.arcsinh
atan, atan2, atanh = ew.arctan, ew.arctan2, ew.arctanh
pow = ew.power  # noqa: A001 - NumPy's name
bitwise_invert = bitwise_not = ew.invert
bitwise_left_shift, bitwise_right_shift = ew.left_shift, ew.right_shift
permute_dims = transpose
concat = concatenate


__all__ = ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "pow", "bitwise_invert",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "permute_dims", "concat"]
