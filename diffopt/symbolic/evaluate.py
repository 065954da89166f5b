"""Evaluating expressions: substituting values (or other expressions) for symbols, and tracing
Python functions into expressions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .expr import Const, Expr, Symbol, as_expr, topo_order
from .folding import to_float


def replay(expr, env: Mapping, numeric: bool = False, rewrites: Mapping | None = None):
    """Rebuild ``expr`` binding each primitive again, with ``env[id(symbol)]`` for its symbols.

    Symbols missing from ``env`` stay symbolic; values may be numbers, arrays, other expressions
    or tracers of active transformations (so the result is differentiable). With ``numeric``
    constants enter as numbers (evaluation); otherwise they stay exact expressions.
    ``rewrites`` maps primitive names to equivalent functions used instead of the primitive.
    """
    rewrites = rewrites or {}
    expr = as_expr(expr)
    vals: dict = {}
    for e in topo_order(expr):
        if isinstance(e, Symbol):
            vals[id(e)] = env.get(id(e), e)
        elif isinstance(e, Const):
            vals[id(e)] = to_float(e.value) if numeric else e
        else:
            args = [vals[id(a)] for a in e.args]
            if not numeric and all(a is orig for a, orig in zip(args, e.args)):
                vals[id(e)] = e  # nothing substituted below: reuse the node
            elif e.prim.name in rewrites:
                vals[id(e)] = rewrites[e.prim.name](*args, **e.params)
            else:
                vals[id(e)] = e.prim.bind(*args, **e.params)
    return vals[id(expr)]


def _env(values: Mapping) -> dict:
    env = {}
    for k, v in values.items():
        sym = Symbol(k) if isinstance(k, str) else k
        if not isinstance(sym, Symbol):
            raise TypeError(f"values must be keyed by symbols or their names, got {k!r}")
        env[id(sym)] = v
    return env


def evaluate(expr, values: Mapping):
    """The value of ``expr`` with ``values[symbol]`` (or ``values["name"]``) for each symbol.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> float(evaluate(x**2 + y, {x: 3.0, y: 1.0}))
    10.0
    """
    expr = as_expr(expr)
    env = _env(values)
    missing = sorted(s.name for s in expr.free_symbols if id(s) not in env)
    if missing:
        raise ValueError(f"evaluate: no value given for symbol(s) {', '.join(missing)}")
    if isinstance(expr, Const):
        return to_float(expr.value)
    return replay(expr, env, numeric=True)


def subs(expr, values: Mapping) -> Expr:
    """``expr`` with symbols replaced by expressions or numbers (not simplified).

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> subs(x**2, {x: y + 1})
    (y + 1)**2
    """
    return as_expr(replay(expr, {k: as_expr(v) for k, v in _env(values).items()}))


def trace(f: Callable, *names: str) -> Expr:
    """The expression computed by ``f`` (written with diffopt.numpy) on symbols named ``names``.

    >>> trace(lambda x, y: x**2 * y + y + 2, "x", "y")
    x**2*y + y + 2
    """
    return as_expr(f(*[Symbol(n) for n in names]))
