"""Reliability of the camera pipeline: ``fit`` refusing inputs it cannot use with a clear
error."""


import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt.image import (
    Pipeline,
    fit,
    gamma,
    mse,
    normalize,
    white_balance,
)
from diffopt.image.demosaic import demosaic_bilinear

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
