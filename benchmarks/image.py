"""Image pipeline benchmark: megapixels per second of the differentiable
camera pipeline, diffopt against PyTorch and JAX.

The pipeline is ``diffopt.models.camera.ENHANCEMENT`` (the enhancement demo's), nine
stages: ``normalize → demosaic_mhc → white_balance → color_matrix → gaussian_blur → exposure →
tone_curve → gamma → unsharp_mask``, on float32 RGGB raws of 640 × 640 (0.4 MP), 2048 × 2048
(4.2 MP) and 4000 × 3000 (12 MP; not in ``--quick``), with the parameters of the synthetic camera
of ``diffopt.image.unprocess`` (plus a blur σ 0.8 and an unsharp mask of 0.5 at radius 1.2). The
raw is the example's: the sample photograph unprocessed into a noisy 12-bit mosaic, tiled to the
size; the target of the loss is the photograph, tiled alike. Two measurements per size:

- **forward**: the image from the raw (no gradient recorded);
- **forward+backward**: the value and gradient of the MSE against the target (accumulated in
  float64, as ``diffopt.image.mse`` which ``fit`` uses) with respect to every stage parameter
  (13 arrays, 30 numbers), as training does.

Systems, each measured in its own Python process (so that one's imports, threads and memory do
not disturb another; competitors are skipped with a note when not importable):

- ``diffopt numba``: ``backend="numba"``, the compiled stage kernels (Numba's threads: all cores);
- ``diffopt numpy``: ``backend="numpy"``, the reference (``diffopt.numpy``, one thread; few
  repeats);
- ``pytorch``: the same pipeline written with PyTorch operations on the CPU, eager, float32,
  autograd, ``torch.set_num_threads(all cores)``. Images in ``channels_last`` layout (NHWC
  storage: the depthwise convolutions run about 8× faster than in NCHW here), reflect padding,
  MHC as four stride-2 5 × 5 convolutions (one per Bayer site class) with filters ``bilinear +
  gain × correction`` built from ``diffopt.image.demosaic.TABLE``, the 7-tap separable Gaussian
  as two depthwise convolutions, the colour matrix as a 1 × 1 convolution, the tone curve by
  gathering the segment's base and slope (faster than a sum of clamps in eager mode), the gamma
  with the continuous slope ``s(g)`` below the knee;
- ``jax``: the same pipeline in ``jax.numpy`` under ``jax.jit`` (``value_and_grad`` for the
  gradient), float32 images, float64 parameters and loss (``jax_enable_x64``), XLA's threads (all
  cores); shifted slices for the blur and the demosaicking's neighbourhood sums (XLA fuses them;
  faster than ``lax.conv`` here), the tone curve as a sum of clamped segments. Compile time apart;
- ``diffopt cupy``: diffopt on CuPy arrays (the reference's operations on the GPU), measured only
  when CuPy imports and sees a GPU; otherwise a line says why not.

Each process first runs the pipeline on a 64 × 96 raw: its forward output and gradient are
compared with diffopt numba's (max abs difference of the images, max over parameters of the
relative difference of the gradients), so that every system is shown to compute the same
pipeline. Times are medians (``time_call`` of ``_harness``) after one warm-up call; a size is
measured with fewer repeats, or skipped, when it is predicted to take more than ``SIZE_LIMIT_S``
or more memory than is available (predicted from the previous size, per pixel). Reported: ms per
call, MP/s, the ratio of MP/s to PyTorch's, the process's peak resident memory, the 1-minute
load average before and after. The target: diffopt numba's forward+backward throughput
at least ``TARGET_X_TORCH`` × PyTorch's.

``run(out_dir, quick)`` prints the tables, writes ``image.json`` and ``image_throughput.png`` into
``out_dir`` and returns the results; ``main(argv)`` is the command line:

    python benchmarks/image.py [--quick] [--out DIR] [--no-competitors] [--sizes WxH,...]
"""

from __future__ import annotations

from _harness import (  # first: it sets one BLAS thread before NumPy loads
    available_mb,
    child_process,
    figure,
    machine,
    output_dir,
    parser,
    peak_rss_mb,
    print_table,
    save,
    time_call,
    timed,
    versions,
    write_json,
)

# isort: split

import argparse
import functools
import importlib.util
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

import diffopt

__all__ = ["run", "main", "measure", "bench_params",
           "make_data", "torch_pipeline", "jax_pipeline", "SYSTEMS", "FULL_SIZES", "QUICK_SIZES"]

JSON_NAME = "image.json"
VERSIONS = ("diffopt", "numpy", "numba", "torch", "jax", "jaxlib", "cupy")
FIGURE_NAME = "image_throughput.png"
FULL_SIZES = ((640, 640), (2048, 2048), (3000, 4000))  # (H, W): 0.4, 4.2 and 12 MP
QUICK_SIZES = ((640, 640), (2048, 2048))
CHECK_SHAPE = (64, 96)
# (full, quick) settings
BUDGET = (2.0, 0.3)  # seconds of timing per measurement
MIN_REPEATS = (3, 1)
MAX_REPEATS = 10
SIZE_LIMIT_S = (60.0, 15.0)  # per size: fewer repeats to fit, or skipped
SLOW_MAX_REPEATS = 3  # the NumPy reference: at most this many timed calls
MEMORY_SHARE = 0.8  # of the available memory a size may be predicted to use
PROCESS_TIMEOUT_S = 900.0
TARGET_X_TORCH = 2.0
TORCH = "pytorch"


