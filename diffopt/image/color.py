"""Per-pixel colour stages: each a reference in ``diffopt.numpy`` and Numba forward/VJP kernels.

Images are ``(H, W, 3)`` float32 or float64 arrays (linear RGB unless a stage says otherwise);
the stages that act on each value alone (``normalize``, ``exposure``, ``tone_curve``, ``gamma``)
also take ``(H, W)`` raw mosaics. A stage returns the dtype it was given. Kernels loop over rows
in parallel (``prange``) and accumulate parameter cotangents per row in float64, summed at the end.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

import diffopt.numpy as dnp

from .checks import check_array, check_image, check_positive, check_rgb, check_scalar, check_vector
from .stage import Stage

_LN2 = math.log(2.0)


def _rows(a):
    """A C-contiguous ``(H, W)`` or ``(H, W, C)`` array seen as ``(H, W * C)`` (a view): the
    per-value kernels below take that, so each compiles once per dtype."""
    return a.reshape(a.shape[0], -1)


def _on_rows(forward, vjp):
    """Kernels on ``(H, N)`` rows as a stage's kernels, on ``(H, W)`` or ``(H, W, C)`` images."""

    def on_rows_forward(x, *params):
        return forward(_rows(x), *params).reshape(x.shape)

    def on_rows_vjp(g, x, out, *params):
        x_bar, *bars = vjp(_rows(g), _rows(x), _rows(out), *params)
        return (x_bar.reshape(x.shape), *bars)

    return on_rows_forward, on_rows_vjp


# --- white balance: per-channel gains -------------------------------------------------------
def _white_balance(x, gains):
    """``x * gains`` per channel (``gains``: ``(3,)``, the green gain usually fixed at 1)."""
    return x * dnp.astype(gains, x.dtype)


@numba.njit(cache=True, parallel=True)
def _white_balance_forward(x, gains):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            for c in range(3):
                out[i, j, c] = x[i, j, c] * gains[c]
    return out


@numba.njit(cache=True, parallel=True)
def _white_balance_vjp(g, x, out, gains):
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 3))
    for i in prange(x.shape[0]):
        r = gr = b = 0.0  # (local sums: adding into rows[i, c] per pixel is 4x slower)
        for j in range(x.shape[1]):
            x_bar[i, j, 0] = g[i, j, 0] * gains[0]
            x_bar[i, j, 1] = g[i, j, 1] * gains[1]
            x_bar[i, j, 2] = g[i, j, 2] * gains[2]
            r += g[i, j, 0] * x[i, j, 0]
            gr += g[i, j, 1] * x[i, j, 1]
            b += g[i, j, 2] * x[i, j, 2]
        rows[i, 0], rows[i, 1], rows[i, 2] = r, gr, b
    return x_bar, rows.sum(axis=0)


def _check_white_balance(x, gains):
    check_rgb(x, "white_balance")
    check_vector(gains, 3, "white_balance", "gains")


white_balance = Stage("white_balance", {"gains": np.ones(3)}, _white_balance,
                      _check_white_balance).numba(_white_balance_forward, _white_balance_vjp)


# --- affine kernels shared by normalize and exposure: (x - shift) * scale --------------------
@numba.njit(cache=True, parallel=True)
def _affine_forward(x, shift, scale):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = (x[i, j] - shift) * scale
    return out


@numba.njit(cache=True, parallel=True)
def _affine_vjp(g, out, scale):
    """``x_bar = g * scale``, ``sum(g)`` and ``sum(g * out)`` (float64)."""
    x_bar = np.empty_like(g)
    rows = np.zeros((g.shape[0], 2))
    for i in prange(g.shape[0]):
        sg = sgo = 0.0  # the row's sums in registers, stored once
        for j in range(g.shape[1]):
            x_bar[i, j] = g[i, j] * scale
            sg += g[i, j]
            sgo += g[i, j] * out[i, j]
        rows[i, 0], rows[i, 1] = sg, sgo
    s = rows.sum(axis=0)
    return x_bar, s[0], s[1]


