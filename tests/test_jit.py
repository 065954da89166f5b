"""diffopt.compile.jit: outputs equal eager outputs (NumPy and Numba backends), caching by
signature, the Numba fallback, control-flow errors, recorded compile timings, pytree arguments."""

import warnings

import numpy as onp
import pytest

import diffopt
import diffopt.numpy as np
from diffopt.compile import jit
from diffopt.compile.codegen_numba import NotLowerable, generate_numba
from diffopt.core.graph import make_graph

rng = onp.random.default_rng(0)
X = rng.uniform(0.2, 0.9, (5,))
M = rng.normal(size=(4, 5))
A = rng.normal(size=(6, 5))


def chain(x):
    for _ in range(100):
        x = np.sin(x) * 1.01 + 0.1
    return x


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def tanh_loss(x):
    return np.sum(np.tanh(A @ x) ** 2)


def rosen_hvp(x, v):
    return diffopt.hvp(rosen, x, v)


def _close(a, b):
    leaves_a = diffopt.core.pytree.tree_flatten(a)[0]
    leaves_b = diffopt.core.pytree.tree_flatten(b)[0]
    assert len(leaves_a) == len(leaves_b)
    for u, w in zip(leaves_a, leaves_b):
        assert onp.shape(u) == onp.shape(w)
        onp.testing.assert_allclose(u, w, rtol=1e-12, atol=1e-12)


# --- NumPy backend: every kind of primitive -------------------------------------------------------
ELEMENTWISE = [
    lambda x: np.sin(x) * np.cos(x) + np.exp(-x) / (1 + x ** 2),
    lambda x: np.log(x) - np.sqrt(x) + np.tanh(x) * np.arctan(x),
    lambda x: np.maximum(x, 0.5) + np.minimum(x, 0.3) - np.abs(x - 0.5),
    lambda x: np.where(x > 0.5, x ** 3, -x) + np.clip(x, 0.3, 0.6),
    lambda x: np.arcsin(x) + np.arccos(x) + np.sinh(x) + np.cosh(x) + np.log1p(x) + np.expm1(x),
    lambda x: np.hypot(x, 2.0) + np.arctan2(x, 1.5) + np.square(x) + np.reciprocal(x),
]
REDUCTIONS_INDEXING = [
    lambda x: np.sum(x),
    lambda x: np.sum(M * x, axis=1),
    lambda x: np.sum(M * x, axis=0, keepdims=True),
    lambda x: np.mean(x) + np.sum(x[1:] * x[:-1]),
    lambda x: x[::2] + x[1:4:2].sum(),
    lambda x: (M * x)[1:3, ::-1],
    lambda x: np.reshape(M * x, (5, 4)).T[:, 1],
    lambda x: np.broadcast_to(x, (3, 5)) * 2.0,
    lambda x: M @ x,
    lambda x: (x[:, None] * x[None, :]) @ M.T,
    lambda x: np.at(x)[1:3].set(0.0) + np.at(x)[::2].add(1.0),
]


@pytest.mark.parametrize("f", ELEMENTWISE + REDUCTIONS_INDEXING)
def test_numpy_backend_matches_eager(f):
    _close(jit(f)(X), f(X))


@pytest.mark.parametrize("f", ELEMENTWISE[:2])
def test_numpy_backend_scalars(f):
    _close(jit(f)(0.4), f(0.4))


DERIVATIVES = [
    (diffopt.grad(chain), (0.3,)),
    (diffopt.grad(rosen), (X,)),
    (rosen_hvp, (X, X[::-1].copy())),
    (diffopt.jacfwd(lambda x: np.tanh(A @ x)), (X,)),
    (diffopt.jacrev(lambda x: x[1:] * x[:-1] ** 2), (X,)),
    (diffopt.grad(tanh_loss), (X,)),
    (lambda x, v: diffopt.hvp(tanh_loss, x, v), (X, X ** 2)),
]


@pytest.mark.parametrize("f, args", DERIVATIVES)
def test_derivative_programs_numpy(f, args):
    _close(jit(f)(*args), f(*args))


def test_numpy_source_is_readable():
    src = jit(lambda x: np.sin(x) * 2.0).source(1.0)
    assert "sin_0(a)" in src and "2.0" in src and src.startswith("def ")
    assert "bind" not in src


def test_numpy_compile_records_its_timings():
    # How long compiling takes is a benchmark figure (benchmarks/jit.py), not a test assertion.
    x = onp.linspace(-1, 1, 1000)
    for f, args in [(diffopt.grad(chain), (0.3,)), (diffopt.grad(rosen), (x,)),
                    (rosen_hvp, (x, x)), (diffopt.grad(tanh_loss), (X,))]:
        j = jit(f)
        j(*args)
        assert j.compile_seconds > 0
        assert set(j.timings) >= {"trace", "codegen"}


# --- caching --------------------------------------------------------------------------------------
def test_cache_by_signature():
    calls = []

    def f(x):
        calls.append(1)  # runs only while tracing
        return np.sin(x) * 2

    j = jit(f)
    j(onp.ones(3))
    j(onp.zeros(3))
    assert len(calls) == 1 and j.cache_size == 1
    _close(j(onp.arange(4.0)), f(onp.arange(4.0)))
    assert j.cache_size == 2  # new shape: traced again
    j(onp.ones(3, dtype=onp.float32))
    assert j.cache_size == 3  # new dtype
    j(1.0)
    j(2.0)
    assert j.cache_size == 4  # Python scalars: one signature per type
    j(onp.float64(1.0))
    assert j.cache_info()["size"] == 5


