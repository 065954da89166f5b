"""Reliability of the camera pipeline: what an image determines (``identifiability``), the
parameterizations that keep a recovery well-conditioned, and ``fit`` refusing inputs it cannot
use with a clear error."""


import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt.image import (
    Camera,
    Pipeline,
    exposure,
    fit,
    gamma,
    identifiability,
    mse,
    normalize,
    srgb_slopes,
    tone_curve_values,
    tone_slopes_from_srgb,
    white_balance,
    white_preserving_matrix,
)
from diffopt.image.demosaic import demosaic_bilinear
from diffopt.numerical import check_grads

CAMERA = Camera()


# --- fit refuses inputs it cannot use -------------------------------------------------------
PIPE = Pipeline([normalize, demosaic_bilinear, white_balance, gamma])
RAW = np.random.default_rng(0).uniform(0.1, 0.9, (16, 20)).astype(np.float32)
TARGET = PIPE(RAW, {"white_balance": {"gains": np.array([2.0, 1.0, 1.5])}})


def _fit(**changes):
    args = {"pipeline": PIPE, "raw": RAW, "target": TARGET, "method": "l-bfgs-b", "steps": 3}
    return fit(**{**args, **changes})


@pytest.mark.parametrize("target", [TARGET[:8], np.transpose(TARGET, (1, 0, 2)), TARGET[..., 0],
                                    TARGET[..., None]])
def test_fit_with_a_target_of_the_wrong_shape_says_both_shapes(target):
    with pytest.raises(ValueError, match=rf"target has shape \({', '.join(map(str, target.shape))}"
                       r",?\), but the pipeline's output for this raw has shape \(16, 20, 3\)"):
        _fit(target=target)


def test_fit_refuses_a_non_finite_or_non_float_target():
    bad = np.array(TARGET)
    bad[2, 3, 1] = np.nan
    bad[5, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"target has 2 non-finite values \(the first at "
                                         r"\(2, 3, 1\)\)"):
        _fit(target=bad)
    with pytest.raises(TypeError, match=r"dtype uint8.*astype\(np.float32\) / 255"):
        _fit(target=(np.asarray(TARGET) * 255).astype(np.uint8))
    with pytest.raises(TypeError, match="real float image, got dtype complex"):
        _fit(target=np.asarray(TARGET) + 0j)
    with pytest.raises(TypeError, match=r"target must be an image array .* got NoneType"):
        _fit(target=None)
    res = _fit(target=np.asarray(TARGET).tolist())  # a nested list is an image
    assert res.fun < float(mse(PIPE(RAW), TARGET))


def test_fit_with_a_custom_loss_takes_any_target():
    brightness = np.float64(0.4)
    res = _fit(target=brightness, loss=lambda out, b: (dnp.mean(out) - b) ** 2, steps=50,
               trainable=["white_balance"])
    assert res.fun < 1e-10


def test_fit_refuses_a_malformed_parameter_tree():
    with pytest.raises(TypeError, match=r"must be a dict \{stage name: \{parameter name: "
                                        r"value\}\}, got ndarray"):
        _fit(params0=np.ones(3))
    with pytest.raises(TypeError, match="parameters of stage 'white_balance' must be a dict"):
        _fit(params0={"white_balance": np.ones(3)})
    with pytest.raises(KeyError, match=r"'gains' is a parameter of stage 'white_balance': "
                                       r"write \{'white_balance': \{'gains': \.\.\.\}\}"):
        _fit(params0={"gains": np.ones(3)})
    with pytest.raises(TypeError, match="no parameter"):
        _fit(params0={"white_balance": {"gain": np.ones(3)}})
    with pytest.raises(ValueError, match=r"gains must have shape \(3,\), got \(2,\)"):
        _fit(params0={"white_balance": {"gains": np.ones(2)}})
    with pytest.raises(TypeError, match=r"must return pipeline parameters, .* got list"):
        _fit(params0={"a": np.ones(3)}, parameterization=lambda v: [v["a"]])
    with pytest.raises(KeyError) as err:
        _fit(params0={"a": np.ones(3)}, parameterization=lambda v: {"white_balance": {
            "gains": v["red_blue"]}})
    assert "raised by parameterization(params0)" in "\n".join(err.value.__notes__)


def test_fit_refuses_wrong_settings():
    with pytest.raises(TypeError, match=r"list of stage names.*trainable=\['white_balance'\]"):
        _fit(trainable="white_balance")
    for steps in (0, -5, 2.5):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            _fit(steps=steps)
    with pytest.raises(TypeError, match=r"fit takes a Pipeline, got list"):
        _fit(pipeline=[normalize, gamma])
    with pytest.raises(TypeError, match="parameterization must be a function"):
        _fit(params0={"a": np.ones(3)}, parameterization={"white_balance": {}})


def test_mse_refuses_images_of_different_shapes():
    with pytest.raises(ValueError, match=r"mse: the images have different shapes"):
        mse(np.ones((4, 4, 3)), np.ones((4, 4, 1)))  # would broadcast


