"""Shape and assembly: reshape, transpose, broadcast_to, concatenate, split and constant ``pad``
are primitives; stacking, tiling, repeating, flipping, rolling and the other pad modes are built on
them and on indexing.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes, normalize_axis
from ..core.batching import batch_axis_param, move_to_front
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _getitem(x, idx):
    from .indexing import getitem  # indexing builds on this module

    return getitem(x, idx)


def _has_tracer(obj) -> bool:
    """Whether ``obj`` is a traced value or a (nested) list or tuple holding one."""
    if isinstance(obj, Tracer):
        return True
    return isinstance(obj, (list, tuple)) and any(_has_tracer(o) for o in obj)


def _static(value, what: str):
    """``value`` unchanged; a clear error if it is traced (it decides an output shape)."""
    if _has_tracer(value):
        raise TypeError(f"{what} must be plain integers, not traced values: the output's shape "
                        "depends on them")
    return value


def _ndim(x) -> int:
    return len(vspace.shape_of(x))


# --- reshape --------------------------------------------------------------------------------------
_reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape))
_reshape.defjvp(lambda t, ans, x, shape: reshape(t, shape))
_reshape.defvjp(lambda g, ans, x, shape: reshape(g, _shape(x)))
_reshape.defbatch(lambda trace, prim, vals, batched, params: reshape(
    vals[0], (trace.size,) + params["shape"]))


def _resolve_shape(shape, old_shape: tuple) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        size = math.prod(old_shape)
        shape = tuple(size // known if known and d == -1 else d for d in shape)
    return shape


def reshape(a, newshape, order: str = "C"):
    """Differentiable ``numpy.reshape`` (C order).

    >>> reshape(np.arange(6.0), (2, 3))
    array([[0., 1., 2.],
           [3., 4., 5.]])
    """
    if order != "C":
        raise NotImplementedError("diffopt.numpy.reshape supports order='C' only")
    old = _shape(a)
    shape = _resolve_shape(newshape, old)
    if shape == old:
        return a
    return _reshape.bind(a, shape=shape)


def ravel(a, order: str = "C"):
    """Differentiable ``numpy.ravel``.

    >>> ravel(np.ones((2, 2)))
    array([1., 1., 1., 1.])
    """
    return reshape(a, (-1,), order)


def expand_dims(a, axis):
    """Differentiable ``numpy.expand_dims``.

    >>> expand_dims(np.array([1.0, 2.0]), 0)
    array([[1., 2.]])
    """
    nd = _ndim(a) + (1 if isinstance(axis, (int, np.integer)) else len(axis))
    axes = sorted(normalize_axes(axis, nd))
    shape = list(_shape(a))
    for ax in axes:
        shape.insert(ax, 1)
    return reshape(a, tuple(shape))


def squeeze(a, axis=None):
    """Differentiable ``numpy.squeeze``.

    >>> squeeze(np.ones((1, 3)))
    array([1., 1., 1.])
    """
    shape = _shape(a)
    if axis is None:
        axes = {i for i, d in enumerate(shape) if d == 1}
    elif not shape and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return a  # NumPy lets a 0-d array "squeeze" its axis 0
    else:
        axes = set(normalize_axes(axis, len(shape), duplicates="duplicate value in 'axis'"))
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal "
                                 "to one")
    return reshape(a, tuple(d for i, d in enumerate(shape) if i not in axes))


# --- transpose ------------------------------------------------------------------------------------
_transpose = Primitive("transpose", lambda x, axes: np.transpose(x, axes))
_transpose.defjvp(lambda t, ans, x, axes: _transpose.bind(t, axes=axes))
_transpose.defvjp(lambda g, ans, x, axes: _transpose.bind(g, axes=tuple(np.argsort(axes))))
_transpose.defbatch(lambda trace, prim, vals, batched, params: _transpose.bind(
    vals[0], axes=(0,) + tuple(a + 1 for a in params["axes"])))


def transpose(a, axes=None):
    """Differentiable ``numpy.transpose``.

    >>> transpose(np.ones((2, 3))).shape
    (3, 2)
    """
    nd = _ndim(a)
    if axes is None:
        axes = tuple(reversed(range(nd)))
    else:
        axes = normalize_axes(axes, nd, duplicates="repeated axis in transpose")
        if len(axes) != nd:
            raise ValueError("axes don't match array")
    if axes == tuple(range(nd)):
        return a
    return _transpose.bind(a, axes=axes)


def swapaxes(a, axis1: int, axis2: int):
    """Differentiable ``numpy.swapaxes``.

    >>> swapaxes(np.ones((2, 3)), 0, 1).shape
    (3, 2)
    """
    nd = _ndim(a)
    axis1, axis2 = normalize_axis(axis1, nd, "axis1"), normalize_axis(axis2, nd, "axis2")
    axes = list(range(nd))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def moveaxis(a, source, destination):
    """Differentiable ``numpy.moveaxis``.

    >>> moveaxis(np.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    nd = _ndim(a)
    src = normalize_axes(source, nd, "source", duplicates="repeated axis in `source` argument")
    dst = normalize_axes(destination, nd, "destination",
                         duplicates="repeated axis in `destination` argument")
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of "
                         "elements")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


