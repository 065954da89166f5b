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
