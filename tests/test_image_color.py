"""Colour stages of diffopt.image: Numba kernels against the diffopt.numpy references (values and
VJPs), the references against finite differences, closed forms, and input checks."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.image.color import (
    color_matrix,
    exposure,
    gamma,
    normalize,
    normalize_rows,
    saturation,
    srgb_to_linear,
    tone_curve,
    tone_curve_values,
    white_balance,
)
from diffopt.numerical import check_grads

RGB_ONLY = {"white_balance", "color_matrix", "saturation"}


def generic_params(name: str, rng) -> dict:
    """Parameters away from the identity (and from kinks) for each stage."""
    return {
        "white_balance": lambda: {"gains": rng.uniform(0.5, 2.0, 3)},
        "normalize": lambda: {"black": 0.06, "white": 0.93},
        "exposure": lambda: {"ev": 0.7},
        "color_matrix": lambda: {"matrix": np.eye(3) + 0.2 * rng.normal(size=(3, 3))},
        "tone_curve": lambda: {"slopes": rng.normal(size=5)},
        "saturation": lambda: {"s": 1.4},
        "gamma": lambda: {"g": 2.2},
    }[name]()


STAGES = [white_balance, normalize, exposure, color_matrix, tone_curve, saturation, gamma]
IDS = [s.name for s in STAGES]
CASES = [(s, shape) for s in STAGES for shape in [(6, 8, 3), (5, 7, 3), (5, 7)]
         if not (s.name in RGB_ONLY and len(shape) == 2)]
CASE_IDS = [f"{s.name}-{'x'.join(map(str, shape))}" for s, shape in CASES]


def image(shape, dtype=np.float64, seed=0, lo=0.02, hi=0.98):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


def call(stage, backend, names):
    """``(x, *params) -> stage(x, backend=backend, **params)``, for the transforms."""
    return lambda x, *p: stage(x, backend=backend, **dict(zip(names, p)))


# --- Numba kernels against the references -----------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stage, shape", CASES, ids=CASE_IDS)
def test_numba_forward_matches_reference(stage, shape, dtype):
    rng = np.random.default_rng(1)
    x = image(shape, dtype, lo=-0.1, hi=1.1)
    p = generic_params(stage.name, rng)
    ref = stage(x, backend="numpy", **p)
    out = stage(x, backend="numba", **p)
    assert ref.dtype == out.dtype == dtype and out.shape == ref.shape
    if dtype == np.float64:
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stage, shape", CASES, ids=CASE_IDS)
def test_numba_vjp_matches_reference(stage, shape, dtype):
    rng = np.random.default_rng(2)
    x = image(shape, dtype, lo=-0.1, hi=1.1)
    p = generic_params(stage.name, rng)
    names = list(p)
    out_ref, vjp_ref = diffopt.vjp(call(stage, "numpy", names), x, *p.values())
    out, vjp = diffopt.vjp(call(stage, "numba", names), x, *p.values())
    g = rng.normal(size=out.shape).astype(dtype)
    bars_ref, bars = vjp_ref(g), vjp(g)
    assert len(bars) == 1 + len(names)
    assert bars[0].dtype == dtype and bars[0].shape == x.shape
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    for name, a, b in zip(["x", *names], bars, bars_ref):
        assert np.shape(a) == np.shape(b), name
        scale = np.max(np.abs(b)) + 1e-30
        np.testing.assert_allclose(np.asarray(a) / scale, np.asarray(b) / scale, rtol=rtol,
                                   atol=rtol, err_msg=f"{stage.name}: cotangent of {name}")


# --- the references against finite differences ------------------------------------------------
@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_reference_check_grads(stage):
    rng = np.random.default_rng(3)
    shape = (3, 4, 3)
    x = image(shape, lo=0.05, hi=0.95)
    p = generic_params(stage.name, rng)
    names = list(p)
    f = call(stage, "numpy", names)
    check_grads(f, (x, *p.values()), modes=("fwd", "rev"), order=2)
    # each argument alone
    args = [x, *p.values()]
    for i in range(len(args)):
        def one(a, i=i):
            return f(*args[:i], a, *args[i + 1:])
        one.__name__ = f"{stage.name}_arg{i}"
        check_grads(one, (args[i],), modes=("fwd", "rev"), order=1)


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_numba_grad_check_grads(stage):
    """The Numba backend's reverse mode against finite differences too (first order)."""
    rng = np.random.default_rng(4)
    x = image((4, 5, 3), lo=0.05, hi=0.95)
    p = generic_params(stage.name, rng)
    check_grads(call(stage, "numba", list(p)), (x, *p.values()), modes=("rev",), order=1)


