"""Spatial filter stages: Gaussian blur, bilateral filter, unsharp mask and a learnable 2-D
convolution; each a reference in ``diffopt.numpy`` and Numba forward/VJP kernels.

Images are ``(H, W)`` or ``(H, W, 3)``, float32 or float64; a stage returns the dtype it was
given. Borders are reflected without repeating the edge pixel (``np.pad(mode="reflect")``, which
is ``scipy.ndimage``'s ``mode="mirror"``), so an image must be larger than the filter's radius.

Kernels see an image as rows of ``W * C`` values (``C`` = 1 or 3 channels) and pad it once by
reflection; their VJPs build the cotangent of the padded image and fold it back onto the image
(:func:`_fold`). Loops run over rows in parallel (``prange``), innermost over contiguous values so
that they vectorise; parameter cotangents are summed per row in float64, then over rows. Scatters
across rows are avoided (each row of the padded cotangent is gathered by one iteration), except
in the bilateral VJP, which scatters in five phases of rows five apart so that no two iterations
touch the same row. The bilateral kernels work on a planar float64 copy ``(C, H + 4, W + 4)``
with a vectorisable ``exp`` (:func:`_exp_into`). The kernels take their parameters' derivatives
(Gaussian taps, clamps) by forward mode through the reference's own helpers.

The Gaussian blur, the unsharp mask and ``conv2d`` also have CUDA kernels: the same passes (pad,
correlations, their transposes, the fold) with the same taps (:func:`tap`), one thread per value,
the weights' cotangents summed per block; the fold adds each padded position onto the pixel it
mirrors with float64 atomics. The bilateral filter has none yet: ``backend="cuda"`` runs its
reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numba
import numpy as np
from numba import prange

import diffopt
import diffopt.numpy as dnp
from diffopt.numpy.backend import array_module

from .checks import check_image
from .device import (
    F64,
    THREADS,
    block_add,
    cuda,
    device,
    gpu_kernels,
    launch,
    pad_cuda,
    tap,
    unpad_cuda,
)
from .stage import Stage

BLUR_RADIUS = 3  # Gaussian taps -3..3 whatever sigma, so that the blur is differentiable in sigma
SIGMA_MIN = 0.05  # Gaussian widths (sigma, radius, sigma_space) below this are clamped to it
BILATERAL_RADIUS = 2  # the bilateral window: 5 x 5
SIGMA_RANGE_MIN = 1e-3  # bilateral sigma_range below this is clamped to it


# --- shared helpers: reference side ---------------------------------------------------------
def _reflect_pad(x, r: int):
    """``x`` padded by ``r`` pixels on both spatial axes, reflected (``np.pad(mode="reflect")``)."""
    width = ((r, r), (r, r)) + ((0, 0),) * (x.ndim - 2)
    return dnp.pad(x, width, mode="reflect")


def _gaussian_weights(sigma):
    """The ``2 BLUR_RADIUS + 1`` normalised Gaussian taps (float64), sigma clamped to SIGMA_MIN."""
    s = dnp.maximum(sigma, SIGMA_MIN)
    k2 = np.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=np.float64) ** 2
    e = dnp.exp(k2 * (-0.5 / (s * s)))
    return e / dnp.sum(e)


def _separable(x, w):
    """Correlation of ``x`` with ``w`` along axis 1, then axis 0 (reflected borders)."""
    h, wd = x.shape[:2]
    r = BLUR_RADIUS
    xp = _reflect_pad(x, r)
    rows = sum(w[k] * xp[:, k:k + wd] for k in range(2 * r + 1))
    return sum(w[k] * rows[k:k + h] for k in range(2 * r + 1))


def _bilateral_coefs(sigma_space, sigma_range):
    """``(log_spatial, c_range)``: the 5 x 5 table ``-|d|² / (2 σs²)`` and ``-1 / (2 σr²)``, with
    the clamped sigmas; a weight is ``exp(log_spatial[d] + c_range * |I_q - I_p|²)``."""
    ss = dnp.maximum(sigma_space, SIGMA_MIN)
    sr = dnp.maximum(sigma_range, SIGMA_RANGE_MIN)
    k = np.arange(-BILATERAL_RADIUS, BILATERAL_RADIUS + 1, dtype=np.float64)
    d2 = k[:, None] ** 2 + k[None, :] ** 2
    return d2 * (-0.5 / (ss * ss)), -0.5 / (sr * sr)


def _value_and_derivative(f, p: float):
    """``f(p)`` and ``df/dp`` (float64) by forward mode: the kernels take their parameters'
    derivatives from the very functions the references use (clamping included)."""
    return diffopt.jvp(f, (np.float64(p),), (np.float64(1.0),))


def _rows(x):
    """``x`` as a ``(H, W * C)`` view and its channel count ``C``."""
    c = 1 if x.ndim == 2 else x.shape[2]
    return x.reshape(x.shape[0], x.shape[1] * c), c


def _planes(x2, c: int):
    """Rows ``(H, W c)`` as the ``(H, W, c)`` view."""
    return x2.reshape(x2.shape[0], x2.shape[1] // c, c)


# --- shared helpers: kernels ----------------------------------------------------------------
FAST = {"reassoc", "contract"}  # lets LLVM vectorise the row sums (no change beyond rounding)


@numba.njit(cache=True)
def _reflect(p, n):
    if p < 0:
        return -p
    if p > n - 1:
        return 2 * (n - 1) - p
    return p


@numba.njit(cache=True, parallel=True)
def _pad_into(x, r, xp):
    """Write ``x`` ``(H, W, C)`` reflect-padded by ``r`` into ``xp`` ``(H + 2r, W + 2r, C)``
    (any memory layout and dtype: the bilateral filter pads into a planar float64 array)."""
    h, w, c = x.shape
    for p in prange(h + 2 * r):
        i = _reflect(p - r, h)
        for j in range(w):
            for k in range(c):
                xp[p, j + r, k] = x[i, j, k]
        for t in range(1, r + 1):
            for k in range(c):
                xp[p, r - t, k] = x[i, t, k]
                xp[p, w - 1 + t + r, k] = x[i, w - 1 - t, k]


def _pad(x2, r: int, c: int):
    """Rows ``(H, W c)`` -> reflect-padded rows ``(H + 2r, (W + 2r) c)``, same dtype."""
    h, w = x2.shape[0], x2.shape[1] // c
    xp = np.empty((h + 2 * r, (w + 2 * r) * c), x2.dtype)
    _pad_into(x2.reshape(h, w, c), r, xp.reshape(h + 2 * r, w + 2 * r, c))
    return xp


@numba.njit(cache=True, parallel=True)
def _fold_into(xp_bar, r, base, alpha, beta, out):
    """``out = alpha * base + beta * F(xp_bar)``, ``F`` summing the cotangent of the padded image
    ``(H + 2r, W + 2r, C)`` over the padded positions that reflect onto each pixel of ``(H, W,
    C)``: the transpose of :func:`_pad_into`."""
    h, w, c = base.shape
    for i in prange(h):
        acc = np.zeros((w, c))
        for s in range(3):  # the padded rows that reflect onto row i
            if s == 0:
                p = i + r
            elif s == 1:
                if i < 1 or i > r:
                    continue
                p = r - i
            else:
                if i < h - 1 - r or i > h - 2:
                    continue
                p = 2 * (h - 1) - i + r
            for j in range(w):
                for k in range(c):
                    acc[j, k] += xp_bar[p, j + r, k]
            for t in range(1, r + 1):
                for k in range(c):
                    acc[t, k] += xp_bar[p, r - t, k]
                    acc[w - 1 - t, k] += xp_bar[p, w - 1 + t + r, k]
        if alpha == 0.0:  # base is not read (it may hold anything)
            for j in range(w):
                for k in range(c):
                    out[i, j, k] = beta * acc[j, k]
        else:
            for j in range(w):
                for k in range(c):
                    out[i, j, k] = alpha * base[i, j, k] + beta * acc[j, k]


def _fold(xp_bar, r: int, base2, c: int, alpha: float = 0.0, beta: float = 1.0):
    """:func:`_fold_into` on rows: ``xp_bar`` ``(H + 2r, W + 2r, C)`` (any layout), ``base2``
    ``(H, W c)``; returns ``(H, W c)`` in ``base2``'s dtype."""
    h, w = base2.shape[0], base2.shape[1] // c
    out = np.empty_like(base2)
    _fold_into(xp_bar, r, base2.reshape(h, w, c), alpha, beta, out.reshape(h, w, c))
    return out


