"""Adjoint modes of :func:`diffopt.ode.solve`: how reverse mode differentiates a solve.

``adjoint="direct"`` (solve's default) records every step on the reverse tape: exact derivatives
of the discrete solution, memory O(steps). :func:`solve_with_adjoint` gives the others. Each is a
:class:`diffopt.custom_vjp` over the inputs that reverse mode follows (``y0``, ``t_span`` and the
leaves of ``args``), whose implementation is the direct solve: evaluation and forward mode
(``jvp``, ``jacfwd``) are unchanged, and the forward values are bit-identical to the direct ones.

- ``"checkpoint"``: the forward pass runs on plain values (no tape) and keeps the solver's state
  every ``k`` accepted steps (``k`` about ``sqrt(n_steps)``, grown as the solve goes; or
  ``solve``'s ``checkpoint_every``). The backward pass re-runs each segment, last
  first, recording it, and pulls the cotangent back through it: exactly the direct derivative
  (every output, saved states and event log included) for about twice the work, in memory
  O(checkpoints + k) instead of O(steps).
- ``"backsolve"``: the continuous adjoint (Chen et al. 2018). ``[y, a, a_p]`` is integrated from
  the final time back to ``t0`` (as ``s = -t``, so the forward-only solver does it) with the same
  method and tolerances, ``da/dt = -aᵀ ∂f/∂y``, ``da_p/dt = -aᵀ ∂f/∂p``; memory O(1) in the
  number of steps. Approximate: it differentiates the ODE, not the discrete solution, so it
  differs from the direct derivative by about the solver's tolerance (and the re-integrated
  ``y`` drifts where the backward flow is unstable). Terminal events get the implicit-function
  jump at ``t*``; ``t0`` and ``t_span[1]`` get ``-a(t0)·f(t0, y0)`` and ``a(T)·f(T, y(T))``.
  Saved states (``saveat`` or every step) add jumps ``a += ȳ_k`` at their times, where ``y`` is
  reset to the saved value. Not supported (NotImplementedError when their cotangent is nonzero):
  the times and states of non-terminal events, and terminal events with ``needs_step_start``.
  ``saveat`` times are fixed times (the state at ``s`` moves only with the solution).
- ``"forward"``: forward sensitivities. The forward pass pushes one tangent per input element
  through the solve (a batched ``jvp``), giving the whole Jacobian of every output; the VJP is
  ``Jᵀ g``. Exact like ``"direct"``; cost grows with the number of inputs followed, so it is the
  best choice for few inputs (a handful of parameters and a small state).

``batched=True`` is not supported with these adjoints (NotImplementedError).

>>> import numpy as np
>>> from diffopt.ode import solve
>>> sol = solve(lambda t, y, k: -k * y, np.ones(2), (0.0, 1.0), (0.5,), adjoint="checkpoint")
>>> sol.status
0
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import Tracer, concrete, top_trace
from diffopt.core.pytree import tree_flatten, tree_unflatten
from diffopt.core.reverse import ReverseTrace
from diffopt.transforms import custom_vjp, jvp, vjp, vmap

from ._types import (
    DONE,
    TERMINAL_EVENT,
    ODESolveError,
    Solution,
    as_args,
    as_span,
    as_state,
    stack_states,
    stack_times,
    tableau,
    tangential,
)
from .eager import Stepper, solve_eager
from .events import call_condition

ADJOINTS = ("checkpoint", "backsolve", "forward")


def solve_with_adjoint(fun: Callable, y0, t_span, args: tuple = (), method: str = "dopri5", *,
                       dt: float | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                       events=(), saveat=None, max_steps: int = 100_000,
                       adjoint: str = "checkpoint", batched: bool = False,
                       checkpoint_every: int | None = None) -> Solution:
    """:func:`diffopt.ode.solve` whose reverse-mode derivative uses ``adjoint``.

    ``adjoint``: ``"checkpoint"``, ``"backsolve"`` or ``"forward"`` (see the module docstring).
    ``checkpoint_every``: accepted steps between checkpoints (``None``: about
    ``sqrt(n_steps)``). Same arguments and :class:`Solution` as ``solve``.

    >>> import numpy as np, diffopt
    >>> g = diffopt.grad(lambda y0: solve_with_adjoint(lambda t, y: -y, y0, (0.0, 1.0)).y_final[0])
    >>> round(float(g(np.ones(1))[0]), 6)  # d exp(-1) y0 / d y0
    0.367879
    """
    if adjoint not in ADJOINTS:
        raise ValueError(f"unknown adjoint {adjoint!r} for solve_with_adjoint; choose one of "
                         f"{ADJOINTS} (or 'direct' through solve)")
    if batched:
        raise NotImplementedError(f"adjoint={adjoint!r} does not support batched=True; use "
                                  "adjoint='direct' for batched solves")
    every = checkpoint_every
    if every is not None and (not isinstance(every, int) or every < 1):
        raise ValueError(f"checkpoint_every must be a positive int or None, got {every!r}")
    tab = tableau(method)
    opts = dict(dt=dt, rtol=rtol, atol=atol, events=events, saveat=saveat, max_steps=max_steps)
    t0, t_end = as_span(t_span)
    leaves, tree = tree_flatten((as_state(y0), t0, t_end, as_args(args)))
    top = top_trace(leaves)
    if not isinstance(top, ReverseTrace):  # evaluation, jvp, vmap: the direct solve as it is
        return solve_eager(fun, y0, t_span, args, tab, **opts)
    problem = _Problem(fun, tab, opts, leaves, tree,
                       [i for i, x in enumerate(leaves)
                        if isinstance(x, Tracer) and x._trace is top])
    rule = {"checkpoint": _Checkpoint, "backsolve": _Backsolve, "forward": _Forward}[adjoint](
        problem, every)

    def ode_solve(*diff):
        return problem.direct(*diff)

    solve_fn = custom_vjp(ode_solve)
    solve_fn.defvjp(rule.fwd, rule.bwd)
    return problem.solution(solve_fn(*[leaves[i] for i in problem.diff]))


class _Problem:
    """A solve as a function of the leaves that reverse mode follows (``diff``, positions in the
    flattened ``(y0, t0, t_end, args)``; the others are constants)."""

    def __init__(self, fun, tab, opts, leaves, tree, diff):
        self.fun, self.tab, self.opts = fun, tab, opts
        self.leaves, self.tree, self.diff = leaves, tree, diff
        self.meta: Solution | None = None  # the last run: the non-differentiable fields

    def inputs(self, diff_vals):
        """``(y0, t0, t_end, args)`` with the followed leaves replaced by ``diff_vals``."""
        leaves = list(self.leaves)
        for i, v in zip(self.diff, diff_vals):
            leaves[i] = v
        return tree_unflatten(self.tree, leaves)

    def stepper(self, diff_vals, traced: bool | None = None) -> Stepper:
        y0, t0, t_end, args = self.inputs(diff_vals)
        st = Stepper(self.fun, y0, (t0, t_end), args, self.tab, **self.opts)
        if traced is not None:
            st.traced = traced
        return st

    def run(self, diff_vals, traced: bool | None = None):
        """A whole solve: its differentiable outputs (see :func:`_outputs`) and the stepper."""
        st = self.stepper(diff_vals, traced)
        st.start()
        st.run()
        self.meta = st.solution()
        return _outputs(self.meta, st.shape0), st

    def direct(self, *diff_vals):
        """The custom_vjp's implementation: the direct solve (forward mode differentiates it)."""
        return self.run(diff_vals)[0]

    def solution(self, outs) -> Solution:
        """The :class:`Solution` with the custom_vjp's (traced) outputs in place."""
        t, y, t_final, y_final, log_t, log_y = outs
        meta = self.meta
        terminal = meta.event_index is not None
        log = [(i, log_t[k], log_y[k]) for k, (i, _, _) in enumerate(meta.event_log)]
        return dataclasses.replace(
            meta, t=t, y=y, t_final=t_final, y_final=y_final,
            event_time=t_final if terminal else None, event_state=y_final if terminal else None,
            event_log=log)