def test_helpers_check_grads():
    rng = np.random.default_rng(5)
    check_grads(normalize_rows, (rng.uniform(0.5, 2.0, (3, 3)),), order=2)
    check_grads(tone_curve_values, (rng.normal(size=4), rng.uniform(0.02, 0.98, 7)), order=2)
    check_grads(srgb_to_linear, (rng.uniform(0.06, 0.98, 7), 2.2), order=2)
    check_grads(srgb_to_linear, (rng.uniform(0.0, 0.04, 5), 2.2), order=2)


# --- transforms: vmap, jacfwd / jacrev --------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_reference_vmap_equals_loop(stage):
    rng = np.random.default_rng(6)
    xs = image((3, 4, 5, 3), seed=6)
    p = generic_params(stage.name, rng)
    batched = diffopt.vmap(lambda x: stage.reference(x, **stage.params(**p)))(xs)
    np.testing.assert_allclose(batched, np.stack([stage(x, **p) for x in xs]), rtol=1e-12)
    # batched parameters: the last one, perturbed
    name, value = list(p.items())[-1]
    values = np.stack([value, 1.1 * np.asarray(value), 0.9 * np.asarray(value)])
    out = diffopt.vmap(lambda v: stage.reference(xs[0], **stage.params(**{**p, name: v})))(values)
    np.testing.assert_allclose(out, np.stack([stage(xs[0], **{**p, name: v}) for v in values]),
                               rtol=1e-12)


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_stage_vmap_equals_loop(stage):
    """Through the Stage (checks see one example; the reference runs under vmap)."""
    rng = np.random.default_rng(6)
    xs = image((3, 4, 5, 3), seed=6)
    p = generic_params(stage.name, rng)
    batched = diffopt.vmap(lambda x: stage(x, backend="numba", **p))(xs)
    np.testing.assert_allclose(batched, np.stack([stage(x, **p) for x in xs]), rtol=1e-12)
    evs = np.array([-1.0, 0.0, 0.5])
    out = diffopt.vmap(lambda ev: exposure(xs[0], ev=ev))(evs)
    np.testing.assert_allclose(out, np.stack([xs[0] * 2.0**e for e in evs]), rtol=1e-12)


def _jacobians_agree(stage, backend):
    rng = np.random.default_rng(8)
    x = image((2, 3, 3), lo=0.05, hi=0.95)
    p = generic_params(stage.name, rng)
    names = list(p)
    f = call(stage, backend, names)
    for i in range(1 + len(names)):  # the image and each parameter
        args = [x, *p.values()]

        def one(a, i=i, args=args):
            return f(*args[:i], a, *args[i + 1:])

        np.testing.assert_allclose(diffopt.jacfwd(one)(args[i]), diffopt.jacrev(one)(args[i]),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_jacfwd_equals_jacrev(stage):
    _jacobians_agree(stage, "numpy")


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_jacfwd_equals_jacrev_numba(stage):
    """jacrev vmaps the pullback: the Stage pulls the batched cotangents back row by row
    through its VJP kernel."""
    _jacobians_agree(stage, "numba")


def test_chained_stages_gradient_numba_equals_reference():
    """Gradients through a chain of compiled stages (each one recorded operation)."""
    rng = np.random.default_rng(9)
    raw = image((6, 8, 3), lo=0.0, hi=1.0)
    target = image((6, 8, 3), seed=1)
    chain = [normalize, white_balance, exposure, color_matrix, saturation, tone_curve, gamma]
    params = {s.name: generic_params(s.name, rng) for s in chain}

    def loss(params, backend):
        y = raw
        for s in chain:
            y = s(y, backend=backend, **params[s.name])
        return dnp.mean((y - target) ** 2)

    v_ref, g_ref = diffopt.value_and_grad(loss)(params, "numpy")
    v, g = diffopt.value_and_grad(loss)(params, "numba")
    np.testing.assert_allclose(v, v_ref, rtol=1e-12)
    for s in chain:
        for k in params[s.name]:
            np.testing.assert_allclose(g[s.name][k], g_ref[s.name][k], rtol=1e-9, atol=1e-13,
                                       err_msg=f"{s.name}.{k}")


# --- closed forms and identities --------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("stage", [white_balance, normalize, exposure, color_matrix, tone_curve,
                                   saturation], ids=lambda s: s.name)
