"""``solve(..., backend="numba")``: the integrator, events and discrete adjoint compiled with Numba.

For each problem (right-hand side, events, method, and the shapes of ``y0`` and ``args``) the
right-hand side, its VJP and the event conditions are traced once with
:func:`diffopt.core.graph.make_graph` (so they are the same diffopt programs the NumPy path runs),
simplified, and turned into Numba code; the generic loops of :mod:`diffopt.ode._loops` are compiled
with them into one module, written under the cache folder (``DIFFOPT_CACHE_DIR``, default
``~/.cache/diffopt``) so that Numba's on-disk cache makes later runs start at once. The whole solve
(steps, step control, event detection and location) then runs with no Python per step.

Reverse mode is the discrete adjoint ("discretise, then differentiate"), compiled too: each step's
stages are recomputed from its stored start state and pulled back with the right-hand side's VJP.
The step in which a terminal event fires (interpolant and implicit-function-theorem event time) is
one more traced program, differentiated by diffopt and compiled with :func:`diffopt.jit`. Values and
derivatives equal the NumPy path's to rounding. Forward mode (``jvp``), higher derivatives and the
``checkpoint``/``backsolve``/``forward`` adjoints run the NumPy path.

A problem that cannot be compiled (a primitive Numba has no code for, Python control flow on
traced values, non-float arguments) falls back on the NumPy path with a warning that says why.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import sys
import warnings
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete, top_trace
from diffopt.core.graph import Literal, make_graph
from diffopt.core.pytree import tree_flatten, tree_unflatten
from diffopt.transforms import compiled_rule, single_reverse, vjp

from . import _loops, _scalar, control
from . import _types as status
from ._types import (
    BatchSolution,
    Failures,
    NotCompilable,
    ODESolveError,
    Solution,
    as_args,
    as_span,
    as_state,
    check_dt,
    tangential,
)
from .events import call_condition, newton_time, on_step, slope
from .interpolation import StepInterpolant
from .tableaus import Tableau

_PROBLEMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_POOL = None  # the threads of batched solves, started on first use
_FAILED = "failed"


def cache_dir() -> Path:
    """Where generated modules (and Numba's cache of them) are kept."""
    root = os.environ.get("DIFFOPT_CACHE_DIR") or Path.home() / ".cache" / "diffopt"
    return Path(root) / "ode"


# --- the traced programs ---------------------------------------------------------------------
def _simplified(fn, examples):
    from diffopt.compile.passes import simplify

    try:
        with np.errstate(all="ignore"):  # (the example values are zeros)
            return simplify(make_graph(fn)(*examples))
    except (TypeError, ValueError, IndexError) as e:  # control flow on a traced value, ...
        raise NotCompilable(f"tracing failed ({type(e).__name__}: {e})") from e


def _kernel(name: str, graph, unwrap) -> tuple[str, tuple]:
    from diffopt.compile.codegen_numba import NotLowerable, generate_numba

    try:
        src, _, consts = generate_numba(graph, name, unwrap)
    except NotLowerable as e:
        raise NotCompilable(f"primitive {e.prim_name!r} has no Numba code ({e})") from e
    return src, tuple(consts.values())


def _tuple_output(src: str, position: int | None = None) -> tuple[str, int | None]:
    """A kernel whose result (or element ``position`` of its tuple of results) is a vector literal
    ``_np.array([a, b, ...])`` rewritten to give the tuple ``(a, b, ...)`` there, which Numba
    keeps off the heap; and its length (None, source unchanged, for any other result)."""
    fn = ast.parse(src).body[0]
    ret = fn.body[-1].value if isinstance(fn.body[-1], ast.Return) else None
    if position is not None:
        ret = ret.elts[position] if isinstance(ret, ast.Tuple) else None
    if not isinstance(ret, ast.Name):
        return src, None
    name = ret.id
    uses = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == name]
    assign = next((st for st in fn.body if isinstance(st, ast.Assign) and
                   [ast.unparse(t) for t in st.targets] == [name]), None)
    value = assign.value if assign is not None else None
    if not (len(uses) == 2 and isinstance(value, ast.Call) and ast.unparse(value.func) ==
            "_np.array" and len(value.args) == 1 and not value.keywords and
            isinstance(value.args[0], ast.List)):
        return src, None
    assign.value = ast.Tuple(elts=value.args[0].elts, ctx=ast.Load())
    return ast.unparse(fn) + "\n", len(value.args[0].elts)


