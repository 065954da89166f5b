"""Simplification passes on the Graph IR: each takes a ``Graph`` and returns a new one.

- ``fold_constants``: an equation whose inputs are all literals is evaluated once into literals
  (outputs of at most ``FOLD_MAX_SIZE`` elements: large constant arrays stay computed at run time).
- ``algebraic``: exact identities (see its docstring); ``x * 0`` is only rewritten for integer and
  boolean ``x``, or for every ``x`` with ``assume_finite=True`` (``0 * inf`` is ``nan``).
- ``cse``: common-subexpression elimination (commutative ``add``/``multiply`` in either order).
- ``dce``: dead-code elimination (graph inputs are always kept, so the signature is unchanged).
- ``small_vectors``: small 1-D arrays assembled from scalars stay scalars (fewer tiny arrays to
  allocate in compiled kernels; see its docstring).
- ``simplify``: all of them until nothing changes, then fresh names.

A pass never mutates its input: the new graph has its own variables and equations (literal values
are shared). Every rewrite keeps each variable's shape and dtype, so the outputs keep their values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..core.graph import Eqn, Graph, Literal, Var
from ..numpy import creation as _creation
from ..numpy import elementwise as _ew
from ..numpy.indexing import _getitem, _scatter_add
from ..numpy.shape import _concatenate, _reshape

FOLD_MAX_SIZE = 1024
"""Largest output (in elements) that ``fold_constants`` turns into a literal."""

MAX_POWER = 4
"""``power(x, n)`` for integer ``2 <= n <= MAX_POWER`` becomes ``n - 1`` or fewer multiplies."""

SMALL_VECTOR = 32
"""Largest length of a 1-D array that ``small_vectors`` assembles from scalars."""

# cse compares array literals/params up to this size by value, larger ones by identity
_KEY_MAX_SIZE = 64

_ADD = _ew.add.primitive
_SUB = _ew.subtract.primitive
_MUL = _ew.multiply.primitive
_DIV = _ew.divide.primitive
_NEG = _ew.negative.primitive
_POS = _ew.positive.primitive
_POW = _ew.power.primitive
_RECIP = _ew.reciprocal.primitive
_ZEROS_LIKE = _creation._zeros_like
_ONES_LIKE = _creation._ones_like
_FULL_LIKE = _creation._full_like
_LIKE = (_ZEROS_LIKE, _ONES_LIKE, _FULL_LIKE)
_COMMUTATIVE = (_ADD, _MUL)
_GETITEM = _getitem
_SCATTER_ADD = _scatter_add
_RESHAPE = _reshape
_CONCATENATE = _concatenate


# --- the rebuilding machinery shared by all passes ------------------------------------------------
class _Builder:
    """Rebuilds a graph equation by equation with fresh variables.

    ``env`` maps each old variable (by id) to its new operand (a new ``Var`` or a ``Literal``).
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.inputs = [Var(v.shape, v.dtype) for v in graph.inputs]
        self.env = {id(old): new for old, new in zip(graph.inputs, self.inputs)}
        self.eqns: list[Eqn] = []
        self.producer: dict[int, Eqn] = {}  # id(new var) -> the new equation defining it
        self.changed = False

    def read(self, a):
        return a if isinstance(a, Literal) else self.env[id(a)]

    def emit(self, prim, inputs: list, params: dict, avals: list) -> list[Var]:
        """Append ``prim[params](*inputs)`` with outputs of the given (shape, dtype)s."""
        outs = [Var(shape, dtype) for shape, dtype in avals]
        eqn = Eqn(prim, list(inputs), dict(params), outs)
        self.eqns.append(eqn)
        for v in outs:
            self.producer[id(v)] = eqn
        return outs

    def copy(self, eqn: Eqn, inputs: list) -> list[Var]:
        outs = self.emit(eqn.prim, inputs, eqn.params, [(v.shape, v.dtype) for v in eqn.outputs])
        self.bind(eqn, outs)
        return outs

    def bind(self, eqn: Eqn, operands: list) -> None:
        for old, new in zip(eqn.outputs, operands, strict=True):
            self.env[id(old)] = new

    def finish(self) -> Graph:
        g = self.graph
        outputs = [self.read(o) for o in g.outputs]
        return Graph(self.inputs, self.eqns, outputs, g.in_tree, g.out_tree)


Rule = Callable[[_Builder, Eqn, list], bool]


