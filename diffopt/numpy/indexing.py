"""Indexing ``x[idx]``, JAX-style functional updates ``x.at[idx].set(v)`` / ``.add`` /
``.multiply``, and the gathers built on them: take, take_along_axis, diagonal, diag, triu, tril,
sort.

``getitem`` and ``scatter_add`` are each other's transposes, so each one's VJP is the other; the
same holds for the along-axis pair ``take_along_axis`` / ``_scatter_along``, whose indices are an
argument (so they may be traced values under ``vmap``, as the permutation inside ``sort`` is).
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axis
from ..core.batching import batch_axis_param, move_to_front
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .elementwise import where
from .shape import _has_tracer, moveaxis, ravel, reshape


def _is_array(i) -> bool:
    """An index array (NumPy, CuPy...), as opposed to a Python or NumPy scalar."""
    return hasattr(i, "shape") and hasattr(i, "dtype") and not isinstance(i, np.generic)


_TRACED_INDEX = (
    "indexing with a traced value is not supported: indices carry no derivative, so compute them "
    "from plain (untraced) arrays, or use take / take_along_axis, which accept traced integer "
    "indices (for example from argmax or argsort under vmap)."
)


def normalize_index(idx) -> tuple:
    """A static index tuple: tracers refused, lists and booleans made arrays, types checked."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if _has_tracer(i):
            raise TypeError(_TRACED_INDEX)
        if isinstance(i, (bool, np.bool_, list, tuple)):
            i = np.asarray(i)
            if i.size == 0 and i.dtype.kind == "f":  # x[[]]: an empty integer index
                i = i.astype(np.intp)
        if _is_array(i):
            if i.dtype.kind not in "biu":
                raise IndexError(f"arrays used as indices must be of integer or boolean type, "
                                 f"not {i.dtype}")
        elif not (i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))):
            raise IndexError(f"only integers, slices, None, Ellipsis and integer or boolean arrays "
                             f"are valid indices, not {type(i).__name__}")
        out.append(i)
    return tuple(out)


def _is_basic(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in idx)


def _has_int_array(idx: tuple) -> bool:
    """Whether ``idx`` can name one position twice (only integer arrays can)."""
    return any(_is_array(i) and i.dtype.kind in "iu" for i in idx)


def _index_layout(shape: tuple, idx: tuple) -> tuple[tuple, int]:
    """The shape of ``x[idx]`` for ``x`` of ``shape``, and ``lead``: the number of leading dims that
    NumPy's advanced indices take when they are not next to each other (0 otherwise).

    Integer scalars count as advanced indices once any array index is present, and ``None``
    between advanced indices separates them, exactly as in NumPy.
    """
    any_array = any(_is_array(i) for i in idx)
    consumed = 0
    for i in idx:
        if _is_array(i) and i.dtype == np.bool_:
            consumed += i.ndim
        elif i is not None and i is not Ellipsis:
            consumed += 1
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but "
                         f"{consumed} were indexed")
    out: list = []
    adv_shapes, adv_positions, adv_at, d = [], [], None, 0
    for k, i in enumerate(idx):
        if i is None:
            out.append(1)
        elif i is Ellipsis:
            n = len(shape) - consumed
            out.extend(shape[d:d + n])
            d += n
        elif isinstance(i, slice):
            out.append(len(range(*i.indices(shape[d]))))
            d += 1
        elif any_array:  # an advanced index: an array, or an integer beside arrays
            adv_at = len(out) if adv_at is None else adv_at
            adv_positions.append(k)
            if _is_array(i) and i.dtype == np.bool_:
                adv_shapes.append((int(np.count_nonzero(i)),))
                d += i.ndim
            else:
                adv_shapes.append(tuple(i.shape) if _is_array(i) else ())
                d += 1
        else:  # a basic integer
            d += 1
    out.extend(shape[d:])
    if not adv_positions:
        return tuple(out), 0
    adv = np.broadcast_shapes(*adv_shapes)
    separated = adv_positions[-1] - adv_positions[0] + 1 != len(adv_positions)
    at = 0 if separated else adv_at
    out[at:at] = adv
    return tuple(out), (len(adv) if separated else 0)


