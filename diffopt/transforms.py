"""Function transformations with JAX's signatures: grad, jvp, vjp, vmap, jacobians, hessians...

Each transform flattens its arguments (pytrees, via optree), opens a new trace on this thread's
stack, wraps the leaves as tracers of that trace, calls the function and reads the result back. The
transforms nest freely: ``hessian`` is ``jacfwd(grad(f))``, ``hvp`` is ``jvp`` of ``grad``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import optree
from numpy.exceptions import AxisError

from . import numpy as dnp
from .core import vspace
from .core.batching import BatchTrace, BatchTracer
from .core.forward import JVPTrace, JVPTracer
from .core.pytree import NAMESPACE, tree_flatten, tree_structure, tree_unflatten
from .core.reverse import ReverseTrace, ReverseTracer, backward, forward_sweep, record
from .core.trace import Tracer, concrete, new_trace, top_trace
from .numpy.backend import array_module

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "vjp_and_jvp", "linearize", "vmap", "jacfwd", "jacrev",
    "hessian", "hvp", "checkpoint", "custom_jvp", "custom_vjp", "compiled_rule",
]

Argnums = int | Sequence[int]


# --- argument handling ----------------------------------------------------------------------------
def _check_differentiable(leaves: list, what: str) -> list:
    """Leaves as arrays of a floating or complex dtype; a clear error otherwise."""
    out = []
    for x in leaves:
        if not isinstance(x, Tracer):
            x = x if hasattr(x, "dtype") and hasattr(x, "shape") else np.asarray(x)
        kind = x.dtype.kind
        if kind not in "fc":
            raise TypeError(
                f"{what} needs floating-point (or complex) inputs to differentiate, but got an "
                f"input of dtype {x.dtype}. Pass floats (3.0 rather than 3) or convert with "
                "x.astype(float); integer and boolean inputs have no derivative."
            )
        out.append(x)
    return out


def _check_like(primals: list, vectors: list, what: str, kind: str = "tangent") -> None:
    """Tangents (or cotangents) of their primals' shapes, and numbers: a boolean or non-numeric
    one is a mistake, not a direction."""
    for p, v in zip(primals, vectors):
        if vspace.shape_of(p) != vspace.shape_of(v):
            raise ValueError(f"{what}: a {kind} of shape {vspace.shape_of(v)} was given for "
                             f"a{'n output' if kind == 'cotangent' else ' primal'} of shape "
                             f"{vspace.shape_of(p)}; shapes must match")
        dtype = getattr(v, "dtype", None)
        dtype = np.asarray(v).dtype if dtype is None else dtype
        if dtype.kind not in "fciu":
            raise TypeError(f"{what}: a {kind} of dtype {dtype} was given; {kind}s are numbers "
                            "(floats, of the primal's dtype)")
        if kind == "tangent" and dtype.kind == "c" and not vspace.is_complex(p):
            raise TypeError(f"{what}: a complex tangent was given for a real primal; a real "
                            "input moves in real directions (differentiate a complex input "
                            "to use complex tangents)")


def check_argnums(argnums, what: str, n_args: int | None = None) -> tuple[tuple[int, ...], bool]:
    """``(positions, single)`` for an ``argnums`` of ``what``: ints only, none repeated, at least
    one; with ``n_args`` also in range, negative positions counted from the end. ``single`` says
    an int was given (one result) rather than a sequence (a tuple of results)."""
    single = _is_index(argnums)
    if not single and not (isinstance(argnums, (tuple, list))
                           and all(_is_index(n) for n in argnums)):
        raise TypeError(f"{what}: argnums must be an int or a tuple of ints (positions of the "
                        f"differentiated arguments), not {argnums!r}")
    nums = (int(argnums),) if single else tuple(int(n) for n in argnums)
    if not nums:
        raise ValueError(f"{what}: argnums=() selects no argument to differentiate; give at "
                         "least one position, for example argnums=0")
    if n_args is not None:
        for n in nums:
            if not -n_args <= n < n_args:
                raise ValueError(f"{what}: argnums={argnums!r} but the function was called with "
                                 f"{n_args} positional argument{'s' * (n_args != 1)}")
        nums = tuple(n % n_args for n in nums)
    repeated = sorted({n for n in nums if nums.count(n) > 1})
    if repeated:
        raise ValueError(f"{what}: argnums={argnums!r} repeats argument "
                         f"{', '.join(map(str, repeated))}; list each argument once")
    return nums, single


def _is_index(n) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))


def _split_args(f: Callable, args: tuple, kwargs: dict, argnums: Argnums, what: str):
    """The differentiated arguments and ``f`` as a function of just those."""
    nums, _ = check_argnums(argnums, what, len(args))

    def partial(*dargs):
        full = list(args)
        for n, d in zip(nums, dargs):
            full[n] = d
        return f(*full, **kwargs)

    return tuple(args[n] for n in nums), partial


def _unwrap(trace, x):
    """The value under ``trace``'s tracer (aux outputs leave the transform as plain values)."""
    if isinstance(x, ReverseTracer) and x._trace is trace:
        return x.value
    if isinstance(x, JVPTracer) and x._trace is trace:
        return x.primal
    return x


