"""Printing expressions: one fold over the expression DAG, parameterised by a style.

A ``Style`` gives the text of a symbol, of a constant and of a node from its arguments' texts.
Each text carries a precedence, so an argument is parenthesised when it binds more loosely than
its position requires. ``PYTHON`` prints valid Python with the ``diffopt.numpy`` names in scope
(``2*x + 2**x*log(2)``); ``latex.LATEX`` prints LaTeX.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from . import expr as _expr
from .expr import Const, Symbol, as_expr, topo_order

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


class Style(NamedTuple):
    """How to print: ``symbol(name) -> text``, ``const(value)`` and ``node(e, arg_texts)`` ->
    ``(text, precedence)``, where ``arg_texts`` are the arguments' ``(text, precedence)`` pairs."""

    symbol: Callable
    const: Callable
    node: Callable


def render(expr, style: Style) -> str:
    """The text of an expression in ``style``: each shared node is printed once."""
    expr = as_expr(expr)
    texts: dict = {}
    for e in topo_order(expr):
        if isinstance(e, Symbol):
            texts[id(e)] = (style.symbol(e.name), ATOM)
        elif isinstance(e, Const):
            texts[id(e)] = style.const(e.value)
        else:
            texts[id(e)] = style.node(e, [texts[id(a)] for a in e.args])
    return texts[id(expr)][0]


PYTHON = Style(symbol=str, const=const_text, node=format_node)


def to_str(expr) -> str:
    """Python-syntax text of an expression.

    >>> to_str(Symbol("x") ** 2 + 1)
    'x**2 + 1'
    """
    return render(expr, PYTHON)


_expr.printer = to_str  # expressions print through this module, which sits above them