# --- getitem --------------------------------------------------------------------------------------
def _getitem_batch(trace, prim, vals, batched, params):
    idx = params["idx"]
    _, lead = _index_layout(vspace.shape_of(vals[0])[1:], idx)
    out = _getitem.bind(vals[0], idx=(slice(None),) + idx)
    # separated advanced indices put their dims before the batch axis: move it back to the front
    return moveaxis(out, lead, 0) if lead else out


def _getitem_impl(x, idx):
    return x[idx]


_getitem = Primitive("getitem", _getitem_impl)
_getitem.defjvp(lambda t, ans, x, idx: _getitem.bind(t, idx=idx))
_getitem.defvjp(lambda g, ans, x, idx: _scatter_add.bind(_zeros(x), g, idx=idx))
_getitem.defbatch(_getitem_batch)


def getitem(x, idx):
    """``x[idx]`` on any value (basic, slices, None, Ellipsis, boolean and integer arrays).

    Repeated integer indices are allowed: their cotangents accumulate.

    >>> getitem(np.arange(5.0), slice(1, 3))
    array([1., 2.])
    """
    return _getitem.bind(x, idx=normalize_index(idx))


def _zeros(x):
    from .elementwise import zeros_like_value

    return zeros_like_value(x)


# --- scatter: the transposes of getitem -----------------------------------------------------------
def _scatter_add_impl(x, v, idx):
    out = x.copy()
    if _has_int_array(idx):
        np.add.at(out, idx, v)  # accumulates repeated positions
    else:
        out[idx] += v  # basic indices and boolean masks never repeat a position
    return out


def _index_set_impl(x, v, idx):
    out = x.copy()
    out[idx] = v
    return out


def _scatter_batch(trace, prim, vals, batched, params):
    idx = params["idx"]
    size = trace.size
    x, v = (move_to_front(a, b, size) for a, b in zip(vals, batched, strict=True))
    region, lead = _index_layout(vspace.shape_of(x)[1:], idx)
    vs = vspace.shape_of(v)[1:]
    extra = len(vs) - len(region)
    if extra > 0:  # NumPy accepts leading unit dims beyond the region's rank
        if any(d != 1 for d in vs[:extra]):
            raise ValueError(f"cannot broadcast a value of shape {vs} into an index region of "
                             f"shape {region}")
        vs = vs[extra:]
    # v broadcasts into x[idx]: align it with the region, batch axis where NumPy puts it
    v = reshape(v, (size,) + (1,) * (len(region) - len(vs)) + vs)
    if lead:
        v = moveaxis(v, 0, lead)
    return prim.bind(x, v, idx=(slice(None),) + idx)


def _set_winners(shape: tuple, idx: tuple):
    """For ``x[idx] = v`` with repeated positions, a boolean mask over the region of the entries
    of ``v`` that end up in ``x`` (the last write to each position); None when nothing repeats."""
    if not _has_int_array(idx):
        return None
    nd = len(shape)
    strides = [int(np.prod(shape[d + 1:], dtype=np.int64)) for d in range(nd)]
    lin = 0
    for d, (n, s) in enumerate(zip(shape, strides, strict=True)):
        coord = np.broadcast_to(np.arange(n).reshape((n,) + (1,) * (nd - d - 1)) * s, shape)
        lin = lin + coord[idx]
    flat = np.ravel(lin)
    last = flat.size - 1 - np.unique(flat[::-1], return_index=True)[1]
    if last.size == flat.size:
        return None
    mask = np.zeros(flat.size, dtype=bool)
    mask[last] = True
    return mask.reshape(np.shape(lin))


def _index_set_vjp_v(g, ans, x, v, idx):
    r = _getitem.bind(g, idx=idx)
    mask = _set_winners(vspace.shape_of(x), idx)
    return r if mask is None else where(mask, r, 0.0)


