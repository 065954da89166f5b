"""Image enhancement: camera-pipeline parameters learned by gradient descent from a synthetic raw.

A photograph (matplotlib's bundled portrait of Grace Hopper, or ``--image PATH``) is run backwards
through a camera pipeline (``diffopt.image.unprocess``) into a noisy 12-bit RGGB raw. Then:

- **Task A, recovery.** ``normalize → demosaic_bilinear → white_balance → color_matrix → exposure
  → tone_curve → gamma`` starts from identity-like parameters and learns them all so that it
  reproduces the rendering made with the true ones (L-BFGS, then Adam). Made identifiable: the
  black and white levels are the camera's (known), the green gain is held at 1 and the colour
  matrix's rows sum to 1; bilinear demosaicking commutes with white balance, so the order of
  those two does not matter. Made well-conditioned on any photograph: the matrix is learned as
  its six off-diagonal entries (``white_preserving_matrix``: no redundant row scales) and the
  tone curve as its slopes after the gamma (``tone_slopes_from_srgb``: the gamma then changes
  only the bends between knots, instead of trading off with the lower knots). Parameter errors
  are reported only where the photograph determines the parameter
  (``diffopt.image.identifiability``); the others, such as the knots of intensities the
  photograph hardly holds, are named instead. Adam averages its squared gradients over about
  10 steps (``beta2=0.9``) rather than 1000: the gradient falls a hundredfold in the first 100
  steps, and with the long average every later step shrinks as much and the fit stalls.
- **Task B, enhancement.** The pipeline, with a learnable Malvar–He–Cutler demosaicking, a
  Gaussian denoiser and unsharp-mask sharpening, is fitted to the original photograph from its
  noisy raw, starting from the true camera parameters; a good fit beats them.

Figures (PNG): the raw mosaic, the initial output, the learned output and the target side by
side, for each task; loss against iteration; the learned tone curve against the true one.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import diffopt.numpy as dnp
from diffopt.image import fit, identifiability, psnr, ssim
from diffopt.image.color import (
    srgb_slopes,
    tone_curve_values,
    tone_slopes_from_srgb,
    white_preserving_matrix,
)
from diffopt.image.unprocess import Camera, camera_params, unprocess

from ..models.camera import ENHANCEMENT, RECOVERY, load_photo
from ._shared import figure, output_dir, print_table, save

# --- task A: recovery ---------------------------------------------------------------------------
OFF_DIAGONAL = ~np.eye(3, dtype=bool)
# Adam's second moment averaged over ~10 steps, not ~1000 (beta2 0.999): the gradient falls 100x
# in the first 100 steps, and a long average of its squares would shrink every later step as much
ADAM = {"lr": 0.01, "beta2": 0.9}
IDENTITY_CAMERA = Camera(gains=np.ones(3), matrix=np.eye(3), slopes=np.ones(8), g=2.4)


def recovery_variables(camera: Camera | None = None) -> dict:
    """Task A's optimised variables for ``camera`` (default: the identity-like start, gains 1,
    the identity matrix, a straight tone curve and the standard gamma 2.4): the red and blue
    gains, the matrix's off-diagonal entries, the tone curve's slopes after the gamma, and the
    gamma's exponent (see ``recovery_params``)."""
    camera = IDENTITY_CAMERA if camera is None else camera
    return {"red_blue": np.asarray(camera.gains, dtype=float)[[0, 2]],
            "matrix": np.asarray(camera.matrix, dtype=float)[OFF_DIAGONAL],
            "tone": srgb_slopes(camera.slopes, camera.g), "g": np.array(float(camera.g))}


def recovery_params(camera: Camera):
    """The parameterization of task A: variables → pipeline parameters (green gain 1, the
    matrix's rows summing to 1, the tone curve from its slopes after the gamma; the camera's
    black and white levels and exposure, which the tone curve would otherwise absorb)."""
    known = camera_params(camera)
    levels, ev = known["normalize"], known["exposure"]["ev"]

    def params(v):
        gains = dnp.stack([v["red_blue"][0], 1.0, v["red_blue"][1]])
        return {"normalize": levels, "white_balance": {"gains": gains},
                "color_matrix": {"matrix": white_preserving_matrix(v["matrix"])},
                "exposure": {"ev": ev},
                "tone_curve": {"slopes": tone_slopes_from_srgb(v["tone"], v["g"])},
                "gamma": {"g": v["g"]}}

    return params


