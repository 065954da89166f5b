"""Set routines: unique (and the array-API unique_all, unique_counts, unique_inverse,
unique_values), intersect1d, union1d, setdiff1d, setxor1d, isin.

Every result is NumPy's, computed on the plain values. The integer and boolean results (indices,
inverses, counts, ``isin``) carry no derivative. The *values* are differentiable: each one is a
gather of the input at the **first occurrence** of that value (JAX's convention too), so a
cotangent flows to the first of several equal elements only (the first with NumPy's bits, where
equal values differ in them: 0.0 and -0.0, complex NaNs); ``intersect1d`` takes its values
from ``ar1`` (from ``ar2`` when only ``ar2`` is traced), ``setdiff1d`` from ``ar1``. The shapes of
these results depend on the data, so they work under ``grad``/``jvp`` but not under ``vmap`` or
``jit`` (a clear error says so); ``isin`` works everywhere.
"""

from __future__ import annotations

import numpy as np

from ..core.primitive import Primitive
from ..core.trace import Tracer
from .backend import as_array
from .elementwise import astype
from .indexing import getitem, take
from .shape import _has_tracer, concatenate, ravel
from .sorting import concrete_static, matching_permutation

# NumPy's own named tuples, whatever module NumPy keeps them in
UniqueAllResult = type(np.unique_all(np.zeros(1)))
UniqueCountsResult = type(np.unique_counts(np.zeros(1)))
UniqueInverseResult = type(np.unique_inverse(np.zeros(1)))


def _traced(*xs) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _same(a, b):
    """Elementwise: equal, with the same sign of zero, or both NaN (per part, for complex)."""
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        return _same(np.real(a), np.real(b)) & _same(np.imag(a), np.imag(b))
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))
    return a == b


def _exact(flat, values, index):
    """``index`` with each entry whose element differs from NumPy's value in its bits (0.0 for
    -0.0, one complex NaN for another) moved to the first element that matches exactly."""
    for i in np.flatnonzero(~_same(flat[index], values)):
        hits = np.flatnonzero(_same(flat, values[i]))
        if hits.size:
            index[i] = hits[0]
    return index


def _gather_first(arrays, values):
    """NumPy's result ``values`` as a differentiable gather of the flattened, concatenated
    ``arrays`` at the first occurrence of each value, in ``values``' dtype."""
    src = ravel(arrays[0]) if len(arrays) == 1 else concatenate([ravel(a) for a in arrays])
    x = concrete_static(src, "set routines")
    first_values, first_index = np.unique(x, return_index=True)
    index = _exact(x, values, first_index[np.searchsorted(first_values, values)])
    out = take(src, index)
    return out if out.dtype == values.dtype else astype(out, values.dtype)


def _first_index(x, values, axis, equal_nan):
    """For ``values`` from ``np.unique(x, axis=axis, ...)``: the index of each one's first
    occurrence in ``x`` (flattened, or along ``axis``)."""
    first_values, first_index = np.unique(x, return_index=True, axis=axis, equal_nan=equal_nan)
    if not np.array_equal(first_values, values, equal_nan=values.dtype.kind in "fc"):
        if axis is not None or first_values.shape != values.shape:  # pragma: no cover
            raise NotImplementedError("unique: sorted=False on traced values, with axis= or "
                                      "with NaNs that NumPy's hash table counts differently")
        # sorted=False (NumPy's hash table order): the same values, rearranged
        first_index = first_index[matching_permutation(first_values, values, 0)]
    if axis is not None:
        return first_index
    return _exact(np.ravel(x), values, first_index)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True):  # noqa: A002 - NumPy's name
    """``numpy.unique``, differentiable in the values (each one a gather of its first occurrence;
    indices, inverse and counts carry no derivative).

    >>> unique(np.array([3.0, 1.0, 3.0]), return_counts=True)
    (array([1., 3.]), array([1, 2]))
    """
    ar = as_array(ar)
    x = concrete_static(ar, "unique")
    res = np.unique(x, return_index, return_inverse, return_counts, axis=axis,
                    equal_nan=equal_nan, sorted=sorted)
    if not isinstance(ar, Tracer):
        return res
    parts = list(res) if isinstance(res, tuple) else [res]
    index = parts[1] if return_index else _first_index(x, parts[0], axis, equal_nan)
    parts[0] = take(ravel(ar), index) if axis is None else take(ar, index, axis=axis)
    return tuple(parts) if len(parts) > 1 else parts[0]


def unique_all(x):
    """``numpy.unique_all``: (values, indices, inverse_indices, counts); values differentiable.

    >>> unique_all(np.array([1.0, 1.0, 2.0])).counts
    array([2, 1])
    """
    return UniqueAllResult(*unique(x, True, True, True, equal_nan=False))


