"""Reliability of ``optimize``, ``least_squares`` and ``objective``: bad input gets a clear error,
an exception keeps the work done, a NaN or inf ends every loop with a status, complex residuals
and trf starts on a bound give the true solution."""

import re

import numpy as np
import pytest
import scipy.optimize

import diffopt
import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.optimize import OptimizeResult, Residuals, add_note
from diffopt.solvers.base import STATUS_CALLBACK, STATUS_NONFINITE, STATUS_RAISED, StopOptimization
from diffopt.solvers.least_squares import cgls, strictly_inside

MINIMIZE = solvers.available("minimize")
LEAST_SQUARES = solvers.available("least_squares")
# options that make each method converge on the Rosenbrock function within a few hundred steps
OPTIONS = {"momentum": {"lr": 1e-3}, "nesterov": {"lr": 1e-3}, "adam": {"lr": 1e-2}}
# every minimisation loop and line search of ours, and every least-squares path
MINIMIZE_RUNS = [(m, OPTIONS.get(m, {})) for m in MINIMIZE] + [
    ("newton", {"line_search": "wolfe"}), ("newton-cg", {"line_search": "wolfe"}),
    ("gd", {"lr": 1e-3})]
LEAST_SQUARES_RUNS = [(m, {}) for m in LEAST_SQUARES] + [
    (m, {"dense": False}) for m in ("gauss-newton", "lm", "trf")]


def run_id(run):
    method, options = run
    return method + "".join(f"-{k}={v}" for k, v in options.items())


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_residuals(x):
    return dnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def quadratic(x):
    return dnp.sum((x - 1.0) ** 2)


X0 = np.array([-1.2, 1.0])


# --- 1. input checks ----------------------------------------------------------------------------
BAD_OPTIMIZE = [
    ("empty x0", dict(x0=np.zeros(0)), ValueError, "x0 is empty"),
    ("x0 None", dict(x0=None), ValueError, "x0 has no arrays"),
    ("x0 strings", dict(x0=np.array(["a", "b"])), TypeError, "real numbers.*dtype <U1"),
    ("x0 objects", dict(x0=np.array([object()])), TypeError, "real numbers.*dtype object"),
    ("x0 NaN", dict(x0=np.array([0.0, np.nan])), ValueError, "not finite at flat index 1"),
    ("x0 inf", dict(x0={"a": np.zeros(2), "b": np.array([np.inf])}), ValueError,
     "not finite at flat index 2"),
    ("args a float", dict(args=3.0), TypeError, r"args must be a tuple.*args=\(3.0,\)"),
    ("args a list", dict(args=[1.0]), TypeError, "args must be a tuple"),
    ("fun not callable", dict(fun=3), TypeError, "objective must be a function"),
    ("method not a str", dict(method=3), TypeError, "method must be a name"),
    ("unknown method", dict(method="sgd"), ValueError,
     "unknown method 'sgd'.*adam, bfgs, gd.*trust-ncg"),
    ("maxiter 0", dict(maxiter=0), ValueError, "maxiter must be a positive integer"),
    ("maxiter negative", dict(maxiter=-5), ValueError, "maxiter must be a positive integer"),
    ("maxiter a float", dict(maxiter=2.5), ValueError, "maxiter must be a positive integer"),
    ("maxiter a str", dict(maxiter="10"), ValueError, "maxiter must be a positive integer"),
    ("maxiter a bool", dict(maxiter=True), ValueError, "maxiter must be a positive integer"),
    ("tol negative", dict(tol=-1e-6), ValueError, "tol must be a finite number >= 0"),
    ("tol NaN", dict(tol=np.nan), ValueError, "tol must be a finite number >= 0"),
    ("tol a str", dict(tol="1e-6"), ValueError, "tol must be a finite number >= 0"),
    ("options a list", dict(options=[("lr", 0.1)]), TypeError, "options must be a dict"),
    ("options unknown", dict(method="gd", options={"step": 0.1}), TypeError,
     "no option 'step'; its options are: lr, line_search"),
    ("maxiter in options", dict(method="gd", options={"maxiter": 5}), TypeError,
     r"pass maxiter as an argument \(maxiter=...\)"),
    ("callback not callable", dict(callback="print"), TypeError, "callback must be a function"),
    ("objective returns None", dict(fun=lambda x: None), ValueError,
     "must return a real scalar, but it returned NoneType"),
    ("lr a str", dict(method="gd", options={"lr": "0.1"}), ValueError,
     "lr must be a positive number, not '0.1'"),
    ("momentum NaN", dict(method="nesterov", options={"momentum": np.nan}), ValueError,
     r"momentum must be a number in \[0, 1\)"),
    ("cg_maxiter a float", dict(method="newton-cg", options={"cg_maxiter": 2.5}), ValueError,
     "cg_maxiter must be a positive integer"),
    ("scipy gtol negative", dict(method="bfgs", options={"gtol": -1.0}), ValueError,
     "gtol must be a finite number >= 0"),
    ("bounds too short", dict(x0=np.zeros(3), bounds=(np.zeros(2), np.ones(2))), ValueError,
     "2 lower bounds for 3 parameters"),
    ("pairs too few", dict(x0=np.zeros(3), bounds=[(0, 1), (0, 1), (0, 1), (0, 1)]),
     ValueError, "one .lo, hi. pair per parameter .3 pairs; got 4"),
    ("bounds a str", dict(bounds="01"), TypeError, "bounds must be"),
    ("bounds not numbers", dict(bounds=("a", 1.0)), TypeError, "lower bounds must be numbers"),
    ("lo > hi", dict(x0=np.zeros(3), bounds=(np.array([-1.0, 1.0, -1.0]), 0.5)), ValueError,
     "lower bound exceeds the upper bound at flat index 1"),
    ("NaN bound", dict(bounds=(np.array([0.0, np.nan]), 1.0)), ValueError,
     "lower bound at flat index 1 is NaN"),
    ("x0 outside", dict(x0=np.array([0.5, 2.0]), bounds=(0.0, 1.0)), ValueError,
     r"x0 is outside the bounds at flat index 1 .*np.clip"),
    ("bounds and gd", dict(method="gd", bounds=(0.0, 1.0)), ValueError,
     "does not take bounds; methods that do: l-bfgs-b"),
    ("ambiguous bounds", dict(x0=np.array([0.5, 2.5]), bounds=[[0.0, 1.0], [2.0, 3.0]]),
     ValueError, "reads both as one .lo, hi. pair per parameter and as .lo, hi. vectors"),
]