def test_pytree_arguments_and_outputs():
    def f(params, x):
        w, b = params["w"], params["b"]
        y = np.tanh(w @ x + b)
        return {"y": y, "sum": np.sum(y)}, y[0]

    params = {"w": M, "b": onp.ones(4)}
    for backend in ("numpy", "numba"):
        j = jit(f, backend=backend)
        _close(j(params, X), f(params, X))
    g = jit(diffopt.grad(lambda p: np.sum(np.tanh(p["w"] @ X + p["b"]) ** 2)))
    _close(g(params), diffopt.grad(lambda p: np.sum(np.tanh(p["w"] @ X + p["b"]) ** 2))(params))
    assert jit(lambda x: (x, x * 2))(1.0) == (1.0, 2.0)


# --- under the transforms -------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_jitted_function_under_grad_is_one_operation_with_a_compiled_vjp(backend):
    def f(params, x):
        return np.tanh(params["w"] @ x + params["b"]) * x[:4]

    j = jit(f, backend=backend)
    params = {"w": M, "b": onp.ones(4)}

    def loss(fn):
        return lambda p, x: np.sum(fn(p, x) ** 2)

    got = diffopt.grad(loss(j), argnums=(0, 1))(params, X)
    want = diffopt.grad(loss(f), argnums=(0, 1))(params, X)
    _close(got, want)
    # the closed form of d/dx sum(tanh(Mx + 1)^2 x^2) agrees too
    z = onp.tanh(M @ X + 1)
    dx = M.T @ (2 * z * (1 - z**2) * X[:4] ** 2)
    dx[:4] += 2 * z**2 * X[:4]
    onp.testing.assert_allclose(got[1], dx, rtol=1e-12)
    # the call was recorded through the compiled programs: the forward once, its VJP once
    assert j.cache_size == 1 and j._rule.backward.cache_size == 1
    # forward mode, nested derivatives, vmap: f is traced instead, so they stay exact
    v = onp.arange(5.0)
    _close(diffopt.jvp(lambda x: j(params, x), (X,), (v,)),
           diffopt.jvp(lambda x: f(params, x), (X,), (v,)))
    _close(diffopt.hessian(lambda x: np.sum(j(params, x)))(X),
           diffopt.hessian(lambda x: np.sum(f(params, x)))(X))
    _close(diffopt.vmap(lambda x: j(params, x))(onp.stack([X, 2 * X])),
           onp.stack([f(params, X), f(params, 2 * X)]))


# --- errors ---------------------------------------------------------------------------------------
def test_control_flow_raises_clear_error():
    def f(x):
        return x if x > 0 else -x

    for backend in ("numpy", "numba"):
        with pytest.raises(TypeError, match="where"):
            jit(f, backend=backend)(1.0)
    f_where = jit(lambda x: np.where(x > 0, x, -x))
    assert f_where(-2.0) == 2.0


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        jit(np.sin, backend="tpu")


def test_cuda_backend_without_cuda_says_what_to_install(monkeypatch):
    import diffopt.cuda

    monkeypatch.setattr(diffopt.cuda, "MODE", None)  # (the tests under tests/cuda run it)
    with pytest.raises(RuntimeError, match=r'jit\(backend="cuda"\) needs CUDA: install'):
        jit(np.sin, backend="cuda")


# --- Numba backend --------------------------------------------------------------------------------
def test_numba_fallback_warns_and_stays_correct():
    def f(x):
        w, v = np.linalg.eigh(x)
        return np.sum(w)

    s = M.T @ M
    j = jit(f, backend="numba")
    with pytest.warns(UserWarning, match="eigh"):
        out = j(s)
    _close(out, f(s))
    assert j.cache_info()["backends"] == ["numpy"]
    with pytest.raises(NotLowerable):
        generate_numba(make_graph(f)(s))


NUMBA_PROGRAMS = [
    (lambda x: np.sum(np.sin(x) * np.exp(-x)) + (M @ x)[1:].sum() + np.maximum(x, 0.5)[::2].sum(),
     (X,)),
    (diffopt.grad(chain), (0.3,)),
    (diffopt.grad(rosen), (X,)),
    (rosen_hvp, (X, X ** 2)),
    (diffopt.jacfwd(lambda x: np.tanh(A @ x)), (X,)),
    (diffopt.grad(tanh_loss), (X,)),
]


@pytest.mark.parametrize("f, args", NUMBA_PROGRAMS)
def test_numba_matches_eager(f, args):
    j = jit(f, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything here must lower: no fallback
        out = j(*args)
    _close(out, f(*args))
    assert j.cache_info()["backends"] == ["numba"]
    assert j.timings["numba"] > 0
    assert "_kernel" in j.source(*args)


def test_numba_scalar_chain_is_scalar_code():
    j = jit(diffopt.grad(chain), backend="numba")
    j(0.3)
    src = j.source(0.3)
    assert "_np.full" not in src and "[" not in src.split("def jitted(")[0]
    _close(j(onp.float64(0.7)), diffopt.grad(chain)(0.7))  # 0-d NumPy input: a new signature


def test_numba_fuses_single_use_elementwise():
    src = jit(lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2), backend="numba").source(X)
    kernel = src.split("def jitted(")[0]
    assert "_np.sum((100.0 * " in kernel and kernel.count(" = ") <= 3  # one fused expression

