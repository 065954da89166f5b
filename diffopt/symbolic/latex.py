"""LaTeX for expressions: ``\\frac``, powers, ``\\sqrt`` and named functions."""

from __future__ import annotations

from fractions import Fraction

from .printing import ATOM, COMPARE, POWER, PRODUCT, SUM, UNARY, Style, render

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi",
          "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma",
          "Phi", "Psi", "Omega"}
_FUNCS = {"sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "arcsin", "arccos",
          "arctan"}
_COMPARE = {"equal": "=", "not_equal": r"\neq", "less": "<", "less_equal": r"\leq",
            "greater": ">", "greater_equal": r"\geq"}


def _symbol(name: str) -> str:
    base, _, sub = name.partition("_")
    base = "\\" + base if base in _GREEK else base
    return f"{base}_{{{_symbol(sub)}}}" if sub else base


def _const(value) -> tuple[str, int]:
    if isinstance(value, Fraction):
        sign = "-" if value < 0 else ""
        return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}", PRODUCT
    text = str(value)
    return text, (UNARY if text.startswith("-") else ATOM)


def _paren(t: str, p: int, need: int) -> str:
    return f"\\left({t}\\right)" if p < need else t


def _node(e, a: list) -> tuple[str, int]:
    name = e.prim.name
    if name in ("add", "subtract"):
        op = " + " if name == "add" else " - "
        need = SUM + 1 if name == "subtract" else SUM
        return a[0][0] + op + _paren(a[1][0], a[1][1], need), SUM
    if name == "multiply":
        left = _paren(a[0][0], a[0][1], PRODUCT)
        right = _paren(a[1][0], a[1][1], ATOM if a[1][1] == UNARY else PRODUCT)
        digit = right[:1].isdigit() or right.startswith("\\frac")
        return left + (" \\cdot " if digit else " ") + right, PRODUCT
    if name == "divide":
        return f"\\frac{{{a[0][0]}}}{{{a[1][0]}}}", ATOM
    if name == "power":
        return f"{{{_paren(a[0][0], a[0][1], ATOM)}}}^{{{a[1][0]}}}", POWER
    if name == "negative":
        return "-" + _paren(a[0][0], a[0][1], PRODUCT), UNARY
    if name == "sqrt":
        return f"\\sqrt{{{a[0][0]}}}", ATOM
    if name == "absolute":
        return f"\\left|{a[0][0]}\\right|", ATOM
    if name in _COMPARE:
        return f"{a[0][0]} {_COMPARE[name]} {a[1][0]}", COMPARE
    fname = f"\\{name}" if name in _FUNCS else f"\\operatorname{{{name}}}"
    return f"{fname}\\left({', '.join(t for t, _ in a)}\\right)", ATOM


LATEX = Style(symbol=_symbol, const=_const, node=_node)


def to_latex(expr) -> str:
    r"""LaTeX source for an expression.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> print(to_latex(x**2 / y))
    \frac{{x}^{2}}{y}
    """
    return render(expr, LATEX)
