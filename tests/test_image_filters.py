"""diffopt.image.filters: gaussian_blur, bilateral, unsharp_mask and conv2d — the Numba kernels
against the diffopt.numpy references (values and VJPs), the references against finite
differences, and closed forms against scipy.ndimage and hand computations."""

import numpy as np
import pytest
from scipy.ndimage import correlate, correlate1d

import diffopt
import diffopt.numpy as dnp
from diffopt.image import Pipeline, fit
from diffopt.image.filters import (
    BILATERAL_RADIUS,
    BLUR_RADIUS,
    SIGMA_MIN,
    bilateral,
    conv2d,
    gaussian_blur,
    unsharp_mask,
)
from diffopt.numerical import check_grads

rng = np.random.default_rng(11)
K3 = rng.normal(size=(3, 3))
K5 = rng.normal(size=(5, 5)) * 0.3
# (stage, generic parameters away from clamps)
CASES = {
    "gaussian_blur": (gaussian_blur, {"sigma": 1.3}),
    "unsharp_mask": (unsharp_mask, {"amount": 0.7, "radius": 1.2}),
    "bilateral": (bilateral, {"sigma_space": 1.4, "sigma_range": 0.3}),
    "conv2d_3": (conv2d, {"kernel": K3}),
    "conv2d_5": (conv2d, {"kernel": K5}),
}
SHAPES = [(6, 8), (7, 9, 3), (4, 5, 3)]  # even, odd, the smallest the widest filters allow


def _image(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape).astype(dtype)


def _pulled(stage, params, x, u, backend):
    names = list(params)

    def f(x, *p):
        return stage(x, backend=backend, **dict(zip(names, p)))

    return diffopt.vjp(f, x, *params.values())[1](u)


def _gaussian_taps(sigma):  # independent of the module: the formula in the docstring
    k = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1)
    w = np.exp(-k ** 2 / (2 * max(sigma, SIGMA_MIN) ** 2))
    return w / w.sum()


# --- kernels against the reference ----------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numba_forward_matches_reference(case, shape, dtype):
    stage, params = CASES[case]
    x = _image(shape, dtype)
    got = stage(x, backend="numba", **params)
    want = stage(x, backend="numpy", **params)
    assert got.dtype == dtype and want.dtype == dtype and got.shape == shape
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(got, want, **tol)
    assert not np.allclose(got, x)  # the parameters do something


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("shape", SHAPES)
def test_numba_vjp_matches_reference(case, shape):
    stage, params = CASES[case]
    x = _image(shape)
    u = np.random.default_rng(1).normal(size=shape)
    got, want = _pulled(stage, params, x, u, "numba"), _pulled(stage, params, x, u, "numpy")
    assert len(got) == len(params) + 1
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10 * np.max(np.abs(w)))
    # float32 images: the image's cotangent keeps the dtype and agrees to single precision
    got32 = _pulled(stage, params, x.astype(np.float32), u.astype(np.float32), "numba")
    assert got32[0].dtype == np.float32
    for g, w in zip(got32, want):
        np.testing.assert_allclose(np.asarray(g, dtype=float), w, rtol=1e-4,
                                   atol=1e-4 * np.max(np.abs(w)))


@pytest.mark.parametrize("case", list(CASES))
def test_reference_derivatives_against_finite_differences(case):
    stage, params = CASES[case]
    names = list(params)
    x = _image((5, 6, 3), seed=2)
    p = [np.asarray(v, dtype=np.float64) for v in params.values()]

    def f(x, *p):
        return stage(x, backend="numpy", **dict(zip(names, p)))

    order = 1 if case == "bilateral" else 2
    check_grads(f, (x, *p), modes=("fwd", "rev"), order=order)
    # each parameter alone, and the Numba VJP against finite differences too
    for i in range(len(names)):
        def g(q, i=i, backend="numpy"):
            return stage(x, backend=backend, **{**params, names[i]: q})

        check_grads(g, (p[i],), modes=("fwd", "rev"), order=1)
        check_grads(lambda q: g(q, backend="numba"), (p[i],), modes=("rev",), order=1)


def test_bilateral_second_order_in_the_sigmas():
    x = _image((4, 5), seed=3)
    check_grads(lambda s, r: bilateral(x, sigma_space=s, sigma_range=r), (1.3, 0.4), order=2)


