"""``diffopt.numpy.fft``: differentiable discrete Fourier transforms, with NumPy's signatures.

Three primitives carry every transform, on whole axes (the ``n``/``s`` padding and cropping are
``pad`` and slicing around them, so their derivatives come from those):

- ``c2c`` (``fftn``/``ifftn`` over some axes): linear, and its matrix is symmetric, so with this
  library's pairing ``<u, v> = Re sum(u * v)`` its transpose, the VJP, is the same transform;
- ``r2c`` (``rfft`` on one axis: the first ``n // 2 + 1`` bins of a real signal's spectrum) and
  ``c2r`` (``irfft``: a half spectrum to a real signal of length ``n``) are each other's
  transposes, up to ``conj`` and the Hermitian weights ``w`` (1 for the bins 0 and, for even
  ``n``, ``n / 2``; 2 for the others, which stand for a bin and its mirror). ``c2r`` reads only the
  real part of those one or two self-mirrored bins, as NumPy does, and its cotangent there is real.

The norm of the transpose is the swapped one (``"backward"`` <-> ``"forward"``): the forward
scale of one is the inverse scale of the other. Every rule is written with these primitives, so
derivatives of every order exist, and each primitive batches under ``vmap`` by shifting its axes.
``hfft``/``ihfft`` are ``c2r``/``r2c`` around ``conj`` with the swapped norm (as NumPy defines
them), ``fftshift``/``ifftshift`` are ``roll``, and ``fftfreq``/``rfftfreq`` are constants times
``1 / (n * d)``, differentiable in a traced spacing ``d``.
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes, normalize_axis
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .elementwise import conj, real
from .indexing import getitem
from .reductions import _no_out
from .shape import pad, roll

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _shape(x) -> tuple:
    return vspace.shape_of(x)


# --- the primitives ------------------------------------------------------------------------------
def _c2c_impl(x, axes, forward, norm):
    fn = array_module(x).fft.fftn if forward else array_module(x).fft.ifftn
    return fn(x, axes=axes, norm=norm)


def _weights(n: int, axis: int, like):
    """The Hermitian weights of a half spectrum of length ``n // 2 + 1``, shaped to broadcast along
    ``axis`` of ``like`` (a constant of ``like``'s real precision)."""
    xp = array_module(concrete(like))
    w = xp.full(n // 2 + 1, 2.0, dtype=np.finfo(like.dtype).dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.reshape((-1,) + (1,) * (len(_shape(like)) - 1 - axis))


def _r2c_vjp(g, ans, x, axis, norm):
    n = _shape(x)[axis]
    return _c2r.bind(conj(g) * (1.0 / _weights(n, axis, g)), axis=axis, n=n, norm=_SWAP[norm])


def _c2r_vjp(g, ans, x, axis, n, norm):
    if vspace.is_complex(g):  # the output is real: only Re g pairs with it
        g = real(g)
    return _weights(n, axis, g) * conj(_r2c.bind(g, axis=axis, norm=_SWAP[norm]))


def _shift_axes(trace, prim, vals, batched, params):
    """Batch rule: the batch axis leads, so every transformed axis moves one place on."""
    p = dict(params)
    if "axes" in p:
        p["axes"] = tuple(a + 1 for a in p["axes"])
    else:
        p["axis"] += 1
    return prim.bind(vals[0], **p)


_c2c = Primitive("c2c", _c2c_impl)
_c2c.defjvp(lambda t, ans, x, **p: _c2c.bind(t, **p))
_c2c.defvjp(lambda g, ans, x, **p: _c2c.bind(g, **p))
_c2c.defbatch(_shift_axes)

_r2c = Primitive("r2c", lambda x, axis, norm: array_module(x).fft.rfft(x, axis=axis, norm=norm))
_r2c.defjvp(lambda t, ans, x, **p: _r2c.bind(t, **p))
_r2c.defvjp(_r2c_vjp)
_r2c.defbatch(_shift_axes)

_c2r = Primitive("c2r", lambda x, axis, n, norm: array_module(x).fft.irfft(x, n, axis, norm))
_c2r.defjvp(lambda t, ans, x, **p: _c2r.bind(t, **p))
_c2r.defvjp(_c2r_vjp)
_c2r.defbatch(_shift_axes)


# --- argument checks -----------------------------------------------------------------------------
def _check_norm(norm) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm!r}; should be "backward", "ortho" or "forward"')
    return norm


def _length(n, name: str) -> int:
    """A transform length: an integer of at least 1 (it decides the output's shape)."""
    if isinstance(n, (bool, Tracer)):
        raise TypeError(f"fft.{name}: the length must be a plain integer, not {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"fft.{name}: the length must be an integer, not {n!r}") from None
    if n < 1:
        raise ValueError(f"fft.{name}: Invalid number of FFT data points ({n}) specified; the "
                         "length must be at least 1")
    return n


def _prepare(a, out, name: str, complex_instead: str | None = None):
    """``a`` as an array; ``complex_instead`` names the transform to use for a complex ``a`` where
    this one takes real input only."""
    _no_out(out, f"fft.{name}")
    a = as_array(a)
    if complex_instead is not None and vspace.is_complex(a):
        raise TypeError(f"fft.{name}: the input must be real (it is {a.dtype}); use "
                        f"fft.{complex_instead} for complex signals, or pass the real part")
    return a


def _resize(a, axis: int, n: int):
    """``a`` cropped or zero-padded to length ``n`` along ``axis``, as NumPy's transforms do."""
    m = _shape(a)[axis]
    if m > n:
        return getitem(a, (slice(None),) * axis + (slice(0, n),))
    if m < n:
        return pad(a, [(0, n - m if i == axis else 0) for i in range(len(_shape(a)))])
    return a


def _cook(a, s, axes, name: str, inverse_real: bool = False) -> list:
    """NumPy's n-D arguments: the (axis, length) pairs to transform, in the order given.

    Without ``axes``, the last ``len(s)`` axes (all, without ``s``); a length of -1 or None keeps
    the input's (for ``irfftn``'s last axis None means ``2 * (m - 1)``, as without ``s``).
    """
    shape = _shape(a)
    if s is not None and (isinstance(s, Tracer) or np.ndim(s) != 1):
        raise TypeError(f"fft.{name}: s must be a sequence of integers, not {s!r}")
    if axes is None:
        axes = range(-len(s), 0) if s is not None else range(len(shape))
    axes = list(normalize_axes(axes, len(shape), duplicates=None))
    if s is None:
        s = [None] * len(axes)
    s = list(s)
    if len(s) != len(axes):
        raise ValueError(f"fft.{name}: Shape and axes have different lengths ({len(s)} and "
                         f"{len(axes)})")
    lengths = [shape[ax] if n is None or (not isinstance(n, Tracer) and n == -1) else n
               for n, ax in zip(s, axes)]
    if inverse_real and axes and s[-1] is None:
        lengths[-1] = 2 * (shape[axes[-1]] - 1)
    return [(ax, _length(n, name)) for ax, n in zip(axes, lengths)]


def _axis(a, axis, n, name: str, inverse_real: bool = False) -> tuple[int, int]:
    """One-axis arguments: the axis in ``[0, ndim)`` and the transform length."""
    axis = normalize_axis(axis, len(_shape(a)))
    if n is None:
        n = _shape(a)[axis]
        n = 2 * (n - 1) if inverse_real else n
    return axis, _length(n, name)


# --- the transforms, on (axis, length) pairs -----------------------------------------------------
def _complex(a, pairs, forward: bool, norm: str):
    """``fftn``/``ifftn`` over ``pairs``: one transform when the axes differ, else one per pair in
    the order given (NumPy crops or pads a repeated axis before each of its transforms)."""
    if not pairs:
        return a
    if len({ax for ax, _ in pairs}) < len(pairs):
        for pair in pairs:
            a = _complex(a, [pair], forward, norm)
        return a
    for ax, n in pairs:
        a = _resize(a, ax, n)
    return _c2c.bind(a, axes=tuple(ax for ax, _ in pairs), forward=forward, norm=norm)


def _forward_real(a, pairs, norm: str):
    """``rfftn``: ``rfft`` on the last pair's axis, then ``fft`` on the others."""
    ax, n = pairs[-1]
    a = _r2c.bind(_resize(a, ax, n), axis=ax, norm=norm)
    return _complex(a, pairs[-2::-1], True, norm)


def _inverse_real(a, pairs, norm: str):
    """``irfftn``: ``ifft`` on all but the last pair's axis, then ``irfft`` on that one."""
    a = _complex(a, pairs[:-1], False, norm)
    ax, n = pairs[-1]
    return _c2r.bind(_resize(a, ax, n // 2 + 1), axis=ax, n=n, norm=norm)


# --- one axis ------------------------------------------------------------------------------------
def fft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.fft``: the discrete Fourier transform along ``axis`` (cropped or
    zero-padded to ``n`` points).

    >>> fft(np.array([1.0, 2.0, 3.0, 4.0]))
    array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
    """
    a = _prepare(a, out, "fft")
    return _complex(a, [_axis(a, axis, n, "fft")], True, _check_norm(norm))


def ifft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.ifft``: the inverse of ``fft``.

    >>> ifft(np.array([10.0, -2 + 2j, -2.0, -2 - 2j]))
    array([1.+0.j, 2.+0.j, 3.+0.j, 4.+0.j])
    """
    a = _prepare(a, out, "ifft")
    return _complex(a, [_axis(a, axis, n, "ifft")], False, _check_norm(norm))


def rfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.rfft``: the ``n // 2 + 1`` non-negative frequency bins of a real
    signal's transform.

    >>> rfft(np.array([1.0, 2.0, 3.0, 4.0]))
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    a = _prepare(a, out, "rfft", "fft")
    return _forward_real(a, [_axis(a, axis, n, "rfft")], _check_norm(norm))


def irfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.irfft``: the real signal of length ``n`` (default
    ``2 * (m - 1)``) whose ``rfft`` is ``a``.

    >>> irfft(np.array([10.0, -2 + 2j, -2.0]))
    array([1., 2., 3., 4.])
    """
    a = _prepare(a, out, "irfft")
    return _inverse_real(a, [_axis(a, axis, n, "irfft", inverse_real=True)], _check_norm(norm))


def hfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.hfft``: the real spectrum, of length ``n`` (default
    ``2 * (m - 1)``), of a signal with Hermitian symmetry given by its first half ``a``.

    >>> hfft(np.array([1.0, 2.0, 3.0]))
    array([ 8., -2.,  0., -2.])
    """
    a = _prepare(a, out, "hfft")
    pair = _axis(a, axis, n, "hfft", inverse_real=True)
    return _inverse_real(conj(a), [pair], _SWAP[_check_norm(norm)])


def ihfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.ihfft``: the inverse of ``hfft``, the ``n // 2 + 1`` first
    values of the (Hermitian) inverse transform of a real spectrum.

    >>> ihfft(np.array([8.0, -2.0, 0.0, -2.0]))
    array([1.-0.j, 2.-0.j, 3.-0.j])
    """
    a = _prepare(a, out, "ihfft", "ifft")
    pair = _axis(a, axis, n, "ihfft")
    return conj(_forward_real(a, [pair], _SWAP[_check_norm(norm)]))


# --- several axes --------------------------------------------------------------------------------
def fftn(a, s=None, axes=None, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.fftn``: ``fft`` over ``axes`` (all by default), each cropped or
    padded to the matching length in ``s``.

    >>> fftn(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[10.+0.j, -2.+0.j],
           [-4.+0.j,  0.+0.j]])
    """
    a = _prepare(a, out, "fftn")
    pairs = _cook(a, s, axes, "fftn")
    return _complex(a, pairs[::-1], True, _check_norm(norm))


def ifftn(a, s=None, axes=None, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.ifftn``: the inverse of ``fftn``.

    >>> ifftn(np.array([[10.0, -2.0], [-4.0, 0.0]]))
    array([[1.+0.j, 2.+0.j],
           [3.+0.j, 4.+0.j]])
    """
    a = _prepare(a, out, "ifftn")
    pairs = _cook(a, s, axes, "ifftn")
    return _complex(a, pairs[::-1], False, _check_norm(norm))


def rfftn(a, s=None, axes=None, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.rfftn``: ``rfft`` over the last of ``axes``, ``fft`` over the
    others.

    >>> rfftn(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([[10.+0.j, -2.+0.j],
           [-4.+0.j,  0.+0.j]])
    """
    a = _prepare(a, out, "rfftn", "fftn")
    pairs = _cook(a, s, axes, "rfftn")
    if not pairs:
        raise ValueError("fft.rfftn: at least one axis must be transformed (axes is empty)")
    return _forward_real(a, pairs, _check_norm(norm))


def irfftn(a, s=None, axes=None, norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.irfftn``: the inverse of ``rfftn`` (the last of ``axes`` gets
    length ``s[-1]``, by default ``2 * (m - 1)``).

    >>> irfftn(np.array([[10.0, -2.0], [-4.0, 0.0]]))
    array([[1., 2.],
           [3., 4.]])
    """
    a = _prepare(a, out, "irfftn")
    pairs = _cook(a, s, axes, "irfftn", inverse_real=True)
    if not pairs:
        raise ValueError("fft.irfftn: at least one axis must be transformed (axes is empty)")
    return _inverse_real(a, pairs, _check_norm(norm))


def fft2(a, s=None, axes=(-2, -1), norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.fft2``: ``fftn`` over the last two axes.

    >>> fft2(np.array([[1.0, 2.0], [3.0, 4.0]])).real
    array([[10., -2.],
           [-4.,  0.]])
    """
    return fftn(a, s, axes, norm, out)


def ifft2(a, s=None, axes=(-2, -1), norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.ifft2``: ``ifftn`` over the last two axes.

    >>> ifft2(np.array([[10.0, -2.0], [-4.0, 0.0]])).real
    array([[1., 2.],
           [3., 4.]])
    """
    return ifftn(a, s, axes, norm, out)


def rfft2(a, s=None, axes=(-2, -1), norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.rfft2``: ``rfftn`` over the last two axes.

    >>> rfft2(np.array([[1.0, 2.0], [3.0, 4.0]])).shape
    (2, 2)
    """
    return rfftn(a, s, axes, norm, out)


def irfft2(a, s=None, axes=(-2, -1), norm: str | None = None, out=None):
    """Differentiable ``numpy.fft.irfft2``: ``irfftn`` over the last two axes.

    >>> irfft2(np.array([[10.0, -2.0], [-4.0, 0.0]]))
    array([[1., 2.],
           [3., 4.]])
    """
    return irfftn(a, s, axes, norm, out)


# --- shifts and frequencies ----------------------------------------------------------------------
def _shift(x, axes, sign: int):
    x = as_array(x)
    shape = _shape(x)
    axes = range(len(shape)) if axes is None else axes
    axes = normalize_axes(axes, len(shape), duplicates=None)
    return roll(x, [sign * (shape[ax] // 2) for ax in axes], axes) if axes else x


def fftshift(x, axes=None):
    """Differentiable ``numpy.fft.fftshift``: the zero frequency moved to the centre of ``axes``
    (all by default); a cyclic shift, so its derivative is the same shift.

    >>> fftshift(np.array([0.0, 1.0, 2.0, -2.0, -1.0]))
    array([-2., -1.,  0.,  1.,  2.])
    """
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """Differentiable ``numpy.fft.ifftshift``: the inverse of ``fftshift``.

    >>> ifftshift(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    array([ 0.,  1.,  2., -2., -1.])
    """
    return _shift(x, axes, -1)


def _frequencies(n, d, device, name: str, integers):
    """``integers(n) * (1 / (n * d))`` as NumPy computes it; a traced ``d`` gives a traced result
    (the frequencies are differentiable in the spacing), a plain one NumPy's own array."""
    if isinstance(n, (bool, Tracer)):
        raise TypeError(f"fft.{name}: n must be a plain integer, not {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"fft.{name}: n must be an integer, not {n!r}") from None
    if n < 1:
        raise ValueError(f"fft.{name}: n must be at least 1, not {n}")
    if not isinstance(d, Tracer):
        fn = getattr(np.fft, name)
        return fn(n, d) if device is None else fn(n, d, device=device)
    return integers(n) * (1.0 / (n * d))


def fftfreq(n: int, d=1.0, device=None):
    """``numpy.fft.fftfreq``: the sample frequencies of an ``n``-point ``fft`` for spacing ``d``
    (differentiable in ``d``).

    >>> fftfreq(4, d=0.5)
    array([ 0. ,  0.5, -1. , -0.5])
    """
    return _frequencies(n, d, device, "fftfreq",
                        lambda m: np.fft.ifftshift(np.arange(-(m // 2), m - m // 2)))


def rfftfreq(n: int, d=1.0, device=None):
    """``numpy.fft.rfftfreq``: the sample frequencies of an ``n``-point ``rfft`` for spacing ``d``
    (differentiable in ``d``).

    >>> rfftfreq(4, d=0.5)
    array([0. , 0.5, 1. ])
    """
    return _frequencies(n, d, device, "rfftfreq", lambda m: np.arange(m // 2 + 1))


__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]
