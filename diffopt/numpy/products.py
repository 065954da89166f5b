"""Products: ``matmul`` and ``einsum`` are the primitives; the others are built on them.

``matmul`` is the fast path (BLAS) for matrix products; ``tensordot``, ``dot``, ``inner`` and
``vdot`` reduce to it by transposing and reshaping. ``einsum`` covers everything else: its
derivative for operand ``i`` is another ``einsum`` of the output cotangent with the other operands
(plus constant identity matrices where an operand repeats an index, as in ``"ii->i"``). ``outer``
and ``kron`` are broadcast products.
"""

from __future__ import annotations

import functools
import string

import numpy as np

from ..core import vspace
from ..core.axes import normalize_axes
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from .backend import array_module, as_array
from .shape import expand_dims, ravel, reshape, squeeze, swapaxes, transpose


def _nd(x) -> int:
    return len(vspace.shape_of(x))


def _traced(*xs) -> bool:
    """Whether any argument is traced; if none is, composites call NumPy directly (fast path)."""
    return any(isinstance(x, Tracer) for x in xs)


# --- matmul ---------------------------------------------------------------------------------------
def _matmul_vjp_a(g, ans, a, b):
    if _nd(b) == 1:
        if _nd(a) == 1:
            return g * b
        return expand_dims(g, -1) * b  # outer product per batch
    if _nd(a) == 1:
        if _nd(b) == 2:
            return matmul(b, g)  # (k, m) @ (m,): the common vector-matrix case, no reshapes
        return squeeze(matmul(b, expand_dims(g, -1)), -1)
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, ans, a, b):
    if _nd(a) == 1:
        if _nd(b) == 1:
            return g * a
        return expand_dims(a, -1) * expand_dims(g, -2)
    if _nd(b) == 1:
        if _nd(a) == 2:
            return matmul(g, a)  # (n,) @ (n, k): the common matrix-vector case, no reshapes
        return squeeze(matmul(expand_dims(g, -2), a), -2)
    return matmul(swapaxes(a, -1, -2), g)


def _matmul_batch(trace, prim, vals, batched, params):
    a, b = vals
    ba, bb = batched
    an, bn = _nd(a) - ba, _nd(b) - bb
    squeeze_a, squeeze_b = an == 1, bn == 1
    if squeeze_a:
        a, an = expand_dims(a, -2), 2
    if squeeze_b:
        b, bn = expand_dims(b, -1), 2
    r = max(an, bn) - 2  # number of broadcast (stack) dimensions
    size = trace.size
    if ba:
        a = reshape(a, (size,) + (1,) * (r - (an - 2)) + vspace.shape_of(a)[1:])
    if bb:
        b = reshape(b, (size,) + (1,) * (r - (bn - 2)) + vspace.shape_of(b)[1:])
    out = _matmul.bind(a, b)
    if squeeze_a:
        out = squeeze(out, -2)
    if squeeze_b:
        out = squeeze(out, -1)
    return out


_matmul = Primitive("matmul", np.matmul)
_matmul.defjvp(lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t))
_matmul.defvjp(_matmul_vjp_a, _matmul_vjp_b)
_matmul.defbatch(_matmul_batch)


def matmul(a, b):
    """Differentiable ``numpy.matmul`` (the ``@`` operator), with NumPy's 1-D and stacking rules.

    >>> matmul(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return _matmul.bind(as_array(a), as_array(b))  # NumPy itself refuses 0-d operands


# --- einsum ---------------------------------------------------------------------------------------
_LETTERS = string.ascii_letters
_NAIVE_COST = 1 << 14  # above this many index combinations, let NumPy plan a BLAS contraction


def _split_spec(spec: str) -> tuple[list[str], str]:
    lhs, out = spec.split("->")
    return lhs.split(","), out


def _join_spec(ins, out: str) -> str:
    return ",".join(ins) + "->" + out


def _fresh_letters(used) -> iter:
    used = set(used)
    return iter([c for c in _LETTERS if c not in used])


def _take(fresh, n: int) -> str:
    try:
        return "".join(next(fresh) for _ in range(n))
    except StopIteration:
        raise ValueError("einsum: too many distinct indices (at most 52: a-z, A-Z)") from None


def _sublist_to_subscripts(args: tuple) -> tuple[str, list]:
    """NumPy's interleaved form ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` as a string."""

    def letters(sub) -> str:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and 0 <= s < len(_LETTERS):
                out.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum: subscript {s!r} in a sublist must be an int in [0, 52) "
                                 "or Ellipsis")
        return "".join(out)

    has_out = len(args) % 2 == 1
    pairs = args[:len(args) - has_out]
    ops = list(pairs[0::2])
    spec = ",".join(letters(s) for s in pairs[1::2])
    if has_out:
        spec += "->" + letters(args[-1])
    return spec, ops


