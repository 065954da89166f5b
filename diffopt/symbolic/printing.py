"""Infix printing of expressions as Python source (``2*x + 2**x*log(2)``).

Each node prints with a precedence; an argument is parenthesised when it binds more loosely than
its position requires. The output is valid Python with the ``diffopt.numpy`` names in scope.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

# Precedences (higher binds tighter), as in Python.
COMPARE, SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5, 6

BINARY = {  # name: (symbol, precedence)
    "add": (" + ", SUM), "subtract": (" - ", SUM), "multiply": ("*", PRODUCT),
    "divide": ("/", PRODUCT), "power": ("**", POWER),
    "equal": (" == ", COMPARE), "not_equal": (" != ", COMPARE), "less": (" < ", COMPARE),
    "less_equal": (" <= ", COMPARE), "greater": (" > ", COMPARE),
    "greater_equal": (" >= ", COMPARE),
}
FUNCTION_NAMES = {"absolute": "abs", "conjugate": "conj"}


def const_text(value) -> tuple[str, int]:
    """The text of a constant and its precedence."""
    if isinstance(value, np.ndarray):
        return "array(" + np.array2string(value, separator=", ").replace("\n", "") + ")", ATOM
    if isinstance(value, Fraction):
        text = f"{value.numerator}/{value.denominator}"
        return (text, PRODUCT)
    if isinstance(value, complex):
        return repr(value), ATOM
    if isinstance(value, float) and not np.isfinite(value):
        return ("nan" if np.isnan(value) else "inf" if value > 0 else "-inf"), ATOM
    text = repr(value)
    return text, (UNARY if text.startswith("-") else ATOM)


def _wrap(text: str, prec: int, need: int) -> str:
    return f"({text})" if prec < need else text


def format_node(e, arg_texts: list) -> tuple[str, int]:
    """Text and precedence of one node given its arguments' (text, precedence) pairs."""
    name = e.prim.name
    if name in BINARY:
        sym, prec = BINARY[name]
        (a, pa), (b, pb) = arg_texts
        if name == "power":  # right-associative; the base must bind tighter than **
            return _wrap(a, pa, POWER + 1) + sym + _wrap(b, pb, POWER), POWER
        left_need = prec + 1 if prec == COMPARE else prec
        right_need = prec + 1 if name in ("subtract", "divide") or prec == COMPARE else prec
        if name == "multiply" and pb == UNARY:
            right_need = ATOM
        return _wrap(a, pa, left_need) + sym + _wrap(b, pb, right_need), prec
    if name == "negative":
        (a, pa), = arg_texts
        return "-" + _wrap(a, pa, PRODUCT if pa != UNARY else ATOM), UNARY
    fname = FUNCTION_NAMES.get(name, name)
    parts = [t for t, _ in arg_texts]
    parts += [f"{k}={v!r}" for k, v in e.params.items()]
    return f"{fname}({', '.join(parts)})", ATOM


def to_str(root) -> str:
    """Python-syntax text of an expression."""
    from .expr import Const, Symbol, topo_order

    texts: dict = {}
    for e in topo_order(root):
        if isinstance(e, Symbol):
            texts[id(e)] = (e.name, ATOM)
        elif isinstance(e, Const):
            texts[id(e)] = const_text(e.value)
        else:
            texts[id(e)] = format_node(e, [texts[id(a)] for a in e.args])
    return texts[id(root)][0]