# --- normalize: black and white levels ------------------------------------------------------
def _normalize(x, black, white):
    """Black/white level normalisation ``(x - black) / (white - black)`` of a raw ``(H, W)``
    mosaic or an ``(H, W, 3)`` image, so that ``black`` maps to 0 and ``white`` to 1.

    ``black`` (default 0.0) and ``white`` (default 1.0): scalars in the sensor's units, with
    ``white > black`` (refused otherwise). Nothing is clamped: values outside
    ``[black, white]`` map outside ``[0, 1]``.

    >>> raw = np.array([[64.0, 1023.0]]) / 1023  # 10-bit sensor with black level 64
    >>> normalize(raw, black=64 / 1023, white=1.0, backend="numpy")
    array([[0., 1.]])
    """
    b = dnp.astype(black, x.dtype)
    return (x - b) / (dnp.astype(white, x.dtype) - b)


def _normalize_forward(x, black, white):
    return _affine_forward(x, black, 1.0 / (white - black))


def _normalize_vjp(g, x, out, black, white):
    a = 1.0 / (white - black)
    x_bar, sg, sgo = _affine_vjp(g, out, a)
    return x_bar, a * (sgo - sg), -a * sgo


_normalize_kernels = _on_rows(_normalize_forward, _normalize_vjp)


def _check_normalize(x, black, white):
    check_image(x, "normalize")
    check_scalar(black, "normalize", "black")
    check_scalar(white, "normalize", "white")
    if not float(white) > float(black):
        raise ValueError(f"normalize: white ({float(white)}) must be greater than black "
                         f"({float(black)}): they are the sensor's saturation and black levels")


normalize = Stage("normalize", {"black": 0.0, "white": 1.0}, _normalize,
                  _check_normalize).numba(*_normalize_kernels)


# --- exposure: a gain of 2 ** ev ------------------------------------------------------------
def _exposure(x, ev):
    """Exposure compensation ``x * 2 ** ev`` (``ev``: scalar, in stops, default 0.0) of an
    ``(H, W)`` or ``(H, W, 3)`` image. Nothing is clamped.

    >>> exposure(np.full((2, 2, 3), 0.25), ev=1.0, backend="numpy")[0, 0]  # twice as bright
    array([0.5, 0.5, 0.5])
    """
    return x * dnp.astype(dnp.exp2(ev), x.dtype)


def _exposure_forward(x, ev):
    return _affine_forward(x, 0.0, 2.0**ev)


def _exposure_vjp(g, x, out, ev):
    x_bar, _, sgo = _affine_vjp(g, out, 2.0**ev)
    return x_bar, _LN2 * sgo


_exposure_kernels = _on_rows(_exposure_forward, _exposure_vjp)


def _check_exposure(x, ev):
    check_image(x, "exposure")
    check_scalar(ev, "exposure", "ev")


exposure = Stage("exposure", {"ev": 0.0}, _exposure,
                 _check_exposure).numba(*_exposure_kernels)


# --- colour matrix: out = x @ M.T per pixel -------------------------------------------------
def _color_matrix(x, matrix):
    """Colour correction ``out[..., i] = sum_j matrix[i, j] * x[..., j]`` (``x @ matrix.T``) of
    an ``(H, W, 3)`` image; ``matrix``: ``(3, 3)``, default the identity, any finite values.

    A camera-to-sRGB matrix maps white to white when each row sums to 1; the stage does not
    impose it (nor clamp anything). To learn a matrix with that convention (which also makes it
    identifiable next to a white balance), optimise free values ``m`` and pass
    ``normalize_rows(m)``.

    >>> m = np.array([[2.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 4.0]])
    >>> color_matrix(np.full((2, 2, 3), 0.25), matrix=normalize_rows(m), backend="numpy")[0, 0]
    array([0.25, 0.25, 0.25])
    """
    return dnp.matmul(x, dnp.astype(matrix, x.dtype).T)


def normalize_rows(m):
    """``m`` with each row divided by its sum (differentiable), so every row sums to 1.

    >>> normalize_rows(np.array([[2.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 4.0]]))
    array([[0.5 , 0.25, 0.25],
           [0.  , 1.  , 0.  ],
           [0.  , 0.  , 1.  ]])
    """
    return m / dnp.sum(m, axis=-1, keepdims=True)