def _tuple(items) -> str:
    return f"({', '.join(items)},)" if items else "()"


class Problem:
    """The compiled module of one problem: the traced programs below, as Numba kernels with
    adapters (flat states, ``p`` and ``cst`` tuples), and the loops of :mod:`._loops`."""

    def __init__(self, fun, events: tuple, tab: Tableau, shape: tuple, tree, leaves: list,
                 batched_leaf: tuple = ()):
        self.fun, self.events, self.tab, self.shape, self.tree = fun, events, tab, shape, tree
        self.scalar_leaf = [np.ndim(x) == 0 for x in leaves]
        self.batched_leaf = list(batched_leaf) or [False] * len(leaves)
        self.n_leaves = len(leaves)
        self.terminal = [i for i, e in enumerate(events) if e.terminal]
        self.module, self.cst = self._build(leaves)

    # --- the programs, in the user's shapes; ``leaves`` stand for ``args`` ----------------------
    def args(self, leaves):
        return tree_unflatten(self.tree, list(leaves))

    def rhs(self, t, y, *leaves):
        return dnp.asarray(self.fun(t, y, *self.args(leaves)))

    def rhs_vjp(self, t, y, ct, *leaves):
        return vjp(self.rhs, t, y, *leaves)[1](ct)

    def conds(self, t, y, t0, y0, *leaves):
        args = self.args(leaves)
        return dnp.stack([dnp.reshape(dnp.asarray(call_condition(e, t, y, args, (t0, y0))), ())
                          for e in self.events])

    def interpolant(self, t0, h, y0, y1, K):
        return StepInterpolant(t0, h, y0, y1, [K[i] for i in range(self.tab.n_stages + 1)],
                               self.tab.dense)

    def slopes(self, t, t0, h, y0, y1, K, *leaves):
        """dg/dt of every event condition along the step's interpolant, at ``t``."""
        interp = self.interpolant(t0, h, y0, y1, K)
        return dnp.stack([dnp.reshape(slope(e, interp, self.args(leaves), t), ())
                          for e in self.events])

    def final_vjp(self, i: int):
        """The VJP of the step in which terminal event ``i`` fires, as a function of the step's
        start, size and the parameters: the step's stages, its interpolant and the event time
        by :func:`diffopt.ode.events.newton_time`, as every path computes them."""
        event, tab = self.events[i], self.tab

        def final(t_r, g_c, dg_dt, t_prev, h, y_prev, *leaves):
            def f(t, y):
                return self.rhs(t, y, *leaves)

            st, y_new, f_new = tab.step(f, t_prev, y_prev, f(t_prev, y_prev), h, t_prev + h)
            interp = self.interpolant(t_prev, h, y_prev, y_new, st + [f_new])
            g = on_step(event, interp, self.args(leaves), t_r)
            t_star = newton_time(t_r, dnp.reshape(g, ()), g_c, dg_dt)
            return t_star, interp(t_star)

        def final_vjp(t_r, g_c, dg_dt, t_prev, h, y_prev, ct_t, ct_y, *leaves):
            return vjp(lambda tp, hh, yp, *lv: final(t_r, g_c, dg_dt, tp, hh, yp, *lv),
                       t_prev, h, y_prev, *leaves)[1]((ct_t, ct_y))

        return final_vjp

    # --- compilation ----------------------------------------------------------------------------
    def _programs(self):
        """``(name, program, inputs, output)``: inputs are kinds (``s`` scalar, ``y`` state,
        ``K`` stages); the parameters follow them. ``output``: ``state``, ``raw`` or the number
        of scalar cotangents before a state's in a VJP."""
        yield "rhs", self.rhs, ("t:s", "y:y"), "state"
        yield "rhs_vjp", self.rhs_vjp, ("t:s", "y:y", "ct:y"), 1
        if self.events:
            yield "conds", self.conds, ("t:s", "y:y", "t0:s", "y0:y"), "raw"
            yield "slopes", self.slopes, ("t:s", "t0:s", "h:s", "y0:y", "y1:y", "K:K"), "raw"
        for i in self.terminal:
            yield (f"final_vjp_{i}", self.final_vjp(i),
                   ("t_r:s", "g_c:s", "slope:s", "t_prev:s", "h:s", "y_prev:y", "ct_t:s",
                    "ct_y:y"), 2)

    def _build(self, leaves):
        shape, s1 = self.shape, self.tab.n_stages + 1
        example = {"s": np.float64(0.0), "y": np.zeros(shape), "K": np.zeros((s1,) + shape)}
        leaves = [np.asarray(x, dtype=float) for x in leaves]
        parts, cst = [], []
        for name, program, inputs, output in self._programs():
            kinds = [k.split(":")[1] for k in inputs]
            graph = _simplified(program, [example[k] for k in kinds] + leaves)
            out = graph.outputs[0]
            out_shape = np.shape(out.value) if isinstance(out, Literal) else out.shape
            if output == "state" and tuple(out_shape) != shape:
                raise NotCompilable(f"fun(t, y, *args) returned shape {out_shape} for a state "
                                    f"of shape {shape}")
            src, consts = _kernel(f"_{name}", graph, [k == "s" for k in kinds] +
                                  self.scalar_leaf)
            size = None
            if name in ("rhs", "conds", "rhs_vjp"):  # (written into the loops' buffers)
                src, size = _tuple_output(src, 1 if name == "rhs_vjp" else None)
                name += "_into"
            parts.append(src + self._adapter(name, inputs, output, len(cst), len(consts), size))
            cst.append(consts)
        if not self.events:
            parts.append("def conds_into(t, y, t0, y0, p, cst, out):\n    return 0\n\n"
                         "def slopes(t, t0, h, y0, y1, K, p, cst):\n    return np.zeros(1)\n")
        body = "".join(f"    if i == {i}:\n        return final_vjp_{i}({{a}})\n"
                       for i in self.terminal[:-1])
        last = (f"    return final_vjp_{self.terminal[-1]}({{a}})\n" if self.terminal else
                "    return 0.0, 0.0, np.zeros_like(y_prev), pbar_zero(p)\n")
        a = "t_r, g_c, slope, t_prev, h, y_prev, ct_t, ct_y, p, cst"
        parts.append(f"def final_vjp(i, {a}):\n" + (body + last).format(a=a))
        return _load(self._module_source(parts)), tuple(cst)

    def _adapter(self, name: str, inputs, output, k: int, n_consts: int,
                 size: int | None = None) -> str:
        """``name(inputs..., p, cst)``: the kernel called on the user's shapes, with flat
        states in and out; ``name_into(inputs..., p, cst, out)`` writes into ``out`` instead
        (``size``: the length of the tuple the kernel returns, None for an array)."""
        shape, s1 = self.shape, self.tab.n_stages + 1

        def user(v, kind):
            if kind == "s" or len(shape) == 1:
                return v
            full = (s1,) + shape if kind == "K" else shape
            return f"{v}[0]" if kind == "y" and not shape else f"{v}.reshape({full})"

        def flat(v):
            return v if len(shape) == 1 else f"np.full(1, {v})" if not shape else \
                f"np.ascontiguousarray({v}).reshape(-1)"

        names = [k_.split(":")[0] for k_ in inputs] + ["p", "cst"]
        call = ", ".join([user(*k_.split(":")) for k_ in inputs] +
                         [f"p[{i}]" for i in range(self.n_leaves)] +
                         [f"cst[{k}][{i}]" for i in range(n_consts)])
        into = name.endswith("_into")
        kernel = f"_{name.removesuffix('_into')}_kernel"
        head = f"\ndef {name}({', '.join(names + ['out'] * into)}):\n    r = {kernel}({call})\n"
        front = [f"float(r[{i}])" for i in range(output)] if isinstance(output, int) else []
        pbar = _tuple([f"r[{output + 1 + i}]" for i in range(self.n_leaves)]) if front else ""
        if into:
            vec = f"r[{output}]" if front else "r"  # (a VJP writes its state cotangent)
            writes = ("".join(f"    out[{i}] = {vec}[{i}]\n" for i in range(size))
                      if size is not None else
                      f"    out[:] = {flat(vec) if output != 'raw' else vec}\n")
            return head + writes + f"    return {', '.join(front + [pbar]) if front else 0}\n"
        if output == "state":
            return head + f"    return {flat('r')}\n"
        if output == "raw":
            return head + "    return r\n"
        return head + f"    return {', '.join(front)}, {flat(f'r[{output}]')}, {pbar}\n"

    def _module_source(self, parts: list) -> str:
        tab = self.tab
        s = tab.n_stages
        a = np.zeros((s, s))
        for i, row in enumerate(tab.a):
            a[i, :len(row)] = row
        zero = [("0.0" if sc else f"np.zeros_like(p[{i}])") for i, sc in
                enumerate(self.scalar_leaf)]
        adds = [f"a[{i}] + b[{i}]" for i in range(self.n_leaves)]
        ctrl = control.PIController(tab.error_order) if tab.adaptive else None
        consts = {
            "A": a, "B": np.array(tab.b), "C": np.array(tab.c),
            "E": np.array(tab.error if tab.adaptive else [0.0] * (s + 1)),
            "P": tab.dense if tab.dense is not None else np.zeros((s + 1, 1)),
            "DIRECTION": np.array([e.direction for e in self.events] or [0]),
            "TERMINAL": np.array([e.terminal for e in self.events] or [False]),
            "NEEDS_START": np.array([e.needs_step_start for e in self.events] or [False]),
        }
        lines = [inspect.getsource(_loops), inspect.getsource(_scalar),
                 "select = branch  # (scalars only here)",
                 "\n# --- this problem ---",
                 f"S, M = {s}, {len(self.events)}",
                 f"ADAPTIVE, HERMITE = {tab.adaptive}, {tab.dense is None}",
                 f"ALPHA, BETA = {ctrl.alpha if ctrl else 0.0!r}, {ctrl.beta if ctrl else 0.0!r}"]
        for name, v in consts.items():
            v = np.asarray(v)
            lines.append(f"{name} = np.array({v.tolist()!r}, dtype=np.{v.dtype})")
        lines.append(f"\ndef pbar_zero(p):\n    return {_tuple(zero)}\n")
        lines.append(f"\ndef pbar_add(a, b):\n    return {_tuple(adds)}\n")
        rows = [f"p[{i}]" + ("", "[b]", "[b:b + 1]")[bl] for i, bl in enumerate(self.batched_leaf)]
        lines.append(f"\ndef p_row(p, b):\n    return {_tuple(rows)}\n")
        store = "".join(f"    rows[{i}][b] = pbar[{i}]\n" for i in range(self.n_leaves))
        lines.append(f"\ndef pbar_store(rows, b, pbar):\n{store}    return 0\n")
        lines += parts
        lines.append("\n_np = np\n")
        return "\n".join(lines)


