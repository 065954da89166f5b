"""``solve``: the one entry point of diffopt.ode, choosing the executor and its fallbacks.

The executors: :mod:`diffopt.ode.eager` (the NumPy reference, differentiable through the tape,
one trajectory or many at once), :mod:`diffopt.ode.compiled` (Numba; raises
:class:`NotCompilable` back here for what it does not run) and :mod:`diffopt.ode.adjoint` (the
other reverse-mode rules over the eager one).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from ._types import (
    ADJOINTS,
    BACKENDS,
    BatchSolution,
    NotCompilable,
    ODESolveError,
    Solution,
    as_args,
    as_events,
    as_state,
    check_max_steps,
    choice,
    tableau,
)
from .adjoint import solve_with_adjoint
from .compiled import solve_compiled
from .eager import solve_batch, solve_eager
from .events import Event


def solve(fun: Callable, y0, t_span: Sequence, args: tuple = (), method: str = "dopri5", *,
          dt: float | None = None, rtol: float = 1e-6, atol: float = 1e-9,
          events: Sequence[Event] | Event = (), saveat=None, max_steps: int = 100_000,
          adjoint: str = "auto", backend: str = "auto", batched: bool = False,
          checkpoint_every: int | None = None) -> Solution | BatchSolution:
    """Integrate ``dy/dt = fun(t, y, *args)`` from ``t_span[0]`` to ``t_span[1]``.

    ``method``: ``"euler"``, ``"rk4"`` (fixed step ``dt``, required) or ``"dopri5"``, ``"tsit5"``,
    ``"bosh3"`` (adaptive with PI step control at ``rtol``/``atol``; ``dt`` is then the first
    step, optional).
    ``max_steps``: the most step attempts, accepted or rejected (as diffrax counts them); the
    solve then stops with status -1. A solve also stops, with a failure status and a message
    naming the time, when ``y0`` or ``fun(t0, y0)`` is not finite, when a fixed step gives inf or
    nan, when an adaptive method has shrunk its step to nothing to avoid inf/nan (or its step size
    is not finite), or when an event condition is not finite; a derivative of a failed solve
    raises :class:`ODESolveError`.
    ``saveat``: times at which to report the state (read off each step's dense output), or ``None``
    for every step. ``events``: :class:`Event` objects; a terminal one stops the solve at its time
    (``t_span[1]`` may then be ``inf``). Differentiable (``grad``, ``jvp``, ...) with respect to
    ``y0``, ``args`` (any pytree) and ``t_span``'s end, including through event times (implicit
    function theorem).
    ``adjoint`` (how reverse mode differentiates): ``"direct"`` (the default, ``"auto"``) records
    every step (memory O(steps)); ``"checkpoint"`` keeps every ``k``-th state and recomputes the
    steps in between (memory O(checkpoints + k); ``checkpoint_every``: ``k``, default about
    ``sqrt(n_steps)``); ``"backsolve"`` integrates the continuous
    adjoint ODE backwards (memory O(1), approximate: error of the order of the solver's
    tolerance); ``"forward"`` propagates forward sensitivities (cheapest for few inputs).
    ``backend``: ``"numpy"`` (eager, no compile time; the default, ``"auto"``) or ``"numba"``
    (the right-hand side, events, integrator loop and discrete adjoint compiled, the same numbers;
    see :mod:`diffopt.ode.compiled`: the first solve of a problem compiles it, later ones and later
    processes reuse it; ``saveat``, forward mode, second derivatives and the other adjoints run
    the NumPy path, and so does a right-hand side that cannot compile, with a warning saying why).
    ``backend="cuda"`` (``batched=True`` only): one CUDA thread per trajectory, generated from the
    same loops and kernels as ``"numba"`` (see :mod:`diffopt.ode.cuda_solve`: what it runs, and
    what it refuses with ``NotImplementedError``); ``"auto"`` picks it for CuPy inputs on a GPU.
    ``batched=True``: ``y0`` has a leading batch axis and many trajectories are integrated at once
    (any method, each trajectory with its own steps, step control and events, terminal or logged;
    ``saveat`` common to all; see :func:`diffopt.ode.eager.solve_batch`), giving a
    :class:`BatchSolution`. With ``backend="numba"`` each trajectory runs the compiled loop (rows
    spread over the CPU cores); ``args`` leaves whose leading axis has the batch size are
    per-trajectory, and ``fun`` is first tried on one trajectory without the batch axis.

    >>> import numpy as np
    >>> sol = solve(lambda t, y, k: -k * y, np.array([1.0]), (0.0, 2.0), args=(0.5,))
    """
    tab = tableau(method)
    backend = choice(backend, BACKENDS, "backend")
    adjoint = choice(adjoint, ADJOINTS, "adjoint")
    max_steps = check_max_steps(max_steps)
    if backend == "auto" and _on_gpu(y0):
        backend = "cuda"
    if backend == "cuda":
        return _solve_cuda(fun, y0, t_span, args, tab, dt=dt, rtol=rtol, atol=atol,
                           events=as_events(events), saveat=saveat, max_steps=max_steps,
                           adjoint=adjoint, batched=batched)
    if backend == "numba":
        try:
            return solve_compiled(fun, y0, t_span, args, tab, dt=dt, rtol=rtol, atol=atol,
                                  events=as_events(events), saveat=saveat,
                                  max_steps=max_steps, adjoint=adjoint, batched=batched)
        except NotCompilable as e:  # the NumPy path runs what the compiled one does not
            if e.warn:
                warnings.warn(f"solve(backend='numba'): {e}; using the NumPy path",
                              stacklevel=2)
    if adjoint not in ("direct", "auto"):
        return solve_with_adjoint(fun, y0, t_span, args, method, dt=dt, rtol=rtol, atol=atol,
                                  events=events, saveat=saveat, max_steps=max_steps,
                                  adjoint=adjoint, batched=batched,
                                  checkpoint_every=checkpoint_every)
    if batched:
        return solve_batch(fun, as_state(y0), t_span, as_args(args), tab, dt=dt, rtol=rtol,
                           atol=atol, events=as_events(events), saveat=saveat,
                           max_steps=max_steps, save_steps=True)
    return solve_eager(fun, y0, t_span, args, tab, dt=dt, rtol=rtol, atol=atol, events=events,
                       saveat=saveat, max_steps=max_steps)


def _on_gpu(y0) -> bool:
    """Whether ``y0`` is a CuPy array and CUDA kernels run on a GPU here."""
    from diffopt import cuda

    return cuda.MODE == "gpu" and type(y0).__module__.split(".")[0] == "cupy"


def _solve_cuda(fun, y0, t_span, args, tab, **options):
    """``solve(backend="cuda")``: the compiled batch on :class:`.cuda_solve.Executor`; what it
    does not run raises ``NotImplementedError`` (no fallback: the caller asked for the GPU)."""
    from diffopt import cuda

    cuda.require('solve(backend="cuda")')
    from .cuda_solve import Executor

    refuse = {"events": options["events"], "saveat": options["saveat"] is not None,
              "adjoint=" + repr(options["adjoint"]): options["adjoint"] not in ("auto", "direct"),
              "batched=False": not options["batched"]}
    for name, used in refuse.items():
        if used:
            raise NotImplementedError(f'solve(backend="cuda") does not run {name} yet; use '
                                      'backend="numba" or "numpy"')
    if type(y0).__module__.split(".")[0] == "cupy":
        y0 = y0.get()
    try:
        return solve_compiled(fun, y0, t_span, args, tab, executor=Executor, **options)
    except NotCompilable as e:
        raise NotImplementedError(f'solve(backend="cuda"): {e}; use backend="numba" or '
                                  '"numpy"') from e


__all__ = ["solve", "Solution", "ODESolveError"]
