"""Forward mode: each value carries a tangent beside it (dual numbers generalised to arrays).

Batched tangents (``jacfwd``) come from running this interpreter under ``vmap``: the tangent is then
a batch tracer, and the rules, being written with primitives, batch themselves.
"""

from __future__ import annotations

from . import vspace
from .trace import Trace, Tracer


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def shape(self):
        return vspace.shape_of(self.primal)

    @property
    def dtype(self):
        return self.primal.dtype

    def primal_value(self):
        return self.primal


class JVPTrace(Trace):
    __slots__ = ()

    def process(self, prim, args, params):
        self.check_alive()
        primals = []
        tangents = []
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        out = prim.bind(*primals, **params)
        if not prim.differentiable:
            return out
        if prim.multiple_results:
            touts = prim.jvp_all(tangents, out, primals, params)
            return tuple(o if t is None else JVPTracer(self, o, t) for o, t in zip(out, touts))
        if prim.jvp_all is not None:
            tout = prim.jvp_all(tangents, out, primals, params)
        else:
            tout = jvp_from_rules(prim, tangents, out, primals, params)
        return out if tout is None else JVPTracer(self, out, tout)

    def lift(self, primal, tangent):
        return JVPTracer(self, primal, tangent)


def jvp_from_rules(prim, tangents, ans, primals, params):
    """Sum the per-argument tangent contributions of a single-result primitive."""
    rules = prim.jvps
    tout = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        rule = rules[i] if i < len(rules) else None
        if rule is None:
            raise TypeError(f"{prim.name}: cannot differentiate with respect to argument {i}")
        c = rule(t, ans, *primals, **params)
        if c is None:
            continue
        tout = c if tout is None else vspace.add(tout, c)
    if tout is not None:
        tout = vspace.fit_tangent(tout, vspace.shape_of(ans))
    return tout