def _load(source: str):
    """Import the generated module (written once per distinct source) with every function
    compiled by Numba, cached on disk."""
    import numba

    name = "diffopt_ode_" + hashlib.sha1(source.encode()).hexdigest()[:20]
    if name in sys.modules:
        return sys.modules[name]
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            tmp.replace(path)
        cache = True
    except OSError:  # a read-only home: compile without the disk cache
        import tempfile

        path = Path(tempfile.mkdtemp()) / f"{name}.py"
        path.write_text(source)
        cache = False
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attr, value in list(vars(module).items()):
        if inspect.isfunction(value) and value.__module__ == name:
            inline = "always" if attr in _loops.INLINE else "never"
            setattr(module, attr, numba.njit(cache=cache, nogil=True, inline=inline)(value))
    sys.modules[name] = module
    return module


def get_problem(fun, events: tuple, tab: Tableau, y0, args, batched_leaf: tuple = (),
                quiet: bool = False) -> Problem | None:
    """The compiled problem for these inputs' structure (built once), or ``None`` (after a
    warning unless ``quiet``) when it cannot be compiled. ``batched_leaf``: for a batched solve,
    per leaf of ``args``, 0 (shared), 1 (per trajectory, given here as one row without the batch
    axis) or 2 (per trajectory, given as a batch of one)."""
    leaves, tree = tree_flatten(args)
    key = (tuple((e.condition, e.direction, e.terminal, e.needs_step_start) for e in events),
           tab.name, np.shape(y0), tree, tuple(batched_leaf),
           tuple((np.shape(x), np.result_type(x).kind) for x in leaves))
    try:
        per_fun = _PROBLEMS.setdefault(fun, {})
    except TypeError:  # not weak-referenceable: no cache
        per_fun = {}
    entry = per_fun.get(key)
    if entry is None:
        try:
            for x in leaves:
                if np.result_type(x).kind not in "fiub":
                    raise NotCompilable(f"argument of dtype {np.result_type(x)} (floats only)")
            entry = Problem(fun, events, tab, tuple(np.shape(y0)), tree,
                            [np.asarray(x, dtype=float) for x in leaves], batched_leaf)
        except NotCompilable as e:
            if quiet:
                return None
            warnings.warn(f"solve(backend='numba'): the right-hand side or an event cannot be "
                          f"compiled: {e}; using the NumPy path", stacklevel=4)
            entry = _FAILED
        per_fun[key] = entry
    return None if entry is _FAILED else entry


