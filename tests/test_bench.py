"""``diffopt bench modes --quick``: the smoke test of the forward/reverse Jacobian benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt import bench
from diffopt.cli import main

pytestmark = pytest.mark.bench


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("modes")
    code = main(["bench", "modes", "--quick", "--out", str(out)])
    return code, out, json.loads((out / "modes.json").read_text())


def test_quick_writes_every_cell_and_the_figures(quick_run):
    code, out, data = quick_run
    assert code == 0
    cells = {(c["family"], c["n"], c["m"]) for c in data["cells"]}
    expected = {(f, n, m) for f in bench.FAMILIES for n in bench.QUICK_GRID
                for m in bench.QUICK_GRID}
    assert cells == expected
    for name in ("modes_heatmap.png", "modes_scaling.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_quick_results_agree_and_are_timed(quick_run):
    _, _, data = quick_run
    assert data["summary"]["all_agree"]
    for c in data["cells"]:
        assert {"jacfwd", "jacrev", "auto", "fd central"} <= set(c["times"])
        assert all(t > 0 and np.isfinite(t) for t in c["times"].values())
        assert all(c["agree"].values()), c
        assert c["rel_errors"]["jacrev"] < 1e-10
    summary = data["summary"]
    assert len(summary["crossover"]) == len(bench.QUICK_GRID)
    assert summary["auto_vs_best"]["cells"] == len(data["cells"])
    for axis in ("n", "m"):
        for mode in ("jacfwd", "jacrev"):
            assert np.isfinite(summary["scaling"][axis][mode]["slope"])


@pytest.mark.parametrize("family", bench.FAMILIES)
def test_families_have_the_requested_shapes_and_match_finite_differences(family):
    f = bench.make_family(family, 7, 4)(dnp)
    x = np.linspace(-1.0, 1.0, 7)
    J = diffopt.jacrev(f)(x)
    assert np.shape(f(x)) == (4,) and J.shape == (4, 7)
    np.testing.assert_allclose(J, diffopt.numerical.jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_crossover_and_slopes_on_synthetic_cells():
    cells = [{"family": "x", "n": n, "m": m, "ratio_fwd_rev": n / (2 * m)}
             for n in (1, 10, 100) for m in (1, 10, 100)]
    cross = dict(bench.crossover(cells, "x"))
    assert cross[100] is None  # forward wins or ties everywhere on that row
    assert 1 < cross[1] < 10 and 10 < cross[10] < 100
    xs = np.array([1.0, 10.0, 100.0, 1000.0])
    assert bench.fit_slope(xs, 3 * xs**1.5, low=10) == pytest.approx(1.5)


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown family"):
        bench.make_family("nope", 2, 2)
    with pytest.raises(SystemExit, match="unknown families"):
        main(["bench", "modes", "--families", "nope"])
