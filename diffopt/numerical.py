"""Finite differences: the oracle every other derivative is checked against.

``check_grads`` compares forward and reverse mode with central differences in random directions,
recursively to a given order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .core.pytree import tree_flatten, tree_unflatten

__all__ = ["check_grads"]

_EPS = np.finfo(np.float64).eps


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
    return float(sum(np.real(np.sum(np.asarray(a) * np.asarray(b))) for a, b in zip(u, v)))


def _directional_fd(f: Callable, args: tuple, direction: list, eps: float | None):
    """Central difference of ``f`` along ``direction``: (f(x + h v) - f(x - h v)) / 2h."""
    leaves, tree = tree_flatten(args)
    leaves = [np.asarray(x) for x in leaves]
    scale = max(1.0, max((float(np.max(np.abs(x))) for x in leaves if x.size), default=1.0))
    h = eps if eps is not None else _EPS ** (1 / 3) * scale

    def at(sign):
        moved = [x + sign * h * v for x, v in zip(leaves, direction)]
        return _leaves(f(*tree_unflatten(tree, moved)))

    plus, minus = at(1.0), at(-1.0)
    return [(p - m) / (2 * h) for p, m in zip(plus, minus)]


def _close(a: list, b: list, rtol: float, atol: float) -> tuple[bool, float]:
    worst = 0.0
    ok = True
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False, np.inf
        err = np.abs(x - y)
        tol = atol + rtol * np.maximum(np.abs(x), np.abs(y))
        if err.size:
            worst = max(worst, float(np.max(err)))
            ok = ok and bool(np.all(err <= tol))
    return ok, worst


def check_grads(f: Callable, args: Sequence, modes: Sequence[str] = ("fwd", "rev"),
                order: int = 2, eps: float | None = None, rtol: float | None = None,
                atol: float | None = None, seed: int = 0) -> None:
    """Check forward and reverse mode of ``f`` at ``args`` against central differences.

    Forward mode: ``J v`` from ``jvp`` against the central difference along a random ``v``.
    Reverse mode: ``<u, J v> = <vjp(u), v>`` for random ``u`` and ``v``. With ``order > 1`` the same
    checks run on the derivative functions themselves (``x -> J(x) v`` and ``x -> vjp(x)(u)``).
    Raises ``AssertionError`` with a readable report on a mismatch.

    >>> check_grads(np.sin, (0.5,), order=2)
    """
    from .transforms import jvp, vjp

    args = tuple(args)
    dtype = np.result_type(*[np.asarray(x).dtype for x in tree_flatten(args)[0]])
    single = dtype in (np.float32, np.complex64)
    rtol = rtol if rtol is not None else (2e-2 if single else 1e-5)
    atol = atol if atol is not None else (2e-2 if single else 1e-6)
    rng = np.random.default_rng(seed)
    leaves, tree = tree_flatten(args)
    v = _random_like([np.asarray(x) for x in leaves], rng)
    v_tree = tuple(tree_unflatten(tree, v))
    fd = _directional_fd(f, args, v, eps)
    name = getattr(f, "__name__", "f")

    if "fwd" in modes:
        _, tout = jvp(f, args, v_tree)
        ok, err = _close(_leaves(tout), fd, rtol, atol)
        if not ok:
            raise AssertionError(
                f"check_grads: forward mode of {name} disagrees with central differences "
                f"(order {order}): max |error| = {err:.3g}\n  jvp: {_leaves(tout)}\n  fd:  {fd}"
            )
        if order > 1:
            check_grads(lambda *a: jvp(f, a, v_tree)[1], args, ("fwd", "rev") if "rev" in modes
                        else ("fwd",), order - 1, eps, rtol, atol, seed + 1)

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
        ok, err = _close([lhs], [rhs], rtol, atol * max(1.0, len(u)))
        if not ok:
            raise AssertionError(
                f"check_grads: reverse mode of {name} disagrees with central differences "
                f"(order {order}): <u, J v> by differences = {lhs:.10g}, <vjp(u), v> = {rhs:.10g}"
            )
        if order > 1:
            check_grads(lambda *a: vjp(f, *a)[1](u_tree), args, ("rev",), order - 1, eps,
                        rtol, atol, seed + 2)
