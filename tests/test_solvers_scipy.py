"""scipy-backed methods: minima, iteration counts equal to scipy's with hand-written derivatives,
bounds, options, callbacks, non-finite values, and ``diffopt.objective`` handed to scipy."""

import numpy as np
import pytest
import scipy.optimize as so

import diffopt
import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.solvers.base import STATUS_CALLBACK, STATUS_NONFINITE, Monitor, StopOptimization
from diffopt.solvers.scipy_methods import METHODS, SOLVERS

NAMES = list(METHODS)


def rosen(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_x0(n):
    # n = 100 starts at 0.5: from (-1.2, 1, ...) some methods find the local minimum near
    # (-1, 1, ..., 1), and paths of hundreds of iterations drift apart by rounding
    return np.array([-1.2, 1.0]) if n == 2 else np.full(n, 0.5)


def second_order(name, hessp=so.rosen_hess_prod, hess=so.rosen_hess):
    """The second derivative scipy gets for a method, as minimize's keyword: hessp, hess or none."""
    return {k: v for k, v in {"hessp": hessp, "hess": hess}.items() if k in METHODS[name].uses}


class Counted:
    """A function that counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def scipy_direct(name, x0, **kw):
    """scipy.optimize.minimize with scipy's own Rosenbrock derivatives, counting calls."""
    f, g = Counted(so.rosen), Counted(so.rosen_der)
    extra = {k: Counted(v) for k, v in second_order(name).items()}
    res = so.minimize(f, x0, method=METHODS[name].scipy_name, jac=g, **extra, **kw)
    return res, f.calls, g.calls, sum(h.calls for h in extra.values())


def test_registered_with_what_they_use():
    for name, method in METHODS.items():
        info = solvers.get(name)
        assert info.fn is SOLVERS[name] and info.uses == method.uses
        assert info.bounds == (name == "l-bfgs-b")
    assert "l-bfgs-b" in solvers.with_bounds()
    assert "trust-exact" in solvers.available() and "newton-cg-scipy" in solvers.available()


# --- same iterations as scipy with hand-written derivatives ---------------------------------------
@pytest.mark.parametrize("n", [2, 100])
@pytest.mark.parametrize("name", NAMES)
def test_rosenbrock_minimum_and_scipy_counts(name, n):
    x0 = rosen_x0(n)
    res = diffopt.optimize(rosen, x0, name, tol=1e-8)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-4)
    assert res.fun < 1e-8

    ref, f_calls, g_calls, h_calls = scipy_direct(name, x0, tol=1e-8)
    assert res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=0, atol=1e-7)
    # one AD pass (value and gradient) per point scipy asks f at: never a second one for the
    # callback's gradient, also after a rejected trust-region step
    assert res.nfev == f_calls and res.njev == f_calls  # the start x0 is memoised for scipy
    assert res.njev >= g_calls  # trust-ncg/exact skip gradients at rejected points; jac=True not
    if name in ("bfgs", "l-bfgs-b", "newton-cg-scipy", "trust-krylov"):
        assert res.njev == g_calls
    assert res.nhev == h_calls  # calls made (scipy's own nhev adds a phantom one for hessp)
    assert len(res.history["f"]) == res.nit + 1  # x0 is iteration 0
    np.testing.assert_allclose(res.history["f"][-1], res.fun)


def tight(name):
    """Options for an accurate x: l-bfgs-b also stops on a relative decrease of f (``ftol``, which
    ``tol`` sets too, as in scipy) that leaves x accurate only to about sqrt(ftol)."""
    return {"ftol": 1e-15} if name == "l-bfgs-b" else {}


def convex_quadratic(n=6, seed=1):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    Q, b = M @ M.T + n * np.eye(n), rng.standard_normal(n)
    return Q, b, lambda x: 0.5 * x @ (Q @ x) - b @ x


def least_squares_problem(m=60, n=8, seed=2):
    rng = np.random.default_rng(seed)
    A, y = rng.standard_normal((m, n)), rng.standard_normal(m)
    return A, y, lambda x: 0.5 * dnp.sum((y - A @ x) ** 2)


