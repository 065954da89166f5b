"""diffopt.jit(f, backend="cuda") under Numba's CUDA simulator: fused elementwise kernels and
reductions equal eager NumPy (float32 and float64, broadcasting, scalars, constants), derivatives
(grad of the jitted function, jit of grad, jvp), the array-module fallback and its one warning,
and the generated kernels compiled to PTX for cc 9.0 (float32 graphs: no float64 instruction)."""

import json
import os
import subprocess
import sys
import warnings

import numpy as onp
import pytest

import diffopt
import diffopt.cuda
import diffopt.numpy as np
from diffopt import grad, jvp
from diffopt.compile.codegen_cuda import generate_cuda
from diffopt.core.graph import make_graph

rng = onp.random.default_rng(0)
X = rng.uniform(0.1, 0.9, (3, 4))
Y = rng.uniform(0.1, 0.9, (4,))
C = rng.uniform(-1.0, 1.0, (3, 1))  # a closure array: a constant of the kernels

TOL = {onp.float32: dict(rtol=2e-5, atol=1e-6), onp.float64: dict(rtol=1e-12, atol=1e-14)}


def chain(x, y):
    return np.sin(x) * np.exp(y) + np.tanh(x - 0.5) / (1.0 + x * x)


def scalars(x, y):
    return np.where(x > 0.5, 2.0 * x ** 2 - 3, np.maximum(x, 0.3)) + np.sqrt(y) * C


def reductions(x, y):
    z = np.cos(x) * y
    return (np.sum(z, axis=0) + np.max(z, axis=1, keepdims=True) + np.mean(z) * np.min(x)
            + np.sum(z ** 2))


def two_outputs(x, y):
    u = np.log1p(x) + y
    return u, {"v": np.abs(u - 1.0) * np.sum(y)}


FUNCTIONS = [chain, scalars, reductions, two_outputs]


def _args(dtype):
    return X.astype(dtype), Y.astype(dtype)


def _close(a, b, dtype):
    for u, v in zip(_leaves(a), _leaves(b), strict=True):
        assert onp.asarray(u).dtype == onp.asarray(v).dtype
        onp.testing.assert_allclose(u, v, **TOL[dtype])


def _leaves(tree):
    from diffopt.core.pytree import tree_flatten

    return tree_flatten(tree)[0]


