"""The optimize() front door: results, pytrees, callbacks, progress, bad input, registration."""

import numpy as np
import pytest
import scipy.optimize

import diffopt
import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.optimize import AUTO_SMALL, Objective, OptimizeResult, _choose, optimize


def quadratic(x):
    return dnp.sum((x - 3.0) ** 2)


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_result_has_scipy_fields_and_history():
    res = optimize(quadratic, np.zeros(3), "gd", options={"lr": 0.25})
    assert isinstance(res, OptimizeResult) and isinstance(res, scipy.optimize.OptimizeResult)
    for field in ("x", "fun", "jac", "success", "status", "message", "nit", "nfev", "njev",
                  "nhev", "history"):
        assert field in res, field
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.x, 3.0, atol=1e-6)
    assert res.fun < 1e-10 and np.max(np.abs(res.jac)) <= 1e-6
    h = res.history
    assert set(h) == {"f", "grad_norm", "step", "time"}
    assert all(len(v) == res.nit + 1 for v in h.values())  # x0 is iteration 0
    assert np.all(np.diff(h["f"]) <= 0) and np.all(np.diff(h["time"]) >= 0)
    assert res.nfev >= res.nit and res.njev >= res.nit and res.nhev == 0


def test_pytree_x0_round_trips():
    target = {"w": np.arange(6.0).reshape(2, 3), "b": (np.array([1.0, -1.0]), np.float64(0.5))}

    def loss(p):
        return (dnp.sum((p["w"] - target["w"]) ** 2) + dnp.sum((p["b"][0] - target["b"][0]) ** 2)
                + (p["b"][1] - target["b"][1]) ** 2)

    x0 = {"w": np.zeros((2, 3)), "b": (np.zeros(2), np.float64(0.0))}
    res = optimize(loss, x0, "gd")
    assert diffopt.tree_structure(res.x) == diffopt.tree_structure(x0)
    np.testing.assert_allclose(res.x["w"], target["w"], atol=1e-6)
    np.testing.assert_allclose(res.x["b"][0], target["b"][0], atol=1e-6)
    np.testing.assert_allclose(res.x["b"][1], 0.5, atol=1e-6)
    assert res.x["w"].shape == (2, 3)
    assert diffopt.tree_structure(res.jac) == diffopt.tree_structure(x0)


def test_args_are_passed_to_the_objective():
    c = np.array([1.0, 2.0])
    res = optimize(lambda x, c: dnp.sum((x - c) ** 2), np.zeros(2), "gd", args=(c,))
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-6)


@pytest.mark.parametrize("how", ["return True", "raise StopIteration"])
def test_callback_stops_early(how):
    seen = []

    def callback(intermediate):
        seen.append(intermediate)
        if intermediate.nit >= 5:
            if how == "return True":
                return True
            raise StopIteration

    res = optimize(rosen, np.zeros(2), "gd", maxiter=1000, callback=callback)
    assert res.nit == 5 and len(seen) == 5
    assert not res.success and "callback" in res.message
    assert isinstance(seen[-1], OptimizeResult) and {"x", "fun", "jac", "nit"} <= set(seen[-1])
    np.testing.assert_allclose(res.x, seen[-1].x)


def test_progress_bar_shows_f_and_gradient_norm(capsys):
    optimize(quadratic, np.zeros(2), "gd", progress=True)
    err = capsys.readouterr().err
    assert "optimize" in err and "f=" in err and "grad=" in err


def test_nan_ends_the_run_keeping_the_last_finite_iterate():
    # log(x) is fine until a fixed step overshoots below zero
    f = lambda x: dnp.sum((x - 1.0) ** 2) - dnp.sum(dnp.log(x))
    res = optimize(f, np.array([2.0]), "gd", options={"lr": 2.0})
    assert not res.success
    assert "non-finite" in res.message and "iteration" in res.message
    assert np.all(np.isfinite(res.x)) and res.x[0] > 0
    assert len(res.history["f"]) == res.nit + 1


def test_nan_at_the_start():
    res = optimize(lambda x: dnp.sum(dnp.sqrt(x)), np.array([-1.0, 1.0]), "gd")
    assert not res.success and "iteration 0" in res.message
    np.testing.assert_array_equal(res.x, [-1.0, 1.0])


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown method 'sgd-magic'.*gd"):
        optimize(quadratic, np.zeros(2), "sgd-magic")