def matrix_transpose(x, /):
    """Differentiable ``numpy.matrix_transpose``: the last two axes swapped.

    >>> matrix_transpose(np.ones((5, 2, 3))).shape
    (5, 3, 2)
    """
    x = as_array(x)
    if _ndim(x) < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {_ndim(x)}")
    return swapaxes(x, -1, -2)


# --- broadcast_to ---------------------------------------------------------------------------------
def _broadcast_batch(trace, prim, vals, batched, params):
    (x,) = vals
    shape = params["shape"]
    s = _shape(x)[1:]
    x = reshape(x, (trace.size,) + (1,) * (len(shape) - len(s)) + s)
    return broadcast_to(x, (trace.size,) + shape)


_broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
_broadcast_to.defjvp(lambda t, ans, x, shape: broadcast_to(t, shape))
_broadcast_to.defvjp(lambda g, ans, x, shape: vspace.sum_to_shape(g, _shape(x)))
_broadcast_to.defbatch(_broadcast_batch)


def broadcast_to(array, shape):
    """Differentiable ``numpy.broadcast_to``; the reverse pass sums over broadcast axes.

    >>> broadcast_to(1.0, (2, 3))
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """
    shape = tuple(shape) if not isinstance(shape, (int, np.integer)) else (int(shape),)
    if _shape(array) == shape:
        return array
    return _broadcast_to.bind(array, shape=shape)


# --- concatenate ----------------------------------------------------------------------------------
def _concat_jvp(tangents, ans, primals, params):
    from .elementwise import zeros_like_value

    ts = [zeros_like_value(p) if t is None else t for t, p in zip(tangents, primals, strict=True)]
    return _concatenate.bind(*ts, **params)


def _concat_vjp(g, ans, arrays, params, which):
    axis = params["axis"]
    bounds = np.cumsum([0] + [_shape(a)[axis] for a in arrays])
    lead = (slice(None),) * axis
    return [g[lead + (slice(bounds[i], bounds[i + 1]),)] for i in which]


def _concat_batch(trace, prim, vals, batched, params):
    vals = [move_to_front(v, b, trace.size) for v, b in zip(vals, batched, strict=True)]
    return _concatenate.bind(*vals, axis=params["axis"] + 1)


_concatenate = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis))
_concatenate.defjvp_all(_concat_jvp)
_concatenate.defvjp_all(_concat_vjp)
_concatenate.defbatch(_concat_batch)