def _check_size(x, r: int, stage: str) -> None:
    h, w = x.shape[:2]
    if h <= r or w <= r:
        raise ValueError(f"{stage}: the image ({h} x {w}) must be larger than the filter radius "
                         f"{r} on both sides (at least {r + 1} x {r + 1} pixels) for reflected "
                         "borders")


def _check_scalar(v, stage: str, name: str, minimum: float | None = None) -> None:
    """``v`` is one finite number (``>= 0`` when ``minimum`` is given: the stage clamps it)."""
    a = np.asarray(v)
    if a.shape != () or a.dtype.kind not in "biuf":
        raise ValueError(f"{stage}: {name} must be a real scalar, got {v!r}")
    ok = np.isfinite(a) and (minimum is None or a >= 0)
    if not ok:
        what = "finite" if minimum is None else (
            f"finite and >= 0 (values below {minimum} are used as {minimum})")
        raise ValueError(f"{stage}: {name} must be {what}, got {v}")


# --- Gaussian blur --------------------------------------------------------------------------
def _gaussian_blur(x, sigma=1.0):
    """Gaussian blur with a learnable width: separable, taps ``-3..3`` (``BLUR_RADIUS``) whatever
    ``sigma``, weights ``exp(-k² / (2 σ²))`` normalised to sum 1, borders reflected.

    ``x``: ``(H, W)`` or ``(H, W, 3)`` float32/float64, at least 4 x 4. ``sigma`` (default 1.0):
    a scalar; values below 0.05 (``SIGMA_MIN``) are clamped to 0.05 (zero gradient there);
    negative or NaN values are refused. Differentiable in ``x`` and ``sigma``.

    >>> image = np.full((8, 8, 3), 0.5, dtype=np.float32)
    >>> out = gaussian_blur(image, sigma=1.5, backend="numpy")
    >>> out.shape, out.dtype, bool(np.allclose(out, 0.5))  # a flat image stays flat
    ((8, 8, 3), dtype('float32'), True)
    """
    return _separable(x, dnp.astype(_gaussian_weights(sigma), x.dtype))


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _hpass(xp, w, c, wd):
    """Correlate every padded row with ``w``: ``(H + 2R, (W + 2R) c) -> (H + 2R, W c)``, in the
    image's dtype."""
    wc = wd * c
    t = np.empty((xp.shape[0], wc), xp.dtype)
    wt = w.astype(xp.dtype)
    for p in prange(xp.shape[0]):
        acc = t[p]
        acc[:] = 0.0
        for k in range(len(wt)):
            wk = wt[k]
            src = xp[p, k * c:k * c + wc]
            for m in range(wc):
                acc[m] = tap(acc[m], wk, src[m])
    return t


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _vpass(t, w, x, alpha, beta):
    """``alpha * x + beta * (the rows of t correlated with w along axis 0)``: ``(H, W c)``."""
    h, wc = x.shape
    out = np.empty_like(x)
    wt = w.astype(x.dtype)
    for i in prange(h):
        acc = out[i]
        acc[:] = 0.0
        for k in range(len(wt)):
            wk = wt[k]
            src = t[i + k]
            for m in range(wc):
                acc[m] = tap(acc[m], wk, src[m])
        if alpha != 0.0 or beta != 1.0:
            xi = x[i]
            for m in range(wc):
                acc[m] = alpha * xi[m] + beta * acc[m]
    return out


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _separable_vjp(g, xp, w, c, wd):
    """The separable blur's transpose, one pass over the padded rows ``p``: the padded image's
    cotangent, the weights' cotangents through the vertical pass (``w_v``) and the horizontal
    one (``w_h``), and ``sum(g * x)`` (``gx``)."""
    h, wc = g.shape
    n = len(w)
    r = n // 2
    hp, wpc = xp.shape
    wt = w.astype(xp.dtype)
    xp_bar = np.empty_like(xp)
    rows_v = np.zeros((hp, n))
    rows_h = np.zeros((hp, n))
    gx = np.zeros(hp)
    for p in prange(hp):
        t = np.zeros(wc, xp.dtype)  # the horizontal pass of this row, recomputed
        for k in range(n):
            wk = wt[k]
            src = xp[p, k * c:k * c + wc]
            for m in range(wc):
                t[m] = tap(t[m], wk, src[m])
        t_bar = np.zeros(wc, xp.dtype)
        for a in range(n):
            i = p - a
            if 0 <= i < h:
                wa = wt[a]
                gi = g[i]
                s = 0.0
                for m in range(wc):
                    t_bar[m] = tap(t_bar[m], wa, gi[m])
                    s += gi[m] * t[m]
                rows_v[p, a] = s
        acc = xp_bar[p]
        acc[:] = 0.0
        for b in range(n):
            wb = wt[b]
            dst = acc[b * c:b * c + wc]
            src = xp[p, b * c:b * c + wc]
            s = 0.0
            for m in range(wc):
                dst[m] = tap(dst[m], wb, t_bar[m])
                s += t_bar[m] * src[m]
            rows_h[p, b] = s
        if r <= p < h + r:
            gi = g[p - r]
            src = xp[p, r * c:r * c + wc]
            s = 0.0
            for m in range(wc):
                s += gi[m] * src[m]
            gx[p] = s
    return xp_bar, rows_v.sum(axis=0), rows_h.sum(axis=0), gx.sum()