_scatter_add = Primitive("scatter_add", _scatter_add_impl)
_scatter_add.defjvp(
    lambda t, ans, x, v, idx: t,
    lambda t, ans, x, v, idx: _scatter_add.bind(_zeros(x), t, idx=idx),
)
_scatter_add.defvjp(
    lambda g, ans, x, v, idx: g,
    lambda g, ans, x, v, idx: _getitem.bind(g, idx=idx),
)
_scatter_add.defbatch(_scatter_batch)

_index_set = Primitive("index_set", _index_set_impl)
_index_set.defjvp(
    lambda t, ans, x, v, idx: _index_set.bind(t, 0.0, idx=idx),
    lambda t, ans, x, v, idx: _index_set.bind(_zeros(x), t, idx=idx),
)
_index_set.defvjp(
    lambda g, ans, x, v, idx: _index_set.bind(g, 0.0, idx=idx),
    _index_set_vjp_v,
)
_index_set.defbatch(_scatter_batch)


def scatter_add(x, v, idx):
    """``x`` with ``v`` added at ``idx`` (repeated indices accumulate, like ``numpy.add.at``).

    >>> scatter_add(np.zeros(3), 1.0, [0, 0])
    array([2., 0., 0.])
    """
    return _scatter_add.bind(x, v, idx=normalize_index(idx))


class _IndexRef:
    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x = x
        self.idx = normalize_index(idx)

    def get(self):
        """``x[idx]``."""
        return _getitem.bind(self.x, idx=self.idx)

    def set(self, v):
        """A copy of ``x`` with ``x[idx] = v`` (with repeated indices the last write wins, as in
        NumPy, and only it receives a derivative)."""
        return _index_set.bind(self.x, v, idx=self.idx)

    def add(self, v):
        """A copy of ``x`` with ``v`` added at ``idx`` (repeated indices accumulate)."""
        return _scatter_add.bind(self.x, v, idx=self.idx)

    def multiply(self, v):
        """A copy of ``x`` with ``x[idx]`` multiplied by ``v``.

        Differentiable through ``x[idx] * v``; with repeated indices the product is taken once
        per distinct position (as ``set``), not accumulated.
        """
        return self.set(_getitem.bind(self.x, idx=self.idx) * v)


class _IndexUpdater:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx) -> _IndexRef:
        return _IndexRef(self.x, idx)


def at(x) -> _IndexUpdater:
    """Functional updates for traced and plain arrays alike: ``at(x)[idx].set(v)``.

    Traced values also have ``x.at[idx]``, as in JAX.

    >>> at(np.zeros(3))[1].set(5.0)
    array([0., 5., 0.])
    """
    return _IndexUpdater(x)


# --- gather and scatter along an axis (indices are an argument) -----------------------------------
def _along_axis_index(shape: tuple, indices, axis: int) -> tuple:
    """The fancy index that ``take_along_axis`` uses: ``indices`` on ``axis``, aranges elsewhere."""
    xp = array_module(indices)
    nd = len(shape)
    return tuple(
        indices if d == axis else xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
        for d, n in enumerate(shape)
    )


def _scatter_along_impl(g, indices, axis, size, unique):
    gs, js = list(np.shape(g)), list(np.shape(indices))
    gs[axis] = js[axis] = 1
    shape = list(np.broadcast_shapes(tuple(gs), tuple(js)))
    shape[axis] = size
    out = array_module(g).zeros(shape, dtype=g.dtype)
    index = _along_axis_index(tuple(shape), indices, axis)
    if unique:  # a permutation (sort): no position repeats, a plain write will do
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _no_derivative(*args, **params):
    return None  # integer indices have a zero derivative


def _along_batch(trace, prim, vals, batched, params):
    # Both primitives broadcast their arguments against each other outside ``axis``: an
    # unbatched argument just gets a leading unit axis.
    vals = [v if b else reshape(v, (1,) + vspace.shape_of(v))
            for v, b in zip(vals, batched, strict=True)]
    return prim.bind(*vals, **dict(params, axis=params["axis"] + 1))