@pytest.mark.parametrize("case", BAD_OPTIMIZE, ids=[c[0] for c in BAD_OPTIMIZE])
def test_bad_input_to_optimize(case):
    _, change, error, match = case
    kwargs = dict(fun=quadratic, x0=np.zeros(2), method="auto") | change
    with pytest.raises(error, match=match):
        diffopt.optimize(kwargs.pop("fun"), kwargs.pop("x0"), kwargs.pop("method"), **kwargs)


BAD_LEAST_SQUARES = [
    ("empty x0", dict(x0=np.zeros(0)), ValueError, "x0 is empty"),
    ("x0 NaN", dict(x0=np.array([np.nan, 0.0])), ValueError, "not finite at flat index 0"),
    ("args a float", dict(args=2.0), TypeError, "args must be a tuple"),
    ("unknown method", dict(method="dogbox"), ValueError,
     "unknown method 'dogbox'.*gauss-newton, lm, scipy-lm, trf"),
    ("empty residuals", dict(fun=lambda x: x[:0]), ValueError, "returned no residuals"),
    ("string residuals", dict(fun=lambda x: np.array(["a"])), TypeError, "must return numbers"),
    ("maxiter 0", dict(maxiter=0), ValueError, "maxiter must be a positive integer"),
    ("tol negative", dict(tol=-1.0), ValueError, "tol must be a finite number"),
    ("bounds too long", dict(method="trf", bounds=(np.zeros(3), 2.0)), ValueError,
     "3 lower bounds for 2 parameters"),
    ("lo == hi for trf", dict(method="trf", bounds=(np.array([0.0, 0.5]), 0.5)), ValueError,
     "lower bound is not below the upper bound at flat index 1"),
    ("x0 outside", dict(method="trf", x0=np.array([0.5, 3.0]), bounds=(0.0, 2.0)), ValueError,
     "outside the bounds at flat index 1"),
    # each of these made Levenberg-Marquardt report success at x0 (a zero or wrong step)
    ("tau negative", dict(options={"tau": -1.0}), ValueError, "tau must be a positive number"),
    ("forcing 1", dict(options={"forcing": 1.0, "dense": False}), ValueError,
     r"forcing must lie in \[0, 1\)"),
    ("cg_maxiter 0", dict(options={"cg_maxiter": 0, "dense": False}), ValueError,
     "cg_maxiter must be a positive integer"),
    ("ftol negative", dict(method="trf", options={"ftol": -1.0}), ValueError,
     "ftol must be a finite number >= 0"),
    ("dense a str", dict(options={"dense": "yes"}), ValueError,
     "dense must be None, True or False"),
]


