"""Smoke test of the second-order benchmark (``--quick``) and checks of what it measures."""

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_scripts import load

import diffopt

bso = load("second_order")
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """The script's main, run once with --quick into a temporary folder."""
    out = tmp_path_factory.mktemp("second_order")
    return bso.main(["--quick", "--out", str(out)]), out


def test_files_written(result):
    res, out = result
    assert sorted(Path(f).name for f in res["files"]) == sorted(
        [bso.JSON_NAME, *bso.FIGURES.values()])
    for name in bso.FIGURES.values():
        with open(out / name, "rb") as fh:
            assert fh.read(8) == PNG_MAGIC
        assert (out / name).stat().st_size > 10_000  # something was drawn
    saved = json.loads((out / bso.JSON_NAME).read_text())  # strict JSON (no NaN)
    assert saved["meta"]["quick"] is True
    assert {"hvp", "fd_steps", "memory"} <= saved.keys()


def test_hvp_errors(result):
    rows = result[0]["hvp"]
    assert {(r["problem"], r["method"]) for r in rows} == {
        (p, m) for p in ("rosenbrock", "mlp") for m in bso.HVP_METHODS}
    for r in rows:
        assert r["time_s"] > 0
        if r["method"] == "fd of grad":
            assert 1e-14 < r["rel_error"] < 1e-6, r  # truncation + rounding, but a good step
        else:
            assert r["rel_error"] < 1e-12, r  # AD: exact up to rounding


def test_fd_step_curves(result):
    methods = result[0]["fd_steps"]["methods"]
    fwd, cen, cpx = methods["forward"], methods["central"], methods["complex"]
    # the V: large error at both ends of the h range, small near the automatic step
    for m in (fwd, cen):
        errs = [e for e in m["rel_error"] if e is not None]
        assert errs[0] > 1e-3 and m["rel_error"][-1] > 1e-4
        assert m["auto_rel_error"] < 100 * m["best_rel_error"] + 1e-13
    assert fwd["auto_rel_error"] < 1e-6 and cen["auto_rel_error"] < 1e-9
    assert cen["best_rel_error"] < fwd["best_rel_error"]
    assert cpx["auto_h"] == 1e-20 and cpx["auto_rel_error"] < 1e-15  # no rounding error
    small = [e for h, e in zip(cpx["h"], cpx["rel_error"]) if h <= 1e-7]
    assert len(small) > 5 and max(small) < 1e-14  # flat: no rounding error at any small h


def test_checkpoint_saves_memory(result):
    rows = result[0]["memory"]
    by = {(r["depth"], r["schedule"]): r for r in rows}
    depths = sorted({r["depth"] for r in rows})
    deep, shallow = depths[-1], depths[0]
    plain = [by[d, "plain"]["peak_mb"] for d in depths]
    assert plain == sorted(plain) and plain[-1] > 3 * plain[0]  # grows with depth
    for schedule in ("every block", "sqrt(L) segments"):
        assert by[deep, schedule]["peak_mb"] < 0.6 * by[deep, "plain"]["peak_mb"]
        assert by[deep, schedule]["time_over_plain"] > 1.0  # recomputation costs time
    assert by[shallow, "plain"]["peak_mb"] > 0


def test_rosenbrock_hvp_is_exact():
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal(7), rng.standard_normal(7)
    dense = np.asarray(diffopt.hessian(bso.rosenbrock)(x)) @ v
    np.testing.assert_allclose(bso.rosenbrock_hvp(x, v), dense, rtol=1e-12, atol=1e-10)


def test_hvp_methods_agree_with_hvp():
    f, n = bso.mlp_loss(3)
    rng = np.random.default_rng(4)
    x, v = rng.standard_normal(n), rng.standard_normal(n)
    want = np.asarray(diffopt.hvp(f, x, v))
    for name, method in bso.hvp_methods(f, v).items():
        tol = 1e-6 if name == "fd of grad" else 1e-12
        np.testing.assert_allclose(np.asarray(method(x)), want, rtol=tol, atol=tol, err_msg=name)


def test_checkpoint_schedules_same_gradient():
    x = np.linspace(-1, 1, 5)
    want = diffopt.grad(bso.chain_loss(5, "plain"))(x)
    for schedule in ("every block", "sqrt(L) segments"):
        np.testing.assert_allclose(diffopt.grad(bso.chain_loss(5, schedule))(x), want, rtol=1e-13)
    with pytest.raises(ValueError, match="unknown schedule"):
        bso.chain_loss(5, "nope")
