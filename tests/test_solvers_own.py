"""Our own minimisation solvers (gd, momentum, nesterov, adam, newton-cg, newton) through
``diffopt.optimize``: known minima, counters, history, pytrees, callbacks, NaN handling."""

import re

import numpy as np
import pytest
import scipy.optimize

import diffopt.numpy as dnp
from diffopt import optimize, solvers
from diffopt.solvers.newton import shifted_cholesky, truncated_cg

OURS = ["gd", "momentum", "nesterov", "adam", "newton-cg", "newton"]
NEWTON_TYPE = ["newton-cg", "newton"]
FIXED_STEP = {"gd": {"lr": 0.1}, "momentum": {"lr": 0.1}, "nesterov": {"lr": 0.1},
              "adam": {"lr": 0.1}}


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_start(n):
    # the classic start for n = 2; zeros for n = 100 (from the alternating (-1.2, 1) start the
    # chained Rosenbrock function has a local minimum near x[0] = -1 that Newton may find)
    return np.array([-1.2, 1.0]) if n == 2 else np.zeros(n)


# (options, maxiter, tol, bound on max |x - 1|) per method and n. First-order methods stop at
# ‖g‖∞ <= 1e-3 to keep the test fast; the smallest Hessian eigenvalue at the minimum is ~0.4-0.5,
# so that means |x - 1| of a few 1e-3.
ROSEN = {
    ("gd", 2): ({}, 20000, 1e-3, 1e-2),
    ("gd", 100): ({}, 40000, 1e-3, 1e-2),
    ("momentum", 2): ({"lr": 2e-3}, 5000, 1e-3, 1e-2),
    ("momentum", 100): ({"lr": 2e-3}, 5000, 1e-3, 1e-2),
    ("nesterov", 2): ({"lr": 7e-4, "momentum": 0.9}, 10000, 1e-3, 1e-2),
    ("nesterov", 100): ({"lr": 7e-4}, 10000, 1e-3, 1e-2),
    ("adam", 2): ({"lr": 3e-2}, 10000, 1e-3, 1e-2),
    ("adam", 100): ({"lr": 3e-3, "beta1": 0.9, "beta2": 0.999}, 10000, 1e-3, 1e-2),
    ("newton-cg", 2): ({}, None, None, 1e-3),
    ("newton-cg", 100): ({}, None, None, 1e-3),
    ("newton", 2): ({}, None, None, 1e-3),
    ("newton", 100): ({}, None, None, 1e-3),
}


@pytest.mark.parametrize("method, n", sorted(ROSEN))
def test_rosenbrock(method, n):
    options, maxiter, tol, bound = ROSEN[method, n]
    res = optimize(rosen, rosen_start(n), method=method, options=options, maxiter=maxiter,
                   tol=tol)
    assert res.success, res.message
    assert res.status == 0
    assert np.max(np.abs(res.x - 1.0)) < bound
    assert np.max(np.abs(res.jac)) <= (1e-6 if tol is None else tol)
    assert len(res.history["f"]) == res.nit + 1  # x0 is iteration 0
    assert res.history["f"][-1] < res.history["f"][0]


@pytest.mark.parametrize("method", NEWTON_TYPE)
@pytest.mark.parametrize("n", [2, 100])
def test_newton_wolfe_line_search(method, n):
    res = optimize(rosen, rosen_start(n), method=method, options={"line_search": "wolfe"})
    assert res.success, res.message
    assert np.max(np.abs(res.x - 1.0)) < 1e-4


# --- a convex quadratic --------------------------------------------------------------------------
def _quadratic(n=10, seed=0, cond=10.0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.geomspace(1.0, cond, n)) @ q.T  # eigenvalues 1 .. cond
    b = rng.standard_normal(n)
    return a, b, np.linalg.solve(a, b)


QUADRATIC_OPTIONS = {"gd": {}, "momentum": {"lr": 0.05}, "nesterov": {"lr": 0.05},
                     "adam": {"lr": 0.05}, "newton-cg": {}, "newton": {}}


