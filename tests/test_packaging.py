"""Packaging: the top-level solvers/ folder is the package diffopt.solvers, and every package
folder is listed in pyproject.toml (a package-dir mapping needs the list)."""

import sys
from pathlib import Path

import tomllib

import diffopt.solvers

ROOT = Path(__file__).resolve().parents[1]


def test_solvers_is_a_subpackage_with_its_public_api():
    assert diffopt.solvers.__name__ == "diffopt.solvers"
    assert callable(diffopt.solvers.register)
    assert "l-bfgs-b" in diffopt.solvers.available()
    assert "solvers" not in sys.modules  # nothing imports a top-level "solvers"


def test_every_package_folder_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(("diffopt", *p.parent.relative_to(ROOT / "diffopt").parts))
               for p in (ROOT / "diffopt").rglob("__init__.py")}
    assert folders | {"diffopt.solvers"} == set(config["packages"])
    assert config["package-dir"] == {"diffopt": "diffopt", "diffopt.solvers": "solvers"}