def concatenate(arrays, axis: int = 0, out=None, *, dtype=None, casting: str = "same_kind"):
    """Differentiable ``numpy.concatenate`` (``dtype``: each array cast first, under ``casting``).

    >>> concatenate([np.ones(2), np.zeros(1)], axis=0)
    array([1., 1., 0.])
    """
    if out is not None:
        from .reductions import _no_out

        _no_out(out, "concatenate")
    arrays = [as_array(a) for a in arrays]
    if dtype is not None:
        from .elementwise import astype

        dtype = np.dtype(dtype)
        for a in arrays:
            if not np.can_cast(a.dtype, dtype, casting=casting):
                raise TypeError(f"Cannot cast array data from {a.dtype!r} to {dtype!r} "
                                f"according to the rule {casting!r}")
        arrays = [astype(a, dtype) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    nd = _ndim(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    return _concatenate.bind(*arrays, axis=normalize_axis(axis, nd))


def stack(arrays, axis: int = 0):
    """Differentiable ``numpy.stack``.

    >>> stack([np.ones(3), np.zeros(3)]).shape
    (2, 3)
    """
    arrays = [as_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis(axis, _ndim(arrays[0]) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def _atleast(arys: tuple, nd: int, place):
    """Each array raised to ``nd`` dims by ``place(shape) -> new shape``; one array unwrapped."""
    res = []
    for a in arys:
        a = as_array(a)
        shape = _shape(a)
        res.append(a if len(shape) >= nd else reshape(a, place(shape)))
    return res[0] if len(res) == 1 else res


def atleast_1d(*arys):
    """Differentiable ``numpy.atleast_1d``.

    >>> atleast_1d(1.0).shape
    (1,)
    """
    return _atleast(arys, 1, lambda s: (1,))


def atleast_2d(*arys):
    """Differentiable ``numpy.atleast_2d``: 0-d becomes (1, 1), 1-D (n,) becomes (1, n).

    >>> atleast_2d(np.ones(3)).shape
    (1, 3)
    """
    return _atleast(arys, 2, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*arys):
    """Differentiable ``numpy.atleast_3d``: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1).

    >>> atleast_3d(np.ones((2, 3))).shape
    (2, 3, 1)
    """
    return _atleast(arys, 3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)])


def _each(fn, tup) -> list:
    arrays = [fn(a) for a in tup]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    return arrays


def hstack(tup):
    """Differentiable ``numpy.hstack``: concatenation along axis 1 (axis 0 for 1-D arrays).

    >>> hstack([np.ones(2), np.zeros(3)]).shape
    (5,)
    """
    arrays = _each(atleast_1d, tup)
    return concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def vstack(tup):
    """Differentiable ``numpy.vstack``: concatenation along axis 0 after ``atleast_2d``.

    >>> vstack([np.ones(3), np.zeros(3)]).shape
    (2, 3)
    """
    return concatenate(_each(atleast_2d, tup), axis=0)


def dstack(tup):
    """Differentiable ``numpy.dstack``: concatenation along axis 2 after ``atleast_3d``.

    >>> dstack([np.ones((2, 3)), np.zeros((2, 3))]).shape
    (2, 3, 2)
    """
    return concatenate(_each(atleast_3d, tup), axis=2)


def column_stack(tup):
    """Differentiable ``numpy.column_stack``: 1-D arrays become columns.

    >>> column_stack([np.ones(3), np.zeros(3)]).shape
    (3, 2)
    """

    def column(a):
        a = as_array(a)
        return reshape(a, (-1, 1)) if _ndim(a) < 2 else a

    return concatenate(_each(column, tup), axis=1)


# --- split ----------------------------------------------------------------------------------------
def _split_impl(x, bounds, axis):
    lead = (slice(None),) * axis
    return tuple(x[lead + (slice(start, stop),)] for start, stop in bounds)


def _split_jvp(tangents, ans, primals, params):
    return _split.bind(tangents[0], **params)


def _split_vjp(g, ans, args, params, which):
    bounds, axis = params["bounds"], params["axis"]
    n = _shape(args[0])[axis]
    starts = [b[0] for b in bounds]
    stops = [b[1] for b in bounds]
    if starts[0] == 0 and stops[-1] == n and starts[1:] == stops[:-1]:  # the pieces tile x
        return [concatenate(list(g), axis=axis)]
    total = None  # overlapping or missing pieces: pad each back into place and sum
    nd = _ndim(args[0])
    for (start, stop), gi in zip(bounds, g, strict=True):
        width = tuple((start, n - stop) if d == axis else (0, 0) for d in range(nd))
        part = _pad.bind(gi, pad_width=width, constant_values=0)
        total = part if total is None else total + part
    return [total]


_split = Primitive("split", _split_impl, multiple_results=True)
_split.defjvp_all(_split_jvp)
_split.defvjp_all(_split_vjp)
_split.defbatch(batch_axis_param("axis"))


def array_split(ary, indices_or_sections, axis: int = 0) -> list:
    """Differentiable ``numpy.array_split``: ``sections`` nearly equal pieces, or pieces between
    the given indices.

    >>> [p.shape for p in array_split(np.arange(5.0), 2)]
    [(3,), (2,)]
    """
    ary = as_array(ary)
    shape = _shape(ary)
    axis = normalize_axis(axis, len(shape))
    n = shape[axis]
    _static(indices_or_sections, "array_split: indices_or_sections")
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        ends = np.cumsum([0] + sizes).tolist()
        bounds = tuple(zip(ends[:-1], ends[1:], strict=True))
    else:
        points = [0] + [operator.index(i) for i in indices_or_sections] + [n]
        bounds = []
        for p, q in zip(points[:-1], points[1:], strict=True):
            start, stop, _ = slice(p, q).indices(n)
            bounds.append((start, max(start, stop)))
        bounds = tuple(bounds)
    return list(_split.bind(ary, bounds=bounds, axis=axis))


def split(ary, indices_or_sections, axis: int = 0) -> list:
    """Differentiable ``numpy.split``: like ``array_split``, but sections must divide evenly.

    >>> [p.shape for p in split(np.arange(6.0), 3)]
    [(2,), (2,), (2,)]
    """
    if np.ndim(indices_or_sections) == 0:
        shape = _shape(as_array(ary))
        sections = operator.index(indices_or_sections)
        if sections > 0 and shape[normalize_axis(axis, len(shape))] % sections:
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def _split_on(ary, indices_or_sections, min_nd: int, axis_of, name: str) -> list:
    ary = as_array(ary)
    nd = _ndim(ary)
    if nd < min_nd:
        raise ValueError(f"{name} only works on arrays of {min_nd} or more dimensions")
    return split(ary, indices_or_sections, axis_of(nd))


def hsplit(ary, indices_or_sections) -> list:
    """Differentiable ``numpy.hsplit``: split along axis 1 (axis 0 for 1-D arrays).

    >>> [p.shape for p in hsplit(np.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    return _split_on(ary, indices_or_sections, 1, lambda nd: 1 if nd > 1 else 0, "hsplit")


def vsplit(ary, indices_or_sections) -> list:
    """Differentiable ``numpy.vsplit``: split along axis 0.

    >>> [p.shape for p in vsplit(np.ones((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    return _split_on(ary, indices_or_sections, 2, lambda nd: 0, "vsplit")


def dsplit(ary, indices_or_sections) -> list:
    """Differentiable ``numpy.dsplit``: split along axis 2.

    >>> [p.shape for p in dsplit(np.ones((1, 1, 4)), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """
    return _split_on(ary, indices_or_sections, 3, lambda nd: 2, "dsplit")


# --- tile, repeat ---------------------------------------------------------------------------------
def tile(A, reps):
    """Differentiable ``numpy.tile`` (a broadcast and a reshape; the reverse pass sums copies).

    >>> tile(np.array([1.0, 2.0]), 2)
    array([1., 2., 1., 2.])
    """
    A = as_array(A)
    _static(reps, "tile: reps")
    reps = (operator.index(reps),) if np.ndim(reps) == 0 else tuple(operator.index(r) for r in reps)
    nd = max(_ndim(A), len(reps))
    shape = (1,) * (nd - _ndim(A)) + _shape(A)
    reps = (1,) * (nd - len(reps)) + reps
    if all(r == 1 for r in reps):
        return reshape(A, shape)
    x = reshape(A, tuple(d for s in shape for d in (1, s)))
    x = broadcast_to(x, tuple(d for r, s in zip(reps, shape, strict=True) for d in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shape, strict=True)))


def repeat(a, repeats, axis=None):
    """Differentiable ``numpy.repeat``: ``repeats`` is an int or one count per element of ``axis``.

    >>> repeat(np.array([1.0, 2.0]), [1, 2])
    array([1., 2., 2.])
    """
    _static(repeats, "repeat: repeats")
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    shape = _shape(a)
    axis = normalize_axis(axis, len(shape))
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" and counts.size:
        raise TypeError(f"repeat: repeats must be integers, not {counts.dtype}")
    if np.any(counts < 0):
        raise ValueError("repeat: repeats may not contain negative values")
    if counts.size == 1:
        r = int(counts.reshape(()))
        x = expand_dims(a, axis + 1)
        x = broadcast_to(x, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return reshape(x, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    if counts.shape != (shape[axis],):
        raise ValueError(f"repeat: {counts.size} repeat counts for an axis of length {shape[axis]}")
    index = np.repeat(np.arange(shape[axis]), counts)
    return _getitem(a, (slice(None),) * axis + (index,))


# --- flips, rotations, rolls ----------------------------------------------------------------------
def flip(m, axis=None):
    """Differentiable ``numpy.flip``: reverse the order along ``axis`` (None: every axis).

    >>> flip(np.array([1.0, 2.0, 3.0]))
    array([3., 2., 1.])
    """
    m = as_array(m)
    nd = _ndim(m)
    if axis is None:
        axes = set(range(nd))
    else:
        axes = set(normalize_axes(axis, nd))
    if not axes:
        return m
    return _getitem(m, tuple(slice(None, None, -1) if d in axes else slice(None)
                             for d in range(nd)))


def fliplr(m):
    """Differentiable ``numpy.fliplr``: reverse axis 1.

    >>> fliplr(np.eye(2))
    array([[0., 1.],
           [1., 0.]])
    """
    m = as_array(m)
    if _ndim(m) < 2:
        raise ValueError("fliplr needs an array of at least two dimensions")
    return flip(m, 1)


def flipud(m):
    """Differentiable ``numpy.flipud``: reverse axis 0.

    >>> flipud(np.array([1.0, 2.0]))
    array([2., 1.])
    """
    m = as_array(m)
    if _ndim(m) < 1:
        raise ValueError("flipud needs an array of at least one dimension")
    return flip(m, 0)


def rot90(m, k: int = 1, axes=(0, 1)):
    """Differentiable ``numpy.rot90``: rotate by 90 degrees ``k`` times in the plane of ``axes``.

    >>> rot90(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 4.],
           [1., 3.]])
    """
    m = as_array(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    nd = _ndim(m)
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == nd:  # NumPy's checks, in its order
        raise ValueError("Axes must be different.")
    if not (-nd <= axes[0] < nd and -nd <= axes[1] < nd):
        raise ValueError(f"Axes={axes} out of range for array of ndim={nd}.")
    a0, a1 = axes[0] % nd, axes[1] % nd
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a0, a1))
    order = list(range(nd))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return transpose(flip(m, a1), order)
    return flip(transpose(m, order), a1)


def roll(a, shift, axis=None):
    """Differentiable ``numpy.roll``: shift elements cyclically along ``axis`` (None: flattened).

    >>> roll(np.array([1.0, 2.0, 3.0]), 1)
    array([3., 1., 2.])
    """
    a = as_array(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    shape = _shape(a)
    _static(shift, "roll: shift")
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    if shifts.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    total: dict = {}
    for s, ax in zip(shifts.ravel().tolist(), axes.ravel().tolist(), strict=True):
        ax = normalize_axis(ax, len(shape))
        total[ax] = total.get(ax, 0) + s
    for ax, s in total.items():
        n = shape[ax]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * ax
            a = concatenate([_getitem(a, lead + (slice(n - s, None),)),
                             _getitem(a, lead + (slice(None, n - s),))], axis=ax)
    return a


# --- pad -----------------------------------------------------------------------------------------
def _pad_vjp(g, ans, x, pad_width, constant_values):
    inside = zip(pad_width, _shape(x), strict=True)
    return _getitem(g, tuple(slice(b, b + n) for (b, _), n in inside))


def _pad_batch(trace, prim, vals, batched, params):
    cv = params["constant_values"]
    return _pad.bind(vals[0], pad_width=((0, 0),) + params["pad_width"],
                     constant_values=((0, 0),) + cv if isinstance(cv, tuple) else cv)


_pad = Primitive("pad", lambda x, pad_width, constant_values: np.pad(
    x, pad_width, mode="constant", constant_values=constant_values))
_pad.defjvp(lambda t, ans, x, pad_width, constant_values: _pad.bind(
    t, pad_width=pad_width, constant_values=0))
_pad.defvjp(_pad_vjp)
_pad.defbatch(_pad_batch)

_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


def _as_pairs(value, nd: int, name: str, as_int: bool) -> tuple:
    """NumPy's pad-width rules: a scalar, (v,), (before, after) or one pair per axis."""
    arr = np.asarray(value)
    try:
        pairs = np.broadcast_to(arr, (nd, 2))
    except ValueError:
        raise ValueError(f"pad: {name} of shape {arr.shape} does not fit an array of "
                         f"dimension {nd}; give a number, a (before, after) pair, or one pair "
                         "per axis") from None
    if as_int:
        if arr.dtype.kind not in "iu" and arr.size:
            raise TypeError(f"pad: {name} must be integers")
        if np.any(pairs < 0):
            raise ValueError("pad: index can't contain negative values")
        return tuple((int(b), int(e)) for b, e in pairs)
    return tuple((b.item(), e.item()) for b, e in pairs)


def pad(array, pad_width, mode: str = "constant", **kwargs):
    """Differentiable ``numpy.pad`` for modes 'constant' (the default; ``constant_values`` may be
    a traced scalar), 'empty' (zeros), 'edge', 'reflect', 'symmetric' and 'wrap'.

    >>> pad(np.array([1.0, 2.0]), 1)
    array([0., 1., 2., 0.])
    """
    array = as_array(array)
    shape = _shape(array)
    nd = len(shape)
    width = _as_pairs(_static(pad_width, "pad: pad_width"), nd, "pad_width", as_int=True)
    if mode in ("constant", "empty"):
        unknown = set(kwargs) - {"constant_values"}
        if unknown or (mode == "empty" and kwargs):
            raise TypeError(f"pad: unsupported keyword(s) {sorted(kwargs)} for mode {mode!r}")
        cv = kwargs.get("constant_values", 0)
        if not nd or not any(b or e for b, e in width):
            return array
        if _has_tracer(cv):
            return _pad_traced_value(array, width, cv)
        if np.ndim(cv) != 0:
            cv = _as_pairs(cv, nd, "constant_values", as_int=False)
        else:
            cv = np.asarray(cv).item()
        return _pad.bind(array, pad_width=width, constant_values=cv)
    if mode not in _INDEX_MODES:
        raise NotImplementedError(
            f"pad: mode {mode!r} is not supported; use one of 'constant', 'empty', "
            f"{', '.join(repr(m) for m in _INDEX_MODES)}")
    if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
        raise NotImplementedError("pad: only reflect_type='even' (the default) is supported, and "
                                  f"mode {mode!r} takes no other keywords")
    from .indexing import take

    for ax, (before, after) in enumerate(width):
        if before or after:
            n = shape[ax]
            if n == 0:
                raise ValueError(f"can't extend empty axis {ax} using modes other than "
                                 "'constant' or 'empty'")
            # NumPy pads the positions 0..n-1 exactly as it would pad the values: a gather
            array = take(array, np.pad(np.arange(n), (before, after), mode=mode), axis=ax)
    return array


def _pad_traced_value(array, width, cv):
    """Constant padding with a traced fill value: the fill receives the border's derivative."""
    if not isinstance(cv, Tracer) or cv.ndim:
        raise NotImplementedError("pad: a traced constant_values must be a scalar; pad with 0 and "
                                  "add the border values with where() for per-axis values")
    from .elementwise import where

    xp = array_module(concrete(array))
    inside = np.pad(xp.ones(_shape(array), dtype=bool), width)
    return where(inside, _pad.bind(array, pad_width=width, constant_values=0), cv)


# --- assembly by numbered positions ---------------------------------------------------------------
def _traced(*values) -> bool:
    return any(_has_tracer(v) for v in values)


def _numbered(arrays) -> list:
    """Each array's elements numbered by their position in the ravelled concatenation of all."""
    out, start = [], 0
    for a in arrays:
        n = math.prod(_shape(a))
        out.append(np.arange(start, start + n, dtype=np.intp).reshape(_shape(a)))
        start += n
    return out


def _assemble(arrays, layout):
    """What NumPy's ``layout`` builds from ``arrays``, as one differentiable gather.

    ``layout`` runs on the arrays' element numbers (plain integers), so NumPy itself decides the
    result's shape and arrangement, errors included; each number is then replaced by its element.
    """
    labels = layout(*_numbered(arrays))
    return _getitem(concatenate([ravel(a) for a in arrays]), labels)


def _asarray(a):
    from .creation import asarray

    return asarray(a)


def append(arr, values, axis=None):
    """Differentiable ``numpy.append``: ``values`` joined to the end of ``arr`` (both ravelled
    when ``axis`` is None).

    >>> append(np.array([1.0, 2.0]), [[3.0], [4.0]])
    array([1., 2., 3., 4.])
    """
    arr, values = as_array(arr), as_array(values)
    if axis is None:
        if _ndim(arr) != 1:
            arr = ravel(arr)
        values, axis = ravel(values), _ndim(arr) - 1
    return concatenate([arr, values], axis=axis)


def insert(arr, obj, values, axis=None):
    """Differentiable ``numpy.insert``: ``values`` (cast to ``arr``'s dtype) placed before the
    index or indices ``obj`` (an int, a slice or a sequence: plain values) along ``axis``
    (the flattened array when None).

    >>> insert(np.array([1.0, 2.0, 3.0]), 1, [8.0, 9.0])
    array([1., 8., 9., 2., 3.])
    """
    _static(obj, "insert: obj")
    if not _traced(arr, values):
        return np.insert(arr, obj, values, axis)
    from .elementwise import astype

    arr = as_array(arr)
    values = astype(as_array(values), arr.dtype)
    return _assemble([arr, values], lambda a, v: np.insert(a, obj, v, axis))


def delete(arr, obj, axis=None):
    """Differentiable ``numpy.delete``: ``arr`` without the entries ``obj`` (an int, a slice, an
    integer or boolean sequence: plain values) along ``axis`` (the flattened array when None).

    >>> delete(np.arange(5.0), [0, 3])
    array([1., 2., 4.])
    """
    _static(obj, "delete: obj")
    if not _traced(arr):
        return np.delete(arr, obj, axis)
    arr = as_array(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    shape = _shape(arr)
    axis = normalize_axis(axis, len(shape))
    kept = np.delete(np.arange(shape[axis]), obj)
    return _getitem(arr, (slice(None),) * axis + (kept,))


def _leaves(nested, path: str = "arrays") -> list:
    """The blocks of a ``block`` argument in order; tuples refused, as NumPy refuses them."""
    if isinstance(nested, tuple):
        raise TypeError(f"{path} is a tuple. Only lists can be used to arrange blocks, and "
                        "np.block does not allow implicit conversion from tuple to ndarray.")
    if isinstance(nested, list):
        return [leaf for i, item in enumerate(nested) for leaf in _leaves(item, f"{path}[{i}]")]
    return [nested]


def block(arrays):
    """Differentiable ``numpy.block``: an array assembled from nested lists of blocks (the
    innermost lists join along the last axis).

    >>> block([[np.eye(2), np.zeros((2, 1))], [np.ones((1, 3))]])
    array([[1., 0., 0.],
           [0., 1., 0.],
           [1., 1., 1.]])
    """
    if not _traced(arrays):
        return np.block(arrays)
    if isinstance(arrays, Tracer):
        return arrays
    leaves = [as_array(a) if isinstance(a, Tracer) else np.asarray(a) for a in _leaves(arrays)]

    def layout(*labels):
        it = iter(labels)

        def rebuild(nested):
            return [rebuild(item) for item in nested] if isinstance(nested, list) else next(it)

        return np.block(rebuild(arrays))

    return _assemble(leaves, layout)


def broadcast_shapes(*args) -> tuple:
    """``numpy.broadcast_shapes``: the shape the given shapes broadcast to.

    >>> broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    return np.broadcast_shapes(*args)


def broadcast_arrays(*args, subok: bool = False) -> tuple:
    """Differentiable ``numpy.broadcast_arrays``: each argument broadcast to their common shape.

    >>> [a.shape for a in broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
    if subok:
        raise NotImplementedError("broadcast_arrays: subok=True (array subclasses) is not "
                                  "supported")
    arrays = [as_array(a) for a in args]
    shape = np.broadcast_shapes(*(_shape(a) for a in arrays))
    return tuple(broadcast_to(a, shape) for a in arrays)


def copy(a, order: str = "K", subok: bool = False):
    """``numpy.copy``; a traced value is returned as it is (traced values are immutable).

    >>> copy([1.0, 2.0])
    array([1., 2.])
    """
    if isinstance(a, Tracer):
        return a
    if _has_tracer(a):
        return _asarray(a)
    return np.copy(a, order=order, subok=subok)


def resize(a, new_shape):
    """Differentiable ``numpy.resize``: ``a`` ravelled and repeated cyclically to fill
    ``new_shape``.

    >>> resize(np.array([1.0, 2.0, 3.0]), (2, 2))
    array([[1., 2.],
           [3., 1.]])
    """
    _static(new_shape, "resize: new_shape")
    if not _traced(a):
        return np.resize(a, new_shape)
    a = as_array(a)
    shape = (new_shape,) if np.ndim(new_shape) == 0 else tuple(new_shape)
    shape = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    size = math.prod(_shape(a))
    if size == 0:
        return np.zeros(shape, dtype=a.dtype)
    return _getitem(ravel(a), np.arange(math.prod(shape)).reshape(shape) % size)


def rollaxis(a, axis: int, start: int = 0):
    """Differentiable ``numpy.rollaxis``: ``axis`` moved to lie before position ``start``.

    >>> rollaxis(np.ones((3, 4, 5)), 2).shape
    (5, 3, 4)
    """
    a = as_array(a)
    n = _ndim(a)
    axis = normalize_axis(axis, n)
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        from ..core.axes import AxisError

        raise AxisError(f"'start' arg requires {-n} <= start < {n + 1}, but {start} was "
                        "passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [d for d in range(n) if d != axis]
    axes.insert(start, axis)
    return transpose(a, axes)


def _trim_bounds_impl(x):
    """``(start, stop)`` per axis of the bounding box of ``x``'s non-zeros (all 0 if none)."""
    nz = np.nonzero(x)
    if not nz or nz[0].size == 0:
        return np.zeros((2, np.ndim(x)), dtype=np.intp)
    return np.array([[i.min() for i in nz], [i.max() + 1 for i in nz]], dtype=np.intp)


_trim_bounds = Primitive("trim_bounds", _trim_bounds_impl, differentiable=False)


def trim_zeros(filt, trim: str = "fb", axis=None):
    """Differentiable ``numpy.trim_zeros``: the zeros at the front (``'f'``) and back (``'b'``)
    of ``filt`` cut away along ``axis`` (None: every axis, the bounding box of the non-zeros).

    >>> trim_zeros(np.array([0.0, 1.0, 0.0, 2.0, 0.0]))
    array([1., 0., 2.])
    """
    if not _traced(filt):
        return np.trim_zeros(filt, trim, axis)
    filt = as_array(filt)
    nd = _ndim(filt)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    axes = range(nd) if axis is None else normalize_axes(axis, nd)
    if not axes:
        return filt
    bounds = _trim_bounds.bind(filt)
    if isinstance(bounds, Tracer):
        raise TypeError("trim_zeros: the trimmed length depends on the values, so it cannot be "
                        "batched with vmap; loop over the batch instead")
    start, stop = bounds.tolist()
    empty = not any(stop)
    sl = tuple(slice(start[d] if empty or "f" in trim else None,
                     stop[d] if empty or "b" in trim else None) if d in axes else slice(None)
               for d in range(nd))
    return _getitem(filt, sl)


def unstack(x, /, *, axis: int = 0) -> tuple:
    """Differentiable ``numpy.unstack``: the slices of ``x`` along ``axis``, as a tuple.

    >>> unstack(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    (array([1., 3.]), array([2., 4.]))
    """
    x = as_array(x)
    shape = _shape(x)
    if not shape:
        raise ValueError("Input array must be at least 1-d.")
    axis = normalize_axis(axis, len(shape))
    n = shape[axis]
    if not n:
        return ()
    rest = shape[:axis] + shape[axis + 1:]
    pieces = _split.bind(x, bounds=tuple((i, i + 1) for i in range(n)), axis=axis)
    return tuple(reshape(p, rest) for p in pieces)


def apply_along_axis(func1d, axis: int, arr, *args, **kwargs):
    """Differentiable ``numpy.apply_along_axis``: on traced values ``func1d`` (written with
    diffopt.numpy) is called on each 1-D slice, as NumPy does, and the results stacked (for
    speed, ``diffopt.vmap(func1d)`` over the slices does the same in one call).

    >>> apply_along_axis(lambda v: v[::-1], 1, np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[2., 1.],
           [4., 3.]])
    """
    if not _traced(arr, args, list(kwargs.values())):
        return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
    arr = as_array(arr)
    shape = _shape(arr)
    nd = len(shape)
    axis = normalize_axis(axis, nd)
    lead = shape[:axis] + shape[axis + 1:]
    if 0 in lead:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    rows = reshape(moveaxis(arr, axis, -1), (-1, shape[axis]))
    res = stack([as_array(func1d(row, *args, **kwargs)) for row in rows])
    rshape = _shape(res)[1:]
    res = reshape(res, lead + rshape)
    k = len(rshape)
    return transpose(res, [*range(axis), *range(nd - 1, nd - 1 + k), *range(axis, nd - 1)])


def apply_over_axes(func, a, axes):
    """``numpy.apply_over_axes``: ``func(a, axis)`` applied for each axis in turn, each result
    keeping ``a``'s number of dimensions (differentiable when ``func`` is).

    >>> import diffopt.numpy as dnp
    >>> apply_over_axes(dnp.sum, np.ones((2, 3, 4)), [0, 2])
    array([[[8.],
            [8.],
            [8.]]])
    """
    val = as_array(a)
    n = _ndim(val)
    for axis in (axes,) if np.ndim(axes) == 0 else axes:
        if axis < 0:
            axis = n + axis
        res = as_array(func(val, axis))
        if _ndim(res) != _ndim(val):
            res = expand_dims(res, axis)
            if _ndim(res) != _ndim(val):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


def ediff1d(ary, to_end=None, to_begin=None):
    """Differentiable ``numpy.ediff1d``: the differences of the ravelled ``ary``, with
    ``to_begin`` and ``to_end`` (which may be traced) joined at the ends.

    >>> ediff1d(np.array([1.0, 2.0, 4.0]), to_begin=0.0)
    array([0., 1., 2.])
    """
    if not _traced(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end, to_begin)
    from .elementwise import astype, subtract

    ary = ravel(as_array(ary))
    dtype = ary.dtype
    parts = [astype(subtract(_getitem(ary, slice(1, None)), _getitem(ary, slice(None, -1))),
                    dtype)]
    for name, extra, at in (("to_begin", to_begin, 0), ("to_end", to_end, 1)):
        if extra is not None:
            extra = as_array(extra)
            if not np.can_cast(extra.dtype, dtype, casting="same_kind"):
                raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under "
                                "the `same_kind` rule.")
            parts.insert(len(parts) * at, astype(ravel(extra), dtype))
    return concatenate(parts)


def fromfunction(function, shape, *, dtype=float, like=None, **kwargs):
    """``numpy.fromfunction``: ``function`` called on the index grids of ``shape``; the result
    is traced (and differentiable) when ``function`` closes over traced values.

    >>> fromfunction(lambda i, j: i + 10 * j, (2, 2))
    array([[ 0., 10.],
           [ 1., 11.]])
    """
    if like is not None:
        raise NotImplementedError("fromfunction: like= (array-API dispatch) is not supported")
    return function(*np.indices(shape, dtype=dtype), **kwargs)


__all__ = ["reshape", "ravel", "expand_dims", "squeeze", "transpose", "swapaxes", "moveaxis",
    "broadcast_to", "concatenate", "stack", "atleast_1d", "atleast_2d", "atleast_3d", "hstack",
    "vstack", "dstack", "column_stack", "split", "array_split", "hsplit", "vsplit", "dsplit",
    "tile", "repeat", "flip", "fliplr", "flipud", "rot90", "roll", "pad", "append", "insert",
    "delete", "block", "broadcast_shapes", "broadcast_arrays", "copy", "resize", "rollaxis",
    "trim_zeros", "unstack", "apply_along_axis", "apply_over_axes", "ediff1d", "fromfunction",
    "matrix_transpose"]