@pytest.mark.parametrize("method", OURS)
def test_convex_quadratic(method):
    a, b, x_star = _quadratic()
    res = optimize(lambda x: 0.5 * x @ (a @ x) - b @ x, np.zeros(len(b)), method=method,
                   options=QUADRATIC_OPTIONS[method], maxiter=5000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, x_star, atol=1e-5)
    assert len(res.history["f"]) == len(res.history["grad_norm"]) == res.nit + 1
    if method in NEWTON_TYPE:
        assert res.nhev > 0
        assert res.nit <= 12  # the quadratic model is exact: a handful of Newton steps
    else:
        assert res.nhev == 0


def test_exact_newton_solves_a_quadratic_in_one_step():
    a, b, x_star = _quadratic()
    res = optimize(lambda x: 0.5 * x @ (a @ x) - b @ x, np.zeros(len(b)), method="newton")
    assert res.nit == 1  # one step, then convergence is seen at the new point
    assert res.nhev == 1
    np.testing.assert_allclose(res.x, x_star, atol=1e-10)


def test_newton_cg_on_a_quadratic_takes_few_iterations_and_hvps():
    a, b, x_star = _quadratic(n=40, seed=1, cond=100.0)
    f = lambda x: 0.5 * x @ (a @ x) - b @ x
    res = optimize(f, np.zeros(len(b)), method="newton-cg")
    gd = optimize(f, np.zeros(len(b)), method="gd")
    assert res.success, res.message
    assert res.nit <= 15 and 10 * res.nit < gd.nit
    assert 0 < res.nhev <= 3 * 40
    np.testing.assert_allclose(res.x, x_star, atol=1e-6)
    # the same forcing term and CG as scipy's newton-cg: on a quadratic (unit steps accepted)
    # the iterates agree until scipy stops (on its step-size test, earlier than our ‖g‖∞ test)
    seen = [f(np.zeros(len(b)))]
    ref = scipy.optimize.minimize(f, np.zeros(len(b)), jac=lambda x: a @ x - b,
                                  hessp=lambda x, p: a @ p, method="newton-cg",
                                  callback=lambda xk: seen.append(f(xk)))
    assert ref.nit >= 5
    np.testing.assert_allclose(res.history["f"][:len(seen)], seen, rtol=1e-10)


# --- least squares ½‖y − Ax‖² against lstsq ------------------------------------------------------
LSQ_OPTIONS = {"gd": {}, "momentum": {"lr": 5e-3}, "nesterov": {"lr": 5e-3},
               "adam": {"lr": 5e-2}, "newton-cg": {}, "newton": {}}


@pytest.mark.parametrize("method", OURS)
def test_least_squares_against_lstsq(method):
    rng = np.random.default_rng(3)
    a, y = rng.standard_normal((50, 10)), rng.standard_normal(50)
    x_star = np.linalg.lstsq(a, y, rcond=None)[0]
    res = optimize(lambda x: 0.5 * dnp.sum((y - a @ x) ** 2), np.zeros(10), method=method,
                   options=LSQ_OPTIONS[method], maxiter=5000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, x_star, atol=1e-6)
    np.testing.assert_allclose(res.fun, 0.5 * np.sum((y - a @ x_star) ** 2), rtol=1e-10)


# --- counters, pytrees, callbacks ----------------------------------------------------------------
@pytest.mark.parametrize("method", OURS)
def test_counters_and_history(method):
    res = optimize(rosen, np.array([-1.2, 1.0]), method=method,
                   options={"lr": 1e-3} if method in FIXED_STEP else {}, maxiter=30)
    assert res.nit + 1 == len(res.history["f"]) == len(res.history["step"]) \
        == len(res.history["time"]) <= 31
    assert res.nfev >= res.nit and res.njev >= res.nit
    assert (res.nhev > 0) == (method in NEWTON_TYPE)
    np.testing.assert_allclose(res.history["f"][0], 24.2)
    if res.status == 1:
        assert "maximum number of iterations" in res.message