def _rewrite(graph: Graph, rule: Rule | None, eqns: list | None = None) -> tuple[Graph, bool]:
    """Rebuild ``graph`` from ``eqns`` (default: all of its equations); ``rule(builder, eqn,
    new_inputs)`` returns True when it has bound the equation's outputs, False to copy it."""
    b = _Builder(graph)
    for eqn in graph.eqns if eqns is None else eqns:
        inputs = [b.read(a) for a in eqn.inputs]
        if rule is None or not rule(b, eqn, inputs):
            b.copy(eqn, inputs)
    return b.finish(), b.changed


# --- dead-code elimination ------------------------------------------------------------------------
def _dce(graph: Graph) -> tuple[Graph, bool]:
    live = {id(o) for o in graph.outputs if isinstance(o, Var)}
    keep = []
    for eqn in reversed(graph.eqns):
        if any(id(v) in live for v in eqn.outputs):
            keep.append(eqn)
            live.update(id(a) for a in eqn.inputs if isinstance(a, Var))
    return _rewrite(graph, None, keep[::-1])[0], len(keep) < len(graph.eqns)


def dce(graph: Graph) -> Graph:
    """Drop the equations whose outputs the graph's outputs do not need.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> len(dce(make_graph(lambda x: (dnp.sin(x), x)[1])(1.0)).eqns)
    0
    """
    return _dce(graph)[0]


# --- common-subexpression elimination -------------------------------------------------------------
def _freeze(v):
    """A hashable key for a literal value or a parameter: equal keys mean interchangeable values
    (same type and dtype, bitwise-equal data: ``0.0`` and ``-0.0`` differ, so do ``1`` and
    ``1.0``)."""
    if isinstance(v, (np.ndarray, np.generic)):
        if v.size <= _KEY_MAX_SIZE:
            return ("array", type(v).__name__, v.dtype.str, v.shape, v.tobytes())
        return ("id", id(v))
    if isinstance(v, float):
        return ("float", v.hex())
    if isinstance(v, complex):
        return ("complex", v.real.hex(), v.imag.hex())
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_freeze(i) for i in v))
    if isinstance(v, slice):
        return ("slice", _freeze(v.start), _freeze(v.stop), _freeze(v.step))
    if isinstance(v, dict):
        return ("dict", tuple(sorted((repr(k), _freeze(i)) for k, i in v.items())))
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))  # unhashable and unknown: equal only to itself
    return (type(v).__name__, v)


def _operand_key(prim, a):
    if isinstance(a, Literal):
        return _freeze(a.value)
    if prim in _LIKE:  # zeros_like(x) depends only on x's shape and dtype
        return ("aval", a.shape, a.dtype.str)
    return ("var", id(a))


def _cse(graph: Graph) -> tuple[Graph, bool]:
    seen: dict = {}

    def rule(b, eqn, inputs):
        keys = [_operand_key(eqn.prim, a) for a in inputs]
        if eqn.prim in _COMMUTATIVE:
            keys.sort(key=repr)
        key = (id(eqn.prim), tuple(keys), _freeze(eqn.params))
        prev = seen.get(key)
        if prev is None:
            seen[key] = b.copy(eqn, inputs)
        else:
            b.bind(eqn, prev)
            b.changed = True
        return True

    return _rewrite(graph, rule)


def cse(graph: Graph) -> Graph:
    """Reuse the first result of equations with the same primitive, inputs (the same variables or
    equal literals) and parameters.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> len(cse(make_graph(lambda x: dnp.sin(x) + dnp.sin(x))(1.0)).eqns)
    2
    """
    return _cse(graph)[0]


# --- constant folding -----------------------------------------------------------------------------
def _as_literal(value, var: Var):
    """``value`` as a literal standing for ``var`` (its exact shape and dtype), or None."""
    if isinstance(value, (np.ndarray, np.generic, bool, int, float, complex)):
        value = np.asarray(value, dtype=var.dtype)
    if getattr(value, "shape", None) != var.shape or getattr(value, "dtype", None) != var.dtype:
        return None
    return Literal(value)