@pytest.mark.parametrize("case", ["gaussian_blur", "bilateral", "conv2d_3"])
def test_jacfwd_of_the_reference_equals_jacrev_of_the_kernels(case):
    stage, params = CASES[case]
    x = _image((5, 6, 3), seed=4)
    name = list(params)[0]
    p0 = np.asarray(params[name], dtype=np.float64)

    def f(p, backend):
        return dnp.ravel(stage(x, backend=backend, **{**params, name: p}))

    jf = diffopt.jacfwd(lambda p: f(p, "numpy"))(p0)
    jr = diffopt.jacrev(lambda p: f(p, "numba"))(p0)
    np.testing.assert_allclose(jr, jf, rtol=1e-10, atol=1e-12)
    jx = diffopt.jacrev(lambda y: dnp.ravel(stage(y, backend="numba", **params)))(x[:4, :4, 0])
    jxf = diffopt.jacfwd(lambda y: dnp.ravel(stage(y, backend="numpy", **params)))(x[:4, :4, 0])
    np.testing.assert_allclose(jx, jxf, rtol=1e-10, atol=1e-12)


def test_vmap_over_images_equals_a_loop():
    xs = _image((3, 6, 7, 3), seed=5)
    for stage, params in (CASES["gaussian_blur"], CASES["bilateral"], CASES["conv2d_3"]):
        batched = diffopt.vmap(lambda x, stage=stage, params=params: stage(x, **params))(xs)
        loop = np.stack([stage(x, **params) for x in xs])
        np.testing.assert_allclose(batched, loop, rtol=1e-12, atol=1e-14)


# --- closed forms and identities ------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 8), (9, 7, 3)])
def test_gaussian_blur_is_scipy_separable_mirror_correlation(shape):
    x = _image(shape)
    for sigma in (0.6, 1.0, 2.5):
        w = _gaussian_taps(sigma)
        want = correlate1d(correlate1d(x, w, axis=0, mode="mirror"), w, axis=1, mode="mirror")
        for b in ("numba", "numpy"):
            np.testing.assert_allclose(gaussian_blur(x, backend=b, sigma=sigma), want,
                                       rtol=1e-13)


def test_gaussian_sigma_derivative_closed_form_and_clamp():
    x, u = _image((6, 7, 3)), np.random.default_rng(6).normal(size=(6, 7, 3))
    sigma = 1.1
    k = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1)
    w = _gaussian_taps(sigma)
    dw = w * (k ** 2 - np.sum(w * k ** 2)) / sigma ** 3
    # d/dsigma <u, blur(x)> with blur = sum_ab w_a w_b shift_ab(x) (product rule on both passes)
    def blur(wv, wh):
        return correlate1d(correlate1d(x, wv, axis=0, mode="mirror"), wh, axis=1, mode="mirror")

    want = np.sum(u * (blur(dw, w) + blur(w, dw)))
    for b in ("numba", "numpy"):
        _, s_bar = _pulled(gaussian_blur, {"sigma": sigma}, x, u, b)
        assert float(s_bar) == pytest.approx(want, rel=1e-11)
        # below SIGMA_MIN the width is clamped: same output, no gradient
        np.testing.assert_allclose(gaussian_blur(x, backend=b, sigma=0.01),
                                   gaussian_blur(x, backend=b, sigma=SIGMA_MIN), rtol=1e-15)
        assert float(_pulled(gaussian_blur, {"sigma": 0.01}, x, u, b)[1]) == 0.0
    # a tiny sigma leaves (almost) only the centre tap: the identity
    np.testing.assert_allclose(gaussian_blur(x, sigma=0.0), x, rtol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_constant_images_are_unchanged(backend, dtype):
    for shape in ((5, 6), (5, 6, 3)):
        x = np.full(shape, 0.37, dtype=dtype)
        tol = 1e-14 if dtype == np.float64 else 1e-6
        for stage, params in (CASES["gaussian_blur"], CASES["unsharp_mask"],
                              CASES["bilateral"], (conv2d, {"kernel": np.full((3, 3), 1 / 9)})):
            np.testing.assert_allclose(stage(x, backend=backend, **params), x, rtol=tol)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_identity_parameters_give_the_identity_exactly(backend):
    for shape in ((6, 8), (7, 5, 3)):
        x = _image(shape)
        np.testing.assert_array_equal(unsharp_mask(x, backend=backend), x)  # amount 0
        np.testing.assert_array_equal(unsharp_mask(x, backend=backend, radius=2.0), x)
        np.testing.assert_array_equal(conv2d(x, backend=backend), x)  # the 3 x 3 identity
        e5 = np.zeros((5, 5))
        e5[2, 2] = 1.0
        np.testing.assert_array_equal(conv2d(x, backend=backend, kernel=e5), x)


def test_identity_parameters_have_the_right_gradients():
    x, u = _image((6, 7, 3)), np.random.default_rng(7).normal(size=(6, 7, 3))
    for b in ("numba", "numpy"):
        x_bar, a_bar, r_bar = _pulled(unsharp_mask, {"amount": 0.0, "radius": 1.0}, x, u, b)
        np.testing.assert_allclose(x_bar, u, rtol=1e-14)
        blur = gaussian_blur(x, sigma=1.0, backend="numpy")
        assert float(a_bar) == pytest.approx(np.sum(u * (x - blur)), rel=1e-12)
        assert float(r_bar) == 0.0
        x_bar, k_bar = _pulled(conv2d, {"kernel": np.pad([[1.0]], 1)},
                               x, u, b)
        np.testing.assert_allclose(x_bar, u, rtol=1e-14)
        # d<u, conv(x)>/dK[a, b] = <u, x shifted by (a - 1, b - 1)>, reflected at the borders
        xp = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="reflect")
        want = [[np.sum(u * xp[a:a + 6, c:c + 7]) for c in range(3)] for a in range(3)]
        np.testing.assert_allclose(k_bar, want, rtol=1e-12)


