"""diffopt.numpy.fft: values against numpy.fft, derivatives against central differences
(check_grads, order 2, forward and reverse) on complex outputs directly and on real losses,
``vmap`` against a Python loop (with no loop fallback inside), and NumPy's argument errors.
"""

import warnings

import numpy as np
import pytest

import diffopt.core.batching as batching
import diffopt.numpy as dnp
from diffopt import grad, jacfwd, jacrev, vmap
from diffopt.numerical import check_grads

F = dnp.fft
NORMS = [None, "backward", "ortho", "forward"]


def randn(*shape, seed=0, complex_=False):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    return x + 1j * r.standard_normal(shape) if complex_ else x


X1 = randn(6, seed=1)
X2 = randn(3, 5, seed=2)
X3 = randn(2, 3, 4, seed=3)
Z1 = randn(7, seed=4, complex_=True)
Z2 = randn(4, 5, seed=5, complex_=True)
Z3 = randn(2, 4, 3, seed=6, complex_=True)


# --- values -------------------------------------------------------------------------------------
def test_every_numpy_fft_name_is_offered():
    assert set(F.__all__) == set(np.fft.__all__) and len(F.__all__) == 18
    assert all(callable(getattr(F, name)) for name in F.__all__)


ONE_AXIS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
ONE_AXIS_CASES = [  # (input, n, axis): default, padding, truncation, other axes, odd/even n
    (X1, None, -1), (X1, 9, -1), (X1, 4, 0), (X2, None, 0), (X2, 8, 1), (X2, 2, -2),
    (X3, 3, 1), (X3, 6, 0), (Z1, None, -1), (Z1, 10, 0), (Z1, 5, -1), (Z2, 7, 0), (Z3, 2, 2),
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", ONE_AXIS)
@pytest.mark.parametrize("x,n,axis", ONE_AXIS_CASES)
def test_one_axis_values_match_numpy(name, x, n, axis, norm):
    if name in ("rfft", "ihfft") and np.iscomplexobj(x):
        x = x.real
    if name in ("irfft", "hfft") and n is None and x.shape[axis] == 1:
        return
    out = getattr(F, name)(x, n, axis, norm)
    expected = getattr(np.fft, name)(x, n, axis, norm)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


N_AXES = ["fftn", "ifftn", "rfftn", "irfftn"]
N_AXES_CASES = [  # (input, s, axes)
    (X2, None, None), (X3, None, None), (X3, None, (0, 2)), (X3, (3, 6), (2, 0)),
    (X3, (5, 2, 2), None), (X2, (-1, 4), (0, 1)), (X2, (4,), None), (Z2, None, (1,)),
    (Z3, (3, 3, 5), (1, 0, 2)), (Z3, (2, 6), (-1, -2)), (Z2, (3, 3), (1, 1)),
    (X3, None, (1, 1)),
]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name", N_AXES)
@pytest.mark.parametrize("x,s,axes", N_AXES_CASES)
def test_n_axes_values_match_numpy(name, x, s, axes, norm):
    if name == "rfftn" and np.iscomplexobj(x):
        x = x.real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy 2: s without axes
        expected = getattr(np.fft, name)(x, s, axes, norm)
    out = getattr(F, name)(x, s, axes, norm)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fft2", "ifft2", "rfft2", "irfft2"])
@pytest.mark.parametrize("s,axes", [(None, (-2, -1)), ((4, 6), (-2, -1)), ((3, 2), (0, 2))])
def test_two_axes_values_match_numpy(name, s, axes):
    x = X3 if name == "rfft2" else Z3
    out = getattr(F, name)(x, s, axes, "ortho")
    np.testing.assert_allclose(out, getattr(np.fft, name)(x, s, axes, "ortho"), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "fftn", "irfftn"])
def test_single_precision_stays_single(name):
    x = X2.astype(np.float32) if name.startswith("r") else Z2.astype(np.complex64)
    out, expected = getattr(F, name)(x), getattr(np.fft, name)(x)
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_lists_and_integers_as_input():
    np.testing.assert_allclose(F.fft([1, 2, 3]), np.fft.fft([1, 2, 3]))
    np.testing.assert_allclose(F.irfft([1, 2, 3], 5), np.fft.irfft([1, 2, 3], 5))


