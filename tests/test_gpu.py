"""CuPy arrays stay on the GPU through every interpreter. Skipped where no GPU is present."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp

cp = pytest.importorskip("cupy")
try:
    cp.cuda.runtime.getDeviceCount()
except Exception:  # CUDA runtime present but no device
    pytest.skip("no CUDA device", allow_module_level=True)


def loss(W, x):
    return dnp.sum(dnp.tanh(W @ x) ** 2) + dnp.sum(dnp.exp(-x**2)[1:] * x[:-1])


def test_eager_calls_return_cupy_arrays():
    x = cp.linspace(0, 1, 5)
    for y in (dnp.sin(x), dnp.sum(x), dnp.reshape(x, (5, 1)), x[1:] * 2, dnp.concatenate([x, x])):
        assert isinstance(y, cp.ndarray)


def test_grad_jvp_and_hessian_on_the_gpu_match_numpy():
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((4, 5)), rng.standard_normal(5)
    g_cpu = diffopt.grad(loss, argnums=(0, 1))(W, x)
    g_gpu = diffopt.grad(loss, argnums=(0, 1))(cp.asarray(W), cp.asarray(x))
    for a, b in zip(g_cpu, g_gpu):
        assert isinstance(b, cp.ndarray)
        np.testing.assert_allclose(a, cp.asnumpy(b), rtol=1e-10)
    f = lambda x: loss(cp.asarray(W), x)
    H = diffopt.hessian(f)(cp.asarray(x))
    assert isinstance(H, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(H), diffopt.hessian(lambda x: loss(W, x))(x), rtol=1e-9)
    _, t = diffopt.jvp(f, (cp.asarray(x),), (cp.ones(5),))
    assert isinstance(t, cp.ndarray)
    J = diffopt.jacrev(lambda x: dnp.tanh(cp.asarray(W) @ x))(cp.asarray(x))
    assert isinstance(J, cp.ndarray)


def test_image_pipeline_on_the_gpu_matches_the_cpu():
    """backend='auto' runs each stage's reference on CuPy arrays (no CuPy kernels yet)."""
    from diffopt.image import Pipeline, demosaic_mhc, gamma, gaussian_blur, normalize, white_balance

    pipe = Pipeline([normalize, demosaic_mhc, white_balance, gaussian_blur, gamma])
    raw = np.random.default_rng(1).uniform(0.05, 0.9, (16, 20))
    params = {"white_balance": {"gains": np.array([1.9, 1.0, 1.4])}}
    out = pipe(cp.asarray(raw), params)
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(out), pipe(raw, params), rtol=1e-10)

    def loss(g, r):
        return dnp.sum(pipe(r, {"white_balance": {"gains": g}}) ** 2)

    g_gpu = diffopt.grad(loss)(cp.asarray(params["white_balance"]["gains"]), cp.asarray(raw))
    g_cpu = diffopt.grad(loss)(params["white_balance"]["gains"], raw)
    np.testing.assert_allclose(cp.asnumpy(g_gpu), g_cpu, rtol=1e-9)
