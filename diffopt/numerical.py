"""Finite differences: numerical derivatives, and the oracle other derivatives are checked against.

- ``derivative``, ``gradient``, ``jacobian``, ``hessian``, ``hvp``: derivatives from plain function
  evaluations (no automatic differentiation), by forward, backward or central differences or the
  complex step, with optional Richardson extrapolation.
- ``check_grads`` compares forward and reverse mode with central differences in random directions,
  recursively to a given order.

Step sizes. A difference of order ``p`` (error ~ h**p) whose numerator cancels to ``d`` derivatives
(d = 1 for first, 2 for second differences) balances truncation against rounding at
``h ~ eps**(1 / (p + d))``, scaled by ``max(1, |x_i|)`` per component: about ``eps**(1/2)`` for
forward and backward first differences, ``eps**(1/3)`` for central ones, ``eps**(1/4)`` for central
second differences (``hessian``, ``hvp``). Each Richardson level
raises the order (by 1 for one-sided, by 2 for central differences), so the automatic step grows
with it. The complex step ``Im f(x + ih) / h`` has no cancellation and uses ``h = 1e-20``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .core.pytree import tree_flatten, tree_unflatten
from .numpy.backend import array_module

__all__ = ["check_grads", "derivative", "gradient", "jacobian", "hessian", "hvp", "METHODS"]

_EPS = np.finfo(np.float64).eps
_COMPLEX_STEP = 1e-20

# method -> (order of the leading error term, order gained per Richardson level)
_ORDERS = {"forward": (1, 1), "backward": (1, 1), "central": (2, 2), "complex": (2, 2)}
METHODS = tuple(_ORDERS)


# --- shared pieces ------------------------------------------------------------------------------
def _check_options(method: str, richardson: int) -> tuple[int, int]:
    if method not in _ORDERS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, not {method!r}")
    if not isinstance(richardson, (int, np.integer)) or isinstance(richardson, bool) \
            or richardson < 0:
        raise ValueError(f"richardson must be a non-negative integer (the number of "
                         f"extrapolation levels), not {richardson!r}")
    return _ORDERS[method]


def _as_float(x):
    """``x`` as a floating (or complex) array of its own array module."""
    xp = array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return x


def _base_step(method: str, dtype, richardson: int, second: bool = False) -> float:
    """The relative step that balances truncation and rounding (see the module docstring)."""
    if method == "complex" and not second:
        return _COMPLEX_STEP
    p, q = _ORDERS[method]
    cancel = 2 if second and method != "complex" else 1
    eps = float(np.finfo(dtype).eps)
    return eps ** (1.0 / (p + q * richardson + cancel))


def _steps(x, base: float, step):
    """Per-component steps: ``step`` if given (broadcast to x), else ``base * max(1, |x_i|)``."""
    xp = array_module(x)
    rdtype = np.finfo(x.dtype).dtype
    if step is None:
        return (base * xp.maximum(1.0, xp.abs(x))).astype(rdtype)
    h = xp.broadcast_to(xp.asarray(step, dtype=rdtype), x.shape)
    if not bool(xp.all(h > 0)):
        raise ValueError("step must be positive")
    return h


def _evaluator(f: Callable, shape: tuple, xp):
    """``F(z)``: ``f`` at a vector ``z`` reshaped to the argument's shape, as an array."""

    def F(z):
        return xp.asarray(f(z.reshape(shape)))

    return F


def _exact(x, dx, method: str):
    """The displacement actually representable at ``x`` (so that (x + dx) - x == dx)."""
    if method == "complex" or x.dtype.kind == "c":
        return dx
    return (x + dx) - x


def _diff1(F, x, dx, h, method: str, f0):
    """First difference of ``F`` at ``x`` along the displacement ``dx``, divided by ``h``."""
    if method == "central":
        return (F(x + dx) - F(x - dx)) / (2 * h)
    if method == "forward":
        return (F(x + dx) - f0) / h
    if method == "backward":
        return (f0 - F(x - dx)) / h
    return _imag_part(F(x + 1j * dx)) / h


