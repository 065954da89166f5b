"""Exact constant folding: which primitives of constants may become numbers.

Arithmetic on integers and fractions folds exactly (``1/3`` stays the fraction 1/3); transcendental
functions of constants stay symbolic (``log(2)`` is kept) unless the result is an exact integer
(``log(1)`` is 0, ``sqrt(4)`` is 2).
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np

NOFOLD = object()  # sentinel: leave the node symbolic

_RATIONAL = (int, Fraction)


def normalize(v):
    """A constant in canonical Python form: bool, int, Fraction, float, complex or ndarray."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else v
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
            return int(v)
        if math.isfinite(v):
            q = Fraction(v)  # exact; kept as a fraction when it is a short one (0.5, 0.375)
            if q.denominator <= 1024 and abs(q.numerator) < 2**20:
                return q
        return v
    if isinstance(v, (complex, np.complexfloating)):
        v = complex(v)
        return normalize(v.real) if v.imag == 0 else v
    if isinstance(v, np.ndarray):
        return normalize(v[()]) if v.ndim == 0 else v
    raise TypeError(
        f"a symbolic expression cannot hold a constant of type {type(v).__name__}; use numbers "
        "or NumPy arrays"
    )


def to_float(v):
    """The numeric value of a normalized constant (fractions and ints become floats)."""
    if isinstance(v, bool) or isinstance(v, (complex, float, np.ndarray)):
        return v
    return float(v)


def _div(a, b):
    if isinstance(a, _RATIONAL) and isinstance(b, _RATIONAL):
        return Fraction(a) / b  # ZeroDivisionError leaves it symbolic
    if b == 0:
        raise ZeroDivisionError
    return a / b


def _pow(a, b):
    if isinstance(b, int):
        if isinstance(a, _RATIONAL):
            return Fraction(a) ** b
        return a**b
    if isinstance(a, complex) or isinstance(b, complex) or a < 0:
        return NOFOLD
    return _integral(float(a) ** float(b))


def _integral(r):
    """``r`` when it is an exact integer (so folding loses nothing), otherwise NOFOLD."""
    r = float(r) if np.ndim(r) == 0 and not np.iscomplexobj(r) else None
    if r is None or not math.isfinite(r) or not r.is_integer():
        return NOFOLD
    return r


_PYTHON_OPS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "negative": operator.neg, "positive": operator.pos, "divide": _div, "power": _pow,
    "square": lambda a: a * a, "reciprocal": lambda a: _div(1, a),
}
# Primitives whose NumPy result on exact inputs is exact (no rounding beyond the inputs').
_EXACT_IMPL = {
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "absolute", "sign", "floor", "ceil", "trunc",
    "rint", "round", "floor_divide", "remainder", "fmod", "maximum", "minimum", "fmax", "fmin",
    "clip", "real", "imag", "conjugate", "isnan", "isinf", "isfinite", "signbit", "astype",
    "where", "zeros_like", "ones_like", "full_like",
}


def fold(prim, values: list, params: dict):
    """The folded value of ``prim`` on constant ``values``, or NOFOLD to keep it symbolic."""
    scalars = all(not isinstance(v, np.ndarray) for v in values)
    op = _PYTHON_OPS.get(prim.name)
    if op is not None and scalars and not params:
        try:
            r = op(*values)
        except (ZeroDivisionError, OverflowError, TypeError, ValueError):
            r = NOFOLD
        return r if r is NOFOLD else normalize(r)
    with np.errstate(all="ignore"):
        try:
            r = prim.impl(*[to_float(v) for v in values], **params)
        except Exception:  # noqa: BLE001 - anything NumPy refuses stays symbolic
            return NOFOLD
    if prim.name in _EXACT_IMPL:
        return normalize(np.asarray(r))
    if scalars and all(isinstance(v, int) for v in values):
        r = _integral(r)
        return r if r is NOFOLD else normalize(r)
    return NOFOLD
