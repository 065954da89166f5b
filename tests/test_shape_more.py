"""Shape, assembly and index functions added for NumPy coverage (append ... unravel_index, r_, c_):
values against NumPy (shapes and dtypes, from plain and from traced inputs), check_grads of order
2 in both modes for the differentiable ones, vmap against a loop of NumPy calls, NumPy's errors.
"""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.core.axes import AxisError
from diffopt.numerical import check_grads

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4, 5))
M = RNG.standard_normal((4, 6))
V = RNG.standard_normal(6)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))


def _same(got, want):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
        return
    want = np.asarray(want)
    assert isinstance(got, np.ndarray) or np.isscalar(got), type(got)
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape,
                                                                 got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def traced_value(fn, *args):
    """``fn(*args)`` computed on traced inputs (the primal output of a jvp)."""
    return diffopt.jvp(fn, args, tuple(np.zeros_like(a) for a in args))[0]


def check(fn, np_fn, *args, grads=True, batch=True):
    """Values vs NumPy (plain and traced inputs), check_grads order 2, vmap vs a NumPy loop."""
    want = np_fn(*args)
    _same(fn(*args), want)
    _same(traced_value(fn, *args), want)
    if grads and sum(np.size(y) for y in diffopt.tree_leaves(want)):
        check_grads(fn, args, order=2)
    if batch:
        batches = [np.stack([a, 2 * a - 1, -a]) for a in args]
        got = diffopt.vmap(fn)(*batches)
        loop = [np_fn(*[b[i] for b in batches]) for i in range(3)]
        if isinstance(want, (list, tuple)):
            _same(got, type(want)(np.stack(parts) for parts in zip(*loop, strict=True)))
        else:
            _same(got, np.stack(loop))


# --- append, insert, delete -----------------------------------------------------------------------
@pytest.mark.parametrize("a,b,axis", [(V, M, None), (M, M[:2], 0), (M, M[:, :1], -1),
                                      (X, X[:, :2], 1), (np.array(1.5), V, None)])
def test_append(a, b, axis):
    check(lambda x, y: dnp.append(x, y, axis), lambda x, y: np.append(x, y, axis), a, b)


INSERTS = [  # (arr, obj, values, axis)
    (V, 2, 7.5, None), (V, [0, 3, 3], V[:3], None), (V, slice(1, 5, 2), V[:2], 0),
    (M, 1, V, 0), (M, -1, M[:, 0], 1), (M, [1], M[:, :1], 1), (M, [0, 2], M[:2], 0),
    (M, 2, M[:, :2].T, 1), (X, 0, X[:, :, 0], 2), (M, np.array([1, 4]), 2.0, -1),
]


@pytest.mark.parametrize("arr,obj,values,axis", INSERTS)
def test_insert(arr, obj, values, axis):
    values = np.asarray(values)
    check(lambda a, v: dnp.insert(a, obj, v, axis), lambda a, v: np.insert(a, obj, v, axis),
          arr, values, batch=values.ndim > 0)


def test_insert_casts_values_to_the_arrays_dtype_and_refuses_traced_indices():
    ints = np.arange(4)
    _same(dnp.insert(ints, 1, 2.7), np.insert(ints, 1, 2.7))
    got = diffopt.jvp(lambda v: dnp.insert(ints, 1, v), (2.7,), (1.0,))[0]
    _same(got, np.insert(ints, 1, 2.7))
    with pytest.raises(TypeError, match="plain integers"):
        diffopt.vmap(lambda i: dnp.insert(V, i, 0.0))(np.array([0, 1]))
    with pytest.raises(IndexError):
        traced_value(lambda v: dnp.insert(v, 9, 0.0), V)
    with pytest.raises(AxisError):
        traced_value(lambda v: dnp.insert(v, 0, 0.0, axis=2), M)


@pytest.mark.parametrize("obj,axis", [(1, None), (-1, 0), ([0, 2, 2], 1), (slice(None, None, 2), 2),
                                      (np.array([True, False, True]), 0), ([], None), (3, -1)])
