"""NumPy code generation: one line of Python per graph equation, calling the primitive's
implementation directly (no ``bind``, no tracing), so a jitted function costs only its NumPy calls.

The generated source is readable: implementations live in the namespace under names such as
``sin_0`` (a ``functools.partial`` when the equation has parameters), array constants as ``c0``::

    def jitted(a):
        b = sin_0(a)
        c = multiply_1(b, 1.01)
        return c

Graph variable names contain only lowercase letters, so generated names (which contain a digit or
an underscore) never collide with them.
"""

from __future__ import annotations

import functools
import math
import re

from ..core.graph import Graph, Literal


class Namespace:
    """Names for the objects a generated function refers to (callables and constants)."""

    def __init__(self):
        self.values: dict = {}
        self._ids: dict = {}

    def add(self, base: str, value, key=None) -> str:
        """Store ``value`` under a fresh name ``{base}_{k}`` (or reuse the name of ``key``)."""
        if key is not None and key in self._ids:
            return self._ids[key]
        name = f"{re.sub(r'[^0-9a-zA-Z_]', '_', base)}_{len(self.values)}"
        self.values[name] = value
        if key is not None:
            self._ids[key] = name
        return name

    def constant(self, value) -> str:
        """Source text for a literal: Python numbers inline, anything else as a named constant."""
        if is_inline_number(value):
            return repr(value)
        return self.add("c", value, key=("const", id(value)))


def is_inline_number(value) -> bool:
    """A Python number whose ``repr`` is valid source that reads back the same value."""
    if type(value) in (bool, int):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is complex:
        return math.isfinite(value.real) and math.isfinite(value.imag)
    return False


def operand(a, ns: Namespace) -> str:
    """Source text of an equation input: a variable's name or a literal."""
    return ns.constant(a.value) if isinstance(a, Literal) else a.name


def signature(graph: Graph) -> str:
    return ", ".join(v.name for v in graph.inputs)


def return_line(graph: Graph, ns: Namespace) -> str:
    """``return x`` for one output, ``return (x, y)`` for several, in ``graph.outputs`` order."""
    outs = [operand(o, ns) for o in graph.outputs]
    if len(outs) == 1:
        return f"    return {outs[0]}"
    return f"    return ({', '.join(outs)},)"


def generate_numpy(graph: Graph, name: str = "jitted") -> tuple[str, dict]:
    """Python source of a function computing ``graph`` with NumPy, and its namespace.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> src, ns = generate_numpy(make_graph(dnp.sin)(1.0))
    >>> print(src)
    def jitted(a):
        b = sin_0(a)
        return b
    """
    ns = Namespace()
    lines = [f"def {name}({signature(graph)}):"]
    for eqn in graph.eqns:
        if eqn.params:
            fn = ns.add(eqn.prim.name, functools.partial(eqn.prim.impl, **eqn.params))
        else:
            fn = ns.add(eqn.prim.name, eqn.prim.impl, key=("prim", id(eqn.prim)))
        args = ", ".join(operand(a, ns) for a in eqn.inputs)
        outs = ", ".join(v.name for v in eqn.outputs)
        if eqn.prim.multiple_results:
            outs += ","
        lines.append(f"    {outs} = {fn}({args})")
    lines.append(return_line(graph, ns))
    return "\n".join(lines) + "\n", ns.values


def build(source: str, namespace: dict, name: str = "jitted"):
    """Execute generated source and return the function it defines."""
    env = dict(namespace)
    exec(compile(source, f"<diffopt.jit {name}>", "exec"), env)  # noqa: S102 - our own generated code
    return env[name]


__all__ = ["generate_numpy", "build", "Namespace"]
