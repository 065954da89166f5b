"""The optimization examples (quick runs): their plots, their numbers, the scripts and the CLI."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diffopt import solvers
from diffopt.cli import main as cli
from diffopt.examples import least_squares, logistic_regression, rosenbrock, shallow_net

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_pngs(result, count):
    assert len(result["plots"]) == count
    for plot in result["plots"]:
        path = Path(plot)
        assert path.parent == Path(result["out_dir"])
        with open(path, "rb") as fh:
            assert fh.read(8) == PNG_MAGIC, path
        assert path.stat().st_size > 10_000, path  # a drawn figure, not an empty canvas


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Each example run once (quick) into its own folder."""
    out = {}
    module = {"least_squares": least_squares, "logistic_regression": logistic_regression,
              "shallow_net": shallow_net, "rosenbrock": rosenbrock}
    for name in module:  # (the trebuchet has its own tests: test_trebuchet_control.py)
        folder = tmp_path_factory.mktemp(name) / "plots"
        out[name] = module[name].run(out_dir=folder, quick=True)
    return out


def test_least_squares_every_method_reaches_lstsq(ran):
    res = ran["least_squares"]
    assert_pngs(res, 1)
    assert set(res["methods"]) == {"gd", "newton-cg", "l-bfgs-b", "lm"}
    A, y = least_squares.problem()
    x_star = np.linalg.lstsq(A, y, rcond=None)[0]
    assert res["optimum"] == pytest.approx(0.5 * np.sum((y - A @ x_star) ** 2), rel=1e-14)
    for name, m in res["methods"].items():
        assert m["loss"] >= res["optimum"] * (1 - 1e-12), name
        assert m["loss"] <= res["optimum"] * (1 + 1e-6), name
    assert res["methods"]["gd"]["nit"] == least_squares.GD_STEPS  # the classic fixed 500 steps
    for name in ("newton-cg", "lm"):  # second-order methods land on lstsq's x itself
        assert res["methods"][name]["x_error"] < 1e-6
        assert res["methods"][name]["success"]


def test_logistic_regression_separates_the_moons(ran):
    res = ran["logistic_regression"]
    assert_pngs(res, 2)
    X, y = logistic_regression.two_moons(100)
    start = float(logistic_regression.loss(logistic_regression.init_params(), X, y))
    for name, m in res["methods"].items():
        assert m["success"], name
        assert m["accuracy"] > 0.9, name
        assert m["loss"] < start / 5, name
        assert m["accuracy"] == logistic_regression.accuracy(m["params"], X, y)
        assert set(m["params"]) == {"W1", "b1", "w", "b"}
        assert np.shape(m["params"]["W1"]) == (3, 2)
    losses = [m["loss"] for m in res["methods"].values()]
    assert max(losses) < 1.05 * min(losses)  # both methods find the same kind of minimum


def test_shallow_net_loss_falls_by_a_large_factor(ran):
    res = ran["shallow_net"]
    assert_pngs(res, 1)
    assert set(res["methods"]) == {"adam", "l-bfgs-b"}
    X, Y = shallow_net.data(100)
    for name, m in res["methods"].items():
        assert res["initial_loss"] / m["loss"] > 100, name
        params = m["params"]
        assert params["W1"].shape == (shallow_net.HIDDEN, shallow_net.INPUTS)
        assert params["W2"].shape == (shallow_net.OUTPUTS, shallow_net.HIDDEN)
        assert float(shallow_net.loss(params, X, Y)) == pytest.approx(m["loss"], rel=1e-9)


def test_rosenbrock_runs_every_solver_to_the_minimum(ran):
    res = ran["rosenbrock"]
    assert_pngs(res, 2)
    rows = res["runs"]
    expected = {(kind, m) for kind in ("minimize", "least_squares")
                for m in solvers.available(kind)}
    for n in (2, 100):
        assert {(r["kind"], r["method"]) for r in rows if r["n"] == n} == expected
    for r in rows:
        assert not r["skipped"], r  # nothing is skipped at n <= 100
        x0 = rosenbrock.start(r["n"])
        if r["method"] in rosenbrock.FIRST_ORDER:  # capped: clear progress, not convergence
            assert r["nit"] == rosenbrock.FIRST_ORDER_MAXITER[True], r
            assert r["fun"] < 0.05 * float(rosenbrock.rosen(x0)), r
            assert r["error"] < np.linalg.norm(x0 - 1.0), r
            assert "capped" in r["note"]
        else:
            assert r["success"], r
            assert r["error"] < 1e-3, r
        assert r["time"] > 0 and r["nfev"] >= 1


def test_rosenbrock_large_n_limits_are_reported():
    """The plan for n >= LARGE caps or skips the dense scipy methods and says why."""
    plan = {m: (kwargs, note) for m, _, kwargs, note in rosenbrock._plan(rosenbrock.LARGE, False)}
    assert plan["bfgs"][0]["maxiter"] == rosenbrock.LARGE_LIMITS["bfgs"][0]
    assert "O(n³)" in plan["bfgs"][1]
    assert plan["scipy-lm"][0]["maxiter"] == 0 and plan["scipy-lm"][1].startswith("skipped")
    assert plan["gd"][0]["maxiter"] == rosenbrock.FIRST_ORDER_MAXITER[False]
    assert plan["newton-cg"] == ({}, "")


def test_cli_demo_runs_an_example(tmp_path, capsys):
    assert cli(["demo", "least_squares", "--quick", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert f"writing plots to {tmp_path.resolve()}" in text
    for method in ("gd, step 0.0001", "newton-cg", "l-bfgs-b", "lm", "numpy.linalg.lstsq"):
        assert method in text
    assert (tmp_path / "loss.png").read_bytes()[:8] == PNG_MAGIC


def test_cli_demo_options_belong_to_the_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        cli(["demo", "derivatives", "--quick"])
    assert exc.value.code == 2
    assert "--quick and --out apply to the optimization examples" in capsys.readouterr().err


def test_example_script_runs_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "shallow_net.py"), "--quick",
                           "--out", str(tmp_path / "net")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "adam" in proc.stdout and "l-bfgs-b" in proc.stdout
    assert (tmp_path / "net" / "loss_curves.png").exists()


def test_every_example_has_a_script_and_a_demo(capsys):
    from diffopt.cli import DEMOS

    examples = {name: target.rpartition(".")[2] for name, target in DEMOS.items()
                if target.startswith("diffopt.examples.")}
    assert set(examples) == {"least_squares", "logistic_regression", "shallow_net", "rosenbrock",
                             "trebuchet", "enhance"}
    for name, module in examples.items():  # (the script is named after the demo or its module)
        scripts = [ROOT / "examples" / f"{n}.py" for n in (name, module)]
        script = next(path for path in scripts if path.exists())
        assert f'main(["demo", "{name}", *sys.argv[1:]])' in script.read_text()  # a thin script
    with pytest.raises(SystemExit) as exc:
        cli(["demo", "nope"])
    assert exc.value.code == 2 and "least_squares" in capsys.readouterr().err
