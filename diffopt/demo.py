"""The worked examples, each derivative by finite differences, forward and reverse mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import numpy as dnp
from .numerical import gradient
from .transforms import grad, jacfwd


@dataclass(frozen=True)
class Example:
    title: str
    f: Callable  # of one vector argument
    at: tuple
    exact: tuple


def _sigmoid_exact():
    s = 1 / (1 + np.exp(-7.0))
    return (3 * s * (1 - s), 2 * s * (1 - s), s * (1 - s))


EXAMPLES = [
    Example("f(x, y) = x^2 y + y + 2 at (3, 4)",
            lambda v: v[0] ** 2 * v[1] + v[1] + 2, (3.0, 4.0), (24.0, 10.0)),
    Example("d/dx sin(x^2) at 3", lambda v: dnp.sin(v[0] ** 2), (3.0,), (6 * np.cos(9.0),)),
    Example("sigmoid(a x + b) at (x, a, b) = (2, 3, 1)",
            lambda v: 1 / (1 + dnp.exp(-(v[1] * v[0] + v[2]))), (2.0, 3.0, 1.0), _sigmoid_exact()),
    Example("z = x1 x2 + sin x1 at (1, 2)",
            lambda v: v[0] * v[1] + dnp.sin(v[0]), (1.0, 2.0), (2 + np.cos(1.0), 1.0)),
    Example("(x^2 + 1)^2 at 1", lambda v: (v[0] ** 2 + 1) ** 2, (1.0,), (8.0,)),
    Example("x^y at (2, 3)", lambda v: v[0] ** v[1], (2.0, 3.0), (12.0, 8 * np.log(2.0))),
]

METHODS = {
    "finite differences (central)": lambda f, x: gradient(f, x, method="central"),
    "forward mode (jacfwd)": lambda f, x: jacfwd(f)(x),
    "reverse mode (grad)": lambda f, x: grad(f)(x),
}


def derivative_table(examples=EXAMPLES) -> list[dict]:
    """One row per (example, method): the derivative and its largest error against the exact."""
    rows = []
    for ex in examples:
        x = np.array(ex.at)
        exact = np.array(ex.exact)
        for method, compute in METHODS.items():
            value = np.asarray(compute(ex.f, x), dtype=float)
            rows.append({"example": ex.title, "method": method, "value": value,
                         "error": float(np.max(np.abs(value - exact)))})
    return rows


def run() -> None:
    """Print the table of derivatives for the worked examples."""
    print("diffopt: one derivative, three methods. Error is the largest |computed - exact|.\n")
    last = None
    for row in derivative_table():
        if row["example"] != last:
            ex = next(e for e in EXAMPLES if e.title == row["example"])
            print(f"{row['example']}    exact: {np.array2string(np.array(ex.exact), precision=10)}")
            last = row["example"]
        value = np.array2string(row["value"], precision=10, floatmode="fixed")
        print(f"    {row['method']:<30} {value:<42} error {row['error']:.1e}")
    print("\nAutomatic differentiation is exact to rounding; finite differences lose about "
          "a third of the digits.")


# --- every method side by side (``diffopt demo methods``) -----------------------------------------
@dataclass(frozen=True)
class MethodExample:
    title: str
    f: Callable  # of one vector argument, indexing it (so that symbols can stand in)
    at: tuple
    exact: tuple
    names: tuple  # symbol names of the entries, for the printed closed forms


METHOD_EXAMPLES = [
    MethodExample("f(x, y) = x^2 y + y + 2 at (3, 4)", EXAMPLES[0].f, (3.0, 4.0), (24.0, 10.0),
                  ("x", "y")),
    MethodExample("sigmoid(a x + b) at (x, a, b) = (2, 3, 1)", EXAMPLES[2].f, (2.0, 3.0, 1.0),
                  _sigmoid_exact(), ("x", "a", "b")),
    MethodExample("sin(x^2) at 3", EXAMPLES[1].f, (3.0,), (6 * np.cos(9.0),), ("x",)),
]


def methods_table(examples=METHOD_EXAMPLES, budget: float = 0.02) -> list:
    """``diffopt.compare`` of each example against its exact gradient (a list of Comparisons)."""
    from .compare import compare

    return [compare(ex.f, ex.at, exact=ex.exact, names=ex.names, budget=budget, title=ex.title)
            for ex in examples]


def run_methods(quick: bool = False) -> None:
    """Print every method's derivative, error and time per call for the classic examples."""
    print("diffopt: each derivative by finite differences, the complex step, symbolic "
          "differentiation,\nforward and reverse mode. Error is the largest |computed - exact|.\n")
    for table in methods_table(budget=0.005 if quick else 0.02):
        print(table, end="\n\n")
    print("Finite differences lose digits to the step; the complex step, symbolic and automatic\n"
          "differentiation are exact to rounding. Symbolic needs a closed form; AD needs only the "
          "program.\nThe symbolic time is the lambdified derivative's (tracing and "
          "differentiating happen once, before).")