# --- the solve -------------------------------------------------------------------------------
class Run:
    """The compiled forward pass's arrays (plain NumPy)."""

    def __init__(self, problem: Problem, out, t0: float, t_end: float, leaves, h0):
        (self.status, n, self.ts, self.hs, ys, self.nfev, self.n_rejected, self.ev, self.theta,
         self.clipped, self.t_r, self.g_c, self.slope, log_i, log_t, log_y, self.cause,
         self.t_bad, self.h_bad, self.i_bad) = out
        self.problem, self.t0, self.t_end, self.leaves, self.h0 = problem, t0, t_end, leaves, h0
        self.n_steps = n
        self.ys = ys.reshape((len(ys),) + problem.shape)
        self.jump = self.ev >= 0 and self.theta == 0.0  # an event at its step's very start
        if self.jump:  # (that state is saved already)
            self.ts, self.ys = self.ts[:-1], self.ys[:-1]
        self.log = [(int(i), float(t), yy.reshape(problem.shape))
                    for i, t, yy in zip(log_i, log_t, log_y)]


def _initial_step(problem: Problem, y, t0: float, t_end: float, p, rtol, atol) -> float:
    """The NumPy path's first step of an adaptive method, with the compiled right-hand side;
    nan (no evaluation counted) where ``y`` or its slope is not finite: the loop then fails."""
    m, cst = problem.module, problem.cst
    f0 = m.rhs(t0, y, p, cst)
    if status.start_cause(y, f0):
        return np.nan
    span = t_end - t0 if np.isfinite(t_end) else 1.0
    return control.initial_step(lambda t, yy: m.rhs(t, yy, p, cst), t0, y, f0,
                                problem.tab.order, rtol, atol, span)


