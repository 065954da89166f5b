"""Seconds per call of a function: one warm-up call, then repeated timed samples within a budget.

The one timing routine of diffopt: ``compare`` and ``diffopt bench modes`` use it, and so does
every benchmark in the repository's ``benchmarks/`` (through ``benchmarks/_harness.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["time_call", "timed"]


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """``(fn(*args, **kwargs), seconds)``: one call, timed (a first call includes compiling)."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def time_call(fn: Callable[[], object], budget: float, repeats: tuple[int, int] = (1, 5),
              median: bool = False, first: tuple[object, float] | None = None
              ) -> tuple[float, object]:
    """``(seconds per call, the result of the first call)``.

    One warm-up call (or ``first``: the ``(result, seconds)`` of a call already made), then as
    many timed samples as share about ``budget`` seconds, at least ``repeats[0]`` and at most
    ``repeats[1]``; a fast call is looped within each sample. The best sample, or with
    ``median=True`` the median (garbage collection and a busy machine then show as they would to
    a user).

    >>> seconds, result = time_call(lambda: sum(range(100)), 0.01)
    >>> result, seconds > 0
    (4950, True)
    """
    result, once = timed(fn) if first is None else first
    # A first call can be much slower than the rest (cold caches): unless it alone took a tenth
    # of the budget, calibrate on warm calls, doubling a loop until it takes that long.
    number, seconds = 0, once
    while seconds < 0.1 * budget and number < 10**7:
        number = max(1, 2 * number)
        seconds = _loop(fn, number)
    per_call = max(seconds / max(number, 1), 1e-9)
    count = int(np.clip(budget / per_call, repeats[0], repeats[1]))
    number = max(1, int(budget / count / per_call))
    samples = [_loop(fn, number) / number for _ in range(count)]
    return float(np.median(samples) if median else min(samples)), result


def _loop(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start
