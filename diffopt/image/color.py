"""Per-pixel colour stages: each a reference in ``diffopt.numpy`` and Numba forward/VJP kernels.

Images are ``(H, W, 3)`` float32 or float64 arrays (linear RGB unless a stage says otherwise);
the stages that act on each value alone (``normalize``, ``exposure``, ``tone_curve``, ``gamma``)
also take ``(H, W)`` raw mosaics. A stage returns the dtype it was given. Each stage's per-value
or per-pixel math is a scalar function (:func:`diffopt.image.device.scalar`) that both its Numba
and its CUDA kernels call. Numba kernels loop over rows in parallel (``prange``) and accumulate
parameter cotangents per row in float64, summed at the end; CUDA kernels are grid-stride loops
over the values (or pixels) of the flattened image, with per-thread float64 sums reduced per
block (:func:`diffopt.image.device.block_add`).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

import diffopt.numpy as dnp
from diffopt.numpy.backend import array_module

from .checks import check_array, check_image, check_positive, check_rgb, check_scalar, check_vector
from .device import F64, THREADS, block_add, cuda, device, gpu_kernels, launch, scalar
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


@scalar
def _gain(v, k):
    """``v`` times the gain ``k``."""
    return v * k


@scalar
def _gain_vjp(g, v, k):
    """``(v_bar, k_bar)`` of :func:`_gain` for the cotangent ``g``."""
    return g * k, g * v


@numba.njit(cache=True, parallel=True)
def _white_balance_forward(x, gains):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            for c in range(3):
                out[i, j, c] = _gain(x[i, j, c], gains[c])
    return out


@numba.njit(cache=True, parallel=True)
def _white_balance_vjp(g, x, out, gains):
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 3))
    for i in prange(x.shape[0]):
        r = gr = b = 0.0  # (local sums: adding into rows[i, c] per pixel is 4x slower)
        for j in range(x.shape[1]):
            x_bar[i, j, 0], t = _gain_vjp(g[i, j, 0], x[i, j, 0], gains[0])
            r += t
            x_bar[i, j, 1], t = _gain_vjp(g[i, j, 1], x[i, j, 1], gains[1])
            gr += t
            x_bar[i, j, 2], t = _gain_vjp(g[i, j, 2], x[i, j, 2], gains[2])
            b += t
        rows[i, 0], rows[i, 1], rows[i, 2] = r, gr, b
    return x_bar, rows.sum(axis=0)


@gpu_kernels
def _white_balance_cuda():
    gain, gain_vjp, reduce = device(_gain), device(_gain_vjp), block_add()

    @cuda.jit
    def forward(x, gains, out):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            out[i] = gain(x[i], gains[i % 3])

    @cuda.jit
    def vjp(g, x, gains, x_bar, bars):
        part = cuda.shared.array((THREADS, 3), F64)
        acc = cuda.local.array(3, F64)
        for c in range(3):
            acc[c] = 0.0
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            c = i % 3
            x_bar[i], t = gain_vjp(g[i], x[i], gains[c])
            acc[c] += t
        for c in range(3):
            part[cuda.threadIdx.x, c] = acc[c]
        reduce(part, bars)

    return forward, vjp


def _white_balance_forward_cuda(x, gains):
    out = array_module(x).empty_like(x)
    launch(_white_balance_cuda()[0], x.size, x.reshape(-1), gains, out.reshape(-1))
    return out


def _white_balance_vjp_cuda(g, x, out, gains):
    xp = array_module(x)
    x_bar, bars = xp.empty_like(x), xp.zeros(3)
    launch(_white_balance_cuda()[1], x.size, g.reshape(-1), x.reshape(-1), gains,
           x_bar.reshape(-1), bars, reduce=True)
    return x_bar, bars


def _check_white_balance(x, gains):
    check_rgb(x, "white_balance")
    check_vector(gains, 3, "white_balance", "gains")


white_balance = Stage("white_balance", {"gains": np.ones(3)}, _white_balance,
                      _check_white_balance).numba(_white_balance_forward, _white_balance_vjp).cuda(
                          _white_balance_forward_cuda, _white_balance_vjp_cuda)


# --- affine kernels shared by normalize and exposure: (x - shift) * scale --------------------
@scalar
def _affine(v, shift, scale):
    return (v - shift) * scale


@scalar
def _affine_vjp_value(g, o, scale):
    """``(v_bar, g * o)`` of :func:`_affine` (``o``: its value) for the cotangent ``g``."""
    return g * scale, g * o


@numba.njit(cache=True, parallel=True)
def _affine_forward(x, shift, scale):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = _affine(x[i, j], shift, scale)
    return out


@numba.njit(cache=True, parallel=True)
def _affine_vjp(g, out, scale):
    """``x_bar = g * scale``, ``sum(g)`` and ``sum(g * out)`` (float64)."""
    x_bar = np.empty_like(g)
    rows = np.zeros((g.shape[0], 2))
    for i in prange(g.shape[0]):
        sg = sgo = 0.0  # the row's sums in registers, stored once
        for j in range(g.shape[1]):
            x_bar[i, j], t = _affine_vjp_value(g[i, j], out[i, j], scale)
            sg += g[i, j]
            sgo += t
        rows[i, 0], rows[i, 1] = sg, sgo
    s = rows.sum(axis=0)
    return x_bar, s[0], s[1]


@gpu_kernels
def _affine_cuda():
    affine, affine_vjp, reduce = device(_affine), device(_affine_vjp_value), block_add()

    @cuda.jit
    def forward(x, shift, scale, out):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            out[i] = affine(x[i], shift, scale)

    @cuda.jit
    def vjp(g, out, scale, x_bar, bars):
        part = cuda.shared.array((THREADS, 2), F64)
        sg = sgo = 0.0
        for i in range(cuda.grid(1), g.size, cuda.gridsize(1)):
            x_bar[i], t = affine_vjp(g[i], out[i], scale)
            sg += g[i]
            sgo += t
        part[cuda.threadIdx.x, 0] = sg
        part[cuda.threadIdx.x, 1] = sgo
        reduce(part, bars)

    return forward, vjp


def _affine_forward_cuda(x, shift, scale):
    out = array_module(x).empty_like(x)
    launch(_affine_cuda()[0], x.size, x.reshape(-1), shift, scale, out.reshape(-1))
    return out


def _affine_vjp_cuda(g, out, scale):
    xp = array_module(g)
    x_bar, bars = xp.empty_like(g), xp.zeros(2)
    launch(_affine_cuda()[1], g.size, g.reshape(-1), out.reshape(-1), scale, x_bar.reshape(-1),
           bars, reduce=True)
    return x_bar, float(bars[0]), float(bars[1])


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


def _normalize_kernels(affine_forward, affine_vjp):
    """normalize's kernels on the affine ones (the Numba or the CUDA pair)."""

    def forward(x, black, white):
        return affine_forward(x, black, 1.0 / (white - black))

    def vjp(g, x, out, black, white):
        a = 1.0 / (white - black)
        x_bar, sg, sgo = affine_vjp(g, out, a)
        return x_bar, a * (sgo - sg), -a * sgo

    return forward, vjp


