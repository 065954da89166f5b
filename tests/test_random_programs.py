"""Property test: random compositions of primitives, AD in both modes against finite differences."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import diffopt.numpy as dnp
from diffopt import grad, jacfwd, jacrev
from diffopt.numerical import check_grads

# Smooth everywhere on the reals, and of moderate growth, so any composition stays well defined.
UNARY = {
    "sin": dnp.sin,
    "cos": dnp.cos,
    "tanh": dnp.tanh,
    "arctan": dnp.arctan,
    "softsq": lambda x: dnp.sqrt(x**2 + 1.0),
    "logsq": lambda x: dnp.log1p(x**2),
    "gauss": lambda x: dnp.exp(-(x**2)),
    "cube": lambda x: x**3 / (1.0 + x**2),
    "sinh_tame": lambda x: dnp.sinh(dnp.tanh(x)),
    "scale": lambda x: 0.5 * x - 0.25,
    "cumsum_or_flip": lambda x: x[::-1] * 0.7 + x,
    "mean_shift": lambda x: x - dnp.mean(x, axis=-1, keepdims=True),
}
BINARY = {
    "add": dnp.add,
    "sub": dnp.subtract,
    "mul": dnp.multiply,
    "div": lambda x, y: x / (1.5 + dnp.sin(y)),
    "hypot": lambda x, y: dnp.hypot(x, 1.0 + y**2),
    "logaddexp": dnp.logaddexp,
    "arctan2": lambda x, y: dnp.arctan2(x, 2.0 + dnp.cos(y)),
    "outer_sum": lambda x, y: x + dnp.sum(y * y) * 0.1,
}

leaf = st.sampled_from(["x", "y"])
programs = st.recursive(
    leaf,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), sub),
        st.tuples(st.sampled_from(sorted(BINARY)), sub, sub),
    ),
    max_leaves=6,
)


def evaluate(prog, x, y):
    if prog == "x":
        return x
    if prog == "y":
        return y
    if len(prog) == 2:
        return UNARY[prog[0]](evaluate(prog[1], x, y))
    return BINARY[prog[0]](evaluate(prog[1], x, y), evaluate(prog[2], x, y))


vectors = st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3).map(np.array)


@settings(max_examples=150, deadline=None)
@given(programs, vectors, vectors)
def test_random_program_derivatives_match_finite_differences(prog, x, y):
    f = lambda x, y: evaluate(prog, x, y) * dnp.ones(3)
    check_grads(f, (x, y), modes=("fwd", "rev"), order=1, rtol=1e-5, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(programs, vectors, vectors)
def test_random_program_second_order_and_jacobians(prog, x, y):
    f = lambda x: evaluate(prog, x, y) * dnp.ones(3)
    check_grads(f, (x,), order=2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jacfwd(f)(x), jacrev(f)(x), rtol=1e-10, atol=1e-12)
    g = grad(lambda x: dnp.sum(f(x)) + 0.0 * x[0])(x)  # + 0 x: keep x connected
    np.testing.assert_allclose(g, jacrev(f)(x).sum(0), rtol=1e-10, atol=1e-12)