@functools.lru_cache(maxsize=512)
def _normalize_einsum(subscripts: str, shapes: tuple) -> tuple[str, tuple]:
    """An explicit spec (no ellipsis, no implicit output, no broadcast size-1 axes) for ``shapes``.

    Returns the spec and, per operand, the size-1 axes to squeeze out because they broadcast
    against a larger size elsewhere (the index then simply does not occur in that operand).
    """
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1:
        raise ValueError("einsum: subscripts may contain '->' only once")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: the subscripts name {len(ins)} operands but {len(shapes)} "
                         "were given")
    for s in ins + ([out] if arrow else []):
        rest = s.replace("...", "", 1)
        if any(c not in _LETTERS for c in rest):
            raise ValueError(f"einsum: invalid subscript {s!r}: use letters a-z, A-Z and at most "
                             "one '...'")
    fresh = _fresh_letters(spec)
    n_ell = []
    for s, shape in zip(ins, shapes, strict=True):
        named = len(s.replace("...", ""))
        extra = len(shape) - named
        if extra < 0 or (extra and "..." not in s):
            raise ValueError(f"einsum: operand of shape {shape} does not match subscripts {s!r}")
        n_ell.append(extra)
    ell = _take(fresh, max(n_ell, default=0))
    ins = [s.replace("...", ell[len(ell) - k:]) for s, k in zip(ins, n_ell, strict=True)]
    if arrow:
        if "..." in out:
            out = out.replace("...", ell)
        elif ell:
            raise ValueError("einsum: the output has no '...' but the inputs have ellipsis "
                             "dimensions; add '...' to the output (or sum them out explicitly)")
    else:
        counts = {}
        for c in "".join(ins):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscripts {out!r} repeat an index")
    sizes: dict[str, int] = {}
    for s, shape in zip(ins, shapes, strict=True):
        for c, d in zip(s, shape, strict=True):
            if d != 1 and sizes.get(c, 1) not in (1, d):
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {d}; operands "
                                 "could not be broadcast together")
            sizes[c] = d if d != 1 else sizes.get(c, 1)
    for c in out:
        if c not in sizes:
            raise ValueError(f"einsum: output index {c!r} does not occur in the inputs")
    squeezes, new_ins = [], []
    for s, shape in zip(ins, shapes, strict=True):
        drop = tuple(k for k, (c, d) in enumerate(zip(s, shape, strict=True))
                     if d == 1 and sizes[c] != 1)
        if any(s.count(s[k]) > 1 for k in drop):
            raise ValueError(f"einsum: a repeated index in {s!r} cannot broadcast a size-1 axis")
        squeezes.append(drop)
        new_ins.append("".join(c for k, c in enumerate(s) if k not in drop))
    return _join_spec(new_ins, out), tuple(squeezes)


@functools.lru_cache(maxsize=512)
def _plan_wanted(spec: str, shapes: tuple) -> bool:
    """Whether NumPy should plan the contraction: the naive loop visits every index combination."""
    if len(shapes) < 2:
        return False
    sizes = {}
    for s, shape in zip(_split_spec(spec)[0], shapes, strict=True):
        sizes.update(zip(s, shape, strict=True))
    return float(np.prod(list(sizes.values()), dtype=np.float64)) > _NAIVE_COST


def _einsum_impl(*operands, spec: str, optimize):
    if optimize == "auto":
        optimize = _plan_wanted(spec, tuple(vspace.shape_of(x) for x in operands))
    return np.einsum(spec, *operands, optimize=optimize)


def _einsum_jvp(tangents, ans, operands, params):
    out = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        ops = list(operands)
        ops[i] = t
        term = _einsum.bind(*ops, **params)
        out = term if out is None else out + term
    return out


