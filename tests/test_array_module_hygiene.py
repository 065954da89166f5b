"""diffopt's reference paths keep arrays in their own module: run on a CuPy look-alike
(tests/fake_cupy.py: dispatches like CuPy, refuses implicit conversion to NumPy), each returns that
type and equals NumPy. What passes here runs on CuPy arrays on a GPU without a host round trip."""

import numpy as np
import pytest
from fake_cupy import FakeArray, install, xp

import diffopt
import diffopt.numpy as dnp

install()


def assert_same(fake, expected, rtol=1e-12):
    """``fake`` is a FakeArray (or a tuple of them) equal to ``expected``."""
    if isinstance(expected, (tuple, list)):
        assert len(fake) == len(expected)
        for a, b in zip(fake, expected):
            assert_same(a, b, rtol)
        return
    assert isinstance(fake, FakeArray), f"{type(fake).__name__}, not FakeArray"
    np.testing.assert_allclose(xp.asnumpy(fake), expected, rtol=rtol, atol=1e-14)


def rosen(x):
    return dnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def net(W, x):
    return dnp.sum(dnp.tanh(W @ x) ** 2) + dnp.sum(dnp.exp(-x**2)[1:] * x[:-1])


def soft(x):
    return dnp.log(dnp.sum(dnp.exp(x))) + dnp.mean(dnp.sort(x) * dnp.cumsum(x))


RNG = np.random.default_rng(0)
W, X = RNG.standard_normal((4, 5)), RNG.standard_normal(5)


def test_the_double_refuses_numpy_as_cupy_does():
    x = xp.ones(3)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="mixed with a FakeArray"):
        x + np.ones(3)
    assert isinstance(x + np.float64(1.0), FakeArray) and isinstance(np.sum(x), FakeArray)
    assert diffopt.numpy.backend.array_module(x) is xp


@pytest.mark.parametrize("f", [rosen, soft, dnp.tanh, lambda x: dnp.sin(x) * dnp.cos(x[::-1])])
def test_eager_and_first_order(f):
    scalar = f in (rosen, soft)
    assert_same(f(xp.asarray(X)), f(X))
    _, t = diffopt.jvp(f, (xp.asarray(X),), (xp.ones(5),))
    assert_same(t, diffopt.jvp(f, (X,), (np.ones(5),))[1])
    if scalar:
        assert_same(diffopt.grad(f)(xp.asarray(X)), diffopt.grad(f)(X))
    else:
        assert_same(diffopt.jacrev(f)(xp.asarray(X)), diffopt.jacrev(f)(X))
        assert_same(diffopt.jacfwd(f)(xp.asarray(X)), diffopt.jacfwd(f)(X))


def test_grad_of_several_arguments_and_vmap():
    assert_same(diffopt.grad(net, argnums=(0, 1))(xp.asarray(W), xp.asarray(X)),
                diffopt.grad(net, argnums=(0, 1))(W, X))
    batch = RNG.standard_normal((3, 5))
    assert_same(diffopt.vmap(diffopt.grad(rosen))(xp.asarray(batch)),
                diffopt.vmap(diffopt.grad(rosen))(batch))


def test_second_order():
    assert_same(diffopt.hessian(rosen)(xp.asarray(X)), diffopt.hessian(rosen)(X), rtol=1e-10)
    assert_same(diffopt.hvp(rosen, xp.asarray(X), xp.ones(5)), diffopt.hvp(rosen, X, np.ones(5)),
                rtol=1e-10)


@pytest.mark.xfail(strict=True, raises=TypeError, reason=(
    "optimize converts to NumPy implicitly: diffopt/optimize_checks.py parameter_arrays "
    "np.asarray(leaf), then optimize.py Objective.check np.asarray(f) and FlatView.ravel "
    "np.asarray(a, dtype=np.float64): the flat parameter vector of every solver is NumPy"))
def test_optimize():
    x0 = np.zeros(4)
    res = diffopt.optimize(rosen, xp.asarray(x0), method="l-bfgs-b", tol=1e-10)
    ref = diffopt.optimize(rosen, x0, method="l-bfgs-b", tol=1e-10)
    assert res.success and res.nit == ref.nit
    assert_same(res.x, ref.x, rtol=1e-9)


@pytest.mark.xfail(strict=True, raises=TypeError, reason=(
    "the eager ODE path converts to NumPy implicitly: diffopt/ode/_types.py as_state "
    "np.asarray(y0), then ode/eager.py Stepper.start np.asarray(concrete(self.y0)) and the step "
    "control's np.asarray(concrete(...)) of states and stages (eager.py lines 252, 257, 308, 311)"))
def test_ode_solve_and_its_gradient():
    from diffopt.ode import solve

    def decay(t, y, k):
        return -k * y + dnp.sin(t)

    def final(y0, k, backend):
        return solve(decay, y0, (0.0, 1.0), (k,), method="rk4", dt=0.1,
                     backend=backend).y_final

    y0, k = np.array([1.0, 0.5]), np.array([0.3, 2.0])
    assert_same(final(xp.asarray(y0), xp.asarray(k), "numpy"), final(y0, k, "numpy"))
    loss = lambda y0, k: dnp.sum(final(y0, k, "numpy") ** 2)
    assert_same(diffopt.grad(loss, argnums=(0, 1))(xp.asarray(y0), xp.asarray(k)),
                diffopt.grad(loss, argnums=(0, 1))(y0, k))


def test_image_stage_and_its_gradient():
    from diffopt.image import demosaic_mhc, gamma, normalize, white_balance

    raw = RNG.uniform(0.05, 0.9, (6, 8))
    gains = np.array([1.9, 1.0, 1.4])

    def develop(r, g, backend):
        img = demosaic_mhc(normalize(r, backend=backend), backend=backend)
        return gamma(white_balance(img, gains=g, backend=backend), backend=backend)

    assert_same(develop(xp.asarray(raw), xp.asarray(gains), "auto"), develop(raw, gains, "numpy"))
    loss = lambda g, r, backend: dnp.sum(develop(r, g, backend) ** 2)
    assert_same(diffopt.grad(loss)(xp.asarray(gains), xp.asarray(raw), "auto"),
                diffopt.grad(loss)(gains, raw, "numpy"))