def test_round_trips():
    np.testing.assert_allclose(F.irfft(F.rfft(X1, 9), 9), np.pad(X1, (0, 3)), atol=1e-12)
    np.testing.assert_allclose(F.ifftn(F.fftn(Z3, axes=(0, 2)), axes=(0, 2)), Z3, atol=1e-12)
    np.testing.assert_allclose(F.irfftn(F.rfftn(X3), X3.shape), X3, atol=1e-12)
    np.testing.assert_allclose(F.hfft(F.ihfft(X1, norm="ortho"), 6, norm="ortho"), X1, atol=1e-12)


@pytest.mark.parametrize("axes", [None, 0, (1,), (0, -1), (2, 0, 1)])
def test_shifts_match_numpy(axes):
    np.testing.assert_array_equal(F.fftshift(X3, axes), np.fft.fftshift(X3, axes))
    np.testing.assert_array_equal(F.ifftshift(X3, axes), np.fft.ifftshift(X3, axes))
    np.testing.assert_array_equal(F.ifftshift(F.fftshift(Z3, axes), axes), Z3)


@pytest.mark.parametrize("n,d", [(1, 1.0), (4, 0.5), (7, 2.0), (8, 0.1)])
def test_frequencies_match_numpy(n, d):
    np.testing.assert_array_equal(F.fftfreq(n, d), np.fft.fftfreq(n, d))
    np.testing.assert_array_equal(F.rfftfreq(n, d), np.fft.rfftfreq(n, d))
    np.testing.assert_array_equal(F.fftfreq(n), np.fft.fftfreq(n))


# --- derivatives --------------------------------------------------------------------------------
def _call(name, **kw):
    fn = getattr(F, name)
    return lambda x: fn(x, **kw)


GRAD_CASES = [  # (id, function, input): complex (or real, for irfft's real-part reading) outputs
    ("fft", _call("fft"), Z1),
    ("fft-real-in", _call("fft", n=8), X1),
    ("fft-pad-ortho", _call("fft", n=10, norm="ortho"), Z1),
    ("fft-crop-forward-axis0", _call("fft", n=2, axis=0, norm="forward"), Z2),
    ("ifft", _call("ifft"), Z1),
    ("ifft-pad-axis0", _call("ifft", n=6, axis=0), Z2),
    ("ifft-crop-ortho", _call("ifft", n=3, norm="ortho"), X2),
    ("rfft-even", _call("rfft"), X1),
    ("rfft-odd-pad", _call("rfft", n=9), X1),
    ("rfft-crop-axis0-ortho", _call("rfft", n=2, axis=0, norm="ortho"), X2),
    ("rfft-forward", _call("rfft", n=7, norm="forward"), X2),
    ("irfft-default", _call("irfft"), Z1),
    ("irfft-even-pad", _call("irfft", n=16), Z1),
    ("irfft-odd-crop", _call("irfft", n=5), Z1),
    ("irfft-axis0-ortho", _call("irfft", n=4, axis=0, norm="ortho"), Z2),
    ("irfft-forward", _call("irfft", n=9, norm="forward"), Z2),
    ("irfft-real-in", _call("irfft", n=7), X1),
    ("hfft", _call("hfft"), Z1),
    ("hfft-odd-crop-axis0-ortho", _call("hfft", n=5, axis=0, norm="ortho"), Z2),
    ("hfft-real-in-forward", _call("hfft", n=8, norm="forward"), X1),
    ("ihfft", _call("ihfft"), X1),
    ("ihfft-pad-axis0-forward", _call("ihfft", n=5, axis=0, norm="forward"), X2),
    ("fftn", _call("fftn"), Z3),
    ("fftn-s-axes", _call("fftn", s=(3, 5), axes=(2, 0), norm="ortho"), Z3),
    ("fftn-repeated-axis", _call("fftn", s=(3, 6), axes=(1, 1)), Z2),
    ("ifftn", _call("ifftn", s=(2, 6), axes=(0, 2), norm="forward"), Z3),
    ("rfftn", _call("rfftn"), X3),
    ("rfftn-s", _call("rfftn", s=(4, 3), axes=(2, 0), norm="ortho"), X3),
    ("irfftn", _call("irfftn"), Z3),
    ("irfftn-s-even", _call("irfftn", s=(3, 4, 6)), Z3),
    ("irfftn-s-odd-forward", _call("irfftn", s=(5, 3), axes=(0, 1), norm="forward"), Z3),
    ("fft2", _call("fft2", s=(3, 7)), Z2),
    ("ifft2", _call("ifft2", norm="ortho"), Z3),
    ("rfft2", _call("rfft2", s=(6, 3)), X2),
    ("irfft2", _call("irfft2", s=(2, 5)), Z2),
    ("fftshift", _call("fftshift"), Z3),
    ("ifftshift-axes", _call("ifftshift", axes=(0, 2)), X3),
]


