"""Choosing how to compute a Jacobian: forward, reverse, or a mix of both along a chain.

``jacobian(f, mode=...)`` is the policy over the mechanisms of ``diffopt.transforms``: a fixed
mode, the cheaper pure mode by the cost model ("auto"), or the cheapest mix ("optimal").

``choose_mode(f, args)`` traces ``f`` into a graph and predicts the time of ``jacfwd`` and
``jacrev`` from its shapes and operation counts with a cost model calibrated on this library:

- forward (one batched pass, ``n`` basis tangents): ``t0 + tE·E + n·(cS·S + cF·F) + cT·n·m``;
- reverse (a recorded forward pass, then ``m`` batched cotangents):
  ``r0 + rE·E + (pS·S + pF·F) + m·(rS·S + rF·F) + rT·n·m``;

where ``E`` is the number of equations, ``S`` the elements they touch (largest operand or result
per equation) and ``F`` the multiply-adds of matrix products and factorizations. The constants in
``FORWARD`` and ``REVERSE`` come from a non-negative least-squares fit (relative error) of measured
``jacfwd``/``jacrev`` times on a 2-core machine with one BLAS thread, over the program families of
``benchmarks/modes.py`` (two-layer tanh map, elementwise-heavy map, deep chain of 16-wide matrix
maps; n, m in {1, 10, 100, 1000}) and tanh layer chains such as 1000 → 10 → 1000.

``jacobian_optimal(f)`` cuts a layered program at its bottlenecks (points where a single variable
carries everything computed so far), computes the Jacobian of each run of segments by the cheaper
pure mode and multiplies them in the order that minimises the modelled cost: the matrix-chain
dynamic programme over the cut points, where a sub-chain may also be differentiated directly.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable

import numpy as np

from . import numpy as dnp
from .core import vspace
from .core.graph import GraphTrace, GraphTracer, Literal, Var
from .core.pytree import tree_flatten, tree_unflatten
from .core.trace import new_trace
from .transforms import Argnums, check_argnums, jacfwd, jacrev

__all__ = ["jacobian", "choose_mode", "jacobian_optimal", "mode_costs", "find_cuts"]

# Seconds, fitted (scipy.optimize.nnls on relative error, 70 programs) on a 2-core x86 machine with
# OPENBLAS_NUM_THREADS=1. Keys: constant, per equation, per element (x passes), per multiply-add
# (x passes), per n*m; the reverse "p" terms are the recorded forward pass. Median model error ~13%.
FORWARD = {"c0": 7.2e-5, "cE": 1.17e-5, "cS": 1.16e-9, "cF": 1.13e-10, "cT": 3.5e-10}
REVERSE = {"c0": 7.7e-5, "cE": 1.25e-5, "pS": 0.0, "pF": 4.7e-10, "cS": 1.07e-9,
           "cF": 1.09e-10, "cT": 5.0e-10}
PRODUCT = {"c0": 3.0e-6, "cF": 5.5e-11}  # a dense BLAS matrix product, per multiply-add

_MATMUL = {"matmul", "dot"}
_CUBIC = {"inv", "solve", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "svd", "svdvals",
          "pinv"}


# --- tracing -------------------------------------------------------------------------------------
class _ValueTrace(GraphTrace):
    """A graph trace that also keeps every variable's example value (for the cut values)."""

    __slots__ = ("values",)

    def __init__(self, level):
        super().__init__(level)
        self.values = {}

    def process(self, prim, args, params):
        out = super().process(prim, args, params)
        for t in out if prim.multiple_results else (out,):
            self.values[id(t.var)] = t.value
        return out


class _Traced:
    """The graph of a function of one flat list of arrays, with its example values."""

    def __init__(self, f: Callable, leaves: list):
        with new_trace(_ValueTrace) as trace:
            tracers = [trace.new_input(x) for x in leaves]
            out = f(*tracers)
            out_leaves, self.out_tree = tree_flatten(out)
        self.inputs = [t.var for t in tracers]
        self.values = trace.values
        for v, x in zip(self.inputs, leaves):
            self.values[id(v)] = x
        self.outputs = [o.var if isinstance(o, GraphTracer) and o._trace is trace else Literal(o)
                        for o in out_leaves]
        self.out_values = [o.value if isinstance(o, GraphTracer) and o._trace is trace else o
                           for o in out_leaves]
        self.eqns = _active_needed(trace.eqns, self.inputs, self.outputs)


