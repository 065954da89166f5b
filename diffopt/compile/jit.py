"""``jit(f)``: trace ``f`` once per argument signature into a graph, simplify it and generate code.

The NumPy backend generates one line per equation calling the primitive's implementation directly,
which removes all tracing and dispatch overhead; the Numba backend compiles the whole graph into
one ``numba.njit`` kernel (scalar programs become scalar arithmetic, elementwise expressions fuse
into loops); the CUDA backend compiles each region of elementwise equations into one fused
numba-cuda kernel and runs the rest (reductions, other primitives) on CuPy (``codegen_cuda``).
Derivative programs compile like any other: ``jit(grad(f))``, ``jit(jacfwd(f))``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

from ..core import Tracer
from ..core.graph import Graph, Literal, make_graph
from ..core.pytree import tree_flatten, tree_unflatten
from .closure import Captured, ClosureChangedWarning
from .codegen_numpy import build, generate_numpy

BACKENDS = ("numpy", "numba", "cuda")


def _vjp_program(fun: Callable) -> Callable:
    """``(args, g) -> cotangents of args``: the VJP of ``fun`` as one traceable program."""
    from ..transforms import vjp

    def pull(args, g):
        return vjp(fun, *args)[1](g)

    return pull


class _Compiled:
    __slots__ = ("fn", "out_tree", "single", "source", "backend", "graph")

    def __init__(self, fn, graph: Graph, source: str, backend: str):
        self.fn = fn
        self.graph = graph
        self.out_tree = graph.out_tree
        self.single = graph.out_tree is not None and graph.out_tree.num_leaves == 1 and \
            graph.out_tree.num_nodes == 1  # the output is one array, not a container
        self.source = source
        self.backend = backend


def _leaf_key(x):
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        return (x.shape, x.dtype)
    if hasattr(x, "__cuda_array_interface__"):  # a CuPy array
        return (type(x), x.shape, x.dtype)
    return type(x)


def _simplify(graph: Graph) -> Graph:
    try:
        from .passes import simplify
    except ImportError:  # the passes are optional: compile the graph as traced
        return graph
    return simplify(graph)


class Jitted:
    """A function compiled per signature (pytree structure, shapes and dtypes of its arguments).

    Attributes: ``compile_seconds`` (the last compile, everything included), ``timings`` (its
    parts: ``trace``, ``simplify``, ``codegen`` and, for Numba, ``numba``), ``cache_size``.
    """

    def __init__(self, f: Callable, backend: str = "numpy"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown jit backend {backend!r}; use one of {BACKENDS}")
        if not callable(f):
            raise TypeError(f"jit needs a callable, got {type(f).__name__}")
        if backend == "cuda":
            from .. import cuda

            cuda.require('jit(backend="cuda")')
        self.fun = f
        self.backend = backend
        self.compile_seconds = 0.0
        self.timings: dict = {}
        self._cache: dict = {}
        self._rule = None  # (the custom_vjp used under reverse mode, built on first use)
        self._captured: Captured | None = None  # what the traces read from outside
        self.__name__ = getattr(f, "__name__", "jitted")
        self.__doc__ = getattr(f, "__doc__", None)
        self.__wrapped__ = f

    def __call__(self, *args):
        leaves, tree = tree_flatten(args)
        if any(isinstance(x, Tracer) for x in leaves):
            return self._traced(args)
        self._drop_stale()
        key = (tree, tuple([_leaf_key(x) for x in leaves]))
        c = self._cache.get(key)
        if c is None:
            c = self._cache[key] = self._compile(leaves, tree)
        out = c.fn(*leaves)
        if c.single:
            return out
        if c.out_tree.num_leaves == 1:
            return tree_unflatten(c.out_tree, [out])
        return tree_unflatten(c.out_tree, list(out))

    def _traced(self, args: tuple):
        """Called under a transform. Under one reverse trace (``grad``, ``vjp``, ``jacrev``) the
        call is recorded as one operation whose forward and VJP programs both run compiled; under
        any other (forward mode, nested derivatives, ``vmap``) ``f`` itself is traced."""
        if self._rule is None:
            from ..transforms import compiled_rule

            pull = Jitted(_vjp_program(self.fun), self.backend)
            self._rule = compiled_rule(self.fun, lambda *a: (self(*a), a), pull)
        return self._rule(*args)

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def cache_info(self) -> dict:
        """Number of compiled signatures and the backend each one uses."""
        return {"size": len(self._cache),
                "backends": [c.backend for c in self._cache.values()]}

    def _drop_stale(self) -> None:
        """Forget every compiled program if a value they captured changed since the trace."""
        change = self._captured.changed() if self._captured is not None else None
        if change is None:
            return
        warnings.warn(f"jit({self.__name__}): {change} since {self.__name__} was traced, and the "
                      "compiled program holds the old value; tracing again. Pass values that "
                      "change as arguments to avoid the retracing.", ClosureChangedWarning,
                      stacklevel=3)
        self._cache.clear()
        self._captured = None

    def _entry(self, args) -> _Compiled:
        self._drop_stale()
        leaves, tree = tree_flatten(args)
        key = (tree, tuple([_leaf_key(x) for x in leaves]))
        if key not in self._cache:
            self._cache[key] = self._compile(leaves, tree)
        return self._cache[key]

    def source(self, *args) -> str:
        """The generated Python source for the signature of ``args`` (compiled if needed).

        >>> import diffopt.numpy as dnp
        >>> print(jit(dnp.sin).source(1.0))
        def sin(a):
            b = sin_0(a)
            return b
        """
        return self._entry(args).source

    def graph(self, *args) -> Graph:
        """The simplified graph compiled for the signature of ``args``."""
        return self._entry(args).graph

    def _compile(self, leaves, tree) -> _Compiled:
        t0 = time.perf_counter()
        examples = [x if hasattr(x, "shape") else np.asarray(x) for x in leaves]
        graph = make_graph(self.fun)(*tree_unflatten(tree, examples))
        _check_outputs(graph, self.__name__)
        # Fingerprinted after the trace, so that what the trace itself changes (a list of calls)
        # does not count; changes before it were caught by _drop_stale.
        self._captured = Captured(self.fun)
        t1 = time.perf_counter()
        graph = _simplify(graph)
        t2 = time.perf_counter()
        self.timings = {"trace": t1 - t0, "simplify": t2 - t1}
        compiled = None
        if self.backend == "numba":
            unwrap = [isinstance(x, (np.ndarray, np.generic)) and x.ndim == 0 for x in leaves]
            compiled = self._compile_numba(graph, examples, unwrap)
        elif self.backend == "cuda":
            compiled = self._compile_cuda(graph)
        if compiled is None:
            t3 = time.perf_counter()
            source, namespace = generate_numpy(graph, self._fn_name())
            compiled = _Compiled(build(source, namespace, self._fn_name()), graph, source, "numpy")
            self.timings["codegen"] = time.perf_counter() - t3
        self.compile_seconds = sum(self.timings.values())
        return compiled

    def _fn_name(self) -> str:
        name = self.__name__
        return name if name.isidentifier() and not name.startswith("<") else "jitted"

    def _compile_numba(self, graph: Graph, examples, unwrap) -> _Compiled | None:
        """The Numba kernel for ``graph``; None (after a warning) when it cannot be compiled."""
        from .codegen_numba import NotLowerable, generate_numba

        name = self._fn_name()
        t0 = time.perf_counter()
        try:
            kernel_src, wrapper_src, consts = generate_numba(graph, name, unwrap)
        except NotLowerable as e:
            warnings.warn(f"jit(backend='numba'): primitive {e.prim_name!r} cannot be lowered to "
                          f"Numba ({e}); using the numpy backend for this function", stacklevel=4)
            return None
        t1 = time.perf_counter()
        try:
            import numba

            kernel = numba.njit(cache=False)(build(kernel_src, {"_np": np}, f"{name}_kernel"))
            args = [np.asarray(x)[()] if u else x for x, u in zip(examples, unwrap)]
            args += list(consts.values())
            kernel.compile(tuple(numba.typeof(a) for a in args))
        except Exception as e:  # a typing failure in Numba: keep the function working
            warnings.warn(f"jit(backend='numba'): Numba could not compile the kernel "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                          "using the numpy backend for this function", stacklevel=4)
            return None
        t2 = time.perf_counter()
        self.timings.update(codegen=t1 - t0, numba=t2 - t1)
        fn = build(wrapper_src, {f"{name}_kernel": kernel, **consts}, name)
        return _Compiled(fn, graph, kernel_src + "\n" + wrapper_src, "numba")


    def _compile_cuda(self, graph: Graph) -> _Compiled:
        """One fused CUDA kernel per elementwise region; the rest on the array module."""
        from .codegen_cuda import compile_plan, generate_cuda

        name = self._fn_name()
        t0 = time.perf_counter()
        plan = generate_cuda(graph, name)
        fn = compile_plan(plan, name)
        self.timings["codegen"] = time.perf_counter() - t0
        source = "\n".join([plan.source] + [k.source for k in plan.kernels])
        return _Compiled(fn, graph, source, "cuda")


def _check_outputs(graph: Graph, name: str) -> None:
    """Refuse a traced function whose result holds no arrays, or holds something not numeric."""
    if graph.out_tree.num_leaves == 0:
        returned = tree_unflatten(graph.out_tree, [])
        raise TypeError(f"jit({name}): the function returned {returned!r}, which holds no "
                        "arrays; a jitted function must return an array, a number, or a pytree "
                        "of them")
    for out in graph.outputs:
        value = getattr(out, "value", None) if isinstance(out, Literal) else None
        if value is not None and not isinstance(value, (int, float, complex, np.generic,
                                                        np.ndarray)):
            raise TypeError(f"jit({name}): the function returned a {type(value).__name__} among "
                            "its outputs; a jitted function returns only arrays and numbers "
                            "(return other values from a function that calls the jitted one)")


def jit(f: Callable, backend: str = "numpy") -> Jitted:
    """Compile ``f`` per argument signature to NumPy calls (``backend="numpy"``), to one Numba
    kernel (``backend="numba"``), or to one fused CUDA kernel per region of elementwise work
    (``backend="cuda"``: on CuPy arrays on a GPU, on NumPy arrays under Numba's CUDA simulator;
    reductions run on the array module, and other primitives too, with a warning naming them).

    Python control flow on traced values raises a TypeError inside ``jit``: use
    ``diffopt.numpy.where`` to select values, or call the function without ``jit``. A jitted
    function composes with the transforms: under ``grad``/``vjp`` it is one recorded operation
    with a compiled VJP (``grad(jit(f))``); under the others ``f`` is traced as usual.

    Values ``f`` reads from outside its arguments (closed-over variables, defaults, module
    globals) are constants of the compiled program, fixed when ``f`` is traced. Unlike JAX, which
    keeps using the old values silently, each call first checks them (``closure.Captured``): if
    one was rebound or an array among them was changed in place, a ``ClosureChangedWarning`` is
    issued and ``f`` is traced again. The check follows the Python functions ``f`` reaches through
    its closure and globals, not attributes of objects (``self.w``); arrays over 64 KiB are
    checked by a sample of their elements. Pass values that change as arguments.

    >>> import diffopt.numpy as dnp
    >>> from diffopt import grad
    >>> fast_grad = jit(grad(lambda x: dnp.sum(x**2)))
    >>> fast_grad(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    return Jitted(f, backend)


__all__ = ["jit", "Jitted"]
