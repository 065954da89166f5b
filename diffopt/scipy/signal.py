"""Differentiable ``scipy.signal`` convolutions: ``convolve``, ``correlate``, ``fftconvolve`` and
``convolve2d``, N-dimensional as SciPy's, real or complex, differentiable in both inputs.

``convolve`` is one primitive (SciPy's values, every ``method``); it is bilinear, so its JVP is two
convolutions of the same mode and its VJP two 'valid' convolutions of the output cotangent (laid
into the full output's shape) with the other input reversed: rules written with the primitive
itself, so every order follows. ``correlate`` is the convolution with the reversed conjugate,
``convolve2d`` pads (``fill``, ``wrap``, ``symm``) and convolves, and ``fftconvolve`` is written
with ``diffopt.numpy.fft`` (which gives it ``axes`` with broadcasting over the other axes).

>>> import diffopt
>>> diffopt.grad(lambda k: convolve(np.array([1.0, 2.0, 3.0]), k, "valid")[0])(np.ones(2))
array([2., 1.])
"""

from __future__ import annotations

import numpy as np
import scipy.fft as _sp_fft
import scipy.signal as _ss

from ..core import vspace
from ..core.axes import normalize_axes
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from ..numpy import fft as _fft
from ..numpy.backend import as_array
from ..numpy.elementwise import conj
from ..numpy.shape import flip, pad

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")


def _shape(x) -> tuple:
    return vspace.shape_of(x)


def _traced(*xs) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError("acceptable mode flags are 'valid', 'same', or 'full'.")


def _inputs(in1, in2, mode: str):
    """Both inputs as arrays of one dimensionality, and the mode checked."""
    _check_mode(mode)
    in1, in2 = as_array(in1), as_array(in2)
    if len(_shape(in1)) != len(_shape(in2)):
        raise ValueError("in1 and in2 should have the same dimensionality")
    return in1, in2


def _centered(x, shape, axes):
    """The centre of ``x`` of the given sizes along ``axes`` (SciPy's ``_centered``)."""
    index = [slice(None)] * len(_shape(x))
    for ax, n in zip(axes, shape, strict=True):
        start = (_shape(x)[ax] - n) // 2
        index[ax] = slice(start, start + n)
    return x[tuple(index)]


def _in_full(g, s1, s2):
    """A cotangent of a centred part of the full convolution, laid into the full shape."""
    width = []
    for n, a, b in zip(_shape(g), s1, s2, strict=True):
        start = (a + b - 1 - n) // 2
        width.append((start, a + b - 1 - n - start))
    return pad(g, width)


def _convolve_vjp(g, ans, args, params, which):
    # out = centred part of full, full[n] = sum_m in1[m] in2[n - m]: the transpose in in1 is
    # m -> sum_n G[n] in2[n - m], a 'valid' convolution of G with in2 reversed (and so for in2).
    full = _in_full(g, _shape(args[0]), _shape(args[1]))
    return [_convolve.bind(full, flip(args[1 - i]), mode="valid", method=params["method"])
            for i in which]


_convolve = Primitive(
    "signal_convolve", lambda in1, in2, mode, method: _ss.convolve(in1, in2, mode, method))
_convolve.defjvp(lambda t, ans, in1, in2, **p: _convolve.bind(t, in2, **p),
                 lambda t, ans, in1, in2, **p: _convolve.bind(in1, t, **p))
_convolve.defvjp_all(_convolve_vjp)


def convolve(in1, in2, mode: str = "full", method: str = "auto"):
    """Differentiable ``scipy.signal.convolve`` (N-d; ``mode`` 'full', 'same', 'valid';
    ``method`` 'auto', 'direct', 'fft'), in both inputs.

    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    if method not in _METHODS:
        raise ValueError("Acceptable method flags are 'auto', 'direct', or 'fft'.")
    in1, in2 = _inputs(in1, in2, mode)
    if not _traced(in1, in2):
        return _ss.convolve(in1, in2, mode, method)
    if not _shape(in1):
        return in1 * in2
    return _convolve.bind(in1, in2, mode=mode, method=method)


def _reverse_conj(x):
    x = flip(x)
    return conj(x) if vspace.is_complex(x) else x


def correlate(in1, in2, mode: str = "full", method: str = "auto"):
    """Differentiable ``scipy.signal.correlate``: ``z[k] = sum_l in1[l] conj(in2[l - k])``, the
    convolution with ``in2`` reversed and conjugated (N-d, every mode and method).

    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    if method not in _METHODS:
        raise ValueError("Acceptable method flags are 'auto', 'direct', or 'fft'.")
    in1, in2 = _inputs(in1, in2, mode)
    if not _traced(in1, in2):
        return _ss.correlate(in1, in2, mode, method)
    return convolve(in1, _reverse_conj(in2), mode, method)