def _active_needed(eqns: list, inputs: list, outputs: list) -> list:
    """The equations that depend on an input and that an output needs, in order."""
    active = {id(v) for v in inputs}
    act = []
    for eqn in eqns:
        if any(isinstance(a, Var) and id(a) in active for a in eqn.inputs):
            act.append(eqn)
            active.update(id(v) for v in eqn.outputs)
    needed = {id(o) for o in outputs if isinstance(o, Var)}
    keep = []
    for eqn in reversed(act):
        if any(id(v) in needed for v in eqn.outputs):
            keep.append(eqn)
            needed.update(id(a) for a in eqn.inputs if isinstance(a, Var))
    return keep[::-1]


# --- the cost model ------------------------------------------------------------------------------
def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _eqn_work(eqn) -> tuple[float, float]:
    """(elements touched, multiply-adds) of one equation."""
    out = sum(_size(v.shape) for v in eqn.outputs)
    ins = [_size(vspace.shape_of(a.value) if isinstance(a, Literal) else a.shape)
           for a in eqn.inputs]
    elems = float(max([out, *ins]))
    name = eqn.prim.name
    if name in _MATMUL and eqn.inputs:
        a = eqn.inputs[0]
        shape = vspace.shape_of(a.value) if isinstance(a, Literal) else a.shape
        k = shape[-1] if shape else 1
        return float(out), float(out) * k
    if name in _CUBIC:
        return float(out), float(max(ins, default=0)) ** 1.5
    return elems, 0.0


def _prefix(eqns: list) -> np.ndarray:
    """Cumulative (equations, elements, multiply-adds) before each equation: shape (E+1, 3)."""
    work = np.zeros((len(eqns) + 1, 3))
    for i, eqn in enumerate(eqns):
        s, fl = _eqn_work(eqn)
        work[i + 1] = work[i] + (1.0, s, fl)
    return work


def _costs(counts, n: int, m: int) -> tuple[float, float]:
    """Modelled seconds of (jacfwd, jacrev) for a program with ``counts`` = (E, S, F)."""
    e, s, fl = counts
    fw, rv = FORWARD, REVERSE
    t_fwd = fw["c0"] + fw["cE"] * e + n * (fw["cS"] * s + fw["cF"] * fl) + fw["cT"] * n * m
    t_rev = (rv["c0"] + rv["cE"] * e + rv["pS"] * s + rv["pF"] * fl
             + m * (rv["cS"] * s + rv["cF"] * fl) + rv["cT"] * n * m)
    return t_fwd, t_rev


def _product_cost(p: int, q: int, r: int) -> float:
    return PRODUCT["c0"] + PRODUCT["cF"] * p * q * r


# --- choose_mode ---------------------------------------------------------------------------------
_DECISIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _signature(args: tuple, argnums) -> tuple:
    nums = check_argnums(argnums, "choose_mode")
    if all(type(a) is np.ndarray for a in args):  # the common case, without flattening
        return (nums, tuple((a.shape, a.dtype.char) for a in args))
    leaves, tree = tree_flatten(args)
    return (nums, tree,
            tuple((vspace.shape_of(x), str(getattr(x, "dtype", type(x).__name__)))
                  for x in leaves))


def _partial(f: Callable, args: tuple, argnums):
    """``f`` as a function of the flat leaves of the differentiated arguments, and those leaves."""
    if not args:
        raise TypeError("choose_mode needs the arguments to trace the function at")
    nums, _ = check_argnums(argnums, "choose_mode", len(args))
    leaves, tree = tree_flatten(tuple(args[k] for k in nums))
    leaves = [x if hasattr(x, "shape") else np.asarray(x) for x in leaves]

    def flat_f(*xs):
        full = list(args)
        for k, d in zip(nums, tree_unflatten(tree, list(xs))):
            full[k] = d
        return f(*full)

    return flat_f, leaves


def mode_costs(f: Callable, args: tuple, argnums=0) -> dict:
    """The modelled seconds of ``jacfwd`` and ``jacrev`` of ``f`` at ``args``, with n and m.

    >>> costs = mode_costs(lambda x: dnp.sum(x**2), (np.ones(1000),))
    >>> costs["n"], costs["m"], bool(costs["reverse"] < costs["forward"])
    (1000, 1, True)
    """
    flat_f, leaves = _partial(f, tuple(args), argnums)
    tr = _Traced(flat_f, leaves)
    n = sum(_size(vspace.shape_of(x)) for x in leaves)
    m = sum(_size(vspace.shape_of(o)) for o in tr.out_values)
    t_fwd, t_rev = _costs(_prefix(tr.eqns)[-1], n, m)
    return {"forward": t_fwd, "reverse": t_rev, "n": n, "m": m, "equations": len(tr.eqns)}