def test_bounds_with_a_method_that_cannot_take_them():
    with pytest.raises(ValueError, match="does not take bounds; methods that do"):
        optimize(quadratic, np.zeros(2), "gd", bounds=(0.0, 1.0))


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(TypeError, match="no option 'learning_rate'.*lr"):
        optimize(quadratic, np.zeros(2), "gd", options={"learning_rate": 0.1})


def test_integer_x0_is_cast_with_a_warning():
    with pytest.warns(UserWarning, match="int64.*float64"):
        res = optimize(quadratic, np.zeros(2, dtype=np.int64), "gd")
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, 3.0, atol=1e-6)


def test_non_scalar_and_complex_objectives_are_refused():
    with pytest.raises(ValueError, match=r"real scalar.*shape \(2,\).*least_squares"):
        optimize(lambda x: x**2, np.zeros(2), "gd")
    with pytest.raises(TypeError, match="complex"):
        optimize(quadratic, np.zeros(2, dtype=complex), "gd")


def test_auto_rule():
    assert _choose("auto", 2, None) == "trust-exact"
    assert _choose("auto", AUTO_SMALL, None) == "trust-exact"
    assert _choose("auto", AUTO_SMALL + 1, None) == "l-bfgs-b"
    assert _choose("auto", 2, (0.0, 1.0)) == "l-bfgs-b"
    assert _choose("gd", 10**6, None) == "gd"


def test_a_registered_solver_gets_the_same_result_history_and_progress(capsys, monkeypatch):
    # registered for this test only: solvers that loop over available() must not see it later
    monkeypatch.setattr(solvers.registry, "_REGISTRY", dict(solvers.registry._REGISTRY))

    @solvers.register("test-halving")
    def halving(problem, x0, monitor, *, maxiter, tol, factor=0.5):
        """Moves halfway to the minimiser of a known quadratic (for this test only)."""
        x = x0
        for _ in range(maxiter):
            f, g = problem.value_and_grad(x)
            monitor.iteration(x, f, g)
            if np.max(np.abs(g)) <= (tol or 1e-8):
                return solvers.Outcome(x, True, "converged")
            x = x - factor * g / 2
        return solvers.Outcome(x, False, "maxiter", 1)

    assert "test-halving" in solvers.available()
    res = optimize(quadratic, np.zeros(2), "test-halving", progress=True,
                   callback=lambda r: None, options={"factor": 0.5})
    assert isinstance(res, OptimizeResult) and res.success and res.method == "test-halving"
    assert len(res.history["f"]) == res.nit + 1 > 5
    assert "optimize" in capsys.readouterr().err
    with pytest.raises(ValueError, match="already registered"):
        solvers.register("test-halving")(lambda *a, **k: None)


def test_objective_adapter_feeds_scipy_and_memoises():
    x0 = np.array([-1.2, 1.0, 0.5])
    obj = diffopt.objective(rosen, x0)
    assert isinstance(obj, Objective)
    np.testing.assert_allclose(obj.fun(x0), scipy.optimize.rosen(x0))
    np.testing.assert_allclose(obj.jac(x0), scipy.optimize.rosen_der(x0))
    np.testing.assert_allclose(obj.hess(x0), scipy.optimize.rosen_hess(x0))
    p = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(obj.hessp(x0, p), scipy.optimize.rosen_hess_prod(x0, p))
    before = obj.nfev
    obj.value_and_grad(x0)
    obj.fun(x0)
    obj.jac(x0.copy())
    assert obj.nfev == before  # all three served by the memo at x0
    res = scipy.optimize.minimize(obj.fun, obj.x0, jac=obj.jac, hessp=obj.hessp, method="trust-ncg")
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                                  hessp=scipy.optimize.rosen_hess_prod, method="trust-ncg")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)
    assert res.nit == ref.nit


def test_plot_writes_a_png(tmp_path):
    res = optimize(rosen, np.zeros(2), "gd", maxiter=50)
    path = tmp_path / "convergence.png"
    fig = res.plot(path)
    assert path.exists() and path.stat().st_size > 1000
    assert len(fig.axes) == 2
