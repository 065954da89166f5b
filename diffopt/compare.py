"""One gradient by every method diffopt has, side by side: value, error and time per call.

``compare(f, x)`` differentiates a scalar function ``f`` of a vector ``x`` by forward and central
finite differences, the complex step, symbolic differentiation (with the printed closed form),
forward mode (``jacfwd``) and reverse mode (``grad``). A method that cannot handle ``f`` (complex
step of a non-analytic function, symbolic tracing of an unsupported primitive...) gives a row that
says why instead of an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import numerical
from .timing import time_call
from .transforms import grad, jacfwd

__all__ = ["compare", "Comparison", "Row", "METHOD_NAMES"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class Row:
    """One method's gradient: ``value`` (None on failure), ``error`` against the reference,
    ``seconds`` per call, ``status`` ("ok", "reference", why it failed, or "suspect: ..." for
    a complex step that disagrees with central differences) and the printed
    ``form`` (symbolic only)."""

    method: str
    value: np.ndarray | None = None
    error: float | None = None
    seconds: float | None = None
    status: str = "ok"
    form: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


class Comparison(list):
    """The rows of ``compare`` (a list of ``Row``) that prints as a table.

    ``reference`` is the gradient errors are measured against and ``reference_label`` says
    which ("exact" or "reverse mode (grad)").
    """

    def __init__(self, rows, reference, reference_label: str, title: str = ""):
        super().__init__(rows)
        self.reference = reference
        self.reference_label = reference_label
        self.title = title

    def row(self, method: str) -> Row:
        """The row of one method (by its name in ``METHOD_NAMES``)."""
        for r in self:
            if r.method == method:
                return r
        raise KeyError(f"no row for {method!r}; methods: {[r.method for r in self]}")

    def __str__(self) -> str:
        ref = _fmt_vector(self.reference) if self.reference is not None else "unavailable"
        lines = [self.title] if self.title else []
        lines.append(f"reference ({self.reference_label}): {ref}")
        lines.append(f"  {'method':<30} {'value':<40} {'error':>9} {'time/call':>11}")
        for r in self:
            if not r.ok:
                lines.append(f"  {r.method:<30} {'FAILED: ' + r.status}")
                continue
            err = "-" if r.error is None else f"{r.error:.1e}"
            note = "" if r.status == "ok" else f"  ({r.status})"
            lines.append(f"  {r.method:<30} {_fmt_vector(r.value):<40} {err:>9} "
                         f"{_fmt_time(r.seconds):>11}{note}")
            if r.form:
                lines.extend(f"  {'':<32}{part}" for part in r.form.split("\n"))
        return "\n".join(lines)

    __repr__ = __str__


def _fmt_vector(v) -> str:
    return np.array2string(np.asarray(v, dtype=float), precision=10, floatmode="fixed",
                           max_line_width=200)


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms"


# --- the methods: each builder returns (call, printed form or None) -----------------------------
def _finite(method: str):
    def build(f, x, names):
        return (lambda: numerical.gradient(f, x, method=method)), None

    return build


def _symbolic(f, x, names):
    try:
        from . import symbolic
    except ImportError as e:  # the symbolic layer is optional while it is being built
        raise _Unavailable(f"not available (diffopt.symbolic could not be imported: {e})") from e
    missing = [n for n in ("trace", "Symbol", "gradient", "lambdify")
               if not hasattr(symbolic, n)]
    if missing:
        raise _Unavailable(f"not available (diffopt.symbolic lacks {', '.join(missing)})")
    try:
        expr = symbolic.trace(lambda *s: f(list(s)), *names)
    except TypeError as e:
        if "'list'" not in str(e):
            raise
        raise TypeError(f"{e} (the symbolic method passes f a list of scalar symbols: index "
                        "it entry by entry, v[0], v[1], rather than with slices or as an array)"
                        ) from e
    symbols = [symbolic.Symbol(n) for n in names]
    parts = symbolic.gradient(expr, symbols)  # simplified partial derivatives
    form = "\n".join(f"df/d{n} = {p}" for n, p in zip(names, parts))
    values = [float(v) for v in x]
    try:
        fns = [symbolic.lambdify(symbols, p) for p in parts]
    except NotImplementedError:  # no code generation for some primitive: interpret instead
        env = dict(zip(symbols, values))
        return (lambda: np.array([symbolic.evaluate(p, env) for p in parts], dtype=float)), form
    return (lambda: np.array([fn(*values) for fn in fns], dtype=float)), form


def _forward(f, x, names):
    return (lambda: jacfwd(f)(x)), None


def _reverse(f, x, names):
    return (lambda: grad(f)(x)), None


class _Unavailable(Exception):
    """A method that cannot run at all here (not a failure of f)."""


_METHODS: dict[str, Callable] = {
    "finite differences (forward)": _finite("forward"),
    "finite differences (central)": _finite("central"),
    "complex step": _finite("complex"),
    "symbolic": _symbolic,
    "forward mode (jacfwd)": _forward,
    "reverse mode (grad)": _reverse,
}
METHOD_NAMES = tuple(_METHODS)
_REVERSE = "reverse mode (grad)"


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _run(method: str, f, x, names, budget: float) -> tuple[Row, Callable | None]:
    try:
        call, form = _METHODS[method](f, x, names)
        value = np.asarray(call(), dtype=float).reshape(-1)
        if value.shape != x.shape:
            raise ValueError(f"gradient has shape {value.shape}, expected {x.shape}")
    except _Unavailable as e:
        return Row(method, status=str(e)), None
    except Exception as e:  # noqa: BLE001 - every failure becomes a row of the table
        return Row(method, status=_describe(e)), None
    return Row(method, value=value, form=form), call


def _check_complex_step(rows: list, f, x, names, budget: float) -> None:
    """Flag a complex step that disagrees with central differences: ``f`` is not analytic.

    Functions such as ``abs`` or ``real`` inside ``f`` can keep the output complex yet make the
    complex step silently wrong; central differences (error ~1e-10 relative) expose it.
    """
    step = next((r for r in rows if r.method == "complex step" and r.ok), None)
    if step is None:
        return
    central = next((r for r in rows if r.method == "finite differences (central)"), None)
    if central is None:
        central, _ = _run("finite differences (central)", f, x, names, budget)
    if not central.ok:
        return
    gap = float(np.max(np.abs(step.value - central.value), initial=0.0))
    if gap > 1e-5 * max(1.0, float(np.max(np.abs(central.value), initial=0.0))):
        step.status = (f"suspect: differs from central differences by {gap:.1e}; f is probably "
                       "not complex-analytic (abs, real, conj, comparisons...)")


def compare(f: Callable, x, exact=None, names: Sequence[str] | None = None,
            budget: float = 0.02, methods: Sequence[str] | None = None,
            title: str = "") -> Comparison:
    """The gradient of the scalar function ``f`` at the vector ``x`` by every method.

    Returns a ``Comparison`` (a list of ``Row``, one per method; ``print`` it for a table): value,
    largest ``|value - reference|`` where the reference is ``exact`` if given, else reverse mode,
    and the best time per call (about ``budget`` seconds of timing per method; the symbolic row
    times the lambdified gradient, after tracing and differentiation). ``names`` are the symbol
    names of the entries of ``x`` for the symbolic method's printed form (default x0, x1, ...).
    ``f`` takes one vector and indexes it (``v[0]``, ``v[1]``); for the symbolic method it
    receives a list of symbols, so whole-array operations show up as a failed symbolic row.

    >>> table = compare(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0], names=["x", "y"],
    ...                 budget=0.001)
    >>> print(table)  # doctest: +ELLIPSIS
    reference (reverse mode (grad)): [24.0000000000 10.0000000000]
    ...
      symbolic                       [24.0000000000 10.0000000000]              0.0e+00 ...
                                      df/dx = 2*x*y
                                      df/dy = x**2 + 1
    ...
    """
    x = np.asarray(x, dtype=float)
    if x.ndim > 1:
        raise ValueError(f"compare needs a vector (or scalar) x, got shape {x.shape}; "
                         "pass x.ravel() and reshape inside f")
    x = x.reshape(-1)
    if names is None:
        names = [f"x{i}" for i in range(x.size)]
    names = list(names)
    if len(names) != x.size:
        raise ValueError(f"names has {len(names)} entries but x has {x.size}")
    for n in names:
        if not isinstance(n, str) or not _IDENTIFIER.match(n):
            raise ValueError(f"each name must be a Python identifier (it names a symbol), "
                             f"not {n!r}")
    methods = METHOD_NAMES if methods is None else tuple(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHOD_NAMES)}")

    if exact is not None:
        reference = np.asarray(exact, dtype=float).reshape(-1)
        if reference.shape != x.shape:
            raise ValueError(f"exact has shape {reference.shape}, expected {x.shape} like x")
        label = "exact"
    else:
        reference, label = None, _REVERSE

    rows = []
    for method in methods:
        row, call = _run(method, f, x, names, budget)
        if call is not None:
            row.seconds = time_call(call, budget, repeats=(1, 3))[0]
        rows.append(row)

    if reference is None:
        rev = next((r for r in rows if r.method == _REVERSE and r.ok), None)
        if rev is None:  # reverse mode was not asked for (or failed): compute it for reference
            rev, _ = _run(_REVERSE, f, x, names, budget)
        reference = rev.value
        if rev in rows:
            rev.status = "reference"
    for r in rows:
        if r.ok and reference is not None:
            r.error = float(np.max(np.abs(r.value - reference), initial=0.0))
    _check_complex_step(rows, f, x, names, budget)
    return Comparison(rows, reference, label if reference is not None else
                      f"{_REVERSE}, which failed", title)
