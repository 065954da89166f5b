"""Bayer stages: ``mosaic`` (RGB -> RGGB raw) and demosaicking (RGGB raw -> RGB).

The mosaic is RGGB: R at ``[0::2, 0::2]``, G at ``[0::2, 1::2]`` and ``[1::2, 0::2]``, B at
``[1::2, 1::2]``. Demosaicking takes an ``(H, W)`` mosaic with even ``H, W >= 4`` and returns
``(H, W, 3)`` of the same dtype; borders are reflected (``np.pad(mode="reflect")``), which keeps
the Bayer pattern of the padding consistent.

Both demosaickers are linear in the mosaic and written the same way: at every site, each channel
is a combination of six neighbourhood sums of the mosaic, ``S(q) = sum_{d in D_S} mosaic[q + d]``
(``m``: the site itself; ``h1``/``v1``: the two horizontal/vertical neighbours; ``diag``: the four
diagonal ones; ``h2``/``v2``: the two at distance 2 horizontally/vertically), with coefficients
that depend on the site's class (R, G in an R row, G in a B row, B) and on the gains. ``_SITES``
says which; the reference and the Numba kernels both read it (as ``TABLE``). The kernels' VJP in
the mosaic is the transposed operation: each site scatters its cotangent back through the same
sums into the padded mosaic (blocks of rows in two passes, so no two threads share a row), and
the reflected border folds back onto the pixels it mirrors; the gains' cotangents are summed per
row in float64. The CUDA kernels call the same scalar functions (the sums, each channel's and each
gain's combination of them, the transposed coefficients): one thread per pixel over the padded
mosaic, the VJP scattering with float64 atomics into the padded cotangent and from it onto the
pixels each padded position mirrors.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

import diffopt.numpy as dnp
from diffopt.core import vspace
from diffopt.numpy.backend import array_module

from .checks import check_image, check_rgb
from .device import (
    F64,
    THREADS,
    block_add,
    cuda,
    device,
    gpu_kernels,
    launch,
    pad_cuda,
    reflect,
    scalar,
    unpad_cuda,
)
from .stage import Stage

# --- the coefficient table --------------------------------------------------------------------
SUMS = ("m", "h1", "v1", "diag", "h2", "v2")
_OFFSETS = {"m": ((0, 0),), "h1": ((0, -1), (0, 1)), "v1": ((-1, 0), (1, 0)),
            "diag": ((-1, -1), (-1, 1), (1, -1), (1, 1)), "h2": ((0, -2), (0, 2)),
            "v2": ((-2, 0), (2, 0))}
CLASSES = ((0, 0), (0, 1), (1, 0), (1, 1))  # R, G in an R row, G in a B row, B
GAINS = ("alpha", "beta", "gamma")

# bilinear estimates
_KEEP = {"m": 1.0}
_CROSS = {"h1": 0.25, "v1": 0.25}  # G at R/B: mean of the four neighbours
_DIAG = {"diag": 0.25}             # R at B, B at R: mean of the four diagonal neighbours
_H1 = {"h1": 0.5}                  # mean of the two horizontal neighbours
_V1 = {"v1": 0.5}
# Malvar-He-Cutler corrections (zero-sum: they vanish on constant and linear images)
_LAP = {"m": 1.0, "h2": -0.25, "v2": -0.25}                 # the site's own colour (alpha, gamma)
_GH = {"m": 1.0, "diag": -0.2, "h2": -0.2, "v2": 0.1}       # G's, for a colour in the row (beta)
_GV = {"m": 1.0, "diag": -0.2, "v2": -0.2, "h2": 0.1}       # G's, for a colour in the column

# per class: each channel (R, G, B) as [(gain index, weights)], gain 0 being the constant 1
_SITES = (
    ([(0, _KEEP)], [(0, _CROSS), (1, _LAP)], [(0, _DIAG), (3, _LAP)]),     # R site
    ([(0, _H1), (2, _GH)], [(0, _KEEP)], [(0, _V1), (2, _GV)]),            # G in an R row
    ([(0, _V1), (2, _GV)], [(0, _KEEP)], [(0, _H1), (2, _GH)]),            # G in a B row
    ([(0, _DIAG), (3, _LAP)], [(0, _CROSS), (1, _LAP)], [(0, _KEEP)]),     # B site
)


def _table() -> np.ndarray:
    """``T[gain, class, sum, channel]``: gain 0 is the bilinear part, 1-3 alpha, beta, gamma."""
    t = np.zeros((4, 4, len(SUMS), 3))
    for k, channels in enumerate(_SITES):
        for c, terms in enumerate(channels):
            for gain, weights in terms:
                for s, w in weights.items():
                    t[gain, k, SUMS.index(s), c] += w
    return t


TABLE = _table()


def _coefficients(gains) -> np.ndarray:
    """The ``(class, sum, channel)`` coefficients for concrete gains (none: bilinear)."""
    return np.ascontiguousarray(TABLE[0] + sum(p * TABLE[k + 1] for k, p in enumerate(gains)))


# --- reference ----------------------------------------------------------------------------------
def _demosaic_reference(mosaic, gains=()):
    """The demosaicked ``(H, W, 3)`` image; ``gains``: the MHC gains (none: bilinear)."""
    h, w = vspace.shape_of(mosaic)
    gains = [dnp.astype(p, mosaic.dtype) for p in gains]
    padded = dnp.pad(mosaic, 2, mode="reflect")
    sums = []
    for s in SUMS:
        total = None
        for di, dj in _OFFSETS[s]:
            view = padded[2 + di:2 + di + h, 2 + dj:2 + dj + w]
            total = view if total is None else total + view
        sums.append(total)
    per_class = []
    for k, (a, b) in enumerate(CLASSES):
        site = [v[a::2, b::2] for v in sums]
        channels = []
        for c in range(3):
            estimate = None
            for gain in range(1 + len(gains)):
                part = _combine(TABLE[gain, k, :, c], site)
                if part is not None:
                    part = part if gain == 0 else gains[gain - 1] * part
                    estimate = part if estimate is None else estimate + part
            channels.append(estimate)
        per_class.append(dnp.stack(channels, axis=-1))
    # interleave the four (H/2, W/2, 3) classes: [i, a, j, b] -> pixel (2i + a, 2j + b)
    top = dnp.stack(per_class[:2], axis=2)
    bottom = dnp.stack(per_class[2:], axis=2)
    return dnp.reshape(dnp.stack([top, bottom], axis=1), (h, w, 3))


def _combine(weights, values):
    """``sum(w * v)`` over the nonzero weights (``None`` if all are zero)."""
    total = None
    for wt, v in zip(weights, values):
        if wt:
            term = v if wt == 1 else v * float(wt)
            total = term if total is None else total + term
    return total


def _bilinear(mosaic):
    """Bilinear demosaicking of an RGGB mosaic ``(H, W)`` (even ``H, W >= 4``) into
    ``(H, W, 3)``: known values are kept, a missing G is the mean of its four neighbours, a
    missing R or B the mean of its two (G sites) or four diagonal (B/R sites) neighbours of that
    colour. Borders are reflected. No parameters; linear in the mosaic.

    >>> rgb = demosaic_bilinear(np.full((4, 4), 0.5), backend="numpy")
    >>> rgb.shape, bool(np.allclose(rgb, 0.5))
    ((4, 4, 3), True)
    """
    return _demosaic_reference(mosaic)


def _mhc(mosaic, alpha, beta, gamma):
    """Malvar-He-Cutler (2004) gradient-corrected demosaicking of an RGGB mosaic ``(H, W)``
    (even ``H, W >= 4``) into ``(H, W, 3)``: bilinear interpolation plus a gain times the
    Laplacian of the colour known at the site (5x5 filters). ``alpha`` (G at R/B sites),
    ``beta`` (R/B at G sites) and ``gamma`` (R at B, B at R): scalars, the paper's 1/2, 5/8, 3/4
    by default, which give its fixed filters; 0 gives bilinear. Any finite value is taken (no
    clamping), so the gains can be learned. Borders are reflected.

    >>> raw = np.full((4, 4), 0.5)
    >>> demosaic_mhc(raw, alpha=0.5, beta=0.625, gamma=0.75, backend="numpy").shape
    (4, 4, 3)
    """
    return _demosaic_reference(mosaic, (alpha, beta, gamma))


# --- Numba kernels ------------------------------------------------------------------------------
_BLOCK = 16  # rows per block of the VJP's scatter (>= 4: blocks two apart never touch)


@numba.njit(cache=True)
def _pad2(x):
    """``np.pad(x, 2, mode="reflect")`` (``x``: at least 3 x 3)."""
    h, w = x.shape
    p = np.empty((h + 4, w + 4), dtype=x.dtype)
    for i in range(h + 4):
        r = reflect(i - 2, h)
        p[i, 2:w + 2] = x[r]
        p[i, 0] = x[r, 2]
        p[i, 1] = x[r, 1]
        p[i, w + 2] = x[r, w - 2]
        p[i, w + 3] = x[r, w - 3]
    return p


@scalar
def _sums(p, i, j):
    """The six neighbourhood sums (``SUMS``) at padded position ``(i, j)``, as float64."""
    m = np.float64(p[i, j])
    h1 = np.float64(p[i, j - 1]) + p[i, j + 1]
    v1 = np.float64(p[i - 1, j]) + p[i + 1, j]
    dg = np.float64(p[i - 1, j - 1]) + p[i - 1, j + 1] + p[i + 1, j - 1] + p[i + 1, j + 1]
    h2 = np.float64(p[i, j - 2]) + p[i, j + 2]
    v2 = np.float64(p[i - 2, j]) + p[i + 2, j]
    return m, h1, v1, dg, h2, v2


@scalar
def _site_class(i, j):
    """The class of site ``(i, j)`` (``CLASSES``: R, G in an R row, G in a B row, B)."""
    return 2 * (i & 1) + (j & 1)


@scalar
def _channel(coef, k, c, s):
    """Channel ``c`` at a site of class ``k`` from its sums ``s``."""
    return (coef[k, 0, c] * s[0] + coef[k, 1, c] * s[1] + coef[k, 2, c] * s[2]
            + coef[k, 3, c] * s[3] + coef[k, 4, c] * s[4] + coef[k, 5, c] * s[5])


@scalar
def _sum_bar(coef, k, m, g0, g1, g2):
    """The cotangent of sum ``m`` at a site of class ``k`` for its channels' ``(g0, g1, g2)``."""
    return coef[k, m, 0] * g0 + coef[k, m, 1] * g1 + coef[k, m, 2] * g2


