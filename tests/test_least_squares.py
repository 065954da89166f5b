"""Least squares: Gauss-Newton and Levenberg-Marquardt (ours, dense and matrix-free) and scipy's
trf / lm fed the AD Jacobian, through ``diffopt.least_squares``."""

import numpy as np
import pytest
import scipy.optimize

import diffopt
import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.optimize import Residuals
from diffopt.solvers.least_squares import (
    DENSE_LIMIT,
    cgls,
    singular_coordinates,
    tolerances,
    use_dense,
)

METHODS = ["gauss-newton", "lm", "trf", "scipy-lm"]
OURS = ["gauss-newton", "lm"]
# (method, options): every method on its default path, and ours / trf forced onto the other one
PATHS = [(m, {}) for m in METHODS] + [(m, {"dense": False}) for m in ["gauss-newton", "lm", "trf"]]
PATH_IDS = [m + ("-matrix-free" if o else "") for m, o in PATHS]


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(500, 100))
    y = rng.normal(size=500)
    return A, y, np.linalg.lstsq(A, y, rcond=None)[0]


@pytest.fixture(scope="module")
def small_linear():
    rng = np.random.default_rng(5)
    return rng.normal(size=(80, 12)), rng.normal(size=80)


def rosen_residuals(x):
    return dnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


# exponential fit y = a exp(b t) + c + noise
T = np.linspace(0.0, 4.0, 200)
TRUE = np.array([2.5, -1.3, 0.5])
SIGMA = 0.02
NOISE = SIGMA * np.random.default_rng(1).normal(size=T.size)
Y_EXP = TRUE[0] * np.exp(TRUE[1] * T) + TRUE[2] + NOISE


def exp_residuals(p):
    return p[0] * dnp.exp(p[1] * T) + p[2] - Y_EXP


def exp_jac(p):
    e = np.exp(p[1] * T)
    return np.stack([e, p[0] * T * e, np.ones_like(T)], axis=1)


def test_registered_with_kind_least_squares():
    assert set(METHODS) <= set(solvers.available("least_squares"))
    assert solvers.with_bounds("least_squares") == ["trf"]


# --- (1) the linear problem against lstsq ---------------------------------------------------------
@pytest.mark.parametrize("method,options", PATHS, ids=PATH_IDS)
def test_linear_problem_matches_lstsq(linear, method, options):
    A, y, ref = linear
    res = diffopt.least_squares(lambda x: y - A @ x, np.zeros(100), method, options=options)
    assert res.success and res.status == 0, res.message
    # scipy's lsmr (trf matrix-free) stops at its own 1e-6 tolerances; the rest solve to roundoff
    atol = 1e-5 if (method == "trf" and options) else 1e-8
    np.testing.assert_allclose(res.x, ref, atol=atol)
    np.testing.assert_allclose(res.cost, 0.5 * np.sum((y - A @ ref) ** 2), rtol=1e-9)


# --- (2) a noisy exponential fit ------------------------------------------------------------------
@pytest.fixture(scope="module")
def exp_fit_reference():
    ref = scipy.optimize.least_squares(lambda p: exp_residuals(p), np.array([1.0, -0.5, 0.0]),
                                       jac=exp_jac, xtol=1e-12, ftol=1e-12, gtol=1e-12)
    J = exp_jac(ref.x)
    s2 = 2.0 * ref.cost / (T.size - 3)
    return ref.x, np.sqrt(np.diag(s2 * np.linalg.inv(J.T @ J)))


@pytest.mark.parametrize("method,options", PATHS, ids=PATH_IDS)
def test_noisy_exponential_fit_recovers_the_parameters(exp_fit_reference, method, options):
    best, se = exp_fit_reference
    res = diffopt.least_squares(exp_residuals, np.array([1.0, -0.5, 0.0]), method, options=options)
    assert res.success, res.message
    # the least-squares estimate, to well within its statistical error ...
    np.testing.assert_allclose(res.x, best, atol=1e-3 * se.min())
    # ... and the true parameters within a few standard errors (the noise allows no more)
    assert np.all(np.abs(res.x - TRUE) < 5.0 * se), (res.x, TRUE, se)
    assert np.all(se < 0.05)  # the data pin the parameters down
    np.testing.assert_allclose(np.sqrt(2 * res.cost / T.size), SIGMA, rtol=0.2)


