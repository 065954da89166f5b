"""The scripts of ``benchmarks/`` loaded as modules (``benchmarks_NAME``) for their smoke tests."""

import importlib.util
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    """The module of ``benchmarks/NAME.py`` (its own imports, ``_harness``, resolve there).

    The folder goes on ``sys.path``, so a script must not share a module's name: one named
    ``coverage.py`` once stood in for the coverage package that numba imports when present.
    """
    if str(FOLDER) not in sys.path:
        sys.path.append(str(FOLDER))
    key = f"benchmarks_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, FOLDER / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # (before running it: dataclasses look their module up)
        spec.loader.exec_module(module)
    return sys.modules[key]