def _fold_rule(b, eqn, inputs):
    if eqn.prim.impl is None or not all(isinstance(a, Literal) for a in inputs):
        return False
    if any(math.prod(v.shape) > FOLD_MAX_SIZE for v in eqn.outputs):
        return False
    try:
        with np.errstate(all="ignore"):
            out = eqn.prim.impl(*[a.value for a in inputs], **eqn.params)
    except Exception:  # leave it to run time, where the error will be raised with context
        return False
    outs = out if eqn.prim.multiple_results else (out,)
    lits = [_as_literal(o, v) for o, v in zip(outs, eqn.outputs)]
    if len(lits) != len(eqn.outputs) or any(lit is None for lit in lits):
        return False
    b.bind(eqn, lits)
    b.changed = True
    return True


def _fold(graph: Graph) -> tuple[Graph, bool]:
    return _rewrite(graph, _fold_rule)


def fold_constants(graph: Graph) -> Graph:
    """Evaluate once the equations whose inputs are all literals (outputs of at most
    ``FOLD_MAX_SIZE`` elements); graph inputs stay inputs.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> print(fold_constants(make_graph(lambda x: x * dnp.exp(2.0))(1.0)))  # exp 2.0 is folded
    { lambda a:f64[] .
        b:f64[] = multiply a 7.389056
      in (b) }
    """
    return _fold(graph)[0]


# --- algebraic identities -------------------------------------------------------------------------
def _uniform(v):
    """The Python number every element of ``v`` equals (small NumPy arrays), else None."""
    if isinstance(v, (bool, int, float, complex)):
        return v
    if isinstance(v, (np.ndarray, np.generic)) and 0 < v.size <= _KEY_MAX_SIZE:
        flat = np.ravel(v)
        if np.all(flat == flat[0]):
            return flat[0].item()
    return None


def _constant(b: _Builder, a):
    """The number every element of operand ``a`` is known to equal, else None."""
    if isinstance(a, Literal):
        return _uniform(a.value)
    eqn = b.producer.get(id(a))
    if eqn is None:
        return None
    if eqn.prim is _ZEROS_LIKE:
        return 0
    if eqn.prim is _ONES_LIKE:
        return 1
    if eqn.prim is _FULL_LIKE:
        return _uniform(eqn.params.get("fill_value"))
    return None


def _aval(a):
    """(shape, dtype) of an operand; dtype None for Python numbers (weakly typed: they take the
    other operand's dtype, so they never stand for a variable)."""
    if isinstance(a, Var):
        return a.shape, a.dtype
    v = a.value
    if isinstance(v, (bool, int, float, complex)):
        return (), None
    return a.shape, getattr(v, "dtype", None)


def _replace(b: _Builder, eqn: Eqn, x) -> bool:
    """Use operand ``x`` for the equation's output when it has the output's exact shape and
    dtype (broadcasting or type promotion would otherwise change the value)."""
    y = eqn.outputs[0]
    if _aval(x) != (y.shape, y.dtype):
        return False
    b.bind(eqn, [x])
    b.changed = True
    return True


def _emit_as(b: _Builder, eqn: Eqn, prim, inputs: list, params: dict | None = None) -> bool:
    y = eqn.outputs[0]
    b.bind(eqn, b.emit(prim, inputs, params or {}, [(y.shape, y.dtype)]))
    b.changed = True
    return True


def _is_number(k) -> bool:
    return isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k)


def _int_power(b: _Builder, eqn: Eqn, x, n: int) -> bool:
    """``x ** n`` by repeated squaring: ``x*x``, ``x*(x*x)``, ``(x*x)*(x*x)``."""
    aval = [(x.shape, x.dtype)]
    acc, base = None, x
    while n:
        if n & 1:
            acc = base if acc is None else b.emit(_MUL, [acc, base], {}, aval)[0]
        n >>= 1
        if n:
            base = b.emit(_MUL, [base, base], {}, aval)[0]
    b.bind(eqn, [acc])
    b.changed = True
    return True


def _power_rule(b: _Builder, eqn: Eqn, x, p) -> bool:
    k = _constant(b, p)
    y = eqn.outputs[0]
    if not _is_number(k) or not float(k).is_integer() or not isinstance(x, Var):
        return False
    if x.shape != y.shape:
        return False
    n = int(k)
    if n == 0:  # x ** 0 == 1 for every x, nan and inf included
        dtype = None if x.dtype == y.dtype else y.dtype
        return _emit_as(b, eqn, _ONES_LIKE, [x], {"dtype": dtype})
    if x.dtype != y.dtype:
        return False
    if n == 1:
        return _replace(b, eqn, x)
    if n == -1 and np.issubdtype(y.dtype, np.inexact):
        return _emit_as(b, eqn, _RECIP, [x])
    if 2 <= n <= MAX_POWER:
        return _int_power(b, eqn, x, n)
    return False