def _time(t):
    """A time as a float array (traced values are kept)."""
    return t if isinstance(t, Tracer) else np.asarray(t, dtype=float)


def _outputs(sol: Solution, shape0) -> tuple:
    """The differentiable outputs of a solve: saved times and states, final time and state,
    event-log times and states."""
    return (_time(sol.t), sol.y, _time(sol.t_final), sol.y_final,
            _time(stack_times([t for _, t, _ in sol.event_log])),
            stack_states([y for _, _, y in sol.event_log], shape0))


def _add(acc, c):
    return c if acc is None else acc + c


def _nonzero(x) -> bool:
    return bool(np.any(np.asarray(concrete(x)) != 0))


def _zero_ct(x):
    return dnp.zeros_like_value(x)


class _Rule:
    """A reverse-mode rule for :class:`custom_vjp`: ``fwd(*diff) -> (outputs, residuals)`` and
    ``bwd(residuals, cotangents) -> one cotangent per followed leaf``."""

    def __init__(self, problem: _Problem, every: int | None = None):
        self.problem, self.every = problem, every


# ---------------------------------------------------------------- checkpoint


class _Checkpoint(_Rule):
    """Forward on plain values keeping every ``k``-th state; backward re-runs and records each
    segment, last first. ``every=None``: ``k`` starts at 1 and doubles (dropping every other
    checkpoint) whenever there are more than ``2k + 1`` checkpoints, so ``k ≈ sqrt(steps)``."""

    def fwd(self, *diff_vals):
        st = self.problem.stepper(diff_vals, traced=True)
        st.start()
        k = self.every or 1
        snaps = [st.snapshot()]
        while not st.run(until=(st.n_steps // k + 1) * k):
            snaps.append(st.snapshot())
            if self.every is None and len(snaps) > 2 * k + 1:
                snaps, k = snaps[::2], 2 * k
        sol = self.problem.meta = st.solution()
        final = dict(n_steps=st.n_steps, t_c=st.t_c, n_ts=len(st.ts), n_log=len(st.log),
                     last=True)
        return _outputs(sol, st.shape0), (diff_vals, snaps, final)

    def _segment(self, snap, stop):
        """The segment from checkpoint ``snap`` (None: the start) to ``stop`` as a function of
        ``(t, y, f_cur, *diff)``: the state reached and the saves and events logged on the way."""
        problem = self.problem

        def seg(t, y, f_cur, *diff_vals):
            st = problem.stepper(diff_vals, traced=True)
            if snap is None:
                st.start()
            else:
                st.restore(snap, t=t, y=y, f_cur=f_cur)
                st.run(until=None if stop.get("last") else stop["n_steps"])
            if st.n_steps != stop["n_steps"] or st.t_c != stop["t_c"]:
                raise RuntimeError(f"adjoint='checkpoint': re-running the solve from t="
                                   f"{st.t_c:.6g} did not repeat the forward pass (is fun "
                                   "deterministic?)")
            return ((_time(st.t), st.y, st.f_cur), _time(stack_times(st.ts)),
                    stack_states(st.ys, st.shape0),
                    _time(stack_times([t for _, t, _ in st.log])),
                    stack_states([y for _, _, y in st.log], st.shape0))

        return seg

    def bwd(self, res, g):
        diff_vals, snaps, final = res
        g_t, g_y, g_tf, g_yf, g_lt, g_ly = g
        ct_diff = [None] * len(diff_vals)
        carry_ct = (g_tf, g_yf, None)
        bounds = snaps[1:] + [final]
        for j in range(len(snaps) - 1, -2, -1):
            snap = snaps[j] if j >= 0 else None
            stop = bounds[j] if j >= 0 else snaps[0]
            start = snap if snap is not None else dict(n_ts=0, n_log=0)
            if snap is None:
                primals = (np.zeros(()), np.zeros(()), np.zeros(()))  # unused by start()
            else:
                primals = (_time(snap["t"]), snap["y"], snap["f_cur"])
            outs, pull = vjp(self._segment(snap, stop), *primals, *diff_vals)
            a, b = start["n_ts"], stop["n_ts"]
            la, lb = start["n_log"], stop["n_log"]
            carry_ct = tuple(_zero_ct(o) if c is None else c for c, o in zip(carry_ct, outs[0]))
            cts = pull((carry_ct, g_t[a:b], g_y[a:b], g_lt[la:lb], g_ly[la:lb]))
            carry_ct = cts[:3]
            for i, c in enumerate(cts[3:]):
                ct_diff[i] = _add(ct_diff[i], c)
        return tuple(ct_diff)


# ---------------------------------------------------------------- forward sensitivities


class _Forward(_Rule):
    """The full Jacobian of the outputs by one batched forward-mode pass; VJP = Jᵀ g."""

    def fwd(self, *diff_vals):
        shapes = [dnp.shape(v) for v in diff_vals]
        sizes = [math.prod(s) for s in shapes]
        n = sum(sizes)
        eye = np.eye(n)
        offs = np.cumsum([0] + sizes)
        basis = [eye[:, offs[k]:offs[k + 1]].reshape((n,) + s) for k, s in enumerate(shapes)]

        def push(*tangents):
            out, tan = jvp(self.problem.direct, tuple(diff_vals), tuple(tangents))
            return tan, out

        jac, outs = vmap(push)(*basis)  # jac[k]: (n,) + shape of output k
        outs = tuple(o[0] for o in outs)  # primal outputs come back broadcast over the batch
        return outs, (jac, shapes, offs)

    def bwd(self, res, g):
        jac, shapes, offs = res
        n = int(offs[-1])
        vec = None
        for j, c in zip(jac, g):
            m = math.prod(dnp.shape(c))
            if m:
                vec = _add(vec, dnp.reshape(j, (n, m)) @ dnp.reshape(c, (m,)))
        if vec is None:
            return tuple(np.zeros(s) for s in shapes)
        return tuple(dnp.reshape(vec[offs[k]:offs[k + 1]], s) for k, s in enumerate(shapes))


# ---------------------------------------------------------------- backsolve


class _Backsolve(_Rule):
    """Forward on plain values; backward integrates the continuous adjoint from the end."""

    def fwd(self, *diff_vals):
        outs, st = self.problem.run(diff_vals, traced=True)
        return outs, (diff_vals, st, self.problem.meta)

    def bwd(self, res, g):
        diff_vals, st, sol = res
        problem = self.problem
        y0, t0, t_end, args = problem.inputs(diff_vals)
        if np.iscomplexobj(concrete(sol.y_final)):
            raise NotImplementedError("adjoint='backsolve' supports real states only; use "
                                      "'checkpoint' or 'forward'")
        # the args leaves that reverse mode follows: the adjoint integrates a_p for them
        p_pos = [k for k, i in enumerate(problem.diff) if i >= 3]
        p_vals = [diff_vals[k] for k in p_pos]

        def with_p(p):
            vals = list(diff_vals)
            for k, v in zip(p_pos, p):
                vals[k] = v
            return problem.inputs(vals)[3]

        def f(t, y):
            return dnp.asarray(problem.fun(t, y, *args))

        g_t, g_y, g_tf, g_yf, g_lt, g_ly = g
        terminal = sol.status == TERMINAL_EVENT
        n_log = len(sol.event_log)
        for k in range(n_log):
            if terminal and k == n_log - 1:  # the terminal event is (t_final, y_final)
                g_tf, g_yf = g_tf + g_lt[k], g_yf + g_ly[k]
            elif _nonzero(g_lt[k]) or _nonzero(g_ly[k]):
                raise NotImplementedError(
                    "adjoint='backsolve' cannot differentiate the times or states of "
                    "non-terminal events (sol.event_log); use adjoint='checkpoint' or 'forward'")
        ct_t0 = ct_tend = None
        t_f, y_f = sol.t_final, sol.y_final
        # cotangents of saved states: the final one joins (t_final, y_final), others are jumps
        jumps = []
        n_save = len(st.ts)
        g_y_c = np.asarray(concrete(g_y)).reshape(n_save, -1)
        hit = (np.asarray(concrete(g_t)) != 0) | np.any(g_y_c != 0, axis=1)
        for k in np.flatnonzero(hit):
            tk = float(concrete(st.ts[k]))
            if st.saves is None:
                final, moving_t = k == n_save - 1, True  # step times move with t0
            else:
                final = sol.status == DONE and sol.n_steps > 0 and tk == st.t_end_c
                moving_t = False
            if final:
                g_tf, g_yf = g_tf + g_t[k], g_yf + g_y[k]
            else:
                jumps.append((tk, int(k), moving_t or tk == st.t0_c))
        a, ap = g_yf, [_zero_ct(p) for p in p_vals]
        if terminal:
            a, ap = self._event_jump(st, sol, with_p, p_vals, f, g_tf, g_yf)
        else:
            dt_final = g_tf + dnp.sum(g_yf * f(t_f, y_f))
            if sol.n_steps > 0:
                ct_tend = dt_final
            else:  # no step: t_final is t0
                ct_t0 = dt_final
        t_hi, y = float(concrete(t_f)), y_f
        for tk, k, moving in sorted(jumps, key=lambda j: (-j[0], -j[1])):
            y, a, ap = self._integrate(y, a, ap, t_hi, tk, with_p, p_vals)
            y = st.ys[k]
            a = a + g_y[k]
            if moving:  # the saved time is t0 + (a constant): its state moves with t0
                ct_t0 = _add(ct_t0, dnp.sum(g_y[k] * f(st.ts[k], y)))
                if st.saves is None:
                    ct_t0 = ct_t0 + g_t[k]
            t_hi = tk
        y, a, ap = self._integrate(y, a, ap, t_hi, st.t0_c, with_p, p_vals)
        ct_t0 = _add(ct_t0, -dnp.sum(a * f(t0, y0)))
        cts = [{0: a, 1: ct_t0, 2: ct_tend}.get(i) for i in problem.diff]
        for k, c in zip(p_pos, ap):
            cts[k] = c
        return tuple(None if c is None else dnp.reshape(c, dnp.shape(v))
                     for c, v in zip(cts, diff_vals))

    def _event_jump(self, st, sol, with_p, p_vals, f, g_tf, g_yf):
        """Cotangents on ``y(t*)`` and on the parameters from those on ``t*`` and ``y(t*)``:
        ``dt* = -(∂g/∂y dy + ∂g/∂p dp) / (dg/dt)`` (implicit function theorem)."""
        event = st.events[sol.event_index]
        t_f, y_f = sol.t_final, sol.y_final
        if event.needs_step_start:
            raise NotImplementedError("adjoint='backsolve' cannot differentiate through a "
                                      "terminal event with needs_step_start=True; use "
                                      "adjoint='checkpoint' or 'forward'")

        def cond(t, y, *p):
            return dnp.reshape(call_condition(event, t, y, with_p(p)), ())

        _, pull = vjp(cond, _time(t_f), y_f, *p_vals)
        dg_t, dg_y, *dg_p = pull(np.ones(()))
        slope = dg_t + dnp.sum(dg_y * f(t_f, y_f))
        if float(concrete(slope)) == 0.0:
            raise tangential(sol.event_index, f"at t={float(concrete(t_f)):.6g}")
        c = (g_tf + dnp.sum(g_yf * f(t_f, y_f))) / slope
        return g_yf - c * dg_y, [-c * d for d in dg_p]

    def _integrate(self, y, a, ap, t_hi, t_lo, with_p, p_vals):
        """``[y, a, a_p]`` from ``t_hi`` back to ``t_lo`` (forwards in ``s = -t``)."""
        if t_hi == t_lo:
            return y, a, ap
        problem = self.problem
        shape = dnp.shape(y)
        m = math.prod(shape)
        p_shapes = [dnp.shape(p) for p in p_vals]

        def rhs(s, z):
            yy = dnp.reshape(z[:m], shape)
            aa = dnp.reshape(z[m:2 * m], shape)
            fy, pull = vjp(lambda y_, *p: dnp.asarray(problem.fun(-s, y_, *with_p(p))), yy,
                           *p_vals)
            cts = pull(aa)
            return dnp.concatenate([-dnp.ravel(fy)] + [dnp.ravel(c) for c in cts])

        z0 = dnp.concatenate([dnp.ravel(y), dnp.ravel(a)] + [dnp.ravel(c) for c in ap])
        o = problem.opts
        sol = solve_eager(rhs, z0, (-t_hi, -t_lo), (), problem.tab, dt=o["dt"], rtol=o["rtol"],
                          atol=o["atol"], saveat=np.array([-t_lo]), max_steps=o["max_steps"])
        if not sol.success:
            raise ODESolveError(f"adjoint='backsolve': the backward adjoint solve failed "
                                f"({sol.message})")
        z = sol.y_final
        out, off = [], 2 * m
        for s in p_shapes:
            size = math.prod(s)
            out.append(dnp.reshape(z[off:off + size], s))
            off += size
        return dnp.reshape(z[:m], shape), dnp.reshape(z[m:2 * m], shape), out


__all__ = ["solve_with_adjoint", "ADJOINTS"]
