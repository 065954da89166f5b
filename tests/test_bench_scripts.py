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