def fftconvolve(in1, in2, mode: str = "full", axes=None):
    """Differentiable ``scipy.signal.fftconvolve``: the convolution over ``axes`` (all by default)
    by FFTs, broadcast over the other axes, through ``diffopt.numpy.fft``.

    >>> fftconvolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), "same")
    array([1. , 2.5, 4. ])
    """
    in1, in2 = _inputs(in1, in2, mode)
    if not _traced(in1, in2):
        return _ss.fftconvolve(in1, in2, mode, axes)
    s1, s2 = _shape(in1), _shape(in2)
    nd = len(s1)
    if nd == 0:
        return in1 * in2
    if 0 in s1 or 0 in s2:
        return _ss.fftconvolve(concrete(in1), concrete(in2), mode, axes)
    axes = list(range(nd)) if axes is None else sorted(set(normalize_axes(axes, nd)))
    for ax in set(range(nd)) - set(axes):
        if s1[ax] != s2[ax] and 1 not in (s1[ax], s2[ax]):
            raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2}")
    if mode == "valid" and not all(s1[a] >= s2[a] for a in axes):
        if not all(s2[a] >= s1[a] for a in axes):
            raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                             "every dimension")
        in1, in2, s1, s2 = in2, in1, s2, s1
    full = [s1[a] + s2[a] - 1 for a in axes]
    real = not (vspace.is_complex(in1) or vspace.is_complex(in2))
    fshape = [_sp_fft.next_fast_len(n, real) for n in full]
    if real:
        product = _fft.rfftn(in1, fshape, axes) * _fft.rfftn(in2, fshape, axes)
        out = _fft.irfftn(product, fshape, axes)
    else:
        out = _fft.ifftn(_fft.fftn(in1, fshape, axes) * _fft.fftn(in2, fshape, axes), None, axes)
    out = _centered(out, full, axes)
    if mode == "full":
        return out
    if mode == "same":
        return _centered(out, [s1[a] for a in axes], axes)
    return _centered(out, [s1[a] - s2[a] + 1 for a in axes], axes)


_BOUNDARIES = {"fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap",
               "symm": "symmetric", "symmetric": "symmetric"}


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue=0):
    """Differentiable ``scipy.signal.convolve2d``: the 2-D convolution with ``boundary`` 'fill'
    (with ``fillvalue``, differentiable too), 'wrap' or 'symm', in both inputs.

    >>> convolve2d(np.eye(2), np.ones((2, 2)), "same", boundary="wrap")
    array([[2., 2.],
           [2., 2.]])
    """
    in1, in2 = _inputs(in1, in2, mode)
    if boundary not in _BOUNDARIES:
        raise ValueError("Acceptable boundary flags are 'fill', 'circular' (or 'wrap'), and "
                         "'symmetric' (or 'symm').")
    if len(_shape(in1)) != 2:
        raise ValueError("convolve2d inputs must both be 2-D arrays")
    if np.ndim(concrete(fillvalue)) != 0:
        raise ValueError("fillvalue must be scalar or an array with one element.")
    if not _traced(in1, in2, fillvalue):
        return _ss.convolve2d(in1, in2, mode, boundary, fillvalue)
    if mode == "valid":
        return _convolve.bind(in1, in2, mode="valid", method="direct")
    width = [(k - 1, k - 1) for k in _shape(in2)]
    pad_mode = _BOUNDARIES[boundary]
    extra = {"constant_values": fillvalue} if pad_mode == "constant" else {}
    full = _convolve.bind(pad(in1, width, pad_mode, **extra), in2, mode="valid", method="direct")
    return full if mode == "full" else _centered(full, _shape(in1), (0, 1))


__all__ = ["convolve", "correlate", "fftconvolve", "convolve2d"]
