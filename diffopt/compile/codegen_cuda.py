"""CUDA code generation: each maximal region of elementwise equations becomes ONE numba-cuda kernel.

The graph is cut into steps, run in order by a generated Python function (like the NumPy
backend's, one line per step):

- a **fused kernel** per region of elementwise equations: a grid-stride loop over the flattened
  broadcast shape of the region, in which every equation is one line of scalar code (``math.*``
  from the one table of elementwise spellings, ``codegen_numba.UFUNCS``/``OPERATORS``), each
  result cast to its dtype and every constant typed (``_np.float32(0.5)``: a float32 graph stays
  in float32). Each input is read at the broadcast position of the loop index (index arithmetic
  with the shapes of this signature as constants); only the values used outside the region are
  written to memory. An equation joins the latest region that its inputs allow (so unrelated
  work around a reduction still fuses), when one of the two shapes contains the other;
- reductions (``sum``, ``max``, ``min``; ``mean`` is traced as a sum and a division) and
  ``reshape`` (a view) run on the array module: CuPy on a GPU, NumPy under the simulator;
- any other primitive (``floor``, ``sort``, ``matmul``, complex values...) also runs there, and
  the compile warns once, naming them.

>>> import diffopt.numpy as dnp
>>> from diffopt import make_graph
>>> plan = generate_cuda(make_graph(lambda x: dnp.sin(x) * 2.0 + 1.0)(np.ones(3, np.float32)))
>>> print(plan.kernels[0].source)
def fused_0(_o0, _x0):
    for _i in range(cuda.grid(1), 3, cuda.gridsize(1)):
        v_a = _x0[_i]
        v_b = _np.float32(math.sin(v_a))
        v_c = _np.float32(v_b * _np.float32(2.0))
        v_d = _np.float32(v_c + _np.float32(1.0))
        _o0[_i] = v_d
<BLANKLINE>
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from ..core.graph import Graph, Literal
from .codegen_numba import OPERATORS, UFUNCS
from .codegen_numpy import Namespace, build, signature

ARRAY_MODULE_QUIET = {"sum", "max", "min", "reshape"}
"""Primitives run on the array module without a warning: reductions, and ``reshape`` (a view)."""

_KINDS = "biuf"  # dtypes a fused kernel computes in (complex values run on the array module)

_PTX_SIGNATURE_NAMES = {"bool": "boolean"}


def _cast(dtype) -> str:
    return f"_np.{np.dtype(dtype).name}"


def _number(value, dtype) -> str | None:
    """Typed source text of the scalar ``value`` in ``dtype`` (``_np.float32(0.5)``), or None
    where it has none (not finite, not real)."""
    dtype = np.dtype(dtype)
    v = np.asarray(value)
    if v.ndim or v.dtype.kind not in _KINDS:
        return None
    v = v.item()
    if dtype.kind == "b":
        return repr(bool(v))
    if dtype.kind == "f":
        return f"{_cast(dtype)}({float(v)!r})" if math.isfinite(v) else None
    if isinstance(v, float) and not v.is_integer():
        return None  # (a fraction in an integer computation: let NumPy's rules decide)
    return f"{_cast(dtype)}({int(v)})"


def _compute_dtype(eqn):
    """The dtype of an equation's typed constants: its result's, or for a test (a bool result) its
    first variable operand's."""
    out = eqn.outputs[0].dtype
    if out.kind != "b":
        return out
    return next((a.dtype for a in eqn.inputs if not isinstance(a, Literal)), out)


def _literal_dtype(eqn, value):
    """NumPy's rule: a Python number is weak (takes the computation's dtype), a NumPy one not."""
    return value.dtype if isinstance(value, (np.generic, np.ndarray)) else _compute_dtype(eqn)


def _template(eqn) -> str | None:
    """The scalar spelling of an elementwise equation, or None when it is not one."""
    name = eqn.prim.name
    if name in OPERATORS:
        return None if eqn.params else f"{{0}} {OPERATORS[name]} {{1}}"
    if name in UFUNCS:
        return None if eqn.params else UFUNCS[name]
    return _OTHER_ELEMENTWISE.get(name, lambda eqn: None)(eqn)


def _full_like(eqn):
    fill = _number(eqn.params["fill_value"], eqn.outputs[0].dtype)
    return None if fill is None else fill.replace("{", "{{").replace("}", "}}")


_OTHER_ELEMENTWISE = {  # elementwise primitives with parameters, or not in the ufunc table
    "where": lambda eqn: "({1} if {0} else {2})",
    "broadcast_to": lambda eqn: "{0}",
    "astype": lambda eqn: "({0} != {T}(0))" if eqn.outputs[0].dtype.kind == "b" else "{0}",
    "zeros_like": lambda eqn: "{T}(0)",
    "ones_like": lambda eqn: "{T}(1)",
    "full_like": _full_like,
}