def test_newton_cg_pytree_x0():
    target = {"w": np.arange(6.0).reshape(2, 3), "b": np.array([1.0, -2.0, 0.5])}

    def f(p):
        r = p["w"] @ p["b"] - target["w"] @ target["b"]
        return dnp.sum((p["w"] - target["w"]) ** 2) + dnp.sum((p["b"] - target["b"]) ** 2) \
            + dnp.sum(r ** 2)

    x0 = {"w": np.zeros((2, 3)), "b": np.ones(3)}
    res = optimize(f, x0, method="newton-cg")
    assert res.success, res.message
    assert set(res.x) == {"w", "b"} and res.x["w"].shape == (2, 3) and res.x["b"].shape == (3,)
    np.testing.assert_allclose(res.x["w"], target["w"], atol=1e-7)
    np.testing.assert_allclose(res.x["b"], target["b"], atol=1e-7)
    assert res.jac["w"].shape == (2, 3)


@pytest.mark.parametrize("method", OURS)
@pytest.mark.parametrize("how", ["return", "raise"])
def test_callback_stops_the_run(method, how):
    seen = []

    def callback(intermediate):
        seen.append(intermediate.fun)
        if intermediate.nit >= 3:
            if how == "raise":
                raise StopIteration
            return True
        return False

    res = optimize(rosen, np.array([-1.2, 1.0]), method=method, callback=callback,
                   options={"lr": 1e-4} if method in FIXED_STEP else {})
    assert res.nit == 3 == len(seen) == len(res.history["f"]) - 1
    assert not res.success and res.status == 99 and "callback" in res.message
    np.testing.assert_allclose(seen, res.history["f"][1:])  # no callback at x0


# --- NaN handling --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(FIXED_STEP))
def test_fixed_steps_into_a_nan_region(method):
    # minimising Σ log x with fixed steps overshoots below zero, where log is NaN
    res = optimize(lambda x: dnp.sum(dnp.log(x)), np.array([1.0, 2.0]), method=method,
                   options=FIXED_STEP[method], maxiter=1000)
    assert not res.success and res.status == 98
    match = re.search(r"non-finite .* at iteration (\d+)", res.message)
    assert match and int(match.group(1)) == res.nit + 1  # the first non-finite iterate
    assert np.all(np.isfinite(res.x)) and np.all(res.x > 0)
    np.testing.assert_allclose(res.fun, res.history["f"][-1])


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
@pytest.mark.parametrize("method", OURS)
def test_nan_objective_at_the_start(method):
    res = optimize(lambda x: dnp.sum(dnp.log(x - 2.0)), np.array([1.0, 1.5]), method=method)
    assert not res.success and res.status == 98
    assert "iteration 0" in res.message and res.nit == 0
    np.testing.assert_array_equal(res.x, [1.0, 1.5])


@pytest.mark.parametrize("method", ["gd"] + NEWTON_TYPE)
def test_line_searches_back_out_of_nan_regions(method):
    # Newton steps on Σ (x - log x) from x = 3 land below zero; the search shrinks them instead
    res = optimize(lambda x: dnp.sum(x - dnp.log(x)), np.array([3.0, 0.2]), method=method)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


# --- pieces: update rules and linear algebra ----------------------------------------------------
@pytest.mark.parametrize("method", ["momentum", "nesterov"])
def test_zero_momentum_is_gradient_descent(method):
    gd = optimize(rosen, np.array([-1.2, 1.0]), method="gd", options={"lr": 1e-3}, maxiter=50)
    mom = optimize(rosen, np.array([-1.2, 1.0]), method=method,
                   options={"lr": 1e-3, "momentum": 0.0}, maxiter=50)
    np.testing.assert_allclose(mom.history["f"], gd.history["f"], rtol=1e-13)
    np.testing.assert_allclose(mom.x, gd.x, rtol=1e-13)


def test_momentum_and_nesterov_differ_and_beat_plain_descent():
    runs = {m: optimize(rosen, np.array([-1.2, 1.0]), method=m, options={"lr": 1e-3},
                        maxiter=300) for m in ("gd", "momentum", "nesterov")}
    assert runs["momentum"].fun < runs["gd"].fun and runs["nesterov"].fun < runs["gd"].fun
    assert not np.allclose(runs["momentum"].history["f"], runs["nesterov"].history["f"])