def _run(problem: Problem, y0, t0: float, t_end: float, leaves: list, dt, rtol, atol,
         max_steps) -> Run:
    p = _params(problem, leaves)
    y = np.ascontiguousarray(y0, dtype=float).reshape(-1)
    m = problem.module
    h0 = float(dt) if dt is not None else _initial_step(problem, y, t0, t_end, p, rtol, atol)
    out = m.integrate(y, t0, t_end, h0, p, problem.cst, rtol, atol, max_steps)
    run = Run(problem, out, t0, t_end, p, h0)
    # (the first step's choice evaluated f once more, as counted there)
    run.nfev += dt is None and np.isfinite(h0)
    return run


def _backward(run: Run, g):
    """Cotangents of ``(y0, t0, t_end, leaves)`` from those of ``(t_final, y_final, t, y)``."""
    pr = run.problem
    n, d = len(run.ts), int(np.prod(pr.shape, dtype=int))
    gt, gy, g_ts, g_ys = (np.asarray(x, dtype=float) for x in g)
    y0_bar, t0_bar, t_end_bar, pbar = pr.module.backward(
        run.ts, run.hs, run.ys.reshape(n, d), run.n_steps, run.ev, run.jump, run.clipped,
        run.t_r, run.g_c, run.slope, run.leaves, pr.cst, float(gt), gy.reshape(d),
        np.ascontiguousarray(g_ts), np.ascontiguousarray(g_ys.reshape(n, d)))
    return y0_bar.reshape(pr.shape), t0_bar, t_end_bar, list(pbar)


