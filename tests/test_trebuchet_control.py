"""The trebuchet controller example: a quick run, training progress, per-target aiming."""

from pathlib import Path

import numpy as np
import pytest

from diffopt.examples import trebuchet_control as tc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return tc.run(out_dir=tmp_path_factory.mktemp("trebuchet"), quick=True)


def test_quick_run_writes_pngs_and_finite_figures(quick):
    assert len(quick["plots"]) == 3
    for plot in quick["plots"]:
        path = Path(plot)
        assert path.parent == Path(quick["out_dir"])
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert path.stat().st_size > 10_000
    held = quick["held_out"]
    for key in ("all", "reachable"):
        assert np.isfinite(held[key]["mean_miss"]) and np.isfinite(held[key]["median_miss"])
    assert 0.5 < held["reachable_fraction"] <= 1.0
    assert held["reachable"]["mean_miss"] < 20.0  # far better than the untrained ~25 m
    assert 4.0 <= quick["train_time"] < 8.0
    assert all(np.isfinite(v) and v > 0 for v in quick["aim_time_us"].values())
    assert quick["aimed"] and all(np.isfinite(row["net_miss"]) for row in quick["aimed"])


def test_loss_decreases(quick):
    loss = quick["loss_history"]
    k = max(len(loss) // 4, 1)
    assert np.mean(loss[-k:]) < 0.5 * np.mean(loss[:k])


def test_network_aim_shape_and_ranges():
    angle, weight = tc.aim(tc.init_params(), np.array([-15.0, 0.0, 15.0]), np.full(3, 60.0))
    angle, weight = np.asarray(angle), np.asarray(weight)
    assert angle.shape == weight.shape == (3,)
    assert np.all((0 < angle) & (angle < 90))
    assert np.all((tc.W_MIN <= weight) & (weight <= tc.W_MAX))


def test_aim_by_optimize_hits_reachable_target():
    wind, target = -7.12, 48.44  # within range (about 69 m at this wind)
    assert target < tc.max_range([wind])[0]
    res = tc.aim_by_optimize(wind, target)
    assert res["miss"] < 0.5


def test_demo_is_registered():
    from diffopt.cli import DEMOS

    assert DEMOS["trebuchet"] == "diffopt.examples.trebuchet_control"