@pytest.mark.parametrize("case", BAD_LEAST_SQUARES, ids=[c[0] for c in BAD_LEAST_SQUARES])
def test_bad_input_to_least_squares(case):
    _, change, error, match = case
    kwargs = dict(fun=rosen_residuals, x0=np.array([0.5, 0.5]), method="lm") | change
    with pytest.raises(error, match=match):
        diffopt.least_squares(kwargs.pop("fun"), kwargs.pop("x0"), kwargs.pop("method"),
                              **kwargs)


@pytest.mark.parametrize("x0, args, error, match", [
    (np.zeros(0), (), ValueError, "x0 is empty"),
    (np.array([np.inf]), (), ValueError, "not finite"),
    (np.zeros(2), 3.0, TypeError, "args must be a tuple"),
])
def test_bad_input_to_objective(x0, args, error, match):
    with pytest.raises(error, match=match):
        diffopt.objective(lambda x, *a: dnp.sum(x**2), x0, args=args)


def test_a_list_x0_that_the_objective_cannot_take_says_it_is_a_pytree():
    with pytest.raises(TypeError) as err:
        diffopt.optimize(lambda x: dnp.sum((x - 1.0) ** 2), [0.0, 1.0], "gd")
    assert any("x0 is a list of 2 numbers, which is a pytree" in note and "np.asarray(x0)" in note
               for note in err.value.__notes__)


def test_two_parameter_bounds_take_the_reading_that_fits():
    # scipy.optimize.least_squares spelling (lo, hi): as pairs, (0, -5) would have lo > hi
    res = diffopt.least_squares(lambda p: p - np.array([3.0, -7.0]), np.zeros(2), "trf",
                                bounds=([0.0, -5.0], [5.0, 0.0]))
    np.testing.assert_allclose(res.x, [3.0, -5.0], atol=1e-8)
    # scipy.optimize.minimize spelling, pairs: as (lo, hi), x0 would lie outside
    res = diffopt.optimize(quadratic, np.array([2.0, -1.0]), "l-bfgs-b",
                           bounds=[(1.5, 3.0), (-2.0, 0.0)])
    np.testing.assert_allclose(res.x, [1.5, 0.0], atol=1e-8)


def test_method_names_ignore_case():
    assert diffopt.optimize(quadratic, np.zeros(2), "AUTO").method == "trust-exact"
    assert diffopt.optimize(quadratic, np.zeros(2), "L-BFGS-B").method == "l-bfgs-b"


def test_a_solver_option_error_carries_no_result():
    # nothing ran yet: the error is the plain one, without a result or a note
    with pytest.raises(ValueError, match="lr must be a positive") as err:
        diffopt.optimize(quadratic, np.zeros(2), "momentum", options={"lr": -1.0})
    assert not hasattr(err.value, "result") and not getattr(err.value, "__notes__", None)
    # also when the solver finds it out after evaluating x0
    with pytest.raises(ValueError, match="scale=True") as err:
        diffopt.least_squares(rosen_residuals, X0, "lm", options={"dense": False, "scale": True})
    assert not hasattr(err.value, "result")


# --- 2. lost work: an exception carries the result so far --------------------------------------
class Boom(Exception):
    pass


def raising_after(fun, calls: int, exc: BaseException):
    """``fun`` that raises ``exc`` from its ``calls + 1``-th call on."""
    count = [0]

    def wrapped(x):
        count[0] += 1
        if count[0] > calls:
            raise exc
        return fun(x)

    return wrapped