def test_defaults_are_the_identity(stage, backend):
    for dtype in (np.float64, np.float32):
        x = image((5, 6, 3), dtype, lo=-0.2, hi=1.3)
        out = stage(x, backend=backend)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, x, rtol=1e-6 if dtype == np.float32 else 1e-14,
                                   atol=1e-7 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_normalize_maps_black_and_white_levels(backend):
    raw = np.array([[64.0, 1023.0], [543.5, 0.0]]) / 1023
    out = normalize(raw, backend=backend, black=64 / 1023, white=1.0)
    np.testing.assert_allclose(out, [[0.0, 1.0], [0.5, -64 / 959]], atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_exposure_doubles_per_stop(backend):
    x = image((3, 4))
    np.testing.assert_allclose(exposure(x, backend=backend, ev=1.0), 2 * x, rtol=1e-15)
    np.testing.assert_allclose(exposure(x, backend=backend, ev=-2.0), x / 4, rtol=1e-15)
    g = diffopt.grad(lambda ev: dnp.sum(exposure(x, backend=backend, ev=ev)))(0.5)
    np.testing.assert_allclose(g, np.log(2) * 2**0.5 * x.sum(), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_color_matrix_is_per_pixel_product_and_normalize_rows_keeps_white(backend):
    rng = np.random.default_rng(10)
    m = rng.uniform(-0.5, 2.0, (3, 3)) + 2 * np.eye(3)
    x = image((4, 5, 3))
    np.testing.assert_allclose(color_matrix(x, backend=backend, matrix=m),
                               np.einsum("hwj,ij->hwi", x, m), rtol=1e-13)
    n = normalize_rows(m)
    np.testing.assert_allclose(n.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(n, m / m.sum(axis=1, keepdims=True), rtol=1e-15)
    grey = np.full((2, 2, 3), 0.4)
    np.testing.assert_allclose(color_matrix(grey, backend=backend, matrix=n), grey, rtol=1e-14)


@pytest.mark.parametrize("k", [1, 2, 3, 17])
def test_tone_curve_closed_form_any_k(k):
    rng = np.random.default_rng(k)
    slopes = rng.normal(size=k)
    a = np.abs(slopes)
    knots = np.arange(k + 1) / k
    at_knots = np.concatenate([[0.0], np.cumsum(a) / k])
    # at the knots: the cumulative sums; beyond [0, 1]: the end slopes
    np.testing.assert_allclose(tone_curve_values(slopes, knots), at_knots, atol=1e-14)
    np.testing.assert_allclose(tone_curve_values(slopes, [-0.5, 1.25]),
                               [-0.5 * a[0], at_knots[-1] + 0.25 * a[-1]], rtol=1e-14)
    # a piecewise-linear interpolation of the knot values inside [0, 1]
    xs = np.random.default_rng(0).uniform(0, 1, 50)
    np.testing.assert_allclose(tone_curve_values(slopes, xs), np.interp(xs, knots, at_knots),
                               rtol=1e-12, atol=1e-15)
    # monotone for any real parameters
    grid = np.linspace(-0.3, 1.3, 400)
    assert np.all(np.diff(tone_curve_values(slopes, grid)) >= 0)
    # the kernels handle any K
    x = image((5, 6, 3), lo=-0.2, hi=1.2)
    np.testing.assert_allclose(tone_curve(x, backend="numba", slopes=slopes),
                               tone_curve(x, backend="numpy", slopes=slopes), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_tone_curve_derivative_at_knots_is_the_right_slope(backend):
    slopes = np.array([1.0, -2.0, 3.0, 0.5])
    x = np.array([[0.0, 0.25, 0.5], [0.75, 1.0, 1.5]])
    g = diffopt.grad(lambda x: dnp.sum(tone_curve(x, backend=backend, slopes=slopes)))(x)
    np.testing.assert_array_equal(g, [[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
    gs = diffopt.grad(lambda s: dnp.sum(tone_curve(x, backend=backend, slopes=s)))(slopes)
    # d/d|s_k| = sum over pixels of the length of segment k they cover; times sign(s_k)
    covered = np.array([5 * 0.25, 4 * 0.25, 3 * 0.25, 2 * 0.25 + 0.5])
    np.testing.assert_allclose(gs, np.sign(slopes) * covered, rtol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_saturation_zero_is_grey_and_luminance_is_kept(backend):
    x = image((4, 5, 3))
    lum = x @ np.array([0.2126, 0.7152, 0.0722])
    grey = saturation(x, backend=backend, s=0.0)
    np.testing.assert_allclose(grey, np.repeat(lum[..., None], 3, axis=-1), rtol=1e-14)
    vivid = saturation(x, backend=backend, s=1.7)
    np.testing.assert_allclose(vivid @ np.array([0.2126, 0.7152, 0.0722]), lum, rtol=1e-13)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gamma_is_srgb_and_inverts(backend):
    x = np.linspace(0.0, 1.0, 201).reshape(1, -1)
    srgb = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(gamma(x, backend=backend), srgb, rtol=1e-14, atol=1e-15)
    dark = np.linspace(0.0, 0.0031308, 9).reshape(1, -1)  # the slope meeting the power piece
    np.testing.assert_allclose(gamma(dark, backend=backend), 12.92 * dark, rtol=1e-6)
    for g in (1.8, 2.2, 2.4, 3.0):  # the pieces meet at the knee whatever the exponent
        below, above = gamma(np.array([[0.0031308, 0.0031308 * (1 + 1e-12)]]), g=g)[0]
        assert below == pytest.approx(above, rel=1e-9)
    y = np.random.default_rng(11).uniform(0.0, 1.0, (4, 6))
    for g in (2.4, 2.2, 1.8):
        lin = srgb_to_linear(y, g)
        np.testing.assert_allclose(gamma(lin, backend=backend, g=g), y, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(srgb_to_linear(gamma(y, backend=backend, g=g), g), y,
                                   rtol=1e-12, atol=1e-15)
    assert srgb_to_linear(np.float32(0.5)).dtype == np.float32


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gamma_clamps_below_zero_extends_above_one_and_gives_no_nan(backend):
    x = np.array([[-0.5, 0.0, 1e-12, 0.5, 1.0, 1.5]])
    out = gamma(x, backend=backend)
    assert out[0, 0] == 0.0 and out[0, -1] == pytest.approx(1.055 * 1.5 ** (1 / 2.4) - 0.055)
    gx, gg = diffopt.grad(lambda x, g: dnp.sum(gamma(x, backend=backend, g=g)),
                          argnums=(0, 1))(x, 2.4)
    assert np.all(np.isfinite(gx)) and np.isfinite(gg)
    assert gx[0, 0] == 0.0  # highlights keep their gradient:
    np.testing.assert_allclose(gx[0, -1], 1.055 / 2.4 * 1.5 ** (1 / 2.4 - 1), rtol=1e-12)
    assert gx[0, 1] == gx[0, 2] == pytest.approx(12.92, abs=1e-4)
    np.testing.assert_allclose(gx[0, 3], 1.055 / 2.4 * 0.5 ** (1 / 2.4 - 1), rtol=1e-12)


def test_float32_stays_float32_through_the_chain_with_float64_params():
    x = image((4, 6), np.float32)
    y = normalize(x, black=np.float64(0.01), white=np.array(0.99))
    y = tone_curve(exposure(y, ev=np.array(0.2)), slopes=np.linspace(0.5, 1.5, 8))
    assert gamma(y, g=np.array(2.2)).dtype == np.float32
    rgb = saturation(color_matrix(image((4, 6, 3), np.float32), matrix=np.eye(3)), s=0.5)
    assert rgb.dtype == np.float32


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_bad_images_are_refused(stage):
    with pytest.raises(TypeError, match="float32 or float64"):
        stage(np.ones((4, 4, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="expected an image of shape"):
        stage(np.ones((4, 4, 4)))
    with pytest.raises(ValueError, match="expected an image of shape"):
        stage(np.ones(5))
    with pytest.raises(TypeError, match="has no parameter"):
        stage(np.ones((4, 4, 3)), gain=2.0)
    if stage.name in RGB_ONLY:
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            stage(np.ones((4, 4)))


@pytest.mark.parametrize("stage, bad, match", [
    (normalize, {"black": np.nan}, "black must be finite"),
    (normalize, {"white": np.inf}, "white must be finite"),
    (normalize, {"black": 0.5, "white": 0.5}, r"white \(0.5\) must be greater than black"),
    (normalize, {"black": np.zeros(2)}, r"black must have shape \(\)"),
    (exposure, {"ev": np.nan}, "ev must be finite"),
    (exposure, {"ev": "1"}, "ev must be real numbers"),
    (color_matrix, {"matrix": np.eye(4)}, r"matrix must have shape \(3, 3\)"),
    (color_matrix, {"matrix": np.full((3, 3), np.nan)}, "matrix must be finite"),
    (tone_curve, {"slopes": np.ones((2, 4))}, r"slopes must have shape \(n,\)"),
    (tone_curve, {"slopes": np.ones(0)}, "slopes must not be empty"),
    (tone_curve, {"slopes": np.array([1.0, np.nan])}, "slopes must be finite"),
    (saturation, {"s": np.nan}, "s must be finite"),
    (gamma, {"g": 0.0}, "g must be positive"),
    (gamma, {"g": -2.2}, "g must be positive"),
    (gamma, {"g": np.nan}, "g must be finite"),
    (white_balance, {"gains": np.ones(4)}, r"gains must have shape \(3,\)"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_parameters_are_refused(stage, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        stage(image((4, 4, 3)), **bad)
    with pytest.raises((ValueError, TypeError), match=match):
        stage(image((4, 4, 3)), backend="numpy", **bad)
