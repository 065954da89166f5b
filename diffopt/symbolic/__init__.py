"""Symbolic expressions over diffopt's primitives: closed-form derivatives you can read.

Symbols are values of a permanent trace below every transformation, so ``diffopt.numpy`` functions
and operators build expressions, ``diff`` reuses the primitives' JVP rules, and ``simplify`` keeps
the printed forms short.

>>> from diffopt.symbolic import Symbol, diff
>>> x = Symbol("x")
>>> print(diff(x**2 + 2**x, x))
2*x + 2**x*log(2)
"""

from .calculus import diff, gradient, hessian
from .evaluate import evaluate, subs, trace
from .expr import Const, Expr, Symbol, symbols
from .lambdify import lambdify
from .latex import to_latex
from .simplify import simplify
from .sympy_bridge import to_sympy

__all__ = ["Const", "Expr", "Symbol", "symbols", "diff", "gradient", "hessian", "simplify",
           "evaluate", "subs", "trace", "lambdify", "to_latex", "to_sympy"]