# --- reverse mode ---------------------------------------------------------------------------------
class _Recording:
    """One recorded forward pass of ``f``: the tape, and the linear maps read off it."""

    def __init__(self, f: Callable, primals: tuple, has_aux: bool, what: str):
        leaves, self.in_tree = tree_flatten(primals)
        self.leaves = _check_differentiable(leaves, what)
        self.aux = None
        with new_trace(ReverseTrace) as trace:
            self.inputs = [trace.new_input(x) for x in self.leaves]
            result = f(*tree_unflatten(self.in_tree, self.inputs))
            if has_aux:
                result, aux = _split_aux(result)
                self.aux = tree_map_unwrap(trace, aux)
            self.out_leaves, self.out_tree = tree_flatten(result)
        self.trace = trace
        self.out = tree_unflatten(self.out_tree, [_unwrap(trace, o) for o in self.out_leaves])
        self.depends_on_input = any(self._traced(o) for o in self.out_leaves)

    def _traced(self, o) -> bool:
        return isinstance(o, ReverseTracer) and o._trace is self.trace

    def pullback(self, cotangent):
        """The VJP: output cotangents to input cotangents (pytrees like the primals)."""
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != self.out_tree:
            raise ValueError(f"vjp_fn: the cotangent's structure {ct_tree} does not match the "
                             f"output's {self.out_tree}")
        _check_like([_unwrap(self.trace, o) for o in self.out_leaves], ct_leaves, "vjp_fn",
                    "cotangent")
        seeds = [(o, c) for o, c in zip(self.out_leaves, ct_leaves) if self._traced(o)]
        cts = backward(self.trace.tape, seeds)
        grads = [dnp.zeros_like_value(x) if cts[t.node.index] is None else cts[t.node.index]
                 for x, t in zip(self.leaves, self.inputs)]
        return tree_unflatten(self.in_tree, grads)

    def pushforward(self, *tangents):
        """The JVP at the recorded point, by a forward sweep of the tape (no re-evaluation)."""
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != self.in_tree:
            raise ValueError(f"linearize: tangents have structure {t_tree}, primals "
                             f"{self.in_tree}")
        _check_like(self.leaves, t_leaves, "linearize")
        tans = forward_sweep(self.trace.tape,
                             {i.node.index: t for i, t in zip(self.inputs, t_leaves)})
        outs = []
        for o in self.out_leaves:
            t = None
            if self._traced(o):
                t = tans[o.node.index]
                t = t if o.out_index is None or t is None else t[o.out_index]
            outs.append(dnp.zeros_like_value(_unwrap(self.trace, o)) if t is None else t)
        return tree_unflatten(self.out_tree, outs)


def vjp(f: Callable, *primals, has_aux: bool = False):
    """Value of ``f(*primals)`` and a function pulling output cotangents back to the inputs.

    ``vjp_fn(cotangent)`` returns a tuple with one entry per primal (pytrees welcome).

    >>> out, vjp_fn = vjp(dnp.sin, 0.5)
    >>> [float(g) for g in vjp_fn(1.0)]  # [cos(0.5)]
    [0.877582]
    """
    rec = _Recording(f, primals, has_aux, "vjp")
    vjp_fn = rec.pullback
    if has_aux:
        return rec.out, vjp_fn, rec.aux
    return rec.out, vjp_fn


def vjp_and_jvp(f: Callable, *primals):
    """``(f(*primals), vjp_fn, jvp_fn)``: both linear maps at ``primals`` from one forward pass.

    What Gauss-Newton needs: ``jvp_fn(*tangents)`` gives J v and ``vjp_fn(u)`` gives Jᵀ u, as often
    as wanted, without evaluating ``f`` again.

    >>> r, vjp_fn, jvp_fn = vjp_and_jvp(lambda x: x**2, np.array([1.0, 2.0]))
    >>> jvp_fn(np.array([1.0, 0.0]))
    array([2., 0.])
    >>> vjp_fn(np.array([1.0, 1.0]))
    (array([2., 4.]),)
    """
    rec = _Recording(f, primals, False, "vjp_and_jvp")
    return rec.out, rec.pullback, rec.pushforward


def _split_aux(result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError("with has_aux=True the function must return a pair (output, aux)")
    return result[0], result[1]


def tree_map_unwrap(trace, tree):
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [_unwrap(trace, x) for x in leaves])