def _einsum_cotangent(g, operands, i: int, spec: str, optimize):
    """Operand ``i``'s cotangent: ``einsum`` of ``g`` with the other operands.

    Indices that occur only in operand ``i`` (summed there) come back through a vector of ones; an
    index repeated in operand ``i`` (a diagonal) comes back on the diagonal through identity
    matrices, one per repetition.
    """
    ins, out = _split_spec(spec)
    target = ins[i]
    others = [s for j, s in enumerate(ins) if j != i]
    available = set(out).union(*others)
    sizes = {}
    for s, x in zip(ins, operands, strict=True):
        sizes.update(zip(s, vspace.shape_of(x), strict=True))
    fresh = _fresh_letters(spec)
    xp = array_module(concrete(g))
    dtype = g.dtype if hasattr(g, "dtype") else np.result_type(g)
    res, extra_subs, extra_ops = [], [], []
    for c in target:
        if c in res:  # a repeated index: a fresh name tied to c by an identity matrix
            f = _take(fresh, 1)
            res.append(f)
            extra_subs.append(c + f)
            extra_ops.append(xp.eye(sizes[c], dtype=dtype))
            continue
        res.append(c)
        if c not in available and target.count(c) == 1:
            extra_subs.append(c)
            extra_ops.append(xp.ones(sizes[c], dtype=dtype))
    cspec = _join_spec([out, *others, *extra_subs], "".join(res))
    rest = [x for j, x in enumerate(operands) if j != i]
    return _einsum.bind(g, *rest, *extra_ops, spec=cspec, optimize=optimize)


def _einsum_vjp(g, ans, operands, params, which):
    return [_einsum_cotangent(g, operands, i, **params) for i in which]


def _einsum_batch(trace, prim, vals, batched, params):
    ins, out = _split_spec(params["spec"])
    b = _take(_fresh_letters(params["spec"]), 1)
    ins = [b + s if isb else s for s, isb in zip(ins, batched, strict=True)]
    return _einsum.bind(*vals, spec=_join_spec(ins, b + out), optimize=params["optimize"])


_einsum = Primitive("einsum", _einsum_impl)
_einsum.defjvp_all(_einsum_jvp)
_einsum.defvjp_all(_einsum_vjp)
_einsum.defbatch(_einsum_batch)


def einsum(*operands, optimize="auto", dtype=None):
    """Differentiable ``numpy.einsum``: explicit or implicit output, ``...``, repeated indices.

    Also takes NumPy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. ``optimize``
    goes to ``numpy.einsum``; the default ``"auto"`` lets NumPy plan (BLAS) contractions only when
    the naive loop would be large.

    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> einsum("ij,jk->ik", a, np.eye(2))  # matmul
    array([[1., 2.],
           [3., 4.]])
    >>> float(einsum("ii->", a))  # the trace
    5.0
    """
    if not operands:
        raise ValueError("einsum needs subscripts and at least one operand")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _sublist_to_subscripts(operands)
    ops = [as_array(x) for x in ops]
    if dtype is not None:
        from .elementwise import astype

        ops = [astype(x, dtype) for x in ops]
    spec, squeezes = _normalize_einsum(subscripts, tuple(vspace.shape_of(x) for x in ops))
    ops = [squeeze(x, axes) if axes else x for x, axes in zip(ops, squeezes, strict=True)]
    return _einsum.bind(*ops, spec=spec, optimize=optimize)