def test_adam_first_step_is_lr_times_sign():
    xs = []
    x0 = np.array([-1.2, 1.0, 0.3])
    optimize(rosen, x0, method="adam", options={"lr": 0.01}, maxiter=2,
             callback=lambda r: xs.append(np.array(r.x)))
    g = scipy.optimize.rosen_der(x0)
    np.testing.assert_allclose(xs[0] - x0, -0.01 * np.sign(g), rtol=1e-5)  # xs[0]: iteration 1


def test_truncated_cg_directions():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 8))
    spd = a @ a.T + 8 * np.eye(8)
    g = rng.standard_normal(8)
    p, steps = truncated_cg(lambda v: spd @ v, g, 100)
    # the forcing term: ‖r‖₁ <= min(0.5, √‖g‖₁)·‖g‖₁
    gn = np.sum(np.abs(g))
    assert np.sum(np.abs(spd @ p + g)) <= min(0.5, np.sqrt(gn)) * gn and 1 <= steps <= 8
    # negative curvature on the first step: steepest descent scaled by the curvature
    neg = -np.eye(8)
    p, steps = truncated_cg(lambda v: neg @ v, g, 100)
    assert steps == 1 and g @ p < 0
    np.testing.assert_allclose(p, -g)
    # a non-finite product is reported
    p, _ = truncated_cg(lambda v: np.full_like(v, np.nan), g, 100)
    assert p is None


def test_shifted_cholesky_makes_indefinite_hessians_definite():
    h = np.diag([4.0, -2.0, 1e-9])
    (c, lower), tau = shifted_cholesky(h)
    assert tau > 2.0
    np.testing.assert_allclose(np.triu(c).T @ np.triu(c) if not lower else c @ c.T,
                               h + tau * np.eye(3), atol=1e-12)
    _, tau = shifted_cholesky(np.diag([1.0, 3.0]))
    assert tau == 0.0


def test_newton_escapes_a_saddle():
    # f = x² − y² + y⁴/4 has a saddle at 0 and minima at y = ±√2; the shift turns the
    # indefinite Newton step into descent
    res = optimize(lambda v: v[0] ** 2 - v[1] ** 2 + v[1] ** 4 / 4, np.array([0.5, 1e-3]),
                   method="newton")
    assert res.success, res.message
    np.testing.assert_allclose(np.abs(res.x), [0.0, np.sqrt(2.0)], atol=1e-6)


@pytest.mark.parametrize("method, options, match", [
    ("momentum", {"lr": -1.0}, "lr must be a positive"),
    ("nesterov", {"momentum": 1.0}, r"momentum must lie in \[0, 1\)"),
    ("adam", {"beta2": 1.5}, r"beta2 must lie in \[0, 1\)"),
    ("adam", {"eps": 0.0}, "eps must be a positive number"),
    ("gd", {"lr": 0.0}, "lr must be a positive"),
    ("newton-cg", {"line_search": "exact"}, "line_search must be one of"),
    ("newton", {"line_search": "exact"}, "line_search must be one of"),
    ("newton-cg", {"cg_maxiter": 0}, "cg_maxiter must be a positive integer"),
])
def test_bad_options(method, options, match):
    with pytest.raises(ValueError, match=match):
        optimize(rosen, np.zeros(2), method=method, options=options)


class _NanCurvature:
    """f = ½‖x‖² with a Hessian that is NaN: the Newton solvers must stop and say so."""

    def value_and_grad(self, x):
        return 0.5 * float(x @ x), x.copy()

    def fun(self, x):
        return 0.5 * float(x @ x)

    def hessp(self, x, p):
        return np.full_like(p, np.nan)

    def hess(self, x):
        return np.full((x.size, x.size), np.nan)


@pytest.mark.parametrize("method, what", [("newton-cg", "Hessian-vector product"),
                                          ("newton", "Hessian")])
def test_non_finite_hessian_ends_the_run(method, what):
    info = solvers.get(method)
    monitor = solvers.Monitor()
    out = info.fn(_NanCurvature(), np.ones(3), monitor, maxiter=10, tol=None)
    assert not out.success and out.status == 98
    assert out.message.startswith(f"the {what} became non-finite at iteration 0")
    np.testing.assert_array_equal(out.x, np.ones(3))
    assert monitor.nit == 0  # only x0 was reached
