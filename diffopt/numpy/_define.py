"""Helpers that turn a rule-table entry into a primitive and its public NumPy-named function."""

from __future__ import annotations

import sys

from ..core.batching import batch_elementwise
from ..core.primitive import Primitive


def public(prim: Primitive, name: str | None = None, doc: str | None = None, nargs: int = 1):
    """The public function for a primitive whose parameters are all positional arguments."""
    bind = prim.bind
    if nargs == 1:
        def fn(x):
            return bind(x)
    elif nargs == 2:
        def fn(x, y):
            return bind(x, y)
    else:
        def fn(*args):
            return bind(*args)
    fn.__name__ = fn.__qualname__ = name or prim.name
    fn.__module__ = _defining_module()  # where doctest looks for the docstring's examples
    fn.__doc__ = doc
    fn.primitive = prim
    return fn


def _defining_module() -> str:
    """The name of the module whose rule table called in here (the first caller outside this
    file)."""
    frame = sys._getframe(1)
    while frame.f_globals["__name__"] == __name__:
        frame = frame.f_back
    return frame.f_globals["__name__"]


def _scaled_rule(deriv):
    """The JVP/VJP rule ``t * deriv(ans, *args)`` (1 and -1 short-cut to ``t`` and ``-t``)."""
    if deriv is None:
        return None
    if isinstance(deriv, (int, float)) and deriv == 1:
        return lambda t, ans, *args, **params: t
    if isinstance(deriv, (int, float)) and deriv == -1:
        return lambda t, ans, *args, **params: -t
    return lambda t, ans, *args, **params: t * deriv(ans, *args, **params)


def example_doc(example: str | None) -> str:
    """A docstring's example from a table row's ``"call  # result"``: a doctest printing the
    call's result (none without an example)."""
    if not example:
        return ""
    call, _, result = example.partition("  # ")
    return f"\n\n>>> print({call})\n{result}"


def elementwise(name: str, impl, *derivs, doc: str | None = None, example: str | None = None):
    """Define an elementwise primitive from its partial derivatives ``d(ans, *args)``.

    With the convention of this library (the VJP is the transpose of the JVP under the pairing
    ``<u, v> = Re sum(u * v)``) holomorphic and real functions share one rule: multiply by the
    partial derivative, in both modes.
    """
    prim = Primitive(name, impl)
    rules = tuple(_scaled_rule(d) for d in derivs)
    prim.defjvp(*rules)
    prim.defvjp(*rules)
    prim.defbatch(batch_elementwise)
    if doc is None:
        doc = f"Differentiable ``numpy.{name}``, elementwise."
        doc += example_doc(example)
    return public(prim, name, doc, nargs=len(derivs))