def test_delete(obj, axis):
    check(lambda a: dnp.delete(a, obj, axis), lambda a: np.delete(a, obj, axis), X)


def test_delete_errors():
    for obj, axis, err in [(10, 0, IndexError), (0, 3, AxisError), (-4, 0, IndexError)]:
        with pytest.raises(err):
            np.delete(X, obj, axis)
        with pytest.raises(err):
            traced_value(lambda a, obj=obj, axis=axis: dnp.delete(a, obj, axis), X)


# --- apply_along_axis, apply_over_axes ------------------------------------------------------------
FUNCS_1D = [  # (diffopt version, NumPy version): scalar, vector and matrix results
    (lambda v: dnp.sum(v ** 2), lambda v: np.sum(v ** 2)),
    (lambda v: v[::-1] * v, lambda v: v[::-1] * v),
    (lambda v: dnp.outer(v, v[:2]), lambda v: np.outer(v, v[:2])),
]


@pytest.mark.parametrize("k", range(len(FUNCS_1D)))
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_apply_along_axis(k, axis):
    f, g = FUNCS_1D[k]
    check(lambda a: dnp.apply_along_axis(f, axis, a), lambda a: np.apply_along_axis(g, axis, a),
          X)


def test_apply_along_axis_extra_arguments_and_errors():
    def f(v, w, p=1.0):
        return dnp.sum(v * w) ** p

    got = traced_value(lambda a: dnp.apply_along_axis(f, 1, a, V[:4], p=2.0), M.T)
    _same(got, np.apply_along_axis(lambda v: np.sum(v * V[:4]) ** 2, 1, M.T))
    check_grads(lambda w: dnp.apply_along_axis(f, 0, M, w, p=3.0), (V[:4],), order=2)
    with pytest.raises(ValueError, match="iteration dimensions are 0"):
        traced_value(lambda a: dnp.apply_along_axis(dnp.sum, 0, a), np.ones((3, 0)))
    with pytest.raises(AxisError):
        traced_value(lambda a: dnp.apply_along_axis(dnp.sum, 2, a), M)


@pytest.mark.parametrize("axes", [0, [0, 2], [-1, 1], ()])
def test_apply_over_axes(axes):
    check(lambda a: dnp.apply_over_axes(dnp.sum, a, axes),
          lambda a: np.apply_over_axes(np.sum, a, axes), X)
    check(lambda a: dnp.apply_over_axes(lambda x, ax: dnp.mean(x, ax, keepdims=True), a, axes),
          lambda a: np.apply_over_axes(np.mean, a, axes), X)


def test_apply_over_axes_wrong_shape():
    with pytest.raises(ValueError, match="correct shape"):
        dnp.apply_over_axes(lambda x, ax: dnp.sum(x), X, [0])


# --- block, broadcast_arrays, broadcast_shapes, copy ----------------------------------------------
def test_block():
    a, b, c = M[:2, :3], M[:2, 3:], M[2:]

    def fn(x, y, z):
        return dnp.block([[x, y], [z]])

    check(fn, lambda x, y, z: np.block([[x, y], [z]]), a, b, c)
    check(lambda x, y: dnp.block([x, 2.0, y]), lambda x, y: np.block([x, 2.0, y]), V, V[:2])
    check(lambda x: dnp.block([[[x]], [[x]]]), lambda x: np.block([[[x]], [[x]]]), V)
    check(lambda x: dnp.block(x), lambda x: np.block(x), M)
    check(lambda x: dnp.block([[x, x], [np.ones(2)]]),
          lambda x: np.block([[x, x], [np.ones(2)]]), np.array(0.5))