def _value_and_grad(f, argnums, has_aux, args, kwargs, what: str):
    """``(value, aux or None, gradient)`` of ``f`` at ``args`` by reverse mode."""
    dargs, partial = _split_args(f, args, kwargs, argnums, what)
    rec = _Recording(partial, dargs, has_aux, what)
    out = rec.out
    _check_scalar_output(out, what)
    if not rec.depends_on_input:
        warnings.warn("the output of the differentiated function does not depend on its "
                      "inputs; returning zero gradients", stacklevel=3)
    g = rec.pullback(array_module(concrete(out)).ones(vspace.shape_of(out), dtype=_dtype_of(out)))
    return out, rec.aux, (g[0] if _is_index(argnums) else g)


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Like ``grad``, but the new function returns ``(f(x), grad f(x))``.

    >>> value, g = value_and_grad(lambda x: x**2)(3.0)
    >>> float(value), float(g)
    (9.0, 6.0)
    """
    check_argnums(argnums, "value_and_grad")

    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        out, aux, g = _value_and_grad(f, argnums, has_aux, args, kwargs, "value_and_grad")
        return ((out, aux), g) if has_aux else (out, g)

    return value_and_grad_f


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """Gradient of a real scalar function (or one returning a one-element array, as PyTorch's
    ``backward`` accepts), by reverse mode.

    ``argnums`` picks the differentiated positional arguments (an int gives one gradient, a tuple a
    tuple of them); with ``has_aux`` the function returns ``(value, aux)`` and the new one
    ``(gradient, aux)``.

    >>> gx, gy = grad(lambda x, y: x**2 * y + y + 2, argnums=(0, 1))(3.0, 4.0)
    >>> float(gx), float(gy)
    (24.0, 10.0)
    """
    check_argnums(argnums, "grad")

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        _, aux, g = _value_and_grad(f, argnums, has_aux, args, kwargs, "grad")
        return (g, aux) if has_aux else g

    return grad_f


def _dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _check_scalar_output(out, what: str):
    shape = vspace.shape_of(out)
    if not hasattr(out, "dtype") and not isinstance(out, (int, float, complex)):
        raise TypeError(f"{what} needs a function returning a real scalar, but it returned "
                        f"{type(out).__name__}. For several outputs use jacrev or vjp.")
    if math.prod(shape) != 1:  # (a one-element array counts as a scalar, as in PyTorch)
        raise TypeError(
            f"{what} needs a function with a scalar output, but the output has shape {shape}. "
            "Reduce it to a scalar (for example with sum), or use jacrev / jacobian for the full "
            "Jacobian, or vjp for a vector-Jacobian product."
        )
    if vspace.is_complex(out):
        raise TypeError(f"{what} needs a real scalar output, but it is complex. Differentiate "
                        "its real part, abs, or abs**2, or use vjp with a complex cotangent.")


# --- forward mode ---------------------------------------------------------------------------------
def jvp(f: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """``(f(*primals), J·tangents)`` by forward mode.

    >>> y, dy = jvp(dnp.sin, (0.0,), (1.0,))
    >>> float(y), float(dy)
    (0.0, 1.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp takes primals and tangents as tuples: jvp(f, (x,), (v,))")
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: tangents have structure {t_tree} but primals {p_tree}; pass one "
                         "tangent per primal, with the same nesting")
    p_leaves = _check_differentiable(p_leaves, "jvp")
    _check_like(p_leaves, t_leaves, "jvp")
    with new_trace(JVPTrace) as trace:
        inputs = [JVPTracer(trace, p, t) for p, t in zip(p_leaves, t_leaves)]
        result = f(*tree_unflatten(p_tree, inputs))
        if has_aux:
            result, aux = _split_aux(result)
        out_leaves, out_tree = tree_flatten(result)
        outs, touts = [], []
        for o in out_leaves:
            if isinstance(o, JVPTracer) and o._trace is trace:
                outs.append(o.primal)
                touts.append(o.tangent)
            else:
                outs.append(o)
                touts.append(dnp.zeros_like_value(o))
    res = tree_unflatten(out_tree, outs), tree_unflatten(out_tree, touts)
    return (*res, tree_map_unwrap(trace, aux)) if has_aux else res


def linearize(f: Callable, *primals):
    """``(f(*primals), f_jvp)``: ``f`` runs once; ``f_jvp(*tangents)`` is the JVP at ``primals``.

    The forward pass is recorded, and each ``f_jvp`` call pushes tangents along the record
    without evaluating ``f`` again.

    >>> y, f_jvp = linearize(dnp.sin, 0.0)
    >>> float(f_jvp(2.0))
    2.0
    """
    rec = _Recording(f, primals, False, "linearize")
    return rec.out, rec.pushforward