def _diff2(F, x, du, hu, dv, hv, method: str, f0):
    """Mixed second difference: ``u^T (d2F) v`` from displacements ``du = hu u``, ``dv = hv v``.

    For the complex step ``du`` is the (tiny) imaginary displacement and ``dv`` is differenced
    centrally.
    """
    if method == "central":
        return (F(x + du + dv) - F(x + du - dv) - F(x - du + dv) + F(x - du - dv)) / (4 * hu * hv)
    if method == "forward":
        return (F(x + du + dv) - F(x + du) - F(x + dv) + f0) / (hu * hv)
    if method == "backward":
        return (F(x - du - dv) - F(x - du) - F(x - dv) + f0) / (hu * hv)
    return _imag_part(F(x + 1j * du + dv) - F(x + 1j * du - dv)) / (2 * hu * hv)


def _imag_part(y):
    if y.dtype.kind != "c":
        raise ValueError(
            "the complex step needs f to carry complex input through to a complex output, but f "
            f"returned dtype {y.dtype} for a complex argument (it dropped the imaginary part, e.g. "
            "through abs, real or float()). Use method='central' for such functions."
        )
    return y.imag


def _richardson(approx: Callable, method: str, levels: int):
    """Extrapolate ``approx(s)`` (the difference with steps scaled by ``s``) to zero step.

    ``approx(1), approx(1/2), ...`` are combined level by level, each level cancelling the
    leading error term (orders p, p + q, p + 2q, ... from ``_ORDERS``).
    """
    p, q = _ORDERS[method]
    table = [approx(0.5**level) for level in range(levels + 1)]
    for m in range(levels):
        k = 2.0 ** (p + q * m)
        table = [(k * table[i + 1] - table[i]) / (k - 1) for i in range(len(table) - 1)]
    return table[0]


def _unit(x, j: int, h):
    """The displacement ``h`` along component ``j`` of the flat vector ``x``."""
    e = array_module(x).zeros_like(x)
    e[j] = h
    return e


def _start(x, method: str, richardson: int):
    """``x`` as a float array, after checking the options."""
    _check_options(method, richardson)
    x = _as_float(x)
    if method == "complex" and x.dtype.kind == "c":
        raise ValueError("method='complex' needs a real x (it perturbs x along the imaginary axis)")
    return x


def _start_tree(x, method: str, richardson: int):
    """``(flat vector, unravel)`` for an array or pytree ``x``, after checking the options."""
    flat, unravel = _ravel(x)
    return _start(flat, method, richardson), unravel


def _scalar(y):
    return y[()] if getattr(y, "ndim", None) == 0 else y


def _ravel(tree):
    """``(flat vector, unravel)`` for an array or a pytree of arrays."""
    leaves, treedef = tree_flatten(tree)
    if not leaves:
        raise ValueError("x has no array leaves to differentiate with respect to")
    if treedef.is_leaf():  # a single array
        x = _as_float(leaves[0])
        return x.reshape(-1), lambda z: z.reshape(x.shape)
    leaves = [_as_float(x) for x in leaves]
    xp = array_module(leaves[0])
    shapes = [x.shape for x in leaves]
    offs = np.cumsum([0] + [x.size for x in leaves])
    flat = xp.concatenate([x.reshape(-1) for x in leaves])

    def unravel(z):
        return tree_unflatten(treedef, [z[offs[k]:offs[k + 1]].reshape(s)
                                        for k, s in enumerate(shapes)])

    return flat, unravel


