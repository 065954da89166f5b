"""Batching (``vmap``): run a function on a leading batch axis without a Python loop.

A batch tracer holds a value whose axis 0 is the batch; its ``shape`` is the shape of one element.
Primitives give a ``batch`` rule; the generic ones here cover elementwise operations and reductions,
and anything without a rule falls back to a loop over the batch (correct, just slower).
``jacfwd`` and ``jacrev`` are ``vmap`` over ``jvp`` and over a ``vjp`` function.
"""

from __future__ import annotations

from . import vspace
from .axes import normalize_axes, normalize_axis
from .trace import Trace, Tracer


class BatchTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, trace, val):
        self._trace = trace
        self.val = val

    @property
    def shape(self):
        return vspace.shape_of(self.val)[1:]

    @property
    def dtype(self):
        return self.val.dtype

    def primal_value(self):
        return self.val


class BatchTrace(Trace):
    __slots__ = ("size",)

    def __init__(self, level, size):
        super().__init__(level)
        self.size = size

    def process(self, prim, args, params):
        self.check_alive()
        vals = list(args)
        batched = [False] * len(args)
        for i, a in enumerate(args):
            if type(a) is BatchTracer and a._trace is self:
                vals[i] = a.val
                batched[i] = True
        rule = prim.batch or batch_by_loop
        out = rule(self, prim, vals, batched, params)
        if prim.multiple_results:
            return tuple(BatchTracer(self, o) for o in out)
        return BatchTracer(self, out)


def batch_by_loop(trace, prim, vals, batched, params):
    """Fallback: apply the primitive to each batch element and stack the results."""
    outs = []
    for b in range(trace.size):
        args = [v[b] if isb else v for v, isb in zip(vals, batched)]
        outs.append(prim.bind(*args, **params))
    if prim.multiple_results:
        return tuple(vspace.stack(list(parts)) for parts in zip(*outs))
    return vspace.stack(outs)


def batch_elementwise(trace, prim, vals, batched, params):
    """Elementwise primitives: align each batched argument's rank so broadcasting works."""
    rank = max(len(vspace.shape_of(v)) - isb for v, isb in zip(vals, batched))
    args = []
    for v, isb in zip(vals, batched):
        if isb:
            s = vspace.shape_of(v)
            missing = rank - (len(s) - 1)
            if missing:
                v = vspace.reshape(v, (s[0],) + (1,) * missing + s[1:])
        args.append(v)
    return prim.bind(*args, **params)


def move_to_front(v, isb, size):
    """A batched value as is; an unbatched one broadcast along a new leading batch axis."""
    if isb:
        return v
    return vspace.broadcast_to(v, (size,) + vspace.shape_of(v))


def shift_axis(axis, ndim: int):
    """Map a logical axis (or tuple, or None = all) of an ``ndim`` value to the batched layout."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, tuple):
        return tuple(a + 1 for a in normalize_axes(axis, ndim, duplicates=None))
    return normalize_axis(axis, ndim) + 1


def batch_axis_param(name: str = "axis", *, none_means_all: bool = True):
    """Batch rule for unary primitives with an axis parameter (reductions, scans, flips)."""

    def rule(trace, prim, vals, batched, params):
        (x,) = vals
        nd = len(vspace.shape_of(x)) - 1
        p = dict(params)
        ax = p.get(name)
        if ax is None and not none_means_all:
            return batch_by_loop(trace, prim, vals, batched, params)
        p[name] = shift_axis(ax, nd) if nd else (None if ax is None else ax)
        if nd == 0:
            return batch_by_loop(trace, prim, vals, batched, params)
        return prim.bind(x, **p)

    return rule