_gather = Primitive(
    "take_along_axis", lambda x, indices, axis, unique: np.take_along_axis(x, indices, axis)
)
_scatter_along = Primitive("scatter_along_axis", _scatter_along_impl)
_gather.defjvp(
    lambda t, ans, x, indices, axis, unique: _gather.bind(t, indices, axis=axis, unique=unique),
    _no_derivative,
)
_gather.defvjp(
    lambda g, ans, x, indices, axis, unique: _scatter_along.bind(
        g, indices, axis=axis, size=vspace.shape_of(x)[axis], unique=unique),
    _no_derivative,
)
_gather.defbatch(_along_batch)
_scatter_along.defjvp(
    lambda t, ans, g, indices, axis, size, unique: _scatter_along.bind(
        t, indices, axis=axis, size=size, unique=unique),
    _no_derivative,
)
_scatter_along.defvjp(
    lambda c, ans, g, indices, axis, size, unique: _gather.bind(
        c, indices, axis=axis, unique=unique),
    _no_derivative,
)
_scatter_along.defbatch(_along_batch)


def _static_indices(indices):
    """Plain integer index arrays as arrays; traced ones unchanged."""
    if isinstance(indices, Tracer):
        return indices
    if _has_tracer(indices):
        from .creation import asarray

        return asarray(indices)
    if not _is_array(indices):
        indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise IndexError(f"indices must be integers, not {indices.dtype}")
    return indices


def take_along_axis(arr, indices, axis):
    """Differentiable ``numpy.take_along_axis``; ``indices`` may be traced (e.g. from argsort).

    >>> x = np.array([[3.0, 1.0, 2.0]])
    >>> take_along_axis(x, np.argsort(x, axis=1), axis=1)  # x sorted along axis 1
    array([[1., 2., 3.]])
    """
    arr, indices = as_array(arr), _static_indices(indices)
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension")
        arr, axis = ravel(arr), 0
    nd = len(vspace.shape_of(arr))
    if len(vspace.shape_of(indices)) != nd:
        raise ValueError(f"`indices` and `arr` must have the same number of dimensions "
                         f"(got {len(vspace.shape_of(indices))} and {nd})")
    return _gather.bind(arr, indices, axis=normalize_axis(axis, nd), unique=False)


def take(a, indices, axis=None, out=None, mode=None):
    """Differentiable ``numpy.take`` (modes 'raise', 'wrap', 'clip'); ``indices`` may be traced.

    >>> take(np.array([4.0, 3.0, 5.0]), [0, 2])
    array([4., 5.])
    """
    if out is not None:
        raise TypeError("take: out= is not supported (diffopt arrays are immutable); use the "
                        "returned value")
    if mode not in (None, "raise", "wrap", "clip"):
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    a, indices = as_array(a), _static_indices(indices)
    if axis is None:
        a, axis = ravel(a), 0
    elif not vspace.shape_of(a):
        a = ravel(a)  # NumPy reads a 0-d array as a vector of one element
    shape = vspace.shape_of(a)
    axis = normalize_axis(axis, len(shape))
    n = shape[axis]
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        from .elementwise import clip

        indices = clip(indices, 0, n - 1) if isinstance(indices, Tracer) else np.clip(
            indices, 0, n - 1)
    if not isinstance(indices, Tracer):
        index = int(indices) if indices.ndim == 0 else indices
        return _getitem.bind(a, idx=(slice(None),) * axis + (index,))
    # traced indices: a gather along ``axis`` with the index dims broadcast in place
    ishape = vspace.shape_of(indices)
    k = len(ishape)
    ind = reshape(indices, (1,) * axis + (ishape or (1,)) + (1,) * (len(shape) - axis - 1))
    x = reshape(a, shape[:axis] + (1,) * (max(k, 1) - 1) + shape[axis:])
    res = _gather.bind(x, ind, axis=axis + max(k, 1) - 1, unique=False)
    return res if k else reshape(res, shape[:axis] + shape[axis + 1:])


