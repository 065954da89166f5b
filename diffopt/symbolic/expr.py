"""Symbolic expressions: tracers of one permanent trace that records instead of computing.

``SymbolicTrace`` has level -1, below every transformation, and is never pushed on the stack: a
``Symbol`` or any expression built from it is a tracer of that trace, so ``diffopt.numpy`` functions
and operators applied to it reach ``SymbolicTrace.process`` through the ordinary ``bind`` path and
build expression nodes. Transformations above it (``jvp``, ``grad``) treat expressions as values,
which is how ``diff`` reuses the primitives' JVP rules.

Nodes are hash-consed (one object per structure), so equal subexpressions are shared and identity
comparison is structural equality. Each node carries a numeric *probe*, its value at fixed sample
values of the symbols, which gives it a shape and a dtype.
"""

from __future__ import annotations

import keyword
import weakref
import zlib

import numpy as np

from ..core.trace import Trace, Tracer
from .folding import NOFOLD, fold, normalize, to_float


class SymbolicTrace(Trace):
    """The trace that owns every expression; always alive, below every transformation."""

    __slots__ = ()

    def process(self, prim, args, params):
        if prim.multiple_results:
            raise NotImplementedError(
                f"{prim.name} has several results and cannot appear in a symbolic expression; "
                "trace the function with diffopt.make_graph instead"
            )
        return node(prim, [as_expr(a) for a in args], params)


TRACE = SymbolicTrace(-1)
printer = None  # expr -> text: installed by .printing, which sits above this module
_CACHE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Expr(Tracer):
    """A symbolic expression: ``prim(*args, **params)``; args are expressions.

    >>> x = Symbol("x")
    >>> print(x**2 + 1)
    x**2 + 1
    """

    __slots__ = ("prim", "args", "params", "probe", "_str", "__weakref__")

    def __init__(self, prim, args: tuple, params: dict, probe):
        self._trace = TRACE
        self.prim = prim
        self.args = args
        self.params = params
        self.probe = probe
        self._str = None

    @property
    def shape(self):
        return np.shape(self.probe)

    @property
    def dtype(self):
        return np.result_type(self.probe)

    def primal_value(self):
        return self.probe

    def _concretization_error(self, what):
        return TypeError(
            f"{what} of a symbolic expression: it has no value until evaluated. Use "
            "diffopt.numpy.where for branches, or diffopt.symbolic.evaluate(expr, {x: value})."
        )

    def __str__(self):
        if self._str is None:
            self._str = printer(self)
        return self._str

    def __repr__(self):
        return str(self)

    @property
    def free_symbols(self) -> set:
        """The symbols this expression depends on."""
        return {e for e in topo_order(self) if isinstance(e, Symbol)}


class Symbol(Expr):
    """A scalar symbol, named by a Python identifier; ``Symbol("x") is Symbol("x")``.

    >>> x = Symbol("x")
    >>> x is Symbol("x"), x.name
    (True, 'x')
    """

    __slots__ = ("name",)

    def __new__(cls, name: str):
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(
                f"invalid symbol name {name!r}: use a Python identifier that is not a keyword "
                "(letters, digits and underscores, not starting with a digit)"
            )
        key = ("symbol", name)
        sym = _CACHE.get(key)
        if sym is None:
            sym = object.__new__(cls)
            # A fixed probe in (0.5, 1.5), distinct per name, gives shape and dtype.
            probe = np.float64(0.5 + (zlib.crc32(name.encode()) % 1000) / 1000)
            Expr.__init__(sym, None, (), {}, probe)
            sym.name = name
            _CACHE[key] = sym
        return sym

    def __init__(self, name: str):
        pass

    def __reduce__(self):
        return (Symbol, (self.name,))


class Const(Expr):
    """A constant leaf (exact: int, Fraction, float, bool, complex, or an array)."""

    __slots__ = ("value",)

    def __new__(cls, value):
        value = normalize(value)
        key = None if isinstance(value, np.ndarray) else ("const", type(value).__name__, value)
        c = _CACHE.get(key) if key is not None else None
        if c is None:
            c = object.__new__(cls)
            fv = to_float(value)
            probe = fv if isinstance(fv, np.ndarray) else np.asarray(fv)[()]
            Expr.__init__(c, None, (), {}, probe)
            c.value = value
            if key is not None:
                _CACHE[key] = c
        return c

    def __init__(self, value):
        pass


def symbols(names: str) -> tuple:
    """Several symbols from a space- or comma-separated string.

    >>> x, y = symbols("x, y")
    >>> print(x * y)
    x*y
    """
    return tuple(Symbol(n) for n in names.replace(",", " ").split())


def as_expr(v) -> Expr:
    """``v`` as an expression (constants become ``Const``)."""
    if isinstance(v, Expr):
        return v
    if isinstance(v, Tracer):
        raise TypeError("a traced value of another transformation cannot enter a symbolic "
                        "expression")
    return Const(v)


def is_const(e, value=None) -> bool:
    """Whether ``e`` is a scalar constant (equal to ``value`` when given)."""
    if not isinstance(e, Const) or isinstance(e.value, np.ndarray):
        return False
    return value is None or (e.value == value and not isinstance(e.value, bool))


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(i)) for k, i in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(i) for i in v)
    if isinstance(v, np.ndarray):
        return ("array", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return (type(v).__name__, v)


_SHAPE_FILL = {"zeros_like": lambda p: 0, "ones_like": lambda p: 1,
               "full_like": lambda p: p["fill_value"]}


def node(prim, args: list, params: dict | None = None) -> Expr:
    """The (shared) expression ``prim(*args, **params)``, with exact constants folded."""
    args = tuple(args)
    params = params or {}
    if all(isinstance(a, Const) for a in args):
        r = fold(prim, [a.value for a in args], params)
        if r is not NOFOLD:
            return Const(r)
    fill = _SHAPE_FILL.get(prim.name)
    if fill is not None and args[0].shape == () and params.get("dtype") is None:
        return Const(fill(params))
    if prim.name == "where" and is_const(args[0]):
        chosen = args[1] if args[0].value else args[2]
        if chosen.shape == np.broadcast_shapes(*(a.shape for a in args)):
            return chosen
    key = (id(prim), _freeze(params), tuple(id(a) for a in args))
    e = _CACHE.get(key)
    if e is not None and e.prim is prim:
        return e
    with np.errstate(all="ignore"):
        try:
            probe = prim.impl(*[a.probe for a in args], **params)
        except Exception as err:
            raise TypeError(f"{prim.name} cannot be applied to these symbolic arguments "
                            f"({', '.join(str(a) for a in args)}): {err}") from err
    e = Expr(prim, args, dict(params), probe)
    _CACHE[key] = e
    return e


def topo_order(root: Expr) -> list:
    """The nodes of an expression DAG, each once, arguments before their users."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
            continue
        if id(e) in seen:
            continue
        seen.add(id(e))
        stack.append((e, True))
        stack.extend((a, False) for a in reversed(e.args) if id(a) not in seen)
    return order