def test_block_errors():
    for bad in ([[V], V], [[V], []], (V, V), [[V, (V,)]], [[M[:1]], [V[:2]]]):
        with pytest.raises((ValueError, TypeError)) as want:
            np.block(bad)
        with pytest.raises(type(want.value), match=str(want.value)[:30].replace("[", r"\[")):
            traced_value(lambda x, bad=bad: dnp.block(_replace_first(bad, x)), V)
    with pytest.raises(ValueError, match="cannot be empty"):
        dnp.block([])


def _replace_first(nested, x):
    """``nested`` with its first leaf replaced by the same leaf computed from traced ``x``."""
    if isinstance(nested, (list, tuple)):
        return type(nested)([_replace_first(nested[0], x), *nested[1:]])
    return nested + 0 * x[:1].sum()


def test_broadcast_arrays_and_shapes():
    check(lambda x, y: dnp.broadcast_arrays(x, y), lambda x, y: np.broadcast_arrays(x, y),
          M[:1], M[:, :1])
    check(lambda x, y: dnp.broadcast_arrays(x, y, 1.0), lambda x, y: np.broadcast_arrays(x, y, 1.0),
          V, M)
    assert dnp.broadcast_shapes((2, 1), (3,), ()) == np.broadcast_shapes((2, 1), (3,), ())
    with pytest.raises(ValueError):
        traced_value(lambda x: dnp.broadcast_arrays(x, np.ones(4)), V)
    with pytest.raises(NotImplementedError, match="subok"):
        dnp.broadcast_arrays(V, subok=True)


def test_copy():
    c = dnp.copy(V)
    assert c is not V and isinstance(c, np.ndarray)
    _same(c, V)
    check(dnp.copy, np.copy, M)
    _same(traced_value(lambda x: dnp.copy([x[0], 2.0]), V), np.array([V[0], 2.0]))


# --- resize, rollaxis, trim_zeros, unstack --------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 3), 10, (3, 4, 5), (0,), (2, 0), 3])
def test_resize(shape):
    check(lambda a: dnp.resize(a, shape), lambda a: np.resize(a, shape), M[:2, :3])