# --- batching -------------------------------------------------------------------------------------
def vmap(f: Callable, in_axes: int | None | Sequence = 0, out_axes=0) -> Callable:
    """Vectorise ``f`` over an axis of its arguments without a Python loop.

    ``in_axes`` is an int (the mapped axis of every argument), or a tuple with one entry per
    positional argument: an int, None (not mapped), or a pytree of them matching that argument
    (``({"w": None, "b": 0},)`` for a dict argument). ``out_axes`` places the mapped axis in the
    output: an int, or a pytree prefix of the output (None for an output that does not depend on
    the mapped axis). Negative axes count from the end; out-of-range axes raise AxisError.

    >>> vmap(lambda x: dnp.dot(x, x))(np.ones((5, 3)))
    array([3., 3., 3., 3., 3.])
    """
    if not (in_axes is None or _is_index(in_axes) or isinstance(in_axes, (tuple, list))):
        raise TypeError(f"vmap: in_axes must be an int, None, or a tuple with one entry per "
                        f"positional argument, not {type(in_axes).__name__}; for a single dict "
                        f"argument wrap its axes in a tuple: in_axes=({in_axes!r},)")
    _check_axis_spec(in_axes, "in_axes")
    _check_axis_spec(out_axes, "out_axes")

    @functools.wraps(f)
    def batched(*args):
        if isinstance(in_axes, (tuple, list)):
            if len(in_axes) != len(args):
                raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function "
                                 f"was called with {len(args)} positional arguments; give one "
                                 "entry per argument")
            specs = in_axes
        else:
            specs = (in_axes,) * len(args)
        flat, size = _mapped_inputs(args, specs)
        if size is None:
            raise ValueError("vmap needs at least one mapped argument, but in_axes maps none "
                             f"(in_axes={in_axes!r})")
        with new_trace(BatchTrace, size) as trace:
            call = [tree_unflatten(tree, [BatchTracer(trace, x) if mapped else x
                                          for x, mapped in moved])
                    for moved, tree in flat]
            result = f(*call)
            out_leaves, out_tree = tree_flatten(result)
            axes = _leaf_axes(out_axes, result, len(out_leaves), "out_axes", "the output")
            return tree_unflatten(out_tree, [_place_batch_axis(trace, o, ax, result, j)
                                             for j, (o, ax) in enumerate(zip(out_leaves, axes))])

    return batched


def _mapped_inputs(args: tuple, specs) -> tuple[list, int | None]:
    """Per argument, its leaves (mapped axes moved to the front, each with whether it is mapped)
    and its structure; and the size of the mapped axes (None if nothing is mapped)."""
    flat, size, first = [], None, None
    for k, (arg, spec) in enumerate(zip(args, specs)):
        leaves, tree = tree_flatten(arg)
        axes = _leaf_axes(spec, arg, len(leaves), f"in_axes[{k}]", f"argument {k}")
        moved = []
        for j, (x, ax) in enumerate(zip(leaves, axes)):
            if ax is not None:
                shape = vspace.shape_of(x)
                if not -len(shape) <= ax < len(shape):
                    raise _axis_error(ax, len(shape), f"vmap: in_axes maps axis {ax} of "
                                      f"{_leaf_name(f'argument {k}', arg, j)}, of shape {shape}",
                                      _in_axis_fix(len(shape)))
                ax %= len(shape)
                if size is not None and shape[ax] != size:
                    raise ValueError(f"vmap: mapped axes have different sizes: "
                                     f"{_leaf_name(*first)} has size {size}, but axis {ax} of "
                                     f"{_leaf_name(f'argument {k}', arg, j)} has size {shape[ax]}")
                if size is None:
                    size, first = shape[ax], (f"argument {k}", arg, j)
                x = dnp.moveaxis(x, ax, 0) if ax else x
            moved.append((x, ax is not None))
        flat.append((moved, tree))
    return flat, size


_UNMAPPED = object()  # None in an axis spec, while it is broadcast against a pytree


def _check_axis_spec(spec, name: str) -> None:
    """Refuse an in_axes/out_axes that holds anything but ints and None."""
    for leaf in optree.tree_leaves(spec, none_is_leaf=True, namespace=NAMESPACE):
        if leaf is not None and not _is_index(leaf):
            raise TypeError(f"vmap: {name} must hold ints (axes) or None (not mapped), but it "
                            f"holds {leaf!r} of type {type(leaf).__name__}")


def _leaf_axes(spec, tree, n_leaves: int, spec_name: str, tree_name: str) -> list:
    """One axis (int or None) per leaf of ``tree``, from ``spec``: an axis or a pytree prefix."""
    if spec is None or _is_index(spec):
        return [spec] * n_leaves
    marked = optree.tree_map(lambda a: _UNMAPPED if a is None else a, spec, none_is_leaf=True,
                             namespace=NAMESPACE)
    try:
        full = optree.tree_broadcast_prefix(marked, tree, none_is_leaf=False,
                                            namespace=NAMESPACE)
    except ValueError:
        raise ValueError(f"vmap: {spec_name}={spec!r} does not match the structure of "
                         f"{tree_name}, {tree_structure(tree)}; give one axis for the whole "
                         "value, or a pytree of axes with its structure (a prefix of it)"
                         ) from None
    return [None if a is _UNMAPPED else a
            for a in optree.tree_leaves(full, none_is_leaf=False, namespace=NAMESPACE)]


def _axis_error(axis: int, ndim: int, where: str, fix: str) -> AxisError:
    """NumPy's AxisError for ``axis`` of an array of dimension ``ndim``, saying where and what to
    do."""
    return AxisError(f"{where}: axis {axis} is out of bounds for array of dimension {ndim}; {fix}")


