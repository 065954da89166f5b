"""diffopt.image: the Stage mechanism (backends, the compiled VJP under grad, checks), Pipeline,
fit, and the metrics psnr and ssim against independent computations."""

import numpy as np
import pytest
from scipy.ndimage import correlate1d

import diffopt
import diffopt.numpy as dnp
from diffopt import cuda as dcuda
from diffopt.image import Pipeline, Stage, fit, white_balance
from diffopt.image.metrics import SSIM_RADIUS, _window, psnr, ssim

rng = np.random.default_rng(7)
IMG = rng.uniform(0.05, 0.95, (12, 10, 3))
GAINS = np.array([1.8, 1.0, 1.4])


# --- Stage ----------------------------------------------------------------------------------
def test_backends_agree_in_values_and_gradients():
    for dtype, tol in ((np.float64, 1e-15), (np.float32, 1e-6)):
        x = IMG.astype(dtype)
        out = {b: white_balance(x, backend=b, gains=GAINS) for b in ("numba", "numpy", "auto")}
        for b, v in out.items():
            assert v.dtype == dtype and v.shape == x.shape, b
            np.testing.assert_allclose(v, x * GAINS.astype(dtype), rtol=tol)
    u = rng.normal(size=IMG.shape)

    def pulled(backend):
        return diffopt.vjp(lambda x, g: white_balance(x, backend=backend, gains=g), IMG,
                           GAINS)[1](u)

    (xb_c, gb_c), (xb_r, gb_r) = pulled("numba"), pulled("numpy")
    np.testing.assert_allclose(xb_c, u * GAINS, rtol=1e-15)  # the closed forms
    np.testing.assert_allclose(gb_c, np.sum(u * IMG, axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(xb_r, xb_c, rtol=1e-15)
    np.testing.assert_allclose(gb_r, gb_c, rtol=1e-12)


def test_forward_mode_and_second_order_use_the_reference():
    def f(g):
        return dnp.sum(white_balance(IMG, backend="numba", gains=g) ** 3)

    h = diffopt.hessian(f)(GAINS)  # forward over reverse: the reference is differentiated
    want = np.diag(6 * GAINS * np.sum(IMG ** 3, axis=(0, 1)))
    np.testing.assert_allclose(h, want, rtol=1e-12)
    diffopt.numerical.check_grads(lambda g: white_balance(IMG, gains=g), (GAINS,), order=2)


def test_vmap_and_jacrev_through_a_compiled_stage():
    batch = np.stack([IMG, 0.5 * IMG])
    out = diffopt.vmap(lambda x: white_balance(x, gains=GAINS))(batch)  # checks see one image
    np.testing.assert_allclose(out, batch * GAINS)
    small = IMG[:2, :2]
    jac = {b: diffopt.jacrev(lambda g, b=b: white_balance(small, backend=b, gains=g))(GAINS)
           for b in ("numba", "numpy")}
    np.testing.assert_allclose(jac["numba"], jac["numpy"], rtol=1e-15)
    assert jac["numba"].shape == small.shape + (3,)
    np.testing.assert_allclose(jac["numba"][..., 0, 0], small[..., 0])


def test_stage_errors():
    with pytest.raises(TypeError, match="no parameter"):
        white_balance(IMG, gain=GAINS)
    with pytest.raises(ValueError, match="unknown backend"):
        white_balance(IMG, backend="opencl")
    if dcuda.MODE is None:  # no GPU, no simulator: backend="cuda" says what it needs
        with pytest.raises(RuntimeError, match="needs CUDA"):
            white_balance(IMG, backend="cuda")
    with pytest.raises(TypeError, match="CuPy arrays"):
        white_balance(IMG, backend="cupy")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        white_balance(IMG[..., :2])
    with pytest.raises(TypeError, match="float32 or float64"):
        white_balance((IMG * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        white_balance(IMG, gains=np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        white_balance(IMG, gains=np.array([1.0, np.nan, 1.0]))


def test_a_stage_without_kernels_runs_its_reference_on_every_backend():
    double = Stage("double", {"k": 2.0}, lambda x, k: x * k)
    for b in ("auto", "numba", "numpy"):
        np.testing.assert_allclose(double(IMG, backend=b), 2 * IMG)
    assert diffopt.grad(lambda k: dnp.sum(double(IMG, k=k)))(3.0) == pytest.approx(IMG.sum())


# --- Pipeline and fit -----------------------------------------------------------------------
def _pipe():
    exposure = Stage("exposure_test", {"ev": 0.0}, lambda x, ev: x * 2.0 ** ev)
    return Pipeline([white_balance, exposure])


def test_pipeline_params_and_errors():
    pipe = _pipe()
    assert set(pipe.defaults()) == {"white_balance", "exposure_test"}
    full = pipe.params({"white_balance": {"gains": GAINS}})
    np.testing.assert_array_equal(full["white_balance"]["gains"], GAINS)
    assert float(full["exposure_test"]["ev"]) == 0.0
    out = pipe(IMG, {"white_balance": {"gains": GAINS}, "exposure_test": {"ev": 1.0}})
    np.testing.assert_allclose(out, IMG * GAINS * 2.0)
    with pytest.raises(KeyError, match="no stage"):
        pipe(IMG, {"denoise": {}})
    bad = IMG.copy()
    bad[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite values \(the first at \(3, 4, 1\)\)"):
        pipe(bad)
    with pytest.raises(ValueError, match="unique"):
        Pipeline([white_balance, white_balance])
    with pytest.raises(TypeError, match="Stage objects"):
        Pipeline([lambda x: x])


@pytest.mark.parametrize("method, steps, tol", [("l-bfgs-b", 100, 1e-6), ("adam", 400, 2e-3)])
def test_fit_recovers_the_parameters(method, steps, tol):
    pipe = _pipe()
    true = {"white_balance": {"gains": GAINS}, "exposure_test": {"ev": -0.5}}
    target = pipe(IMG, true)
    opts = {"lr": 0.05} if method == "adam" else None
    res = fit(pipe, IMG, target, method=method, steps=steps, options=opts,
              tol=1e-14 if method == "l-bfgs-b" else None)
    p = res.params
    np.testing.assert_allclose(p["white_balance"]["gains"] * 2.0 ** p["exposure_test"]["ev"],
                               GAINS * 2.0 ** -0.5, rtol=tol)  # (gains and exposure trade off)
    assert psnr(pipe(IMG, p), target) > (60 if method == "l-bfgs-b" else 40)


def test_fit_trainable_keeps_the_others_fixed():
    pipe = _pipe()
    target = pipe(IMG, {"white_balance": {"gains": GAINS}, "exposure_test": {"ev": 0.3}})
    res = fit(pipe, IMG, target, {"exposure_test": {"ev": 0.3}}, method="l-bfgs-b", steps=100,
              tol=1e-14, trainable=["white_balance"])
    assert float(res.params["exposure_test"]["ev"]) == 0.3 and set(res.x) == {"white_balance"}
    np.testing.assert_allclose(res.params["white_balance"]["gains"], GAINS, rtol=1e-6)
    with pytest.raises(KeyError, match="trainable"):
        fit(pipe, IMG, target, trainable=["nope"])


def test_fit_through_a_parameterization():
    """Green gain held at 1, exposure learned: the gains and exposure are then identifiable."""
    pipe = _pipe()
    target = pipe(IMG, {"white_balance": {"gains": GAINS}, "exposure_test": {"ev": 0.4}})

    def params(v):
        gains = dnp.stack([v["red_blue"][0], 1.0, v["red_blue"][1]])
        return {"white_balance": {"gains": gains}, "exposure_test": {"ev": v["ev"]}}

    res = fit(pipe, IMG, target, {"red_blue": np.ones(2), "ev": 0.0}, method="l-bfgs-b",
              steps=100, tol=1e-14, parameterization=params)
    np.testing.assert_allclose(res.x["red_blue"], GAINS[[0, 2]], rtol=1e-6)
    assert float(res.x["ev"]) == pytest.approx(0.4, rel=1e-6)
    np.testing.assert_allclose(res.params["white_balance"]["gains"], GAINS, rtol=1e-6)
    with pytest.raises(TypeError, match="parameterization"):
        fit(pipe, IMG, target, parameterization=params)


# --- metrics --------------------------------------------------------------------------------
def _ssim_reference(x, y, data_range=1.0):
    """SSIM from scipy filters, cropped where the window does not fit (as skimage does)."""
    w, p = _window(), SSIM_RADIUS

    def filt(a):
        return correlate1d(correlate1d(a, w, axis=0, mode="reflect"), w, axis=1,
                           mode="reflect")[p:-p, p:-p]

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx ** 2, filt(y * y) - my ** 2, filt(x * y) - mx * my
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean()


def test_psnr_and_ssim_values():
    x = rng.uniform(0, 1, (24, 20, 3))
    noisy = x + 0.01 * rng.choice([-1.0, 1.0], size=x.shape)
    assert float(psnr(x, noisy)) == pytest.approx(40.0, abs=1e-9)  # mse exactly 1e-4
    assert float(psnr(x * 255, noisy * 255, data_range=255.0)) == pytest.approx(40.0, abs=1e-9)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
    for y in (noisy, 0.5 * x + 0.2, rng.uniform(0, 1, x.shape)):
        assert float(ssim(x, y)) == pytest.approx(_ssim_reference(x, y), rel=1e-10)
    assert float(ssim(x[..., 0], noisy[..., 0])) == pytest.approx(
        _ssim_reference(x[..., 0], noisy[..., 0]), rel=1e-10)
    assert float(ssim(x, rng.uniform(0, 1, x.shape))) < 0.2


def test_metrics_are_differentiable_and_check_their_input():
    x, y = rng.uniform(0, 1, (13, 12)), rng.uniform(0, 1, (13, 12))
    diffopt.numerical.check_grads(lambda a: ssim(a, y), (x,), order=1)
    diffopt.numerical.check_grads(lambda a: psnr(a, y), (x,), order=1)
    with pytest.raises(ValueError, match="different shapes"):
        psnr(x, y[:-1])
    with pytest.raises(ValueError, match="at least 11"):
        ssim(x[:8], y[:8])


def test_full_pipeline_gradient_against_finite_differences():
    """Every stage of the example's enhancement pipeline at once, compiled and reference."""
    from diffopt.image import Camera, camera_params, unprocess
    from diffopt.models.camera import ENHANCEMENT

    photo = np.random.default_rng(5).uniform(0.1, 0.9, (12, 14, 3))
    raw = unprocess(photo, Camera(), np.random.default_rng(0))
    params = ENHANCEMENT.params({**camera_params(Camera()), "gaussian_blur": {"sigma": 0.8},
                                 "unsharp_mask": {"amount": 0.3, "radius": 1.2},
                                 "demosaic_mhc": {"alpha": 0.4, "beta": 0.6, "gamma": 0.7}})
    for backend, modes in (("numba", ("rev",)), ("numpy", ("fwd", "rev"))):
        diffopt.numerical.check_grads(
            lambda p, b=backend: dnp.sum(ENHANCEMENT(raw, p, backend=b) ** 2), (params,),
            modes=modes, order=1)
    grads = [diffopt.grad(lambda p, b=b: dnp.sum(ENHANCEMENT(raw, p, backend=b) ** 2))(params)
             for b in ("numba", "numpy")]
    for a, b in zip(diffopt.tree_leaves(grads[0]), diffopt.tree_leaves(grads[1])):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