def white_preserving_matrix(off_diagonal):
    """The ``(3, 3)`` colour matrix with these six off-diagonal entries (row by row: ``m01, m02,
    m10, m12, m20, m21``) and each diagonal entry set so that its row sums to 1 (differentiable).

    The form to learn a white-preserving matrix in: unlike ``normalize_rows`` of a free matrix,
    it has no redundant row scales, whose drift makes every step mean something different.
    ``np.asarray(m)[~np.eye(3, dtype=bool)]`` gives the entries of a matrix ``m`` back.

    >>> white_preserving_matrix(np.zeros(6))
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    """
    off = dnp.reshape(off_diagonal, (3, 2))
    rows = [dnp.stack([1.0 - off[0, 0] - off[0, 1], off[0, 0], off[0, 1]]),
            dnp.stack([off[1, 0], 1.0 - off[1, 0] - off[1, 1], off[1, 1]]),
            dnp.stack([off[2, 0], off[2, 1], 1.0 - off[2, 0] - off[2, 1]])]
    return dnp.stack(rows)


@numba.njit(cache=True, parallel=True)
def _color_matrix_forward(x, matrix):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            r, g, b = x[i, j, 0], x[i, j, 1], x[i, j, 2]
            for c in range(3):
                out[i, j, c] = matrix[c, 0] * r + matrix[c, 1] * g + matrix[c, 2] * b
    return out


@numba.njit(cache=True, parallel=True)
def _color_matrix_vjp(g, x, out, matrix):
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 3, 3))
    for i in prange(x.shape[0]):
        acc = np.zeros((3, 3))  # the row's sums, stored once
        for j in range(x.shape[1]):
            for c in range(3):
                x_bar[i, j, c] = (g[i, j, 0] * matrix[0, c] + g[i, j, 1] * matrix[1, c]
                                  + g[i, j, 2] * matrix[2, c])
                for d in range(3):
                    acc[c, d] += g[i, j, c] * x[i, j, d]
        rows[i] = acc
    return x_bar, rows.sum(axis=0)


def _check_color_matrix(x, matrix):
    check_rgb(x, "color_matrix")
    check_array(matrix, (3, 3), "color_matrix", "matrix")


color_matrix = Stage("color_matrix", {"matrix": np.eye(3)}, _color_matrix,
                     _check_color_matrix).numba(_color_matrix_forward, _color_matrix_vjp)


# --- tone curve: monotone piecewise linear with K segments ----------------------------------
def _tone(x, slopes):
    """The tone curve of ``slopes`` at ``x`` (any shape), in ``x``'s dtype.

    With ``t = K x`` and ``a = |slopes|``, segment ``k`` contributes ``a[k] * s_k(t) / K`` where
    ``s_k`` rises from 0 at ``t = k`` to 1 at ``t = k + 1`` (no lower bound for the first
    segment, no upper one for the last). ``where`` (not ``clip``) keeps the derivative at a knot
    one-sided (the right segment's slope), as the kernels do.
    """
    k_count = slopes.shape[0]
    a = dnp.abs(dnp.astype(slopes, x.dtype))
    t = x * k_count
    total = None
    for k in range(k_count):
        s = t - k
        if k < k_count - 1:
            s = dnp.where(t < k + 1, s, 1.0)
        if k > 0:
            s = dnp.where(t < k, 0.0, s)
        total = a[k] * s if total is None else total + a[k] * s
    return total / k_count


def _tone_curve(x, slopes):
    """A learnable tone curve: monotone piecewise linear on ``[0, 1]`` with ``K`` equal segments,
    applied to every value of an ``(H, W)`` or ``(H, W, 3)`` image.

    ``slopes``: ``(K,)``, default ``ones(8)`` (the identity). Segment ``k`` covers
    ``[k / K, (k + 1) / K]`` with slope ``|slopes[k]|``, ``curve(0) = 0``:
    ``curve(x) = sum_k |slopes[k]| * clip(x - k / K, 0, 1 / K)``. The absolute value makes the
    curve non-decreasing for any real parameters (a slope exactly 0 gets a zero gradient).
    Nothing is clamped: below 0 the curve continues with the first slope, above 1 with the last.
    ``tone_curve_values(slopes, x)`` evaluates it at points ``x`` (for plotting).

    >>> slopes = np.array([2.0, 1.5, 1.0, 0.75, 0.5, 0.5, 0.5, 0.25])
    >>> tone_curve(np.full((2, 2, 3), 0.25), slopes=slopes, backend="numpy")[0, 0]
    array([0.4375, 0.4375, 0.4375])
    """
    return _tone(x, slopes)


