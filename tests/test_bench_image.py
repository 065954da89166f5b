"""The image pipeline benchmark (``benchmarks/image.py``): a smoke run at tiny sizes without the
competitors, its planning rules, and the PyTorch/JAX pipelines against diffopt's."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from benchmark_scripts import load

bi = load("image")
pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("image")
    result = bi.main(["--quick", "--no-competitors", "--sizes", "64x64,96x128", "--out",
                      str(out)])
    return out, result, json.loads((out / bi.JSON_NAME).read_text())


def test_smoke_run_measures_both_diffopt_paths_at_every_size(smoke):
    _, result, data = smoke
    measured = [r for r in data["rows"] if "vg_s" in r]
    assert {(r["system"], r["size"]) for r in measured} == {
        (s, z) for s in ("diffopt numba", "diffopt numpy") for z in ("64×64", "96×128")}
    for r in measured:
        assert r["fwd_ms"] > 0 and r["vg_ms"] > 0
        assert r["fwd_mp_s"] == pytest.approx(r["mp"] / r["fwd_s"])
        assert r["vg_mp_s"] == pytest.approx(r["mp"] / r["vg_s"])
        assert r["vg_s"] > r["fwd_s"] * 0.5  # (a gradient costs at least about a forward pass)
        assert r["peak_rss_mb"] > 0
    systems = {s["system"]: s for s in data["systems"]}
    assert set(systems) == {"diffopt numba", "diffopt numpy", "diffopt cupy"}
    assert "pytorch" not in systems and "jax" not in systems
    assert systems["diffopt numba"]["fwd_max_abs_diff"] == 0.0
    numpy_check = systems["diffopt numpy"]
    assert numpy_check["fwd_max_abs_diff"] < 1e-5
    assert numpy_check["grad_max_rel_diff"] < 1e-4
    assert len(numpy_check["grad_rel_diff"]) == 13
    assert numpy_check["image_finite"] and numpy_check["gradient_finite"]
    if not data["gpu"]["run"]:
        assert systems["diffopt cupy"]["note"].startswith("not run")
    assert data["target"] == {}  # (no PyTorch: no ratio)
    assert data["meta"]["load_average_start"] and data["meta"]["load_average_end"]
    assert result["rows"] == data["rows"]


def test_smoke_run_writes_the_figure(smoke):
    out, _, data = smoke
    png = (out / bi.FIGURE_NAME).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert data["files"] == [str(out / bi.JSON_NAME), str(out / bi.FIGURE_NAME)]


def test_plan_cuts_repeats_then_skips_and_ratios_compare_with_torch():
    prev = {"pixels": 1_000_000, "fwd_s": 1.0, "vg_s": 3.0, "fwd_first_s": 1.0, "vg_first_s": 3.0,
            "rss_growth_mb": 10.0}
    assert bi._plan([], 10, False, False) == (3, bi.MAX_REPEATS, None)
    assert bi._plan([prev], 1_000_000, False, False)[1:] == (bi.MAX_REPEATS, None)
    lo, _, skip = bi._plan([prev], 4_000_000, False, False)  # calls of 4 + 12 s: 2 fit in 60 s
    assert skip is None and lo == 2 < bi.MIN_REPEATS[0]
    assert bi._plan([prev], 12_000_000, False, False)[2].startswith("predicted 96 s")
    assert bi._plan([prev], 1_000_000, False, True)[:2] == (1, bi.SLOW_MAX_REPEATS)
    huge = dict(prev, fwd_s=1e-3, vg_s=1e-3, fwd_first_s=1e-3, vg_first_s=1e-3,
                rss_growth_mb=1e9)  # fast, but predicted to need more memory than there is
    small = dict(huge, pixels=1000, rss_growth_mb=1e9)  # (measured after: a peak so far)
    if bi.available_mb() is not None:
        assert "MB available" in bi._plan([huge], 2_000_000, False, False)[2]
        assert bi._plan([huge, small], 1_000_000, False, False)[2] is None
    rows = [{"system": "pytorch", "size": "a", "fwd_s": 2.0, "vg_s": 6.0},
            {"system": "diffopt numba", "size": "a", "fwd_s": 1.0, "vg_s": 2.0},
            {"system": "diffopt numba", "size": "b", "fwd_s": 1.0, "vg_s": 2.0}]
    target = bi._ratios(rows)
    assert rows[1]["fwd_x_torch"] == 2.0 and rows[1]["vg_x_torch"] == 3.0
    assert target == {"a": {"vg_x_torch": 3.0, "met": True}}
    assert "vg_x_torch" not in rows[2]


def test_data_keeps_the_bayer_tiling_and_sizes_are_checked():
    small, target_small = bi.make_data((64, 96))
    big, target_big = bi.make_data((1204, 1030))
    assert small.dtype == np.float32 and target_small.shape == (64, 96, 3)
    np.testing.assert_array_equal(big[:64, :96], small)
    raw0, _ = bi._base_images()
    h, w = raw0.shape
    np.testing.assert_array_equal(big[h:h + 64, w:w + 96], small)  # a tile starts at (h, w)
    with pytest.raises(ValueError, match="even height and width"):
        bi.make_data((63, 96))
    assert bi._sizes_arg("640x480,96×64") == [(480, 640), (64, 96)]
    with pytest.raises(argparse.ArgumentTypeError, match="even"):
        bi._sizes_arg("641x480")
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
        bi._sizes_arg("640")


@pytest.mark.parametrize("system, module", [("pytorch", "torch"), ("jax", "jax")])
def test_competitor_forward_is_the_same_pipeline(system, module):
    pytest.importorskip(module)
    params = bi.bench_params()
    raw, target = bi.make_data((32, 48))
    ref = bi.diffopt_programs("numba", raw, target, params)
    mine = bi.SYSTEMS[system][1](raw, target, params)
    expected = ref.image(ref.forward())
    got = mine.image(mine.forward())
    assert got.shape == expected.shape == (32, 48, 3)
    np.testing.assert_allclose(got, expected, atol=2e-6)
