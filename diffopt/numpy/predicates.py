"""Predicates and dtype helpers: NumPy's boolean answers about values and types (no derivative).

Elementwise predicates batch under ``vmap``; the whole-array ones (``allclose``, ``array_equal``)
return a Python bool on plain values and under ``grad``/``jvp`` (where comparisons are plain), and
a traced boolean per batch element under ``vmap``.
"""

from __future__ import annotations

import numpy as np

from ..core.batching import batch_elementwise
from ..core.primitive import Primitive
from ..core.trace import Tracer
from .creation import shape
from .elementwise import _nondiff, equal, isnan, logical_and, logical_or
from .reductions import _no_out
from .reductions import all as _all

_isclose = Primitive(
    "isclose",
    lambda a, b, rtol, atol, equal_nan: np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan),
    differentiable=False,
).defbatch(batch_elementwise)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """``numpy.isclose``: ``|a - b| <= atol + rtol * |b|`` elementwise.

    >>> isclose(np.array([1.0, 1.1]), 1.0)
    array([ True, False])
    """
    return _isclose.bind(a, b, rtol, atol, equal_nan=equal_nan)


def _to_bool(r):
    """A plain result as a Python bool (as NumPy returns); a traced one (under vmap) as it is."""
    return r if isinstance(r, Tracer) else bool(r)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """``numpy.allclose``: whether every element of ``a`` is close to ``b``.

    >>> allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    True
    """
    return _to_bool(_all(isclose(a, b, rtol, atol, equal_nan)))


def _equal_nan(a1, a2):
    """``a1 == a2`` elementwise, with two NaNs counting as equal."""
    return logical_or(equal(a1, a2), logical_and(isnan(a1), isnan(a2)))


def _inexact(a) -> bool:
    dtype = a.dtype if hasattr(a, "dtype") else np.result_type(a)
    return dtype.kind in "fc"


def array_equal(a1, a2, equal_nan: bool = False):
    """``numpy.array_equal``: same shape and the same elements.

    >>> array_equal(np.array([1.0, np.nan]), np.array([1.0, np.nan]), equal_nan=True)
    True
    """
    if shape(a1) != shape(a2):
        return False
    if equal_nan and _inexact(a1) and _inexact(a2):
        return _to_bool(_all(_equal_nan(a1, a2)))
    return _to_bool(_all(equal(a1, a2)))


def array_equiv(a1, a2):
    """``numpy.array_equiv``: shapes that broadcast together and equal elements.

    >>> array_equiv(np.array([1, 2]), np.array([[1, 2], [1, 2]]))
    True
    """
    try:
        np.broadcast_shapes(shape(a1), shape(a2))
    except ValueError:
        return False
    return _to_bool(_all(equal(a1, a2)))


_isposinf = _nondiff("isposinf", np.isposinf, 1)
_isneginf = _nondiff("isneginf", np.isneginf, 1)


def isposinf(x, out=None):
    """``numpy.isposinf``: elementwise, whether x is +inf.

    >>> isposinf(np.array([np.inf, -np.inf, 1.0]))
    array([ True, False, False])
    """
    _no_out(out, "isposinf")
    return _isposinf(x)


def isneginf(x, out=None):
    """``numpy.isneginf``: elementwise, whether x is -inf.

    >>> isneginf(np.array([np.inf, -np.inf, 1.0]))
    array([False,  True, False])
    """
    _no_out(out, "isneginf")
    return _isneginf(x)


_iscomplex = _nondiff("iscomplex", np.iscomplex, 1)
_isreal = _nondiff("isreal", np.isreal, 1)


def iscomplex(x):
    """``numpy.iscomplex``: elementwise, whether the imaginary part is nonzero.

    >>> iscomplex(np.array([1.0 + 0j, 1j]))
    array([False,  True])
    """
    return _iscomplex(x)


def isreal(x):
    """``numpy.isreal``: elementwise, whether the imaginary part is zero.

    >>> isreal(np.array([1.0 + 0j, 1j]))
    array([ True, False])
    """
    return _isreal(x)


def iscomplexobj(x) -> bool:
    """``numpy.iscomplexobj``: whether ``x`` has a complex dtype (traced values too).

    >>> iscomplexobj(np.array([1.0 + 0j]))
    True
    """
    if isinstance(x, Tracer):
        return x.dtype.kind == "c"
    return np.iscomplexobj(x)


def isrealobj(x) -> bool:
    """``numpy.isrealobj``: whether ``x`` has no complex dtype (traced values too).

    >>> isrealobj(np.array([1.0]))
    True
    """
    return not iscomplexobj(x)


def isscalar(element) -> bool:
    """``numpy.isscalar``: whether ``element`` is a scalar (a Python or NumPy number, a string...).

    A traced value is array-like (it behaves as a 0-d or larger array), so it is not a scalar, as
    ``numpy.isscalar(numpy.array(1.0))`` is False.

    >>> isscalar(1.0), isscalar(np.array(1.0))
    (True, False)
    """
    return False if isinstance(element, Tracer) else np.isscalar(element)


def isdtype(dtype, kind) -> bool:
    """``numpy.isdtype`` (NumPy >= 2.0): whether ``dtype`` is of ``kind`` ('real floating'...).

    >>> isdtype(np.float32, "real floating")
    True
    """
    return np.isdtype(dtype, kind)


def issubdtype(arg1, arg2) -> bool:
    """``numpy.issubdtype``: whether ``arg1`` is below ``arg2`` in the type hierarchy.

    >>> issubdtype(np.float32, np.floating)
    True
    """
    return np.issubdtype(arg1, arg2)


def can_cast(from_, to, casting: str = "safe") -> bool:
    """``numpy.can_cast``: for an array or traced value, whether its dtype casts to ``to``.

    >>> can_cast(np.float32, np.float64), can_cast(np.ones(2), np.int64)
    (True, False)
    """
    return np.can_cast(from_.dtype if isinstance(from_, Tracer) else from_, to, casting)


def promote_types(type1, type2):
    """``numpy.promote_types``: the smallest dtype both cast to safely.

    >>> promote_types(np.float32, np.int64)
    dtype('float64')
    """
    return np.promote_types(type1, type2)


def iterable(y) -> bool:
    """``numpy.iterable``: whether ``y`` can be iterated over (a 0-d traced value cannot).

    >>> iterable([1, 2]), iterable(2.0)
    (True, False)
    """
    return np.iterable(y)


__all__ = ["isclose", "allclose", "array_equal", "array_equiv", "isposinf", "isneginf", "iscomplex",
    "isreal", "iscomplexobj", "isrealobj", "isscalar", "isdtype", "issubdtype", "can_cast",
    "promote_types", "iterable"]
