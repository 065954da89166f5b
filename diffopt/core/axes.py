"""Axis arguments checked as NumPy checks them: one place for every function that takes an axis.

An axis out of range raises NumPy's own ``AxisError`` (a subclass of both ``ValueError`` and
``IndexError``) with NumPy's message; a repeated axis raises ``ValueError``.

>>> normalize_axis(-1, 3)
2
>>> normalize_axes((0, -1), 3)
(0, 2)
"""

from __future__ import annotations

import operator

try:
    from numpy.exceptions import AxisError
except ImportError:  # NumPy < 1.25
    from numpy import AxisError

__all__ = ["AxisError", "normalize_axis", "normalize_axes"]


def normalize_axis(axis, ndim: int, argname: str | None = None) -> int:
    """``axis`` as an index in ``[0, ndim)``; ``AxisError`` if it is out of bounds.

    ``argname`` prefixes the message, as NumPy does for ``source``, ``axis1`` and the like.
    """
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise AxisError(axis, ndim, argname)
    return axis + ndim if axis < 0 else axis


def normalize_axes(axis, ndim: int, argname: str | None = None, *,
                   duplicates: str | None = "repeated axis") -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of indices in ``[0, ndim)``.

    A repeated axis raises ``ValueError(duplicates)`` (NumPy's wording differs by function, so
    callers pass theirs); ``duplicates=None`` allows repeats.
    """
    axes = (axis,) if _is_int(axis) else tuple(axis)
    out = tuple(normalize_axis(ax, ndim, argname) for ax in axes)
    if duplicates is not None and len(set(out)) != len(out):
        raise ValueError(duplicates)
    return out


def _is_int(x) -> bool:
    try:
        operator.index(x)
    except TypeError:
        return False
    return True
