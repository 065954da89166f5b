"""``diffopt.compare`` (every derivative method side by side) and ``diffopt demo methods``."""

import importlib
import importlib.util
import json

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt.cli import main
from diffopt.compare import METHOD_NAMES, Comparison, compare
from diffopt.demo import METHOD_EXAMPLES, methods_table


def _symbolic_available() -> bool:
    try:
        symbolic = importlib.import_module("diffopt.symbolic")
    except ImportError:
        return False
    return all(hasattr(symbolic, n) for n in ("trace", "Symbol", "gradient", "lambdify"))


SYMBOLIC = _symbolic_available()
LIMITS = {  # largest error against the exact gradient
    "finite differences (forward)": 1e-5,
    "finite differences (central)": 1e-7,
    "complex step": 1e-13,
    "symbolic": 1e-13,
    "forward mode (jacfwd)": 1e-13,
    "reverse mode (grad)": 1e-13,
}
FAST = 1e-4  # timing budget per method in the tests


@pytest.mark.parametrize("ex", METHOD_EXAMPLES, ids=lambda ex: ex.title)
def test_every_method_on_the_classic_examples(ex):
    table = compare(ex.f, ex.at, exact=ex.exact, names=ex.names, budget=FAST)
    assert isinstance(table, Comparison)
    assert [r.method for r in table] == list(METHOD_NAMES)
    assert table.reference_label == "exact"
    for row in table:
        if row.method == "symbolic" and not SYMBOLIC:
            assert not row.ok and "not available" in row.status
            continue
        assert row.ok, row
        assert row.value.shape == (len(ex.at),)
        assert row.error < LIMITS[row.method], row
        assert row.seconds is not None and row.seconds > 0  # the time itself is for benchmarks
    # finite differences lose digits: forward differences visibly less exact than AD
    assert table.row("finite differences (forward)").error > 1e-10


@pytest.mark.skipif(not SYMBOLIC, reason="diffopt.symbolic not available")
def test_symbolic_row_prints_the_closed_form():
    ex = METHOD_EXAMPLES[0]  # x^2 y + y + 2
    table = compare(ex.f, ex.at, exact=ex.exact, names=ex.names, budget=FAST)
    form = table.row("symbolic").form
    assert form is not None
    lines = form.splitlines()
    assert len(lines) == 2 and lines[0].startswith("df/dx = ") and lines[1].startswith("df/dy = ")
    assert "x" in lines[0] and "y" in lines[0]
    assert "df/dx" in str(table)


def test_failures_become_rows_not_exceptions():
    # slices of the symbol list cannot be subtracted, abs of complex is real: two failed rows
    f = lambda v: dnp.abs(dnp.sum((v[1:] - v[:-1]) ** 2) - 10.0)
    x = np.array([1.0, -2.0, 0.5])
    table = compare(f, x, budget=FAST)
    assert [r.method for r in table] == list(METHOD_NAMES)
    for method in ("symbolic", "complex step"):
        row = table.row(method)
        assert not row.ok and row.value is None and row.error is None and row.seconds is None
        assert row.status
    assert "complex" in table.row("complex step").status  # says what went wrong
    text = str(table)
    assert text.count("FAILED") == 2
    # no exact gradient given: reverse mode is the reference, and the rest agree with it
    d = np.diff(x)
    exact = 2 * np.array([-d[0], d[0] - d[1], d[1]])  # sum(d^2) = 15.25 > 10: abs keeps the sign
    assert table.reference_label == "reverse mode (grad)"
    assert table.row("reverse mode (grad)").status == "reference"
    np.testing.assert_allclose(table.reference, exact, rtol=1e-14)
    assert table.row("forward mode (jacfwd)").error < 1e-13
    assert table.row("finite differences (central)").error < 1e-7


@pytest.mark.skipif(not SYMBOLIC, reason="diffopt.symbolic not available")
def test_python_branches_fail_only_the_symbolic_row():
    f = lambda v: v[0] ** 2 * v[1] if v[0] > 0 else -v[0]
    table = compare(f, [3.0, 4.0], exact=[24.0, 9.0], budget=FAST)
    sym = table.row("symbolic")
    assert not sym.ok and "where" in sym.status  # points to diffopt.numpy.where
    assert all(r.ok and r.error < LIMITS[r.method] for r in table if r.method != "symbolic")
    # slices of the vector: the row says how to write f for the symbolic method
    g = compare(lambda v: dnp.sum((v[1:] - v[:-1]) ** 2), [1.0, 2.0], budget=FAST,
                methods=["symbolic"])
    assert "entry by entry" in g.row("symbolic").status


