"""The simplifier: canonical sums and products, exact constant folding, a few identities.

Every node is rebuilt bottom-up. Sums (``add``, ``subtract``, ``negative``) are flattened into
coefficient * term pairs whose like terms are collected (``a + a`` -> ``2*a``, ``x - x`` -> ``0``);
products (``multiply``, ``divide``, ``power`` with integer exponents, ``square``, ``reciprocal``)
into a coefficient times bases with exponents (``x*x`` -> ``x**2``, ``x/x`` -> ``1``, ``x*0`` ->
``0``, ``x**1`` -> ``x``). Results are rebuilt in a fixed order (constants first in products,
polynomial terms first in sums), so equal expressions become the same shared node. ``where`` with a
constant condition picks its branch. Scalars only: expressions with array shapes are left as built.
Like most computer algebra systems, ``x/x`` -> ``1`` and ``0*x`` -> ``0`` assume ``x`` finite and
nonzero where needed.
"""

from __future__ import annotations

from fractions import Fraction

from ..numpy import elementwise as ew
from .expr import Const, Expr, Symbol, is_const, node, topo_order
from .folding import normalize

ADD, SUB, MUL = ew.add.primitive, ew.subtract.primitive, ew.multiply.primitive
DIV, NEG, POW = ew.divide.primitive, ew.negative.primitive, ew.power.primitive
_SUM_SIGNS = {"add": (1, 1), "subtract": (1, -1), "negative": (-1,), "positive": (1,)}
_PRODUCT_POWERS = {"multiply": (1, 1), "divide": (1, -1), "square": (2,), "reciprocal": (-1,)}


def simplify(expr) -> Expr:
    """A simpler equal expression (canonical sums and products, folded constants).

    >>> from diffopt.symbolic import Symbol
    >>> x = Symbol("x")
    >>> print(simplify(x*1 + 0 + x))
    2*x
    """
    from .expr import as_expr

    return _Simplifier().run(as_expr(expr))


def _is_negative(c) -> bool:
    return isinstance(c, (int, float, Fraction)) and not isinstance(c, bool) and c < 0


def _is_number(e) -> bool:
    return is_const(e) and not isinstance(e.value, bool)