def check_kept(err, raised, accepted, method):
    """``err`` is the exception raised, carrying a result at the last accepted iterate."""
    assert err is raised
    res = err.result
    assert isinstance(res, OptimizeResult)
    assert not res.success and res.status == STATUS_RAISED and res.method == method
    assert res.nit == len(accepted) and len(res.history["f"]) == res.nit + 1
    assert re.search(fr"{type(raised).__name__} raised after iteration {res.nit}\b", res.message)
    if accepted:  # the callback saw iterations 1..nit: x is the last of them
        np.testing.assert_array_equal(res.x["p"], accepted[-1])
    assert any(".result" in note and f"iteration {res.nit}" in note for note in err.__notes__)


FRONT_DOORS = {"minimize": (diffopt.optimize, rosen), "least_squares": (diffopt.least_squares,
                                                                         rosen_residuals)}


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("kind, method", [("minimize", m) for m in MINIMIZE]
                         + [("least_squares", m) for m in LEAST_SQUARES])
def test_an_exception_in_the_users_function_keeps_the_work(kind, method, exc_type):
    front_door, fun = FRONT_DOORS[kind]
    raised = exc_type("user code failed")
    accepted = []
    with pytest.raises(exc_type) as err:
        front_door(raising_after(lambda p: fun(p["p"]), 12, raised), {"p": X0.copy()}, method,
                   options=OPTIONS.get(method), callback=lambda r: accepted.append(r.x["p"]))
    check_kept(err.value, raised, accepted, method)
    res = err.value.result
    assert set(res.x) == {"p"} and res.x["p"].shape == (2,)  # x0's pytree structure
    if kind == "minimize":
        assert np.isfinite(res.fun)
    else:  # the residuals are not evaluated again
        assert res.fun is None and np.isfinite(res.cost)


@pytest.mark.parametrize("method", ["gd", "newton-cg", "bfgs", "trust-krylov", "l-bfgs-b"])
def test_an_exception_in_the_callback_keeps_the_work(method):
    accepted = []

    def callback(intermediate):
        accepted.append(intermediate.x)
        if intermediate.nit == 3:
            raise Boom("callback bug")

    with pytest.raises(Boom) as err:
        diffopt.optimize(rosen, X0, method, callback=callback)
    res = err.value.result
    assert res.nit == 3 and len(accepted) == 3
    np.testing.assert_array_equal(res.x, accepted[-1])  # the iterate the callback was handed
    np.testing.assert_allclose(res.fun, scipy.optimize.rosen(accepted[-1]))
    np.testing.assert_allclose(res.jac, scipy.optimize.rosen_der(accepted[-1]))


def test_an_exception_at_the_first_evaluation_carries_x0():
    with pytest.raises(Boom) as err:
        diffopt.optimize(raising_after(rosen, 1, Boom()), X0, "bfgs")  # after the check call
    res = err.value.result
    assert res.nit == 0 and len(res.history["f"]) == 0 and "at x0" in res.message
    np.testing.assert_array_equal(res.x, X0)


def test_stop_iteration_and_true_still_stop_the_run():
    def stop_iteration(intermediate):
        raise StopIteration

    for callback in (lambda r: True, stop_iteration):
        res = diffopt.optimize(rosen, X0, "bfgs", callback=callback)
        assert res.status == STATUS_CALLBACK and res.nit == 1


def test_add_note_without_exception_notes_falls_back_to_the_attribute():
    class OldStyle:  # what Python 3.10 exceptions look like: no add_note
        pass

    exc = OldStyle()
    add_note(exc, "first")
    add_note(exc, "second")
    assert exc.__notes__ == ["first", "second"]
    add_note(1, "an object that takes no attributes is left alone")


# --- 3. NaN and inf end every loop, with a status and a message ----------------------------------
def non_finite_after(fun, calls: int, value: float):
    """``fun`` times ``value`` (NaN or inf) from its ``calls + 1``-th call on."""
    count = [0]

    def wrapped(x):
        count[0] += 1
        return fun(x) * value if count[0] > calls else fun(x)

    return wrapped