def parameter_errors(learned: dict, true: dict, determined: dict | None = None) -> dict:
    """Each pipeline parameter's largest relative error ``|learned - true| / |true|``
    (elementwise), for the parameters that ``true`` holds (``stage.parameter`` keys), over the
    entries that ``determined`` (a tree like ``true`` of booleans) marks; None where it marks
    none."""
    errors = {}
    for stage, p in true.items():
        for k, v in p.items():
            err = np.abs(np.asarray(learned[stage][k]) - v) / np.abs(v)
            keep = np.ones(np.shape(v), bool) if determined is None else determined[stage][k]
            errors[f"{stage}.{k}"] = float(np.max(err[keep])) if np.any(keep) else None
    return errors


def _reported(params: dict) -> dict:
    """The parameters task A learns, as pipeline parameters (the red and blue gains: green
    is 1)."""
    return {"white_balance": {"gains": np.asarray(params["white_balance"]["gains"])[[0, 2]]},
            **{k: params[k] for k in ("color_matrix", "tone_curve", "gamma")}}


def recovery_identifiability(raw, camera: Camera):
    """Which of task A's parameters this raw determines (at the true camera)."""
    return identifiability(RECOVERY, raw, recovery_variables(camera),
                           parameterization=recovery_params(camera))


def _history(losses: list):
    def callback(result):
        losses.append(float(result.fun))

    return callback


def recover(raw, camera: Camera, method: str, steps: int, options: dict | None = None,
            ident=None) -> dict:
    """Task A with one solver: the fit, its PSNR/SSIM against the true rendering, and the
    relative error of each parameter the raw determines (``ident``: its
    ``recovery_identifiability``, computed if not given)."""
    params = recovery_params(camera)
    target = RECOVERY(raw, params(recovery_variables(camera)))
    ident = recovery_identifiability(raw, camera) if ident is None else ident
    losses: list = []
    start = time.perf_counter()
    res = fit(RECOVERY, raw, target, recovery_variables(), method, steps=steps,
              tol=1e-16 if method == "l-bfgs-b" else None, parameterization=params,
              options=options, callback=_history(losses))
    seconds = time.perf_counter() - start
    out = RECOVERY(raw, res.params)
    errors = parameter_errors(_reported(res.params), _reported(camera_params(camera)),
                              _reported(ident.determined))
    known = [e for e in errors.values() if e is not None]
    return {"method": method, "psnr": float(psnr(out, target)),
            "ssim": float(ssim(np.asarray(out, float), np.asarray(target, float))),
            "max_param_error": max(known) if known else None, "errors": errors,
            "undetermined": ident.undetermined, "seconds": seconds,
            "iterations": int(res.nit), "losses": losses, "x": res.x, "params": res.params,
            "output": out, "target": target,
            "initial": RECOVERY(raw, params(recovery_variables()))}


# --- task B: enhancement ------------------------------------------------------------------------
def enhance(raw, photo, camera: Camera, steps: int) -> dict:
    """Task B: fit the enhancement pipeline to the photograph, starting from the true camera;
    PSNR/SSIM of the fit and of the true parameters against the photograph."""
    true = {**camera_params(camera), "gaussian_blur": {"sigma": 1.0},
            "unsharp_mask": {"amount": 0.0, "radius": 1.0}}
    photo32 = photo.astype(raw.dtype)
    start_out = ENHANCEMENT(raw, {**true, "gaussian_blur": {"sigma": 0.05}})  # (no denoising)
    losses: list = []
    start = time.perf_counter()
    res = fit(ENHANCEMENT, raw, photo32, true, "l-bfgs-b", steps=steps,
              callback=_history(losses))
    seconds = time.perf_counter() - start
    out = ENHANCEMENT(raw, res.params)
    return {"psnr_true": float(psnr(start_out, photo32)),
            "ssim_true": float(ssim(np.asarray(start_out, float), photo)),
            "psnr": float(psnr(out, photo32)), "ssim": float(ssim(np.asarray(out, float), photo)),
            "seconds": seconds, "iterations": int(res.nit), "losses": losses,
            "params": res.params, "output": out, "initial": start_out}


