"""Evenly spaced numbers: ``linspace``, ``logspace``, ``geomspace``, differentiable in their
endpoints (and ``base``). Plain endpoints go straight to NumPy; traced ones build the same
sequence, ``start + i * step`` with the last point set to ``stop``, from diffopt operations."""

from __future__ import annotations

import operator

import numpy as np

from ..core.axes import normalize_axis
from ..core.trace import Tracer, concrete
from .elementwise import abs as _abs
from .elementwise import add, astype, log10, multiply, power, sign, subtract
from .shape import concatenate, moveaxis, reshape


def _traced(*values) -> bool:
    return any(isinstance(v, Tracer) for v in values)


def _count(num) -> int:
    if isinstance(num, Tracer):
        raise TypeError("linspace: num must be a plain integer, not a traced value")
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    return num


def _spaced(start, stop, num: int, endpoint: bool, axis: int):
    """``(samples, step)``: ``num`` points from ``start`` to ``stop`` along a new ``axis``."""
    div = num - 1 if endpoint else num
    delta = subtract(stop, start)
    shape = np.shape(concrete(delta))
    i = np.arange(num, dtype=float).reshape((num,) + (1,) * len(shape))
    step = delta / div if div > 0 else delta * np.nan
    y = add(multiply(i, step) if div > 0 else multiply(i, delta), start)
    if endpoint and num > 1:
        stop_b = reshape(add(stop, 0.0 * delta), (1,) + shape)
        y = concatenate([y[:-1], stop_b], axis=0)
    ndim = len(shape) + 1
    axis = normalize_axis(axis, ndim)
    return (moveaxis(y, 0, axis) if axis else y), step


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):
    """``numpy.linspace``, differentiable in ``start`` and ``stop``.

    >>> import diffopt
    >>> float(diffopt.grad(lambda a: linspace(a, 2.0, 5)[1])(0.0))
    0.75
    """
    if not _traced(start, stop):
        return np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                           axis=axis)
    y, step = _spaced(start, stop, _count(num), endpoint, axis)
    if dtype is not None:
        y = astype(y, dtype)
    return (y, step) if retstep else y


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10.0, dtype=None,
             axis: int = 0):
    """``numpy.logspace``: ``base ** linspace(start, stop)``, differentiable in all three.

    >>> logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    """
    if not _traced(start, stop, base):
        return np.logspace(start, stop, num, endpoint=endpoint, base=base, dtype=dtype,
                           axis=axis)
    y, _ = _spaced(start, stop, _count(num), endpoint, 0)
    base_shape = np.shape(concrete(base))
    out = power(reshape(base, (1,) + base_shape) if base_shape else base, y)
    out = moveaxis(out, 0, normalize_axis(axis, len(np.shape(concrete(out)))))
    return out if dtype is None else astype(out, dtype)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """``numpy.geomspace``, differentiable in ``start`` and ``stop`` (real, of one sign; the
    end points are exact).

    >>> geomspace(1.0, 1000.0, 4)
    array([   1.,   10.,  100., 1000.])
    """
    if not _traced(start, stop):
        return np.geomspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)
    s_c, e_c = np.asarray(concrete(start)), np.asarray(concrete(stop))
    if np.iscomplexobj(s_c) or np.iscomplexobj(e_c):
        raise NotImplementedError("geomspace of traced complex end points is not supported; "
                                  "build it as exp(linspace(log(start), log(stop)))")
    if np.any(s_c == 0) or np.any(e_c == 0):
        raise ValueError("Geometric sequence cannot include zero")
    if np.any(np.sign(s_c) != np.sign(e_c)):
        raise ValueError("geomspace of traced end points needs start and stop of one sign "
                         "(NumPy's result is complex there)")
    num = _count(num)
    y, _ = _spaced(log10(_abs(start)), log10(_abs(stop)), num, endpoint, 0)
    out = sign(concrete(start)) * power(10.0, y)
    if num > 0:  # (NumPy makes the end points exact)
        rest = out[1:-1] if endpoint and num > 1 else out[1:]
        parts = [reshape(start + 0.0 * y[0], (1,) + np.shape(s_c * e_c)), rest]
        if endpoint and num > 1:
            parts.append(reshape(stop + 0.0 * y[0], (1,) + np.shape(s_c * e_c)))
        out = concatenate(parts, axis=0)
    out = moveaxis(out, 0, normalize_axis(axis, len(np.shape(concrete(out)))))
    return out if dtype is None else astype(out, dtype)


__all__ = ["linspace", "logspace", "geomspace"]