def _zeros_for(b: _Builder, eqn: Eqn, inputs: list, assume_finite: bool) -> bool:
    """``x * 0`` -> zeros, exact for integer/boolean operands (else only if ``assume_finite``)."""
    y = eqn.outputs[0]
    exact = all(not np.issubdtype(a.dtype if isinstance(a, Var) else np.result_type(a.value),
                                  np.inexact) for a in inputs)
    if not (exact or assume_finite):
        return False
    like = next((a for a in inputs if isinstance(a, Var) and a.shape == y.shape), None)
    if like is None:
        return False
    dtype = None if like.dtype == y.dtype else y.dtype
    return _emit_as(b, eqn, _ZEROS_LIKE, [like], {"dtype": dtype})


def _algebraic_rule(assume_finite: bool) -> Rule:
    def rule(b, eqn, inputs):
        p = eqn.prim
        if p is _MUL:
            for x, c in ((inputs[0], inputs[1]), (inputs[1], inputs[0])):
                k = _constant(b, c)
                if k == 1 and _replace(b, eqn, x):
                    return True
                if k == 0 and _zeros_for(b, eqn, inputs, assume_finite):
                    return True
        elif p is _ADD:
            for x, c in ((inputs[0], inputs[1]), (inputs[1], inputs[0])):
                if _constant(b, c) == 0 and _replace(b, eqn, x):
                    return True
        elif p is _SUB:
            return _constant(b, inputs[1]) == 0 and _replace(b, eqn, inputs[0])
        elif p is _DIV:
            return _constant(b, inputs[1]) == 1 and _replace(b, eqn, inputs[0])
        elif p is _POS:
            return _replace(b, eqn, inputs[0])
        elif p is _NEG:
            inner = b.producer.get(id(inputs[0])) if isinstance(inputs[0], Var) else None
            return inner is not None and inner.prim is _NEG and _replace(b, eqn, inner.inputs[0])
        elif p is _POW:
            return _power_rule(b, eqn, inputs[0], inputs[1])
        return False

    return rule


def algebraic(graph: Graph, *, assume_finite: bool = False) -> Graph:
    """Apply exact algebraic identities.

    ``x*1``, ``1*x``, ``x/1``, ``x-0`` -> ``x``; ``x+0``, ``0+x`` -> ``x`` (only a ``-0.0`` input
    differs: ``-0.0 + 0`` is ``+0.0``); ``-(-x)`` -> ``x``; ``+x`` -> ``x``; ``x**0`` -> ones;
    ``x**1`` -> ``x``; ``x**-1`` -> ``reciprocal(x)`` (floating x); ``x**n`` for integer
    ``2 <= n <= MAX_POWER`` -> multiplies (within a few ulps of ``power``). A rewrite to ``x`` is
    made only when ``x`` has the result's exact shape and dtype, so ``x * 1`` that broadcasts or
    promotes ``x`` stays. The constants may be literals or ``zeros_like/ones_like/full_like``
    results. ``x * 0`` -> zeros only for integer/boolean operands, since ``0 * inf`` and
    ``0 * nan`` are ``nan`` (XLA does not rewrite it for floats either); ``assume_finite=True``
    rewrites it for every dtype.

    >>> from diffopt import make_graph
    >>> print(algebraic(make_graph(lambda x: (x * 1.0) ** 2)(3.0)))
    { lambda a:f64[] .
        b:f64[] = multiply a a
      in (b) }
    """
    return _rewrite(graph, _algebraic_rule(assume_finite))[0]


# --- small vectors of scalars ---------------------------------------------------------------------
def _single_position(idx: tuple, n: int):
    """The position ``k`` (``0 <= k < n``) that a static index of a 1-D array of length ``n``
    names as ``x[k]`` (an integer, optionally after ``...``), else None."""
    if idx[:1] == (Ellipsis,):
        idx = idx[1:]
    if len(idx) != 1 or isinstance(idx[0], (bool, np.bool_)):
        return None
    i = idx[0]
    if isinstance(i, (int, np.integer)) and -n <= i < n:
        return int(i) % n
    return None