# --- figures ------------------------------------------------------------------------------------
def _show(ax, image, title: str) -> None:
    ax.imshow(np.clip(np.asarray(image, dtype=float), 0, 1), cmap="gray" if image.ndim == 2 else
              None, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def _panel(path: Path, raw, initial, learned, target, titles) -> str:
    fig, ax = figure(1, 4, (3.2, 3.4))
    for a, image, title in zip(ax[0], (raw, initial, learned, target), titles):
        _show(a, image, title)
    return save(fig, path)


def _plots(out: Path, raw, recovery: dict, b: dict, camera: Camera) -> list:
    a = recovery["l-bfgs-b"]
    files = [
        _panel(out / "recovery.png", raw, a["initial"], a["output"], a["target"],
               ("raw mosaic", "initial parameters", f"learned ({a['psnr']:.1f} dB)",
                "target (true parameters)")),
        _panel(out / "enhancement.png", raw, b["initial"], b["output"], b["target"],
               ("raw mosaic", f"true parameters ({b['psnr_true']:.1f} dB)",
                f"fitted ({b['psnr']:.1f} dB)", "original photograph")),
    ]
    fig, ax = figure(1, 2, (5.0, 3.6))
    for method, run in recovery.items():
        ax[0][0].semilogy(run["losses"], label=method)
    ax[0][1].semilogy(b["losses"], label="l-bfgs-b")
    for k, title in enumerate(("task A: loss (MSE)", "task B: loss (MSE)")):
        ax[0][k].set_xlabel("iteration")
        ax[0][k].set_title(title)
        ax[0][k].legend()
    files.append(save(fig, out / "loss.png"))
    fig, ax = figure(1, 1, (4.5, 4.0))
    xs = np.linspace(0.0, 1.0, 201)
    ax[0][0].plot(xs, np.asarray(tone_curve_values(camera.slopes, xs)), label="true", lw=3,
                  alpha=0.5)
    ax[0][0].plot(xs, np.asarray(tone_curve_values(a["params"]["tone_curve"]["slopes"], xs)),
                  "--", label="learned (task A)")
    ax[0][0].plot(xs, np.asarray(tone_curve_values(b["params"]["tone_curve"]["slopes"], xs)),
                  ":", label="fitted (task B)")
    ax[0][0].set_xlabel("input")
    ax[0][0].set_ylabel("output")
    ax[0][0].legend()
    ax[0][0].set_title("tone curve")
    files.append(save(fig, out / "tone_curve.png"))
    return files


def run(out_dir="plots/enhance", quick: bool = False, image: str | None = None,
        shrink: int | None = None) -> dict:
    """Both tasks on the sample photograph (or ``image``); prints PSNR/SSIM per task and writes
    the figures. ``quick``: the photograph shrunk to about 128 pixels on its shorter side and
    fewer steps (what the tests run); ``shrink``: average blocks of that size first.
    (``diffopt demo enhance --quick`` runs it from the command line.)
    """
    out = output_dir(out_dir)
    photo = load_photo(image, shrink or 1, 128 if quick and shrink is None else None)
    camera = Camera()
    raw = unprocess(photo, camera, np.random.default_rng(2019)).astype(np.float32)
    steps_a, steps_adam, steps_b = (300, 600, 40) if quick else (400, 400, 60)
    ident = recovery_identifiability(raw, camera)
    recovery = {"l-bfgs-b": recover(raw, camera, "l-bfgs-b", steps_a, ident=ident),
                "adam": recover(raw, camera, "adam", steps_adam, ADAM, ident=ident)}
    enhancement = enhance(raw, photo, camera, steps_b)
    enhancement["target"] = photo
    rows = [{"task": f"A recovery, {k}", "psnr": r["psnr"], "ssim": r["ssim"],
             "err": r["max_param_error"], "iterations": r["iterations"], "s": r["seconds"]}
            for k, r in recovery.items()]
    rows.append({"task": "B enhancement, true parameters", "psnr": enhancement["psnr_true"],
                 "ssim": enhancement["ssim_true"]})
    rows.append({"task": "B enhancement, fitted (l-bfgs-b)", "psnr": enhancement["psnr"],
                 "ssim": enhancement["ssim"], "iterations": enhancement["iterations"],
                 "s": enhancement["seconds"]})
    print(f"photograph {photo.shape[1]} × {photo.shape[0]}; raw: RGGB, 12 bits, black level "
          f"{camera.black}, shot and read noise")
    print_table(rows, [("task", "task", "s"), ("psnr", "PSNR dB", ".2f"), ("ssim", "SSIM", ".4f"),
                       ("err", "max param error", ".2e"), ("iterations", "iterations", "d"),
                       ("s", "seconds", ".1f")])
    print("parameter errors, task A (L-BFGS): " + ", ".join(
        f"{k} {'-' if v is None else format(v, '.1e')}"
        for k, v in recovery["l-bfgs-b"]["errors"].items()))
    print(f"undetermined by this photograph (a {ident.rtol:.0%} change moves the rendering by "
          f"under {ident.threshold:.0e} RMS; left out of the errors): "
          f"{', '.join(ident.undetermined) or 'none'}")
    plots = _plots(out, np.asarray(raw), recovery, enhancement, camera)
    return {"recovery": recovery, "enhancement": enhancement, "plots": plots,
            "out_dir": str(out), "shape": photo.shape}


__all__ = ["run", "load_photo", "recover", "enhance", "recovery_variables", "recovery_params",
           "recovery_identifiability", "parameter_errors", "RECOVERY", "ENHANCEMENT"]