# --- diagonals and triangles ----------------------------------------------------------------------
def _diagonal_slice(rows: int, cols: int, offset: int) -> slice:
    """The strided slice of a flattened (rows, cols) matrix that holds diagonal ``offset``."""
    start = offset if offset >= 0 else -offset * cols
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    return slice(start, start + (length - 1) * (cols + 1) + 1 if length else start, cols + 1)


def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """Differentiable ``numpy.diagonal``: the diagonal is the last axis of the result.

    >>> diagonal(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    """
    a = as_array(a)
    nd = len(vspace.shape_of(a))
    if nd < 2:
        raise ValueError(f"diagonal requires an array of at least two dimensions, got {nd}")
    ax1, ax2 = normalize_axis(axis1, nd, "axis1"), normalize_axis(axis2, nd, "axis2")
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    x = moveaxis(a, (ax1, ax2), (-2, -1))
    *pre, rows, cols = vspace.shape_of(x)
    flat = reshape(x, (*pre, rows * cols))
    return _getitem.bind(flat, idx=(Ellipsis, _diagonal_slice(rows, cols, operator.index(offset))))


def diag(v, k: int = 0):
    """Differentiable ``numpy.diag``: a 1-D array becomes a diagonal matrix, a 2-D array gives its
    ``k``-th diagonal.

    >>> diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    """
    v = as_array(v)
    shape = vspace.shape_of(v)
    k = operator.index(k)
    if len(shape) == 2:
        return diagonal(v, k)
    if len(shape) != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got {len(shape)}-D")
    n = shape[0] + abs(k)
    zeros = array_module(concrete(v)).zeros(n * n, dtype=v.dtype)
    flat = _scatter_add.bind(zeros, v, idx=(_diagonal_slice(n, n, k),))
    return reshape(flat, (n, n))


def _triangle(m, k: int, upper: bool):
    m = as_array(m)
    shape = vspace.shape_of(m)
    if not shape:
        raise ValueError("triu/tril need an array of at least one dimension")
    rows, cols = shape[-2:] if len(shape) >= 2 else (shape[-1], shape[-1])
    xp = array_module(concrete(m))
    k = operator.index(k)
    # tri(k) is True on and below diagonal k: tril keeps that, triu keeps the rest of tri(k - 1)
    keep = ~xp.tri(rows, cols, k - 1, dtype=bool) if upper else xp.tri(rows, cols, k, dtype=bool)
    return where(keep, m, _zeros(m))


def triu(m, k: int = 0):
    """Differentiable ``numpy.triu``: zeros below diagonal ``k`` of the last two axes.

    >>> triu(np.ones((3, 3)))
    array([[1., 1., 1.],
           [0., 1., 1.],
           [0., 0., 1.]])
    """
    return _triangle(m, k, upper=True)


def tril(m, k: int = 0):
    """Differentiable ``numpy.tril``: zeros above diagonal ``k`` of the last two axes.

    >>> tril(np.ones((3, 3)))
    array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]])
    """
    return _triangle(m, k, upper=False)


# --- sort: a permutation that carries the derivative ----------------------------------------------
def _sort_impl(x, axis):
    perm = np.argsort(x, axis=axis, kind="stable")
    return np.take_along_axis(x, perm, axis), perm


def _sort_jvp(tangents, ans, primals, params):
    return _gather.bind(tangents[0], ans[1], axis=params["axis"], unique=True), None


def _sort_vjp(g, ans, args, params, which):
    axis = params["axis"]
    size = vspace.shape_of(args[0])[axis]
    return [_scatter_along.bind(g[0], ans[1], axis=axis, size=size, unique=True)]