def fusable(eqn) -> bool:
    """Whether the equation can be one line of a fused kernel.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> [fusable(e) for e in make_graph(lambda x: dnp.floor(dnp.sin(x)))(1.0).eqns]
    [True, False]
    """
    if eqn.prim.multiple_results or len(eqn.outputs) != 1:
        return False
    if any(v.dtype.kind not in _KINDS for v in [*eqn.inputs, *eqn.outputs]
           if not isinstance(v, Literal)):
        return False
    if any(isinstance(a, Literal) and np.asarray(a.value).dtype.kind not in _KINDS
           for a in eqn.inputs):
        return False
    return _template(eqn) is not None


# --- the plan: steps in order ---------------------------------------------------------------------
class Region:
    """Elementwise equations run by one kernel over ``shape`` (the broadcast of their results)."""

    def __init__(self, shape: tuple):
        self.shape = shape
        self.eqns: list = []


def _contains(a: tuple, b: tuple) -> tuple | None:
    """The larger of two shapes when one broadcasts to the other, else None."""
    try:
        s = np.broadcast_shapes(a, b)
    except ValueError:
        return None
    return s if s in (a, b) else None


def partition(graph: Graph) -> list:
    """The graph's equations as steps: ``Region``s and single (array-module) equations, in an order
    that respects every dependency.

    Elementwise equations wait until a step needs them (so that they fuse with what comes later,
    across the reductions they do not depend on); then each joins the latest region placed after
    everything its inputs come from, if the shapes allow (one contains the other), else opens a
    new region.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> g = make_graph(lambda x: dnp.exp(x) + dnp.sum(x) * dnp.sin(x))(np.ones(3))
    >>> [type(s).__name__ if isinstance(s, Region) else s.prim.name for s in partition(g)]
    ['sum', 'Region']
    """
    steps: list = []
    where: dict = {}  # id(var) -> index of the step defining it
    pending: dict = {}  # id(output var) -> its waiting elementwise equation

    def place(eqn) -> None:
        after = max((where.get(id(a), -1) for a in eqn.inputs if not isinstance(a, Literal)),
                    default=-1)
        out_shape = eqn.outputs[0].shape
        for k in range(len(steps) - 1, max(after, 0) - 1, -1):
            if isinstance(steps[k], Region):
                shape = _contains(steps[k].shape, out_shape)
                if shape is not None:
                    steps[k].shape = shape
                    steps[k].eqns.append(eqn)
                    where[id(eqn.outputs[0])] = k
                    return
        region = Region(out_shape)
        region.eqns.append(eqn)
        steps.append(region)
        where[id(eqn.outputs[0])] = len(steps) - 1

    def flush(operands) -> None:
        """Place the waiting equations that ``operands`` depend on, in graph order."""
        need: set = set()
        stack = [a for a in operands if not isinstance(a, Literal) and id(a) in pending]
        while stack:
            eqn = pending[id(stack.pop())]
            if id(eqn) not in need:
                need.add(id(eqn))
                stack += [a for a in eqn.inputs if not isinstance(a, Literal) and id(a) in pending]
        for key, eqn in list(pending.items()):
            if id(eqn) in need:
                del pending[key]
                place(eqn)

    for eqn in graph.eqns:
        if fusable(eqn):
            pending[id(eqn.outputs[0])] = eqn
            continue
        flush(eqn.inputs)
        steps.append(eqn)
        for v in eqn.outputs:
            where[id(v)] = len(steps) - 1
    flush([pending_eqn.outputs[0] for pending_eqn in pending.values()])
    return steps


def _index(shape: tuple, full: tuple, i: str = "_i") -> str:
    """Source of the flat C-order index into an array of ``shape`` broadcast to ``full``, at the
    flat index ``i`` of ``full`` (shapes are constants of the signature)."""
    shape = (1,) * (len(full) - len(shape)) + tuple(shape)
    if shape == tuple(full):
        return i
    # merge neighbouring dimensions that are both kept or both broadcast; drop sizes of 1
    blocks: list = []  # [size in full, kept]
    for n, m in zip(full, shape):
        if n == 1:
            continue
        kept = m != 1
        if blocks and blocks[-1][1] == kept:
            blocks[-1][0] *= n
        else:
            blocks.append([n, kept])
    terms = []
    inner = 1  # elements of full after the block
    stride = 1  # elements of the input after the block
    for n, kept in reversed(blocks):
        if kept:
            q = f"{i} // {inner}" if inner > 1 else i
            r = f"({q}) % {n}" if inner > 1 else f"{q} % {n}"
            if n * inner == math.prod(full):  # the outermost block: no modulo needed
                r = q
            terms.append(r if stride == 1 else f"({r}) * {stride}")
            stride *= n
        inner *= n
    return " + ".join(reversed(terms)) or "0"


