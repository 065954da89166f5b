"""Shape and assembly: reshape, transpose, broadcast_to, concatenate (primitives) and their kin."""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.batching import move_to_front
from ..core.primitive import Primitive


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _ndim(x) -> int:
    return len(vspace.shape_of(x))


# --- reshape -----------------------------------------------------------------------------------
_reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
_reshape.defjvp(lambda t, ans, x, shape: reshape(t, shape))
_reshape.defvjp(lambda g, ans, x, shape: reshape(g, _shape(x)))
_reshape.batch = lambda trace, prim, vals, batched, params: reshape(
    vals[0], (trace.size,) + params["shape"]
)


def _resolve_shape(shape, size: int) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    if -1 in shape:
        known = 1
        for d in shape:
            if d != -1:
                known *= d
        shape = tuple(size // known if known and d == -1 else d for d in shape)
    return shape


def reshape(a, newshape, order: str = "C"):
    """Differentiable ``numpy.reshape`` (C order).

    >>> reshape(arange(6.0), (2, 3))
    """
    if order != "C":
        raise NotImplementedError("diffopt.numpy.reshape supports order='C' only")
    shape = _resolve_shape(newshape, int(np.prod(_shape(a), dtype=np.int64)))
    if shape == _shape(a):
        return a
    return _reshape.bind(a, shape=shape)


def ravel(a, order: str = "C"):
    """Differentiable ``numpy.ravel``.

    >>> ravel(ones((2, 2)))  # shape (4,)
    """
    return reshape(a, (-1,), order)


def expand_dims(a, axis):
    """Differentiable ``numpy.expand_dims``.

    >>> expand_dims(x, 0)
    """
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = _ndim(a) + len(axes)
    axes = sorted(ax % nd for ax in axes)
    shape = list(_shape(a))
    for ax in axes:
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


def squeeze(a, axis=None):
    """Differentiable ``numpy.squeeze``.

    >>> squeeze(ones((1, 3)))  # shape (3,)
    """
    shape = _shape(a)
    if axis is None:
        axes = {i for i, d in enumerate(shape) if d == 1}
    else:
        axes = {ax % len(shape) for ax in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, tuple(d for i, d in enumerate(shape) if i not in axes))


# --- transpose -----------------------------------------------------------------------------------
_transpose = Primitive("transpose", lambda x, axes: np.transpose(x, axes))
_transpose.defjvp(lambda t, ans, x, axes: _transpose.bind(t, axes=axes))
_transpose.defvjp(lambda g, ans, x, axes: _transpose.bind(g, axes=tuple(np.argsort(axes))))
_transpose.batch = lambda trace, prim, vals, batched, params: _transpose.bind(
    vals[0], axes=(0,) + tuple(a + 1 for a in params["axes"])
)


def transpose(a, axes=None):
    """Differentiable ``numpy.transpose``.

    >>> transpose(ones((2, 3))).shape  # (3, 2)
    """
    nd = _ndim(a)
    axes = tuple(reversed(range(nd))) if axes is None else tuple(ax % nd for ax in axes)
    if axes == tuple(range(nd)):
        return a
    return _transpose.bind(a, axes=axes)


def swapaxes(a, axis1: int, axis2: int):
    """Differentiable ``numpy.swapaxes``.

    >>> swapaxes(ones((2, 3)), 0, 1).shape  # (3, 2)
    """
    axes = list(range(_ndim(a)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def moveaxis(a, source, destination):
    """Differentiable ``numpy.moveaxis``.

    >>> moveaxis(ones((2, 3, 4)), 0, -1).shape  # (3, 4, 2)
    """
    nd = _ndim(a)
    src = [s % nd for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [d % nd for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


# --- broadcast_to ------------------------------------------------------------------------------
def _broadcast_batch(trace, prim, vals, batched, params):
    (x,) = vals
    shape = params["shape"]
    s = _shape(x)[1:]
    x = reshape(x, (trace.size,) + (1,) * (len(shape) - len(s)) + s)
    return broadcast_to(x, (trace.size,) + shape)


_broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
_broadcast_to.defjvp(lambda t, ans, x, shape: broadcast_to(t, shape))
_broadcast_to.defvjp(lambda g, ans, x, shape: vspace.sum_to_shape(g, _shape(x)))
_broadcast_to.batch = _broadcast_batch


def broadcast_to(array, shape):
    """Differentiable ``numpy.broadcast_to``; the reverse pass sums over broadcast axes.

    >>> broadcast_to(1.0, (2, 3))
    """
    shape = tuple(shape) if not isinstance(shape, (int, np.integer)) else (int(shape),)
    if _shape(array) == shape:
        return array
    return _broadcast_to.bind(array, shape=shape)


# --- concatenate -------------------------------------------------------------------------------
def _concat_jvp(tangents, ans, primals, params):
    from .elementwise import zeros_like_value

    ts = [zeros_like_value(p) if t is None else t for t, p in zip(tangents, primals)]
    return _concatenate.bind(*ts, **params)


def _concat_vjp(g, ans, arrays, params, which):
    axis = params["axis"]
    bounds = np.cumsum([0] + [_shape(a)[axis] for a in arrays])
    lead = (slice(None),) * axis
    return [g[lead + (slice(bounds[i], bounds[i + 1]),)] for i in which]


def _concat_batch(trace, prim, vals, batched, params):
    vals = [move_to_front(v, b, trace.size) for v, b in zip(vals, batched)]
    return _concatenate.bind(*vals, axis=params["axis"] + 1)


_concatenate = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis))
_concatenate.jvp_all = _concat_jvp
_concatenate.vjp_all = _concat_vjp
_concatenate.batch = _concat_batch


def concatenate(arrays, axis: int = 0):
    """Differentiable ``numpy.concatenate``.

    >>> concatenate([x, y], axis=0)
    """
    arrays = [atleast_1d(a) if axis is None else a for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    nd = _ndim(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    return _concatenate.bind(*arrays, axis=axis % nd)


def stack(arrays, axis: int = 0):
    """Differentiable ``numpy.stack``.

    >>> stack([x, y])  # shape (2,) + x.shape
    """
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    nd = _ndim(arrays[0]) + 1
    return concatenate([expand_dims(a, axis % nd) for a in arrays], axis=axis % nd)


def atleast_1d(*arys):
    """Differentiable ``numpy.atleast_1d``.

    >>> atleast_1d(1.0).shape  # (1,)
    """
    res = [a if _ndim(a) >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else res


__all__ = ["reshape", "ravel", "expand_dims", "squeeze", "transpose", "swapaxes", "moveaxis",
    "broadcast_to", "concatenate", "stack", "atleast_1d"]