def _in_axis_fix(ndim: int) -> str:
    if ndim == 0:
        return ("a scalar has no axis to map over: give it a batch axis, or in_axes=None for an "
                "argument that is the same for every element")
    return (f"an argument of dimension {ndim} takes in_axes from {-ndim} to {ndim - 1} (None: "
            "not mapped)")


def _leaf_name(label: str, tree, j: int, none_is_leaf: bool = False) -> str:
    """``label`` for a whole value, or "label['w'][1]" for leaf ``j`` inside the pytree ``tree``."""
    paths = optree.tree_paths(tree, none_is_leaf=none_is_leaf, namespace=NAMESPACE)
    return label + "".join(f"[{p!r}]" for p in paths[j])


def _place_batch_axis(trace, out, axis, result, j: int):
    """An output leaf of the batched function with its batch axis at ``axis`` (None: unbatched)."""
    batched = isinstance(out, BatchTracer) and out._trace is trace
    if axis is None:
        if batched:
            raise ValueError(f"vmap: out_axes gives None (not mapped) for "
                             f"{_leaf_name('the output', result, j)}, but it depends on "
                             "the mapped axis; give it an axis in out_axes")
        return out
    value = out.val if batched else dnp.broadcast_to(out, (trace.size,) + vspace.shape_of(out))
    ndim = len(vspace.shape_of(value))
    if not -ndim <= axis < ndim:
        raise _axis_error(axis, ndim, f"vmap: out_axes places the mapped axis at {axis} in "
                          f"{_leaf_name('the output', result, j)}, of shape "
                          f"{vspace.shape_of(out)} per element", f"an output of dimension "
                          f"{ndim - 1} takes out_axes from {-ndim} to {ndim - 1}")
    axis %= ndim
    return dnp.moveaxis(value, 0, axis) if axis else value


# --- Jacobians ------------------------------------------------------------------------------------
def _flat_sizes(leaves) -> list[int]:
    return [int(np.prod(vspace.shape_of(x), dtype=np.int64)) for x in leaves]


def _basis(n: int, like, dtype):
    xp = _array_module(like)
    return xp.eye(n, dtype=dtype)


def _array_module(x):
    return array_module(x)