def tone_curve_values(slopes, x):
    """The tone curve of ``slopes`` (see ``tone_curve``) at the points ``x`` (differentiable).

    >>> tone_curve_values(np.ones(8), np.linspace(0.0, 1.0, 5))  # the identity
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    x = dnp.asarray(x)
    if x.dtype.kind != "f":
        x = dnp.astype(x, np.float64)
    return _tone(x, dnp.asarray(slopes))


def tone_slopes_from_srgb(displayed, g):
    """The tone curve's ``slopes`` for which the curve followed by ``gamma`` with exponent ``g``
    rises by ``|displayed[k]| / K`` over segment ``k`` (differentiable in both).

    The form to learn a tone curve in next to a learnable gamma: it fixes the displayed value at
    every knot, so that ``g`` changes only the bends between knots. The slopes themselves leave
    ``g`` and the curve's lower knots trading off almost exactly, an ill-conditioned valley.
    ``srgb_slopes(slopes, g)`` is the inverse (for slopes > 0).

    >>> tone_slopes_from_srgb(srgb_slopes(np.ones(8), 2.2), 2.2)
    array([1., 1., 1., 1., 1., 1., 1., 1.])
    """
    k_count = displayed.shape[0]
    knots = srgb_to_linear(dnp.cumsum(dnp.abs(displayed)) / k_count, g)
    return k_count * dnp.concatenate([knots[:1], knots[1:] - knots[:-1]])


def srgb_slopes(slopes, g) -> np.ndarray:
    """The rise of ``gamma(tone_curve(x, slopes), g)`` over each segment, times ``K``: the
    inverse of ``tone_slopes_from_srgb`` (plain NumPy).

    >>> np.round(srgb_slopes(np.ones(8), 2.4), 3)  # the sRGB curve's rise per eighth
    array([3.109, 1.188, 0.872, 0.714, 0.616, 0.548, 0.497, 0.457])
    """
    slopes = np.abs(np.asarray(slopes, dtype=np.float64))
    k_count = len(slopes)
    shown = np.asarray(_gamma(np.cumsum(slopes) / k_count, float(g)))
    return k_count * np.diff(shown, prepend=0.0)


@numba.njit(cache=True)
def _segment(t, k_count):
    """The segment ``t = K x`` falls in (0 below 1, K - 1 from K - 1 up, and for NaN)."""
    if t < 1.0:
        return 0
    if t < k_count - 1:
        return int(t)
    return k_count - 1


@numba.njit(cache=True, parallel=True)
def _tone_curve_forward(x, slopes):
    k_count = slopes.shape[0]
    a = np.abs(slopes)
    base = np.zeros(k_count)  # the curve at t = k, times K
    for k in range(1, k_count):
        base[k] = base[k - 1] + a[k - 1]
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            t = x[i, j] * k_count
            k = _segment(t, k_count)
            out[i, j] = (base[k] + a[k] * (t - k)) / k_count
    return out


@numba.njit(cache=True, parallel=True)
def _tone_curve_vjp(g, x, out, slopes):
    k_count = slopes.shape[0]
    a = np.abs(slopes)
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 2 * k_count))  # per segment: sum g * (t - k), sum g
    for i in prange(x.shape[0]):
        acc = np.zeros(2 * k_count)  # the row's sums, stored once (4x faster than in rows)
        for j in range(x.shape[1]):
            t = x[i, j] * k_count
            k = _segment(t, k_count)
            x_bar[i, j] = g[i, j] * a[k]
            acc[k] += g[i, j] * (t - k)
            acc[k_count + k] += g[i, j]
        rows[i] = acc
    s = rows.sum(axis=0)
    slopes_bar = np.empty(k_count)
    above = 0.0  # sum of g over the segments after k: they hold the whole of segment k
    for k in range(k_count - 1, -1, -1):
        slopes_bar[k] = np.sign(slopes[k]) * (s[k] + above) / k_count
        above += s[k_count + k]
    return x_bar, slopes_bar


def _check_tone_curve(x, slopes):
    check_image(x, "tone_curve")
    check_array(slopes, (None,), "tone_curve", "slopes")


tone_curve = Stage("tone_curve", {"slopes": np.ones(8)}, _tone_curve,
                   _check_tone_curve).numba(*_on_rows(_tone_curve_forward, _tone_curve_vjp))


# --- saturation: blend with the luminance ---------------------------------------------------
_LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 / sRGB luminance weights


def _saturation(x, s):
    """Saturation ``lum + s * (x - lum)`` of an ``(H, W, 3)`` linear RGB image, with
    ``lum = 0.2126 R + 0.7152 G + 0.0722 B``. ``s``: scalar, default 1.0 (unchanged); 0 gives
    grey, above 1 more saturated. Nothing is clamped.

    >>> saturation(np.array([[[0.2, 0.4, 0.6]]]), s=1.3, backend="numpy")
    array([[[0.148424, 0.408424, 0.668424]]])
    """
    lum = x[..., 0:1] * _LUMA[0] + x[..., 1:2] * _LUMA[1] + x[..., 2:3] * _LUMA[2]
    return lum + dnp.astype(s, x.dtype) * (x - lum)


@numba.njit(cache=True, parallel=True)
def _saturation_forward(x, s):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            lum = 0.2126 * x[i, j, 0] + 0.7152 * x[i, j, 1] + 0.0722 * x[i, j, 2]
            for c in range(3):
                out[i, j, c] = lum + s * (x[i, j, c] - lum)
    return out


@numba.njit(cache=True, parallel=True)
def _saturation_vjp(g, x, out, s):
    x_bar = np.empty_like(x)
    rows = np.zeros(x.shape[0])
    for i in prange(x.shape[0]):
        acc = 0.0
        for j in range(x.shape[1]):
            lum = 0.2126 * x[i, j, 0] + 0.7152 * x[i, j, 1] + 0.0722 * x[i, j, 2]
            gsum = (1.0 - s) * (g[i, j, 0] + g[i, j, 1] + g[i, j, 2])
            x_bar[i, j, 0] = s * g[i, j, 0] + 0.2126 * gsum
            x_bar[i, j, 1] = s * g[i, j, 1] + 0.7152 * gsum
            x_bar[i, j, 2] = s * g[i, j, 2] + 0.0722 * gsum
            for c in range(3):
                acc += g[i, j, c] * (x[i, j, c] - lum)
        rows[i] = acc
    return x_bar, rows.sum()


def _check_saturation(x, s):
    check_rgb(x, "saturation")
    check_scalar(s, "saturation", "s")


saturation = Stage("saturation", {"s": 1.0}, _saturation,
                   _check_saturation).numba(_saturation_forward, _saturation_vjp)


# --- gamma: sRGB encoding with a learnable exponent -----------------------------------------
_SRGB_KNEE = 0.0031308  # linear value where the sRGB curve turns from linear to a power


def _srgb_slope(g):
    """The linear piece's slope that meets the power piece at the knee for exponent ``g``
    (12.91999 at 2.4, where the standard rounds it to 12.92)."""
    return (1.055 * _SRGB_KNEE ** (1.0 / g) - 0.055) / _SRGB_KNEE
_SRGB_TINY = 1e-8  # floor under the power: no denormals, no infinite derivative at 0


def _gamma(x, g):
    """sRGB encoding with a learnable exponent ``g`` (default 2.4, the standard; > 0):
    ``s(g) x`` for ``x <= 0.0031308``, else ``1.055 x ** (1 / g) - 0.055``, on an ``(H, W)`` or
    ``(H, W, 3)`` linear image. The slope ``s(g)`` makes the two pieces meet at the knee for every
    ``g`` (12.91999 at 2.4, the standard rounds it to 12.92), so that learning ``g`` moves no value
    by a jump.

    ``x`` is clamped at 0 from below (zero gradient there) and the power takes
    ``maximum(x, 1e-8)``. Values above 1 follow the curve's extension instead of being clipped,
    so that highlights keep their gradient while parameters are learned: clip the result for
    display. ``srgb_to_linear(y, g)`` is the inverse.

    >>> gamma(np.array([[0.0, 0.214, 1.0]]), g=2.4, backend="numpy")
    array([[0.    , 0.49996, 1.    ]])
    """
    xc = dnp.clip(x, 0.0, np.inf)
    p = 1.0 / dnp.astype(g, x.dtype)
    curve = 1.055 * dnp.maximum(xc, _SRGB_TINY) ** p - 0.055
    return dnp.where(xc <= _SRGB_KNEE, _srgb_slope(dnp.astype(g, x.dtype)) * xc, curve)


def srgb_to_linear(y, g=2.4):
    """The inverse of ``gamma``: ``y / s(g)`` for ``y <= s(g) * 0.0031308``, else
    ``((y + 0.055) / 1.055) ** g`` (differentiable in ``y`` and ``g``; not clamped, the power's
    base floored at 1e-8). Exact for ``g`` <= 2.4, where the two pieces of ``gamma`` meet.

    >>> srgb_to_linear(np.array([0.0, 0.5, 1.0]))
    array([0.        , 0.21404114, 1.        ])
    """
    y = dnp.asarray(y)
    if y.dtype.kind != "f":
        y = dnp.astype(y, np.float64)
    curve = dnp.maximum((y + 0.055) / 1.055, _SRGB_TINY) ** dnp.astype(g, y.dtype)
    slope = _srgb_slope(dnp.astype(g, y.dtype))
    return dnp.where(y <= slope * _SRGB_KNEE, y / slope, curve)


def _gamma_numbers(dtype, g: float):
    """The gamma kernels' constants in the image's dtype: a float32 image is encoded with float32
    powers and logarithms (2.5x faster than float64, and the reference's own precision)."""
    ds_dg = 1.055 * _SRGB_KNEE ** (1.0 / g) * np.log(_SRGB_KNEE) / _SRGB_KNEE  # × -1/g²
    return np.array([1.0 / g, _SRGB_KNEE, _srgb_slope(g), 1.055, 0.055, 0.0, ds_dg],
                    dtype=dtype)


@numba.njit(cache=True, parallel=True)
def _gamma_forward_kernel(x, numbers):
    p, knee, slope, a, b, zero, _ = numbers
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            v = max(x[i, j], zero)
            if v <= knee:
                out[i, j] = slope * v
            else:  # v > the knee: the reference's floor under the power is inactive
                out[i, j] = a * v**p - b
    return out


@numba.njit(cache=True, parallel=True)
def _gamma_vjp_kernel(c, x, out, numbers):
    """``x_bar`` and ``sum(c * 1.055 x ** p * log x)`` (float64); ``c``: the output's cotangent."""
    p, knee, slope, a, b, zero, ds_dg = numbers
    x_bar = np.empty_like(x)
    rows = np.zeros(x.shape[0])
    for i in prange(x.shape[0]):
        acc = 0.0
        for j in range(x.shape[1]):
            v = x[i, j]
            share = 0.0  # this value's term of the sum (a conditional += trips Numba's parfors)
            if not zero <= v:  # clamped (or NaN): no gradient
                x_bar[i, j] = zero
            elif v <= knee:
                x_bar[i, j] = c[i, j] * slope
                share = c[i, j] * v * ds_dg
            else:
                power = out[i, j] + b  # 1.055 v ** p
                x_bar[i, j] = c[i, j] * p * power / v
                share = c[i, j] * power * math.log(v)
            acc += share
        rows[i] = acc
    return x_bar, rows.sum()


def _gamma_forward(x, g):
    return _gamma_forward_kernel(x, _gamma_numbers(x.dtype, g))


def _gamma_vjp(c, x, out, g):
    x_bar, s = _gamma_vjp_kernel(c, x, out, _gamma_numbers(x.dtype, g))
    return x_bar, -s / (g * g)  # d(x ** (1 / g))/dg = -x ** (1 / g) log(x) / g**2


def _check_gamma(x, g):
    check_image(x, "gamma")
    check_scalar(g, "gamma", "g")
    check_positive(g, "gamma", "g")


GAMMA_MIN = 0.1  # the least exponent fit tries (the stage takes any g > 0)
gamma = Stage("gamma", {"g": 2.4}, _gamma, _check_gamma, bounds={"g": (GAMMA_MIN, np.inf)}).numba(
    *_on_rows(_gamma_forward, _gamma_vjp))


__all__ = ["white_balance", "normalize", "exposure", "color_matrix", "normalize_rows",
           "white_preserving_matrix", "tone_curve", "tone_curve_values", "tone_slopes_from_srgb",
           "srgb_slopes", "saturation", "gamma", "srgb_to_linear"]
