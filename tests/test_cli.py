"""The `diffopt demo` command and the table behind it."""

import subprocess
import sys

import numpy as np

from diffopt.cli import main
from diffopt.demo import EXAMPLES, METHODS, derivative_table


def test_demo_table_has_every_example_and_method_with_small_errors():
    rows = derivative_table()
    assert len(rows) == len(EXAMPLES) * len(METHODS)
    for row in rows:
        limit = 1e-6 if row["method"].startswith("finite") else 1e-12
        assert row["error"] < limit, row
    # finite differences are visibly less exact than AD on at least one example
    fd = [r["error"] for r in rows if r["method"].startswith("finite")]
    assert max(fd) > 1e-11


def test_demo_prints_side_by_side(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    for ex in EXAMPLES:
        assert ex.title in text
    for method in METHODS:
        assert text.count(method) == len(EXAMPLES)
    assert "error" in text


def test_console_entry_point_runs_as_a_module():
    res = subprocess.run([sys.executable, "-m", "diffopt.cli", "demo"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "reverse mode" in res.stdout
    values = [float(v) for v in res.stdout.split() if v.replace(".", "").isdigit()]
    assert np.isfinite(values).all()