@pytest.mark.parametrize("shape", [(6, 8), (7, 9, 3), (3, 4)])
@pytest.mark.parametrize("kernel", [K3, K5, rng.normal(size=(1, 1))])
def test_conv2d_is_scipy_correlate_with_mirror_borders(shape, kernel):
    if kernel.shape[0] // 2 >= min(shape[:2]):
        pytest.skip("image smaller than the kernel's radius")
    x = _image(shape)
    weights = kernel if len(shape) == 2 else kernel[:, :, None]
    # scipy's "mirror" is numpy's "reflect" (d c b | a b c d | c b a); scipy's "reflect" is
    # numpy's "symmetric" (the edge repeated) — a different filter, which we do not match
    want = correlate(x, weights, mode="mirror")
    for b in ("numba", "numpy"):
        got = conv2d(x, backend=b, kernel=kernel)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        if kernel.shape[0] > 1:
            assert not np.allclose(got, correlate(x, weights, mode="reflect"))


def test_conv2d_is_a_correlation_not_a_convolution():
    x = np.zeros((5, 5))
    x[2, 2] = 1.0
    k = np.arange(9.0).reshape(3, 3)
    # correlating an impulse gives the kernel flipped in both axes
    np.testing.assert_array_equal(conv2d(x, kernel=k)[1:4, 1:4], k[::-1, ::-1])


def test_bilateral_with_a_huge_sigma_range_is_the_spatial_gaussian():
    x = _image((7, 9, 3))
    r = BILATERAL_RADIUS
    k = np.arange(-r, r + 1)
    for s in (0.8, 1.5):
        e = np.exp(-k ** 2 / (2 * s ** 2))
        w2 = np.outer(e, e) / np.outer(e, e).sum()
        want = correlate(x, w2[:, :, None], mode="mirror")
        for b in ("numba", "numpy"):
            got = bilateral(x, backend=b, sigma_space=s, sigma_range=1e6)
            np.testing.assert_allclose(got, want, rtol=1e-9)


def test_bilateral_preserves_edges_that_the_gaussian_blurs():
    x = np.zeros((8, 10, 3))
    x[:, 5:] = 0.8
    x += np.random.default_rng(8).normal(scale=0.01, size=x.shape)  # mild noise on both sides
    for b in ("numba", "numpy"):
        bil = bilateral(x, backend=b, sigma_space=1.5, sigma_range=0.05)
        blur = gaussian_blur(x, backend=b, sigma=1.5)
        assert np.max(np.abs(bil[:, 4:6] - x[:, 4:6])) < 0.03  # the step stays
        assert np.max(np.abs(blur[:, 4:6] - x[:, 4:6])) > 0.2  # the Gaussian smears it
        assert np.std(bil[:, :4]) < 0.6 * np.std(x[:, :4])  # but flat parts are denoised


def test_bilateral_range_distance_is_joint_over_channels():
    g = _image((6, 7))
    rgb = np.repeat(g[:, :, None], 3, axis=2)  # |x_q - x_p|² over RGB = 3 x the gray one
    for b in ("numba", "numpy"):
        got = bilateral(rgb, backend=b, sigma_space=1.2, sigma_range=0.2)
        want = bilateral(g, backend=b, sigma_space=1.2, sigma_range=0.2 / np.sqrt(3))
        for c in range(3):
            np.testing.assert_allclose(got[:, :, c], want, rtol=1e-12)