def _one_element_slice(idx: tuple, n: int):
    """The position ``k`` when the static index names ``x[k:k+1]`` of a 1-D array of length ``n``
    (a slice of exactly one element, optionally after ``...``), else None."""
    if idx[:1] == (Ellipsis,):
        idx = idx[1:]
    if len(idx) != 1 or not isinstance(idx[0], slice):
        return None
    positions = range(*idx[0].indices(n))
    return positions[0] if len(positions) == 1 else None


def _pieces(b: _Builder, a, y: Var):
    """The scalars (0-d operands, or None for a known zero) that the 1-D operand ``a`` is
    assembled from -- a ``concatenate`` of ``reshape(scalar, (1,))`` / one-element literals --
    when ``a`` has the shape and dtype of ``y``; else None."""
    if not isinstance(a, Var) or a.shape != y.shape or a.dtype != y.dtype:
        return None
    eqn = b.producer.get(id(a))
    if eqn is None or eqn.prim is not _CONCATENATE or len(eqn.inputs) != a.shape[0]:
        return None
    out = []
    for p in eqn.inputs:
        if isinstance(p, Literal):
            v = np.asarray(p.value)
            if v.shape != (1,) or v.dtype != y.dtype:
                return None
            out.append(None if not v.any() and not np.signbit(v.real).any() else Literal(v[0]))
            continue
        inner = b.producer.get(id(p))
        if inner is None or inner.prim is not _RESHAPE or p.shape != (1,):
            return None
        s = inner.inputs[0]
        if _aval(s) != ((), y.dtype):
            return None
        out.append(s)
    return out


def _assemble(b: _Builder, eqn: Eqn, scalars: list) -> bool:
    """Bind the 1-D output of ``eqn`` to ``concatenate`` of the ``scalars`` (None: zero), each
    reshaped to ``(1,)``: Numba's lowering makes that one array literal."""
    y = eqn.outputs[0]
    zero = Literal(np.zeros(1, y.dtype))
    parts = [zero if s is None else b.emit(_RESHAPE, [s], {"shape": (1,)}, [((1,), y.dtype)])[0]
             for s in scalars]
    if len(parts) == 1 and parts[0] is zero:  # (a literal output: concatenate keeps it a Var)
        parts = [b.emit(_RESHAPE, [Literal(np.zeros((), y.dtype))], {"shape": (1,)},
                        [((1,), y.dtype)])[0]]
    return _emit_as(b, eqn, _CONCATENATE, parts, {"axis": 0})


def _scalar_add(b: _Builder, u, v, dtype):
    """``u + v`` of two 0-d operands (None: zero), as an operand (None: zero)."""
    if u is None or v is None:
        return v if u is None else u
    return b.emit(_ADD, [u, v], {}, [((), dtype)])[0]


def _scalar_of(b: _Builder, v: Var):
    """The 0-d operand that holds the element of the one-element 1-D ``v``."""
    inner = b.producer.get(id(v))
    if inner is not None and inner.prim is _RESHAPE and _aval(inner.inputs[0]) == ((), v.dtype):
        return inner.inputs[0]
    return b.emit(_RESHAPE, [v], {"shape": ()}, [((), v.dtype)])[0]