# The CUDA passes, with the signatures of the Numba ones (images as rows (H, W c)).
_TAPS = 2 * BLUR_RADIUS + 1


@gpu_kernels
def _blur_cuda():
    tap_, reduce = device(tap), block_add()

    @cuda.jit
    def hpass(xp, w, c, t):
        wc = t.shape[1]
        for q in range(cuda.grid(1), t.size, cuda.gridsize(1)):
            p, m = q // wc, q % wc
            s = w[0] * xp[p, m]
            for k in range(1, w.size):
                s = tap_(s, w[k], xp[p, k * c + m])
            t[p, m] = s

    @cuda.jit
    def vpass(t, w, x, alpha, beta, out):
        wc = out.shape[1]
        for q in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            i, m = q // wc, q % wc
            s = w[0] * t[i, m]
            for k in range(1, w.size):
                s = tap_(s, w[k], t[i + k, m])
            if alpha != 0.0 or beta != 1.0:
                s = alpha * x[i, m] + beta * s
            out[i, m] = s

    @cuda.jit
    def vpass_vjp(g, t, w, t_bar, bars):
        """``t_bar`` (the vertical pass transposed) and the taps' cotangents through it."""
        part = cuda.shared.array((THREADS, _TAPS), F64)
        acc = cuda.local.array(_TAPS, F64)
        for a in range(_TAPS):
            acc[a] = 0.0
        h, wc = g.shape
        for q in range(cuda.grid(1), t.size, cuda.gridsize(1)):
            p, m = q // wc, q % wc
            s = w[0] - w[0]  # zero, in the image's dtype
            for a in range(w.size):
                if 0 <= p - a < h:
                    s = tap_(s, w[a], g[p - a, m])
                    acc[a] += g[p - a, m] * t[p, m]
            t_bar[p, m] = s
        for a in range(_TAPS):
            part[cuda.threadIdx.x, a] = acc[a]
        reduce(part, bars)

    @cuda.jit
    def hpass_vjp(t_bar, xp, w, c, xp_bar, bars):
        """The padded image's cotangent (the horizontal pass transposed) and the taps'."""
        part = cuda.shared.array((THREADS, _TAPS), F64)
        acc = cuda.local.array(_TAPS, F64)
        for b in range(_TAPS):
            acc[b] = 0.0
        wc, wpc = t_bar.shape[1], xp.shape[1]
        for q in range(cuda.grid(1), xp.size, cuda.gridsize(1)):
            p, v = q // wpc, q % wpc
            s = w[0] - w[0]
            for b in range(w.size):
                m = v - b * c
                if 0 <= m < wc:
                    s = tap_(s, w[b], t_bar[p, m])
                    acc[b] += t_bar[p, m] * xp[p, v]
            xp_bar[p, v] = s
        for b in range(_TAPS):
            part[cuda.threadIdx.x, b] = acc[b]
        reduce(part, bars)

    return hpass, vpass, vpass_vjp, hpass_vjp