def solve_compiled(fun, y0, t_span, args, tab: Tableau, *, dt, rtol, atol, events: tuple,
                   saveat, max_steps: int, adjoint: str, batched: bool, executor=None):
    """:func:`diffopt.ode.solve` with ``backend="numba"`` (see the module docstring); raises
    :class:`NotCompilable` for what the compiled path does not run (``solve`` then runs the
    NumPy path). ``executor(problem)``: the batch loops' executor when not the Numba module's
    (:class:`diffopt.ode.cuda_solve.Executor`)."""
    if saveat is not None or adjoint not in ("auto", "direct"):
        raise NotCompilable("saveat and the other adjoints run the NumPy path", warn=False)
    y0 = y0 if batched and isinstance(y0, Tracer) else as_state(y0)
    t0, t_end = as_span(t_span, dnp.shape(y0)[0] if batched and dnp.shape(y0) else None)
    leaves, tree = tree_flatten(as_args(args))
    check_dt(dt, tab)
    t0_c, t_end_c = (np.asarray(concrete(v), dtype=float) for v in (t0, t_end))
    status.check_times(t0_c, t_end_c, events)
    if tab.adaptive:
        rtol, atol = status.check_tolerances(rtol, atol)
    inputs = [y0, t0, t_end] + leaves
    top = top_trace(inputs)
    if top is not None and not single_reverse(top, inputs):
        raise NotCompilable("forward mode or nested derivatives", warn=False)
    if top is not None and not all(e.terminal for e in events):
        raise NotCompilable("the compiled event log carries no derivatives", warn=False)
    y0_c = np.asarray(concrete(y0))
    if y0_c.dtype.kind == "c":
        raise NotCompilable("a complex state cannot be compiled (floats only)")
    y0_c = y0_c.astype(float)
    leaves_c = [concrete(x) for x in leaves]
    opts = (dt, float(rtol), float(atol), status.check_max_steps(max_steps))
    if batched:
        return _solve_batch(fun, y0_c, t0_c, t_end_c, leaves_c, tree, tab, events, opts,
                            inputs, top, executor)
    if executor is not None:
        raise NotCompilable("unbatched solves run on the CPU", warn=False)
    problem = get_problem(fun, events, tab, y0_c, tree_unflatten(tree, leaves_c))
    if problem is None:
        raise NotCompilable("the problem did not compile", warn=False)  # (warned once)

    def fwd(y0_v, t0_v, t_end_v, leaf_v):
        run = _run(problem, y0_v, float(t0_v), float(t_end_v), list(leaf_v), *opts)
        if top is not None:
            _check_differentiable(run, max_steps)
        return _outputs(run), run

    outs, run = _differentiable(fwd, _backward, inputs)
    return _solution(run, outs, max_steps)


def _differentiable(fwd, bwd, inputs: list):
    """``fwd(y0, t0, t_end, leaves) -> (outputs, residuals)`` on plain values, with ``bwd(residuals,
    g)`` as its VJP under reverse mode (:func:`diffopt.transforms.compiled_rule`). Returns
    ``(outputs, residuals)``."""
    return compiled_rule(_second_order, fwd, bwd, residuals=True)(*inputs[:3], list(inputs[3:]))


def _second_order(*_):
    """The rule's reference: derivatives of the compiled adjoint are not available."""
    raise NotImplementedError("second derivatives through solve(backend='numba') are not "
                              "supported: use backend='numpy'")


def _check_differentiable(run: Run, max_steps: int):
    if run.status < 0:
        err = ODESolveError(f"ODE solve failed ({_message(run, max_steps)}); no derivative "
                            "can be given")
        err.status = int(run.status)
        raise err
    if run.ev >= 0 and not run.jump and not (np.isfinite(run.slope) and run.slope):
        raise tangential(int(run.ev), f"at t={run.t_r:.6g}")


def _solution(run: Run, outs, max_steps: int):
    t_final, y_final, ts, ys = outs
    fired = run.ev >= 0
    if fired and run.log and run.log[-1][0] == run.ev:  # the terminal event: differentiable
        run.log[-1] = (int(run.ev), t_final, y_final)
    return Solution(
        t=ts, y=ys, t_final=t_final, y_final=y_final, event_time=t_final if fired else None,
        event_index=int(run.ev) if fired else None, event_state=y_final if fired else None,
        nfev=int(run.nfev), n_steps=int(run.n_steps), n_rejected=int(run.n_rejected),
        status=int(run.status), message=_message(run, max_steps), event_log=run.log)