# --- (3) Rosenbrock as residuals ------------------------------------------------------------------
@pytest.mark.parametrize("method,options", PATHS, ids=PATH_IDS)
def test_rosenbrock_residuals_reach_the_minimum(method, options):
    res = diffopt.least_squares(rosen_residuals, np.array([-1.2, 1.0]), method, options=options)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    assert res.cost < 1e-12


# --- (4) pytree parameters ------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_pytree_parameters_round_trip(method):
    def residuals(p):
        return p["amp"] * dnp.exp(p["rate"][0] * T) + p["offset"] - Y_EXP

    x0 = {"amp": np.array(1.0), "rate": np.array([-0.5]), "offset": np.float64(0.0)}
    res = diffopt.least_squares(residuals, x0, method)
    assert res.success
    assert diffopt.tree_structure(res.x) == diffopt.tree_structure(x0)
    assert np.shape(res.x["amp"]) == () and np.shape(res.x["rate"]) == (1,)
    flat = np.array([res.x["amp"], res.x["rate"][0], res.x["offset"]], dtype=float)
    ref = diffopt.least_squares(exp_residuals, np.array([1.0, -0.5, 0.0]), method)
    np.testing.assert_allclose(flat, ref.x, rtol=1e-6)
    assert res.fun.shape == (T.size,) and res.grad.shape == (3,)


# --- (5) the matrix-free path ---------------------------------------------------------------------
@pytest.fixture
def no_dense_jacobian(monkeypatch):
    calls = []

    def forbidden(self, x):
        calls.append(x)
        raise AssertionError("the dense Jacobian was built on the matrix-free path")

    monkeypatch.setattr(Residuals, "jac", forbidden)
    return calls


@pytest.mark.parametrize("method", ["gauss-newton", "lm", "trf"])
def test_big_problem_is_matrix_free(no_dense_jacobian, method):
    rng = np.random.default_rng(2)
    m, n = 1200, 100  # n·m > DENSE_LIMIT: matrix-free by default
    assert n * m > DENSE_LIMIT and not use_dense(None, n, m)
    A = rng.normal(size=(m, n))
    y = rng.normal(size=m)
    res = diffopt.least_squares(lambda x: dnp.tanh(0.1 * (A @ x)) - 0.1 * y, np.zeros(n), method)
    assert res.success, res.message
    assert not no_dense_jacobian
    assert res.njev > 2 * res.nit  # Jacobian products, several per iteration
    assert res.optimality < (1e-4 if method == "trf" else 1e-8)  # trf: scipy's lsmr tolerances


@pytest.mark.parametrize("method", ["gauss-newton", "lm", "trf"])
def test_dense_false_never_builds_the_jacobian(no_dense_jacobian, method):
    res = diffopt.least_squares(exp_residuals, np.array([1.0, -0.5, 0.0]), method,
                                options={"dense": False})
    assert res.success and not no_dense_jacobian


def test_dense_true_builds_the_jacobian_once_per_iteration(monkeypatch):
    calls = []
    original = Residuals.jac
    monkeypatch.setattr(Residuals, "jac", lambda self, x: calls.append(1) or original(self, x))
    res = diffopt.least_squares(exp_residuals, np.array([1.0, -0.5, 0.0]), "lm",
                                options={"dense": True})
    assert res.success and len(calls) == res.nit + 1  # at x0 and after each step