def _pad_cuda_rows(x2, r: int, c: int):
    h, w = x2.shape[0], x2.shape[1] // c
    return pad_cuda(x2.reshape(h, w, c), r).reshape(h + 2 * r, (w + 2 * r) * c)


def _hpass_cuda(xp, w, c, wd):
    t = array_module(xp).empty((xp.shape[0], wd * c), xp.dtype)
    launch(_blur_cuda()[0], t.size, xp, array_module(xp).asarray(w, dtype=xp.dtype), c, t)
    return t


def _vpass_cuda(t, w, x, alpha, beta):
    out = array_module(x).empty_like(x)
    launch(_blur_cuda()[1], out.size, t, array_module(x).asarray(w, dtype=x.dtype), x, alpha,
           beta, out)
    return out


def _separable_vjp_cuda(g, xp, w, c, wd):
    """As :func:`_separable_vjp`, in three kernels (the horizontal pass recomputed)."""
    mod = array_module(xp)
    wt = mod.asarray(w, dtype=xp.dtype)
    t = _hpass_cuda(xp, w, c, wd)
    t_bar, w_v = mod.empty_like(t), mod.zeros(len(w))
    launch(_blur_cuda()[2], t.size, g, t, wt, t_bar, w_v, reduce=True)
    xp_bar, w_h = mod.empty_like(xp), mod.zeros(len(w))
    launch(_blur_cuda()[3], xp.size, t_bar, xp, wt, c, xp_bar, w_h, reduce=True)
    r = len(w) // 2
    gx = mod.sum(g * xp[r:r + g.shape[0], r * c:r * c + g.shape[1]], dtype=np.float64)
    return xp_bar, _host(w_v), _host(w_h), float(gx)


def _host(a):
    """A small device array as a NumPy one (for the host's arithmetic on the taps)."""
    return a if isinstance(a, np.ndarray) else a.get()


def _fold_cuda(xp_bar, r: int, base2, c: int, alpha: float = 0.0, beta: float = 1.0):
    """As :func:`_fold`: ``alpha * base2 + beta * (xp_bar folded onto the image)``."""
    fold = unpad_cuda(xp_bar, r).reshape(base2.shape)
    out = beta * fold if alpha == 0.0 else alpha * base2.astype(np.float64) + beta * fold
    return out.astype(base2.dtype)


class _Passes(NamedTuple):
    """The blur's passes on one executor (the Numba kernels or the CUDA ones)."""

    pad: Callable
    hpass: Callable
    vpass: Callable
    separable_vjp: Callable
    fold: Callable


_NUMBA_PASSES = _Passes(_pad, _hpass, _vpass, _separable_vjp, _fold)
_CUDA_PASSES = _Passes(_pad_cuda_rows, _hpass_cuda, _vpass_cuda, _separable_vjp_cuda, _fold_cuda)


def _blend_blur(x, sigma: float, alpha: float, beta: float, ex: _Passes = _NUMBA_PASSES):
    """``alpha * x + beta * gaussian_blur(x, sigma)`` by the kernels of ``ex``."""
    x2, c = _rows(x)
    w = np.asarray(_gaussian_weights(float(sigma)))
    t = ex.hpass(ex.pad(x2, BLUR_RADIUS, c), w, c, x.shape[1])
    return ex.vpass(t, w, x2, alpha, beta).reshape(x.shape)


def _blend_blur_vjp(g, x, sigma: float, alpha: float, beta: float,
                    ex: _Passes = _NUMBA_PASSES):
    """The VJP of :func:`_blend_blur` in ``x`` and ``sigma``, and ``(sum(g x), sum(g blur(x)))``
    (the cotangents of ``alpha`` and ``beta``)."""
    x2, c = _rows(x)
    g2 = g.reshape(x2.shape)
    w, dw = _value_and_derivative(_gaussian_weights, sigma)
    xp = ex.pad(x2, BLUR_RADIUS, c)
    xp_bar, w_v, w_h, gx = ex.separable_vjp(g2, xp, w, c, x.shape[1])
    x_bar = ex.fold(_planes(xp_bar, c), BLUR_RADIUS, g2, c, alpha, beta).reshape(x.shape)
    sigma_bar = beta * float(dw @ (w_v + w_h))
    return x_bar, sigma_bar, float(gx), float(w @ w_v)


def _blur_kernels(ex: _Passes):
    """The Gaussian blur's and the unsharp mask's kernels on the passes of ``ex``."""

    def blur_forward(x, sigma):
        return _blend_blur(x, sigma, 0.0, 1.0, ex)

    def blur_vjp(g, x, out, sigma):
        x_bar, sigma_bar, _, _ = _blend_blur_vjp(g, x, sigma, 0.0, 1.0, ex)
        return x_bar, sigma_bar

    def unsharp_forward(x, amount, radius):
        return _blend_blur(x, radius, 1.0 + amount, -amount, ex)

    def unsharp_vjp(g, x, out, amount, radius):
        x_bar, radius_bar, gx, gblur = _blend_blur_vjp(g, x, radius, 1.0 + amount, -amount, ex)
        return x_bar, gx - gblur, radius_bar

    return (blur_forward, blur_vjp), (unsharp_forward, unsharp_vjp)