# --- the pipeline's parameters and data ---------------------------------------------------------
def bench_params() -> dict:
    """The stage parameters every system uses (float64 arrays, in the pipeline's order): the
    synthetic camera's, MHC's default gains, a blur σ of 0.8 and an unsharp mask of 0.5 at radius
    1.2.

    >>> bench_params()["gamma"]["g"]
    array(2.2)
    """
    from diffopt.image.unprocess import Camera, camera_params
    from diffopt.models.camera import ENHANCEMENT

    given = {**camera_params(Camera()), "gaussian_blur": {"sigma": 0.8},
             "unsharp_mask": {"amount": 0.5, "radius": 1.2}}
    return {stage: {k: np.array(v, dtype=np.float64) for k, v in p.items()}
            for stage, p in ENHANCEMENT.params(given).items()}


def _param_names(params: dict) -> list[tuple[str, str]]:
    return [(stage, k) for stage, p in params.items() for k in p]


def _flat(tree, names: Sequence[tuple[str, str]]) -> np.ndarray:
    """A ``{stage: {name: value}}`` tree's values as one float64 vector, in ``names``' order."""
    return np.concatenate([np.ravel(np.asarray(tree[s][k], dtype=np.float64)) for s, k in names])


@functools.lru_cache(maxsize=1)
def _base_images() -> tuple[np.ndarray, np.ndarray]:
    from diffopt.image.unprocess import Camera, unprocess
    from diffopt.models.camera import load_photo

    photo = load_photo()
    raw = unprocess(photo, Camera(), np.random.default_rng(2019)).astype(np.float32)
    return raw, photo.astype(np.float32)