# --- public numerical derivatives ---------------------------------------------------------------
def derivative(f: Callable, x, method: str = "central", step=None, richardson: int = 0):
    """Derivative of a scalar function ``f`` at ``x`` by finite differences (no AD).

    ``x`` is a scalar, or an array for an elementwise ``f`` (each element is differenced with its
    own step, as ``scipy.differentiate.derivative`` does). ``method`` is "central" (error
    O(h^2)), "forward" or "backward" (O(h)), or "complex" (``Im f(x + ih) / h``: exact to
    rounding, for real-analytic ``f`` whose operations accept complex input). ``step`` overrides
    the automatic step ``~eps**(1/3) * max(1, |x|)`` (central); ``richardson=k`` extrapolates
    over ``k`` halvings of the step.

    >>> float(derivative(np.sin, 0.5))  # cos(0.5)
    0.8775825
    >>> float(derivative(np.exp, 1.0, method="complex"))  # e, to 1e-16
    2.718281828459045
    """
    x = _start(x, method, richardson)
    xp = array_module(x)
    h = _steps(x, _base_step(method, x.dtype, richardson), step)

    def F(z):
        y = xp.asarray(f(z[()] if z.ndim == 0 else z))
        if x.ndim and y.shape != x.shape:
            raise ValueError(
                f"derivative with an array x of shape {x.shape} needs an elementwise f (output "
                f"shaped like x), but f returned shape {y.shape}; use jacobian instead"
            )
        return y

    f0 = F(x) if method in ("forward", "backward") else None

    def approx(s):
        dx = _exact(x, h * s, method)
        return _diff1(F, x, dx, dx, method, f0)

    return _scalar(_richardson(approx, method, richardson))


def _jacobian_flat(F, x, method: str, step, richardson: int):
    """Columns ``dF/dx_j`` stacked on the last axis: shape ``F(x).shape + (x.size,)``."""
    xp = array_module(x)
    h = _steps(x, _base_step(method, x.dtype, richardson), step)
    f0 = F(x) if method in ("forward", "backward") else None
    cols = []
    for j in range(x.size):
        def approx(s, j=j):
            dx = _exact(x, _unit(x, j, h[j] * s), method)
            return _diff1(F, x, dx, dx[j], method, f0)

        cols.append(_richardson(approx, method, richardson))
    return xp.stack(cols, axis=-1)