def choose_mode(f: Callable, args: tuple, argnums=0) -> str:
    """"forward" or "reverse": the mode the cost model predicts computes ``f``'s Jacobian faster.

    Decided from the traced graph (shapes and operation counts), and remembered for ``f`` and the
    arguments' shapes and dtypes, so repeated calls cost no tracing.

    >>> choose_mode(lambda x: dnp.sum(dnp.tanh(x)), (np.ones(1000),))
    'reverse'
    """
    args = tuple(args)
    key = _signature(args, argnums)
    try:
        cache = _DECISIONS.get(f)
        if cache is None:
            cache = _DECISIONS[f] = {}
    except TypeError:  # not weakly referenceable: decide every time
        cache = {}
    mode = cache.get(key)
    if mode is None:
        c = mode_costs(f, args, argnums)
        mode = cache[key] = "forward" if c["forward"] <= c["reverse"] else "reverse"
    return mode


# --- cuts and segments ---------------------------------------------------------------------------
def find_cuts(eqns: list, x: Var, out: Var) -> list[tuple[int, Var]]:
    """The cut points of a program from ``x`` to ``out``: ``(k, v)`` where, after the first ``k``
    equations, ``v`` is the only live variable that depends on ``x`` (the first is ``(0, x)``, the
    last ``(len(eqns), out)``). Only floating variables count as cuts.
    """
    last_use = {id(x): -1}
    for i, eqn in enumerate(eqns):
        for a in eqn.inputs:
            if isinstance(a, Var):
                last_use[id(a)] = i
    last_use[id(out)] = len(eqns)
    defined = {id(x)}
    for eqn in eqns:
        defined.update(id(v) for v in eqn.outputs)
    live: dict[int, Var] = {id(x): x}
    cuts = [(0, x)]
    for i, eqn in enumerate(eqns):
        for a in eqn.inputs:
            if isinstance(a, Var) and id(a) in live and last_use.get(id(a), -1) <= i:
                del live[id(a)]
        for v in eqn.outputs:
            if last_use.get(id(v), -1) > i:
                live[id(v)] = v
        if len(live) == 1 and i + 1 < len(eqns):
            (v,) = live.values()
            if v.dtype.kind in "fc" and v is not cuts[-1][1]:
                cuts.append((i + 1, v))
    if cuts[-1][1] is not out or cuts[-1][0] != len(eqns):
        cuts.append((len(eqns), out))
    return cuts


def _segment_fn(eqns: list, x: Var, out: Var, consts: dict) -> Callable:
    """The equations as a differentiable function of ``x`` (other inputs are constants)."""

    def fn(value):
        env = {id(x): value}

        def read(a):
            if isinstance(a, Literal):
                return a.value
            return env[id(a)] if id(a) in env else consts[id(a)]

        for eqn in eqns:
            res = eqn.prim.bind(*[read(a) for a in eqn.inputs], **eqn.params)
            for v, r in zip(eqn.outputs, res if eqn.prim.multiple_results else (res,)):
                env[id(v)] = r
        return read(out)

    return fn


_MAX_CUTS = 48


def _thin(cuts: list) -> list:
    """At most ``_MAX_CUTS`` cut points, keeping the ends and the narrowest ones."""
    if len(cuts) <= _MAX_CUTS:
        return cuts
    inner = sorted(range(1, len(cuts) - 1), key=lambda i: (_size(cuts[i][1].shape), i))
    keep = sorted(inner[:_MAX_CUTS - 2])
    return [cuts[0]] + [cuts[i] for i in keep] + [cuts[-1]]


def plan(eqns: list, cuts: list) -> tuple[float, tuple]:
    """The cheapest way to accumulate the Jacobian from cut 0 to the last cut.

    Returns ``(cost, tree)`` with ``tree`` either ``("forward"|"reverse", i, j)`` (differentiate
    the equations between cuts ``i`` and ``j`` directly) or ``("product", i, k, j, left, right)``.
    """
    work = _prefix(eqns)
    dims = [_size(v.shape) for _, v in cuts]
    k_cuts = len(cuts)
    best: dict[tuple[int, int], tuple[float, tuple]] = {}
    for span in range(1, k_cuts):
        for i in range(k_cuts - span):
            j = i + span
            counts = work[cuts[j][0]] - work[cuts[i][0]]
            t_fwd, t_rev = _costs(counts, dims[i], dims[j])
            cand = (t_fwd, ("forward", i, j)) if t_fwd <= t_rev else (t_rev, ("reverse", i, j))
            for k in range(i + 1, j):
                c = best[i, k][0] + best[k, j][0] + _product_cost(dims[j], dims[k], dims[i])
                if c < cand[0]:
                    cand = (c, ("product", i, k, j))
            best[i, j] = cand
    return best[0, k_cuts - 1][0], _tree(best, 0, k_cuts - 1)


def _tree(best: dict, i: int, j: int) -> tuple:
    node = best[i, j][1]
    if node[0] != "product":
        return node
    _, i, k, j = node
    return ("product", i, k, j, _tree(best, i, k), _tree(best, k, j))


