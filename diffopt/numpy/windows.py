"""Window functions with NumPy's values: ``bartlett``, ``blackman``, ``hamming``, ``hanning`` and
``kaiser``.

The first four depend only on the integer length ``M`` (constants, no derivative). ``kaiser`` is
differentiable in a traced ``beta`` through :func:`diffopt.numpy.i0`.
"""

from __future__ import annotations

import numpy as np

from ..core.trace import Tracer, concrete
from .elementwise import astype, i0


def _length(M, name: str) -> int:  # noqa: N803 - NumPy's name
    if isinstance(M, Tracer):
        raise TypeError(f"diffopt.numpy.{name}: the window length M must be a concrete integer")
    return M


def _window(name: str):
    np_fn = getattr(np, name)

    def fn(M):  # noqa: N803 - NumPy's name
        return np_fn(_length(M, name))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"``numpy.{name}``: the window of length ``M`` (a constant).\n\n"
                  f">>> {name}(5).shape\n(5,)\n")
    return fn


bartlett = _window("bartlett")
blackman = _window("blackman")
hamming = _window("hamming")
hanning = _window("hanning")


def kaiser(M, beta):  # noqa: N803 - NumPy's name
    """Differentiable ``numpy.kaiser``: ``I0(beta sqrt(1 - (2n/(M-1) - 1)^2)) / I0(beta)``, with
    NumPy's values; differentiable in a traced ``beta``.

    >>> kaiser(4, 5.0)
    array([0.03671089, 0.7753221 , 0.7753221 , 0.03671089])
    """
    M = _length(M, "kaiser")  # noqa: N806 - NumPy's name
    if not isinstance(beta, Tracer):
        return np.kaiser(M, beta)
    if M <= 1:
        return np.kaiser(M, concrete(beta))
    n = np.arange(0, M)
    alpha = (M - 1) / 2.0
    shape = np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)
    beta = astype(beta, np.float64)
    return i0(beta * shape) / i0(beta)


__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]
