"""Numba code generation: a graph becomes the source of one ``numba.njit`` kernel.

Each primitive is lowered by a row of ``LOWERINGS`` (primitive name -> function giving source text
from the operands' source text) to NumPy-level code that Numba compiles: ``_np.sin(a)``, ``a * b``,
``a[1:]``, ``_np.sum(a)``, ``a @ b``... 0-d values are plain scalars, so a scalar chain compiles
to scalar arithmetic. Elementwise results used exactly once are written inline into their consumer
(``d = 100.0 * (b - c ** 2) ** 2``): Numba's array-expression pass then fuses the whole expression
into a single loop, with no temporaries. Array constants are passed to the kernel as arguments (so
they are not frozen into the compiled code); a small Python wrapper supplies them.

A primitive without a lowering raises ``NotLowerable``; the jit then falls back to the NumPy
backend with a warning.
"""

from __future__ import annotations

import numpy as np

from ..core.graph import Graph, Literal
from .codegen_numpy import is_inline_number, signature

_MAX_INLINE_DEPTH = 24  # nesting of inlined expressions (the Python parser limits parentheses)


class NotLowerable(Exception):
    """A primitive (or a use of it) the Numba backend has no code for."""

    def __init__(self, prim_name: str, why: str = ""):
        super().__init__(why or "no lowering rule")
        self.prim_name = prim_name


# --- lowering table -------------------------------------------------------------------------------
OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**"}
"""Binary primitives written as Python operators: ``a + b`` on arrays (Numba) and on scalars
(the CUDA backend's fused kernels) alike."""

_NAN = "{0} != {0}"  # (written only with plain names as operands: they may repeat)
UFUNCS = {
    # name: its scalar spelling with ``math.*`` for a CUDA kernel, or None where there is none
    # ({0}, {1}: the operands; {T}: the cast to the compute dtype, for typed constants)
    # unary
    "negative": "-{0}", "positive": "+{0}", "square": "{0} * {0}", "sqrt": "math.sqrt({0})",
    "cbrt": None, "reciprocal": "{T}(1) / {0}", "exp": "math.exp({0})",
    "expm1": "math.expm1({0})", "exp2": "math.exp2({0})", "log": "math.log({0})",
    "log1p": "math.log1p({0})", "log2": "math.log2({0})", "log10": "math.log10({0})",
    "sin": "math.sin({0})", "cos": "math.cos({0})", "tan": "math.tan({0})",
    "arcsin": "math.asin({0})", "arccos": "math.acos({0})", "arctan": "math.atan({0})",
    "sinh": "math.sinh({0})", "cosh": "math.cosh({0})", "tanh": "math.tanh({0})",
    "arcsinh": "math.asinh({0})", "arccosh": "math.acosh({0})", "arctanh": "math.atanh({0})",
    "deg2rad": "math.radians({0})", "rad2deg": "math.degrees({0})", "sinc": None,
    "sign": f"({{0}} if {_NAN} else {{T}}(int({{0}} > {{T}}(0)) - int({{0}} < {{T}}(0))))",
    "floor": None, "ceil": None, "rint": None, "trunc": None,  # (math.floor gives an int)
    "conjugate": "{0}", "absolute": "abs({0})", "isnan": "math.isnan({0})",
    "isfinite": "math.isfinite({0})", "isinf": "math.isinf({0})",
    "signbit": "math.copysign({T}(1), {0}) < {T}(0)", "logical_not": "not {0}",
    # binary
    "arctan2": "math.atan2({0}, {1})", "hypot": "math.hypot({0}, {1})",
    "maximum": f"({{0}} if {_NAN} or {{0}} > {{1}} else {{1}})",  # NaN wins, as in NumPy
    "minimum": f"({{0}} if {_NAN} or {{0}} < {{1}} else {{1}})",
    "fmax": "({0} if {1} != {1} or {0} > {1} else {1})",  # NaN loses
    "fmin": "({0} if {1} != {1} or {0} < {1} else {1})",
    "logaddexp": None, "logaddexp2": None, "floor_divide": None, "remainder": None,
    "fmod": None, "float_power": None, "equal": "{0} == {1}", "not_equal": "{0} != {1}",
    "less": "{0} < {1}", "less_equal": "{0} <= {1}", "greater": "{0} > {1}",
    "greater_equal": "{0} >= {1}", "logical_and": "(bool({0}) and bool({1}))",
    "logical_or": "(bool({0}) or bool({1}))", "logical_xor": "(bool({0}) != bool({1}))",
    "bitwise_and": "{0} & {1}", "bitwise_or": "{0} | {1}", "bitwise_xor": "{0} ^ {1}",
}
"""The ufunc primitives: ``_np.{name}(...)`` in a Numba kernel, and the scalar spelling that the
CUDA backend writes into its fused kernels (None: that primitive runs on the array module)."""


