"""Primitives: named operations with an implementation and derivative and batching rules.

A rule belongs to one primitive and is written with other primitives, so that every interpreter
(and nested interpreters) can run it. Rules are attached by the ``def*`` methods, each returning
the primitive so that they chain:

- ``defjvp(*rules)``: ``rule_i(t, ans, *args, **params)`` is the tangent contributed by argument
  ``i`` given its tangent ``t`` (``None`` in place of a rule: not differentiable in that argument);
- ``defvjp(*rules)``: ``rule_i(g, ans, *args, **params)`` is the cotangent of argument ``i`` given
  the output cotangent ``g``. The reverse pass sums cotangents back to each argument's shape and
  dtype, so broadcasting rules need not;
- ``defjvp_all(rule)`` / ``defvjp_all(rule)``: one rule that sees all tangents or cotangents at once
  (what multiple-result primitives give): ``rule(tangents, ans, args, params) -> tangent`` and
  ``rule(g, ans, args, params, which) -> cotangents of the arguments in which``. The reverse pass
  gives a multiple-result rule zeros for the outputs no cotangent reached, or ``None`` with
  ``symbolic_zeros=True``: a rule that must tell an unused output from one with a zero cotangent
  (eigenvectors at a repeated eigenvalue) asks so;
- ``defbatch(rule)``: ``rule(trace, prim, vals, batched, params)`` runs the primitive on arguments
  with a leading batch axis (``batched[i]`` says which ones). Without one the batch is looped over.

>>> import numpy
>>> square = Primitive("square", numpy.square)
>>> square = square.defjvp(lambda t, ans, x: 2 * x * t).defvjp(lambda g, ans, x: 2 * x * g)
>>> float(square.bind(3.0))
9.0
"""

from __future__ import annotations

from .trace import Tracer


class Primitive:
    """One differentiable operation. Call ``bind`` to apply it under whatever traces are active."""

    __slots__ = (
        "name", "impl", "jvps", "vjps", "jvp_all", "vjp_all", "batch", "multiple_results",
        "differentiable", "symbolic_zeros",
    )

    def __init__(self, name: str, impl, *, multiple_results: bool = False,
                 differentiable: bool = True):
        self.name = name
        self.impl = impl
        self.jvps = None
        self.vjps = None
        self.jvp_all = None
        self.vjp_all = None
        self.batch = None
        self.multiple_results = multiple_results
        self.differentiable = differentiable
        self.symbolic_zeros = False

    def bind(self, *args, **params):
        # trace.top_trace, inlined: bind is the hot path of every operation on plain arrays
        top = None
        for a in args:
            if isinstance(a, Tracer):
                t = a._trace
                if top is None or t.level > top.level:
                    top = t
        if top is None:
            return self.impl(*args, **params)
        return top.process(self, args, params)

    def defjvp(self, *rules):
        """Per-argument JVP rules: ``rule(t, ans, *args, **params) -> tangent contribution``."""
        self.jvps = rules
        return self

    def defvjp(self, *rules):
        """Per-argument VJP rules: ``rule(g, ans, *args, **params) -> cotangent``."""
        self.vjps = rules
        return self

    def defjvp_all(self, rule):
        """One JVP rule for all arguments: ``rule(tangents, ans, args, params) -> tangent``."""
        self.jvp_all = rule
        return self

    def defvjp_all(self, rule, *, symbolic_zeros: bool = False):
        """One VJP rule for all arguments: ``rule(g, ans, args, params, which)`` returns the
        cotangents of the arguments at positions ``which``."""
        self.vjp_all = rule
        self.symbolic_zeros = symbolic_zeros
        return self

    def defbatch(self, rule):
        """The batching rule: ``rule(trace, prim, vals, batched, params) -> batched result``."""
        self.batch = rule
        return self

    def __repr__(self):
        return f"Primitive({self.name})"


class DerivativeError(ValueError):
    """The derivative asked for does not exist at this point (or cannot be computed there)."""


def not_differentiable(name: str) -> str:
    return (
        f"{name} is not differentiable with respect to this argument; pass it as a constant "
        "(outside the transformed arguments)."
    )