@scalar
def _gain_term(weights, k, t, s):
    """Correction ``t`` of a site of class ``k`` (``_gain_terms``) from its sums ``s``."""
    return (weights[k, t, 0] * s[0] + weights[k, t, 1] * s[1] + weights[k, t, 2] * s[2]
            + weights[k, t, 3] * s[3] + weights[k, t, 4] * s[4] + weights[k, t, 5] * s[5])


@numba.njit(cache=True, parallel=True)
def _demosaic_forward(x, coef):
    h, w = x.shape
    p = _pad2(x)
    out = np.empty((h, w, 3), dtype=x.dtype)
    for i in prange(h):
        for j in range(w):
            k = _site_class(i, j)
            s = _sums(p, i + 2, j + 2)
            for c in range(3):
                out[i, j, c] = _channel(coef, k, c, s)
    return out


@numba.njit(cache=True, parallel=True)
def _demosaic_vjp(g, coef):
    """The mosaic's cotangent: each site sends ``t_S = sum_c coef[class, S, c] g_c`` to the
    padded mosaic positions of sum ``S`` (the transposed forward pass), then the padding folds
    back onto the image. Blocks of rows scatter in two passes (even blocks, then odd ones), so
    that no two threads write the same row."""
    h, w = g.shape[0], g.shape[1]
    pb = np.zeros((h + 4, w + 4))
    blocks = (h + _BLOCK - 1) // _BLOCK
    for parity in range(2):
        for b in prange((blocks + 1 - parity) // 2):
            start = (2 * b + parity) * _BLOCK
            for i in range(start, min(start + _BLOCK, h)):
                for j in range(w):
                    k = _site_class(i, j)
                    g0 = np.float64(g[i, j, 0])
                    g1 = np.float64(g[i, j, 1])
                    g2 = np.float64(g[i, j, 2])
                    a, c = i + 2, j + 2
                    pb[a, c] += _sum_bar(coef, k, 0, g0, g1, g2)
                    t = _sum_bar(coef, k, 1, g0, g1, g2)
                    pb[a, c - 1] += t
                    pb[a, c + 1] += t
                    t = _sum_bar(coef, k, 2, g0, g1, g2)
                    pb[a - 1, c] += t
                    pb[a + 1, c] += t
                    t = _sum_bar(coef, k, 3, g0, g1, g2)
                    pb[a - 1, c - 1] += t
                    pb[a - 1, c + 1] += t
                    pb[a + 1, c - 1] += t
                    pb[a + 1, c + 1] += t
                    t = _sum_bar(coef, k, 4, g0, g1, g2)
                    if t != 0.0:
                        pb[a, c - 2] += t
                        pb[a, c + 2] += t
                    t = _sum_bar(coef, k, 5, g0, g1, g2)
                    if t != 0.0:
                        pb[a - 2, c] += t
                        pb[a + 2, c] += t
    _fold2(pb)
    return pb[2:h + 2, 2:w + 2].astype(g.dtype)


def _gain_terms() -> tuple:
    """The gains' derivative, compactly: per class, the (gain, channel) pairs it changes (two
    for MHC) and their weights over ``SUMS``."""
    pairs = [[(r, c) for r in range(len(GAINS)) for c in range(3) if TABLE[r + 1, k, :, c].any()]
             for k in range(4)]
    n = max(len(pr) for pr in pairs)
    index = np.zeros((4, n, 2), dtype=np.int64)
    weights = np.zeros((4, n, len(SUMS)))  # padded entries: gain 0, channel 0, weight 0
    for k, pr in enumerate(pairs):
        for t, (r, c) in enumerate(pr):
            index[k, t] = r, c
            weights[k, t] = TABLE[r + 1, k, :, c]
    return index, weights


_GAIN_INDEX, _GAIN_WEIGHTS = _gain_terms()
assert _GAIN_INDEX.shape[1] == 2, "_gain_bars handles two (gain, channel) pairs per class"


@numba.njit(cache=True, parallel=True)
def _gain_bars(g, x, index, weights):
    """``<g, d out / d gain_r>`` for the gains: at each site, the two corrections it uses
    (``_gain_terms``) times the cotangent of their channels. Summed per row in float64."""
    h, w = x.shape
    p = _pad2(x)
    rows = np.zeros((h, 3))
    for i in prange(h):
        for jp in range(2):
            k = _site_class(i, jp)
            c0 = index[k, 0, 1]
            c1 = index[k, 1, 1]
            z0 = 0.0
            z1 = 0.0
            for j in range(jp, w, 2):
                s = _sums(p, i + 2, j + 2)
                z0 += g[i, j, c0] * _gain_term(weights, k, 0, s)
                z1 += g[i, j, c1] * _gain_term(weights, k, 1, s)
            rows[i, index[k, 0, 0]] += z0
            rows[i, index[k, 1, 0]] += z1
    return rows.sum(axis=0)


@numba.njit(cache=True)
def _fold2(pb):
    """Adds the reflected border of a 2-padded cotangent onto the pixels it mirrors."""
    hp, wp = pb.shape
    for src, dst in ((0, 4), (1, 3), (hp - 1, hp - 5), (hp - 2, hp - 4)):
        pb[dst, :] += pb[src, :]
    for src, dst in ((0, 4), (1, 3), (wp - 1, wp - 5), (wp - 2, wp - 4)):
        pb[:, dst] += pb[:, src]


# --- CUDA kernels -------------------------------------------------------------------------------
@gpu_kernels
def _demosaic_cuda():
    """Kernels on the mosaic ``(H, W)``, its padding ``(H + 4, W + 4)`` and ``(H, W, 3)``
    images, one thread per pixel (grid-stride over the flattened index)."""
    site_class, sums = device(_site_class), device(_sums)
    channel, sum_bar, gain_term, reduce = (device(_channel), device(_sum_bar),
                                           device(_gain_term), block_add())

    @cuda.jit
    def forward(p, coef, out):
        h, w = out.shape[0], out.shape[1]
        for q in range(cuda.grid(1), h * w, cuda.gridsize(1)):
            i, j = q // w, q % w
            k = site_class(i, j)
            s = sums(p, i + 2, j + 2)
            for c in range(3):
                out[i, j, c] = channel(coef, k, c, s)

    @cuda.jit
    def scatter(g, coef, pb):
        """Each site's cotangent through the sums into the padded mosaic (float64 atomics)."""
        h, w = g.shape[0], g.shape[1]
        for q in range(cuda.grid(1), h * w, cuda.gridsize(1)):
            i, j = q // w, q % w
            k = site_class(i, j)
            g0, g1, g2 = np.float64(g[i, j, 0]), np.float64(g[i, j, 1]), np.float64(g[i, j, 2])
            a, c = i + 2, j + 2
            cuda.atomic.add(pb, (a, c), sum_bar(coef, k, 0, g0, g1, g2))
            t = sum_bar(coef, k, 1, g0, g1, g2)
            cuda.atomic.add(pb, (a, c - 1), t)
            cuda.atomic.add(pb, (a, c + 1), t)
            t = sum_bar(coef, k, 2, g0, g1, g2)
            cuda.atomic.add(pb, (a - 1, c), t)
            cuda.atomic.add(pb, (a + 1, c), t)
            t = sum_bar(coef, k, 3, g0, g1, g2)
            cuda.atomic.add(pb, (a - 1, c - 1), t)
            cuda.atomic.add(pb, (a - 1, c + 1), t)
            cuda.atomic.add(pb, (a + 1, c - 1), t)
            cuda.atomic.add(pb, (a + 1, c + 1), t)
            t = sum_bar(coef, k, 4, g0, g1, g2)
            if t != 0.0:
                cuda.atomic.add(pb, (a, c - 2), t)
                cuda.atomic.add(pb, (a, c + 2), t)
            t = sum_bar(coef, k, 5, g0, g1, g2)
            if t != 0.0:
                cuda.atomic.add(pb, (a - 2, c), t)
                cuda.atomic.add(pb, (a + 2, c), t)

    @cuda.jit
    def gains(g, p, index, weights, bars):
        part = cuda.shared.array((THREADS, 3), F64)
        acc = cuda.local.array(3, F64)
        for r in range(3):
            acc[r] = 0.0
        h, w = g.shape[0], g.shape[1]
        for q in range(cuda.grid(1), h * w, cuda.gridsize(1)):
            i, j = q // w, q % w
            k = site_class(i, j)
            s = sums(p, i + 2, j + 2)
            for t in range(2):
                acc[index[k, t, 0]] += g[i, j, index[k, t, 1]] * gain_term(weights, k, t, s)
        for r in range(3):
            part[cuda.threadIdx.x, r] = acc[r]
        reduce(part, bars)

    return forward, scatter, gains


def _pad2_cuda(x):
    return pad_cuda(x[:, :, None], 2)[:, :, 0]


def _demosaic_forward_cuda(x, coef):
    xp = array_module(x)
    out = xp.empty(x.shape + (3,), x.dtype)
    launch(_demosaic_cuda()[0], x.size, _pad2_cuda(x), xp.asarray(coef), out)
    return out


def _demosaic_vjp_cuda(g, coef):
    xp = array_module(g)
    h, w = g.shape[0], g.shape[1]
    pb = xp.zeros((h + 4, w + 4))
    launch(_demosaic_cuda()[1], h * w, g, xp.asarray(coef), pb)
    return unpad_cuda(pb[:, :, None], 2)[:, :, 0].astype(g.dtype)


def _gain_bars_cuda(g, x):
    xp = array_module(x)
    bars = xp.zeros(3)
    launch(_demosaic_cuda()[2], x.size, g, _pad2_cuda(x), xp.asarray(_GAIN_INDEX),
           xp.asarray(_GAIN_WEIGHTS), bars, reduce=True)
    return bars


def _demosaic_kernels(forward, vjp, gain_bars):
    """The bilinear and MHC stages' kernels on a demosaicking forward/VJP pair and the gains'
    VJP (the Numba or the CUDA ones)."""

    def bilinear_forward(x):
        return forward(x, _BILINEAR)

    def bilinear_vjp(g, x, out):
        return (vjp(g, _BILINEAR),)

    def mhc_forward(x, alpha, beta, gamma):
        return forward(x, _coefficients((alpha, beta, gamma)))

    def mhc_vjp(g, x, out, alpha, beta, gamma):
        bars = gain_bars(g, x)
        return (vjp(g, _coefficients((alpha, beta, gamma))), *(float(b) for b in bars))

    return (bilinear_forward, bilinear_vjp), (mhc_forward, mhc_vjp)


_BILINEAR = _coefficients(())
_NUMBA = _demosaic_kernels(_demosaic_forward, _demosaic_vjp,
                           lambda g, x: _gain_bars(g, x, _GAIN_INDEX, _GAIN_WEIGHTS))
_CUDA = _demosaic_kernels(_demosaic_forward_cuda, _demosaic_vjp_cuda, _gain_bars_cuda)


# --- checks -------------------------------------------------------------------------------------
def _check_mosaic_shape(x, stage):
    check_image(x, stage, channels=(None,))
    h, w = x.shape
    if h % 2 or w % 2 or h < 4 or w < 4:
        raise ValueError(f"{stage}: demosaicking an RGGB mosaic needs even height and width "
                         f"≥ 4, got ({h}, {w}); crop a row/column")


def _check_bilinear(x):
    _check_mosaic_shape(x, "demosaic_bilinear")


def _check_mhc(x, **gains):
    _check_mosaic_shape(x, "demosaic_mhc")
    for name, v in gains.items():
        a = np.asarray(v)
        if a.ndim != 0 or a.dtype.kind not in "iuf":
            raise ValueError(f"demosaic_mhc: {name} must be a real scalar, got {v!r}")
        if not np.isfinite(a):
            raise ValueError(f"demosaic_mhc: {name} must be finite, got {v!r}")


demosaic_bilinear = Stage("demosaic_bilinear", {}, _bilinear,
                          _check_bilinear).numba(*_NUMBA[0]).cuda(*_CUDA[0])

demosaic_mhc = Stage("demosaic_mhc", dict(zip(GAINS, (0.5, 0.625, 0.75))), _mhc,
                     _check_mhc).numba(*_NUMBA[1]).cuda(*_CUDA[1])


# --- mosaic: RGB -> RGGB ------------------------------------------------------------------------
_BAYER = ((0, 1), (1, 2))  # channel sampled at (row parity, column parity)


def _mosaic(image):
    """RGGB Bayer sampling of an RGB image ``(H, W, 3)`` (any ``H, W``) into a raw ``(H, W)``
    mosaic: R at ``[0::2, 0::2]``, G at ``[0::2, 1::2]`` and ``[1::2, 0::2]``, B at
    ``[1::2, 1::2]``. No parameters; a gather, so differentiable in the image.

    >>> mosaic(np.ones((4, 6, 3)), backend="numpy").shape
    (4, 6)
    """
    out = dnp.zeros_like(image[..., 0])
    for a, b in CLASSES:
        out = dnp.at(out)[a::2, b::2].set(image[a::2, b::2, _BAYER[a][b]])
    return out


@scalar
def _bayer_channel(i, j):
    """The channel that RGGB samples at pixel ``(i, j)`` (``_BAYER``)."""
    return (i & 1) + (j & 1)


@numba.njit(cache=True, parallel=True)
def _mosaic_forward(x):
    h, w = x.shape[0], x.shape[1]
    out = np.empty((h, w), dtype=x.dtype)
    for i in prange(h):
        for j in range(w):
            out[i, j] = x[i, j, _bayer_channel(i, j)]
    return out


@numba.njit(cache=True, parallel=True)
def _mosaic_vjp(g, x, out):
    x_bar = np.zeros_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            x_bar[i, j, _bayer_channel(i, j)] = g[i, j]
    return (x_bar,)


@gpu_kernels
def _mosaic_cuda():
    bayer_channel = device(_bayer_channel)

    @cuda.jit
    def forward(x, out):
        h, w = out.shape
        for q in range(cuda.grid(1), h * w, cuda.gridsize(1)):
            i, j = q // w, q % w
            out[i, j] = x[i, j, bayer_channel(i, j)]

    @cuda.jit
    def vjp(g, x_bar):
        h, w = g.shape
        for q in range(cuda.grid(1), h * w, cuda.gridsize(1)):
            i, j = q // w, q % w
            x_bar[i, j, bayer_channel(i, j)] = g[i, j]

    return forward, vjp


def _mosaic_forward_cuda(x):
    out = array_module(x).empty(x.shape[:2], x.dtype)
    launch(_mosaic_cuda()[0], out.size, x, out)
    return out


def _mosaic_vjp_cuda(g, x, out):
    x_bar = array_module(x).zeros_like(x)
    launch(_mosaic_cuda()[1], g.size, g, x_bar)
    return (x_bar,)


def _check_rgb_mosaic(x):
    check_rgb(x, "mosaic")


mosaic = Stage("mosaic", {}, _mosaic, _check_rgb_mosaic).numba(_mosaic_forward, _mosaic_vjp).cuda(
    _mosaic_forward_cuda, _mosaic_vjp_cuda)


__all__ = ["demosaic_bilinear", "demosaic_mhc", "mosaic"]