def _check_normalize(x, black, white):
    check_image(x, "normalize")
    check_scalar(black, "normalize", "black")
    check_scalar(white, "normalize", "white")
    if not float(white) > float(black):
        raise ValueError(f"normalize: white ({float(white)}) must be greater than black "
                         f"({float(black)}): they are the sensor's saturation and black levels")


normalize = Stage("normalize", {"black": 0.0, "white": 1.0}, _normalize,
                  _check_normalize).numba(
                      *_on_rows(*_normalize_kernels(_affine_forward, _affine_vjp))).cuda(
                      *_normalize_kernels(_affine_forward_cuda, _affine_vjp_cuda))


# --- exposure: a gain of 2 ** ev ------------------------------------------------------------
def _exposure(x, ev):
    """Exposure compensation ``x * 2 ** ev`` (``ev``: scalar, in stops, default 0.0) of an
    ``(H, W)`` or ``(H, W, 3)`` image. Nothing is clamped.

    >>> exposure(np.full((2, 2, 3), 0.25), ev=1.0, backend="numpy")[0, 0]  # twice as bright
    array([0.5, 0.5, 0.5])
    """
    return x * dnp.astype(dnp.exp2(ev), x.dtype)


def _exposure_kernels(affine_forward, affine_vjp):
    """exposure's kernels on the affine ones (the Numba or the CUDA pair)."""

    def forward(x, ev):
        return affine_forward(x, 0.0, 2.0**ev)

    def vjp(g, x, out, ev):
        x_bar, _, sgo = affine_vjp(g, out, 2.0**ev)
        return x_bar, _LN2 * sgo

    return forward, vjp


def _check_exposure(x, ev):
    check_image(x, "exposure")
    check_scalar(ev, "exposure", "ev")


