"""diffopt.modes: the Jacobian mode chooser and the matrix-chain mixed mode."""

import numpy as onp
import pytest

import diffopt
import diffopt.numpy as np
from diffopt import modes

RNG = onp.random.default_rng(0)


def tanh_chain(dims, seed=0):
    """x -> tanh(W_k ... tanh(W_1 x)) with layer widths ``dims``."""
    r = onp.random.default_rng(seed)
    ws = [r.standard_normal((b, a)) / onp.sqrt(a) for a, b in zip(dims[:-1], dims[1:])]

    def f(x):
        for w in ws:
            x = np.tanh(w @ x)
        return x

    return f


def elementwise_heavy(n, m, seed=0):
    p = onp.random.default_rng(seed).standard_normal((m, n)) / onp.sqrt(n)

    def f(x):
        for _ in range(3):
            x = np.sin(x) * np.cos(x) + 0.1 * x**2
        y = p @ x
        return np.tanh(y) * 1.1 + np.exp(-(y**2))

    return f


@pytest.mark.parametrize("f, n, expected", [
    (tanh_chain([1000, 1]), 1000, "reverse"),
    (tanh_chain([1, 1000]), 1, "forward"),
    (tanh_chain([1000, 64, 1]), 1000, "reverse"),
    (tanh_chain([1, 64, 1000]), 1, "forward"),
    (elementwise_heavy(1000, 1), 1000, "reverse"),
    (elementwise_heavy(1, 1000), 1, "forward"),
    (tanh_chain([1000] + [16] * 10 + [10]), 1000, "reverse"),
    (tanh_chain([10] + [16] * 10 + [1000]), 10, "forward"),
    (lambda x: np.sum(x**2), 1000, "reverse"),
])
def test_choose_mode_clear_cut(f, n, expected):
    assert modes.choose_mode(f, (RNG.standard_normal(n),)) == expected


def test_choose_mode_argnums_and_cache():
    w = RNG.standard_normal((1000, 3))

    def f(a, x):
        return np.tanh(a @ x)

    x = RNG.standard_normal(3)
    assert modes.choose_mode(f, (w, x), argnums=1) == "forward"   # 3 inputs, 1000 outputs
    assert modes.choose_mode(f, (w, x), argnums=0) == "reverse"   # 3000 inputs, 1000 outputs
    assert modes.choose_mode(f, (w, x), argnums=1) == "forward"   # cached decision
    costs = modes.mode_costs(f, (w, x), argnums=1)
    assert (costs["n"], costs["m"]) == (3, 1000)
    assert costs["forward"] < costs["reverse"]


def test_cuts_of_bottleneck_program():
    f = tanh_chain([1000, 10, 1000])
    x = RNG.standard_normal(1000)
    tr = modes._Traced(f, [x])
    cuts = modes.find_cuts(tr.eqns, tr.inputs[0], tr.outputs[0])
    shapes = [v.shape for _, v in cuts]
    assert shapes == [(1000,), (10,), (10,), (1000,), (1000,)]
    assert [k for k, _ in cuts] == [0, 1, 2, 3, 4]
    _, tree = modes.plan(tr.eqns, cuts)
    # the plan goes through the 10-wide bottleneck: a product of two small Jacobians
    assert tree[0] == "product" and cuts[tree[2]][1].shape == (10,)


def test_no_cut_inside_parallel_branches():
    def f(x):
        a = np.sin(x)
        b = np.cos(x)   # x and a are both live here: no cut
        return a * b

    x = RNG.standard_normal(5)
    tr = modes._Traced(f, [x])
    cuts = modes.find_cuts(tr.eqns, tr.inputs[0], tr.outputs[0])
    assert [k for k, _ in cuts] == [0, len(tr.eqns)]


PROGRAMS = [
    (tanh_chain([1000, 10, 1000]), (1000,)),
    (tanh_chain([1000, 10, 1000, 10]), (1000,)),
    (tanh_chain([10, 300, 5, 200, 3]), (10,)),
    (tanh_chain([4, 7, 2, 6]), (4,)),
    (elementwise_heavy(20, 30), (20,)),
    (lambda x: np.sin(x) * np.cos(x), (6,)),                           # no useful cut
    (lambda x: np.sum(x**3), (8,)),                                      # scalar output
    (lambda x: np.tanh(x @ onp.ones((3, 4))).T * 2.0, (5, 3)),           # matrix in and out
    (lambda x: np.exp(np.reshape(x, (4, 2)))[1:] + np.ones((3, 2)), (8,)),  # constant operand
]


@pytest.mark.parametrize("f, shape", PROGRAMS)
def test_optimal_equals_jacfwd(f, shape):
    x = RNG.standard_normal(shape)
    expected = diffopt.jacfwd(f)(x)
    got = modes.jacobian_optimal(f)(x)
    assert got.shape == expected.shape
    onp.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_optimal_other_argnums_and_trivial_outputs():
    w = RNG.standard_normal((30, 4))
    x = RNG.standard_normal(4)
    f = lambda w, x: np.tanh(w @ x)  # noqa: E731
    onp.testing.assert_allclose(modes.jacobian_optimal(f, argnums=1)(w, x),
                                diffopt.jacfwd(f, argnums=1)(w, x), rtol=1e-12)
    onp.testing.assert_array_equal(modes.jacobian_optimal(lambda x: x)(x), onp.eye(4))
    zero = modes.jacobian_optimal(lambda x: onp.ones(3))(x)
    assert zero.shape == (3, 4) and not zero.any()


def test_optimal_errors():
    with pytest.raises(TypeError, match="one array"):
        modes.jacobian_optimal(lambda t: t[0] * t[1])((onp.ones(2), onp.ones(2)))
    with pytest.raises(TypeError, match="one array"):
        modes.jacobian_optimal(lambda x: (x, x))(onp.ones(2))
    with pytest.raises(TypeError, match="int argnums"):
        modes.jacobian_optimal(lambda x: x, argnums=(0,))