def test_a_silently_wrong_complex_step_is_flagged():
    # abs inside, but the output stays complex: the complex step is wrong without any error
    f = lambda v: v[0] * v[1] + dnp.abs(v[0])
    table = compare(f, [-1.0, 2.0], exact=[1.0, -1.0], budget=FAST,
                    methods=["finite differences (central)", "complex step"])
    row = table.row("complex step")
    assert row.ok and row.error > 0.5
    assert row.status.startswith("suspect") and "analytic" in row.status
    assert "suspect" in str(table)
    # an analytic f is not flagged
    ok = compare(lambda v: dnp.sin(v[0]) * v[1], [1.0, 2.0], budget=FAST, methods=["complex step"])
    assert ok.row("complex step").status == "ok"


def test_a_function_no_method_can_differentiate_still_gives_a_table():
    def f(v):
        raise RuntimeError("broken f")

    table = compare(f, [1.0], budget=FAST)
    assert not any(r.ok for r in table)
    assert all("broken f" in r.status or "not available" in r.status for r in table)
    assert table.reference is None
    assert "FAILED" in str(table)


def test_methods_subset_and_scalar_x():
    table = compare(lambda v: dnp.sin(v[0] ** 2), 3.0, methods=["complex step"], budget=FAST)
    assert [r.method for r in table] == ["complex step"]
    # the reference (reverse mode) is computed even though it is not a row
    np.testing.assert_allclose(table.reference, [6 * np.cos(9.0)], rtol=1e-14)
    assert table.row("complex step").error < 1e-14
    with pytest.raises(KeyError, match="no row"):
        table.row("symbolic")


@pytest.mark.parametrize("kwargs, match", [
    ({"x": np.ones((2, 2))}, "vector"),
    ({"names": ["x", "1y"]}, "identifier"),
    ({"names": ["x"]}, "names has 1"),
    ({"exact": [1.0, 2.0, 3.0]}, "exact has shape"),
    ({"methods": ["magic"]}, "unknown methods"),
])
def test_bad_input_is_explained(kwargs, match):
    args = {"x": [1.0, 2.0], **kwargs}
    with pytest.raises(ValueError, match=match):
        compare(lambda v: v[0] * v[1], budget=FAST, **args)


def test_methods_table_covers_the_examples():
    tables = methods_table(budget=FAST)
    assert [t.title for t in tables] == [ex.title for ex in METHOD_EXAMPLES]


def test_demo_methods_prints_every_method_for_every_example(capsys):
    assert main(["demo", "methods", "--quick"]) == 0
    text = capsys.readouterr().out
    for ex in METHOD_EXAMPLES:
        assert ex.title in text
    for method in METHOD_NAMES:
        assert text.count(method) >= len(METHOD_EXAMPLES)
    assert "error" in text and "time/call" in text


def test_demo_methods_rejects_out():
    with pytest.raises(SystemExit):
        main(["demo", "methods", "--out", "somewhere"])


@pytest.mark.bench
def test_jit_benchmark_quick_smoke(tmp_path):
    """benchmarks/jit.py runs (eager and jit(numpy) only: Numba's compile would take ~10 s)."""
    pytest.importorskip("diffopt.compile.jit")
    from benchmark_scripts import load

    bench = load("jit")
    report = bench.main(["--quick", "--out", str(tmp_path), "--systems", "eager,jit numpy"])
    assert json.loads((tmp_path / "jit.json").read_text())["quick"] is True
    assert set(report["seconds_per_call"]) == set(bench.CASES)
    for case in bench.CASES:
        assert report["relative_difference_from_eager"][case]["jit numpy"] < 1e-12
        assert report["compile_seconds"]["jit numpy"][case]["first_call"] > 0
    assert report["targets"]["chain grad: jit(numba) <= 2 x jax.jit"]["met"] is None  # not run
