"""Reliability of the camera pipeline: the recovery task (task A of the enhancement example) on
photographs other than the one it was tuned on, what a photograph determines
(``identifiability``), and ``fit`` refusing inputs it cannot use with a clear error."""

import gzip

import matplotlib.cbook
import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt.cli import main as cli
from diffopt.examples import image_enhancement as ie
from diffopt.image import (
    Camera,
    Pipeline,
    Stage,
    camera_params,
    exposure,
    fit,
    gamma,
    gaussian_blur,
    identifiability,
    mse,
    normalize,
    psnr,
    srgb_slopes,
    tone_curve_values,
    tone_slopes_from_srgb,
    unprocess,
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


@pytest.mark.parametrize("method", ["adam", "l-bfgs-b"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_interrupted_fit_keeps_its_parameters_in_the_exception(method, error):
    seen = []

    def callback(intermediate):
        seen.append(intermediate.x)
        if len(seen) == 3:
            raise error("stop here")

    with pytest.raises(error) as info:
        _fit(method=method, steps=50, callback=callback)
    res = info.value.result
    assert not res.success and "iteration" in res.message
    # the parameters of the last iterate the callback saw, as pipeline parameters
    np.testing.assert_array_equal(res.params["white_balance"]["gains"],
                                  seen[-1]["white_balance"]["gains"])
    assert set(res.params) == set(PIPE.params())
    assert any(".result" in note for note in info.value.__notes__)


@pytest.mark.parametrize("start", [0.5, 2.0])
def test_a_line_search_never_tries_a_width_the_stage_refuses(start):
    """L-BFGS-B gets the stages' bounds: its trial steps toward no blur used to reach sigma < 0,
    which gaussian_blur refuses, and the fit died with a ValueError."""
    x = np.random.default_rng(1).uniform(0, 1, (24, 24, 3))
    res = fit(Pipeline([gaussian_blur]), x, x, {"gaussian_blur": {"sigma": start}}, "l-bfgs-b",
              steps=50)
    assert 0.0 <= res.params["gaussian_blur"]["sigma"] < start and res.fun < 1e-6
    with pytest.raises(ValueError, match="bounds for unknown parameters"):
        Stage("gain", {"k": 1.0}, lambda x, k: x * k, bounds={"kk": (0.0, 1.0)})


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


# --- photographs of other sizes and content -------------------------------------------------
def _sample(name: str):
    return matplotlib.cbook.get_sample_data(name, asfileobj=False)


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    return np.ascontiguousarray(image[:h, :w, :3], dtype=np.float64)


def _shrink(image: np.ndarray, k: int) -> np.ndarray:
    h, w = image.shape[0] // k, image.shape[1] // k
    return image[:h * k, :w * k].reshape(h, k, w, k, -1).mean(axis=(1, 3))


def _on_white(name: str) -> np.ndarray:
    """A matplotlib RGBA sample composited on white."""
    rgba = matplotlib.image.imread(_sample(name)).astype(np.float64)
    return rgba[..., :3] * rgba[..., 3:] + 1.0 - rgba[..., 3:]


def icon():
    """128 x 128: a bright icon, half of it white background, flat colours."""
    return _even(_on_white("Minduka_Present_Blue_Pack.png"))


def logo():
    """64 x 270: matplotlib's logo, wide, mostly white, flat colours and text."""
    return _even(_shrink(_on_white("logo2.png"), 2))


def mri():
    """112 x 128: a grey MRI slice (16-bit), dark: the brightest knots hold few pixels."""
    with gzip.open(_sample("s1045.ima.gz")) as f:
        slice_ = np.frombuffer(f.read(), np.uint16).reshape(256, 256).astype(np.float64)
    return _even(_shrink(np.repeat((slice_ / slice_.max())[..., None], 3, axis=2), 2)[8:120])


def terrain():
    """172 x 200: an elevation map in the gist_earth colours; most values low."""
    dem = np.load(_sample("jacksboro_fault_dem.npz"))["elevation"].astype(np.float64)
    z = matplotlib.colors.Normalize()(dem)
    return _even(_shrink(matplotlib.colormaps["gist_earth"](z)[..., :3], 2))


def patches():
    """72 x 120 (synthetic): a colour chart of 60 random patches under a lighting gradient."""
    colours = np.random.default_rng(1).uniform(0.05, 0.95, size=(6, 10, 3))
    chart = np.repeat(np.repeat(colours, 12, axis=0), 12, axis=1)
    return chart * (0.7 + 0.3 * np.linspace(0.0, 1.0, 120)[None, :, None])


def dark():
    """100 x 76 (synthetic): a smooth low-key scene, nothing brighter than 0.22."""
    yy, xx = np.mgrid[0:100, 0:76] / 100.0
    return 0.12 + 0.1 * np.stack([np.sin(7 * xx), np.cos(5 * yy + 1), np.sin(4 * (xx - yy))], -1)


PHOTOGRAPHS = {"icon": icon, "logo": logo, "mri": mri, "terrain": terrain, "patches": patches,
               "dark": dark}


def _raw(photo):
    return unprocess(photo, CAMERA, np.random.default_rng(2019)).astype(np.float32)


@pytest.fixture(scope="module", params=list(PHOTOGRAPHS))
def recovered(request):
    """Task A with both solvers, as the example runs it, on one photograph."""
    photo = PHOTOGRAPHS[request.param]()
    raw = _raw(photo)
    ident = ie.recovery_identifiability(raw, CAMERA)
    runs = {"l-bfgs-b": ie.recover(raw, CAMERA, "l-bfgs-b", 400, ident=ident),
            "adam": ie.recover(raw, CAMERA, "adam", 400, ie.ADAM, ident=ident)}
    return request.param, photo, raw, ident, runs


def test_the_photographs_differ_in_size_and_content():
    shapes = {name: make().shape for name, make in PHOTOGRAPHS.items()}
    assert len(set(shapes.values())) == len(shapes)
    assert all(s[0] % 2 == 0 and s[1] % 2 == 0 and s[2] == 3 for s in shapes.values())
    means = [float(make().mean()) for make in PHOTOGRAPHS.values()]
    assert min(means) < 0.2 and max(means) > 0.7  # low-key to mostly white


def test_lbfgs_recovers_every_determined_parameter(recovered):
    name, _, _, ident, runs = recovered
    run = runs["l-bfgs-b"]
    assert run["psnr"] >= 60, name
    assert run["max_param_error"] < 0.01, (name, run["errors"])  # every determined one, 1%
    assert run["undetermined"] == ident.undetermined
    assert run["losses"][-1] < 1e-6 * run["losses"][0]


def test_adam_reaches_45_db(recovered):
    name, _, _, _, runs = recovered
    assert runs["adam"]["psnr"] >= 45, name
    assert psnr(runs["adam"]["initial"], runs["adam"]["target"]) < 30  # it started far away


def test_undetermined_knots_are_those_of_intensities_the_photograph_hardly_holds(recovered):
    """The Fisher criterion agrees with the pixel count: a knot is undetermined only when its
    intensity range holds under 0.5% of the values, and determined when it holds over 2%; all
    the other parameters are determined on every photograph."""
    name, _, raw, ident, _ = recovered
    share = _tone_curve_occupancy(raw)
    slopes = ident.determined["tone_curve"]["slopes"]
    assert np.all(share[~slopes] < 0.005) and np.all(slopes[share > 0.02]), (name, share)
    assert all(u.startswith("tone_curve.slopes[") for u in ident.undetermined), name
    assert ident.sensitivity["normalize"]["black"] == np.inf  # fixed: the camera's own
    if name == "dark":  # nothing above the second segment: the knots there are free
        assert ident.undetermined == [f"tone_curve.slopes[{k}]" for k in range(1, 8)]
        assert np.all(ident.sensitivity["tone_curve"]["slopes"][2:] < 1e-8)
    if name in ("icon", "logo"):
        assert ident.undetermined == []


def _tone_curve_occupancy(raw) -> np.ndarray:
    """The share of the tone curve's input values (at the true camera) in each segment."""
    true = camera_params(CAMERA)
    front = Pipeline(ie.RECOVERY.stages[:5])
    linear = np.asarray(front(raw, {k: true[k] for k in ("normalize", "white_balance",
                                                           "color_matrix", "exposure")}))
    segments = np.clip(np.floor(linear.ravel() * 8), 0, 7).astype(int)
    return np.bincount(segments, minlength=8) / segments.size


def test_errors_of_undetermined_knots_are_left_out_because_they_are_not_recovered():
    raw = _raw(dark())
    run = ie.recover(raw, CAMERA, "l-bfgs-b", 400)
    assert run["psnr"] > 100 and run["max_param_error"] < 1e-4
    learned = np.abs(run["params"]["tone_curve"]["slopes"])
    wrong = np.abs(learned - CAMERA.slopes) / CAMERA.slopes
    assert wrong[2:].max() > 0.01  # a perfect rendering with the free knots anywhere
    assert run["errors"]["tone_curve.slopes"] == pytest.approx(wrong[0], rel=1e-6)


def test_enhancement_on_the_icon_runs_and_beats_the_true_parameters():
    """Task B on a photograph it was not tuned on (the icon as the demo reads it, alpha
    dropped): its L-BFGS used to try a negative blur width at iteration 30 and stop with a
    ValueError."""
    photo = ie.load_photo(_sample("Minduka_Present_Blue_Pack.png"))
    b = ie.enhance(_raw(photo), photo, CAMERA, 40)
    assert b["psnr"] > b["psnr_true"] + 1.0
    assert b["params"]["gaussian_blur"]["sigma"] >= 0.0


def test_the_demo_names_the_undetermined_knots(tmp_path, capsys):
    path = tmp_path / "dark.png"
    matplotlib.image.imsave(path, np.clip(dark()[:40, :50], 0, 1))
    assert cli(["demo", "enhance", "--quick", "--out", str(tmp_path / "out"), "--image",
                str(path)]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("undetermined by this photograph"))
    assert "tone_curve.slopes[7]" in line and "white_balance" not in line
