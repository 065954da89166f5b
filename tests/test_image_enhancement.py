"""The image-enhancement example (quick run: the sample photograph shrunk 4 times): recovery of the
true camera parameters by L-BFGS and Adam, enhancement beating the true parameters, the figures,
``--image PATH`` through the CLI; and the synthetic raw (``unprocess``) it starts from."""

from pathlib import Path

import numpy as np
import pytest

from diffopt.cli import main as cli
from diffopt.examples import image_enhancement
from diffopt.image import Camera, camera_params, psnr, tone_curve_values, unprocess
from diffopt.image.unprocess import inverse_tone_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    return image_enhancement.run(out_dir=tmp_path_factory.mktemp("enhance"), quick=True)


def test_recovery_meets_the_targets(ran):
    lbfgs, adam = ran["recovery"]["l-bfgs-b"], ran["recovery"]["adam"]
    assert lbfgs["psnr"] >= 60 and lbfgs["ssim"] > 0.9999
    assert lbfgs["max_param_error"] < 0.01  # every parameter within 1%
    assert set(lbfgs["errors"]) == {"white_balance.gains", "color_matrix.matrix",
                                    "tone_curve.slopes", "gamma.g"}
    assert adam["psnr"] >= 45
    assert lbfgs["losses"][-1] < 1e-3 * lbfgs["losses"][0]
    # the start really was far: identity-like parameters
    assert psnr(lbfgs["initial"], lbfgs["target"]) < 25


def test_enhancement_beats_the_true_parameters(ran):
    b = ran["enhancement"]
    assert b["psnr"] > b["psnr_true"] + 1.0 and b["ssim"] > b["ssim_true"]
    assert b["params"]["gaussian_blur"]["sigma"] > 0.05  # it learned to denoise


def test_figures(ran):
    names = sorted(Path(p).name for p in ran["plots"])
    assert names == ["enhancement.png", "loss.png", "recovery.png", "tone_curve.png"]
    for p in ran["plots"]:
        with open(p, "rb") as fh:
            assert fh.read(8) == PNG_MAGIC
        assert Path(p).stat().st_size > 10_000


def test_your_own_image_through_the_cli(tmp_path, capsys):
    import matplotlib.image

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:40, 0:50] / 50.0
    picture = np.clip(np.stack([xx, yy, 1 - xx], axis=-1) + 0.05 * rng.normal(size=(40, 50, 3)),
                      0, 1)
    path = tmp_path / "mine.png"
    matplotlib.image.imsave(path, picture)
    assert cli(["demo", "enhance", "--quick", "--out", str(tmp_path / "out"), "--image",
                str(path)]) == 0
    out = capsys.readouterr().out
    assert "photograph 50 × 40" in out and "A recovery, l-bfgs-b" in out
    assert (tmp_path / "out" / "recovery.png").exists()
    with pytest.raises(SystemExit):
        cli(["demo", "trebuchet", "--image", str(path)])
    tiny = tmp_path / "tiny.png"
    matplotlib.image.imsave(tiny, picture[:8, :8])
    with pytest.raises(ValueError, match="too small"):
        image_enhancement.load_photo(str(tiny))


def test_unprocess_inverts_the_camera_pipeline():
    photo = image_enhancement.load_photo(shrink=4)
    camera = Camera()
    raw = unprocess(photo, camera, noise=False)
    assert raw.shape == photo.shape[:2] and raw.min() >= 0 and raw.max() <= 1
    counts = raw * camera.white
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # 12-bit integers
    assert counts.min() >= camera.black - 1e-9  # noise-free: nothing under the black level
    rendered = image_enhancement.RECOVERY(raw, camera_params(camera))
    assert psnr(np.clip(rendered, 0, 1), photo) > 20  # bilinear demosaicking loses detail
    yy, xx = np.mgrid[0:48, 0:64] / 64.0  # a smooth image: rendered back almost exactly
    smooth = 0.45 + 0.35 * np.stack([np.sin(2 * xx), np.cos(3 * yy), np.sin(xx + yy)], axis=-1)
    back = image_enhancement.RECOVERY(unprocess(smooth, camera, noise=False),
                                      camera_params(camera))
    assert psnr(back[4:-4, 4:-4], smooth[4:-4, 4:-4]) > 40
    noisy = unprocess(photo, camera, np.random.default_rng(0))
    assert 0 < np.mean(np.abs(noisy - raw)) < 0.01
    y = np.linspace(-0.2, 1.3, 61)
    np.testing.assert_allclose(np.asarray(tone_curve_values(camera.slopes, inverse_tone_curve(
        y, camera.slopes))), y, atol=1e-12)
    with pytest.raises(ValueError, match="even H and W"):
        unprocess(photo[:-1], camera)
    with pytest.raises(ValueError, match="zero slope"):
        inverse_tone_curve(y, np.array([1.0, 0.0]))
