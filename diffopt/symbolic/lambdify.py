"""``lambdify``: Python source generated from an expression DAG, run by NumPy or compiled by Numba.

Each node becomes one assignment ``t3 = np.sin(t1)``, so shared subexpressions are computed once.
Arguments are named ``a0, a1, ...`` by position: the source never contains text from a symbol name.

The numbers follow NumPy for every kind of input: the NumPy function turns Python numbers into
NumPy scalars first (``1/0`` is ``inf`` with NumPy's warning, not ZeroDivisionError; ``(-8)**(1/3)``
is ``nan``, not a complex number), and Numba compiles with its NumPy error model (the same values,
without warnings).
"""

from __future__ import annotations

import numpy as np

from .expr import Const, Symbol, as_expr, topo_order
from .folding import to_float
from .printing import BINARY

_WHERE_NUMBA = "({1} if {0} else {2})"


def _literal(value) -> str | None:
    v = to_float(value)
    if isinstance(v, np.ndarray):
        return None
    if isinstance(v, float) and not np.isfinite(v):
        return "np.nan" if np.isnan(v) else ("np.inf" if v > 0 else "-np.inf")
    return repr(v)


def _numpy_name(prim) -> str | None:
    fn = getattr(np, prim.name, None)
    return f"np.{prim.name}" if fn is not None and fn is prim.impl else None


_NUMPY_SCALAR = {float: np.float64, complex: np.complex128, bool: np.bool_}


def _as_numpy(x):
    """A Python number as a NumPy scalar (so that operators follow NumPy); anything else as is."""
    to_numpy = _NUMPY_SCALAR.get(type(x))
    if to_numpy is not None:
        return to_numpy(x)
    return np.asarray(x)[()] if type(x) is int else x


def generate_source(variables: list, expr, backend: str = "numpy") -> tuple[str, dict]:
    """The source of ``def f(a0, a1, ...)`` computing ``expr`` and the globals it needs."""
    expr = as_expr(expr)
    syms = []
    for v in variables:
        s = Symbol(v) if isinstance(v, str) else v
        if not isinstance(s, Symbol):
            raise TypeError(f"lambdify: variables must be symbols or names, got {v!r}")
        syms.append(s)
    position = {id(s): i for i, s in enumerate(syms)}
    missing = sorted(s.name for s in expr.free_symbols if id(s) not in position)
    if missing:
        raise ValueError(f"lambdify: the expression also depends on {', '.join(missing)}; "
                         "list every symbol in the variables")
    names: dict = {}
    namespace: dict = {"np": np}
    lines = [f"def f({', '.join(f'a{i}' for i in range(len(syms)))}):"]
    if backend == "numpy":
        namespace["_as_numpy"] = _as_numpy
        lines += [f"    a{i} = _as_numpy(a{i})" for i in range(len(syms))]
    for e in topo_order(expr):
        if isinstance(e, Symbol):
            names[id(e)] = f"a{position[id(e)]}"
            continue
        if isinstance(e, Const):
            text = _literal(e.value)
            if text is None:
                text = f"c{len(namespace)}"
                namespace[text] = e.value
            names[id(e)] = text
            continue
        args = [names[id(a)] for a in e.args]
        name = e.prim.name
        if name in BINARY and not e.params:
            rhs = f"({args[0]}){BINARY[name][0].strip()}({args[1]})"
        elif name == "negative":
            rhs = f"-({args[0]})"
        elif name == "where" and backend == "numba":
            rhs = _WHERE_NUMBA.format(*args)
        elif _numpy_name(e.prim) and not e.params:
            rhs = f"{_numpy_name(e.prim)}({', '.join(args)})"
        elif backend == "numba":
            raise NotImplementedError(f"lambdify: {name} has no Numba translation here; use "
                                      "backend='numpy'")
        else:  # the primitive's own implementation, passed in by object (never by text)
            fn, params = f"p{len(namespace)}", f"k{len(namespace)}"
            namespace[fn], namespace[params] = e.prim.impl, dict(e.params)
            rhs = f"{fn}({', '.join(args)}, **{params})"
        var = f"t{len(names)}"
        lines.append(f"    {var} = {rhs}")
        names[id(e)] = var
    lines.append(f"    return {names[id(expr)]}")
    return "\n".join(lines) + "\n", namespace


def lambdify(variables, expr, backend: str = "numpy"):
    """A fast numeric function of ``variables`` (symbols, by position) computing ``expr``.

    >>> from diffopt.symbolic import symbols
    >>> x, y = symbols("x y")
    >>> f = lambdify([x, y], x**2 * y)
    >>> float(f(3.0, 2.0))
    18.0
    """
    if backend not in ("numpy", "numba"):
        raise ValueError(f"lambdify: backend must be 'numpy' or 'numba', got {backend!r}")
    source, namespace = generate_source(list(variables), expr, backend)
    exec(compile(source, "<diffopt.symbolic.lambdify>", "exec"), namespace)  # noqa: S102
    fn = namespace["f"]
    fn.source = source
    if backend == "numba":
        import numba

        jitted = numba.njit(cache=False, error_model="numpy")(fn)
        jitted.source = source
        return jitted
    return fn
