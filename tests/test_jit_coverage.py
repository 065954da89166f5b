"""jit equals eager for every elementwise primitive (values and gradients), on both backends."""

import warnings

import numpy as np
import pytest
from test_elementwise import BINARY, UNARY  # the same input domains as the elementwise tests

import diffopt
import diffopt.numpy as dnp
from diffopt.compile import jit

SHAPE = (2, 3)


def _unary_inputs(name):
    return UNARY[name][0](np.random.default_rng(hash(name) % 2**32), SHAPE)


def _binary_inputs(name):
    return BINARY[name][0](np.random.default_rng(hash(name) % 2**32), SHAPE, SHAPE)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_numpy_backend_unary(name):
    fn = getattr(dnp, name)
    x = np.asarray(_unary_inputs(name), dtype=float)
    np.testing.assert_allclose(jit(fn)(x), fn(x), rtol=1e-15)
    g = diffopt.grad(lambda x: dnp.sum(fn(x)))
    np.testing.assert_allclose(jit(g)(x), g(x), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_numpy_backend_binary(name):
    fn = getattr(dnp, name)
    x, y = _binary_inputs(name)
    np.testing.assert_allclose(jit(fn)(x, y), fn(x, y), rtol=1e-15)
    g = diffopt.grad(lambda x, y: dnp.sum(fn(x, y)), argnums=(0, 1))
    for a, b in zip(jit(g)(x, y), g(x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_numba_backend_lowers_every_elementwise_function_in_one_program():
    # One program that applies every function (one compile instead of dozens): no fallback
    # warning, and the same values as eager.
    unary = sorted(UNARY)
    binary = sorted(BINARY)
    xs = [np.asarray(_unary_inputs(n), dtype=float) for n in unary]
    ys = [tuple(np.asarray(a, dtype=float) for a in _binary_inputs(n)) for n in binary]

    def program(xs, ys):
        return ([getattr(dnp, n)(x) for n, x in zip(unary, xs)]
                + [getattr(dnp, n)(a, b) for n, (a, b) in zip(binary, ys)])

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to the NumPy backend would warn
        got = jit(program, backend="numba")(xs, ys)
    for name, a, b in zip(unary + binary, got, program(xs, ys)):
        np.testing.assert_allclose(a, b, rtol=1e-13, err_msg=name)