@pytest.mark.parametrize("dtype", [onp.float32, onp.float64])
@pytest.mark.parametrize("f", FUNCTIONS)
def test_cuda_backend_equals_eager(f, dtype):
    args = _args(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here falls back to the array module
        out = diffopt.jit(f, backend="cuda")(*args)
    _close(out, f(*args), dtype)


@pytest.mark.parametrize("dtype", [onp.float32, onp.float64])
@pytest.mark.parametrize("f", [chain, scalars, reductions])
def test_cuda_backend_gradients(f, dtype):
    args = _args(dtype)

    def loss(x, y):
        return np.sum(f(x, y) ** 2)

    expected = grad(loss, argnums=(0, 1))(*args)
    jitted = diffopt.jit(loss, backend="cuda")
    _close(grad(jitted, argnums=(0, 1))(*args), expected, dtype)  # compiled forward and VJP
    _close(diffopt.jit(grad(loss, argnums=(0, 1)), backend="cuda")(*args), expected, dtype)
    t = tuple(onp.ones_like(a) for a in args)
    _close(jvp(jitted, args, t), jvp(loss, args, t), dtype)


@pytest.mark.parametrize("shape,full", [((), (2, 3)), ((3,), (2, 3)), ((2, 1), (2, 3)),
                                        ((1, 3, 1), (2, 3, 4)), ((2, 1, 4), (2, 3, 4)),
                                        ((5, 1, 1, 2), (5, 3, 4, 2)), ((4,), (1, 4))])
def test_broadcast_index_arithmetic(shape, full):
    from diffopt.compile.codegen_cuda import _index

    expected = onp.broadcast_to(onp.arange(int(onp.prod(shape))).reshape(shape), full).ravel()
    got = [eval(_index(shape, full, "i"), {"i": i}) for i in range(expected.size)]  # noqa: S307
    onp.testing.assert_array_equal(got, expected)


def test_broadcasting_in_three_dimensions_and_small_intermediates():
    def f(x, y, z):
        small = np.exp(z) * 2.0  # (4,): computed inside the (2, 3, 4) kernel, and returned
        return np.tanh(x * y) + small - y / 3.0, small

    x, y, z = rng.normal(size=(2, 1, 4)), rng.normal(size=(3, 1)), rng.normal(size=(4,))
    jitted = diffopt.jit(f, backend="cuda")
    _close(jitted(x, y, z), f(x, y, z), onp.float64)
    assert len(generate_cuda(make_graph(f)(x, y, z)).kernels) == 1


def test_an_elementwise_chain_is_one_kernel():
    x, y = _args(onp.float32)
    plan = generate_cuda(make_graph(chain)(x, y))
    assert len(plan.kernels) == 1 and plan.fallback == []
    assert "math.tanh" in plan.kernels[0].source and "_np.float32(0.5)" in plan.kernels[0].source
    # elementwise work on both sides of a reduction it does not depend on fuses into one kernel
    plan = generate_cuda(make_graph(lambda x: np.exp(x) + np.sum(x) + np.sin(x))(x))
    assert len(plan.kernels) == 1
    assert plan.source.count("fused_") == 1


def test_float32_stays_float32():
    def f(x, y):  # Python numbers are weak: they take the array's dtype, as in NumPy
        return np.where(x > 0.5, 2.0 * x ** 2 - 3, np.maximum(x, 0.3)) + np.sqrt(y) / 3

    x, y = _args(onp.float32)
    jitted = diffopt.jit(f, backend="cuda")
    assert jitted(x, y).dtype == onp.float32
    assert "float64" not in jitted.source(x, y)


def test_other_primitives_run_on_the_array_module_with_one_warning():
    def f(x):
        return np.floor(x * 3.0) + np.sort(x, axis=1) * np.exp(x)

    x = X.astype(onp.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jitted = diffopt.jit(f, backend="cuda")
        out = jitted(x)
        jitted(x)  # (compiled once: no second warning)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "'floor'" in messages[0] and "'sort'" in messages[0] and "NumPy" in messages[0]
    _close(out, f(x), onp.float32)


def test_bool_integer_and_nonfinite_values():
    def f(x, n):
        return np.where(np.isnan(x) | (x > n), -1.0, x * n) + np.minimum(x, onp.inf)

    x = onp.array([0.5, onp.nan, 3.0, -onp.inf, 2.0])
    n = onp.arange(5)
    _close(diffopt.jit(f, backend="cuda")(x, n), f(x, n), onp.float64)


def test_scalar_inputs_and_outputs_and_new_shapes():
    jitted = diffopt.jit(lambda x: np.sum(np.exp(x) * 2.0), backend="cuda")
    assert onp.isclose(jitted(0.5), onp.exp(0.5) * 2.0)
    for shape in [(3,), (2, 5)]:
        x = onp.full(shape, 0.25)
        assert onp.isclose(jitted(x), onp.exp(0.25) * 2.0 * x.size)
    assert jitted.cache_size == 3


def test_without_cuda_the_backend_says_what_to_install(monkeypatch):
    monkeypatch.setattr(diffopt.cuda, "MODE", None)
    with pytest.raises(RuntimeError, match=r'jit\(backend="cuda"\) needs CUDA'):
        diffopt.jit(chain, backend="cuda")


# --- compile-only: PTX for the real target (the simulator has no compiler: another process) ----
_PTX_SCRIPT = r"""
import json, re, sys
import numpy as onp
import diffopt.numpy as np
from numba import cuda
from diffopt.compile.codegen_cuda import generate_cuda
from diffopt.compile.passes import simplify
from diffopt.core.graph import make_graph
from diffopt import grad

x = onp.ones((3, 4), onp.float32)
graphs = {
    "arith": lambda x: np.exp(x) * 0.5 + np.tanh(x - 1.0) / (1.0 + x * x) + np.maximum(x, 0.1),
    "where": lambda x: np.where(x > 0.5, np.sqrt(x), np.log1p(x)) ** 2 + x[0],
    "grad": grad(lambda x: np.sum(np.tanh(x) * x ** 3)),
    "trig": lambda x: np.sin(x) * np.cos(x),
}
out = {}
for name, f in graphs.items():
    plan = generate_cuda(simplify(make_graph(f)(x)))
    lines = []
    for k in plan.kernels:
        ptx, _ = cuda.compile_ptx(k.pyfunc(), k.signature(), cc=(9, 0))
        lines += [l.strip() for l in ptx.splitlines()
                  if ".f64" in l and not l.strip().startswith(".reg")]
    out[name] = {"kernels": len(plan.kernels), "f64": lines}
print(json.dumps(out))
"""


def test_generated_kernels_compile_to_ptx_without_float64():
    pytest.importorskip("numba.cuda")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    run = subprocess.run([sys.executable, "-c", _PTX_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    if run.returncode != 0 and "NVVM" in run.stderr:
        pytest.skip("numba-cuda's NVVM is not installed (numba-cuda[cu13])")
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for name in ("arith", "where", "grad"):
        assert result[name]["kernels"] >= 1
        assert result[name]["f64"] == [], (name, result[name])
    # libdevice's float32 sin/cos reduce huge arguments with one float64 product (|x| > 105615):
    # its three instructions per call are the only float64 ones
    trig = result["trig"]["f64"]
    assert all(("cvt" in line and ("f64.s64" in line or "f32.f64" in line))
               or "0d3BF921FB54442D19" in line for line in trig), trig