def make_data(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(raw (H, W), target (H, W, 3))``, float32: the example's noisy 12-bit raw of the sample
    photograph and the photograph itself, tiled to ``shape`` (even ``H, W``, so that the tiles
    keep the RGGB pattern).

    >>> raw, target = make_data((64, 96)); raw.shape, target.shape
    ((64, 96), (64, 96, 3))
    """
    h, w = shape
    if h % 2 or w % 2 or h < 8 or w < 8:
        raise ValueError(f"make_data: the raw needs even height and width >= 8, got {shape}")
    raw0, photo = _base_images()
    reps = (-(-h // raw0.shape[0]), -(-w // raw0.shape[1]))
    raw = np.ascontiguousarray(np.tile(raw0, reps)[:h, :w])
    target = np.ascontiguousarray(np.tile(photo, reps + (1,))[:h, :w])
    return raw, target


# --- the systems --------------------------------------------------------------------------------
class Programs(NamedTuple):
    """One system's programs on one raw: ``forward()`` and ``value_and_grad()`` (what is timed),
    ``image(out)`` and ``gradient(grads)`` (their results as an ``(H, W, 3)`` NumPy image and
    one float64 vector in :func:`bench_params`' order), and the threads the system uses."""

    forward: Callable
    value_and_grad: Callable
    image: Callable
    gradient: Callable
    threads: str


def diffopt_programs(backend: str, raw, target, params) -> Programs:
    """diffopt's ``ENHANCEMENT`` with ``backend`` (``"numba"``, ``"numpy"`` or ``"cupy"``: then
    the arrays and parameters are moved to the GPU and every call waits for it)."""
    from diffopt.image import mse
    from diffopt.models.camera import ENHANCEMENT

    names = _param_names(params)
    sync, to_host = (lambda: None), np.asarray
    threads = "1 (NumPy; BLAS default)"
    if backend == "cupy":
        import cupy

        raw, target = cupy.asarray(raw), cupy.asarray(target)
        params = {s: {k: cupy.asarray(v) for k, v in p.items()} for s, p in params.items()}
        sync, to_host, threads = cupy.cuda.Device().synchronize, cupy.asnumpy, "GPU"
    elif backend == "numba":
        import numba

        threads = f"{numba.get_num_threads()} (Numba)"
    vg = diffopt.value_and_grad(lambda p: mse(ENHANCEMENT(raw, p, backend=backend), target))

    def forward():
        out = ENHANCEMENT(raw, params, backend=backend)
        sync()
        return out

    def value_and_grad():
        out = vg(params)
        sync()
        return out

    def gradient(vg_out):
        g = vg_out[1]
        return _flat({s: {k: to_host(g[s][k]) for k in g[s]} for s in g}, names)

    return Programs(forward, value_and_grad, lambda out: np.asarray(to_host(out)), gradient,
                    threads)


def _mhc_filters() -> np.ndarray:
    """``(4, 4, 3, 5, 5)``: per gain (the bilinear part, then alpha, beta, gamma's
    corrections), Bayer site class and channel, the 5 × 5 filter of the demosaicking (correlation,
    centred), from ``diffopt.image.demosaic``'s table of neighbourhood sums."""
    from diffopt.image.demosaic import _OFFSETS, SUMS, TABLE

    stencils = np.zeros((len(SUMS), 5, 5))
    for s, name in enumerate(SUMS):
        for di, dj in _OFFSETS[name]:
            stencils[s, 2 + di, 2 + dj] += 1.0
    return np.einsum("gksc,suv->gkcuv", TABLE, stencils)


def torch_pipeline() -> Callable:
    """``pipeline(raw, params) -> image``: ``ENHANCEMENT`` written with PyTorch (CPU, eager,
    autograd); ``raw``: ``(H, W)`` float32 tensor, ``params``: ``{stage: {name: tensor}}``
    (float64, cast to float32 where used, as diffopt does); returns ``(1, 3, H, W)`` float32 in
    ``channels_last`` memory layout.

    >>> torch_pipeline()(torch.rand(64, 64), {s: {k: torch.tensor(v) for k, v in p.items()}
    ...                                       for s, p in bench_params().items()}).shape
    torch.Size([1, 3, 64, 64])
    """
    import torch
    import torch.nn.functional as F

    from diffopt.image.color import _SRGB_KNEE, _SRGB_TINY
    from diffopt.image.filters import BLUR_RADIUS, SIGMA_MIN

    last = torch.channels_last
    basis = torch.tensor(_mhc_filters())
    taps = torch.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=torch.float64) ** 2
    n_taps = 2 * BLUR_RADIUS + 1

    def blur(x, sigma):
        s = torch.clamp(sigma, min=SIGMA_MIN)
        e = torch.exp(taps * (-0.5 / (s * s)))
        w = (e / e.sum()).float()
        r = BLUR_RADIUS
        xp = F.pad(x, (r, r, r, r), mode="reflect").contiguous(memory_format=last)
        t = F.conv2d(xp, w.view(1, 1, 1, n_taps).expand(3, 1, 1, n_taps), groups=3)
        return F.conv2d(t, w.view(1, 1, n_taps, 1).expand(3, 1, n_taps, 1), groups=3)

    def demosaic_mhc(raw, alpha, beta, gamma):
        h, w = raw.shape
        filters = (basis[0] + alpha * basis[1] + beta * basis[2] + gamma * basis[3]).float()
        p = F.pad(raw.view(1, 1, h, w), (2, 2, 2, 2), mode="reflect")
        per_class = [F.conv2d(p[:, :, a:, b:], filters[2 * a + b].unsqueeze(1), stride=2)
                     for a in (0, 1) for b in (0, 1)]  # (1, 3, H/2, W/2) each
        z = torch.stack(per_class, 2).reshape(1, 12, h // 2, w // 2)  # channels (c, a, b)
        return F.pixel_shuffle(z, 2).contiguous(memory_format=last)

    def tone_curve(x, slopes):
        k_count = slopes.shape[0]
        a = slopes.abs().float()
        base = torch.cat([a.new_zeros(1), torch.cumsum(a, 0)[:-1]])  # the curve at t = k, × K
        t = x * k_count
        k = torch.clamp(torch.floor(t), 0, k_count - 1)
        i = k.long()
        return (base[i] + a[i] * (t - k)) / k_count

    def gamma(x, g):
        g = g.float()
        xc = torch.clamp(x, min=0.0)
        curve = 1.055 * torch.clamp(xc, min=_SRGB_TINY) ** (1.0 / g) - 0.055
        slope = (1.055 * _SRGB_KNEE ** (1.0 / g) - 0.055) / _SRGB_KNEE
        return torch.where(xc <= _SRGB_KNEE, slope * xc, curve)

    def pipeline(raw, p):
        black, white = p["normalize"]["black"].float(), p["normalize"]["white"].float()
        x = (raw - black) / (white - black)
        d = p["demosaic_mhc"]
        x = demosaic_mhc(x, d["alpha"], d["beta"], d["gamma"])
        x = x * p["white_balance"]["gains"].float().view(1, 3, 1, 1)
        x = F.conv2d(x, p["color_matrix"]["matrix"].float().view(3, 3, 1, 1))
        x = blur(x, p["gaussian_blur"]["sigma"])
        x = x * torch.exp2(p["exposure"]["ev"]).float()
        x = tone_curve(x, p["tone_curve"]["slopes"])
        x = gamma(x, p["gamma"]["g"])
        u = p["unsharp_mask"]
        return x + u["amount"].float() * (x - blur(x, u["radius"]))

    return pipeline


def torch_programs(raw, target, params) -> Programs:
    """PyTorch's programs: the forward pass under ``no_grad``, the gradient by
    ``torch.autograd.grad``; ``torch.set_num_threads(os.cpu_count())``."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    pipeline = torch_pipeline()
    names = _param_names(params)
    raw_t = torch.from_numpy(raw)
    target_t = torch.from_numpy(target).permute(2, 0, 1).unsqueeze(0).contiguous(
        memory_format=torch.channels_last).double()
    leaves = {s: {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
              for s, p in params.items()}
    flat_leaves = [leaves[s][k] for s, k in names]

    def forward():
        with torch.no_grad():
            return pipeline(raw_t, leaves)

    def value_and_grad():
        d = pipeline(raw_t, leaves).double() - target_t
        loss = torch.mean(d * d)
        return float(loss.detach()), torch.autograd.grad(loss, flat_leaves)

    return Programs(forward, value_and_grad,
                    lambda out: out[0].permute(1, 2, 0).numpy(),
                    lambda vg_out: np.concatenate([g.numpy().ravel() for g in vg_out[1]]),
                    f"{torch.get_num_threads()} (torch.set_num_threads)")


def jax_pipeline() -> Callable:
    """``pipeline(raw, params) -> image``: ``ENHANCEMENT`` written with ``jax.numpy`` (to be
    jitted); ``raw``: ``(H, W)`` float32, ``params``: ``{stage: {name: array}}`` (float64 with
    ``jax_enable_x64``, cast to float32 where used); returns ``(H, W, 3)`` float32.

    >>> jax.jit(jax_pipeline())(np.ones((64, 64), np.float32), bench_params()).shape
    (64, 64, 3)
    """
    import jax.numpy as jnp

    from diffopt.image.color import _SRGB_KNEE, _SRGB_TINY
    from diffopt.image.demosaic import _OFFSETS, CLASSES, SUMS, TABLE
    from diffopt.image.filters import BLUR_RADIUS, SIGMA_MIN

    f32 = jnp.float32
    taps = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=np.float64) ** 2
    r = BLUR_RADIUS

    def blur(x, sigma):
        s = jnp.maximum(sigma, SIGMA_MIN)
        e = jnp.exp(taps * (-0.5 / (s * s)))
        w = (e / jnp.sum(e)).astype(f32)
        h, wd = x.shape[:2]
        xp = jnp.pad(x, ((r, r), (r, r), (0, 0)), mode="reflect")
        rows = sum(w[k] * xp[:, k:k + wd] for k in range(2 * r + 1))
        return sum(w[k] * rows[k:k + h] for k in range(2 * r + 1))

    def demosaic_mhc(raw, alpha, beta, gamma):
        h, w = raw.shape
        coef = (TABLE[0] + alpha * TABLE[1] + beta * TABLE[2] + gamma * TABLE[3]).astype(f32)
        p = jnp.pad(raw, 2, mode="reflect")
        per_class = []
        for k, (a, b) in enumerate(CLASSES):
            sums = [sum(p[2 + a + di:2 + a + di + h:2, 2 + b + dj:2 + b + dj + w:2]
                        for di, dj in _OFFSETS[s]) for s in SUMS]
            per_class.append(jnp.stack(sums, axis=-1) @ coef[k])  # (H/2, W/2, 3)
        top = jnp.stack(per_class[:2], axis=2)
        bottom = jnp.stack(per_class[2:], axis=2)
        return jnp.stack([top, bottom], axis=1).reshape(h, w, 3)

    def tone_curve(x, slopes):
        k_count = slopes.shape[0]
        a = jnp.abs(slopes).astype(f32)
        t = x * k_count
        total = a[0] * jnp.minimum(t, 1.0)
        for k in range(1, k_count - 1):
            total = total + a[k] * jnp.clip(t - k, 0.0, 1.0)
        return (total + a[k_count - 1] * jnp.maximum(t - (k_count - 1), 0.0)) / k_count

    def gamma(x, g):
        g = g.astype(f32)
        xc = jnp.maximum(x, 0.0)
        curve = 1.055 * jnp.maximum(xc, _SRGB_TINY) ** (1.0 / g) - 0.055
        slope = (1.055 * _SRGB_KNEE ** (1.0 / g) - 0.055) / _SRGB_KNEE
        return jnp.where(xc <= _SRGB_KNEE, slope * xc, curve)

    def pipeline(raw, p):
        black, white = p["normalize"]["black"].astype(f32), p["normalize"]["white"].astype(f32)
        x = (raw - black) / (white - black)
        d = p["demosaic_mhc"]
        x = demosaic_mhc(x, d["alpha"], d["beta"], d["gamma"])
        x = x * p["white_balance"]["gains"].astype(f32)
        x = x @ p["color_matrix"]["matrix"].astype(f32).T
        x = blur(x, p["gaussian_blur"]["sigma"])
        x = x * jnp.exp2(p["exposure"]["ev"]).astype(f32)
        x = tone_curve(x, p["tone_curve"]["slopes"])
        x = gamma(x, p["gamma"]["g"])
        u = p["unsharp_mask"]
        return x + u["amount"].astype(f32) * (x - blur(x, u["radius"]))

    return pipeline


def jax_programs(raw, target, params) -> Programs:
    """JAX's programs: ``jax.jit`` of the pipeline and of ``jax.value_and_grad`` of the loss,
    on arrays put on the CPU device once; each call waits for its result."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    pipeline = jax_pipeline()
    names = _param_names(params)
    raw_d, target_d = jax.device_put(raw), jax.device_put(target)
    params_d = jax.device_put(params)

    def loss(p, r, t):
        d = pipeline(r, p).astype(jnp.float64) - t.astype(jnp.float64)
        return jnp.mean(d * d)

    fwd = jax.jit(pipeline)
    vg = jax.jit(jax.value_and_grad(loss))
    return Programs(lambda: jax.block_until_ready(fwd(raw_d, params_d)),
                    lambda: jax.block_until_ready(vg(params_d, raw_d, target_d)),
                    np.asarray, lambda vg_out: _flat(vg_out[1], names),
                    f"XLA default ({os.cpu_count()} cores)")


SYSTEMS = {  # name: (module that must import, programs(raw, target, params))
    "diffopt numba": ("numba", functools.partial(diffopt_programs, "numba")),
    "diffopt numpy": ("numpy", functools.partial(diffopt_programs, "numpy")),
    TORCH: ("torch", torch_programs),
    "jax": ("jax", jax_programs),
    "diffopt cupy": ("cupy", functools.partial(diffopt_programs, "cupy")),
}
COMPETITORS = (TORCH, "jax")
SLOW = ("diffopt numpy",)
REFERENCE = "diffopt numba"  # what the other systems' outputs are compared with


def gpu_status() -> tuple[bool, str]:
    """``(usable, why not)``: whether CuPy imports and sees a GPU."""
    if importlib.util.find_spec("cupy") is None:
        return False, "not run: no GPU (CuPy is not installed)"
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # (CUDA missing or broken: no usable GPU)
        return False, f"not run: no GPU ({type(exc).__name__}: {exc})"
    return (True, "") if count else (False, "not run: no GPU visible to CuPy")


# --- measuring one system (in its own process) --------------------------------------------------
def _plan(measured: Sequence[dict], pixels: int, quick: bool,
          slow: bool) -> tuple[int, int, str | None]:
    """``(min repeats, max repeats, skip reason)`` for a size, from the sizes ``measured``
    before: the last one's times scaled by the pixel count (its compile time kept as it was), the
    largest one's memory likewise. The minimum number of timed calls is cut to fit
    ``SIZE_LIMIT_S``; the size is skipped when one warm-up and one timed call of each
    measurement would not fit, or when its memory is predicted to exceed ``MEMORY_SHARE`` of the
    available memory."""
    lo = 1 if slow else MIN_REPEATS[quick]
    hi = SLOW_MAX_REPEATS if slow else MAX_REPEATS
    if not measured:
        return lo, hi, None
    prev, largest = measured[-1], max(measured, key=lambda r: r["pixels"])
    limit, budget = SIZE_LIMIT_S[quick], BUDGET[quick]
    grow = pixels / prev["pixels"]
    calls = (prev["fwd_s"] * grow, prev["vg_s"] * grow)
    compile_s = (max(prev["fwd_first_s"] - prev["fwd_s"], 0.0)
                 + max(prev["vg_first_s"] - prev["vg_s"], 0.0))

    def predicted(repeats: int) -> float:  # a warm-up, then median_time's timed calls
        return compile_s + sum(c * (1 + np.clip(budget / c, repeats, hi)) for c in calls)

    if predicted(1) > limit:
        return lo, hi, f"predicted {predicted(1):.0f} s > {limit:g} s"
    avail = available_mb()
    need = largest["rss_growth_mb"] * pixels / largest["pixels"]
    if avail is not None and need - largest["rss_growth_mb"] > MEMORY_SHARE * avail:
        return lo, hi, f"predicted {need:.0f} MB, {avail:.0f} MB available"
    while lo > 1 and predicted(lo) > limit:
        lo -= 1
    return lo, hi, None


def measure(system: str, sizes: Sequence[tuple[int, int]], quick: bool = False,
            check_file: str | None = None, emit: Callable = lambda event: None) -> dict:
    """Measure one system of ``SYSTEMS`` in this process: the 64 × 96 check (its image and
    gradient saved to ``check_file``, an ``.npz``), then the forward and forward+backward
    medians at each size. ``emit(event)`` receives a dict after the check and after each size
    (the parent process reads them as they come). Returns ``{"threads", "check", "rows"}``.

    >>> measure("diffopt numba", [(64, 64)], quick=True)["rows"][0]["vg_mp_s"]  # MP/s
    """
    params = bench_params()
    build = SYSTEMS[system][1]
    raw, target = make_data(CHECK_SHAPE)
    progs = build(raw, target, params)
    threads = progs.threads
    out, fwd_first = timed(progs.forward)
    vg_out, vg_first = timed(progs.value_and_grad)
    image = np.asarray(progs.image(out), dtype=np.float32)
    grad = progs.gradient(vg_out)
    if check_file is not None:
        np.savez(check_file, image=image, gradient=grad)
    check = {"shape": list(CHECK_SHAPE), "fwd_first_s": fwd_first, "vg_first_s": vg_first,
             "loss": float(vg_out[0]), "image_finite": bool(np.isfinite(image).all()),
             "gradient_finite": bool(np.isfinite(grad).all())}
    emit({"event": "check", "threads": threads, "check": check})
    baseline = peak_rss_mb()  # (the system's imports and compiled code included)
    rows, measured = [], []
    slow = system in SLOW
    budget = BUDGET[quick]
    for h, w in sizes:
        row = {"system": system, "size": f"{w}×{h}", "height": h, "width": w,
               "pixels": h * w, "mp": h * w / 1e6}
        lo, hi, skip = _plan(measured, h * w, quick, slow)
        if skip:
            row["note"] = f"skipped: {skip}"
        else:
            raw, target = make_data((h, w))
            progs = build(raw, target, params)
            del raw, target
            start = time.perf_counter()
            for name, fn in (("fwd", progs.forward), ("vg", progs.value_and_grad)):
                first = timed(fn)
                row[f"{name}_first_s"] = first[1]
                t, _ = time_call(fn, budget, (lo, hi), median=True, first=first)
                row[f"{name}_s"] = t
                row[f"{name}_ms"] = t * 1e3
                row[f"{name}_mp_s"] = row["mp"] / t
            del progs, first, fn
            row["seconds"] = time.perf_counter() - start
            row["peak_rss_mb"] = peak_rss_mb()
            row["rss_growth_mb"] = max(row["peak_rss_mb"] - baseline, 1.0)
            if lo < MIN_REPEATS[quick] and not slow:
                row["note"] = f"{lo} timed call(s) to fit {SIZE_LIMIT_S[quick]:g} s"
            measured.append(row)
        rows.append(row)
        emit({"event": "size", "row": row})
    return {"threads": threads, "check": check, "rows": rows}


def _child(system: str, sizes: list, quick: bool, check_file: str) -> None:
    """The entry point of a measuring process: events as JSON lines on stdout."""
    def emit(event):
        print(json.dumps(event), flush=True)

    emit({"event": "done", **measure(system, [tuple(s) for s in sizes], quick, check_file,
                                      emit)})


def _in_subprocess(system: str, sizes, quick: bool, check_file: str,
                on_event: Callable) -> dict:
    """Run :func:`_child` in a fresh Python process, passing each event to ``on_event``;
    returns the final result or ``{"error": ...}``."""
    cmd, env = child_process(__file__, f"b._child({system!r}, {[list(s) for s in sizes]!r}, "
                                       f"{quick!r}, {check_file!r})")
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                stderr=err, text=True)
        timer = threading.Timer(PROCESS_TIMEOUT_S, proc.kill)
        timer.start()
        final = None
        try:
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue  # (a library printing to stdout)
                if event.get("event") == "done":
                    final = event
                else:
                    on_event(event)
            proc.wait()
        finally:
            timer.cancel()
        if final is not None:
            return final
        err.seek(0)
        lines = err.read().strip().splitlines()
        why = (f"timed out after {PROCESS_TIMEOUT_S:g} s" if proc.returncode == -9 else
               lines[-1] if lines else f"exit code {proc.returncode}")
        return {"error": why}


# --- the whole benchmark --------------------------------------------------------------------------
def _compare(check_dir: Path, system: str) -> dict:
    """The system's 64 × 96 image and gradient against ``REFERENCE``'s."""
    try:
        mine = np.load(check_dir / f"{system}.npz")
        ref = np.load(check_dir / f"{REFERENCE}.npz")
    except OSError:
        return {}
    params = bench_params()
    names = _param_names(params)
    split = np.cumsum([np.size(params[s][k]) for s, k in names])[:-1]
    rel = [float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
           for a, b in zip(np.split(mine["gradient"], split), np.split(ref["gradient"], split))]
    worst = int(np.argmax(rel))
    return {"fwd_max_abs_diff": float(np.max(np.abs(mine["image"] - ref["image"]))),
            "grad_max_rel_diff": rel[worst], "grad_worst": ".".join(names[worst]),
            "grad_rel_diff": {".".join(n): r for n, r in zip(names, rel)}}


def _ratios(rows: list) -> dict:
    """Adds ``fwd_x_torch``/``vg_x_torch`` (MP/s over PyTorch's at the same size) to the rows;
    returns the target's verdict per size."""
    torch_rows = {r["size"]: r for r in rows if r["system"] == TORCH and "vg_s" in r}
    target = {}
    for r in rows:
        t = torch_rows.get(r["size"])
        if t is None or "vg_s" not in r:
            continue
        r["fwd_x_torch"] = t["fwd_s"] / r["fwd_s"]
        r["vg_x_torch"] = t["vg_s"] / r["vg_s"]
        if r["system"] == REFERENCE:
            target[r["size"]] = {"vg_x_torch": r["vg_x_torch"],
                                 "met": r["vg_x_torch"] >= TARGET_X_TORCH}
    return target


def _print_results(result: dict) -> None:
    print_table(result["rows"], [
        ("system", "system", "s"), ("size", "size", "s"), ("mp", "MP", ".2f"),
        ("fwd_ms", "fwd ms", ".4g"), ("fwd_mp_s", "fwd MP/s", ".3g"),
        ("fwd_x_torch", "x torch", ".2f"), ("vg_ms", "fwd+bwd ms", ".4g"),
        ("vg_mp_s", "fwd+bwd MP/s", ".3g"), ("vg_x_torch", "x torch", ".2f"),
        ("peak_rss_mb", "peak RSS MB", ".0f"), ("note", "note", "s")])
    print("'x torch': MP/s over PyTorch's at the same size (> 1: faster); fwd+bwd: value and "
          "gradient of the float64 MSE in all 13 parameter arrays; peak RSS: the measuring "
          "process's peak resident memory so far")
    print()
    print_table(result["systems"], [
        ("system", "system", "s"), ("threads", "threads", "s"),
        ("fwd_max_abs_diff", "image max |diff|", ".2g"),
        ("grad_max_rel_diff", "grad max rel diff", ".2g"), ("grad_worst", "(worst)", "s"),
        ("fwd_first_s", "1st fwd s", ".3g"), ("vg_first_s", "1st fwd+bwd s", ".3g"),
        ("note", "note", "s")])
    print(f"check on a {CHECK_SHAPE[1]}×{CHECK_SHAPE[0]} raw against {REFERENCE}: the image's "
          "max abs difference, and the gradient's relative difference (norm) for the worst "
          "parameter array; first calls at that size (compilation or cache loading included)")
    for size, t in result["target"].items():
        print(f"target at {size}: {REFERENCE} forward+backward >= {TARGET_X_TORCH:g}× "
              f"{TORCH}'s throughput: {'met' if t['met'] else 'NOT met'} "
              f"({t['vg_x_torch']:.2f}×)")
    if not result["target"]:
        print(f"target ({REFERENCE} >= {TARGET_X_TORCH:g}× {TORCH}): not evaluated "
              f"({TORCH} not measured)")


def _plot(result: dict, path: Path) -> str:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    rows = [r for r in result["rows"] if "vg_s" in r]
    systems = [s for s in SYSTEMS if any(r["system"] == s for r in rows)]
    mp = {r["size"]: r["mp"] for r in rows}
    sizes = list(mp)
    fig, axes = figure(1, 2, size=(6.0, 4.2))
    width = 0.8 / max(len(systems), 1)
    x = np.arange(len(sizes))
    for ax, key, title in ((axes[0, 0], "fwd_mp_s", "forward"),
                           (axes[0, 1], "vg_mp_s", "forward + backward (value and gradient)")):
        for k, s in enumerate(systems):
            by_size = {r["size"]: r[key] for r in rows if r["system"] == s}
            values = [by_size.get(z, np.nan) for z in sizes]
            bars = ax.bar(x + (k - (len(systems) - 1) / 2) * width, values, width, label=s,
                          color=f"C{k}")
            ax.bar_label(bars, fmt="%.3g", fontsize=6, padding=1)
        if key == "vg_mp_s":
            torch_mp = {r["size"]: r[key] for r in rows if r["system"] == TORCH}
            for i, z in enumerate(sizes):
                if z in torch_mp:
                    ax.hlines(TARGET_X_TORCH * torch_mp[z], i - 0.4, i + 0.4, colors="k",
                              linestyles="--", lw=1,
                              label=f"target: {TARGET_X_TORCH:g}× {TORCH}" if i == 0 else None)
        ax.set_xticks(x, [f"{z}\n({mp[z]:.1f} MP)" for z in sizes])
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set(ylabel="megapixels per second (median)", title=title)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("9-stage camera pipeline (normalize → MHC → WB → CCM → blur → exposure → "
                 f"tone → gamma → unsharp), float32, {os.cpu_count()} CPUs", fontsize=9)
    return save(fig, path)


def run(out_dir=Path("benchmarks/results"), quick: bool = False, use_competitors: bool = True,
        sizes: Sequence[tuple[int, int]] | None = None,
        systems: Sequence[str] | None = None) -> dict:
    """Measure every system (each in its own process), print the tables, write ``image.json``
    and ``image_throughput.png`` into ``out_dir``; ``sizes``: ``(H, W)`` pairs (default
    ``FULL_SIZES``, ``QUICK_SIZES`` with ``quick``); ``systems``: names of ``SYSTEMS`` (default
    all, less the competitors without ``use_competitors``).

    >>> run("/tmp/image", quick=True)["target"]
    """
    out = output_dir(out_dir)
    start = time.perf_counter()
    load_start = os.getloadavg()
    sizes = [tuple(s) for s in (sizes or (QUICK_SIZES if quick else FULL_SIZES))]
    names = [s for s in (systems or SYSTEMS) if use_competitors or s not in COMPETITORS]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)  # (the checks compare with it)
    param_names = _param_names(bench_params())
    print(f"\nimage pipeline, float32: {len(param_names)} parameter arrays; sizes "
          + ", ".join(f"{w}×{h}" for h, w in sizes) + f"; {os.cpu_count()} CPUs, load average "
          f"{load_start[0]:.2f}")
    rows, summaries = [], []
    gpu_ok, gpu_reason = gpu_status()
    with tempfile.TemporaryDirectory(prefix="diffopt-image-bench-") as check_dir:
        bar = tqdm(total=len(names) * (len(sizes) + 1), desc="image bench", leave=False)
        for system in names:
            module = SYSTEMS[system][0]
            summary = {"system": system}
            summaries.append(summary)
            if system == "diffopt cupy" and not gpu_ok:
                summary["note"] = gpu_reason
            elif importlib.util.find_spec(module) is None:
                summary["note"] = f"skipped: {module} not installed"
            if "note" in summary:
                rows.append({"system": system, "size": "-", "note": summary["note"]})
                bar.update(len(sizes) + 1)
                continue
            bar.set_postfix_str(system)

            done = [0]

            def on_event(event, _bar=bar, _system=system, _done=done):
                _bar.update(1)
                _done[0] += 1
                if event["event"] == "size":
                    _bar.set_postfix_str(f"{_system} {event['row']['size']} done")

            res = _in_subprocess(system, sizes, quick, str(Path(check_dir) / f"{system}.npz"),
                              on_event)
            if "error" in res:
                summary["note"] = f"failed: {res['error']}"
                rows.append({"system": system, "size": "-", "note": summary["note"]})
                bar.update(len(sizes) + 1 - done[0])
                continue
            summary.update(threads=res["threads"], **res["check"])
            rows.extend(res["rows"])
        bar.close()
        for summary in summaries:
            if "threads" in summary:
                summary.update(_compare(Path(check_dir), summary["system"]))
    target = _ratios(rows)
    load_end = os.getloadavg()
    files = [str(out / JSON_NAME)]
    result = {
        "meta": {"quick": quick, "seconds": None, "versions": versions(*VERSIONS),
                 "machine": machine(memory_available_mb=available_mb()),
                 "load_average_start": list(load_start),
                 "load_average_end": list(load_end), "sizes": [list(s) for s in sizes],
                 "pipeline": "ENHANCEMENT: normalize → demosaic_mhc → white_balance → "
                             "color_matrix → gaussian_blur → exposure → tone_curve → gamma → "
                             "unsharp_mask",
                 "loss": "mean squared error against the target, accumulated in float64",
                 "params": {s: {k: np.asarray(v).tolist() for k, v in p.items()}
                            for s, p in bench_params().items()},
                 "budget_s": BUDGET[quick], "size_limit_s": SIZE_LIMIT_S[quick]},
        "systems": summaries, "rows": rows, "target": target,
        "target_x_torch": TARGET_X_TORCH,
        "gpu": {"run": gpu_ok and "diffopt cupy" in names,
                "reason": gpu_reason or None},
        "files": files,
    }
    print()
    _print_results(result)
    if not gpu_ok:
        print(f"diffopt cupy: {gpu_reason}")
    files.append(_plot(result, out / FIGURE_NAME))
    result["meta"]["seconds"] = time.perf_counter() - start
    write_json(files[0], result)
    print(f"load average (1 min) {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, "
          f"on {os.cpu_count()} CPUs")
    print(f"wrote {', '.join(files)} in {result['meta']['seconds']:.1f} s")
    return result


