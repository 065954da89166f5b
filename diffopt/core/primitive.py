"""Primitives: named operations with an implementation and derivative and batching rules.

A rule table entry belongs to one primitive and is written with other primitives, so that every
interpreter (and nested interpreters) can run it:

- ``jvps[i](t, ans, *args, **params)``: the tangent contributed by argument ``i`` given its tangent
  ``t`` (``None`` in the table: not differentiable in that argument);
- ``vjps[i](g, ans, *args, **params)``: the cotangent of argument ``i`` given the output cotangent
  ``g``. The reverse pass sums cotangents back to each argument's shape and dtype, so broadcasting
  rules need not;
- ``batch(trace, prim, vals, batched, params)``: how to run the primitive on arguments with a
  leading batch axis (``batched[i]`` says which ones). Without one the batch is looped over.

Multiple-result primitives (``multiple_results=True``) give ``jvp_all`` / ``vjp_all`` instead, which
see all tangents or cotangents at once. The reverse pass gives ``vjp_all`` zeros for the outputs
no cotangent reached, or ``None`` if the primitive sets ``symbolic_zeros``: a rule that must tell
an unused output from one with a zero cotangent (eigenvectors at a repeated eigenvalue) asks so.
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

    def __repr__(self):
        return f"Primitive({self.name})"


class DerivativeError(ValueError):
    """The derivative asked for does not exist at this point (or cannot be computed there)."""


def not_differentiable(name: str) -> str:
    return (
        f"{name} is not differentiable with respect to this argument; pass it as a constant "
        "(outside the transformed arguments)."
    )
