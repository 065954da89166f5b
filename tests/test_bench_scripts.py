"""Smoke tests of benchmarks/overhead.py and benchmarks/optimize.py (quick runs into a
temporary folder): they run, write their JSON there and report what they measured."""

import json

import pytest
from benchmark_scripts import load

pytestmark = pytest.mark.bench


def test_overhead_quick_writes_its_report(tmp_path):
    report = load("overhead").main(["--quick", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "overhead.json").read_text()) == json.loads(json.dumps(report))
    assert report["quick"] is True and report["machine"]["cpus"] >= 1
    assert all(t["diffopt"] > 0 for t in report["seconds_per_call"].values() if "diffopt" in t)
    assert set(report["no_transform_overhead_us"]) == {
        "no-transform sin(100)", "no-transform add(100)", "no-transform sum(100)"}


def test_optimize_quick_runs_every_solver_and_writes_its_report(tmp_path):
    report = load("optimize").main(["--quick", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "optimize.json").read_text())["quick"] is True
    assert report["runs"] and not report["failed"]
    assert {r["n"] for r in report["runs"]} <= {2, 100}


def test_coverage_counts_what_diffopt_lacks_from_a_jax_checkout(tmp_path):
    # a stand-in for a JAX checkout: jax.numpy exports sin, a made-up name and a class
    numpy_dir = tmp_path / "jax" / "numpy"
    numpy_dir.mkdir(parents=True)
    (numpy_dir / "__init__.py").write_text(
        "from x import (\n  sin as sin,\n  not_in_numpy as not_in_numpy,\n  ndarray as ndarray,\n"
        "  cov as cov,\n)\nfrom y import fft as fft\n")
    (numpy_dir / "linalg.py").write_text("from x import (solve as solve, eig as eig)\n")
    (numpy_dir / "fft.py").write_text("from x import fft as fft\n")
    out = tmp_path / "out"
    report = load("numpy_coverage").main(["--jax-source", str(tmp_path), "--out", str(out)])
    rows = {r["namespace"]: r for r in report["namespaces"]}
    assert rows["numpy"]["shared"] == 2  # sin and cov: ndarray is a class, the other not NumPy's
    assert rows["numpy.linalg"]["shared"] == 2 and "solve" not in rows["numpy.linalg"]["missing"]
    assert json.loads((out / "coverage.json").read_text())["namespaces"][0]["namespace"] == "numpy"