class FusedKernel:
    """One generated kernel and its launch: ``kernel(outputs..., inputs...)`` over ``size`` items.

    ``inputs``/``outputs`` are ``(shape, dtype)`` of the arrays it reads and writes (flattened);
    ``constants`` are arrays passed after the inputs (closure arrays of the traced function).
    """

    def __init__(self, name: str, source: str, size: int, inputs: list, outputs: list,
                 constants: list):
        self.name = name
        self.source = source
        self.size = size
        self.inputs = inputs
        self.outputs = outputs
        self.constants = constants
        self._kernel = None
        self._device_constants = None

    def pyfunc(self):
        """The kernel as a Python function (for ``cuda.jit`` or ``cuda.compile_ptx``)."""
        from numba import cuda

        return build(self.source, {"cuda": cuda, "math": math, "_np": np}, self.name)

    def signature(self) -> str:
        """The numba signature of the kernel, for ``cuda.compile_ptx``.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> x = np.ones(3, np.float32)
    >>> generate_cuda(make_graph(lambda x: dnp.exp(x) > 1)(x)).kernels[0].signature()
    'void(boolean[:], float32[:])'
    """
        arrays = [d for _, d in self.outputs] + [d for _, d in self.inputs] + \
            [np.asarray(c).dtype for c in self.constants]
        names = [_PTX_SIGNATURE_NAMES.get(np.dtype(d).name, np.dtype(d).name) for d in arrays]
        return f"void({', '.join(f'{n}[:]' for n in names)})"

    def __call__(self, *args):
        from .. import cuda as dcuda

        xp = array_module()
        if self._kernel is None:
            from numba import cuda

            self._kernel = cuda.jit(self.pyfunc())
            self._device_constants = [xp.asarray(c).reshape(-1) for c in self.constants]
        ins = [xp.ascontiguousarray(xp.asarray(a, dtype=d)).reshape(-1)
               for a, (_, d) in zip(args, self.inputs)]
        outs = [xp.empty(math.prod(s), dtype=d) for s, d in self.outputs]
        dcuda.launch(self._kernel, self.size, *outs, *ins, *self._device_constants)
        shaped = [o.reshape(s) if s else o.reshape(())[()] for o, (s, _) in zip(outs, self.outputs)]
        return shaped[0] if len(shaped) == 1 else tuple(shaped)


def array_module():
    """CuPy on a GPU, NumPy under the simulator (or without CUDA, for the array-module steps).

    >>> from diffopt import cuda
    >>> array_module() is np or cuda.MODE == "gpu"
    True
    """
    from .. import cuda as dcuda

    if dcuda.MODE == "gpu":
        import cupy

        return cupy
    return np


def _kernel_source(region: Region, name: str, needed: set):
    """Source of the fused kernel of ``region``, with its inputs, outputs and constants."""
    shape = region.shape
    defined = {id(v) for e in region.eqns for v in e.outputs}
    inputs: list = []  # external variables read
    seen: dict = {}
    constants: list = []  # literal arrays (and non-finite scalars) read
    const_ids: dict = {}
    reads: list = []
    body: list = []

    def operand(a, eqn) -> str:
        if isinstance(a, Literal):
            text = _number(a.value, _literal_dtype(eqn, a.value))
            if text is not None:
                return text
            if id(a.value) not in const_ids:
                const_ids[id(a.value)] = f"_c{len(constants)}"
                constants.append(np.asarray(a.value))
                reads.append(f"{const_ids[id(a.value)]}_v = {const_ids[id(a.value)]}"
                             f"[{_index(np.shape(a.value), shape)}]")
            return f"{const_ids[id(a.value)]}_v"
        if id(a) not in defined and id(a) not in seen:
            seen[id(a)] = len(inputs)
            inputs.append(a)
            reads.append(f"v_{a.name} = _x{seen[id(a)]}[{_index(a.shape, shape)}]")
        return f"v_{a.name}"

    for eqn in region.eqns:
        (out,) = eqn.outputs
        args = [operand(a, eqn) for a in eqn.inputs]
        code = _template(eqn).format(*args, T=_cast(_compute_dtype(eqn)))
        body.append(f"v_{out.name} = {_cast(out.dtype)}({code})")
    outputs = [v for e in region.eqns for v in e.outputs if id(v) in needed]
    writes = [f"_o{k}[{_index(v.shape, shape)}] = v_{v.name}" for k, v in enumerate(outputs)]
    params = [f"_o{k}" for k in range(len(outputs))] + [f"_x{k}" for k in range(len(inputs))] + \
        [f"_c{k}" for k in range(len(constants))]
    size = math.prod(shape)
    lines = [f"def {name}({', '.join(params)}):",
             f"    for _i in range(cuda.grid(1), {size}, cuda.gridsize(1)):"]
    lines += [f"        {line}" for line in reads + body + writes]
    kernel = FusedKernel(name, "\n".join(lines) + "\n", size, [(v.shape, v.dtype) for v in inputs],
                         [(v.shape, v.dtype) for v in outputs], constants)
    return kernel, inputs, outputs