def unique_counts(x):
    """``numpy.unique_counts``: (values, counts); values differentiable.

    >>> unique_counts(np.array([1.0, 1.0, 2.0])).values
    array([1., 2.])
    """
    return UniqueCountsResult(*unique(x, return_counts=True, equal_nan=False))


def unique_inverse(x):
    """``numpy.unique_inverse``: (values, inverse_indices); values differentiable.

    >>> unique_inverse(np.array([2.0, 1.0, 2.0])).inverse_indices
    array([1, 0, 1])
    """
    return UniqueInverseResult(*unique(x, return_inverse=True, equal_nan=False))


def unique_values(x):
    """``numpy.unique_values`` (NumPy's order, which need not be sorted); differentiable.

    >>> sorted(unique_values(np.array([2.0, 1.0, 2.0])).tolist())
    [1.0, 2.0]
    """
    return unique(x, equal_nan=False, sorted=False)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """``numpy.intersect1d``, differentiable in the values (taken from ``ar1``, or from ``ar2``
    when only it is traced); the indices carry no derivative.

    >>> intersect1d(np.array([1.0, 3.0, 4.0]), np.array([3.0, 1.0, 2.0]))
    array([1., 3.])
    """
    ar1, ar2 = as_array(ar1), as_array(ar2)
    x1, x2 = concrete_static(ar1, "intersect1d"), concrete_static(ar2, "intersect1d")
    res = np.intersect1d(x1, x2, assume_unique, return_indices)
    if not _traced(ar1, ar2):
        return res
    values = _gather_first([ar1 if isinstance(ar1, Tracer) else ar2],
                           res[0] if return_indices else res)
    return (values, *res[1:]) if return_indices else values


def union1d(ar1, ar2):
    """``numpy.union1d``, differentiable (each value from its first occurrence in ``ar1`` then
    ``ar2``).

    >>> union1d(np.array([2.0, 1.0]), np.array([3.0, 1.0]))
    array([1., 2., 3.])
    """
    ar1, ar2 = as_array(ar1), as_array(ar2)
    if not _traced(ar1, ar2):
        return np.union1d(ar1, ar2)
    return unique(concatenate([ravel(ar1), ravel(ar2)]))


def setdiff1d(ar1, ar2, assume_unique=False):
    """``numpy.setdiff1d``, differentiable in ``ar1``'s values.

    >>> setdiff1d(np.array([1.0, 2.0, 3.0, 2.0]), np.array([2.0]))
    array([1., 3.])
    """
    ar1, ar2 = as_array(ar1), as_array(ar2)
    x1, x2 = concrete_static(ar1, "setdiff1d"), concrete_static(ar2, "setdiff1d")
    if not isinstance(ar1, Tracer):
        return np.setdiff1d(x1, x2, assume_unique)
    a1 = ravel(ar1) if assume_unique else unique(ar1)
    b = x2 if assume_unique else np.unique(x2)
    keep = np.isin(concrete_static(a1, "setdiff1d"), b, assume_unique=True, invert=True)
    return getitem(a1, keep)


def setxor1d(ar1, ar2, assume_unique=False):
    """``numpy.setxor1d``, differentiable (each value from the one input that holds it).

    >>> setxor1d(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0]))
    array([1., 3., 4.])
    """
    ar1, ar2 = as_array(ar1), as_array(ar2)
    x1, x2 = concrete_static(ar1, "setxor1d"), concrete_static(ar2, "setxor1d")
    res = np.setxor1d(x1, x2, assume_unique)
    if not _traced(ar1, ar2):
        return res
    return _gather_first([ar1, ar2], res)


def _isin_impl(element, test_elements, assume_unique, invert, kind):
    return np.isin(element, test_elements, assume_unique=assume_unique, invert=invert, kind=kind)


_isin = Primitive("isin", _isin_impl, differentiable=False)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """``numpy.isin`` on plain or traced values (a boolean array shaped like ``element``, no
    derivative; batched under ``vmap``).

    >>> isin(np.array([1.0, 2.0, 3.0]), [2.0, 5.0])
    array([False,  True, False])
    """
    element, test_elements = (as_array(a) if _has_tracer(a) else a
                              for a in (element, test_elements))
    return _isin.bind(element, test_elements, assume_unique=bool(assume_unique),
                      invert=bool(invert), kind=kind)


__all__ = ["unique", "unique_all", "unique_counts", "unique_inverse", "unique_values",
           "intersect1d", "union1d", "setdiff1d", "setxor1d", "isin"]