def test_cgls_solves_the_damped_normal_equations():
    rng = np.random.default_rng(3)
    J = rng.normal(size=(30, 8))
    r = rng.normal(size=30)
    for mu in (0.0, 0.5):
        h, jh = cgls(lambda v: J @ v, lambda u: J.T @ u, r, J.T @ r, mu, 1e-13, 50)
        np.testing.assert_allclose(h, -np.linalg.solve(J.T @ J + mu * np.eye(8), J.T @ r),
                                   atol=1e-10)
        np.testing.assert_allclose(jh, J @ h, atol=1e-10)


def test_scale_needs_the_dense_path():
    with pytest.raises(ValueError, match="dense=True"):
        diffopt.least_squares(exp_residuals, np.zeros(3), "lm",
                              options={"dense": False, "scale": True})
    res = diffopt.least_squares(exp_residuals, np.array([1.0, -0.5, 0.0]), "lm",
                                options={"scale": False})
    assert res.success


# --- (6) result fields, bounds, tolerances, stopping ----------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_result_fields(small_linear, method):
    A, y = small_linear
    res = diffopt.least_squares(lambda x: y - A @ x, np.zeros(12), method)
    r = y - A @ res.x
    np.testing.assert_allclose(res.fun, r, atol=1e-12)
    np.testing.assert_allclose(res.cost, 0.5 * r @ r)
    np.testing.assert_allclose(res.grad, -A.T @ r, atol=1e-9)
    assert res.optimality == pytest.approx(np.max(np.abs(res.grad)))
    assert res.method == method and res.nit >= 1
    assert isinstance(res.nfev, int) and res.nfev >= res.nit and res.njev >= res.nit
    h = res.history
    assert all(len(v) == res.nit + 1 for v in h.values())  # x0 is iteration 0
    assert np.all(np.diff(h["f"]) <= 0)  # every method only accepts decreasing steps
    np.testing.assert_allclose(h["f"][0], 0.5 * y @ y)
    if method in OURS:  # ours record the final iterate
        np.testing.assert_allclose(h["f"][-1], res.cost)


def test_trf_takes_bounds(small_linear):
    A, y = small_linear
    lo = np.full(12, -0.02)
    res = diffopt.least_squares(lambda x: y - A @ x, np.zeros(12), "trf", bounds=(lo, 0.05))
    ref = scipy.optimize.lsq_linear(A, y, bounds=(lo, 0.05), tol=1e-12)
    assert res.success
    assert np.all(res.x >= lo) and np.all(res.x <= 0.05)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert np.any(res.active_mask != 0)
    assert np.any((res.x > -0.02) & (res.x < 0.05))  # not every bound is active
    # matrix-free, with scipy's LinearOperator path
    free = diffopt.least_squares(lambda x: y - A @ x, np.zeros(12), "trf", bounds=(lo, 0.05),
                                 options={"dense": False})
    np.testing.assert_allclose(free.x, ref.x, atol=1e-4)


def test_trf_refuses_x0_outside_the_bounds():
    with pytest.raises(ValueError, match="outside the bounds at flat index 1"):
        diffopt.least_squares(rosen_residuals, np.array([0.5, 3.0]), "trf", bounds=(0.0, 2.0))


@pytest.mark.parametrize("method", ["lm", "gauss-newton", "scipy-lm"])
def test_bounds_with_other_methods_name_trf(method):
    with pytest.raises(ValueError, match="does not take bounds; methods that do: trf"):
        diffopt.least_squares(rosen_residuals, np.zeros(2), method, bounds=(0.0, 2.0))


@pytest.mark.parametrize("method", ["trf", "scipy-lm"])
def test_scipy_methods_take_scipys_iterations(method):
    x0 = np.array([1.0, -0.5, 0.0])
    res = diffopt.least_squares(exp_residuals, x0, method)
    ref = scipy.optimize.least_squares(exp_residuals, x0, jac=exp_jac,
                                       method="lm" if method == "scipy-lm" else "trf")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)
    # one recorded iterate per Jacobian, x0 being iteration 0; after MINPACK returns, scipy
    # evaluates one more Jacobian at the solution, so scipy-lm's count is one higher than trf's
    assert res.nit == ref.njev - (method == "trf")
    np.testing.assert_allclose(res.history["f"][-1], ref.cost, rtol=1e-9)
    assert res.message == ref.message


