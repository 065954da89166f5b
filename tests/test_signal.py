"""diffopt.scipy.signal: values against scipy.signal (plain and traced inputs, every mode and
method, 1-d to 3-d, real and complex), derivatives against central differences (check_grads,
order 2, forward and reverse) in both inputs, and SciPy's argument errors.
"""

import numpy as np
import pytest
import scipy.signal as ss

import diffopt
import diffopt.numpy as dnp
from diffopt import jvp, vmap
from diffopt.numerical import check_grads
from diffopt.scipy import signal as S

MODES = ["full", "same", "valid"]
METHODS = ["direct", "fft", "auto"]


def randn(*shape, seed=0, complex_=False):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


def traced(f, *args):
    """f evaluated on traced inputs (the primal of a jvp)."""
    return jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]


SHAPES = [((7,), (4,)), ((4,), (7,)), ((6,), (6,)), ((5, 6), (2, 3)), ((3, 4), (4, 5)),
          ((4, 3, 5), (2, 3, 2))]
KINDS = [(False, False), (True, False), (False, True), (True, True)]  # complex in1, in2


def pair(s1, s2, kind, seed=0):
    return randn(*s1, seed=seed, complex_=kind[0]), randn(*s2, seed=seed + 1, complex_=kind[1])


def assert_same(got, expected, rtol=1e-10):
    assert got.shape == expected.shape
    assert np.iscomplexobj(got) == np.iscomplexobj(expected)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