def test_bilateral_with_a_tiny_sigma_range_keeps_distinct_levels():
    levels = np.random.default_rng(9).integers(0, 4, size=(6, 7, 3)) / 4.0
    for b in ("numba", "numpy"):
        np.testing.assert_allclose(bilateral(levels, backend=b, sigma_range=0.0), levels,
                                   atol=1e-12)
        u = np.ones_like(levels)
        x_bar, ss_bar, sr_bar = _pulled(bilateral, {"sigma_space": 1.0, "sigma_range": 0.0},
                                        levels, u, b)
        assert np.all(np.isfinite(x_bar)) and float(sr_bar) == 0.0


def test_the_vectorised_exp_matches_numpy():
    from diffopt.image.filters import _exp_into

    v = np.concatenate([np.linspace(-708, 709, 20001), -np.logspace(-12, 2.8, 500), [0.0]])
    out, bits = np.empty_like(v), np.empty(v.shape, np.int64)
    _exp_into(v, out, bits)
    np.testing.assert_allclose(out, np.exp(v), rtol=4e-16, atol=0)
    _exp_into(np.array([-1e6, -750.0]), out[:2], bits[:2])  # clamped: tiny, never NaN
    assert np.all((out[:2] > 0) & (out[:2] < 1e-307))


def test_unsharp_mask_formula():
    x = _image((7, 8, 3))
    for b in ("numba", "numpy"):
        got = unsharp_mask(x, backend=b, amount=1.5, radius=0.9)
        want = x + 1.5 * (x - gaussian_blur(x, backend="numpy", sigma=0.9))
        np.testing.assert_allclose(got, want, rtol=1e-12)


# --- learning the parameters ----------------------------------------------------------------
def test_fit_recovers_a_blur_width_and_a_convolution_kernel():
    x = _image((12, 11, 3), seed=10)
    target = gaussian_blur(x, sigma=1.7)
    tight = {"ftol": 1e-15, "gtol": 1e-12}
    res = fit(Pipeline([gaussian_blur]), x, target, method="l-bfgs-b", steps=100,
              backend="numba", options=tight)
    assert float(res.x["gaussian_blur"]["sigma"]) == pytest.approx(1.7, rel=1e-4)
    k = np.array([[0.0, -0.5, 0.1], [0.2, 1.5, -0.3], [0.1, 0.05, 0.0]])
    res = fit(Pipeline([conv2d]), x, conv2d(x, kernel=k), method="l-bfgs-b", steps=200,
              options=tight)
    np.testing.assert_allclose(res.x["conv2d"]["kernel"], k, atol=1e-4)


# --- errors ---------------------------------------------------------------------------------
def test_bad_inputs_are_refused_with_clear_errors():
    x = _image((6, 7, 3))
    for stage, params in CASES.values():
        with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
            stage(x[..., :2], **params)
        with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
            stage(x[0, :, 0], **params)
        with pytest.raises(TypeError, match="float32 or float64"):
            stage((x * 255).astype(np.uint8), **params)
    for stage, name in ((gaussian_blur, "sigma"), (unsharp_mask, "radius"),
                        (bilateral, "sigma_space"), (bilateral, "sigma_range")):
        for bad in (np.nan, -0.5, np.inf):
            with pytest.raises(ValueError, match=f"{name} must be finite and >= 0"):
                stage(x, **{name: bad})
        with pytest.raises(ValueError, match=f"{name} must be a real scalar"):
            stage(x, **{name: np.ones(2)})
    with pytest.raises(ValueError, match="amount must be finite"):
        unsharp_mask(x, amount=np.nan)
    for stage, params, small in ((gaussian_blur, {}, (3, 9, 3)), (unsharp_mask, {}, (9, 3)),
                                 (bilateral, {}, (2, 5)),
                                 (conv2d, {"kernel": np.ones((7, 7))}, (5, 3, 3))):
        with pytest.raises(ValueError, match="larger than the filter radius"):
            stage(_image(small), **params)
    for bad in (np.ones((2, 2)), np.ones((3, 5)), np.ones(3), np.ones((3, 3, 1))):
        with pytest.raises(ValueError, match="square .* k odd"):
            conv2d(x, kernel=bad)
    with pytest.raises(ValueError, match="finite"):
        conv2d(x, kernel=np.full((3, 3), np.nan))