def _sizes_arg(text: str) -> list[tuple[int, int]]:
    """``"640x640,4000x3000"`` (width × height) -> ``[(640, 640), (3000, 4000)]`` (H, W)."""
    out = []
    for part in text.split(","):
        try:
            w, h = (int(v) for v in part.lower().replace("×", "x").split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"sizes: expected WIDTHxHEIGHT[,WIDTHxHEIGHT...], got {part!r}") from None
        if h % 2 or w % 2 or h < 8 or w < 8:
            raise argparse.ArgumentTypeError(f"sizes: {part!r}: width and height must be even "
                                             "and >= 8 (RGGB mosaic)")
        out.append((h, w))
    return out


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``[--quick] [--out DIR] [--no-competitors] [--sizes WxH,...]``.

    >>> main(["--quick", "--out", "/tmp/image"])
    """
    cli = parser(__doc__, JSON_NAME, "0.4 and 4 MP only, fewer repeats (about a minute)")
    cli.add_argument("--no-competitors", action="store_true",
                     help="skip PyTorch and JAX even when installed")
    cli.add_argument("--sizes", type=_sizes_arg, default=None,
                     help="WIDTHxHEIGHT[,...] raw sizes (even), instead of the defaults")
    args = cli.parse_args(argv)
    return run(args.out, args.quick, use_competitors=not args.no_competitors, sizes=args.sizes)


if __name__ == "__main__":
    main()
