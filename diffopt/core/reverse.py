"""Reverse mode: record primitive calls on a linear tape, then walk it backwards once.

The tape is in evaluation order, which is already a topological order, so the backward pass needs
no sort: it visits nodes from the last to the first, applies each primitive's VJP rules to the
accumulated output cotangent and adds the results into the parents' slots. Rules see the stored
forward output (``ans``), so ``tanh`` can reuse ``1 - ans**2`` instead of recomputing.
"""

from __future__ import annotations

from . import vspace
from .forward import jvp_from_rules
from .primitive import Primitive
from .trace import Trace, Tracer


class Node:
    """One recorded primitive call (or an input leaf when ``prim`` is None)."""

    __slots__ = ("prim", "parents", "args", "params", "ans", "index", "shape", "complex")

    def __init__(self, prim, parents, args, params, ans, index):
        self.prim = prim
        self.parents = parents  # tuple of (argument position, parent node, parent output index)
        self.args = args
        self.params = params
        self.ans = ans
        self.index = index
        if prim is not None and prim.multiple_results:
            self.shape = tuple(vspace.shape_of(a) for a in ans)
            self.complex = tuple(vspace.is_complex(a) for a in ans)
        else:
            self.shape = vspace.shape_of(ans)
            self.complex = vspace.is_complex(ans)


class ReverseTracer(Tracer):
    __slots__ = ("value", "node", "out_index")

    def __init__(self, trace, value, node, out_index=None):
        self._trace = trace
        self.value = value
        self.node = node
        self.out_index = out_index

    @property
    def shape(self):
        return vspace.shape_of(self.value)

    @property
    def dtype(self):
        return self.value.dtype

    def primal_value(self):
        return self.value


class ReverseTrace(Trace):
    __slots__ = ("tape",)

    def __init__(self, level):
        super().__init__(level)
        self.tape = []

    def new_input(self, value) -> ReverseTracer:
        node = Node(None, (), (), None, value, len(self.tape))
        self.tape.append(node)
        return ReverseTracer(self, value, node)

    def process(self, prim, args, params):
        self.check_alive()
        vals = list(args)
        parents = []
        for i, a in enumerate(args):
            if type(a) is ReverseTracer and a._trace is self:
                vals[i] = a.value
                parents.append((i, a.node, a.out_index))
        out = prim.bind(*vals, **params)
        if not prim.differentiable:
            return out
        tape = self.tape
        node = Node(prim, parents, vals, params, out, len(tape))
        tape.append(node)
        if prim.multiple_results:
            return tuple(ReverseTracer(self, o, node, k) for k, o in enumerate(out))
        return ReverseTracer(self, out, node)


def backward(tape: list, seeds: list) -> list:
    """Propagate cotangents through ``tape``.

    ``seeds`` is a list of (tracer, cotangent). Returns the list of accumulated cotangents, indexed
    by node index (``None`` where nothing flowed); input leaves keep theirs.
    """
    cts = [None] * len(tape)
    last = -1
    for tracer, ct in seeds:
        _accumulate(cts, tracer.node, tracer.out_index, ct)
        last = max(last, tracer.node.index)
    for idx in range(last, -1, -1):
        g = cts[idx]
        if g is None:
            continue
        node = tape[idx]
        prim = node.prim
        if prim is None:  # an input leaf: keep its cotangent
            continue
        cts[idx] = None
        if prim.multiple_results:
            g = tuple(g) if prim.symbolic_zeros else tuple(
                vspace.zeros_like(a) if c is None else c for c, a in zip(g, node.ans))
        if prim.vjp_all is not None:
            which = [p[0] for p in node.parents]
            results = prim.vjp_all(g, node.ans, node.args, node.params, which)
            for (_, parent, k), c in zip(node.parents, results):
                _accumulate(cts, parent, k, c)
            continue
        rules = prim.vjps
        for i, parent, k in node.parents:
            rule = rules[i] if i < len(rules) else None
            if rule is None:
                raise TypeError(f"{prim.name}: cannot differentiate with respect to argument {i}")
            _accumulate(cts, parent, k, rule(g, node.ans, *node.args, **node.params))
    return cts


def _accumulate(cts, node, k, c):
    if c is None:
        return
    if k is None:
        c = vspace.fit_cotangent(c, node.shape, node.complex)
        old = cts[node.index]
        cts[node.index] = c if old is None else vspace.add(old, c)
    else:
        c = vspace.fit_cotangent(c, node.shape[k], node.complex[k])
        slot = cts[node.index]
        if slot is None:
            slot = cts[node.index] = [None] * len(node.shape)
        slot[k] = c if slot[k] is None else vspace.add(slot[k], c)


def forward_sweep(tape: list, seeds: dict) -> list:
    """Push tangents forwards along a recorded tape (``linearize``): no primal is recomputed.

    ``seeds`` maps input-leaf node indices to tangents; returns tangents indexed by node.
    """
    tans = [None] * len(tape)
    for idx, t in seeds.items():
        tans[idx] = t
    for node in tape:
        prim = node.prim
        if prim is None:
            continue
        ts = [None] * len(node.args)
        for i, parent, k in node.parents:
            t = tans[parent.index]
            ts[i] = t if k is None or t is None else t[k]
        if all(t is None for t in ts):
            continue
        if prim.jvp_all is not None:
            tans[node.index] = prim.jvp_all(ts, node.ans, node.args, node.params)
        else:
            tans[node.index] = jvp_from_rules(prim, ts, node.ans, node.args, node.params)
    return tans


def record(trace: ReverseTrace, name: str, leaves, out_leaves, pull, push) -> list:
    """Record one node for a whole function (a custom rule, a compiled kernel) on ``trace``.

    ``pull(g_leaves)`` returns cotangent leaves (reverse pass); ``push(primal_leaves,
    tangent_leaves)`` returns output tangent leaves (for ``linearize``'s forward sweep). Returns
    the output tracers.
    """
    vals, parents = list(leaves), []
    for i, a in enumerate(leaves):
        if isinstance(a, ReverseTracer) and a._trace is trace:
            vals[i] = a.value
            parents.append((i, a.node, a.out_index))

    def vjp_all(g, ans, args, params, which):
        cts = pull(list(g))
        return [cts[i] for i in which]

    def jvp_all(ts, ans, args, params):
        return tuple(push(args, [vspace.zeros_like(a) if t is None else t
                                 for t, a in zip(ts, args)]))

    prim = Primitive(name, None, multiple_results=True).defjvp_all(jvp_all).defvjp_all(vjp_all)
    node = Node(prim, parents, vals, {}, tuple(out_leaves), len(trace.tape))
    trace.tape.append(node)
    return [ReverseTracer(trace, o, node, k) for k, o in enumerate(out_leaves)]