def check_non_finite_end(res):
    assert not res.success and res.status == STATUS_NONFINITE, res.message
    assert "non-finite" in res.message and re.search(r"iteration \d+", res.message)
    assert np.all(np.isfinite(res.x))
    recorded = len(res.history["f"])  # x0 and nit steps; none if x0 itself was not finite
    assert recorded == res.nit + 1 or (recorded == res.nit == 0 and "iteration 0" in res.message)
    assert np.all(np.isfinite(res.history["f"]))


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("calls", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("run", MINIMIZE_RUNS, ids=run_id)
def test_a_non_finite_objective_ends_every_minimisation_loop(run, calls, value):
    method, options = run
    res = diffopt.optimize(non_finite_after(rosen, calls, value), X0, method, maxiter=300,
                           options=options)
    check_non_finite_end(res)


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("calls", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("run", LEAST_SQUARES_RUNS, ids=run_id)
def test_non_finite_residuals_end_every_least_squares_loop(run, calls, value):
    method, options = run
    res = diffopt.least_squares(non_finite_after(rosen_residuals, calls, value), X0, method,
                                options=options)
    check_non_finite_end(res)


@pytest.mark.parametrize("run", MINIMIZE_RUNS, ids=run_id)
def test_a_nan_objective_at_x0(run):
    method, options = run
    res = diffopt.optimize(lambda x: rosen(x) + dnp.log(x[0] - 5.0), X0, method,
                           options=options)
    check_non_finite_end(res)
    assert res.nit == 0 and "iteration 0" in res.message


@pytest.mark.parametrize("run", LEAST_SQUARES_RUNS, ids=run_id)
def test_nan_residuals_at_x0(run):
    method, options = run
    res = diffopt.least_squares(lambda x: rosen_residuals(x) * dnp.sqrt(x[0]), X0, method,
                                options=options)
    check_non_finite_end(res)
    assert res.nit == 0 and "iteration 0" in res.message


def test_lm_next_to_a_nan_region_is_not_converged():
    # r = x - 5 is defined only for x < 3 and x0 sits just below 3: every damped step lands in
    # the NaN region; Levenberg-Marquardt used to shrink its step below xtol and report success
    res = diffopt.least_squares(lambda x: x - 5.0 + 0.0 * dnp.log(3.0 - x),
                                np.array([np.nextafter(3.0, 0.0)]), "lm")
    check_non_finite_end(res)


class _NanJvpProblem:
    """½‖x − 1‖² whose residuals and VJP are finite but whose JVP is NaN (matrix-free path)."""

    n = 3

    def linearize(self, x):
        return x - 1.0, lambda v: np.full_like(v, np.nan), lambda u: np.asarray(u, float)


@pytest.mark.parametrize("method", ["lm", "gauss-newton"])
def test_a_nan_jacobian_product_in_cgls_ends_the_run(method):
    with pytest.raises(StopOptimization, match="Jacobian product in CGLS") as err:
        solvers.get(method, "least_squares").fn(_NanJvpProblem(), np.zeros(3), solvers.Monitor(),
                                                maxiter=10, tol=None, dense=False)
    assert err.value.status == STATUS_NONFINITE and "iteration 1" in err.value.message


def test_cgls_reports_a_non_finite_product():
    J = np.eye(3)
    assert cgls(lambda v: np.full(3, np.nan), lambda u: J.T @ u, np.ones(3), np.ones(3), 0.0,
                1e-12, 10) == (None, None)
    assert cgls(lambda v: J @ v, lambda u: np.full(3, np.inf), np.ones(3), np.ones(3), 0.0,
                1e-12, 10) == (None, None)


class _UnshiftableHessian:
    """A finite Hessian so large that no shift τ ≤ τ₀·2⁸⁰ makes it positive definite."""

    def value_and_grad(self, x):
        return 0.5 * float(x @ x), x.copy()

    def hess(self, x):
        return np.array([[1e308, -1e308], [-1e308, 1e308]])


def test_newton_without_a_positive_definite_shift_ends_with_a_status():
    out = solvers.get("newton").fn(_UnshiftableHessian(), np.ones(2), solvers.Monitor(),
                                   maxiter=10, tol=None)
    assert not out.success and out.status == 2
    assert "positive definite" in out.message and "iteration 0" in out.message


# --- 4. complex residuals -----------------------------------------------------------------------
W = np.linspace(0.1, 3.0, 15)
RESPONSE = 2.0 * np.exp(0.7j * W) / (1.0 + 0.3j * W)  # a delayed first-order frequency response


def complex_residuals(p):
    return p[0] * dnp.exp(1j * W * p[1]) / (1.0 + 1j * W * p[2]) - RESPONSE


def stacked_residuals(p):
    """The same residuals written as [Re r, Im r] with real arithmetic only."""
    gain = p[0] / (1.0 + (W * p[2]) ** 2)
    c, s = dnp.cos(W * p[1]), dnp.sin(W * p[1])
    return dnp.concatenate([gain * (c + s * W * p[2]) - RESPONSE.real,
                            gain * (s - c * W * p[2]) - RESPONSE.imag])


@pytest.mark.parametrize("method", LEAST_SQUARES)
def test_complex_residuals_count_as_real_and_imaginary_parts(method):
    x0 = np.array([1.0, 0.3, 0.1])
    res = diffopt.least_squares(complex_residuals, x0, method)
    ref = diffopt.least_squares(stacked_residuals, x0, method)
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.x, [2.0, 0.7, 0.3], rtol=1e-7)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)
    np.testing.assert_allclose(res.cost, 0.5 * np.sum(np.abs(complex_residuals(res.x)) ** 2),
                               atol=1e-15)
    assert np.iscomplexobj(res.fun)
    np.testing.assert_allclose(res.fun, complex_residuals(res.x), atol=1e-12)