def _is_basic_index(idx) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in idx)


def _slice_src(s) -> str:
    if s is Ellipsis:
        return "..."
    if s is None:
        return "None"
    if not isinstance(s, slice):
        return str(int(s))
    parts = ["" if v is None else str(int(v)) for v in (s.start, s.stop, s.step)]
    return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")


def _index_src(eqn) -> str:
    idx = eqn.params["idx"]
    if not _is_basic_index(idx):
        raise NotLowerable(eqn.prim.name, "only integers, slices, None and ... are lowered")
    return ", ".join(_slice_src(i) for i in idx) if idx else "()"


def _dtype_src(dtype) -> str:
    return f"_np.{np.dtype(dtype).name}"


def _lower_getitem(eqn, x):
    if not eqn.inputs[0].shape:  # a scalar: only None and ... can index it
        _index_src(eqn)
        shape = eqn.outputs[0].shape
        return f"_np.full({shape}, {x})" if shape else x
    return f"{x}[{_index_src(eqn)}]"


def _scatter(op):
    def lower(eqn, x, v):
        if not eqn.outputs[0].shape:
            raise NotLowerable(eqn.prim.name, "0-d target")
        out = eqn.outputs[0].name
        return [f"{out} = {x}.copy()", f"{out}[{_index_src(eqn)}] {op} {v}"]

    return lower


def _constant_like(fill):
    def lower(eqn, x, *fill_arg):
        (out,) = eqn.outputs
        value = fill_arg[0] if fill_arg else fill
        if not out.shape:
            return f"{_dtype_src(out.dtype)}({value})"
        return f"_np.full({out.shape}, {value}, {_dtype_src(out.dtype)})"

    return lower


def _lower_sum(eqn, x):
    (xv,), (out,) = eqn.inputs, eqn.outputs
    ndim = len(xv.shape)
    axis = eqn.params["axis"]
    axes = tuple(range(ndim)) if axis is None else tuple(a % ndim for a in np.atleast_1d(axis))
    if ndim == 0:
        return x
    if len(axes) == ndim:
        total = f"_np.sum({x})"
    elif len(axes) == 1:
        total = f"_np.sum({x}, axis={axes[0]})"
    else:
        raise NotLowerable("sum", "several axes")
    if eqn.params["keepdims"]:
        return f"_np.full({out.shape}, {total})" if len(axes) == ndim else \
            f"{total}.reshape({out.shape})"
    return total


def _lower_matmul(eqn, a, b):
    if not all(1 <= len(v.shape) <= 2 for v in eqn.inputs):
        raise NotLowerable("matmul", "only 1-D and 2-D operands")
    return f"_np.dot(_np.ascontiguousarray({a}), _np.ascontiguousarray({b}))"


def _lower_reshape(eqn, x):
    (xv,), (out,) = eqn.inputs, eqn.outputs
    if not out.shape:
        return f"_np.ascontiguousarray({x}).ravel()[0]" if xv.shape else x
    if not xv.shape and out.shape == (1,):
        return f"_np.array([{x}])"  # (a stack of scalars then becomes one array literal)
    if not xv.shape:
        return f"_np.full({out.shape}, {x})"
    return f"_np.ascontiguousarray({x}).reshape({out.shape})"


_ARRAY_OPEN = "_np.array(["