# --- products built on matmul -------------------------------------------------------------------
def tensordot(a, b, axes=2):
    """Differentiable ``numpy.tensordot``: contract ``axes`` of ``a`` with those of ``b``.

    ``axes`` is an int (the last ``axes`` of ``a`` with the first of ``b``) or a pair of
    sequences. Computed as one ``matmul`` of the two operands reshaped to matrices.

    >>> tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5)), axes=2).shape
    (2, 5)
    """
    if not _traced(a, b):
        return np.tensordot(a, b, axes)
    a, b = as_array(a), as_array(b)
    sa, sb = vspace.shape_of(a), vspace.shape_of(b)
    if isinstance(axes, (int, np.integer)):
        if axes < 0 or axes > min(len(sa), len(sb)):
            raise ValueError(f"tensordot: axes={axes} must be in [0, min(a.ndim, b.ndim)]")
        ax_a, ax_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise ValueError("tensordot: axes must be an int or a pair of axes sequences") from None
        dup = "duplicate axes are not allowed in tensordot"
        ax_a = list(normalize_axes(axes_a, len(sa), duplicates=dup))
        ax_b = list(normalize_axes(axes_b, len(sb), duplicates=dup))
    if len(ax_a) != len(ax_b):
        raise ValueError("tensordot: the two axes sequences must have the same length")
    for i, j in zip(ax_a, ax_b, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(f"tensordot: shape mismatch for sum (axis {i} of a has size {sa[i]}, "
                             f"axis {j} of b has size {sb[j]})")
    free_a = [k for k in range(len(sa)) if k not in ax_a]
    free_b = [k for k in range(len(sb)) if k not in ax_b]
    out_shape = tuple(sa[k] for k in free_a) + tuple(sb[k] for k in free_b)
    m = int(np.prod([sa[k] for k in free_a], dtype=np.int64))
    n = int(np.prod([sb[k] for k in free_b], dtype=np.int64))
    k = int(np.prod([sa[i] for i in ax_a], dtype=np.int64))
    a2 = reshape(transpose(a, free_a + ax_a), (m, k))
    b2 = reshape(transpose(b, ax_b + free_b), (k, n))
    return reshape(matmul(a2, b2), out_shape)


def dot(a, b):
    """Differentiable ``numpy.dot``: scalars multiply, up to 2-D it is ``matmul``, and N-D ``b``
    contracts the last axis of ``a`` with the second-to-last of ``b``.

    >>> float(dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    if not _traced(a, b):
        return np.dot(a, b)
    a, b = as_array(a), as_array(b)
    if _nd(a) == 0 or _nd(b) == 0:
        return a * b
    if _nd(b) <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


def vdot(a, b):
    """Differentiable ``numpy.vdot``: the flattened dot product, conjugating ``a`` first.

    >>> complex(vdot(np.array([1j, 2.0]), np.array([1j, 3.0])))
    (7+0j)
    """
    if not _traced(a, b):
        return np.vdot(a, b)
    a, b = ravel(as_array(a)), as_array(b)
    if vspace.is_complex(a):
        from .elementwise import conj

        a = conj(a)
    return matmul(a, ravel(b))


def inner(a, b):
    """Differentiable ``numpy.inner``: contracts the last axes of ``a`` and ``b``.

    >>> float(inner(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    if not _traced(a, b):
        return np.inner(a, b)
    a, b = as_array(a), as_array(b)
    if _nd(a) == 0 or _nd(b) == 0:
        return a * b
    if _nd(b) == 1:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b):
    """Differentiable ``numpy.outer`` of the flattened inputs.

    >>> outer(np.array([1.0, 2.0]), np.array([1.0, 10.0]))
    array([[ 1., 10.],
           [ 2., 20.]])
    """
    if not _traced(a, b):
        return np.outer(a, b)
    return reshape(ravel(as_array(a)), (-1, 1)) * reshape(ravel(as_array(b)), (1, -1))


def kron(a, b):
    """Differentiable ``numpy.kron``: the Kronecker product (block ``a[i, j] * b``).

    >>> kron(np.eye(2), np.ones((2, 2))).shape
    (4, 4)
    """
    if not _traced(a, b):
        return np.kron(a, b)
    a, b = as_array(a), as_array(b)
    sa, sb = vspace.shape_of(a), vspace.shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = reshape(a, tuple(d for pair in zip(sa, (1,) * nd, strict=True) for d in pair))
    b2 = reshape(b, tuple(d for pair in zip((1,) * nd, sb, strict=True) for d in pair))
    return reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb, strict=True)))


# --- vector and matrix-vector products (NumPy 2's gufuncs) and cross ---------------------------
def _no_out(out, name: str) -> None:
    from .reductions import _no_out as no_out

    no_out(out, name)


def _conj_if_complex(x):
    if vspace.is_complex(x):
        from .elementwise import conj

        return conj(x)
    return x


def _cast(x, dtype):
    if dtype is None:
        return x
    from .elementwise import astype

    return astype(x, dtype)