exposure = Stage("exposure", {"ev": 0.0}, _exposure,
                 _check_exposure).numba(
                     *_on_rows(*_exposure_kernels(_affine_forward, _affine_vjp))).cuda(
                     *_exposure_kernels(_affine_forward_cuda, _affine_vjp_cuda))


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


@scalar
def _matvec(m, r, g, b):
    """``m @ (r, g, b)`` for a ``(3, 3)`` array ``m``."""
    return (m[0, 0] * r + m[0, 1] * g + m[0, 2] * b, m[1, 0] * r + m[1, 1] * g + m[1, 2] * b,
            m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)


@scalar
def _matvec_t(m, r, g, b):
    """``m.T @ (r, g, b)``: :func:`_matvec`'s VJP in the pixel."""
    return (m[0, 0] * r + m[1, 0] * g + m[2, 0] * b, m[0, 1] * r + m[1, 1] * g + m[2, 1] * b,
            m[0, 2] * r + m[1, 2] * g + m[2, 2] * b)


@numba.njit(cache=True, parallel=True)
def _color_matrix_forward(x, matrix):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j, 0], out[i, j, 1], out[i, j, 2] = _matvec(matrix, x[i, j, 0], x[i, j, 1],
                                                               x[i, j, 2])
    return out


@numba.njit(cache=True, parallel=True)
def _color_matrix_vjp(g, x, out, matrix):
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 3, 3))
    for i in prange(x.shape[0]):
        acc = np.zeros((3, 3))  # the row's sums, stored once
        for j in range(x.shape[1]):
            x_bar[i, j, 0], x_bar[i, j, 1], x_bar[i, j, 2] = _matvec_t(
                matrix, g[i, j, 0], g[i, j, 1], g[i, j, 2])
            for c in range(3):  # the matrix's cotangent: the outer product g x^T
                for d in range(3):
                    acc[c, d] += g[i, j, c] * x[i, j, d]
        rows[i] = acc
    return x_bar, rows.sum(axis=0)