_NUMBA_BLUR, _CUDA_BLUR = _blur_kernels(_NUMBA_PASSES), _blur_kernels(_CUDA_PASSES)


def _check_gaussian_blur(x, sigma):
    check_image(x, "gaussian_blur")
    _check_size(x, BLUR_RADIUS, "gaussian_blur")
    _check_scalar(sigma, "gaussian_blur", "sigma", SIGMA_MIN)


gaussian_blur = Stage("gaussian_blur", {"sigma": 1.0}, _gaussian_blur, _check_gaussian_blur,
                      bounds={"sigma": (0.0, np.inf)}).numba(*_NUMBA_BLUR[0]).cuda(
                          *_CUDA_BLUR[0])


# --- unsharp mask ---------------------------------------------------------------------------
def _unsharp_mask(x, amount=0.0, radius=1.0):
    """Sharpening: ``x + amount * (x - gaussian_blur(x, radius))``.

    ``x``: ``(H, W)`` or ``(H, W, 3)`` float32/float64, at least 4 x 4. ``amount`` (default 0.0:
    the identity): any finite scalar (negative values blur). ``radius`` (default 1.0): the
    Gaussian's sigma, with :data:`gaussian_blur`'s fixed taps ``-3..3`` and clamping (below 0.05
    used as 0.05; negative or NaN refused). Differentiable in ``x``, ``amount`` and ``radius``.

    >>> image = np.full((8, 8, 3), 0.5)
    >>> bool(np.allclose(unsharp_mask(image, amount=0.5, radius=1.5, backend="numpy"), 0.5))
    True
    """
    a = dnp.astype(amount, x.dtype)
    return x + a * (x - _gaussian_blur(x, radius))


def _check_unsharp_mask(x, amount, radius):
    check_image(x, "unsharp_mask")
    _check_size(x, BLUR_RADIUS, "unsharp_mask")
    _check_scalar(amount, "unsharp_mask", "amount")
    _check_scalar(radius, "unsharp_mask", "radius", SIGMA_MIN)


unsharp_mask = Stage("unsharp_mask", {"amount": 0.0, "radius": 1.0}, _unsharp_mask,
                     _check_unsharp_mask, bounds={"radius": (0.0, np.inf)}).numba(
                         *_NUMBA_BLUR[1]).cuda(*_CUDA_BLUR[1])


# --- bilateral filter -----------------------------------------------------------------------
def _bilateral(x, sigma_space=1.0, sigma_range=0.1):
    """Edge-preserving bilateral filter on a fixed 5 x 5 window (``BILATERAL_RADIUS`` = 2):
    ``out_p = sum_q w_pq x_q / sum_q w_pq`` with ``w_pq = exp(-|q - p|² / (2 σs²)) *
    exp(-|x_q - x_p|² / (2 σr²))``; for RGB, ``|x_q - x_p|²`` sums the three channels (one joint
    weight per neighbour). Borders reflected.

    ``x``: ``(H, W)`` or ``(H, W, 3)`` float32/float64, at least 3 x 3. ``sigma_space`` (default
    1.0, pixels; below 0.05 used as 0.05) and ``sigma_range`` (default 0.1, intensity; below 1e-3
    used as 1e-3): scalars, negative or NaN refused. Differentiable in ``x`` (through the range
    weights too) and both sigmas.

    >>> image = np.full((8, 8, 3), 0.5)
    >>> out = bilateral(image, sigma_space=2.0, sigma_range=0.05, backend="numpy")
    >>> bool(np.allclose(out, 0.5))
    True
    """
    log_s, c_r = _bilateral_coefs(sigma_space, sigma_range)
    log_s, c_r = dnp.astype(log_s, x.dtype), dnp.astype(c_r, x.dtype)
    h, wd = x.shape[:2]
    r = BILATERAL_RADIUS
    xp = _reflect_pad(x, r)
    num = den = 0.0
    for a in range(2 * r + 1):
        for b in range(2 * r + 1):
            q = xp[a:a + h, b:b + wd]
            d = q - x
            d2 = d * d if x.ndim == 2 else dnp.sum(d * d, axis=-1)
            wgt = dnp.exp(log_s[a, b] + c_r * d2)
            den = den + wgt
            num = num + (wgt if x.ndim == 2 else wgt[..., None]) * q
    return num / (den if x.ndim == 2 else den[..., None])


# exp(v) = 2^k exp(r): log2(e), ln 2 in two parts (Cody-Waite), Taylor coefficients 1/m!
_LOG2E, _LN2_HI, _LN2_LO = 1.4426950408889634, 6.93147180369123816490e-01, 1.9082149292705877e-10
_E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = (
    1.0 / math.factorial(m) for m in range(3, 14))


@numba.njit(cache=True, fastmath={"contract"})
def _exp_into(v, out, bits):
    """``out = exp(v)`` on a row, vectorisable (libm's ``exp`` is not): ``v = k ln2 + r`` with
    ``|r| <= ln2 / 2``, ``exp(r)`` by its degree-13 Taylor polynomial, ``2^k`` built in the
    exponent bits (``bits``: int64 scratch of the same length). Relative error < 3e-16;
    arguments are clamped to [-708, 709] (``exp(-708)`` ~ 3e-308 stands for underflow)."""
    for m in range(v.shape[0]):
        a = min(max(v[m], -708.0), 709.0)
        k = np.floor(a * _LOG2E + 0.5)
        r = (a - k * _LN2_HI) - k * _LN2_LO
        p = _E13
        p = p * r + _E12
        p = p * r + _E11
        p = p * r + _E10
        p = p * r + _E9
        p = p * r + _E8
        p = p * r + _E7
        p = p * r + _E6
        p = p * r + _E5
        p = p * r + _E4
        p = p * r + _E3
        p = p * r + 0.5
        p = p * r + 1.0
        out[m] = p * r + 1.0
        bits[m] = (np.int64(k) + 1023) << 52
    scale = bits.view(np.float64)
    for m in range(v.shape[0]):
        out[m] *= scale[m]


