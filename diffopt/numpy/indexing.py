"""Indexing ``x[idx]`` and JAX-style functional updates ``x.at[idx].set(v)`` / ``.add`` / ``.multiply``.

``getitem`` and ``scatter_add`` are each other's transposes, so each one's VJP is the other.
"""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.batching import batch_by_loop, move_to_front
from ..core.primitive import Primitive
from ..core.trace import Tracer
from .shape import reshape


def normalize_index(idx) -> tuple:
    """A static index tuple: tracers refused, lists made arrays, booleans kept."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, Tracer):
            raise TypeError(
                "indexing with a traced value is not supported: indices carry no derivative, so "
                "compute them from plain (untraced) arrays, for example with argmax or a mask."
            )
        if isinstance(i, list):
            i = np.asarray(i)
        out.append(i)
    return tuple(out)


def _is_basic(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in idx)


def _batched_index(idx: tuple):
    """``idx`` for an array with a new leading axis, or None where NumPy would move axes."""
    advanced = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    if advanced and advanced[-1] - advanced[0] + 1 != len(advanced):
        return None  # separated advanced indices put their axes first: not a simple prefix
    if advanced and any(i is None for i in idx):
        return None
    return (slice(None),) + idx


def _getitem_batch(trace, prim, vals, batched, params):
    bidx = _batched_index(params["idx"])
    if bidx is None:
        return batch_by_loop(trace, prim, vals, batched, params)
    return _getitem.bind(vals[0], idx=bidx)


def _getitem_impl(x, idx):
    return x[idx]


_getitem = Primitive("getitem", _getitem_impl)
_getitem.defjvp(lambda t, ans, x, idx: _getitem.bind(t, idx=idx))
_getitem.defvjp(lambda g, ans, x, idx: scatter_add(_zeros(x), g, idx))
_getitem.batch = _getitem_batch


def getitem(x, idx):
    """``x[idx]`` on any value (basic, slices, None, Ellipsis, boolean and integer arrays).

    >>> getitem(arange(5.0), slice(1, 3))  # [1., 2.]
    """
    return _getitem.bind(x, idx=normalize_index(idx))


def _zeros(x):
    from .elementwise import zeros_like_value

    return zeros_like_value(x)


# --- scatter: the transposes of getitem -----------------------------------------------------------
def _scatter_add_impl(x, v, idx):
    out = x.copy()
    if _is_basic(idx):
        out[idx] += v
    else:
        np.add.at(out, idx, v)
    return out


def _index_set_impl(x, v, idx):
    out = x.copy()
    out[idx] = v
    return out


def _scatter_batch(trace, prim, vals, batched, params):
    bidx = _batched_index(params["idx"])
    if bidx is None:
        return batch_by_loop(trace, prim, vals, batched, params)
    x, v = (move_to_front(a, b, trace.size) for a, b in zip(vals, batched))
    # v broadcasts into x[idx]: put its batch axis in front of the region's axes
    region = np.broadcast_to(0, vspace.shape_of(x))[bidx].shape
    vs = vspace.shape_of(v)[1:]
    v = reshape(v, (trace.size,) + (1,) * (len(region) - 1 - len(vs)) + vs)
    return prim.bind(x, v, idx=bidx)


_scatter_add = Primitive("scatter_add", _scatter_add_impl)
_scatter_add.defjvp(
    lambda t, ans, x, v, idx: t,
    lambda t, ans, x, v, idx: scatter_add(_zeros(x), t, idx),
)
_scatter_add.defvjp(
    lambda g, ans, x, v, idx: g,
    lambda g, ans, x, v, idx: _getitem.bind(g, idx=idx),
)
_scatter_add.batch = _scatter_batch

_index_set = Primitive("index_set", _index_set_impl)
_index_set.defjvp(
    lambda t, ans, x, v, idx: _index_set.bind(t, 0.0, idx=idx),
    lambda t, ans, x, v, idx: _index_set.bind(_zeros(x), t, idx=idx),
)
_index_set.defvjp(
    lambda g, ans, x, v, idx: _index_set.bind(g, 0.0, idx=idx),
    lambda g, ans, x, v, idx: _getitem.bind(g, idx=idx),
)
_index_set.batch = _scatter_batch


def scatter_add(x, v, idx):
    """``x`` with ``v`` added at ``idx`` (repeated indices accumulate, like ``numpy.add.at``)."""
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
        """A copy of ``x`` with ``x[idx] = v``."""
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

    >>> at(zeros(3))[1].set(5.0)  # [0., 5., 0.]
    """
    return _IndexUpdater(x)


__all__ = ["getitem", "at"]
