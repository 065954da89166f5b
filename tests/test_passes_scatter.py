"""The ``small_vectors`` pass: small 1-D arrays built from scalars (the VJPs of ``y[k]``, stacks)
stay scalars, so compiled kernels allocate one array literal instead of many tiny arrays."""

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import make_graph, vjp
from diffopt.compile.codegen_numba import _array_literal_items, generate_numba
from diffopt.compile.passes import simplify, small_vectors
from diffopt.models import trebuchet as tb


def _prims(graph) -> list:
    return [e.prim.name for e in graph.eqns]


def _same(a, b, tol=0.0):
    for x, y in zip(a, b, strict=True):
        assert np.shape(x) == np.shape(y) and np.asarray(x).dtype == np.asarray(y).dtype
        if tol:
            np.testing.assert_allclose(x, y, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(x, y)


def _vjp_graph(f, *examples):
    """The graph of ``(x..., ct) -> vjp of f at x applied to ct``."""
    def g(*args):
        *xs, ct = args
        return vjp(f, *xs)[1](ct)

    out = f(*examples)
    return make_graph(g)(*examples, np.zeros(np.shape(out)))


def test_vjp_of_components_is_one_vector():
    def f(y):
        return dnp.stack([y[0] * y[1], dnp.sin(y[..., 2]), y[-1] + y[0]])

    g = _vjp_graph(f, np.zeros(5))
    s = simplify(g)
    assert "scatter_add" not in _prims(s) and "zeros_like" not in _prims(s)
    assert _prims(s).count("concatenate") == 1
    rng = np.random.default_rng(0)
    for _ in range(5):
        args = rng.normal(size=5), rng.normal(size=3)
        _same(g(*args), s(*args))
    src = generate_numba(s, "k")[0]
    assert ".copy()" not in src and "_np.full" not in src
    assert src.count("_np.array([") == 1 and "0.0" in src  # position 3 is zero


def _random_program(rng, n: int):
    """A random program of scatters of scalars into zeros, adds, reads and one-element slices."""
    ops = [(rng.integers(4), int(rng.integers(-n, n)), bool(rng.integers(2)),
            rng.integers(1, 4)) for _ in range(8)]

    def f(x, s):
        vecs = [dnp.zeros_like(x)]
        scalars = [s[0], s[1]]
        for kind, k, ellipsis, j in ops:
            idx = (Ellipsis, k) if ellipsis else k
            a, c = vecs[-1], scalars[-j % len(scalars)]
            if kind == 0:  # a scatter into zeros, or into a vector
                vecs.append(dnp.at(dnp.zeros_like(x) if j == 1 else a)[idx].add(c * 1.5))
            elif kind == 1:
                vecs.append(a + vecs[-j % len(vecs)])
            elif kind == 2:
                scalars.append(a[idx] * scalars[-1])
            else:
                scalars.append(dnp.reshape(a[k % n:k % n + 1], ()) + 2.0)
        return vecs[-1] + vecs[len(vecs) // 2], dnp.stack(scalars), x * vecs[-1]

    return f


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_keep_their_values(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    f = _random_program(rng, n)
    g = make_graph(f)(np.zeros(n), np.zeros(2))
    s = simplify(g)
    assert "scatter_add" not in _prims(s)
    for _ in range(3):
        args = rng.normal(size=n), rng.normal(size=2)
        _same(g(*args), s(*args))
        _same(g(*args), small_vectors(g)(*args))
    # the gradient of the program's outputs too
    h = _vjp_graph(lambda x, s: dnp.sum(f(x, s)[1]) + dnp.sum(f(x, s)[0] ** 2), np.zeros(n),
                   np.zeros(2))
    hs = simplify(h)
    assert "scatter_add" not in _prims(hs)
    args = rng.normal(size=n), rng.normal(size=2), np.float64(rng.normal())
    _same(h(*args), hs(*args), tol=1e-15)


def test_reads_and_slices_become_scalars():
    g = make_graph(lambda x, a, b: (dnp.stack([a, b])[1] * dnp.reshape(x[1:2], ()),
                                    dnp.concatenate([x])))(np.zeros(3), 0.0, 0.0)
    s = simplify(g)
    assert _prims(s) == ["getitem", "multiply"]
    assert s.eqns[0].params["idx"] == (1,) and s.outputs[1] is s.inputs[0]
    _same(g(np.arange(3.0), 2.0, 3.0), s(np.arange(3.0), 2.0, 3.0))


def test_what_is_not_rewritten():
    # a scatter into a dense vector, into a large vector, a dynamic (slice) position, float32
    # scalars into float64 zeros (promotion), and a 2-D target stay as they were
    g = make_graph(lambda x, big, m, s32: (
        dnp.at(x)[1].add(2.0 * x[0]), dnp.at(big)[3].add(big[0]),
        dnp.at(dnp.zeros_like(x))[1:].add(x[0]), dnp.at(dnp.zeros_like(x))[0].add(s32),
        dnp.at(dnp.zeros_like(m))[0, 1].add(m[1, 1]),
    ))(np.zeros(3), np.zeros(40), np.zeros((2, 2)), np.float32(0))
    s = simplify(g)
    assert _prims(s).count("scatter_add") == 5
    assert "concatenate" not in _prims(s)


def test_trebuchet_kernels_agree():
    m_w = 200 * tb.LB
    with np.errstate(all="ignore"):  # (the example state is zeros)
        g = _vjp_graph(lambda t, u, m: tb.stage1_rhs(t, u, m), 0.0, np.zeros(6), m_w)
        s = simplify(g)
    assert "scatter_add" not in _prims(s)
    rng = np.random.default_rng(1)
    for _ in range(5):
        args = (0.1, tb.U0 + 0.1 * rng.normal(size=6), m_w, rng.normal(size=6))
        _same(g(*args), s(*args), tol=1e-15)
    src = generate_numba(s, "k")[0]
    assert ".copy()" not in src and src.count("_np.array([") == 1


def test_array_literal_items():
    assert _array_literal_items("_np.array([a[0], b])") == "a[0], b"
    assert _array_literal_items("_np.array([a]) + _np.array([b])") is None
    assert _array_literal_items("_np.array([a])[0]") is None
    assert _array_literal_items("x") is None


def test_numba_kernel_matches():
    numba = pytest.importorskip("numba")

    def f(y):
        return dnp.stack([y[0] * y[1], y[..., 2] ** 2])

    s = simplify(_vjp_graph(f, np.zeros(4)))
    src, _, consts = generate_numba(s, "k")
    ns = {"_np": np}
    exec(src, ns)  # noqa: S102 -- generated source
    kernel = numba.njit(ns["k_kernel"])
    y, ct = np.array([1.5, -2.0, 3.0, 4.0]), np.array([0.5, 2.0])
    (out,) = s(y, ct)
    np.testing.assert_array_equal(kernel(y, ct, *consts.values()), out)
    np.testing.assert_array_equal(out, [0.5 * -2.0, 0.5 * 1.5, 2.0 * 2 * 3.0, 0.0])