def jacfwd(f: Callable, argnums: Argnums = 0) -> Callable:
    """Jacobian by forward mode: all basis tangents pushed through in one batched pass.

    The result has shape ``out.shape + x.shape`` (pytrees: an output tree of input trees).

    >>> jacfwd(lambda x: x**2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    _, single = check_argnums(argnums, "jacfwd")

    @functools.wraps(f)
    def jac(*args, **kwargs):
        dargs, partial = _split_args(f, args, kwargs, argnums, "jacfwd")
        in_leaves, in_tree = tree_flatten(dargs)
        in_leaves = _check_differentiable(in_leaves, "jacfwd")
        sizes = _flat_sizes(in_leaves)
        n = sum(sizes)
        dtype = np.result_type(*[x.dtype for x in in_leaves])
        eye = _basis(n, concrete(in_leaves[0]), dtype)
        offs = np.cumsum([0] + sizes)
        tangents = [eye[:, offs[k]:offs[k + 1]].reshape((n,) + vspace.shape_of(x))
                    for k, x in enumerate(in_leaves)]

        def push(*t_leaves):
            return jvp(partial, dargs, tree_unflatten(in_tree, list(t_leaves)))[1]

        out_t = vmap(push)(*tangents)
        out_leaves, out_tree = tree_flatten(out_t)
        per_out = []
        for o in out_leaves:  # o: (n,) + out_shape
            oshape = vspace.shape_of(o)[1:]
            o = dnp.moveaxis(o, 0, -1) if oshape else o
            blocks = [dnp.reshape(o[..., offs[k]:offs[k + 1]], oshape + vspace.shape_of(x))
                      for k, x in enumerate(in_leaves)]
            per_out.append(_arg_tree(in_tree, blocks, single))
        return tree_unflatten(out_tree, per_out)

    return jac


def _arg_tree(in_tree, blocks, single: bool):
    tree = tree_unflatten(in_tree, blocks)
    return tree[0] if single else tree


def jacrev(f: Callable, argnums: Argnums = 0, chunk_size: int | None = None) -> Callable:
    """Jacobian by reverse mode: batched cotangents pulled back ``chunk_size`` rows at a time.

    >>> jacrev(lambda x: x**2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    _, single = check_argnums(argnums, "jacrev")

    @functools.wraps(f)
    def jac(*args, **kwargs):
        dargs, partial = _split_args(f, args, kwargs, argnums, "jacrev")
        out, vjp_fn = vjp(partial, *dargs)
        in_leaves, in_tree = tree_flatten(dargs)
        out_leaves, out_tree = tree_flatten(out)
        sizes = _flat_sizes(out_leaves)
        m = sum(sizes)
        n = sum(_flat_sizes(in_leaves))
        dtype = np.result_type(*[getattr(o, "dtype", np.float64) for o in out_leaves])
        eye = _basis(m, concrete(out_leaves[0]), dtype)
        offs = np.cumsum([0] + sizes)
        chunk = chunk_size or max(1, min(m, (1 << 24) // max(n, 1)))
        pull = vmap(vjp_fn)
        pieces = []
        for r0 in range(0, m, chunk):
            rows = eye[r0:r0 + chunk]
            cts = [rows[:, offs[j]:offs[j + 1]].reshape((len(rows),) + vspace.shape_of(o))
                   for j, o in enumerate(out_leaves)]
            pieces.append(tree_flatten(pull(tree_unflatten(out_tree, cts)))[0])
        if not pieces:  # an empty output: an empty Jacobian
            pieces = [[array_module(concrete(x)).zeros((0,) + vspace.shape_of(x), dtype)
                       for x in in_leaves]]
        stacked = [p[0] if len(pieces) == 1 else dnp.concatenate(list(p), axis=0)
                   for p in zip(*pieces)]  # per input leaf: (m,) + in_shape
        per_out = []
        for j, o in enumerate(out_leaves):
            oshape = vspace.shape_of(o)
            blocks = [dnp.reshape(s[offs[j]:offs[j + 1]], oshape + vspace.shape_of(x))
                      for s, x in zip(stacked, in_leaves)]
            per_out.append(_arg_tree(in_tree, blocks, single))
        return tree_unflatten(out_tree, per_out)

    return jac


def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """Hessian of a scalar function, forward-over-reverse (``jacfwd(grad(f))``).

    >>> hessian(lambda x: dnp.sum(x**3))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    check_argnums(argnums, "hessian")
    second = jacfwd(grad(f, argnums), argnums)

    @functools.wraps(f)
    def hess(*args, **kwargs):
        check_argnums(argnums, "hessian", len(args))  # errors name hessian, not its parts
        return second(*args, **kwargs)

    return hess


def hvp(f: Callable, x, v):
    """Hessian-vector product ∇²f(x)·v by forward-over-reverse, without forming the Hessian.

    >>> hvp(lambda x: dnp.sum(x**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    if tree_structure(x) != tree_structure(v):
        raise ValueError("hvp: v must have the same structure as x")
    return jvp(grad(f), (x,), (v,))[1]


# --- custom rules and checkpointing --------------------------------------------------------------
def single_reverse(top, leaves) -> bool:
    """Whether ``top`` (the innermost trace among ``leaves``) is the only one active on them and a
    reverse one: no forward mode, no derivative of a derivative. A rule that computes on plain
    values (compiled code) is exact only then."""
    if not isinstance(top, ReverseTrace):
        return False
    for a in leaves:
        if isinstance(a, Tracer) and (a._trace is not top or isinstance(a.value, Tracer)):
            return False
    return True


def _unwrap_leaves(trace, leaves):
    return [x.value if isinstance(x, ReverseTracer) and x._trace is trace else x for x in leaves]


class custom_vjp:
    """A function with a hand-written VJP, JAX style.

    >>> @custom_vjp
    ... def f(x): return dnp.sin(x)
    >>> _ = f.defvjp(lambda x: (dnp.sin(x), dnp.cos(x)), lambda cos_x, g: (g * cos_x,))
    >>> float(grad(f)(0.0))
    1.0

    ``fwd(*args) -> (out, residuals)``; ``bwd(residuals, g) -> tuple``: one cotangent per
    argument, with exactly its shape and pytree structure (None for a zero one); a rule that
    returns anything else is refused with an error naming it. Under forward mode the ordinary
    implementation is differentiated instead.
    """

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = self.bwd = None

    def defvjp(self, fwd: Callable, bwd: Callable):
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp function {self.fun.__name__} has no rule: call defvjp")
        leaves, tree = tree_flatten(args)
        top = top_trace(leaves)
        if not isinstance(top, ReverseTrace):
            return self.fun(*args)
        name = self.fun.__name__
        out, res = _rule_pair(self.fwd(*tree_unflatten(tree, _unwrap_leaves(top, leaves))),
                              f"the fwd rule of custom_vjp function {name}", "(output, residuals)")
        out_leaves, out_tree = tree_flatten(out)

        def pull(g_leaves):
            cts = self.bwd(res, tree_unflatten(out_tree, g_leaves))
            rule = f"the bwd rule of custom_vjp function {name}"
            if not isinstance(cts, tuple) or len(cts) != len(args):
                raise TypeError(f"{rule} must return a tuple with one cotangent per argument "
                                f"({len(args)}; None for a zero one), but it returned "
                                f"{_describe(cts)}")
            return [leaf for k, (ct, arg) in enumerate(zip(cts, args))
                    for leaf in _rule_leaves(ct, arg, rule, "cotangent", f"argument {k}")]

        def push(primal_leaves, tangent_leaves):
            primal_args = tree_unflatten(tree, primal_leaves)
            tangent_args = tree_unflatten(tree, tangent_leaves)
            return tree_flatten(jvp(self.fun, primal_args, tangent_args)[1])[0]

        return tree_unflatten(out_tree,
                              record(top, self.fun.__name__, leaves, out_leaves, pull, push))


def _rule_pair(result, rule: str, expected: str) -> tuple:
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return tuple(result)
    raise TypeError(f"{rule} must return a pair {expected}, but it returned {_describe(result)}")


def _describe(x) -> str:
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def _rule_leaves(value, primal, rule: str, kind: str, label: str) -> list:
    """The leaves of a custom rule's tangent or cotangent ``value`` for ``primal``, one per leaf of
    ``primal`` (None stands for zero, for the whole value or any leaf). Each must have exactly its
    primal's shape and, where the primal is floating or complex, a floating or complex dtype (a
    complex cotangent of a real primal keeps its real part, as everywhere in reverse mode)."""
    if value is None:
        return [None] * len(tree_flatten(primal)[0])
    v_leaves, v_tree = optree.tree_flatten(value, none_is_leaf=True, namespace=NAMESPACE)
    p_leaves, p_tree = optree.tree_flatten(primal, none_is_leaf=True, namespace=NAMESPACE)
    if v_tree != p_tree:
        raise ValueError(f"{rule} returned a {kind} with structure {v_tree} for {label}, which "
                         f"has structure {p_tree}; give one {kind} per leaf, with its nesting")
    out = []
    for j, (v, p) in enumerate(zip(v_leaves, p_leaves)):
        if p is None:  # an empty node of the primal: no leaf
            continue
        if v is not None and _is_numeric(p):
            where = _leaf_name(label, primal, j, none_is_leaf=True)
            if vspace.shape_of(v) != vspace.shape_of(p):
                raise ValueError(
                    f"{rule} returned a {kind} of shape {vspace.shape_of(v)} for {where}, of "
                    f"shape {vspace.shape_of(p)}; it must have exactly its primal's shape (sum "
                    "any broadcast axes in the rule)")
            if _is_inexact(p) and not _is_inexact(v):
                raise TypeError(
                    f"{rule} returned {_describe(v)} as the {kind} for {where}, of dtype "
                    f"{_dtype_of(p)}; {kind}s of floating-point values must be floating-point "
                    f"(return 0.0 or None for a zero {kind})")
        out.append(v)
    return out


def _is_numeric(x) -> bool:
    return hasattr(x, "dtype") or isinstance(x, (int, float, complex))


def _is_inexact(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, (float, complex))
    return dtype.kind in "fc"


def compiled_rule(reference: Callable, forward: Callable, backward: Callable,
                  residuals: bool = False) -> Callable:
    """Compiled code as a function every transform takes: ``rule(*args)``.

    ``forward(*args) -> (out, res)`` and ``backward(res, g) -> (one cotangent per argument)`` run
    on plain values (compiled kernels); ``reference(*args)``, written with ``diffopt.numpy``,
    computes the same ``out``. On plain arguments the rule runs ``forward``; under one reverse
    trace (``grad``, ``vjp``, ``jacrev``) it is one recorded operation with ``backward`` as its
    VJP, and cotangents batched by ``vmap`` (``jacrev``) are pulled back through ``backward`` one
    row at a time; under any other trace (forward mode, ``vmap``, nested derivatives), and for
    cotangents that carry derivatives, ``reference`` is differentiated instead.
    ``residuals=True``: the rule returns ``(out, res)`` (``res`` is None where ``reference`` ran).
    The three functions stay readable as the rule's attributes of the same names.

    >>> cube = compiled_rule(lambda x: x ** 3, lambda x: (x ** 3, x), lambda x, g: (3 * x**2 * g,))
    >>> float(cube(2.0)), float(grad(cube)(2.0)), float(jvp(cube, (2.0,), (1.0,))[1])
    (8.0, 12.0, 12.0)
    >>> jacrev(cube)(np.array([1.0, 2.0]))
    array([[ 3.,  0.],
           [ 0., 12.]])
    """

    def pull(kept, g):
        args, res = kept
        leaves, tree = tree_flatten(g)
        traced = [x for x in leaves if isinstance(x, Tracer)]
        if not traced:
            return backward(res, g)
        trace = traced[0]._trace
        if not all(type(x) is BatchTracer and x._trace is trace and not isinstance(x.val, Tracer)
                   for x in traced):  # cotangents that carry derivatives
            return vjp(reference, *args)[1](g)
        rows = []  # batched by vmap: one compiled pullback per row, stacked
        for i in range(trace.size):
            row = tree_unflatten(tree, [x.val[i] if isinstance(x, Tracer) else x for x in leaves])
            rows.append(tree_flatten(backward(res, row)))
        columns = zip(*[bars for bars, _ in rows])
        return tree_unflatten(rows[0][1], [BatchTracer(trace, np.stack([np.asarray(b) for b in c]))
                                           for c in columns])

    def rule(*args):
        leaves = tree_flatten(args)[0]
        top = top_trace(leaves)
        if top is None:
            out, res = forward(*args)
        elif single_reverse(top, leaves):
            kept = []

            def forward_kept(*a):
                out, res = forward(*a)
                kept.append(res)
                return out, (a, res)

            out = custom_vjp(reference).defvjp(forward_kept, pull)(*args)
            res = kept[0]
        else:
            out, res = reference(*args), None
        return (out, res) if residuals else out

    rule.reference, rule.forward, rule.backward = reference, forward, backward
    return rule

class custom_jvp:
    """A function with a hand-written JVP, JAX style.

    >>> from diffopt.scipy.special import expit
    >>> @custom_jvp
    ... def f(x): return dnp.log1p(dnp.exp(x))
    >>> _ = f.defjvp(lambda primals, tangents: (f(primals[0]), tangents[0] * expit(primals[0])))
    >>> float(grad(f)(0.0))
    0.5

    ``jvp(primals, tangents) -> (out, tangent_out)`` must be linear in the tangents, and
    ``tangent_out`` shaped exactly like ``out`` (checked); reverse mode transposes it by
    differentiating it with respect to the tangents.
    """

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp = None

    def defjvp(self, jvp_rule: Callable):
        self.jvp = jvp_rule
        return self

    def __call__(self, *args):
        if self.jvp is None:
            raise TypeError(f"custom_jvp function {self.fun.__name__} has no rule: call defjvp")
        leaves, tree = tree_flatten(args)
        top = top_trace(leaves)
        if isinstance(top, JVPTrace):
            return self._forward(top, leaves, tree)
        if isinstance(top, ReverseTrace):
            return self._reverse(top, leaves, tree)
        return self.fun(*args)

    def _forward(self, trace, leaves, tree):
        primals = [x.primal if isinstance(x, JVPTracer) and x._trace is trace else x
                   for x in leaves]
        tangents = [x.tangent if isinstance(x, JVPTracer) and x._trace is trace
                    else dnp.zeros_like_value(x) for x in leaves]
        out, tout = self._rule(tuple(tree_unflatten(tree, primals)),
                               tuple(tree_unflatten(tree, tangents)))
        out_leaves, out_tree = tree_flatten(out)
        t_leaves = self._tangents(tout, out)
        wrapped = [JVPTracer(trace, o, dnp.zeros_like_value(o) if t is None else t)
                   for o, t in zip(out_leaves, t_leaves)]
        return tree_unflatten(out_tree, wrapped)

    def _rule(self, primals: tuple, tangents: tuple) -> tuple:
        return _rule_pair(self.jvp(primals, tangents),
                          f"the jvp rule of custom_jvp function {self.fun.__name__}",
                          "(output, tangent of the output)")

    def _tangents(self, tangent_out, out) -> list:
        return _rule_leaves(tangent_out, out, f"the jvp rule of custom_jvp function "
                            f"{self.fun.__name__}", "tangent", "the output")

    def _reverse(self, trace, leaves, tree):
        vals = _unwrap_leaves(trace, leaves)
        primals = tuple(tree_unflatten(tree, vals))
        out = self.fun(*primals)
        out_leaves, out_tree = tree_flatten(out)

        def pull(g_leaves):
            # The tangent map t -> jvp(primals, t)[1] is linear; its VJP is its transpose.
            def tangent_map(*t_leaves):
                tangent_out = self._rule(primals, tuple(tree_unflatten(tree, list(t_leaves))))[1]
                return tree_unflatten(out_tree, [dnp.zeros_like_value(o) if t is None else t
                                                 for o, t in zip(out_leaves,
                                                                 self._tangents(tangent_out, out))])

            zeros = [dnp.zeros_like_value(v) for v in vals]
            _, pull_t = vjp(tangent_map, *zeros)
            return list(pull_t(tree_unflatten(out_tree, g_leaves)))

        def push(primal_leaves, tangent_leaves):
            tangent_out = self._rule(tuple(tree_unflatten(tree, primal_leaves)),
                                     tuple(tree_unflatten(tree, tangent_leaves)))[1]
            return [dnp.zeros_like_value(o) if t is None else t
                    for o, t in zip(out_leaves, self._tangents(tangent_out, out))]

        return tree_unflatten(out_tree,
                              record(trace, self.fun.__name__, leaves, out_leaves, pull, push))


def checkpoint(f: Callable) -> Callable:
    """Don't store ``f``'s intermediate values for the reverse pass: recompute them there.

    Trades compute for memory in deep programs.

    >>> def block(x): return dnp.tanh(dnp.tanh(x))
    >>> grad(lambda x: dnp.sum(checkpoint(block)(x)))(np.zeros(2))
    array([1., 1.])
    """
    wrapped = custom_vjp(f)
    wrapped.defvjp(lambda *args: (f(*args), args),
                   lambda args, g: tuple(vjp(f, *args)[1](g)))
    return wrapped

