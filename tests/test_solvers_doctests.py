"""The docstring examples of diffopt.solvers. pytest's --doctest-modules collects diffopt/ by
path; the solvers/ folder would be imported as a top-level "solvers" that way, so its examples
run here, imported under their installed name."""

import doctest
import importlib
import pkgutil

import pytest

import diffopt.solvers

MODULES = ["diffopt.solvers"] + [f"diffopt.solvers.{m.name}"
                                 for m in pkgutil.iter_modules(diffopt.solvers.__path__)]
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_are_found():
    found = sum(doctest.testmod(importlib.import_module(n), optionflags=FLAGS).attempted
                for n in MODULES)
    assert found >= 20