class _Simplifier:
    def __init__(self):
        self.memo = {}
        self.products = {}  # id(expr) -> (expr, coefficient, factors)

    def run(self, root: Expr) -> Expr:
        for e in topo_order(root):
            if e.prim is None:
                self.memo[id(e)] = e
            else:
                args = [self.memo[id(a)] for a in e.args]
                self.memo[id(e)] = self.rewrite(e.prim, args, e.params)
        return self.memo[id(root)]

    def rewrite(self, prim, args: list, params: dict) -> Expr:
        name = prim.name
        if params or any(a.shape != () for a in args):
            return node(prim, args, params)
        if name in _SUM_SIGNS:
            terms, const = {}, 0
            for a, s in zip(args, _SUM_SIGNS[name]):
                const = self.collect_sum(a, s, terms, const)
            return self.build_sum(terms, const)
        if name in _PRODUCT_POWERS or name == "power":
            acc = [1, {}]
            if name == "power":
                self.collect_power(args[0], args[1], 1, acc)
            else:
                for a, p in zip(args, _PRODUCT_POWERS[name]):
                    self.collect_product(a, p, acc)
            return self.build_product(*acc)
        if name == "where" and args[1] is args[2]:
            return args[1]
        return node(prim, args, params)

    # -- sums -----------------------------------------------------------------------------------
    def collect_sum(self, e: Expr, sign: int, terms: dict, const):
        if _is_number(e):
            return normalize(const + sign * e.value)
        signs = _SUM_SIGNS.get(e.prim.name) if e.prim is not None else None
        if signs is not None and e.shape == ():
            for a, s in zip(e.args, signs):
                const = self.collect_sum(a, sign * s, terms, const)
            return const
        coef, rest = self.split(e)
        entry = terms.get(id(rest))
        if entry is None:
            terms[id(rest)] = [sign * coef, rest]
        else:
            entry[0] = normalize(entry[0] + sign * coef)
        return const

    def split(self, e: Expr):
        """``e`` as coefficient * rest, rest a product with coefficient 1."""
        coef, factors = self.factors(e)
        return coef, self.build_product(1, factors)

    def build_sum(self, terms: dict, const) -> Expr:
        items = [(normalize(c), rest) for c, rest in terms.values() if c != 0]
        items.sort(key=lambda item: self.term_order(item[1]))
        result = None
        for c, rest in items:
            if result is None:
                result = self.scale(c, rest)
            elif _is_negative(c):
                result = node(SUB, [result, self.scale(-c, rest)])
            else:
                result = node(ADD, [result, self.scale(c, rest)])
        if result is None:
            return Const(const)
        if const != 0:
            if _is_negative(const):
                return node(SUB, [result, Const(-const)])
            return node(ADD, [result, Const(const)])
        return result

    def scale(self, c, rest: Expr) -> Expr:
        coef, factors = self.factors(rest)
        return self.build_product(normalize(c * coef), factors)

    def term_order(self, rest: Expr):
        _, factors = self.factors(rest)
        bases = list(factors.values())
        if bases and all(isinstance(b, Symbol) and _is_number(x) for b, x in bases):
            degree = sum(float(x.value.real if isinstance(x.value, complex) else x.value)
                         for _, x in bases)
            return (0, -degree, str(rest))
        return (1, 0, str(rest))

    # -- products -------------------------------------------------------------------------------
    def factors(self, e: Expr):
        hit = self.products.get(id(e))
        if hit is None:
            acc = [1, {}]
            self.collect_product(e, 1, acc)
            hit = self.products[id(e)] = (e, normalize(acc[0]), acc[1])
        return hit[1], hit[2]

    def collect_product(self, e: Expr, p: int, acc: list) -> None:
        if _is_number(e):
            try:
                acc[0] = normalize(acc[0] * (Fraction(e.value) ** p if isinstance(
                    e.value, (int, Fraction)) else e.value**p))
                return
            except ZeroDivisionError:
                pass
        name = e.prim.name if e.prim is not None else None
        if e.shape != ():
            self.add_factor(acc, e, Const(p))
        elif name in _PRODUCT_POWERS:
            for a, q in zip(e.args, _PRODUCT_POWERS[name]):
                self.collect_product(a, p * q, acc)
        elif name == "negative":
            acc[0] = normalize(acc[0] * (-1) ** p)
            self.collect_product(e.args[0], p, acc)
        elif name == "power":
            self.collect_power(e.args[0], e.args[1], p, acc)
        else:
            self.add_factor(acc, e, Const(p))

    def collect_power(self, base: Expr, exponent: Expr, p: int, acc: list) -> None:
        if _is_number(exponent) and isinstance(exponent.value, int):
            self.collect_product(base, p * exponent.value, acc)
        elif _is_number(exponent):
            self.add_factor(acc, base, Const(exponent.value * p))
        else:
            self.add_factor(acc, base, exponent if p == 1 else self.rewrite(MUL, [Const(p),
                                                                                exponent], {}))

    def add_factor(self, acc: list, base: Expr, exponent: Expr) -> None:
        entry = acc[1].get(id(base))
        if entry is None:
            acc[1][id(base)] = (base, exponent)
        else:
            acc[1][id(base)] = (base, self.rewrite(ADD, [entry[1], exponent], {}))

    def build_product(self, coef, factors: dict) -> Expr:
        if coef == 0:
            return Const(0)
        items = [(b, x) for b, x in factors.values() if not is_const(x, 0)]
        items.sort(key=_factor_order)
        num, den = [], []
        for b, x in items:
            if _is_number(x) and _is_negative(x.value):
                den.append(self.power(b, Const(-x.value)))
            else:
                num.append(self.power(b, x))
        negative = _is_negative(coef)
        c = -coef if negative else coef
        cn, cd = (c.numerator, c.denominator) if isinstance(c, Fraction) else (c, 1)
        top = _chain(num)
        if top is None or not (isinstance(cn, int) and cn == 1):
            top = Const(cn) if top is None else node(MUL, [Const(cn), top])
        if den or cd != 1:
            bottom = _chain(den)
            if cd != 1:
                bottom = Const(cd) if bottom is None else node(MUL, [Const(cd), bottom])
            top = node(DIV, [top, bottom])
        return node(NEG, [top]) if negative else top

    @staticmethod
    def power(base: Expr, exponent: Expr) -> Expr:
        return base if is_const(exponent, 1) else node(POW, [base, exponent])


def _factor_order(item) -> tuple:
    """Symbols with numeric exponents first (by name), then other bases by their text."""
    base, exponent = item
    return (0 if isinstance(base, Symbol) and _is_number(exponent) else 1, str(base))


def _chain(factors: list):
    out = None
    for f in factors:
        out = f if out is None else node(MUL, [out, f])
    return out
