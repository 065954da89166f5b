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
row in float64.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

import diffopt.numpy as dnp
from diffopt.core import vspace

from .checks import check_image, check_rgb
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
        r = abs(i - 2)
        r = 2 * (h - 1) - r if r >= h else r
        p[i, 2:w + 2] = x[r]
        p[i, 0] = x[r, 2]
        p[i, 1] = x[r, 1]
        p[i, w + 2] = x[r, w - 2]
        p[i, w + 3] = x[r, w - 3]
    return p


@numba.njit(cache=True, inline="always")
def _sums(p, i, j):
    """The six neighbourhood sums (``SUMS``) at padded position ``(i, j)``, as float64."""
    m = np.float64(p[i, j])
    h1 = np.float64(p[i, j - 1]) + p[i, j + 1]
    v1 = np.float64(p[i - 1, j]) + p[i + 1, j]
    dg = np.float64(p[i - 1, j - 1]) + p[i - 1, j + 1] + p[i + 1, j - 1] + p[i + 1, j + 1]
    h2 = np.float64(p[i, j - 2]) + p[i, j + 2]
    v2 = np.float64(p[i - 2, j]) + p[i + 2, j]
    return m, h1, v1, dg, h2, v2


@numba.njit(cache=True, parallel=True)
def _demosaic_forward(x, coef):
    h, w = x.shape
    p = _pad2(x)
    out = np.empty((h, w, 3), dtype=x.dtype)
    for i in prange(h):
        for j in range(w):
            k = 2 * (i & 1) + (j & 1)
            s = _sums(p, i + 2, j + 2)
            for c in range(3):
                out[i, j, c] = (coef[k, 0, c] * s[0] + coef[k, 1, c] * s[1]
                                + coef[k, 2, c] * s[2] + coef[k, 3, c] * s[3]
                                + coef[k, 4, c] * s[4] + coef[k, 5, c] * s[5])
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
                    k = 2 * (i & 1) + (j & 1)
                    g0 = np.float64(g[i, j, 0])
                    g1 = np.float64(g[i, j, 1])
                    g2 = np.float64(g[i, j, 2])
                    a, c = i + 2, j + 2
                    t = coef[k, 0, 0] * g0 + coef[k, 0, 1] * g1 + coef[k, 0, 2] * g2
                    pb[a, c] += t
                    t = coef[k, 1, 0] * g0 + coef[k, 1, 1] * g1 + coef[k, 1, 2] * g2
                    pb[a, c - 1] += t
                    pb[a, c + 1] += t
                    t = coef[k, 2, 0] * g0 + coef[k, 2, 1] * g1 + coef[k, 2, 2] * g2
                    pb[a - 1, c] += t
                    pb[a + 1, c] += t
                    t = coef[k, 3, 0] * g0 + coef[k, 3, 1] * g1 + coef[k, 3, 2] * g2
                    pb[a - 1, c - 1] += t
                    pb[a - 1, c + 1] += t
                    pb[a + 1, c - 1] += t
                    pb[a + 1, c + 1] += t
                    t = coef[k, 4, 0] * g0 + coef[k, 4, 1] * g1 + coef[k, 4, 2] * g2
                    if t != 0.0:
                        pb[a, c - 2] += t
                        pb[a, c + 2] += t
                    t = coef[k, 5, 0] * g0 + coef[k, 5, 1] * g1 + coef[k, 5, 2] * g2
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
            k = 2 * (i & 1) + jp
            c0 = index[k, 0, 1]
            c1 = index[k, 1, 1]
            z0 = 0.0
            z1 = 0.0
            for j in range(jp, w, 2):
                s = _sums(p, i + 2, j + 2)
                z0 += g[i, j, c0] * (weights[k, 0, 0] * s[0] + weights[k, 0, 1] * s[1]
                                     + weights[k, 0, 2] * s[2] + weights[k, 0, 3] * s[3]
                                     + weights[k, 0, 4] * s[4] + weights[k, 0, 5] * s[5])
                z1 += g[i, j, c1] * (weights[k, 1, 0] * s[0] + weights[k, 1, 1] * s[1]
                                     + weights[k, 1, 2] * s[2] + weights[k, 1, 3] * s[3]
                                     + weights[k, 1, 4] * s[4] + weights[k, 1, 5] * s[5])
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


_BILINEAR = _coefficients(())


def _bilinear_forward(x):
    return _demosaic_forward(x, _BILINEAR)


def _bilinear_vjp(g, x, out):
    return (_demosaic_vjp(g, _BILINEAR),)


def _mhc_forward(x, alpha, beta, gamma):
    return _demosaic_forward(x, _coefficients((alpha, beta, gamma)))


def _mhc_vjp(g, x, out, alpha, beta, gamma):
    bars = _gain_bars(g, x, _GAIN_INDEX, _GAIN_WEIGHTS)
    return (_demosaic_vjp(g, _coefficients((alpha, beta, gamma))), *(float(b) for b in bars))


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
                          _check_bilinear).numba(_bilinear_forward, _bilinear_vjp)

demosaic_mhc = Stage("demosaic_mhc", dict(zip(GAINS, (0.5, 0.625, 0.75))), _mhc,
                     _check_mhc).numba(_mhc_forward, _mhc_vjp)


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


@numba.njit(cache=True, parallel=True)
def _mosaic_forward(x):
    h, w = x.shape[0], x.shape[1]
    out = np.empty((h, w), dtype=x.dtype)
    for i in prange(h):
        for j in range(w):
            out[i, j] = x[i, j, (i & 1) + (j & 1)]
    return out


@numba.njit(cache=True, parallel=True)
def _mosaic_vjp(g, x, out):
    x_bar = np.zeros_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            x_bar[i, j, (i & 1) + (j & 1)] = g[i, j]
    return (x_bar,)


def _check_rgb_mosaic(x):
    check_rgb(x, "mosaic")


mosaic = Stage("mosaic", {}, _mosaic, _check_rgb_mosaic).numba(_mosaic_forward, _mosaic_vjp)


__all__ = ["demosaic_bilinear", "demosaic_mhc", "mosaic"]