@pytest.mark.parametrize("name", NAMES)
def test_convex_quadratic(name):
    Q, b, f = convex_quadratic()
    res = diffopt.optimize(f, np.zeros(len(b)), name, tol=1e-8, options=tight(name))
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.linalg.solve(Q, b), rtol=1e-6, atol=1e-8)
    ref = so.minimize(lambda x: 0.5 * x @ Q @ x - b @ x, np.zeros(len(b)),
                      method=METHODS[name].scipy_name, jac=lambda x: Q @ x - b, tol=1e-8,
                      options=tight(name),
                      **second_order(name, hessp=lambda x, p: Q @ p, hess=lambda x: Q))
    assert res.nit == ref.nit


@pytest.mark.parametrize("name", NAMES)
def test_least_squares_matches_lstsq(name):
    A, y, f = least_squares_problem()
    res = diffopt.optimize(f, np.zeros(A.shape[1]), name, tol=1e-6, options=tight(name))
    assert res.success, res.message
    expected = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(res.x, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(res.fun, 0.5 * np.sum((y - A @ expected) ** 2), rtol=1e-10)
    H = A.T @ A
    ref = so.minimize(lambda x: 0.5 * np.sum((y - A @ x) ** 2), np.zeros(A.shape[1]),
                      method=METHODS[name].scipy_name, jac=lambda x: A.T @ (A @ x - y), tol=1e-6,
                      options=tight(name), **second_order(name, hessp=lambda x, p: H @ p,
                                                          hess=lambda x: H))
    assert res.nit == ref.nit


# --- bounds ---------------------------------------------------------------------------------------
def test_l_bfgs_b_with_an_active_bound_matches_scipy():
    x0 = np.array([-1.2, 0.5])  # inside the bounds: a start outside them is refused
    res = diffopt.optimize(rosen, x0, "l-bfgs-b", bounds=(-2.0, 0.5), tol=1e-10)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [0.5, 0.25], atol=1e-6)  # x[0] = 0.5 is active
    assert res.jac[0] < -0.5  # the gradient pushes against the bound
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="L-BFGS-B", tol=1e-10,
                      bounds=[(-2.0, 0.5)] * 2)
    assert res.nit == ref.nit
    np.testing.assert_allclose(res.x, ref.x, atol=1e-10)


def test_bounds_per_parameter_pairs():
    res = diffopt.optimize(lambda x: dnp.sum((x - 3.0) ** 2), np.zeros(3), "l-bfgs-b",
                           bounds=[(None, 1.0), (-1.0, None), (0.0, 2.0)])
    np.testing.assert_allclose(res.x, [1.0, 3.0, 2.0], atol=1e-8)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "l-bfgs-b"])
def test_bounds_with_a_method_that_cannot_take_them(name):
    with pytest.raises(ValueError, match="l-bfgs-b"):
        diffopt.optimize(rosen, np.zeros(2), name, bounds=(-1.0, 1.0))


# --- options, tol, maxiter ------------------------------------------------------------------------
def test_options_pass_through_to_scipy():
    x0 = rosen_x0(2)
    opts = {"initial_trust_radius": 0.1, "eta": 0.2}
    res = diffopt.optimize(rosen, x0, "trust-ncg", options=opts)
    ref = scipy_direct("trust-ncg", x0, options=opts)[0]
    default = scipy_direct("trust-ncg", x0)[0]
    assert res.nit == ref.nit != default.nit
    res = diffopt.optimize(rosen, x0, "bfgs", options={"gtol": 1e-3})
    assert res.nit == scipy_direct("bfgs", x0, options={"gtol": 1e-3})[0].nit


def test_explicit_option_wins_over_tol():
    x0 = rosen_x0(2)
    res = diffopt.optimize(rosen, x0, "bfgs", tol=1e-12, options={"gtol": 1e-2})
    assert res.nit == scipy_direct("bfgs", x0, options={"gtol": 1e-2})[0].nit


def test_unknown_option_lists_the_known_ones():
    with pytest.raises(TypeError, match="initial_trust_radius"):
        diffopt.optimize(rosen, np.zeros(2), "trust-ncg", options={"learning_rate": 0.1})