@numba.njit(cache=True, fastmath=FAST)
def _bilateral_weights(xp, i, log_s, c_r, wgt, den, num, arg, bits):
    """Row ``i``: every tap's weights ``wgt`` ``(n*n, W)``, their sum ``den`` ``(W,)`` and the
    weighted sums ``num`` ``(C, W)`` (``xp``: planar padded ``(C, H + 2R, W + 2R)`` float64;
    ``arg``, ``bits``: row scratch)."""
    c, n, wd = xp.shape[0], log_s.shape[0], den.shape[0]
    r = n // 2
    den[:] = 0.0
    num[:] = 0.0
    for a in range(n):
        for b in range(n):
            arg[:] = 0.0
            for k in range(c):
                q = xp[k, i + a, b:b + wd]
                ctr = xp[k, i + r, r:r + wd]
                for j in range(wd):
                    d = q[j] - ctr[j]
                    arg[j] += d * d
            ls = log_s[a, b]
            for j in range(wd):
                arg[j] = ls + c_r * arg[j]
            w_t = wgt[a * n + b]
            _exp_into(arg, w_t, bits)
            for j in range(wd):
                den[j] += w_t[j]
            for k in range(c):
                q = xp[k, i + a, b:b + wd]
                nk = num[k]
                for j in range(wd):
                    nk[j] += w_t[j] * q[j]


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _bilateral_forward_rows(xp, log_s, c_r, out):
    """``out`` ``(H, W c)`` <- the filtered image, from the planar padded ``xp``."""
    c, n = xp.shape[0], log_s.shape[0]
    h, wd = out.shape[0], out.shape[1] // c
    for i in prange(h):
        wgt, den, num = np.empty((n * n, wd)), np.empty(wd), np.empty((c, wd))
        arg, bits = np.empty(wd), np.empty(wd, np.int64)
        _bilateral_weights(xp, i, log_s, c_r, wgt, den, num, arg, bits)
        for k in range(c):
            for j in range(wd):
                out[i, j * c + k] = num[k, j] / den[j]


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _bilateral_vjp_rows(g, xp, log_s, c_r):
    """The planar padded image's cotangent ``(C, H + 2R, W + 2R)``, and the cotangents of
    ``log_s`` ``(n, n)`` and ``c_r``. Pixel ``p``'s tap ``q`` has ``dL/dw = beta = g_p . (x_q -
    out_p) / den_p``; ``x_q`` gets ``g_p w / den_p`` (numerator) and ``2 c_r beta w (x_q - x_p)``
    (range weight), ``x_p`` minus the latter. A row scatters into the n padded rows of its
    window, so rows go in n phases of rows n apart: no two parallel iterations share a row."""
    c, n = xp.shape[0], log_s.shape[0]
    r = n // 2
    h, wd = g.shape[0], g.shape[1] // c
    xp_bar = np.zeros(xp.shape)
    rows = np.zeros((h, n * n + 1))  # per row: sum of beta w per tap, then of beta w d2
    for phase in range(n):
        for ii in prange((h - phase + n - 1) // n):
            i = phase + n * ii
            wgt, den, num = np.empty((n * n, wd)), np.empty(wd), np.empty((c, wd))
            arg, bits = np.empty(wd), np.empty(wd, np.int64)
            _bilateral_weights(xp, i, log_s, c_r, wgt, den, num, arg, bits)
            inv = 1.0 / den
            gp = np.empty((c, wd))
            gdot = np.zeros(wd)  # g_p . out_p
            for k in range(c):
                for j in range(wd):
                    gp[k, j] = g[i, j * c + k]
                    gdot[j] += gp[k, j] * num[k, j] * inv[j]
            own = np.zeros((c, wd))  # sum_t gam_t x_q
            gsum = np.zeros(wd)  # sum_t gam_t
            bw, d2, coef, gam = np.empty(wd), np.empty(wd), np.empty(wd), np.empty(wd)
            for a in range(n):
                for b in range(n):
                    t = a * n + b
                    w_t = wgt[t]
                    for j in range(wd):
                        bw[j] = -gdot[j]
                        d2[j] = 0.0
                    for k in range(c):
                        q = xp[k, i + a, b:b + wd]
                        ctr = xp[k, i + r, r:r + wd]
                        gk = gp[k]
                        for j in range(wd):
                            d = q[j] - ctr[j]
                            d2[j] += d * d
                            bw[j] += gk[j] * q[j]
                    s0 = 0.0
                    s1 = 0.0
                    for j in range(wd):
                        bw[j] *= inv[j] * w_t[j]
                        s0 += bw[j]
                        s1 += bw[j] * d2[j]
                        coef[j] = w_t[j] * inv[j]
                        gam[j] = 2.0 * c_r * bw[j]
                    rows[i, t] = s0
                    rows[i, n * n] += s1
                    for j in range(wd):
                        gsum[j] += gam[j]
                    for k in range(c):  # short loops: few arrays each, so that they vectorise
                        q = xp[k, i + a, b:b + wd]
                        ctr = xp[k, i + r, r:r + wd]
                        dst = xp_bar[k, i + a, b:b + wd]
                        gk = gp[k]
                        for j in range(wd):
                            dst[j] += gk[j] * coef[j] + gam[j] * (q[j] - ctr[j])
                        ok = own[k]
                        for j in range(wd):
                            ok[j] += gam[j] * q[j]
            for k in range(c):  # x_p's part of the range terms: sum_t gam_t (x_p - x_q)
                dst = xp_bar[k, i + r, r:r + wd]
                ctr = xp[k, i + r, r:r + wd]
                ok = own[k]
                for j in range(wd):
                    dst[j] += gsum[j] * ctr[j] - ok[j]
    sums = rows.sum(axis=0)
    return xp_bar, sums[:n * n].reshape(n, n), sums[n * n]


def _pad_planar(x2, c: int):
    """Rows ``(H, W c)`` -> the planar reflect-padded float64 ``(C, H + 2R, W + 2R)``."""
    h, wd = x2.shape[0], x2.shape[1] // c
    r = BILATERAL_RADIUS
    xp = np.empty((c, h + 2 * r, wd + 2 * r))
    _pad_into(_planes(x2, c), r, xp.transpose(1, 2, 0))
    return xp


# The bilateral kernels work in float64 whatever the image's dtype (one compiled version each:
# they are exp-bound, so the conversions cost little).
def _bilateral_forward(x, sigma_space, sigma_range):
    x2, c = _rows(np.asarray(x, dtype=np.float64))
    log_s, c_r = _bilateral_coefs(sigma_space, sigma_range)
    out = np.empty_like(x2)
    _bilateral_forward_rows(_pad_planar(x2, c), np.asarray(log_s), float(c_r), out)
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def _bilateral_vjp(g, x, out, sigma_space, sigma_range):
    x2, c = _rows(np.asarray(x, dtype=np.float64))
    g2 = np.asarray(g, dtype=np.float64).reshape(x2.shape)
    log_s, dlog_s = _value_and_derivative(lambda s: _bilateral_coefs(s, sigma_range)[0],
                                          sigma_space)
    c_r, dc_r = _value_and_derivative(lambda s: _bilateral_coefs(sigma_space, s)[1],
                                      sigma_range)
    xp_bar, log_s_bar, c_r_bar = _bilateral_vjp_rows(g2, _pad_planar(x2, c), log_s, float(c_r))
    x_bar = _fold(xp_bar.transpose(1, 2, 0), BILATERAL_RADIUS, g2, c)
    return (x_bar.reshape(x.shape).astype(x.dtype, copy=False),
            float(np.sum(log_s_bar * dlog_s)), float(c_r_bar * dc_r))


def _check_bilateral(x, sigma_space, sigma_range):
    check_image(x, "bilateral")
    _check_size(x, BILATERAL_RADIUS, "bilateral")
    _check_scalar(sigma_space, "bilateral", "sigma_space", SIGMA_MIN)
    _check_scalar(sigma_range, "bilateral", "sigma_range", SIGMA_RANGE_MIN)


bilateral = Stage("bilateral", {"sigma_space": 1.0, "sigma_range": 0.1}, _bilateral,
                  _check_bilateral, bounds={"sigma_space": (0.0, np.inf),
                                            "sigma_range": (0.0, np.inf)}).numba(
                      _bilateral_forward, _bilateral_vjp)


# --- learnable 2-D convolution --------------------------------------------------------------
def _conv2d(x, kernel):
    """A learnable ``k x k`` filter (``k`` odd), the same for every channel, by correlation
    (``out[i, j] = sum_ab kernel[a, b] x[i + a - k//2, j + b - k//2]``, as
    ``scipy.ndimage.correlate(x, kernel, mode="mirror")``), borders reflected.

    ``x``: ``(H, W)`` or ``(H, W, 3)`` float32/float64, larger than ``k // 2`` on both sides.
    ``kernel`` (default the 3 x 3 identity: 1 at the centre): finite values. Differentiable in
    ``x`` and ``kernel``.

    >>> conv2d(np.ones((3, 3)), kernel=np.full((3, 3), 1 / 9), backend="numpy")  # a box blur
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]])
    """
    k = dnp.astype(kernel, x.dtype)
    n = k.shape[0]
    h, wd = x.shape[:2]
    xp = _reflect_pad(x, n // 2)
    return sum(k[a, b] * xp[a:a + h, b:b + wd] for a in range(n) for b in range(n))


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _conv2d_forward_rows(xp, kernel, c, h, wd):
    n = kernel.shape[0]
    wc = wd * c
    kt = kernel.astype(xp.dtype)
    out = np.empty((h, wc), xp.dtype)
    for i in prange(h):
        acc = out[i]
        acc[:] = 0.0
        for a in range(n):
            for b in range(n):
                kab = kt[a, b]
                src = xp[i + a, b * c:b * c + wc]
                for m in range(wc):
                    acc[m] = tap(acc[m], kab, src[m])
    return out


@numba.njit(cache=True, parallel=True, fastmath=FAST)
def _conv2d_vjp_rows(g, xp, kernel, c):
    """The padded image's cotangent (gathered per padded row) and the kernel's cotangent."""
    h, wc = g.shape
    n = kernel.shape[0]
    kt = kernel.astype(xp.dtype)
    xp_bar = np.empty_like(xp)
    rows = np.zeros((xp.shape[0], n, n))
    for p in prange(xp.shape[0]):
        acc = xp_bar[p]
        acc[:] = 0.0
        for a in range(n):
            i = p - a
            if 0 <= i < h:
                gi = g[i]
                for b in range(n):
                    kab = kt[a, b]
                    dst = acc[b * c:b * c + wc]
                    src = xp[p, b * c:b * c + wc]
                    s = 0.0
                    for m in range(wc):
                        dst[m] = tap(dst[m], kab, gi[m])
                        s += gi[m] * src[m]
                    rows[p, a, b] = s
    return xp_bar, rows.sum(axis=0)


CONV_MAX = 7  # the largest kernel side the CUDA kernels take (per-block sums in shared memory)
_CONV_BINS = CONV_MAX * CONV_MAX


@gpu_kernels
def _conv2d_cuda():
    tap_ = device(tap)

    @cuda.jit
    def forward(xp, kernel, c, out):
        n, wc = kernel.shape[0], out.shape[1]
        for q in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            i, m = q // wc, q % wc
            s = kernel[0, 0] - kernel[0, 0]  # zero, in the image's dtype
            for a in range(n):
                for b in range(n):
                    s = tap_(s, kernel[a, b], xp[i + a, b * c + m])
            out[i, m] = s

    @cuda.jit
    def vjp(g, xp, kernel, c, xp_bar, bars):
        """The padded image's cotangent (gathered per padded value) and the kernel's."""
        n = kernel.shape[0]
        h, wc = g.shape
        wpc = xp.shape[1]
        bins = cuda.shared.array(_CONV_BINS, F64)
        for t in range(cuda.threadIdx.x, n * n, cuda.blockDim.x):
            bins[t] = 0.0
        cuda.syncthreads()
        for q in range(cuda.grid(1), xp.size, cuda.gridsize(1)):
            p, v = q // wpc, q % wpc
            s = kernel[0, 0] - kernel[0, 0]
            for a in range(n):
                i = p - a
                if 0 <= i < h:
                    for b in range(n):
                        m = v - b * c
                        if 0 <= m < wc:
                            s = tap_(s, kernel[a, b], g[i, m])
                            cuda.atomic.add(bins, a * n + b, g[i, m] * xp[p, v])
            xp_bar[p, v] = s
        cuda.syncthreads()
        for t in range(cuda.threadIdx.x, n * n, cuda.blockDim.x):
            cuda.atomic.add(bars, t, bins[t])

    return forward, vjp


def _check_conv2d_cuda(kernel):
    if kernel.shape[0] > CONV_MAX:
        raise NotImplementedError(f"conv2d: backend='cuda' takes kernels up to {CONV_MAX} x "
                                  f"{CONV_MAX}, got {kernel.shape}; use backend='numba'")


def _conv2d_forward_rows_cuda(xp, kernel, c, h, wd):
    _check_conv2d_cuda(kernel)
    mod = array_module(xp)
    out = mod.empty((h, wd * c), xp.dtype)
    launch(_conv2d_cuda()[0], out.size, xp, mod.asarray(kernel, dtype=xp.dtype), c, out)
    return out


def _conv2d_vjp_rows_cuda(g, xp, kernel, c):
    _check_conv2d_cuda(kernel)
    mod = array_module(xp)
    xp_bar, bars = mod.empty_like(xp), mod.zeros(kernel.size)
    launch(_conv2d_cuda()[1], xp.size, g, xp, mod.asarray(kernel, dtype=xp.dtype), c, xp_bar,
           bars, reduce=True)
    return xp_bar, bars.reshape(kernel.shape)


def _conv2d_kernels(pad, forward_rows, vjp_rows, fold):
    """conv2d's kernels on its passes (the Numba or the CUDA ones)."""

    def forward(x, kernel):
        x2, c = _rows(x)
        xp = pad(x2, kernel.shape[0] // 2, c)
        return forward_rows(xp, kernel, c, x.shape[0], x.shape[1]).reshape(x.shape)

    def vjp(g, x, out, kernel):
        x2, c = _rows(x)
        g2 = g.reshape(x2.shape)
        r = kernel.shape[0] // 2
        xp_bar, kernel_bar = vjp_rows(g2, pad(x2, r, c), kernel, c)
        return fold(_planes(xp_bar, c), r, g2, c).reshape(x.shape), kernel_bar

    return forward, vjp


def _check_conv2d(x, kernel):
    check_image(x, "conv2d")
    k = np.asarray(kernel)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise ValueError(f"conv2d: kernel must be a square (k, k) array with k odd, got shape "
                         f"{k.shape}")
    if k.dtype.kind not in "biuf" or not np.all(np.isfinite(k)):
        raise ValueError("conv2d: kernel must hold finite real numbers")
    _check_size(x, k.shape[0] // 2, "conv2d")


def _identity_kernel(k: int = 3) -> np.ndarray:
    e = np.zeros((k, k))
    e[k // 2, k // 2] = 1.0
    return e


conv2d = Stage("conv2d", {"kernel": _identity_kernel()}, _conv2d,
               _check_conv2d).numba(
                   *_conv2d_kernels(_pad, _conv2d_forward_rows, _conv2d_vjp_rows, _fold)).cuda(
                   *_conv2d_kernels(_pad_cuda_rows, _conv2d_forward_rows_cuda,
                                    _conv2d_vjp_rows_cuda, _fold_cuda))


__all__ = ["gaussian_blur", "bilateral", "unsharp_mask", "conv2d", "BLUR_RADIUS", "SIGMA_MIN",
           "BILATERAL_RADIUS", "SIGMA_RANGE_MIN"]