_sort = Primitive("sort", _sort_impl, multiple_results=True)
_sort.defjvp_all(_sort_jvp)
_sort.defvjp_all(_sort_vjp)
_sort.defbatch(batch_axis_param("axis"))


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Differentiable ``numpy.sort``: the derivative follows the sorting permutation (ties keep
    their order, as a stable sort does).

    >>> sort(np.array([3.0, 1.0, 2.0]))
    array([1., 2., 3.])
    """
    if order is not None:
        raise NotImplementedError("sort: order= (structured arrays) is not supported; sort by a "
                                  "key array with argsort and take_along_axis instead")
    a = as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axis(axis, len(vspace.shape_of(a)))
    if not isinstance(a, Tracer):
        extra = {} if stable is None else {"stable": stable}
        return np.sort(a, axis=axis, kind=kind, **extra)
    return _sort.bind(a, axis=axis)[0]


# --- selections: choose, compress, extract, diagflat; indices of non-zeros -----------------------
def choose(a, choices, out=None, mode: str = "raise"):
    """Differentiable ``numpy.choose`` (in ``choices``): ``choices[a[i]][i]`` for each ``i``, all
    broadcast together; ``a`` may be traced integers (for example from argmax under vmap).

    >>> choose([1, 0, 1], [np.zeros(3), np.ones(3)])
    array([1., 0., 1.])
    """
    from .reductions import _no_out

    _no_out(out, "choose")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if not _has_tracer((a, choices)):
        return np.choose(a, choices, mode=mode)
    from .shape import broadcast_to, stack

    a = _static_indices(a)
    options = [as_array(c) for c in choices]
    n = len(options)
    if mode == "raise":
        ca = concrete(a)
        if ca.size and (ca.min() < 0 or ca.max() >= n):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = a % n
    else:
        from .elementwise import clip

        a = clip(a, 0, n - 1) if isinstance(a, Tracer) else np.clip(a, 0, n - 1)
    shape = np.broadcast_shapes(vspace.shape_of(a), *(vspace.shape_of(c) for c in options))
    stacked = stack([broadcast_to(c, shape) for c in options])
    index = reshape(broadcast_to(a, shape), (1,) + shape)
    return reshape(_gather.bind(stacked, index, axis=0, unique=False), shape)


def _plain_condition(condition, name: str):
    if _has_tracer(condition):
        raise TypeError(f"{name}: the condition must be a plain array (under vmap it would give "
                        "each batch element a different length); use where() to keep shapes")
    return np.asarray(condition)


def compress(condition, a, axis=None, out=None):
    """Differentiable ``numpy.compress``: the slices of ``a`` along ``axis`` (the flattened
    array when None) where the plain 1-D ``condition`` is true.

    >>> compress([True, False, True], np.array([1.0, 2.0, 3.0]))
    array([1., 3.])
    """
    from .reductions import _no_out

    _no_out(out, "compress")
    condition = _plain_condition(condition, "compress")
    if not _has_tracer(a):
        return np.compress(condition, a, axis)
    if condition.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    return take(a, np.nonzero(condition)[0], axis=axis)


def extract(condition, arr):
    """Differentiable ``numpy.extract``: the elements of the ravelled ``arr`` where the ravelled
    plain ``condition`` is non-zero.

    >>> extract(np.array([[1, 0], [0, 1]]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([1., 4.])
    """
    condition = _plain_condition(condition, "extract")
    if not _has_tracer(arr):
        return np.extract(condition, arr)
    return take(ravel(arr), np.nonzero(np.ravel(condition))[0])


def diagflat(v, k: int = 0):
    """Differentiable ``numpy.diagflat``: the ravelled ``v`` on diagonal ``k`` of a square matrix.

    >>> diagflat(np.array([[1.0, 2.0]]))
    array([[1., 0.],
           [0., 2.]])
    """
    if not _has_tracer(v):
        return np.diagflat(v, k)
    return diag(ravel(as_array(v)), k)


def _nondiff_public(name: str, impl, doc: str):
    """A function of the values' non-zero pattern: NumPy's result, no derivative; under ``vmap``
    one call per batch element (stacked, so equal lengths are needed)."""
    prim = Primitive(name, impl, differentiable=False)

    def fn(a):
        return prim.bind(as_array(a))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


flatnonzero = _nondiff_public("flatnonzero", np.flatnonzero, """``numpy.flatnonzero`` on plain and
    traced values: the indices of the non-zeros of the ravelled array (no derivative).

    >>> flatnonzero(np.array([0.0, 2.0, 0.0, 1.0]))
    array([1, 3])
    """)
argwhere = _nondiff_public("argwhere", np.argwhere, """``numpy.argwhere`` on plain and traced
    values: the indices of the non-zeros, one row each (no derivative).

    >>> argwhere(np.array([[0.0, 2.0], [1.0, 0.0]]))
    array([[0, 1],
           [1, 0]])
    """)


# --- NumPy's in-place writers: plain arrays only ----------------------------------------------
def _in_place(name: str, instead: str, *args):
    """Refuse traced arguments of a function that writes into its first argument."""
    if _has_tracer(args):
        raise TypeError(f"{name} writes into its array in place, and traced arrays are "
                        f"immutable; use the functional form {instead}")


def fill_diagonal(a, val, wrap: bool = False) -> None:
    """``numpy.fill_diagonal`` on a plain array (in place, returns None); traced arrays are
    refused: write ``a = a.at[diag_indices(min(a.shape), a.ndim)].set(val)`` instead.

    >>> a = np.zeros((2, 2)); fill_diagonal(a, 5.0); a
    array([[5., 0.],
           [0., 5.]])
    """
    _in_place("fill_diagonal", "a = a.at[diffopt.numpy.diag_indices(min(a.shape), a.ndim)]"
              ".set(val)", a, val)
    np.fill_diagonal(a, val, wrap)


def place(arr, mask, vals) -> None:
    """``numpy.place`` on a plain array (in place, returns None); traced arrays are refused:
    write ``arr = arr.at[mask].set(resize(vals, count_nonzero(mask)))`` instead.

    >>> a = np.zeros(4); place(a, [True, False, True, False], [1.0, 2.0]); a
    array([1., 0., 2., 0.])
    """
    _in_place("place", "arr = arr.at[mask].set(diffopt.numpy.resize(vals, "
              "numpy.count_nonzero(mask)))", arr, mask, vals)
    np.place(arr, mask, vals)


def put(a, ind, v, mode: str = "raise") -> None:
    """``numpy.put`` on a plain array (in place, returns None); traced arrays are refused:
    write ``a = a.ravel().at[ind].set(v).reshape(a.shape)`` instead.

    >>> a = np.zeros(3); put(a, [0, 2], [1.0, 2.0]); a
    array([1., 0., 2.])
    """
    _in_place("put", "a = a.ravel().at[ind].set(v).reshape(a.shape)", a, ind, v)
    np.put(a, ind, v, mode)


def put_along_axis(arr, indices, values, axis) -> None:
    """``numpy.put_along_axis`` on a plain array (in place, returns None); traced arrays are
    refused: write ``arr = arr.at[idx].set(values)`` with ``idx`` the index tuple of
    ``take_along_axis`` (``indices`` on ``axis``, broadcast aranges on the other axes).

    >>> a = np.zeros((1, 3)); put_along_axis(a, np.array([[2]]), 7.0, axis=1); a
    array([[0., 0., 7.]])
    """
    _in_place("put_along_axis", "arr = arr.at[idx].set(values), idx the index tuple that "
              "take_along_axis uses (indices on axis, aranges elsewhere)", arr, indices, values)
    np.put_along_axis(arr, indices, values, axis)


__all__ = ["getitem", "at", "take", "take_along_axis", "diagonal", "diag", "triu",
    "tril", "sort", "choose", "compress", "extract", "diagflat", "flatnonzero", "argwhere",
    "fill_diagonal", "place", "put", "put_along_axis"]