def _array_literal_items(src: str):
    """``"a, b"`` when ``src`` is exactly ``_np.array([a, b])``, else None."""
    if not (src.startswith(_ARRAY_OPEN) and src.endswith("])")):
        return None
    depth = 0
    for k in range(len(_ARRAY_OPEN) - 1, len(src) - 1):
        depth += (src[k] in "([") - (src[k] in ")]")
        if depth == 0:  # the bracket that opened the list closes here: it must be the last one
            return src[len(_ARRAY_OPEN):-2] if k == len(src) - 2 else None
    return None


# dtypes that NumPy (and Numba) infer for a list of Python numbers of that kind
_LITERAL_DTYPES = {np.dtype(t) for t in (np.bool_, np.int64, np.float64, np.complex128)}


def _one_element_literal(eqn, a):
    """``_np.array([v])`` for a one-element literal input of a ``concatenate`` of one-element
    pieces whose result has a dtype inferred from Python numbers, else None."""
    if eqn.prim.name != "concatenate" or eqn.outputs[0].dtype not in _LITERAL_DTYPES:
        return None
    v = np.asarray(a.value)
    if v.shape != (1,) or v.dtype != eqn.outputs[0].dtype:
        return None
    value = v[0].item()
    return f"{_ARRAY_OPEN}{value!r}])" if is_inline_number(value) else None


def _lower_concatenate(eqn, *xs):
    """``np.concatenate``; scalars stacked into a vector become one ``np.array([...])``."""
    literal = [_array_literal_items(x) for x in xs]
    if all(v is not None for v in literal) and all(v.shape == (1,) for v in eqn.inputs):
        return f"_np.array([{', '.join(literal)}])"
    return f"_np.concatenate(({', '.join(xs)},), {int(eqn.params['axis'])})"


def _lower_broadcast_to(eqn, x):
    (xv,), (out,) = eqn.inputs, eqn.outputs
    if not xv.shape:
        return f"_np.full({out.shape}, {x})" if out.shape else x
    return f"_np.broadcast_to({x}, {out.shape})"


def _lower_transpose(eqn, x):
    if len(eqn.inputs[0].shape) < 2:
        return x
    return f"_np.transpose({x}, {tuple(eqn.params['axes'])})"


def _lower_where(eqn, c, x, y):
    if not eqn.outputs[0].shape:
        return f"({x} if {c} else {y})"
    return f"_np.where({c}, {x}, {y})"


def _lower_astype(eqn, x):
    (out,) = eqn.outputs
    if eqn.inputs[0].dtype.kind == "c" and out.dtype.kind != "c":
        x = f"{x}.real"
    if not out.shape:
        return f"{_dtype_src(out.dtype)}({x})"
    return f"{x}.astype({_dtype_src(out.dtype)})"


def _lower_round(eqn, x):
    decimals = int(eqn.params["decimals"])
    if not eqn.outputs[0].shape:
        return f"round({x}, {decimals})"
    return f"_np.round({x}, {decimals})"


LOWERINGS = {
    "getitem": _lower_getitem,
    "scatter_add": _scatter("+="),
    "index_set": _scatter("="),
    "zeros_like": _constant_like(0),
    "ones_like": _constant_like(1),
    "full_like": _constant_like(None),
    "sum": _lower_sum,
    "matmul": _lower_matmul,
    "reshape": _lower_reshape,
    "concatenate": _lower_concatenate,
    "broadcast_to": _lower_broadcast_to,
    "transpose": _lower_transpose,
    "where": _lower_where,
    "clip": lambda eqn, x, lo, hi: f"_np.minimum(_np.maximum({x}, {lo}), {hi})",
    "real": lambda eqn, x: f"_np.real({x})",
    "imag": lambda eqn, x: f"_np.imag({x})",
    "astype": _lower_astype,
    "round": _lower_round,
}
# results that may be written inline into their only consumer (elementwise work, and views)
_INLINABLE = set(OPERATORS) | set(UFUNCS) | {"where", "clip", "real", "imag", "getitem",
                                              "round", "reshape"}