def test_tolerances():
    assert tolerances(None) == (1e-8, 1e-8, 1e-8)
    assert tolerances(1e-3, gtol=1e-5) == (1e-3, 1e-3, 1e-5)
    assert use_dense(None, 10, 100) and not use_dense(None, 1000, 1000)
    assert use_dense(True, 1000, 1000) and not use_dense(False, 1, 1)
    # a loose tol stops earlier
    loose = diffopt.least_squares(rosen_residuals, np.array([-1.2, 1.0]), "lm", tol=1e-2)
    tight = diffopt.least_squares(rosen_residuals, np.array([-1.2, 1.0]), "lm")
    assert loose.success and loose.nit < tight.nit


@pytest.mark.parametrize("method", METHODS)
def test_maxiter_and_callback_stop(method):
    res = diffopt.least_squares(rosen_residuals, np.array([-1.2, 1.0]), method, maxiter=3)
    assert not res.success and res.status == 1 and "maximum" in res.message
    assert res.nit == 3
    res = diffopt.least_squares(rosen_residuals, np.array([-1.2, 1.0]), method,
                                callback=lambda r: r.nit >= 2)
    assert not res.success and "callback" in res.message and res.nit == 2


@pytest.mark.parametrize("method,options", PATHS, ids=PATH_IDS)
def test_a_trial_step_into_nan_is_rejected(method, options):
    # the first full (Gauss-)Newton step from x = 10 lands at x < 0, where log is NaN
    res = diffopt.least_squares(lambda x: dnp.log(x) - np.log(2.0), np.array([10.0]), method,
                                options=options)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [2.0], rtol=1e-8)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the summary's
def test_nan_at_the_start(method):
    res = diffopt.least_squares(lambda x: dnp.sqrt(x) - 1.0, np.array([-1.0, 1.0]), method)
    assert not res.success and "non-finite" in res.message and "iteration 0" in res.message
    np.testing.assert_array_equal(res.x, [-1.0, 1.0])


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(TypeError, match="no option 'damping'.*tau"):
        diffopt.least_squares(rosen_residuals, np.zeros(2), "lm", options={"damping": 1.0})


def test_singular_coordinates_both_branches():
    rng = np.random.default_rng(4)
    r = rng.normal(size=40)
    for J in (rng.normal(size=(40, 5)),  # well conditioned: from eigh of JᵀJ
              rng.normal(size=(40, 5)) * np.array([1.0, 1.0, 1.0, 1.0, 1e-7])):  # SVD of J
        s, V, c = singular_coordinates(J, r)
        U, s_ref, _ = np.linalg.svd(J, full_matrices=False)
        np.testing.assert_allclose(np.sort(s), np.sort(s_ref), rtol=1e-9)
        np.testing.assert_allclose((V * s**2) @ V.T, J.T @ J, atol=1e-10)  # V S² Vᵀ = JᵀJ
        np.testing.assert_allclose(V @ (s * c), J.T @ r, atol=1e-10)  # V S c = Jᵀr


@pytest.mark.parametrize("method,options", PATHS, ids=PATH_IDS)
def test_rank_deficient_jacobian(method, options):
    # r depends on x0 + x1 only: J has rank 1, and the minimisers form a line
    res = diffopt.least_squares(lambda x: dnp.stack([x[0] + x[1] - 1.0, 2.0 * (x[0] + x[1]) - 2.0]),
                                np.array([0.3, -0.2]), method, options=options)
    assert res.success, res.message
    np.testing.assert_allclose(res.x[0] + res.x[1], 1.0, atol=1e-8)
    if method in OURS:  # min-norm steps from x0 move along (1, 1) only
        np.testing.assert_allclose(res.x[0] - res.x[1], 0.5, atol=1e-8)
