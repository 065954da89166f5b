"""The graph interpreter: record primitive calls as equations of a graph (an IR).

``make_graph(f)(*example_args)`` traces ``f`` with graph tracers: every primitive call becomes an
equation ``outputs = prim[params](inputs)``. Tracing runs on the example values, so every variable
knows its shape and dtype; values not traced (closure arrays, Python numbers) enter as literals.
Because the graph interpreter is just another interpreter, tracing ``grad(f)`` records the gradient
program. A graph can be printed (like ``jax.make_jaxpr``), evaluated with ``eval_graph`` (which
binds the primitives again, so graphs are themselves differentiable), simplified and compiled.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from . import vspace
from .pytree import tree_flatten, tree_unflatten
from .trace import Trace, Tracer, new_trace


class Var:
    """A graph variable: a value with a shape and a dtype, defined once."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: tuple, dtype, name: str = ""):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.name = name

    def __repr__(self):
        return self.name or f"Var{self.shape}"


class Literal:
    """A constant operand: a Python number or an array captured by the traced function."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    @property
    def shape(self):
        return vspace.shape_of(self.value)

    def __repr__(self):
        v = self.value
        if np.ndim(v) == 0:
            return repr(v.item() if hasattr(v, "item") else v)
        return f"const{tuple(np.shape(v))}"


class Eqn:
    """``outputs = prim(*inputs, **params)``."""

    __slots__ = ("prim", "inputs", "params", "outputs")

    def __init__(self, prim, inputs: list, params: dict, outputs: list):
        self.prim = prim
        self.inputs = inputs
        self.params = params
        self.outputs = outputs


_DTYPE_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "complex128": "c128",
                "complex64": "c64", "int64": "i64", "int32": "i32", "bool": "bool"}


def _type(v) -> str:
    dims = ",".join(str(d) for d in v.shape)
    return f"{_DTYPE_SHORT.get(v.dtype.name, v.dtype.name)}[{dims}]"


class Graph:
    """Inputs, equations and outputs of a traced program; ``in_tree``/``out_tree`` keep pytrees."""

    def __init__(self, inputs: list, eqns: list, outputs: list, in_tree=None, out_tree=None):
        self.inputs = inputs
        self.eqns = eqns
        self.outputs = outputs
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.rename()

    def rename(self) -> None:
        """Name the variables a, b, ..., z, ba, bb, ... in order of definition."""
        names = _names()
        for v in self.inputs:
            v.name = next(names)
        for eqn in self.eqns:
            for v in eqn.outputs:
                v.name = next(names)

    def __str__(self) -> str:
        ins = " ".join(f"{v.name}:{_type(v)}" for v in self.inputs)
        lines = [f"{{ lambda {ins} ."]
        for eqn in self.eqns:
            outs = " ".join(f"{v.name}:{_type(v)}" for v in eqn.outputs)
            args = " ".join(repr(a) for a in eqn.inputs)
            params = _format_params(eqn.params)
            lines.append(f"    {outs} = {eqn.prim.name}{params} {args}")
        outs = ", ".join(repr(o) for o in self.outputs)
        lines.append(f"  in ({outs}) }}")
        return "\n".join(lines)

    __repr__ = __str__

    def __call__(self, *args):
        return eval_graph(self, *args)


def _names():
    letters = "abcdefghijklmnopqrstuvwxyz"
    for n in itertools.count(1):
        for combo in itertools.product(letters, repeat=n):
            name = "".join(combo)
            if name not in ("as", "if", "in", "is", "or", "and", "def", "del", "for", "not",
                            "try"):
                yield name


def _format_params(params: dict) -> str:
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            v = f"array{v.shape}"
        elif isinstance(v, tuple) and any(isinstance(i, np.ndarray) for i in v):
            v = tuple(f"array{i.shape}" if isinstance(i, np.ndarray) else i for i in v)
        parts.append(f"{k}={v}")
    return "[" + ", ".join(parts) + "]"


class GraphTracer(Tracer):
    """A value being recorded: its graph variable and the example value it stands for."""

    __slots__ = ("var", "value")

    def __init__(self, trace, var: Var, value):
        self._trace = trace
        self.var = var
        self.value = value

    @property
    def shape(self):
        return self.var.shape

    @property
    def dtype(self):
        return self.var.dtype

    def primal_value(self):
        return self.value

    def _concretization_error(self, what):
        return TypeError(
            f"{what} of a traced value inside make_graph/jit: Python control flow that depends "
            "on array values cannot be recorded in a graph. Use diffopt.numpy.where (or clip, "
            "maximum...) to select values, or call the function without jit."
        )


class GraphTrace(Trace):
    __slots__ = ("eqns",)

    def __init__(self, level):
        super().__init__(level)
        self.eqns = []

    def new_input(self, value) -> GraphTracer:
        return GraphTracer(self, Var(vspace.shape_of(value), _dtype(value)), value)

    def process(self, prim, args, params):
        self.check_alive()
        inputs, values = [], []
        for a in args:
            if type(a) is GraphTracer and a._trace is self:
                inputs.append(a.var)
                values.append(a.value)
            elif isinstance(a, Tracer):
                raise TypeError(
                    "make_graph/jit was called inside another transformation on one of its "
                    "traced values; put the transformation inside instead (jit(grad(f)), not "
                    "grad(jit(f)))."
                )
            else:
                inputs.append(Literal(a))
                values.append(a)
        out = prim.bind(*values, **params)  # evaluate on the example values: shapes and dtypes
        outs = out if prim.multiple_results else (out,)
        out_vars = [Var(vspace.shape_of(o), _dtype(o)) for o in outs]
        self.eqns.append(Eqn(prim, inputs, dict(params), out_vars))
        tracers = [GraphTracer(self, v, o) for v, o in zip(out_vars, outs)]
        return tuple(tracers) if prim.multiple_results else tracers[0]


def _dtype(value):
    return value.dtype if hasattr(value, "dtype") else np.result_type(value)


def make_graph(f: Callable) -> Callable:
    """A function that traces ``f`` on example arguments and returns its ``Graph``.

    >>> import diffopt.numpy as dnp
    >>> print(make_graph(lambda x: dnp.sin(x) * 2)(1.0))
    { lambda a:f64[] .
        b:f64[] = sin a
        c:f64[] = multiply b 2
      in (c) }
    """

    def traced(*args) -> Graph:
        leaves, in_tree = tree_flatten(args)
        leaves = [x if hasattr(x, "shape") else np.asarray(x) for x in leaves]
        with new_trace(GraphTrace) as trace:
            tracers = [trace.new_input(x) for x in leaves]
            out = f(*tree_unflatten(in_tree, tracers))
            out_leaves, out_tree = tree_flatten(out)
        outputs = [o.var if isinstance(o, GraphTracer) and o._trace is trace else Literal(o)
                   for o in out_leaves]
        return Graph([t.var for t in tracers], trace.eqns, outputs, in_tree, out_tree)

    return traced


def eval_graph(graph: Graph, *args):
    """Run a graph on arguments shaped like its inputs (pytrees as traced); primitives are bound
    again, so the result can itself be differentiated or traced."""
    leaves = tree_flatten(args)[0] if graph.in_tree is not None else list(args)
    if len(leaves) != len(graph.inputs):
        raise TypeError(f"the graph takes {len(graph.inputs)} input arrays, got {len(leaves)}")
    env = {id(v): x for v, x in zip(graph.inputs, leaves)}

    def read(a):
        return a.value if isinstance(a, Literal) else env[id(a)]

    for eqn in graph.eqns:
        out = eqn.prim.bind(*[read(a) for a in eqn.inputs], **eqn.params)
        outs = out if eqn.prim.multiple_results else (out,)
        for v, o in zip(eqn.outputs, outs):
            env[id(v)] = o
    results = [read(o) for o in graph.outputs]
    if graph.out_tree is None:
        return results
    return tree_unflatten(graph.out_tree, results)