# --- the parameterizations that make the recovery well-conditioned --------------------------
def test_white_preserving_matrix():
    off = np.array([-0.3, 0.1, 0.2, -0.05, 0.4, -0.6])
    m = np.asarray(white_preserving_matrix(off))
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(m[~np.eye(3, dtype=bool)], off)
    np.testing.assert_array_equal(np.asarray(white_preserving_matrix(np.zeros(6))), np.eye(3))
    check_grads(white_preserving_matrix, (off,), order=1)


def test_tone_slopes_from_srgb_fix_the_displayed_knots():
    shown = np.array([3.0, 1.5, 1.0, 0.8, 0.6, 0.5, 0.4, 0.2])
    for g in (2.0, 2.2, 2.4):
        slopes = np.asarray(tone_slopes_from_srgb(shown, g))
        assert np.all(slopes > 0)
        knots = np.arange(1, 9) / 8
        displayed = np.asarray(gamma(np.asarray(tone_curve_values(slopes, knots))[None, :], g=g))
        np.testing.assert_allclose(displayed[0], np.cumsum(shown) / 8, rtol=1e-12)
        np.testing.assert_allclose(srgb_slopes(slopes, g), shown, rtol=1e-12)
    np.testing.assert_allclose(tone_slopes_from_srgb(srgb_slopes(CAMERA.slopes, 2.2), 2.2),
                               CAMERA.slopes, rtol=1e-12)
    check_grads(tone_slopes_from_srgb, (shown, 2.2), order=1)


# --- identifiability on problems with known answers -----------------------------------------
IMG = np.random.default_rng(5).uniform(0.05, 0.95, (10, 12, 3))


def test_sensitivity_of_white_balance_is_its_closed_form():
    """Output ``x * gains``: each gain moves only its channel, so a 1% change of gain c moves
    the output by ``0.01 * g_c * rms(x_c)`` over all values, whatever else is re-fitted."""
    gains = np.array([2.0, 1.0, 1.5])
    ident = identifiability(Pipeline([white_balance]), IMG, {"white_balance": {"gains": gains}})
    expected = 0.01 * gains * np.sqrt(np.sum(IMG ** 2, axis=(0, 1)) / IMG.size)
    np.testing.assert_allclose(ident.sensitivity["white_balance"]["gains"], expected, rtol=1e-10)
    assert ident.undetermined == []


def test_a_gauge_leaves_every_entry_undetermined_until_it_is_fixed():
    """Gains and exposure trade off exactly; holding the green gain at 1 removes that."""
    pipe = Pipeline([white_balance, exposure])
    start = {"white_balance": {"gains": np.array([2.0, 1.0, 1.5])}, "exposure": {"ev": 0.3}}
    free = identifiability(pipe, IMG, start)
    assert free.undetermined == ["white_balance.gains[0]", "white_balance.gains[1]",
                                 "white_balance.gains[2]", "exposure.ev"]
    assert max(free.sensitivity["white_balance"]["gains"]) < 1e-7  # (the eigenvalue floor)

    def params(v):
        gains = dnp.stack([v["rb"][0], 1.0, v["rb"][1]])
        return {"white_balance": {"gains": gains}, "exposure": {"ev": v["ev"]}}

    fixed = identifiability(pipe, IMG, {"rb": np.array([2.0, 1.5]), "ev": np.array(0.3)},
                            parameterization=params)
    assert fixed.undetermined == [] and fixed.sensitivity["white_balance"]["gains"][1] == np.inf


def test_sensitivity_is_the_rms_change_left_after_the_others_re_fit():
    """Move the exposure by 1% and let L-BFGS re-fit the red and blue gains: the RMS change
    that remains is the sensitivity (to first order)."""
    pipe = Pipeline([white_balance, exposure, gamma])

    def params(v):
        return {"white_balance": {"gains": dnp.stack([v["rb"][0], 1.0, v["rb"][1]])},
                "exposure": {"ev": v["ev"]}}

    true = {"rb": np.array([1.8, 1.4]), "ev": np.array(0.5)}
    target = pipe(IMG, params(true))
    ident = identifiability(pipe, IMG, true, parameterization=params)

    def fixed_ev(v):
        return params({"rb": v, "ev": 1.01 * true["ev"]})

    res = fit(pipe, IMG, target, true["rb"], "l-bfgs-b", steps=200, tol=1e-15,
              parameterization=fixed_ev)
    assert np.sqrt(res.fun) == pytest.approx(float(ident.sensitivity["exposure"]["ev"]),
                                             rel=0.02)


def test_identifiability_refuses_what_fit_refuses():
    with pytest.raises(TypeError, match="trainable must be a list"):
        identifiability(Pipeline([white_balance]), IMG, trainable="white_balance")
    with pytest.raises(TypeError, match="with a parameterization, pass params0"):
        identifiability(Pipeline([white_balance]), IMG, parameterization=lambda v: v)