@pytest.mark.parametrize("name", NAMES)
def test_maxiter(name):
    res = diffopt.optimize(rosen, rosen_x0(2), name, maxiter=4)
    assert res.nit == 4 and not res.success and res.status == 1


def test_scipy_extras_reach_the_result():
    res = diffopt.optimize(rosen, rosen_x0(2), "bfgs")
    assert res.hess_inv.shape == (2, 2)
    res = diffopt.optimize(rosen, rosen_x0(2), "trust-exact")
    np.testing.assert_allclose(res.hess, so.rosen_hess(res.x), rtol=1e-10)


# --- stopping: callback and non-finite values -----------------------------------------------------
@pytest.mark.parametrize("how", ["return True", "raise StopIteration"])
@pytest.mark.parametrize("name", NAMES)
def test_callback_stops_every_method(name, how):
    seen = []

    def callback(intermediate):
        seen.append(intermediate)
        if intermediate.nit >= 3:
            if how == "raise StopIteration":
                raise StopIteration
            return True

    res = diffopt.optimize(rosen, rosen_x0(2), name, callback=callback)
    assert res.nit == 3 and len(seen) == 3
    assert not res.success and res.status == STATUS_CALLBACK and "callback" in res.message
    np.testing.assert_allclose(res.x, seen[-1].x)
    # the intermediate result carries the gradient at the iterate
    np.testing.assert_allclose(seen[-1].jac, so.rosen_der(seen[-1].x), rtol=1e-10)


def nan_beyond_three(x):
    """(x - 5)² with a NaN (log of a negative number) once x[0] passes 3."""
    return dnp.sum((x - 5.0) ** 2) + 0.0 * dnp.log(3.0 - x[0])


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_value_ends_the_run(name):
    res = diffopt.optimize(nan_beyond_three, np.zeros(2), name)
    assert not res.success and res.status == STATUS_NONFINITE
    assert "non-finite" in res.message and "iteration" in res.message
    assert np.all(np.isfinite(res.x)) and res.x[0] < 3.0  # the last finite iterate


def test_non_finite_gradient_at_x0():
    res = diffopt.optimize(lambda x: dnp.sum(dnp.sqrt(x)), np.zeros(2), "bfgs")
    assert res.status == STATUS_NONFINITE and "gradient" in res.message and "x0" in res.message
    np.testing.assert_array_equal(res.x, 0.0)


class NanHessian:
    """A problem with a finite value and gradient but a NaN Hessian (no AD needed)."""

    nfev = njev = nhev = 0

    def value_and_grad(self, x):
        return float(x @ x), 2 * x

    def hessp(self, x, p):
        return np.full_like(p, np.nan)

    def hess(self, x):
        return np.full((len(x), len(x)), np.nan)


@pytest.mark.parametrize("name", ["trust-ncg", "trust-krylov", "trust-exact", "newton-cg-scipy"])
def test_non_finite_hessian_ends_the_run(name):
    with pytest.raises(StopOptimization, match="Hessian") as err:
        SOLVERS[name](NanHessian(), np.ones(3), Monitor(), maxiter=10, tol=None)
    assert err.value.status == STATUS_NONFINITE


# --- diffopt.objective handed to scipy directly ---------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_objective_with_scipy_minimize(name):
    x0 = rosen_x0(2)
    obj = diffopt.objective(rosen, x0)
    second = {k: getattr(obj, k) for k in second_order(name)}
    res = so.minimize(obj.fun, obj.x0, method=METHODS[name].scipy_name, jac=obj.jac, **second)
    ref = scipy_direct(name, x0)[0]
    assert res.nit == ref.nit and res.success == ref.success
    np.testing.assert_allclose(res.x, ref.x, atol=1e-10)
    assert obj.njev > 0 and (obj.nhev > 0) == bool(second)
    # and the value-and-gradient form
    obj = diffopt.objective(rosen, x0)
    second = {k: getattr(obj, k) for k in second_order(name)}
    res = so.minimize(obj.value_and_grad, obj.x0, method=METHODS[name].scipy_name, jac=True,
                      **second)
    assert res.nit == ref.nit
