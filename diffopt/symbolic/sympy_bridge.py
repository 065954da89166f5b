"""``to_sympy``: the same expression as a SymPy object, for users who want a full CAS."""

from __future__ import annotations

import operator

_RENAMED = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
            "arccosh": "acosh", "arctanh": "atanh", "absolute": "Abs", "conjugate": "conjugate",
            "sign": "sign", "floor": "floor", "ceil": "ceiling", "maximum": "Max",
            "minimum": "Min", "arctan2": "atan2"}


def _table(sp) -> dict:
    return {
        "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
        "divide": operator.truediv, "power": operator.pow, "negative": operator.neg,
        "positive": operator.pos, "square": lambda a: a**2, "reciprocal": lambda a: 1 / a,
        "exp2": lambda a: 2**a, "expm1": lambda a: sp.exp(a) - 1,
        "log1p": lambda a: sp.log(1 + a), "log2": lambda a: sp.log(a, 2),
        "log10": lambda a: sp.log(a, 10), "cbrt": lambda a: sp.cbrt(a),
        "hypot": lambda a, b: sp.sqrt(a**2 + b**2),
        "logaddexp": lambda a, b: sp.log(sp.exp(a) + sp.exp(b)),
        "equal": sp.Eq, "not_equal": sp.Ne, "less": operator.lt, "less_equal": operator.le,
        "greater": operator.gt, "greater_equal": operator.ge,
        "where": lambda c, a, b: sp.Piecewise((a, c), (b, True)),
    }


def to_sympy(expr):
    """The expression as a SymPy expression (requires SymPy, optional: the example is skipped).

    >>> from diffopt.symbolic import Symbol
    >>> x = Symbol("x")
    >>> to_sympy(x**2 + 1)  # doctest: +SKIP
    x**2 + 1
    """
    try:
        import sympy as sp
    except ImportError as err:
        raise ImportError("to_sympy needs SymPy: pip install sympy") from err
    from fractions import Fraction

    from .expr import Const, Symbol, as_expr, topo_order

    expr = as_expr(expr)
    table = _table(sp)
    out: dict = {}
    for e in topo_order(expr):
        if isinstance(e, Symbol):
            out[id(e)] = sp.Symbol(e.name, real=True)
        elif isinstance(e, Const):
            v = e.value
            out[id(e)] = sp.Rational(v.numerator, v.denominator) if isinstance(
                v, Fraction) else sp.sympify(v)
        else:
            name = e.prim.name
            fn = table.get(name) or getattr(sp, _RENAMED.get(name, name), None)
            if fn is None or e.params:
                raise NotImplementedError(f"to_sympy: no SymPy equivalent for {name}")
            out[id(e)] = fn(*[out[id(a)] for a in e.args])
    return out[id(expr)]