def _accumulate(node: tuple, eqns: list, cuts: list, values: dict):
    """The (dim_j, dim_i) Jacobian for a plan node."""
    if node[0] == "product":
        _, _, _, _, left, right = node
        return _accumulate(right, eqns, cuts, values) @ _accumulate(left, eqns, cuts, values)
    mode, i, j = node
    (a, x), (b, out) = cuts[i], cuts[j]
    fn = _segment_fn(eqns[a:b], x, out, values)
    jac = (jacfwd if mode == "forward" else jacrev)(fn)(values[id(x)])
    return dnp.reshape(jac, (_size(out.shape), _size(x.shape)))


def jacobian_optimal(f: Callable, argnums: int = 0) -> Callable:
    """Jacobian by the cheapest mix of forward and reverse sweeps along the program's chain.

    ``f`` maps one array to one array; the result has shape ``out.shape + x.shape``. Programs with
    a narrow middle (1000 → 10 → 1000) get their Jacobian as a product of small Jacobians; programs
    with no useful cut fall back to the cheaper pure mode.

    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.normal(size=(3, 20)), rng.normal(size=(20, 3))
    >>> f = lambda x: dnp.tanh(B @ dnp.tanh(A @ x))
    >>> np.allclose(jacobian_optimal(f)(np.ones(20)), jacfwd(f)(np.ones(20)))
    True
    """
    if not check_argnums(argnums, "jacobian_optimal")[1]:
        raise TypeError("jacobian_optimal differentiates one argument: pass an int argnums")

    pure: dict = {}  # signature -> "forward"/"reverse" when the best plan is a pure mode

    @functools.wraps(f)
    def jac(*args):
        key = _signature(args, argnums)
        if key in pure:
            return (jacfwd if pure[key] == "forward" else jacrev)(f, argnums)(*args)
        flat_f, leaves = _partial(f, args, argnums)
        if len(leaves) != 1:
            raise TypeError("jacobian_optimal needs the differentiated argument to be one array, "
                            f"got {len(leaves)} leaves; use jacfwd/jacrev for pytrees")
        x = leaves[0]
        if x.dtype.kind not in "fc":
            raise TypeError(f"jacobian_optimal needs a floating-point input, got {x.dtype}")
        tr = _Traced(flat_f, leaves)
        if len(tr.outputs) != 1 or tr.out_tree.num_leaves != 1:
            raise TypeError("jacobian_optimal needs a function returning one array; use "
                            "jacfwd/jacrev for pytree outputs")
        out, out_value = tr.outputs[0], tr.out_values[0]
        shape = vspace.shape_of(out_value) + vspace.shape_of(x)
        if isinstance(out, Literal) or not tr.eqns and out is not tr.inputs[0]:
            return np.zeros(shape, dtype=np.result_type(x, out_value))
        if out is tr.inputs[0]:
            return np.eye(_size(x.shape), dtype=x.dtype).reshape(shape)
        cuts = _thin(find_cuts(tr.eqns, tr.inputs[0], out))
        _, tree = plan(tr.eqns, cuts)
        if tree[0] != "product" and len(tr.eqns) == cuts[-1][0]:
            pure[key] = tree[0]  # no useful cut: later calls skip the tracing
        return dnp.reshape(_accumulate(tree, tr.eqns, cuts, tr.values), shape)

    return jac


# --- the policy ----------------------------------------------------------------------------------
def jacobian(f: Callable, argnums: Argnums = 0, mode: str = "auto") -> Callable:
    """Jacobian by ``mode``: "forward", "reverse", "auto" or "optimal".

    "auto" picks the cheaper pure mode from the traced graph (shapes and operation counts, see
    ``choose_mode``). "optimal" cuts a layered program at its narrow points and
    multiplies the pieces' Jacobians in the cheapest order, mixing forward and reverse sweeps
    (``jacobian_optimal``; one array in, one array out).

    >>> import diffopt.numpy as dnp
    >>> jacobian(dnp.sin)(np.zeros(3))
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    if mode not in ("auto", "forward", "reverse", "optimal"):
        raise ValueError("jacobian: mode must be 'auto', 'forward', 'reverse' or 'optimal', "
                         f"not {mode!r}")
    check_argnums(argnums, "jacobian")
    if mode == "optimal":
        return jacobian_optimal(f, argnums)  # built once: it caches its plan per signature
    if mode != "auto":
        return (jacfwd if mode == "forward" else jacrev)(f, argnums)

    @functools.wraps(f)
    def jac(*args, **kwargs):
        check_argnums(argnums, "jacobian", len(args))
        g = functools.partial(f, **kwargs) if kwargs else f
        impl = jacfwd if choose_mode(g, args, argnums) == "forward" else jacrev
        return impl(g, argnums)(*args)

    return jac
