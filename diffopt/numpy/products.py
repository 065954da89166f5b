"""Matrix products: ``matmul`` is the primitive; ``dot``, ``inner``, ``outer``... build on it."""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.primitive import Primitive
from .shape import expand_dims, reshape, squeeze, swapaxes


def _nd(x) -> int:
    return len(vspace.shape_of(x))


def _matmul_vjp_a(g, ans, a, b):
    if _nd(b) == 1:
        if _nd(a) == 1:
            return g * b
        return expand_dims(g, -1) * b  # outer product per batch
    if _nd(a) == 1:
        return squeeze(matmul(b, expand_dims(g, -1)), -1)
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, ans, a, b):
    if _nd(a) == 1:
        if _nd(b) == 1:
            return g * a
        return expand_dims(a, -1) * expand_dims(g, -2)
    if _nd(b) == 1:
        return squeeze(matmul(expand_dims(g, -2), a), -2)
    return matmul(swapaxes(a, -1, -2), g)


def _matmul_batch(trace, prim, vals, batched, params):
    a, b = vals
    ba, bb = batched
    an, bn = _nd(a) - ba, _nd(b) - bb
    squeeze_a, squeeze_b = an == 1, bn == 1
    if squeeze_a:
        a, an = expand_dims(a, -2), 2
    if squeeze_b:
        b, bn = expand_dims(b, -1), 2
    r = max(an, bn) - 2  # number of broadcast (stack) dimensions
    size = trace.size
    if ba:
        a = reshape(a, (size,) + (1,) * (r - (an - 2)) + vspace.shape_of(a)[1:])
    if bb:
        b = reshape(b, (size,) + (1,) * (r - (bn - 2)) + vspace.shape_of(b)[1:])
    out = _matmul.bind(a, b)
    if squeeze_a:
        out = squeeze(out, -2)
    if squeeze_b:
        out = squeeze(out, -1)
    return out


_matmul = Primitive("matmul", np.matmul)
_matmul.defjvp(lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t))
_matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)
_matmul.batch = _matmul_batch


def matmul(a, b):
    """Differentiable ``numpy.matmul`` (the ``@`` operator), with NumPy's 1-D and stacking rules.

    >>> matmul(eye(2), array([1.0, 2.0]))  # [1., 2.]
    """
    if _nd(a) == 0 or _nd(b) == 0:
        raise ValueError("matmul: input operand does not have enough dimensions (use multiply)")
    return _matmul.bind(a, b)


def dot(a, b):
    """Differentiable ``numpy.dot``.

    >>> dot(array([1.0, 2.0]), array([3.0, 4.0]))  # 11.0
    """
    if _nd(a) == 0 or _nd(b) == 0:
        return a * b
    if _nd(b) <= 2:
        return matmul(a, b)
    raise NotImplementedError("dot of arrays above 2-D is not implemented yet; use tensordot")


__all__ = ["matmul", "dot"]