def test_the_complex_residual_jacobian_matches_finite_differences():
    problem = Residuals(complex_residuals, np.array([1.3, 0.4, 0.2]))
    problem.check()
    x = problem.x0
    J = problem.jac(x)
    stacked = lambda p: np.asarray(stacked_residuals(p))  # noqa: E731
    eps = 1e-6
    fd = np.stack([(stacked(x + eps * e) - stacked(x - eps * e)) / (2 * eps) for e in np.eye(3)],
                  axis=1)
    np.testing.assert_allclose(J, fd, atol=1e-8)
    r, jvp, vjp = problem.linearize(x)
    v, u = np.array([0.3, -1.0, 0.5]), np.linspace(-1.0, 1.0, 2 * W.size)
    np.testing.assert_allclose(jvp(v), J @ v, atol=1e-12)
    np.testing.assert_allclose(vjp(u), J.T @ u, atol=1e-12)


# --- 5. trf from a start on a bound ---------------------------------------------------------------
def test_trf_from_a_start_on_a_bound_finds_the_solution():
    # scipy's trf (also called directly) moves this x0 only 1e-10 inside, takes ‖x0‖ as its
    # first trust radius and stops at once "successfully" at x ≈ 1e-10
    res = diffopt.least_squares(lambda x: x - np.array([1.0, 2.0]), np.zeros(2), "trf",
                                bounds=(0.0, np.inf))
    assert res.success
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-8)


@pytest.mark.parametrize("options", [{}, {"dense": False}])
def test_trf_from_bounds_finds_a_constrained_optimum_on_the_bounds(options):
    # min ½‖x − c‖² over a box: the optimum is c clipped to the box (two bounds active)
    c = np.array([1.0, 2.0, -1.0])
    lo, hi = np.array([0.0, 0.0, -0.5]), np.array([0.5, 5.0, 5.0])
    res = diffopt.least_squares(lambda x: x - c, np.zeros(3), "trf", bounds=(lo, hi),
                                options=options)
    assert res.success
    np.testing.assert_allclose(res.x, np.clip(c, lo, hi), atol=1e-8)
    np.testing.assert_array_equal(res.active_mask, [1, 0, -1])


def test_trf_exponential_fit_with_an_active_bound_from_the_bounds():
    # y grows, but the rate is bounded above by 0: the best fit is the constant mean(y)
    t = np.linspace(0.0, 1.0, 20)
    y = 2.0 * np.exp(0.5 * t)
    res = diffopt.least_squares(lambda p: p[0] * dnp.exp(p[1] * t) - y, np.zeros(2), "trf",
                                bounds=(np.array([0.0, -5.0]), np.array([5.0, 0.0])))
    assert res.success
    np.testing.assert_allclose(res.x, [y.mean(), 0.0], atol=1e-8)


def test_strictly_inside():
    lo = np.array([0.0, 0.0, 0.0, -np.inf, -np.inf, 0.0, 100.0])
    hi = np.array([1.0, 1.0, 1.0, 5.0, np.inf, 1e-6, 200.0])
    x0 = np.array([0.0, 0.5, 1.0, 5.0, -3.0, 0.0, 100.0])
    np.testing.assert_allclose(strictly_inside(x0, lo, hi),
                               [1e-3, 0.5, 1.0 - 1e-3, 5.0 - 5e-3, -3.0, 5e-7, 100.1], rtol=1e-15)
