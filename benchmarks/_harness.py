"""What every benchmark here shares: timing, peak memory, the machine and versions, the output
folder, the command line, JSON and tables.

Timing is ``diffopt.timing``, which ``diffopt bench modes`` and ``diffopt.compare`` use too:
``time_call`` (one warm-up call, then repeated samples within a budget) and ``timed`` (one call).
Results go to ``benchmarks/results/`` unless ``--out`` says otherwise. Importing the harness first
sets one BLAS thread (``one_blas_thread()``, before NumPy loads) for steady timings.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def one_blas_thread() -> None:
    """One BLAS thread (unless the environment says otherwise): call before NumPy is imported."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


one_blas_thread()  # (importing the harness first is enough)

from diffopt.examples._shared import figure, output_dir, print_table, save  # noqa: E402
from diffopt.timing import time_call, timed  # noqa: E402

__all__ = ["RESULTS", "time_call", "timed", "peak_bytes", "peak_rss_mb", "available_mb",
           "versions", "machine", "parser", "child_process", "write_json", "figure", "output_dir",
           "print_table", "save"]


def peak_bytes(fn: Callable[[], object]) -> tuple[int, float]:
    """``(peak bytes allocated while fn() runs above those allocated before, seconds)`` by
    ``tracemalloc`` (which slows Python code down several times)."""
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        return tracemalloc.get_traced_memory()[1] - before, seconds
    finally:
        if started:
            tracemalloc.stop()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def available_mb() -> float | None:
    """The memory available to new processes (MB, from ``/proc/meminfo``), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def versions(*packages: str) -> dict:
    """Python's version and each package's installed version or None (nothing is imported)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine(**extra) -> dict:
    """The processor, platform and CPU count, and ``extra`` entries."""
    return {"processor": platform.processor() or platform.machine(),
            "platform": platform.platform(), "cpus": os.cpu_count(), **extra}


def parser(doc: str, json_name: str, quick_help: str) -> argparse.ArgumentParser:
    """A benchmark's command line: ``--quick`` and ``--out DIR`` (default ``RESULTS``)."""
    out = argparse.ArgumentParser(description=doc.splitlines()[0])
    out.add_argument("--quick", action="store_true", help=quick_help)
    out.add_argument("--out", type=Path, default=RESULTS,
                     help=f"folder for {json_name} and the PNG figures (default {RESULTS})")
    return out


def child_process(script: str, call: str, env: dict | None = None) -> tuple[list[str], dict]:
    """``(command, environment)`` of a fresh Python process that imports the benchmark
    ``script`` (a file here) and runs ``call`` on it, named ``b`` (``"b.main()"``), with this
    process's ``diffopt`` first on its path."""
    import diffopt

    env = dict(os.environ if env is None else env)
    root = str(Path(diffopt.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    here, name = str(Path(script).resolve().parent), Path(script).stem
    code = f"import sys; sys.path.insert(0, {here!r}); import {name} as b; {call}"
    return [sys.executable, "-c", code], env


def write_json(path: Path | str, result: dict) -> None:
    """Write ``result`` as indented JSON."""
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