@gpu_kernels
def _color_matrix_cuda():
    matvec, matvec_t, reduce = device(_matvec), device(_matvec_t), block_add()

    @cuda.jit
    def forward(x, matrix, out):
        for i in range(cuda.grid(1), x.size // 3, cuda.gridsize(1)):
            q = 3 * i
            out[q], out[q + 1], out[q + 2] = matvec(matrix, x[q], x[q + 1], x[q + 2])

    @cuda.jit
    def vjp(g, x, matrix, x_bar, bars):
        part = cuda.shared.array((THREADS, 9), F64)
        acc = cuda.local.array(9, F64)
        for c in range(9):
            acc[c] = 0.0
        for i in range(cuda.grid(1), x.size // 3, cuda.gridsize(1)):
            q = 3 * i
            x_bar[q], x_bar[q + 1], x_bar[q + 2] = matvec_t(matrix, g[q], g[q + 1], g[q + 2])
            for c in range(3):
                for d in range(3):
                    acc[3 * c + d] += g[q + c] * x[q + d]
        for c in range(9):
            part[cuda.threadIdx.x, c] = acc[c]
        reduce(part, bars)

    return forward, vjp


def _color_matrix_forward_cuda(x, matrix):
    out = array_module(x).empty_like(x)
    launch(_color_matrix_cuda()[0], x.size // 3, x.reshape(-1), matrix, out.reshape(-1))
    return out


def _color_matrix_vjp_cuda(g, x, out, matrix):
    xp = array_module(x)
    x_bar, bars = xp.empty_like(x), xp.zeros(9)
    launch(_color_matrix_cuda()[1], x.size // 3, g.reshape(-1), x.reshape(-1), matrix,
           x_bar.reshape(-1), bars, reduce=True)
    return x_bar, bars.reshape(3, 3)


def _check_color_matrix(x, matrix):
    check_rgb(x, "color_matrix")
    check_array(matrix, (3, 3), "color_matrix", "matrix")


color_matrix = Stage("color_matrix", {"matrix": np.eye(3)}, _color_matrix,
                     _check_color_matrix).numba(_color_matrix_forward, _color_matrix_vjp).cuda(
                         _color_matrix_forward_cuda, _color_matrix_vjp_cuda)


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


@scalar
def _segment(v, k_count):
    """``(k, t - k)``: the segment ``t = K v`` falls in (0 below 1, K - 1 from K - 1 up, and for
    NaN) and the position in it."""
    t = v * k_count
    if t < 1.0:
        k = 0
    elif t < k_count - 1:
        k = int(t)
    else:
        k = k_count - 1
    return k, t - k


@scalar
def _tone_value(base_k, a_k, frac, k_count):
    """The curve at ``frac`` into segment ``k`` (``base_k``: the curve at its start, times K)."""
    return (base_k + a_k * frac) / k_count


@scalar
def _tone_vjp_value(g, a_k, frac):
    """``(v_bar, slope_bar)``: the value's and segment ``k``'s slope's cotangent (times K)."""
    return g * a_k, g * frac


def _tone_tables(slopes):
    """``(a, base)``: the slopes' magnitudes and the curve at each knot ``k``, times K (the
    slopes' array module, float64)."""
    xp = array_module(slopes)
    a = xp.abs(slopes)
    base = xp.zeros_like(a)
    base[1:] = xp.cumsum(a[:-1])
    return a, base


def _tone_slopes_bar(slopes, s):
    """The slopes' cotangent from ``s``: per segment the sum of ``g (t - k)``, then of ``g``;
    a segment's slope also moves every value above it (by the whole of its segment)."""
    xp = array_module(s)
    k_count = slopes.shape[0]
    counts = s[k_count:]
    above = xp.cumsum(counts[::-1])[::-1] - counts
    return xp.sign(slopes) * (s[:k_count] + above) / k_count


@numba.njit(cache=True, parallel=True)
def _tone_forward_kernel(x, a, base):
    k_count = a.shape[0]
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            k, frac = _segment(x[i, j], k_count)
            out[i, j] = _tone_value(base[k], a[k], frac, k_count)
    return out


@numba.njit(cache=True, parallel=True)
def _tone_vjp_kernel(g, x, a):
    """``x_bar`` and the per-segment sums of ``g (t - k)``, then of ``g`` (float64)."""
    k_count = a.shape[0]
    x_bar = np.empty_like(x)
    rows = np.zeros((x.shape[0], 2 * k_count))  # per segment: sum g * (t - k), sum g
    for i in prange(x.shape[0]):
        acc = np.zeros(2 * k_count)  # the row's sums, stored once (4x faster than in rows)
        for j in range(x.shape[1]):
            k, frac = _segment(x[i, j], k_count)
            x_bar[i, j], t = _tone_vjp_value(g[i, j], a[k], frac)
            acc[k] += t
            acc[k_count + k] += g[i, j]
        rows[i] = acc
    return x_bar, rows.sum(axis=0)


def _tone_curve_forward(x, slopes):
    return _tone_forward_kernel(x, *_tone_tables(slopes))


def _tone_curve_vjp(g, x, out, slopes):
    x_bar, s = _tone_vjp_kernel(g, x, _tone_tables(slopes)[0])
    return x_bar, _tone_slopes_bar(slopes, s)


TONE_MAX = 64  # the most segments the CUDA kernels take (per-block sums in shared memory)
_TONE_BINS = 2 * TONE_MAX


@gpu_kernels
def _tone_curve_cuda():
    segment, value, vjp_value = device(_segment), device(_tone_value), device(_tone_vjp_value)

    @cuda.jit
    def forward(x, a, base, out):
        k_count = a.size
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            k, frac = segment(x[i], k_count)
            out[i] = value(base[k], a[k], frac, k_count)

    @cuda.jit
    def vjp(g, x, a, x_bar, bars):
        k_count = a.size
        bins = cuda.shared.array(_TONE_BINS, F64)  # the block's sums, as the Numba rows
        for t in range(cuda.threadIdx.x, 2 * k_count, cuda.blockDim.x):
            bins[t] = 0.0
        cuda.syncthreads()
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            k, frac = segment(x[i], k_count)
            x_bar[i], t = vjp_value(g[i], a[k], frac)
            cuda.atomic.add(bins, k, t)
            cuda.atomic.add(bins, k_count + k, g[i])
        cuda.syncthreads()
        for t in range(cuda.threadIdx.x, 2 * k_count, cuda.blockDim.x):
            cuda.atomic.add(bars, t, bins[t])

    return forward, vjp


def _check_tone_cuda(slopes):
    if slopes.shape[0] > TONE_MAX:
        raise NotImplementedError(f"tone_curve: backend='cuda' takes at most {TONE_MAX} "
                                  f"segments, got {slopes.shape[0]}; use backend='numba'")


def _tone_curve_forward_cuda(x, slopes):
    _check_tone_cuda(slopes)
    a, base = _tone_tables(slopes)
    out = array_module(x).empty_like(x)
    launch(_tone_curve_cuda()[0], x.size, x.reshape(-1), a, base, out.reshape(-1))
    return out


def _tone_curve_vjp_cuda(g, x, out, slopes):
    _check_tone_cuda(slopes)
    xp = array_module(x)
    x_bar, s = xp.empty_like(x), xp.zeros(2 * slopes.shape[0])
    launch(_tone_curve_cuda()[1], x.size, g.reshape(-1), x.reshape(-1), _tone_tables(slopes)[0],
           x_bar.reshape(-1), s, reduce=True)
    return x_bar, _tone_slopes_bar(slopes, s)


def _check_tone_curve(x, slopes):
    check_image(x, "tone_curve")
    check_array(slopes, (None,), "tone_curve", "slopes")


tone_curve = Stage("tone_curve", {"slopes": np.ones(8)}, _tone_curve,
                   _check_tone_curve).numba(*_on_rows(_tone_curve_forward, _tone_curve_vjp)).cuda(
                       _tone_curve_forward_cuda, _tone_curve_vjp_cuda)


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


@scalar
def _saturate(s, r, g, b):
    """The pixel ``(r, g, b)`` blended with its luminance by ``s``."""
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return lum + s * (r - lum), lum + s * (g - lum), lum + s * (b - lum)


@scalar
def _saturate_vjp(s, g0, g1, g2, r, g, b):
    """:func:`_saturate`'s cotangents ``(r_bar, g_bar, b_bar, s_bar)`` for ``(g0, g1, g2)``."""
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    gsum = (1.0 - s) * (g0 + g1 + g2)
    return (s * g0 + 0.2126 * gsum, s * g1 + 0.7152 * gsum, s * g2 + 0.0722 * gsum,
            g0 * (r - lum) + g1 * (g - lum) + g2 * (b - lum))


@numba.njit(cache=True, parallel=True)
def _saturation_forward(x, s):
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j, 0], out[i, j, 1], out[i, j, 2] = _saturate(s, x[i, j, 0], x[i, j, 1],
                                                                 x[i, j, 2])
    return out


@numba.njit(cache=True, parallel=True)
def _saturation_vjp(g, x, out, s):
    x_bar = np.empty_like(x)
    rows = np.zeros(x.shape[0])
    for i in prange(x.shape[0]):
        acc = 0.0
        for j in range(x.shape[1]):
            x_bar[i, j, 0], x_bar[i, j, 1], x_bar[i, j, 2], t = _saturate_vjp(
                s, g[i, j, 0], g[i, j, 1], g[i, j, 2], x[i, j, 0], x[i, j, 1], x[i, j, 2])
            acc += t
        rows[i] = acc
    return x_bar, rows.sum()


@gpu_kernels
def _saturation_cuda():
    saturate, saturate_vjp, reduce = device(_saturate), device(_saturate_vjp), block_add()

    @cuda.jit
    def forward(x, s, out):
        for i in range(cuda.grid(1), x.size // 3, cuda.gridsize(1)):
            q = 3 * i
            out[q], out[q + 1], out[q + 2] = saturate(s, x[q], x[q + 1], x[q + 2])

    @cuda.jit
    def vjp(g, x, s, x_bar, bars):
        part = cuda.shared.array((THREADS, 1), F64)
        acc = 0.0
        for i in range(cuda.grid(1), x.size // 3, cuda.gridsize(1)):
            q = 3 * i
            x_bar[q], x_bar[q + 1], x_bar[q + 2], t = saturate_vjp(
                s, g[q], g[q + 1], g[q + 2], x[q], x[q + 1], x[q + 2])
            acc += t
        part[cuda.threadIdx.x, 0] = acc
        reduce(part, bars)

    return forward, vjp


def _saturation_forward_cuda(x, s):
    out = array_module(x).empty_like(x)
    launch(_saturation_cuda()[0], x.size // 3, x.reshape(-1), s, out.reshape(-1))
    return out


def _saturation_vjp_cuda(g, x, out, s):
    xp = array_module(x)
    x_bar, bars = xp.empty_like(x), xp.zeros(1)
    launch(_saturation_cuda()[1], x.size // 3, g.reshape(-1), x.reshape(-1), s,
           x_bar.reshape(-1), bars, reduce=True)
    return x_bar, float(bars[0])


def _check_saturation(x, s):
    check_rgb(x, "saturation")
    check_scalar(s, "saturation", "s")


saturation = Stage("saturation", {"s": 1.0}, _saturation,
                   _check_saturation).numba(_saturation_forward, _saturation_vjp).cuda(
                       _saturation_forward_cuda, _saturation_vjp_cuda)


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


@scalar
def _gamma_value(v, p, knee, slope, a, b, zero):
    """The encoded value of ``v`` (the constants: :func:`_gamma_numbers`)."""
    v = max(v, zero)
    if v <= knee:
        return slope * v
    return a * v**p - b  # v > the knee: the reference's floor under the power is inactive


@scalar
def _gamma_vjp_value(c, v, o, p, knee, slope, a, b, zero, ds_dg):
    """``(v_bar, share)`` for the cotangent ``c`` of the value ``o`` of ``v``: ``share`` is
    ``v``'s term of ``sum(c * 1.055 v ** p * log v)`` (``g``'s cotangent, times ``-g²``)."""
    if not zero <= v:  # clamped (or NaN): no gradient
        return zero, zero
    if v <= knee:
        return c * slope, c * v * ds_dg
    power = o + b  # 1.055 v ** p
    return c * p * power / v, c * power * math.log(v)


@numba.njit(cache=True, parallel=True)
def _gamma_forward_kernel(x, numbers):
    p, knee, slope, a, b, zero, _ = numbers
    out = np.empty_like(x)
    for i in prange(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = _gamma_value(x[i, j], p, knee, slope, a, b, zero)
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
            x_bar[i, j], share = _gamma_vjp_value(c[i, j], x[i, j], out[i, j], p, knee, slope,
                                                  a, b, zero, ds_dg)
            acc += share
        rows[i] = acc
    return x_bar, rows.sum()


@gpu_kernels
def _gamma_cuda():
    value, vjp_value, reduce = device(_gamma_value), device(_gamma_vjp_value), block_add()

    @cuda.jit
    def forward(x, n, out):
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            out[i] = value(x[i], n[0], n[1], n[2], n[3], n[4], n[5])

    @cuda.jit
    def vjp(c, x, out, n, x_bar, bars):
        part = cuda.shared.array((THREADS, 1), F64)
        acc = 0.0
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            x_bar[i], share = vjp_value(c[i], x[i], out[i], n[0], n[1], n[2], n[3], n[4], n[5],
                                        n[6])
            acc += share
        part[cuda.threadIdx.x, 0] = acc
        reduce(part, bars)

    return forward, vjp


def _gamma_vjp_cuda_kernel(c, x, out, numbers):
    xp = array_module(x)
    x_bar, bars = xp.empty_like(x), xp.zeros(1)
    launch(_gamma_cuda()[1], x.size, c.reshape(-1), x.reshape(-1), out.reshape(-1),
           xp.asarray(numbers), x_bar.reshape(-1), bars, reduce=True)
    return x_bar, float(bars[0])


def _gamma_kernels(forward_kernel, vjp_kernel):
    """gamma's kernels on those taking its constants (the Numba or the CUDA pair)."""

    def forward(x, g):
        return forward_kernel(x, _gamma_numbers(x.dtype, g))

    def vjp(c, x, out, g):
        x_bar, s = vjp_kernel(c, x, out, _gamma_numbers(x.dtype, g))
        return x_bar, -s / (g * g)  # d(x ** (1 / g))/dg = -x ** (1 / g) log(x) / g**2

    return forward, vjp


def _gamma_forward_cuda_kernel(x, numbers):
    xp = array_module(x)
    out = xp.empty_like(x)
    launch(_gamma_cuda()[0], x.size, x.reshape(-1), xp.asarray(numbers), out.reshape(-1))
    return out


def _check_gamma(x, g):
    check_image(x, "gamma")
    check_scalar(g, "gamma", "g")
    check_positive(g, "gamma", "g")


GAMMA_MIN = 0.1  # the least exponent fit tries (the stage takes any g > 0)
gamma = Stage("gamma", {"g": 2.4}, _gamma, _check_gamma, bounds={"g": (GAMMA_MIN, np.inf)}).numba(
    *_on_rows(*_gamma_kernels(_gamma_forward_kernel, _gamma_vjp_kernel))).cuda(
    *_gamma_kernels(_gamma_forward_cuda_kernel, _gamma_vjp_cuda_kernel))


__all__ = ["white_balance", "normalize", "exposure", "color_matrix", "normalize_rows",
           "white_preserving_matrix", "tone_curve", "tone_curve_values", "tone_slopes_from_srgb",
           "srgb_slopes", "saturation", "gamma", "srgb_to_linear"]