def vecdot(x1, x2, /, out=None, *, axis=-1, dtype=None):
    """Differentiable ``numpy.vecdot``: ``sum(conj(x1) * x2)`` over ``axis``, broadcasting the rest.

    >>> complex(vecdot(np.array([1j, 2.0]), np.array([1j, 3.0])))
    (7+0j)
    """
    _no_out(out, "vecdot")
    x1, x2 = as_array(x1), as_array(x2)
    if _nd(x1) == 0 or _nd(x2) == 0:
        raise ValueError("vecdot: both inputs need at least one dimension (the vector axis)")
    from .shape import moveaxis

    a = moveaxis(x1, axis, -1)
    b = moveaxis(x2, axis, -1)
    if vspace.shape_of(a)[-1] != vspace.shape_of(b)[-1]:
        raise ValueError(f"vecdot: the vector axes differ in size ({vspace.shape_of(a)[-1]} and "
                         f"{vspace.shape_of(b)[-1]})")
    out = squeeze(matmul(expand_dims(_conj_if_complex(a), -2), expand_dims(b, -1)), (-2, -1))
    return _cast(out, dtype)


def matvec(x1, x2, /, out=None, *, dtype=None):
    """Differentiable ``numpy.matvec``: matrix ``(..., M, N)`` times vector ``(..., N)``.

    >>> matvec(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    _no_out(out, "matvec")
    x1, x2 = as_array(x1), as_array(x2)
    if _nd(x1) < 2 or _nd(x2) < 1:
        raise ValueError("matvec: x1 must be a (stack of) matrices and x2 a (stack of) vectors")
    return _cast(squeeze(matmul(x1, expand_dims(x2, -1)), -1), dtype)


def vecmat(x1, x2, /, out=None, *, dtype=None):
    """Differentiable ``numpy.vecmat``: ``conj(vector (..., M))`` times matrix ``(..., M, N)``.

    >>> vecmat(np.array([1.0, 2.0]), np.eye(2))
    array([1., 2.])
    """
    _no_out(out, "vecmat")
    x1, x2 = as_array(x1), as_array(x2)
    if _nd(x1) < 1 or _nd(x2) < 2:
        raise ValueError("vecmat: x1 must be a (stack of) vectors and x2 a (stack of) matrices")
    return _cast(squeeze(matmul(expand_dims(_conj_if_complex(x1), -2), x2), -2), dtype)


def _cross_components(a, b):
    """The cross product of vectors along the last axes (3 or 2 components each)."""
    from .shape import broadcast_to, stack

    na, nb = vspace.shape_of(a)[-1], vspace.shape_of(b)[-1]
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    if a2 is None:  # a = (a0, a1, 0)
        x, y = a1 * b2, -(a0 * b2)
    elif b2 is None:  # b = (b0, b1, 0)
        x, y = -(a2 * b1), a2 * b0
    else:
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    shape = np.broadcast_shapes(vspace.shape_of(a)[:-1], vspace.shape_of(b)[:-1])
    return stack([broadcast_to(v, shape) for v in (x, y, z)], axis=-1)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Differentiable ``numpy.cross``: the cross product of 3-vectors (or 2-vectors, deprecated in
    NumPy: their product is the scalar z component) along ``axisa``/``axisb``, result along
    ``axisc`` (``axis`` sets all three).

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    from .shape import moveaxis

    a, b = as_array(a), as_array(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = vspace.shape_of(a)[-1], vspace.shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        import warnings

        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of "
                      "3-dimensional vectors instead. (deprecated in NumPy 2.0)",
                      DeprecationWarning, stacklevel=2)
    out = _cross_components(a, b)
    if na == 2 and nb == 2:
        return out
    return moveaxis(out, -1, axisc)


def einsum_path(*operands, optimize="greedy", einsum_call=False):
    """``numpy.einsum_path`` (pass-through: a contraction plan, not a differentiable value); traced
    operands are read for their shapes.

    >>> einsum_path("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4)))[0]
    ['einsum_path', (0, 1)]
    """
    ops = [concrete(x) if isinstance(x, Tracer) else x for x in operands]
    return np.einsum_path(*ops, optimize=optimize, einsum_call=einsum_call)


__all__ = ["matmul", "einsum", "tensordot", "dot", "vdot", "inner", "outer", "kron",
           "vecdot", "matvec", "vecmat", "cross", "einsum_path"]