def test_resize_empty_and_errors():
    _same(traced_value(lambda a: dnp.resize(a, (2, 2)), np.ones(0)), np.resize(np.ones(0), (2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        traced_value(lambda a: dnp.resize(a, (-1, 2)), V)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("start", [0, 1, 2, 3, -1, -3])
def test_rollaxis(axis, start):
    check(lambda a: dnp.rollaxis(a, axis, start), lambda a: np.rollaxis(a, axis, start), X)


def test_rollaxis_errors():
    for axis, start in [(3, 0), (0, 4), (0, -4)]:
        with pytest.raises(AxisError) as want:
            np.rollaxis(X, axis, start)
        with pytest.raises(AxisError, match=str(want.value).replace("(", r"\(")[:20]):
            dnp.rollaxis(X, axis, start)


FILT1 = np.array([0.0, 0.0, 1.5, 0.0, -2.0, 3.0, 0.0])
FILT2 = np.array([[0.0, 0.0, 2.0, 3.0, 0.0], [0.0, 1.0, 0.0, 3.0, 0.0], [0.0] * 5])


@pytest.mark.parametrize("x", [FILT1, FILT2, np.zeros(4), np.zeros((2, 3)), np.ones(3)],
                         ids=["1d", "2d", "zeros1d", "zeros2d", "none"])
@pytest.mark.parametrize("trim", ["fb", "f", "b", "BF"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
def test_trim_zeros(x, trim, axis):
    if x.ndim == 1 and axis in (-1, (0, 1)):
        axis = 0
    keep = x != 0  # the derivative is taken with the zero pattern (so the trimmed shape) fixed
    check(lambda a: dnp.trim_zeros(a * keep, trim, axis),
          lambda a: np.trim_zeros(a * keep, trim, axis), x, batch=False)


def test_trim_zeros_errors_and_vmap():
    with pytest.raises(ValueError, match="unexpected character"):
        traced_value(lambda a: dnp.trim_zeros(a, "x"), FILT1)
    with pytest.raises(AxisError):
        traced_value(lambda a: dnp.trim_zeros(a, axis=2), FILT2)
    with pytest.raises(TypeError, match="vmap"):
        diffopt.vmap(dnp.trim_zeros)(np.stack([FILT1, FILT1]))
    _same(dnp.trim_zeros([0, 1, 0]), np.trim_zeros([0, 1, 0]))


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_unstack(axis):
    check(lambda a: dnp.unstack(a, axis=axis), lambda a: np.unstack(a, axis=axis), X)


def test_unstack_errors_and_empty():
    assert traced_value(lambda a: dnp.unstack(a[:0]), V) == ()
    with pytest.raises(ValueError, match="at least 1-d"):
        traced_value(lambda a: dnp.unstack(a[0]), V)
    with pytest.raises(AxisError):
        traced_value(lambda a: dnp.unstack(a, axis=3), X)


# --- ediff1d, fromfunction ------------------------------------------------------------------------
@pytest.mark.parametrize("ends", [(None, None), (1.5, None), (None, [2.0, 3.0]), (V[:2], M[0])])
def test_ediff1d(ends):
    begin, end = (np.asarray(e) if e is not None else None for e in ends)
    args = [M] + [e for e in (begin, end) if e is not None]

    def split(*a):
        rest = list(a[1:])
        return a[0], rest.pop(0) if begin is not None else None, rest.pop(0) if end is not None \
            else None

    def fn(*a):
        x, b, e = split(*a)
        return dnp.ediff1d(x, to_end=e, to_begin=b)

    def np_fn(*a):
        x, b, e = split(*a)
        return np.ediff1d(x, to_end=e, to_begin=b)

    check(fn, np_fn, *args)


def test_ediff1d_dtypes():
    ints = np.array([1, 4, 9], dtype=np.int8)
    _same(dnp.ediff1d(ints), np.ediff1d(ints))
    f32 = np.array([1.0, 4.0, 2.0], dtype=np.float32)
    _same(traced_value(lambda a: dnp.ediff1d(a, to_begin=np.float32(0)), f32),
          np.ediff1d(f32, to_begin=np.float32(0)))
    with pytest.raises(TypeError, match="same_kind"):
        traced_value(lambda a: dnp.ediff1d(a.astype(np.int64), to_end=0.5), V)
    check(lambda z: dnp.ediff1d(z, to_begin=z[0]), lambda z: np.ediff1d(z, to_begin=z[0]), Z)


def test_fromfunction():
    _same(dnp.fromfunction(lambda i, j: i * 10 + j, (2, 3)),
          np.fromfunction(lambda i, j: i * 10 + j, (2, 3)))
    _same(dnp.fromfunction(lambda i: i, (3,), dtype=int), np.fromfunction(lambda i: i, (3,),
                                                                           dtype=int))
    check(lambda s: dnp.fromfunction(lambda i, j: dnp.sin(s * i) + j, (3, 2)),
          lambda s: np.fromfunction(lambda i, j: np.sin(s * i) + j, (3, 2)), np.array(0.7))
    with pytest.raises(NotImplementedError, match="like"):
        dnp.fromfunction(lambda i: i, (2,), like=V)


# --- choose, compress, extract, diagflat ----------------------------------------------------------
@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_choose(mode):
    a = np.array([[0, 2, 1, 1, 0, 2]] * 4)
    if mode != "raise":
        a = a + np.array([[0], [3], [-4], [5]])
    check(lambda x, y: dnp.choose(a, [x, y, 2.0], mode=mode),
          lambda x, y: np.choose(a, [x, y, 2.0], mode=mode), M, V)
    check(lambda c: dnp.choose(a, c, mode=mode), lambda c: np.choose(a, c, mode=mode), M[:3])


def test_choose_traced_indices_and_errors():
    def pick(x):  # each row: the entry of choice 0 or 1 named by its argmax
        return dnp.choose(dnp.argmax(x) % 2, [x, -x])

    got = diffopt.vmap(pick)(M)
    _same(got, np.stack([np.choose(np.argmax(r) % 2, [r, -r]) for r in M]))
    with pytest.raises(ValueError, match="invalid entry"):
        traced_value(lambda x: dnp.choose([0, 3], [x, x]), V[:2])
    with pytest.raises(ValueError, match="clipmode"):
        dnp.choose([0], [V[:1]], mode="bad")
    with pytest.raises(TypeError, match="out="):
        dnp.choose([0], [V[:1]], out=np.zeros(1))


@pytest.mark.parametrize("cond,axis", [([True, False, True], None), ([0, 1, 1, 0], 1),
                                       ([1, 0, 1], 0), ([False, True], -1), ([], 0)])
def test_compress(cond, axis):
    check(lambda a: dnp.compress(cond, a, axis), lambda a: np.compress(cond, a, axis), X)


def test_compress_extract_errors():
    with pytest.raises(ValueError, match="1-d"):
        traced_value(lambda a: dnp.compress([[True]], a), V)
    with pytest.raises(IndexError):
        traced_value(lambda a: dnp.compress([0, 0, 0, 0, 0, 0, 1], a), V)
    with pytest.raises(TypeError, match="plain array"):
        diffopt.vmap(lambda a: dnp.extract(a > 0, a))(M)
    with pytest.raises(TypeError, match="out="):
        dnp.compress([True], V, out=V)


def test_extract():
    cond = M > 0
    check(lambda a: dnp.extract(cond, a), lambda a: np.extract(cond, a), M)
    check(lambda a: dnp.extract(np.arange(3), a), lambda a: np.extract(np.arange(3), a), M)
    _same(traced_value(lambda a: dnp.extract(a > 0, a), M), np.extract(M > 0, M))


@pytest.mark.parametrize("k", [0, 1, -2])
@pytest.mark.parametrize("v", [V[:3], M[:2, :2], np.array(2.5)], ids=["1d", "2d", "0d"])
def test_diagflat(v, k):
    check(lambda a: dnp.diagflat(a, k), lambda a: np.diagflat(a, k), v)
    check(lambda a: dnp.diagflat(a, k), lambda a: np.diagflat(a, k), Z[:2, :2])


# --- indices of non-zeros -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["flatnonzero", "argwhere"])
@pytest.mark.parametrize("x", [FILT1, FILT2, np.array(0.0), np.array(2.0), np.zeros((2, 0))])
def test_nonzero_indices(name, x):
    want = getattr(np, name)(x)
    _same(getattr(dnp, name)(x), want)
    _same(traced_value(getattr(dnp, name), x), want)
    seen = []
    diffopt.grad(lambda a: seen.append(getattr(dnp, name)(a)) or dnp.sum(a))(x)
    _same(seen[0], want)


def test_nonzero_indices_under_vmap():
    b = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 1.0]])  # the same count in each row
    _same(diffopt.vmap(dnp.flatnonzero)(b), np.stack([np.flatnonzero(r) for r in b]))
    _same(diffopt.vmap(dnp.argwhere)(b), np.stack([np.argwhere(r) for r in b]))


# --- the in-place writers: plain arrays only ------------------------------------------------------
IN_PLACE = [  # (name, NumPy arguments after the array)
    ("fill_diagonal", (7.0,)), ("fill_diagonal", ([1.0, 2.0],)), ("fill_diagonal", (3.0, True)),
    ("place", (M > 0, [1.0, 2.0, 3.0])), ("put", ([0, 5, -1], [9.0, 8.0])),
    ("put", ([2, 50], 4.0, "clip")),
    ("put_along_axis", (np.argmax(M, axis=1)[:, None], -1.0, 1)),
]


@pytest.mark.parametrize("name,args", IN_PLACE)
def test_in_place_writers(name, args):
    a, b = M.copy(), M.copy()
    assert getattr(dnp, name)(a, *args) is None
    getattr(np, name)(b, *args)
    _same(a, b)
    with pytest.raises(TypeError, match="immutable"):
        traced_value(lambda x: getattr(dnp, name)(x, *args), M)


def test_in_place_writers_refuse_traced_values():
    with pytest.raises(TypeError, match="at\\[.*set"):
        traced_value(lambda v: dnp.fill_diagonal(M.copy(), v), np.array(2.0))
    with pytest.raises(TypeError, match="immutable"):
        diffopt.vmap(lambda v: dnp.put(M.copy(), [0], v))(V)


def test_fill_diagonal_functional_form_from_the_message():
    a = M.copy()
    np.fill_diagonal(a, 5.0)
    got = traced_value(lambda x: x.at[dnp.diag_indices(min(x.shape), x.ndim)].set(5.0), M)
    _same(got, a)


# --- index helpers --------------------------------------------------------------------------------
def test_index_helpers_match_numpy():
    assert dnp.s_ is np.s_ and dnp.index_exp is np.index_exp
    assert dnp.s_[1:2, ::-1] == np.s_[1:2, ::-1]
    for name, args in [("diag_indices", (3,)), ("diag_indices", (2, 3)),
                       ("tril_indices", (3,)), ("tril_indices", (3, 1, 4)),
                       ("triu_indices", (4, -1)), ("mask_indices", (3, np.triu, 1)),
                       ("mask_indices", (3, dnp.tril))]:
        _same(getattr(dnp, name)(*args), getattr(np, name)(*args))


@pytest.mark.parametrize("name,k", [("diag_indices_from", None), ("tril_indices_from", 0),
                                    ("tril_indices_from", -1), ("triu_indices_from", 2)])
@pytest.mark.parametrize("x", [M, M[:4, :4], X[:3, :3, :3]], ids=["4x6", "4x4", "3x3x3"])
def test_indices_from(name, k, x):
    args = () if k is None else (k,)
    seen = []

    def fn(a):
        seen.append(getattr(dnp, name)(a, *args))
        return a

    try:
        want = getattr(np, name)(x, *args)
    except ValueError as e:
        for run in (lambda: getattr(dnp, name)(x, *args), lambda: traced_value(fn, x)):
            with pytest.raises(ValueError, match=str(e)):
                run()
        return
    _same(getattr(dnp, name)(x, *args), want)
    traced_value(fn, x)
    _same(seen[0], want)


def test_ix():
    for args in [([0, 1], [2, 0, 1]), ([True, False, True], [3]), ([],), (np.arange(2.0),)]:
        _same(dnp.ix_(*args), np.ix_(*args))
    got = diffopt.vmap(lambda r: dnp.ix_(dnp.argsort(r)[:2], [0, 1]))(M)
    want = [np.ix_(np.argsort(r)[:2], [0, 1]) for r in M]
    _same(got[0], np.stack([w[0] for w in want]))
    _same(got[1], np.broadcast_to(want[0][1], (4, 1, 2)))
    with pytest.raises(ValueError, match="1 dimensional"):
        diffopt.vmap(lambda r: dnp.ix_(r.reshape(2, 3)))(M)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("mode", ["raise", "wrap", "clip", ("clip", "wrap")])
def test_ravel_and_unravel_index(order, mode):
    dims = (3, 4)
    coords = (np.array([0, 2, 1]), np.array([3, 0, 1]))
    if mode != "raise":
        coords = (coords[0] + np.array([3, -1, 5]), coords[1] - 9)
    want = np.ravel_multi_index(coords, dims, mode=mode, order=order)
    _same(dnp.ravel_multi_index(coords, dims, mode=mode, order=order), want)
    got = diffopt.vmap(lambda i, j: dnp.ravel_multi_index((i, j), dims, mode=mode, order=order))(
        *coords)
    _same(got, want)
    flat = np.array([0, 5, 11, 7])
    want = np.unravel_index(flat, dims, order=order)
    _same(dnp.unravel_index(flat, dims, order=order), want)
    got = diffopt.vmap(lambda i: dnp.unravel_index(i, dims, order=order))(flat)
    _same(got, want)


def test_unravel_argmax_under_vmap_and_errors():
    got = diffopt.vmap(lambda x: dnp.unravel_index(dnp.argmax(x), x.shape))(X)
    _same(got, tuple(np.array(c) for c in zip(*[np.unravel_index(np.argmax(x), x.shape)
                                                 for x in X], strict=True)))
    with pytest.raises(ValueError, match="out of bounds"):
        diffopt.vmap(lambda i: dnp.unravel_index(i, (2, 3)))(np.array([1, 6]))
    with pytest.raises(ValueError, match="invalid entry"):
        diffopt.vmap(lambda i: dnp.ravel_multi_index((i, i), (2, 3)))(np.array([1, 2]))
    with pytest.raises(TypeError, match="int"):
        diffopt.vmap(lambda x: dnp.unravel_index(x, (2, 3)))(V)


R_CASES = [  # (diffopt-side builder, NumPy-side builder) on one argument
    (lambda x: dnp.r_[0:5, x], lambda x: np.r_[0:5, x]),
    (lambda x: dnp.r_[x, 2.0, [1.0, 2.0], x[:2]], lambda x: np.r_[x, 2.0, [1.0, 2.0], x[:2]]),
    (lambda x: dnp.r_[x], lambda x: np.r_[x]),
    (lambda x: dnp.r_[-1:1:5j, x], lambda x: np.r_[-1:1:5j, x]),
    (lambda x: dnp.r_["0,2", x, x[::-1]], lambda x: np.r_["0,2", x, x[::-1]]),
    (lambda x: dnp.r_["1,2,0", x, x], lambda x: np.r_["1,2,0", x, x]),
    (lambda x: dnp.r_["0,3,-1", x, 0:6], lambda x: np.r_["0,3,-1", x, 0:6]),
    (lambda x: dnp.r_["0,2,1", x[:3], 0:3], lambda x: np.r_["0,2,1", x[:3], 0:3]),
    (lambda x: dnp.r_["-1", x.reshape(2, 3), x.reshape(2, 3)],
     lambda x: np.r_["-1", x.reshape(2, 3), x.reshape(2, 3)]),
    (lambda x: dnp.c_[x, x ** 2], lambda x: np.c_[x, x ** 2]),
    (lambda x: dnp.c_[x.reshape(2, 3), x.reshape(2, 3), 0:2],
     lambda x: np.c_[x.reshape(2, 3), x.reshape(2, 3), 0:2]),
    (lambda x: dnp.c_[x[:2], [[1.0, 2.0], [3.0, 4.0]]],
     lambda x: np.c_[x[:2], [[1.0, 2.0], [3.0, 4.0]]]),
    (lambda x: dnp.c_[x.reshape(3, 2), 7.0 * np.ones(3)],
     lambda x: np.c_[x.reshape(3, 2), 7.0 * np.ones(3)]),
    (lambda x: dnp.r_[x[0], x[1], 3], lambda x: np.r_[x[0], x[1], 3]),
]


@pytest.mark.parametrize("k", range(len(R_CASES)))
def test_r_and_c(k):
    fn, np_fn = R_CASES[k]
    check(fn, np_fn, V)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # NumPy's np.matrix
def test_r_and_c_matrix_directives_dtypes_and_errors():
    _same(dnp.r_["r", V, V], np.asarray(np.r_["r", V, V]))
    _same(traced_value(lambda x: dnp.r_["c", x, x], V), np.asarray(np.r_["c", V, V]))
    _same(dnp.r_[np.arange(2), 1], np.r_[np.arange(2), 1])
    _same(dnp.r_[np.arange(2, dtype=np.float32), 1], np.r_[np.arange(2, dtype=np.float32), 1])
    _same(traced_value(lambda z: dnp.r_[z[0], 1.0], Z), np.r_[Z[0], 1.0])
    check_grads(lambda s: dnp.r_[0.0:s:4j, s], (np.array(2.0),), order=2)
    assert len(dnp.r_) == 0
    with pytest.raises(ValueError, match="first entry"):
        dnp.r_[V, "0,2"]
    with pytest.raises(ValueError, match="unknown special directive"):
        dnp.r_["x", V]
    with pytest.raises(NotImplementedError, match="matrix"):
        dnp.r_["1, 2"]
    with pytest.raises(TypeError, match="plain integers"):
        diffopt.vmap(lambda n: dnp.r_[0:n])(np.array([2, 3]))


def test_complex_values_and_lists_of_traced_values():
    check(lambda z: dnp.insert(z, [1, 3], z[:, :1], axis=1),
          lambda z: np.insert(z, [1, 3], z[:, :1], axis=1), Z)
    check(lambda z: dnp.block([[z, z[:, :1]], [z[:1], z[:1, :1]]]),
          lambda z: np.block([[z, z[:, :1]], [z[:1], z[:1, :1]]]), Z)
    check(lambda z: dnp.r_[z[0], 0:2, z[1]], lambda z: np.r_[z[0], 0:2, z[1]], Z)
    check(lambda z: dnp.resize(z, (5, 3)), lambda z: np.resize(z, (5, 3)), Z)
    check(lambda z: dnp.choose([[0, 1, 0, 1]], [z, 1j]),
          lambda z: np.choose([[0, 1, 0, 1]], [z, 1j]), Z)
    check(lambda v: dnp.delete([v[0], v[1], 3.0], 1), lambda v: np.delete([v[0], v[1], 3.0], 1), V)
    check(lambda v: dnp.append([v[0], 1.0], v), lambda v: np.append([v[0], 1.0], v), V)


@pytest.mark.parametrize("call", [
    lambda a: dnp.append(a, a, axis=2), lambda a: dnp.append(a, a, axis=-3),
    lambda a: dnp.compress([True], a, axis=2), lambda a: dnp.rollaxis(a, -3),
    lambda a: dnp.unstack(a, axis=-3), lambda a: dnp.delete(a, 0, axis=-3),
    lambda a: dnp.trim_zeros(a, axis=(0, 2)),
])
def test_bad_axes_raise_numpy_axis_error(call):
    with pytest.raises(AxisError):
        call(M)
    with pytest.raises(AxisError):
        traced_value(call, M)


# --- array-API names: concat, permute_dims, matrix_transpose; concatenate's dtype -----------------
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concat(axis):
    check(lambda x, y: dnp.concat([x, y], axis=axis), lambda x, y: np.concat([x, y], axis=axis),
          M, M[:, ::-1])


def test_concatenate_dtype_and_casting():
    ints = np.arange(3)
    for dtype, casting in [(np.float32, "same_kind"), (np.int8, "unsafe"), (complex, "safe")]:
        want = np.concatenate([ints, ints], dtype=dtype, casting=casting)
        _same(dnp.concatenate([ints, ints], dtype=dtype, casting=casting), want)
    check(lambda x: dnp.concatenate([x, x], dtype=np.complex128),
          lambda x: np.concatenate([x, x], dtype=np.complex128), V)
    with pytest.raises(TypeError, match="same_kind"):
        traced_value(lambda x: dnp.concat([x], dtype=int), V)
    with pytest.raises(TypeError, match="out="):
        dnp.concatenate([V], out=np.zeros(6))


@pytest.mark.parametrize("axes", [None, (2, 0, 1), (-1, 0, 1)])
def test_permute_dims(axes):
    check(lambda a: dnp.permute_dims(a, axes), lambda a: np.permute_dims(a, axes), X)


def test_matrix_transpose():
    check(dnp.matrix_transpose, np.matrix_transpose, X)
    check(dnp.matrix_transpose, np.matrix_transpose, Z)
    with pytest.raises(ValueError, match="at least 2-dimensional"):
        traced_value(dnp.matrix_transpose, V)