@pytest.mark.parametrize("name,fn,x", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_derivatives_order_2(name, fn, x):
    check_grads(fn, (x,), modes=("fwd", "rev"), order=2)


LOSSES = [  # real -> real losses, through a nonlinearity so that second derivatives are not zero
    ("power", lambda f: lambda x: dnp.sum(dnp.abs(f(x)) ** 2)),
    ("weighted-real", lambda f: lambda x: dnp.real(dnp.sum(_weights(f(x)) * f(x) ** 2))),
]


def _weights(y):
    return np.cos(np.arange(np.prod(y.shape))).reshape(y.shape) + 0.5j


@pytest.mark.parametrize("loss_id,loss", LOSSES, ids=[lo[0] for lo in LOSSES])
@pytest.mark.parametrize("name,fn,x", GRAD_CASES[::3], ids=[c[0] for c in GRAD_CASES[::3]])
def test_real_losses_order_2(name, fn, x, loss_id, loss):
    check_grads(loss(fn), (x,), modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("norm,scale", [(None, 8), ("ortho", 1), ("forward", 1 / 8)])
def test_parseval_gradient(norm, scale):
    # sum |fft(x)|^2 = scale * sum |x|^2, so its gradient is 2 scale x (2 scale conj(z) for
    # complex z, under the pairing Re sum(u * v))
    x, z = randn(8, seed=7), randn(8, seed=8, complex_=True)
    loss = lambda v: dnp.sum(dnp.abs(F.fft(v, norm=norm)) ** 2)
    np.testing.assert_allclose(grad(loss)(x), 2 * scale * x, rtol=1e-12)
    np.testing.assert_allclose(grad(loss)(z), 2 * scale * np.conj(z), rtol=1e-12)


@pytest.mark.parametrize("n", [6, 7])
def test_irfft_cotangent_is_real_on_self_mirrored_bins(n):
    # irfft reads only the real part of bin 0 (and of bin n/2 for even n)
    g = grad(lambda a: dnp.sum(F.irfft(a, n) * np.arange(1.0, n + 1)))(randn(4, complex_=True))
    assert g[0].imag == 0 and (g[3].imag == 0) == (n % 2 == 0)
    assert abs(g[1].imag) > 1e-3


def test_rfft_jacobians_agree():
    f = lambda x: dnp.real(F.rfft(x, 7)) + dnp.imag(F.rfft(x, 7))
    np.testing.assert_allclose(jacfwd(f)(X1), jacrev(f)(X1), atol=1e-12)
    expected = np.real(np.fft.rfft(np.eye(7)[:, :6], axis=0)) + np.imag(
        np.fft.rfft(np.eye(7)[:, :6], axis=0))
    np.testing.assert_allclose(jacfwd(f)(X1), expected, atol=1e-12)


# --- vmap ---------------------------------------------------------------------------------------
@pytest.fixture
def no_loop_fallback(monkeypatch):
    """Fail if any primitive falls back to batching by a Python loop."""

    def refuse(trace, prim, *args, **kwargs):
        raise AssertionError(f"{prim.name} fell back to a batch loop")

    monkeypatch.setattr(batching, "batch_by_loop", refuse)


VMAP_CASES = [  # (id, function, input, in_axis)
    ("fft", _call("fft"), Z2, 0),
    ("fft-pad-axis0", _call("fft", n=6, axis=0, norm="ortho"), Z2, 1),
    ("rfft", _call("rfft"), X2, 0),
    ("rfft-crop", _call("rfft", n=3), X3, 1),
    ("irfft", _call("irfft", n=7), Z2, 0),
    ("ifft-real", _call("ifft", n=4), X2, 1),
    ("fftn", _call("fftn", s=(3, 5)), Z3, 0),
    ("rfftn", _call("rfftn"), X3, 2),
    ("irfftn", _call("irfftn", s=(2, 4), norm="forward"), Z3, 0),
    ("hfft", _call("hfft", n=5), Z2, 1),
    ("ihfft", _call("ihfft", n=4, norm="ortho"), X2, 0),
    ("fftshift", _call("fftshift"), X3, 1),
]


@pytest.mark.parametrize("name,fn,x,in_axis", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_loop(name, fn, x, in_axis, no_loop_fallback):
    out = vmap(fn, in_axes=in_axis)(x)
    looped = np.stack([fn(np.take(x, i, axis=in_axis)) for i in range(x.shape[in_axis])])
    np.testing.assert_allclose(out, looped, rtol=1e-12, atol=1e-12)


def test_vmap_of_gradients(no_loop_fallback):
    loss = lambda x: dnp.sum(dnp.abs(F.rfft(x, 5)) ** 3) + dnp.sum(F.irfft(F.fft(x), 6) ** 2)
    out = vmap(grad(loss))(X2)
    np.testing.assert_allclose(out, np.stack([grad(loss)(row) for row in X2]), rtol=1e-12)


# --- errors -------------------------------------------------------------------------------------
def test_bad_norm():
    with pytest.raises(ValueError, match="Invalid norm value 'bad'"):
        F.fft(X1, norm="bad")
    with pytest.raises(ValueError, match="Invalid norm value"):
        F.irfftn(Z2, norm="Ortho")


@pytest.mark.parametrize("name", ["fft", "ifftn", "rfft2", "hfft", "ihfft"])
def test_out_is_refused(name):
    with pytest.raises(TypeError, match="does not support out="):
        getattr(F, name)(X2, out=np.empty((3, 5), complex))


def test_bad_axes():
    with pytest.raises(np.exceptions.AxisError):
        F.fft(X2, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        F.rfft(np.float64(1.0))
    with pytest.raises(np.exceptions.AxisError):
        F.fftn(X2, axes=(0, -3))
    with pytest.raises(np.exceptions.AxisError):
        F.fft2(X1)
    with pytest.raises(ValueError, match="Shape and axes have different lengths"):
        F.fftn(X3, s=(2, 2), axes=(0,))
    with pytest.raises(ValueError, match="at least one axis"):
        F.rfftn(X3, axes=())


def test_bad_lengths():
    with pytest.raises(ValueError, match=r"Invalid number of FFT data points \(0\)"):
        F.fft(X1, n=0)
    with pytest.raises(ValueError, match=r"Invalid number of FFT data points \(0\)"):
        F.irfft(np.ones(1))  # the default n = 2 (m - 1) is 0
    with pytest.raises(ValueError, match=r"fft.hfft: Invalid number of FFT data points \(-1\)"):
        F.hfft(Z1, n=-1)
    with pytest.raises(TypeError, match="must be an integer"):
        F.fft(X1, n=4.0)
    with pytest.raises(TypeError, match="must be a sequence"):
        F.fftn(X2, s=4)
    with pytest.raises(ValueError, match=r"data points \(-2\)"):
        F.rfftn(X2, s=(3, -2), axes=(0, 1))


def test_complex_input_to_rfft():
    with pytest.raises(TypeError, match="must be real.*fft.fft "):
        F.rfft(Z1)
    with pytest.raises(TypeError, match="must be real.*fft.fftn "):
        F.rfftn(Z2)
    with pytest.raises(TypeError, match="must be real.*fft.ifft "):
        F.ihfft(Z1)


def test_fftn_without_axes_keeps_the_input():
    assert F.fftn(X3, axes=()) is X3 and np.fft.fftn(X3, axes=()).dtype == X3.dtype


@pytest.mark.parametrize("n", [1, 4, 7])
def test_frequencies_are_differentiable_in_the_spacing(n):
    # f = k / (n d), so d/dd sum(f * c) = -sum(k c) / (n d^2); the traced values are NumPy's
    d, c = 0.3, np.cos(np.arange(n))
    k = np.fft.fftfreq(n, 1 / n).round()
    f = lambda d: dnp.sum(F.fftfreq(n, d) * c)
    np.testing.assert_allclose(grad(f)(d), -np.sum(k * c) / (n * d**2), rtol=1e-12)
    np.testing.assert_array_equal(jacfwd(lambda d: F.fftfreq(n, d) * 1.0)(d).shape, (n,))
    check_grads(lambda d: F.rfftfreq(n, d) ** 2, (d,), modes=("fwd", "rev"), order=2)
    check_grads(lambda d: F.fftfreq(n, d) ** 2, (d,), modes=("fwd", "rev"), order=2)
    traced = vmap(lambda d: F.fftfreq(n, d))(np.array([d, 2.0]))
    np.testing.assert_array_equal(traced, np.stack([np.fft.fftfreq(n, d), np.fft.fftfreq(n, 2.0)]))


def test_frequency_errors():
    with pytest.raises(TypeError, match="n must be an integer"):
        F.fftfreq(2.5)
    with pytest.raises(ValueError, match="n must be at least 1, not 0"):
        F.rfftfreq(0)
    with pytest.raises(TypeError, match="n must be a plain integer"):
        grad(lambda n: dnp.sum(F.fftfreq(n)))(3.0)