def jacobian(f: Callable, x, method: str = "central", step=None, richardson: int = 0):
    """Jacobian of ``f`` at the array ``x`` by finite differences: shape ``out.shape + x.shape``.

    One difference per component of ``x`` (two for "central"), each with step
    ``~eps**(1/3) * max(1, |x_j|)`` (central) unless ``step`` (a number or an array shaped like
    ``x``) is given. See ``derivative`` for ``method`` and ``richardson``.

    >>> jacobian(lambda v: v**2, np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    x = _start(x, method, richardson)
    shape = x.shape
    step = None if step is None else np.broadcast_to(step, shape).reshape(-1)
    J = _jacobian_flat(_evaluator(f, shape, array_module(x)), x.reshape(-1), method, step,
                       richardson)
    return J.reshape(J.shape[:-1] + shape)


def gradient(f: Callable, x, method: str = "central", step=None, richardson: int = 0):
    """Gradient of a scalar function ``f`` at ``x`` (an array or a pytree of arrays).

    The result has the structure of ``x``. See ``jacobian`` and ``derivative`` for the options;
    a ``step`` array must be shaped like ``x`` (pytrees: a number).

    >>> gradient(lambda v: np.sum(v**3), np.array([1.0, 2.0]))
    array([ 3., 12.])
    """
    flat, unravel = _start_tree(x, method, richardson)
    xp = array_module(flat)
    F = lambda z: xp.asarray(f(unravel(z)))
    if step is not None and np.ndim(step):
        step = np.reshape(step, -1)
    g = _jacobian_flat(F, flat, method, step, richardson)
    if g.shape != flat.shape:
        raise ValueError(f"gradient needs a scalar-valued f, but f returned shape {g.shape[:-1]}; "
                         "use jacobian for vector-valued functions")
    return unravel(g)


def hessian(f: Callable, x, method: str = "central", step=None, richardson: int = 0):
    """Hessian of ``f`` at the array ``x`` from second differences: shape
    ``out.shape + x.shape + x.shape`` (``x.shape * 2`` for a scalar ``f``).

    "central" uses four evaluations per entry (error O(h^2), step ``~eps**(1/4)``), "forward" and
    "backward" three (O(h), step ``~eps**(1/3)``), "complex" a complex step in one direction and a
    central difference in the other (O(h^2), step ``~eps**(1/3)``). Entries are computed for
    ``i <= j`` and mirrored.

    >>> hessian(lambda v: v[0] ** 2 * v[1], np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    x = _start(x, method, richardson)
    xp = array_module(x)
    shape, n = x.shape, x.size
    flat = x.reshape(-1)
    F = _evaluator(f, shape, xp)
    h = _steps(flat, _base_step(method, x.dtype, richardson, second=True),
               None if step is None else np.broadcast_to(step, shape).reshape(-1))
    hc = _COMPLEX_STEP * xp.maximum(1.0, xp.abs(flat))
    f0 = F(flat) if method in ("forward", "backward") else None
    entries = {}
    for i in range(n):
        for j in range(i, n):
            def approx(s, i=i, j=j):
                dv = _exact(flat, _unit(flat, j, h[j] * s), method)
                if method == "complex":
                    du = _unit(flat, i, hc[i])
                else:
                    du = _exact(flat, _unit(flat, i, h[i] * s), method)
                return _diff2(F, flat, du, du[i], dv, dv[j], method, f0)

            entries[i, j] = entries[j, i] = _richardson(approx, method, richardson)
    H = xp.stack([xp.stack([entries[i, j] for j in range(n)], axis=-1) for i in range(n)],
                 axis=-2)
    return H.reshape(H.shape[:-2] + shape + shape)


def hvp(f: Callable, x, v, method: str = "central", step=None, richardson: int = 0):
    """Hessian-vector product ``H(x) v`` of a scalar ``f`` from mixed second differences.

    Each component ``(Hv)_i`` differences ``f(x + s e_i + t v)`` in ``s`` and ``t``: about ``4n``
    evaluations for "central" (``2n`` for "complex"), without forming ``H``. ``x`` and ``v`` may
    be pytrees of the same structure; the result has that structure.

    >>> hvp(lambda v: np.sum(v**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    flat, unravel = _start_tree(x, method, richardson)
    vflat, _ = _ravel(v)
    if vflat.shape != flat.shape:
        raise ValueError(f"hvp: v has {vflat.size} components but x has {flat.size}; give v the "
                         "structure and shapes of x")
    xp = array_module(flat)
    F = lambda z: xp.asarray(f(unravel(z)))
    vnorm = float(xp.max(xp.abs(vflat))) if vflat.size else 0.0
    if vnorm == 0.0:
        return unravel(xp.zeros_like(flat))
    base = _base_step(method, flat.dtype, richardson, second=True)
    xscale = max(1.0, float(xp.max(xp.abs(flat))))
    t = (base * xscale if step is None else float(step)) / vnorm
    h = _steps(flat, base, None if step is None else float(step))
    hc = _COMPLEX_STEP * xp.maximum(1.0, xp.abs(flat))
    f0 = F(flat) if method in ("forward", "backward") else None
    out = []
    for i in range(flat.size):
        def approx(s, i=i):
            dv = t * s * vflat
            if method == "complex":
                du = _unit(flat, i, hc[i])
            else:
                du = _exact(flat, _unit(flat, i, h[i] * s), method)
            return _diff2(F, flat, du, du[i], dv, t * s, method, f0)

        out.append(_richardson(approx, method, richardson))
    res = xp.stack(out)
    if res.shape != flat.shape:
        raise ValueError(f"hvp needs a scalar-valued f, but f returned shape {res.shape[1:]}")
    return unravel(res)


# --- check_grads: AD against central differences ------------------------------------------------
def _leaves(tree) -> list:
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _random_like(leaves: list, rng: np.random.Generator) -> list:
    out = []
    for x in leaves:
        v = rng.standard_normal(x.shape)
        if np.iscomplexobj(x):
            v = v + 1j * rng.standard_normal(x.shape)
        out.append(v.astype(x.dtype) if x.dtype.kind in "fc" else v)
    return out


def _pair(u: list, v: list) -> float:
    """The real pairing <u, v> = Re sum(u * v) over all leaves (no conjugation)."""
    return float(sum(np.real(np.sum(np.asarray(a) * np.asarray(b)))
                     for a, b in zip(u, v, strict=True)))


def _directional_fd(f: Callable, args: tuple, direction: list, eps: float | None):
    """Central difference of ``f`` along ``direction``: (f(x + h v) - f(x - h v)) / 2h."""
    leaves, tree = tree_flatten(args)
    leaves = [np.asarray(x) for x in leaves]
    scale = max(1.0, max((float(np.max(np.abs(x))) for x in leaves if x.size), default=1.0))
    h = eps if eps is not None else _EPS ** (1 / 3) * scale

    def at(sign):
        moved = [x + sign * h * v for x, v in zip(leaves, direction, strict=True)]
        return _leaves(f(*tree_unflatten(tree, moved)))

    plus, minus = at(1.0), at(-1.0)
    return [(p - m) / (2 * h) for p, m in zip(plus, minus, strict=True)]


def _close(a: list, b: list, rtol: float, atol: float) -> tuple[bool, float, str]:
    """Whether all leaves agree; the max error; and where the worst disagreement is."""
    worst, where_, ok = 0.0, "", True
    for k, (x, y) in enumerate(zip(a, b, strict=True)):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False, np.inf, f"output {k}: shapes differ, {x.shape} vs {y.shape}"
        if not x.size:
            continue
        err = np.abs(x - y)
        tol = atol + rtol * np.maximum(np.abs(x), np.abs(y))
        ok = ok and bool(np.all(err <= tol))
        bad = np.where(np.isnan(err), np.inf, err - tol)
        idx = np.unravel_index(int(np.argmax(bad)), x.shape)
        e = float(np.nanmax(err)) if not np.all(np.isnan(err)) else np.nan
        if not where_ or not (e <= worst):
            worst = e
            at = f", index ({', '.join(map(str, idx))})" if x.ndim else ""
            where_ = (f"output leaf {k}{at}: AD = {x[idx]:.10g}, central difference = "
                      f"{y[idx]:.10g} (|error| {err[idx]:.3g}, allowed {tol[idx]:.3g})")
    return ok, worst, where_


def _mode_name(path: tuple, name: str) -> str:
    """("fwd", "rev") -> 'the VJP of the JVP of f' (innermost first)."""
    text = name
    for p in path:
        text = f"the {'JVP' if p == 'fwd' else 'VJP'} of {text}"
    return text


def check_grads(f: Callable, args: Sequence, modes: Sequence[str] = ("fwd", "rev"),
                order: int = 2, eps: float | None = None, rtol: float | None = None,
                atol: float | None = None, seed: int = 0) -> None:
    """Check forward and reverse mode of ``f`` at ``args`` against central differences.

    Forward mode: ``J v`` from ``jvp`` against the central difference along a random ``v``.
    Reverse mode: ``<u, J v> = <vjp(u), v>`` for random ``u`` and ``v``. With ``order > 1`` the same
    checks run on the derivative functions themselves (``x -> J(x) v`` and ``x -> vjp(x)(u)``).
    Raises ``AssertionError`` with a readable report on a mismatch: which mode and derivative
    order, the AD and finite-difference numbers, and the largest error. ``args`` is a tuple,
    ``modes`` a tuple of "fwd" and/or "rev"; a check that would compare nothing raises.

    >>> import diffopt.numpy as dnp
    >>> check_grads(dnp.sin, (0.5,), order=2)  # silent: the derivatives agree
    """
    args, modes = _check_grads_options(args, modes, order)
    dtype = np.result_type(*[np.asarray(x).dtype for x in tree_flatten(args)[0]])
    single = dtype in (np.float32, np.complex64)
    rtol = rtol if rtol is not None else (2e-2 if single else 1e-5)
    atol = atol if atol is not None else (2e-2 if single else 1e-6)
    name = getattr(f, "__name__", "f")
    _check(f, args, modes, order, eps, rtol, atol, seed, name, ())


_CHECK_MODES = {"fwd": "forward mode (jvp)", "rev": "reverse mode (vjp)"}
_MODE_ALIASES = {"forward": "fwd", "jvp": "fwd", "reverse": "rev", "vjp": "rev"}


def _check_grads_options(args, modes, order) -> tuple[tuple, tuple]:
    """``(args, modes)`` as tuples, after refusing what would check nothing or the wrong thing."""
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"check_grads takes the arguments of f as a tuple, not a "
                        f"{type(args).__name__}: check_grads(f, (x,)) for one argument, e.g. "
                        f"check_grads(np.sin, (0.5,))")
    if not tree_flatten(tuple(args))[0]:
        raise ValueError("check_grads: args has no array leaves, so there is nothing to check; "
                         "pass the point to differentiate at, e.g. (x,)")
    if isinstance(modes, str):
        raise TypeError(f"check_grads: modes must be a tuple of mode names, not the string "
                        f"{modes!r}: write modes=({modes!r},)")
    modes = tuple(modes)
    valid = ", ".join(f"{m!r} ({what})" for m, what in _CHECK_MODES.items())
    if not modes:
        raise ValueError(f"check_grads: modes is empty, so nothing would be checked; give one "
                         f"or both of {valid}")
    for m in modes:
        if m not in _CHECK_MODES:
            hint = f" (did you mean {_MODE_ALIASES[m]!r}?)" if m in _MODE_ALIASES else ""
            raise ValueError(f"check_grads: unknown mode {m!r}{hint}; the modes are {valid}")
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or order < 1:
        raise ValueError(f"check_grads: order must be a positive integer (1: first "
                         f"derivatives, 2: also second ones...), not {order!r}")
    return tuple(args), modes


def _check(f, args, modes, order, eps, rtol, atol, seed, name, path):
    from .transforms import jvp, vjp

    rng = np.random.default_rng(seed)
    leaves, tree = tree_flatten(args)
    v = _random_like([np.asarray(x) for x in leaves], rng)
    v_tree = tuple(tree_unflatten(tree, v))
    fd = _directional_fd(f, args, v, eps)
    depth = len(path) + 1
    empty = ("the arguments have" if not sum(x.size for x in v) else
             f"{_mode_name(path, name)} returns" if not sum(y.size for y in fd) else None)
    if empty:  # every comparison below would be vacuously true
        raise ValueError(f"check_grads: nothing to compare, {empty} no entries; check f at a "
                         "point where its inputs and outputs are non-empty arrays")

    def fail(mode: str, detail: str):
        label = "forward mode (JVP)" if mode == "fwd" else "reverse mode (VJP)"
        step = "automatic" if eps is None else f"{eps:g}"
        raise AssertionError(
            f"check_grads: {label} of {name} disagrees with central differences at derivative "
            f"order {depth} (checking {_mode_name(path + (mode,), name)}):\n  {detail}\n"
            f"  (rtol={rtol:g}, atol={atol:g}, difference step {step})"
        )

    if "fwd" in modes:
        _, tout = jvp(f, args, v_tree)
        ok, err, where_ = _close(_leaves(tout), fd, rtol, atol)
        if not ok:
            fail("fwd", f"max |error| = {err:.3g}; worst at {where_}")
        if order > 1:
            _check(lambda *a: jvp(f, a, v_tree)[1], args,
                   ("fwd", "rev") if "rev" in modes else ("fwd",), order - 1, eps, rtol, atol,
                   seed + 1, name, path + ("fwd",))

    if "rev" in modes:
        with warnings.catch_warnings():  # a linear f has a constant VJP: that is fine here
            warnings.simplefilter("ignore")
            out, vjp_fn = vjp(f, *args)
        out_leaves, out_tree = tree_flatten(out)
        u = _random_like([np.asarray(o) for o in out_leaves], rng)
        u_tree = tree_unflatten(out_tree, u)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ct = _leaves(vjp_fn(u_tree))
        lhs, rhs = _pair(u, fd), _pair(ct, v)
        ok, err, _ = _close([lhs], [rhs], rtol, atol * max(1.0, len(u)))
        if not ok:
            fail("rev", f"<u, J v> by central differences = {lhs:.10g}, <vjp(u), v> = {rhs:.10g}"
                        f" for random u, v; |error| = {err:.3g}")
        if order > 1:
            _check(lambda *a: vjp(f, *a)[1](u_tree), args, ("rev",), order - 1, eps, rtol, atol,
                   seed + 2, name, path + ("rev",))
