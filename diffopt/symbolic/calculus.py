"""Symbolic derivatives: forward mode over the expression DAG, using each primitive's JVP rules.

The expression is replayed under a ``JVPTrace`` whose primal values are expressions: the rules,
written with ``diffopt.numpy``, then build the derivative's expression (each node once, as forward
mode visits the DAG once). The result is simplified.
"""

from __future__ import annotations

from .. import numpy as dnp
from ..core.forward import JVPTrace, JVPTracer
from ..core.trace import new_trace
from .evaluate import replay
from .expr import Const, Expr, Symbol, as_expr
from .simplify import simplify

# Primitives whose JVP rules hold rounded constants (log 2, log 10): differentiate an exact
# equivalent instead, so that the derivative prints log(2) rather than 0.693...
_EXACT_FORMS = {
    "exp2": lambda a: Const(2) ** a,
    "log2": lambda a: dnp.log(a) / dnp.log(Const(2)),
    "log10": lambda a: dnp.log(a) / dnp.log(Const(10)),
}


def _check_symbol(x) -> Symbol:
    sym = Symbol(x) if isinstance(x, str) else x
    if not isinstance(sym, Symbol):
        raise TypeError(f"can only differentiate with respect to a Symbol, got {x!r}")
    return sym


def _diff_once(expr: Expr, x: Symbol) -> Expr:
    if id(x) not in {id(s) for s in expr.free_symbols}:
        return Const(0)
    with new_trace(JVPTrace) as tr:
        out = replay(expr, {id(x): JVPTracer(tr, x, Const(1))}, rewrites=_EXACT_FORMS)
        tangent = out.tangent if isinstance(out, JVPTracer) and out._trace is tr else Const(0)
    return simplify(tangent)


def diff(expr, x, n: int = 1) -> Expr:
    """The ``n``-th derivative of ``expr`` with respect to the symbol ``x``, simplified.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> print(diff(x**2 + 2**x, x))
    2*x + 2**x*log(2)
    """
    expr, x = as_expr(expr), _check_symbol(x)
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"diff: the order n must be a nonnegative integer, got {n!r}")
    if expr.shape != ():
        raise NotImplementedError("diff: only scalar expressions can be differentiated")
    expr = simplify(expr)
    for _ in range(n):
        expr = _diff_once(expr, x)
    return expr


def gradient(expr, variables) -> list:
    """The partial derivatives of ``expr`` with respect to each symbol in ``variables``.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> gradient(x**2 * y, [x, y])
    [2*x*y, x**2]
    """
    return [diff(expr, v) for v in variables]


def hessian(expr, variables) -> list:
    """The matrix (list of rows) of second partial derivatives of ``expr``.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> hessian(x**2 * y, [x, y])
    [[2*y, 2*x], [2*x, 0]]
    """
    grad = gradient(expr, variables)
    return [[diff(g, v) for v in variables] for g in grad]