def _small_vector_rule(b, eqn, inputs):
    p = eqn.prim
    y = eqn.outputs[0] if eqn.outputs else None
    small = (y is not None and len(y.shape) == 1 and 0 < y.shape[0] <= SMALL_VECTOR
             and y.dtype.kind in "iufc")
    if p is _SCATTER_ADD and small:
        x, v = inputs
        n = y.shape[0]
        k = _single_position(eqn.params["idx"], n)
        if k is None:  # x[k:k+1] += v, with v of shape () or (1,)
            k = _one_element_slice(eqn.params["idx"], n)
        elif _aval(v)[0] != ():
            return False
        if k is None or _aval(x) != (y.shape, y.dtype) or _aval(v)[0] not in ((), (1,)):
            return False
        if _aval(v)[1] not in (None, y.dtype):
            return False
        if not isinstance(v, Var):
            v = Literal(np.asarray(v.value, y.dtype).reshape(()))
        elif v.shape == (1,):
            v = _scalar_of(b, v)
        scalars = _pieces(b, x, y)
        if scalars is None:
            if _constant(b, x) != 0:
                return False
            scalars = [None] * y.shape[0]
        scalars[k] = _scalar_add(b, scalars[k], v, y.dtype)
        return _assemble(b, eqn, scalars)
    if p is _ADD and small:
        left, right = (_pieces(b, a, y) for a in inputs)
        if left is None or right is None:
            return False
        return _assemble(b, eqn, [_scalar_add(b, u, v, y.dtype) for u, v in zip(left, right)])
    if p is _CONCATENATE and len(inputs) == 1:
        return _replace(b, eqn, inputs[0])
    if p is _GETITEM and isinstance(inputs[0], Var) and len(inputs[0].shape) == 1:
        x, n = inputs[0], inputs[0].shape[0]
        k = _single_position(eqn.params["idx"], n)
        if k is not None and y.shape == () and y.dtype == x.dtype:
            if _constant(b, x) == 0:  # zeros_like(...)[k]
                return _replace(b, eqn, Literal(np.zeros((), y.dtype)))
            scalars = _pieces(b, x, x)
            if scalars is not None:
                s = scalars[k]
                return _replace(b, eqn, Literal(np.zeros((), y.dtype)) if s is None else s)
        return False
    if p is _RESHAPE and y.shape == () and isinstance(inputs[0], Var):
        x = inputs[0]
        inner = b.producer.get(id(x))
        if inner is None or x.shape != (1,) or x.dtype != y.dtype:
            return False
        src = inner.inputs[0]
        if inner.prim is _RESHAPE and _aval(src) == ((), y.dtype):
            return _replace(b, eqn, src)
        if inner.prim is _GETITEM and isinstance(src, Var) and len(src.shape) == 1:
            k = _one_element_slice(inner.params["idx"], src.shape[0])
            if k is not None:
                return _emit_as(b, eqn, _GETITEM, [src], {"idx": (k,)})
    return False


def _small_vectors(graph: Graph) -> tuple[Graph, bool]:
    return _rewrite(graph, _small_vector_rule)


def small_vectors(graph: Graph) -> Graph:
    """Keep small 1-D arrays (at most ``SMALL_VECTOR`` elements) that are built from scalars as
    scalars, so that compiled kernels allocate one array literal instead of many tiny arrays.

    ``scatter_add(zeros, v, k)`` (a scalar ``v`` at a static position ``k``) becomes the
    ``concatenate`` of reshaped scalars (zeros elsewhere), which Numba's lowering writes as one
    ``np.array([...])``; the ``add`` of two such vectors becomes one vector of the scalar sums,
    element by element; ``getitem(vector, k)`` becomes its scalar ``k``; ``reshape(x[k:k+1], ())``
    becomes ``x[k]``; ``reshape(reshape(s, (1,)), ())`` becomes ``s``; a ``concatenate`` of one
    array becomes that array. Values are kept exactly, except the sign of a zero (``v + 0`` is
    taken to be ``v``, as in ``algebraic``).

    >>> from diffopt import grad, make_graph
    >>> g = make_graph(grad(lambda y: y[0] * y[1]))(np.ones(2))
    >>> def count(graph, name): return [e.prim.name for e in graph.eqns].count(name)
    >>> count(g, "scatter_add"), count(small_vectors(g), "scatter_add")
    (2, 0)
    """
    return _small_vectors(graph)[0]


# --- everything until nothing changes -------------------------------------------------------------
def simplify(graph: Graph, *, assume_finite: bool = False, max_rounds: int = 50) -> Graph:
    """Fold constants, apply algebraic identities, eliminate common subexpressions and dead code,
    until nothing changes; the new graph computes the same outputs with fewer equations.

    >>> from diffopt import grad, make_graph
    >>> print(simplify(make_graph(grad(lambda x: x ** 2))(3.0)))
    { lambda a:f64[] .
        b:f64[] = multiply 2 a
      in (b) }
    """
    alg = _algebraic_rule(assume_finite)
    passes = (_fold, lambda g: _rewrite(g, alg), _small_vectors, _cse, _dce)
    g, _ = _dce(graph)  # a fresh copy (and less work for the rounds)
    for _ in range(max_rounds):
        changed = False
        for p in passes:
            g, c = p(g)
            changed = changed or c
        if not changed:
            break
    g.rename()
    return g


__all__ = ["FOLD_MAX_SIZE", "MAX_POWER", "SMALL_VECTOR", "algebraic", "cse", "dce",
           "fold_constants", "simplify", "small_vectors"]