def _lower(eqn, args):
    name = eqn.prim.name
    if eqn.prim.multiple_results:
        raise NotLowerable(name, "several results")
    if name in OPERATORS:
        if eqn.params:
            raise NotLowerable(name, "parameters")
        return f"{args[0]} {OPERATORS[name]} {args[1]}"
    if name in UFUNCS:
        if eqn.params:
            raise NotLowerable(name, "parameters")
        return f"_np.{name}({', '.join(args)})"
    rule = LOWERINGS.get(name)
    if rule is None:
        raise NotLowerable(name)
    return rule(eqn, *args)


def _is_atomic(src: str) -> bool:
    """Whether ``src`` is one call or subscript (``f(a)``, ``a[1:]``): it needs no parentheses."""
    if not src.endswith((")", "]")) or "(" not in src and "[" not in src:
        return False
    depth = 0
    for k, ch in enumerate(src):
        depth += ch in "([" and 1 or -(ch in ")]")
        if depth == 0 and k < len(src) - 1 and ch in ")]" and src[k + 1] not in "([":
            return False
        if depth == 0 and ch == " ":
            return False
    return depth == 0


# --- code generation ------------------------------------------------------------------------------
def generate_numba(graph: Graph, name: str = "jitted", unwrap=None) -> tuple[str, str, dict]:
    """Source of a Numba kernel for ``graph``, of its Python wrapper, and the wrapper's constants.

    The kernel ``{name}_kernel(inputs..., constants...)`` is returned as source only: the caller
    compiles it with ``numba.njit``. ``unwrap[i]`` says input ``i`` arrives as a 0-d NumPy value
    that the wrapper turns into a scalar (``x[()]``). Raises ``NotLowerable`` naming the first
    primitive that has no lowering.
    """
    consts: dict = {}
    const_ids: dict = {}

    def literal(value) -> str:
        if is_inline_number(value):
            return repr(value)
        key = id(value)
        if key not in const_ids:
            const_ids[key] = f"c{len(consts)}"
            v = np.asarray(value)
            consts[const_ids[key]] = v[()] if v.ndim == 0 else v
        return const_ids[key]

    uses: dict = {}
    for eqn in graph.eqns:
        for a in eqn.inputs:
            if not isinstance(a, Literal):
                uses[id(a)] = uses.get(id(a), 0) + 1
    for o in graph.outputs:
        if not isinstance(o, Literal):
            uses[id(o)] = uses.get(id(o), 0) + 2  # never inline an output

    inline: dict = {}  # id(var) -> (expression, depth) for single-use elementwise results

    def read(a, eqn=None) -> tuple[str, int]:
        if isinstance(a, Literal):
            return (eqn is not None and _one_element_literal(eqn, a)) or literal(a.value), 0
        return inline.pop(id(a), (a.name, 0))

    body = []
    for eqn in graph.eqns:
        operands = [read(a, eqn) for a in eqn.inputs]
        depth = 1 + max((d for _, d in operands), default=0)
        args = [s if d == 0 or _is_atomic(s) else f"({s})" for s, d in operands]
        code = _lower(eqn, args)
        if isinstance(code, list):
            body.extend(code)
            continue
        (out,) = eqn.outputs
        if (eqn.prim.name in _INLINABLE and uses.get(id(out), 0) == 1
                and depth < _MAX_INLINE_DEPTH):
            inline[id(out)] = (code, depth)
        else:
            body.append(f"{out.name} = {code}")

    outs = [read(o)[0] for o in graph.outputs]
    ret = outs[0] if len(outs) == 1 else f"({', '.join(outs)},)"
    params = ", ".join(filter(None, [signature(graph), ", ".join(consts)]))
    kernel = [f"def {name}_kernel({params}):"] + [f"    {line}" for line in body]
    kernel.append(f"    return {ret}")

    # the wrapper: 0-d array inputs become scalars, constants are supplied
    unwrap = unwrap or [False] * len(graph.inputs)
    wrapper_args = ", ".join(
        [f"{v.name}[()]" if u else v.name for v, u in zip(graph.inputs, unwrap)] + list(consts)
    )
    wrapper = f"def {name}({signature(graph)}):\n    return {name}_kernel({wrapper_args})\n"
    return "\n".join(kernel) + "\n", wrapper, consts


__all__ = ["generate_numba", "NotLowerable", "LOWERINGS", "OPERATORS", "UFUNCS"]
