"""``diffopt.solvers`` in a source checkout: the repository's top-level ``solvers/`` folder.

An install maps that folder to ``diffopt.solvers`` (setuptools ``package-dir`` in
``pyproject.toml``); a checkout imported from ``sys.path`` (``PYTHONPATH=.``, or ``python -m``
from the repository root) has no such mapping, so this finder supplies it, from the checkout the
``diffopt`` package itself came from. In an install, where ``diffopt/solvers`` is a real folder,
it does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_PACKAGE = Path(__file__).parent
_FOLDER = _PACKAGE.parent / "solvers"
_NAME = f"{__package__}.solvers"


class SolversFinder(importlib.abc.MetaPathFinder):
    """Finds ``diffopt.solvers`` in the checkout's ``solvers/`` folder (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _NAME:
            return None
        return importlib.util.spec_from_file_location(
            fullname, _FOLDER / "__init__.py", submodule_search_locations=[str(_FOLDER)])


if (not (_PACKAGE / "solvers").is_dir() and (_FOLDER / "__init__.py").is_file()
        and not any(isinstance(f, SolversFinder) for f in sys.meta_path)):
    sys.meta_path.insert(0, SolversFinder())