def _solve_batch(fun, y0, t0, t_end, leaves, tree, tab, events, opts, inputs, top,
                 executor=None):
    """The batched compiled solve: each row is integrated by the single-trajectory loop (rows in
    parallel, or by ``executor(problem)``'s loops); reverse mode keeps each row's steps and runs
    its discrete adjoint."""
    if y0.ndim < 1 or y0.shape[0] == 0:
        raise ValueError(f"a batched y0 needs a leading batch axis, got shape {y0.shape}")
    nb = y0.shape[0]
    per_row = [np.ndim(x) >= 1 and np.shape(x)[0] == nb for x in leaves]
    # one row without the batch axis (fast scalar code), else a batch of one
    problem = None
    for kind, take in ((1, lambda x: np.asarray(x, dtype=float)[0]),
                       (2, lambda x: np.asarray(x, dtype=float)[:1])):
        flags = tuple(kind if r else 0 for r in per_row)
        row = [take(x) if r else x for x, r in zip(leaves, per_row)]
        problem = get_problem(fun, events, tab, take(y0), tree_unflatten(tree, row), flags,
                              quiet=kind == 1)
        if problem is not None:
            break
    if problem is None:
        raise NotCompilable("the problem did not compile", warn=False)  # (warned once)
    dt, rtol, atol, max_steps = opts
    m = problem.module
    loops = m if executor is None else executor(problem)
    row_chunks = _chunks if executor is None else loops.chunks

    def plain(y0_v, t0_v, t_end_v, leaf_v):
        p = _params(problem, leaf_v)
        ys = np.ascontiguousarray(y0_v, dtype=float).reshape(nb, -1)
        t0s, t_ends = (np.broadcast_to(np.asarray(v, dtype=float), (nb,)).copy()
                       for v in (t0_v, t_end_v))
        if dt is not None:
            h0s = np.full(nb, float(dt))
        else:
            h0s = np.array([_initial_step(problem, ys[b], t0s[b], t_ends[b], m.p_row(p, b),
                                          rtol, atol) for b in range(nb)])
        return (ys, t0s, t_ends, h0s, p, problem.cst, rtol, atol, max_steps)

    def fwd(*a):
        args = plain(*a)
        failures = Failures(nb)
        status = failures.status
        n_steps, n_rej, ev, nfev = (np.zeros(nb, dtype=np.int64) for _ in range(4))
        theta, t_r, g_c, slope, t_f = (np.zeros(nb) for _ in range(5))
        clipped = np.zeros(nb, dtype=bool)
        y_f = np.zeros_like(args[0])
        chunks = row_chunks(nb)
        kept = _in_threads(loops.integrate_batch, chunks, args + (
            top is not None, status, n_steps, n_rej, t_f, y_f, ev, nfev, theta, clipped, t_r, g_c,
            slope, failures.cause, failures.t, failures.h, failures.event))
        message = failures.messages(t_f, ev, max_steps, args[2], bool(problem.terminal))
        if top is not None and np.any(status < 0):
            raise failures.error(message)
        res = (args, status, n_steps, ev, nfev, message,
               (chunks, kept, theta, clipped, t_r, g_c, slope), n_rej)
        return (t_f, y_f.reshape(y0.shape)), res

    def bwd(res, g):
        args, _, n_steps, ev, _, _, (chunks, kept, theta, clipped, t_r, g_c, slope), _ = res
        gt, gy = (np.asarray(x, dtype=float) for x in g)
        rows = tuple(np.zeros((nb,) + _row_shape(x, bl))
                     for x, bl in zip(args[4], problem.batched_leaf))
        y0_bar, t0_bar, t_end_bar = np.zeros_like(args[0]), np.zeros(nb), np.zeros(nb)
        gy = np.ascontiguousarray(gy.reshape(nb, -1))
        _in_threads(loops.backward_batch, chunks,
                    [(k, n_steps, ev, theta, clipped, t_r, g_c, slope, args[4], args[5], gt, gy,
                      y0_bar, t0_bar, t_end_bar, rows) for k in kept])
        pbar = [r.reshape(np.shape(x)) if bl else r.sum(axis=0)
                for r, x, bl in zip(rows, leaves, problem.batched_leaf)]
        return (y0_bar.reshape(y0.shape), _fit(t0_bar, inputs[1]), _fit(t_end_bar, inputs[2]),
                pbar)

    (t_f, y_f), res = _differentiable(fwd, bwd, inputs)
    _, status, n_steps, ev, nfev, message, (chunks, kept, *_), n_rej = res
    return BatchSolution(t_final=t_f, y_final=y_f, event_time=t_f, event_index=ev,
                         status=status, n_steps=n_steps, nfev=int(np.sum(nfev)),
                         n_rejected=n_rej, message=message,
                         event_log=EventLog(lambda: _batch_log(chunks, kept, ev, t_f, y_f)))