class Plan:
    """What ``generate_cuda`` made: the host function's ``source`` and ``namespace``, its fused
    ``kernels``, and the primitives it runs on the array module (``fallback``: with a warning)."""

    def __init__(self, source: str, namespace: dict, kernels: list, fallback: list):
        self.source = source
        self.namespace = namespace
        self.kernels = kernels
        self.fallback = fallback


def generate_cuda(graph: Graph, name: str = "jitted") -> Plan:
    """The plan of ``graph`` for the CUDA backend: a host function calling one fused kernel per
    elementwise region and the array module for the rest. Generating needs no GPU.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> x = np.ones((2, 3))
    >>> plan = generate_cuda(make_graph(lambda x: dnp.sum(dnp.exp(x), axis=0) * x)(x))
    >>> print(plan.source)
    def jitted(a):
        b = fused_0(a)
        c = sum_1(b)
        d = fused_2(c, a)
        return d
    >>> len(plan.kernels), plan.fallback
    (2, [])
    """
    steps = partition(graph)
    uses: dict = {}
    for step in steps:
        eqns = step.eqns if isinstance(step, Region) else [step]
        inside = {id(v) for e in eqns for v in e.outputs} if isinstance(step, Region) else set()
        for e in eqns:
            for a in e.inputs:
                if not isinstance(a, Literal) and id(a) not in inside:
                    uses[id(a)] = True
    needed = set(uses) | {id(o) for o in graph.outputs if not isinstance(o, Literal)}

    ns = Namespace()
    lines = [f"def {name}({signature(graph)}):"]
    kernels, fallback = [], []
    for step in steps:
        if isinstance(step, Region):
            kname = ns.add("fused", None)
            kernel, inputs, outputs = _kernel_source(step, kname, needed)
            ns.values[kname] = kernel
            kernels.append(kernel)
            outs = ", ".join(v.name for v in outputs)
            lines.append(f"    {outs} = {kname}({', '.join(v.name for v in inputs)})")
            continue
        eqn = step
        if eqn.prim.name not in ARRAY_MODULE_QUIET and eqn.prim.name not in fallback:
            fallback.append(eqn.prim.name)
        impl = functools.partial(eqn.prim.impl, **eqn.params) if eqn.params else eqn.prim.impl
        fn = ns.add(eqn.prim.name, impl)
        args = ", ".join(_host_operand(a, ns) for a in eqn.inputs)
        outs = ", ".join(v.name for v in eqn.outputs) + ("," if eqn.prim.multiple_results else "")
        lines.append(f"    {outs} = {fn}({args})")
    outs = [_host_operand(o, ns) for o in graph.outputs]
    lines.append(f"    return {outs[0]}" if len(outs) == 1 else
                 f"    return ({', '.join(outs)},)")
    return Plan("\n".join(lines) + "\n", ns.values, kernels, fallback)


def _host_operand(a, ns: Namespace) -> str:
    """A variable's name, or a literal (an array literal on the array module's device)."""
    if not isinstance(a, Literal):
        return a.name
    if isinstance(a.value, np.ndarray):
        return ns.add("c", _DeviceConstant(a.value), key=("const", id(a.value))) + "()"
    return ns.constant(a.value)


class _DeviceConstant:
    """An array literal of the host function, moved to the array module's device on first use."""

    def __init__(self, value: np.ndarray):
        self.value = value
        self._device = None

    def __call__(self):
        if self._device is None:
            self._device = array_module().asarray(self.value)
        return self._device


def compile_plan(plan: Plan, name: str):
    """The host function of ``plan``, warning once about the primitives run on the array module.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import make_graph
    >>> plan = generate_cuda(make_graph(lambda x: dnp.sum(x))(np.ones(3)))
    >>> float(compile_plan(plan, "jitted")(np.ones(3)))  # (no kernel: runs without CUDA)
    3.0
    """
    if plan.fallback:
        where = "CuPy" if array_module() is not np else "NumPy"
        names = ", ".join(map(repr, plan.fallback))
        warnings.warn(f"jit(backend='cuda'): no CUDA kernel for {names}; they run on the array "
                      f"module ({where}), outside the fused kernels", stacklevel=5)
    return build(plan.source, plan.namespace, name)


__all__ = ["generate_cuda", "compile_plan", "partition", "fusable", "Plan", "FusedKernel",
           "array_module", "ARRAY_MODULE_QUIET"]