# --- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s1,s2", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_convolve_correlate_values(name, method, mode, s1, s2, kind):
    a, b = pair(s1, s2, kind)
    if mode == "valid" and not (all(map(np.greater_equal, s1, s2))
                                or all(map(np.less_equal, s1, s2))):
        with pytest.raises(ValueError):
            traced(lambda a, b: getattr(S, name)(a, b, mode, method), a, b)
        return
    expected = getattr(ss, name)(a, b, mode, method)
    assert_same(getattr(S, name)(a, b, mode, method), expected)
    assert_same(traced(lambda a, b: getattr(S, name)(a, b, mode, method), a, b), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s1,s2", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_fftconvolve_values(mode, s1, s2, kind):
    a, b = pair(s1, s2, kind)
    try:
        expected = ss.fftconvolve(a, b, mode)
    except ValueError:
        with pytest.raises(ValueError):
            traced(lambda a, b: S.fftconvolve(a, b, mode), a, b)
        return
    assert_same(traced(lambda a, b: S.fftconvolve(a, b, mode), a, b), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axes", [0, (1,), [-1, 0], (2, 0)])
def test_fftconvolve_axes_broadcast(mode, axes):
    a = randn(5, 4, 3, seed=2)
    conv = {int(ax) % 3 for ax in np.atleast_1d(axes)}
    # convolved axes shorter than a's; the others a's size or 1 (broadcast)
    b = randn(*((3, 2, 2)[i] if i in conv else (1, 4, 3)[i] for i in range(3)), seed=3,
              complex_=True)
    expected = ss.fftconvolve(a, b, mode, axes)
    assert_same(traced(lambda a, b: S.fftconvolve(a, b, mode, axes), a, b), expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm", "pad", "circular", "symmetric"])
@pytest.mark.parametrize("fillvalue", [0, 1.5])
@pytest.mark.parametrize("s1,s2", [((5, 6), (2, 3)), ((4, 4), (3, 3)), ((3, 3), (4, 5))])
@pytest.mark.parametrize("kind", [(False, False), (True, False)])
def test_convolve2d_values(mode, boundary, fillvalue, s1, s2, kind):
    a, b = pair(s1, s2, kind)
    expected = ss.convolve2d(a, b, mode, boundary, fillvalue)
    assert_same(S.convolve2d(a, b, mode, boundary, fillvalue), expected)
    assert_same(traced(lambda a, b: S.convolve2d(a, b, mode, boundary, fillvalue), a, b),
                expected)


def test_scalars_and_integers():
    assert S.convolve(2.0, 3.0) == ss.convolve(2.0, 3.0)
    assert traced(lambda x: S.convolve(x, 3.0), np.array(2.0)) == 6.0
    assert traced(lambda x: S.fftconvolve(x, 3.0), np.array(2.0)) == 6.0
    np.testing.assert_array_equal(S.convolve([1, 2], [1, 1]), ss.convolve([1, 2], [1, 1]))


# --- derivatives --------------------------------------------------------------------------------
GRAD_SHAPES = [((5,), (3,)), ((3,), (5,)), ((4, 3), (2, 2)), ((3, 2, 3), (2, 2, 2))]


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s1,s2", GRAD_SHAPES)
@pytest.mark.parametrize("kind", [(False, False), (True, True), (False, True)])
def test_convolve_correlate_grads(name, method, mode, s1, s2, kind):
    a, b = pair(s1, s2, kind, seed=5)
    check_grads(lambda a, b: getattr(S, name)(a, b, mode, method), (a, b), order=2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s1,s2", GRAD_SHAPES)
@pytest.mark.parametrize("kind", [(False, False), (True, False)])
def test_fftconvolve_grads(mode, s1, s2, kind):
    a, b = pair(s1, s2, kind, seed=7)
    check_grads(lambda a, b: S.fftconvolve(a, b, mode), (a, b), order=2)


def test_fftconvolve_axes_grads():
    a, b = randn(4, 3, seed=8), randn(2, 3, seed=9)
    check_grads(lambda a, b: S.fftconvolve(a, b, "same", axes=0), (a, b), order=2)
    with pytest.raises(ValueError, match="incompatible shapes"):
        traced(lambda a: S.fftconvolve(a, randn(2, 2), axes=0), a)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("kind", [(False, False), (True, True)])
def test_convolve2d_grads(mode, boundary, kind):
    a, b = pair((4, 3), (2, 3), kind, seed=10)
    check_grads(lambda a, b: S.convolve2d(a, b, mode, boundary), (a, b), order=2)


def test_convolve2d_fillvalue_is_differentiable():
    a, b = randn(3, 4, seed=11), randn(2, 2, seed=12)
    check_grads(lambda a, b, f: S.convolve2d(a, b, "same", fillvalue=f), (a, b, 0.7), order=2)
    # d/df of the full convolution with fill f: the sum of the kernel where the border is read
    d = diffopt.grad(lambda f: S.convolve2d(a, b, fillvalue=f)[0, 0])(0.7)
    np.testing.assert_allclose(d, b.sum() - b[0, 0])


def test_grad_through_a_loss_and_vmap():
    x, k = randn(8, seed=13), randn(3, seed=14)
    loss = lambda x, k: dnp.sum(S.convolve(x, k, "same") ** 2)  # noqa: E731
    check_grads(loss, (x, k), order=2)
    batch = vmap(lambda x: S.correlate(x, k, "valid"))(np.stack([x, 2 * x]))
    np.testing.assert_allclose(batch, np.stack([ss.correlate(x, k, "valid"),
                                                ss.correlate(2 * x, k, "valid")]))


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("traced_", [False, True])
def test_errors(traced_):
    call = (lambda f, *a, **k: traced(lambda x: f(x, *a, **k), np.ones(3))) if traced_ else \
        (lambda f, *a, **k: f(np.ones(3), *a, **k))
    with pytest.raises(ValueError, match="mode"):
        call(S.convolve, np.ones(2), "other")
    with pytest.raises(ValueError, match="method"):
        call(S.correlate, np.ones(2), "full", "other")
    with pytest.raises(ValueError, match="dimensionality"):
        call(S.convolve, np.ones((2, 2)))
    with pytest.raises(ValueError, match="dimensionality"):
        call(S.fftconvolve, np.ones((2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        call(S.convolve2d, np.ones(2))
    with pytest.raises(ValueError, match="boundary"):
        S.convolve2d(np.ones((2, 2)), np.ones((2, 2)), boundary="other")
    with pytest.raises(ValueError, match="fillvalue"):
        S.convolve2d(np.ones((2, 2)), np.ones((2, 2)), fillvalue=[1.0, 2.0])


def test_everything_is_exported():
    assert all(callable(getattr(S, name)) for name in S.__all__)
    import diffopt.scipy

    assert "signal" in diffopt.scipy.__all__ and diffopt.scipy.signal is S