class EventLog(Sequence):
    """A batch's event log, built when first read: building it indexes every row's final time
    and state (derivatives flow through them), which costs more than the compiled solve itself
    for a large batch that never reads it. Read after the trace that differentiated the solve
    has ended, its entries are plain values."""

    def __init__(self, build: Callable[[], list]):
        self._build, self._rows = build, None

    def _log(self) -> list:
        if self._rows is None:
            self._rows = self._build()
        return self._rows

    def __getitem__(self, i):
        return self._log()[i]

    def __len__(self) -> int:
        return len(self._log())

    def __eq__(self, other) -> bool:
        return self._log() == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return repr(self._log())


def _live(x):
    """``x`` without the tracers of traces that have ended."""
    while isinstance(x, Tracer) and not x._trace.alive:
        x = x.primal_value()
    return x


def _batch_log(chunks, kept, ev, t_f, y_f) -> list:
    """Each row's event log from the compiled loops' (plain values; a terminal event's entry is
    the row's final time and state, which carry derivatives while their trace is active)."""
    t_f, y_f = _live(t_f), _live(y_f)
    log = []
    for (lo, hi), (offsets, li, lt, ly, *_) in zip(chunks, kept):
        for b in range(lo, hi):
            a, z = offsets[b - lo], offsets[b - lo + 1]
            row = [(int(li[k]), float(lt[k]), ly[k].reshape(dnp.shape(y_f)[1:]))
                   for k in range(a, z)]
            if ev[b] >= 0 and row and row[-1][0] == ev[b]:
                row[-1] = (int(ev[b]), t_f[b], y_f[b])
            log.append(row)
    return log


def _chunks(nb: int) -> list:
    """Row ranges ``(lo, hi)`` covering ``0:nb``, one per CPU core (at least 8 rows each)."""
    n = max(1, min(os.cpu_count() or 1, nb // 8))
    cuts = np.linspace(0, nb, n + 1).astype(int)
    return [(int(cuts[i]), int(cuts[i + 1])) for i in range(n)]


def _in_threads(fn, chunks: list, args) -> list:
    """``[fn(lo, hi, *args) for (lo, hi) in chunks]``, the chunks in threads (the compiled loops
    release the GIL). ``args``: one tuple for all chunks, or a list of one per chunk."""
    global _POOL
    per_chunk = args if isinstance(args, list) else [args] * len(chunks)
    if len(chunks) == 1:
        return [fn(*chunks[0], *per_chunk[0])]
    if _POOL is None:  # (as many threads as cores: _chunks makes no more chunks)
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="diffopt-ode")
    return list(_POOL.map(lambda i: fn(*chunks[i], *per_chunk[i]), range(len(chunks))))


def _row_shape(x, kind: int) -> tuple:
    """The shape of one trajectory's share of a parameter (see ``get_problem``)."""
    shape = np.shape(x)
    return (shape, shape[1:], (1,) + shape[1:])[kind]


def _fit(bar, like):
    """A per-row time cotangent summed to a scalar time's shape."""
    return bar if np.ndim(concrete(like)) else float(np.sum(bar))


def _params(problem: Problem, leaves):
    """The parameter tuple the compiled loops take: scalars as floats, arrays contiguous (a
    batched solve's per-trajectory leaves whole)."""
    return tuple(float(x) if sc and not bl else np.ascontiguousarray(x, dtype=float)
                 for x, sc, bl in zip(leaves, problem.scalar_leaf, problem.batched_leaf))


def _outputs(run: Run):
    """``(t_final, y_final, t, y)`` of a run, as arrays."""
    return (np.float64(run.ts[-1]), run.ys[-1].copy(), run.ts.copy(), run.ys.copy())


def _message(run: Run, max_steps: int) -> str:
    """The NumPy path's message."""
    code = int(run.status)
    if code == status.TERMINAL_EVENT:
        return status.message(code, float(run.t_r), event=int(run.ev))
    return status.message(code, float(run.t_bad), cause=int(run.cause), h=float(run.h_bad),
                          event=int(run.i_bad), max_steps=max_steps, t_end=run.t_end,
                          terminal=bool(run.problem.terminal))


__all__ = ["solve_compiled", "get_problem", "Problem", "cache_dir", "NotCompilable"]
