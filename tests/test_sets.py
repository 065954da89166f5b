"""diffopt.numpy set routines (sets.py) and sorting/searching (sorting.py): values, dtypes and
shapes against NumPy on plain and traced inputs (with ties, NaNs, axes), derivatives by
check_grads (both modes, order 2) away from ties, the first-occurrence convention at ties, vmap
for the integer/boolean functions, and NumPy's errors.
"""

import numpy as np
import pytest

import diffopt.numpy as dnp
from diffopt import grad, jacfwd, jacrev, jit, jvp, vmap
from diffopt.numerical import check_grads

RNG = np.random.default_rng(0)


def ties(*shape, high=5, seed=0, nan=False, dtype=float):
    """Small integers (many ties) as ``dtype``; some NaNs if asked."""
    r = np.random.default_rng(seed)
    x = r.integers(0, high, size=shape).astype(dtype)
    if nan:
        x[r.random(shape) < 0.2] = np.nan
    return x


def distinct(*shape, seed=0):
    """Values at least 0.1 apart (no ties near the point, so finite differences see a gather)."""
    r = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (r.permutation(n) * 0.37 + r.uniform(0, 0.1, n) - n / 5).reshape(shape)


def traced(f, *args):
    """``f(*args)`` computed with its float and complex arguments traced (jvp's primal output)."""
    args = list(args)
    pos = [i for i, a in enumerate(args) if np.asarray(a).dtype.kind in "fc"]

    def g(*vals):
        for i, v in zip(pos, vals):
            args[i] = v
        return f(*args)

    vals = tuple(np.asarray(args[i]) for i in pos)
    return jvp(g, vals, tuple(np.zeros_like(v) for v in vals))[0]


def assert_same(out, expected):
    """Same type (tuple, named tuple), dtypes, shapes and values (NaN equal to NaN)."""
    if isinstance(expected, tuple):
        assert type(out) is type(expected) and len(out) == len(expected)
        for o, e in zip(out, expected):
            assert_same(o, e)
        return
    out, expected = np.asarray(out), np.asarray(expected)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def both(fn, np_fn, *args, **kw):
    """diffopt's result on plain and on traced float inputs equals NumPy's."""
    expected = np_fn(*args, **kw)
    assert_same(fn(*args, **kw), expected)
    if any(np.asarray(a).dtype.kind in "fc" for a in args):
        assert_same(traced(lambda *a: fn(*a, **kw), *args), expected)


# --- unique -------------------------------------------------------------------------------------
X_CASES = [ties(12), ties(12, nan=True, seed=1), ties(3, 4, seed=2), ties(4, 3, high=2, seed=3),
           ties(2, 3, 4, high=3, seed=4), ties(10, dtype=np.float32, seed=5), np.zeros(0),
           np.array(2.5), ties(9, seed=6) + 1j * ties(9, high=2, seed=7)]


@pytest.mark.parametrize("sorted_", [True, False])
@pytest.mark.parametrize("equal_nan", [True, False])
@pytest.mark.parametrize("flags", [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)])
@pytest.mark.parametrize("x", X_CASES)
def test_unique_matches_numpy(x, flags, equal_nan, sorted_):
    both(dnp.unique, np.unique, x, *map(bool, flags), equal_nan=equal_nan, sorted=sorted_)


@pytest.mark.parametrize("sorted_", [True, False])
@pytest.mark.parametrize("flags", [(0, 0, 0), (1, 1, 1), (0, 1, 0)])
@pytest.mark.parametrize("x,axis", [(ties(5, 3, high=2, seed=8), 0), (ties(5, 3, high=2), 1),
                                    (ties(4, 2, 3, high=2, seed=9), -1),
                                    (ties(4, 2, 3, high=2, seed=9), 1), (ties(6, seed=1), 0)])
def test_unique_axis_matches_numpy(x, axis, flags, sorted_):
    both(dnp.unique, np.unique, x, *map(bool, flags), axis=axis, sorted=sorted_)


def test_unique_integer_and_boolean_inputs_pass_through():
    for x in (ties(10, dtype=np.int32), ties(7, high=2, dtype=bool)):
        assert_same(dnp.unique(x, return_counts=True), np.unique(x, return_counts=True))


def assert_same_bits(out, expected):
    assert_same(out, expected)
    for part in (np.real, np.imag):
        np.testing.assert_array_equal(np.signbit(part(out)), np.signbit(part(expected)))
        np.testing.assert_array_equal(np.isnan(part(out)), np.isnan(part(expected)))


@pytest.mark.parametrize("equal_nan", [True, False])
def test_unique_hash_order_on_traced_values(equal_nan):
    z = ties(40, high=3, seed=1) + 1j * ties(40, high=3, seed=2)  # complex: NumPy's hash table
    z[[3, 9]] = [complex(np.nan, 1.0), complex(1.0, np.nan)]
    expected = np.unique(z, sorted=False, equal_nan=equal_nan)
    assert not np.array_equal(expected, np.sort(expected), equal_nan=True)
    assert_same_bits(traced(lambda v: dnp.unique(v, sorted=False, equal_nan=equal_nan), z),
                     expected)
    z = z[~np.isnan(z)]
    w = np.arange(1.0, np.unique(z).size + 1)
    g = grad(lambda v: dnp.sum(dnp.real(dnp.unique_values(v)) * w))(z)
    first = [int(np.flatnonzero(z == u)[0]) for u in np.unique_values(z)]
    np.testing.assert_array_equal(np.flatnonzero(g), np.sort(first))


def test_signed_zeros_keep_numpys_bits():
    x = np.array([0.0, -0.0, 1.0, -0.0, 0.0, -1.0, -0.0])
    for kw in ({}, {"sorted": False}, {"equal_nan": False}, {"return_counts": True}):
        out, expected = traced(lambda v, kw=kw: dnp.unique(v, **kw), x), np.unique(x, **kw)
        assert_same(out, expected)
        assert_same_bits(*((out[0], expected[0]) if kw.get("return_counts") else (out, expected)))
    assert_same_bits(traced(dnp.unique_values, x), np.unique_values(x))
    assert_same_bits(traced(lambda v: dnp.union1d(v, -v), x), np.union1d(x, -x))
    assert_same_bits(traced(lambda v: dnp.intersect1d(v, x[::-1]), x), np.intersect1d(x, x[::-1]))


@pytest.mark.parametrize("name", ["unique_all", "unique_counts", "unique_inverse", "unique_values"])
@pytest.mark.parametrize("x", [ties(12, nan=True), ties(3, 4, seed=2), np.zeros(0),
                               ties(6, dtype=np.int64)])
def test_array_api_unique_functions(name, x):
    both(getattr(dnp, name), getattr(np, name), x)


def test_unique_gradient_goes_to_the_first_occurrence():
    x = np.array([3.0, 1.0, 3.0, 2.0, 1.0])
    w = np.array([10.0, 20.0, 30.0])  # weights for the unique values 1, 2, 3
    g = grad(lambda v: dnp.sum(dnp.unique(v) * w))(x)
    np.testing.assert_array_equal(g, [30.0, 10.0, 0.0, 20.0, 0.0])
    np.testing.assert_array_equal(jacfwd(dnp.unique)(x), jacrev(dnp.unique)(x))
    rows = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0]])
    g = grad(lambda v: dnp.sum(dnp.unique(v, axis=0) ** 2))(rows)
    np.testing.assert_array_equal(g, [[2.0, 4.0], [0.0, 2.0], [0.0, 0.0]])


@pytest.mark.parametrize("fn", [
    lambda x: dnp.unique(x) ** 2,
    lambda x: dnp.sin(dnp.unique(x, return_index=True, return_counts=True)[0]),
    lambda x: dnp.unique(x, axis=1) ** 3,
    lambda x: dnp.unique_all(x).values ** 2,
    lambda x: dnp.unique_values(x) * dnp.unique_counts(x).values,
    lambda x: dnp.exp(dnp.unique_inverse(x).values),
])
def test_unique_derivatives(fn):
    check_grads(fn, (distinct(3, 4, seed=3),), order=2)


# --- intersect1d, union1d, setdiff1d, setxor1d --------------------------------------------------
PAIRS = [(ties(10, seed=1), ties(8, seed=2)), (ties(3, 4, seed=3), ties(5, seed=4)),
         (ties(9, nan=True, seed=5), ties(9, nan=True, seed=6)), (np.zeros(0), ties(4)),
         (ties(6, dtype=np.float32, seed=7), ties(5, seed=8)),
         (ties(7, dtype=np.int64, seed=9), ties(5, seed=10))]
UNIQUE_PAIRS = [(np.array([5.0, 1.0, 3.0, 2.0]), np.array([2.0, 7.0, 5.0])),
                (np.array([[4.0, 0.0], [2.0, 6.0]]), np.array([6.0, 4.0, 9.0]))]


@pytest.mark.parametrize("return_indices", [False, True])
@pytest.mark.parametrize("a,b", PAIRS)
def test_intersect1d_matches_numpy(a, b, return_indices):
    both(dnp.intersect1d, np.intersect1d, a, b, return_indices=return_indices)


@pytest.mark.parametrize("return_indices", [False, True])
@pytest.mark.parametrize("a,b", UNIQUE_PAIRS)
def test_intersect1d_assume_unique(a, b, return_indices):
    both(dnp.intersect1d, np.intersect1d, a, b, assume_unique=True, return_indices=return_indices)


@pytest.mark.parametrize("name", ["union1d", "setdiff1d", "setxor1d"])
@pytest.mark.parametrize("a,b", PAIRS)
def test_set_operations_match_numpy(name, a, b):
    both(getattr(dnp, name), getattr(np, name), a, b)


@pytest.mark.parametrize("name", ["setdiff1d", "setxor1d"])
@pytest.mark.parametrize("a,b", UNIQUE_PAIRS)
def test_set_operations_assume_unique(name, a, b):
    both(getattr(dnp, name), getattr(np, name), a, b, assume_unique=True)


def test_set_operations_with_one_input_traced():
    a, b = ties(10, seed=1), ties(8, seed=2)
    for name in ("intersect1d", "union1d", "setdiff1d", "setxor1d"):
        f, g = getattr(dnp, name), getattr(np, name)
        assert_same(traced(lambda v, f=f: f(v, b), a), g(a, b))
        assert_same(traced(lambda v, f=f: f(a, v), b), g(a, b))


def test_set_operation_gradient_conventions():
    a, b = np.array([3.0, 1.0, 3.0]), np.array([1.0, 3.0, 5.0])
    ga, gb = grad(lambda u, v: dnp.sum(dnp.intersect1d(u, v) * [1.0, 2.0]), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, [2.0, 1.0, 0.0])  # from ar1's first occurrences
    np.testing.assert_array_equal(gb, [0.0, 0.0, 0.0])
    gb = grad(lambda v: dnp.sum(dnp.intersect1d(a, v) * [1.0, 2.0]))(b)  # only ar2 traced
    np.testing.assert_array_equal(gb, [1.0, 2.0, 0.0])
    ga, gb = grad(lambda u, v: dnp.sum(dnp.union1d(u, v) * [1.0, 2.0, 3.0]), argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ga, [2.0, 1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.0, 0.0, 3.0])


@pytest.mark.parametrize("fn", [
    lambda a, b: dnp.intersect1d(a, b) ** 2,
    lambda a, b: dnp.intersect1d(a, b, assume_unique=True, return_indices=True)[0] ** 2,
    lambda a, b: dnp.sin(dnp.union1d(a, b)),
    lambda a, b: dnp.setdiff1d(a, b) ** 3,
    lambda a, b: dnp.setdiff1d(a, b, assume_unique=True) ** 3,
    lambda a, b: dnp.exp(dnp.setxor1d(a, b)),
])
def test_set_operation_derivatives(fn):
    # ``b`` shares three of ``a``'s values and moves with them, so that finite differences keep
    # the shared values equal (perturbing the inputs independently would change the sets)
    others = distinct(3, seed=5) + 100.0
    check_grads(lambda a: fn(a, dnp.concatenate([a[np.array([1, 4, 6])], others])),
                (distinct(8, seed=4),), order=2)


# --- isin ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [None, "sort", "table"])
@pytest.mark.parametrize("invert", [False, True])
def test_isin_matches_numpy(invert, kind):
    e, t = ties(3, 4, high=8, seed=1), ties(5, high=8, seed=2)
    if kind == "table":
        e, t = e.astype(int), t.astype(int)
    both(dnp.isin, np.isin, e, t, invert=invert, kind=kind)
    both(dnp.isin, np.isin, np.unique(e), np.unique(t), assume_unique=True, invert=invert)


def test_isin_scalars_nans_and_vmap():
    assert_same(dnp.isin(2.0, [1.0, 2.0]), np.isin(2.0, [1.0, 2.0]))
    x = ties(9, nan=True)
    both(dnp.isin, np.isin, x, x)
    z = ties(6, seed=4) + 1j * ties(6, high=2, seed=5)
    both(dnp.isin, np.isin, z, z[:3])
    rows = ties(4, 5, high=8, seed=3)
    out = vmap(lambda r: dnp.isin(r, [1.0, 3.0, 5.0]))(rows)
    assert_same(out, np.isin(rows, [1.0, 3.0, 5.0]))
    out = vmap(lambda t: dnp.isin(np.arange(5.0), t))(rows)
    assert_same(out, np.stack([np.isin(np.arange(5.0), r) for r in rows]))


# --- searchsorted, lexsort ----------------------------------------------------------------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(side):
    a = np.sort(ties(10, seed=1))
    for v in (ties(3, 4, seed=2), 2.0, np.array(3.0), [0.5, 4.0]):
        both(dnp.searchsorted, np.searchsorted, a, v, side=side)
    u = ties(10, seed=3)
    sorter = np.argsort(u)
    both(dnp.searchsorted, np.searchsorted, u, ties(6, seed=4), side=side, sorter=sorter)
    assert_same(traced(lambda w: dnp.searchsorted(w, w, side, dnp.argsort(w)), u),
                np.searchsorted(u, u, side, sorter))


def test_searchsorted_under_vmap_and_grad():
    a = np.sort(ties(4, 6, seed=5), axis=1)
    v = ties(4, 3, seed=6)
    expected = np.stack([np.searchsorted(r, w) for r, w in zip(a, v)])
    assert_same(vmap(dnp.searchsorted)(a, v), expected)
    assert_same(vmap(lambda w: dnp.searchsorted(a[0], w, "right"))(v),
                np.searchsorted(a[0], v, "right"))
    # an index inside a differentiated function: the derivative flows through the gather
    g = grad(lambda w: dnp.sum(dnp.take(w, dnp.searchsorted(w, 2.5)) * w))(np.arange(5.0))
    np.testing.assert_array_equal(g, [3.0, 3.0, 3.0, 13.0, 3.0])  # w[3] + e_3 * sum(w)


def test_lexsort_matches_numpy():
    k1, k2, k3 = ties(10, high=3, seed=1), ties(10, high=3, seed=2), ties(10, seed=3)
    both(dnp.lexsort, np.lexsort, (k1, k2, k3))
    both(dnp.lexsort, np.lexsort, [k1])
    keys2 = np.stack([ties(3, 4, high=2, seed=4), ties(3, 4, high=2, seed=5)])
    for axis in (0, 1, -1):
        both(dnp.lexsort, np.lexsort, keys2, axis=axis)
    assert_same(dnp.lexsort(np.stack([k1, k2])), np.lexsort(np.stack([k1, k2])))
    assert_same(traced(dnp.lexsort, np.stack([k1, k2])), np.lexsort(np.stack([k1, k2])))
    assert_same(traced(dnp.lexsort, k1), np.lexsort(k1))
    rows = ties(3, 8, high=3, seed=6)
    assert_same(vmap(lambda r: dnp.lexsort((r, -r, k1[:8])))(rows),
                np.stack([np.lexsort((r, -r, k1[:8])) for r in rows]))


# --- partition, argpartition --------------------------------------------------------------------
PART_CASES = [(ties(20, seed=1), 5, -1), (ties(20, nan=True, seed=2), [0, 7, 19], 0),
              (ties(4, 9, seed=3), 4, 1), (ties(7, 3, seed=4), (1, 2), 0),
              (ties(2, 5, 6, seed=5), -1, -1), (ties(3, 4, seed=6), 3, None),
              (ties(15, dtype=np.float32, seed=7), 8, 0), (ties(9, dtype=np.int64), 2, 0),
              (ties(3, 8, high=3, seed=8) + 1j * ties(3, 8, high=2, seed=9), [1, 5], 1)]


@pytest.mark.parametrize("a,kth,axis", PART_CASES)
def test_partition_and_argpartition_match_numpy(a, kth, axis):
    both(dnp.partition, np.partition, a, kth, axis=axis)
    both(dnp.argpartition, np.argpartition, a, kth, axis=axis)


def test_partition_keeps_signed_zeros_in_place():
    a = np.array([0.0, -0.0, 1.0, -0.0, 0.0, -1.0])
    out = traced(lambda v: dnp.partition(v, 2), a)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(np.partition(a, 2)))


def test_argpartition_under_vmap():
    rows = ties(5, 8, seed=8)
    assert_same(vmap(lambda r: dnp.argpartition(r, 3))(rows), np.argpartition(rows, 3, axis=1))
    cube = ties(3, 4, 5, seed=9)
    assert_same(vmap(lambda r: dnp.argpartition(r, [0, 2], axis=0))(cube),
                np.stack([np.argpartition(c, [0, 2], axis=0) for c in cube]))


@pytest.mark.parametrize("kth,axis", [(2, -1), ([0, 3], 0), (1, None), (-1, 1)])
def test_partition_derivatives(kth, axis):
    check_grads(lambda x: dnp.partition(x, kth, axis=axis) ** 2, (distinct(4, 5, seed=7),),
                order=2)


def test_partition_gradient_follows_the_elements():
    a = np.array([3.0, 1.0, 4.0, 2.0, 0.5])
    w = np.arange(1.0, 6.0)
    g = grad(lambda v: dnp.sum(dnp.partition(v, 2) * w))(a)
    p = np.partition(a, 2)
    np.testing.assert_array_equal(g, w[[int(np.flatnonzero(p == v)[0]) for v in a]])


# --- sort_complex -------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [ties(8, seed=1), ties(3, 5, seed=2) + 1j * ties(3, 5, seed=3),
                               ties(6, dtype=np.float32), ties(6, dtype=np.int16),
                               ties(6, dtype=np.uint8), ties(4, dtype=np.longdouble),
                               ties(6, dtype=np.int64), np.zeros(0),
                               (ties(5, seed=4) + 1j * ties(5, seed=5)).astype(np.complex64)])
def test_sort_complex_matches_numpy(a):
    both(dnp.sort_complex, np.sort_complex, a)


def test_sort_complex_derivatives_and_vmap():
    x = distinct(3, 4, seed=8)
    check_grads(lambda v: dnp.real(dnp.sort_complex(v)) ** 2, (x,), order=2)
    z = x + 1j * distinct(3, 4, seed=9)
    check_grads(lambda v: dnp.sort_complex(v) ** 2, (z,), order=2)
    assert_same(vmap(dnp.sort_complex)(z), np.sort_complex(z))


# --- errors -------------------------------------------------------------------------------------
def test_errors_match_numpy():
    x = ties(3, 4)
    for f in (np.unique, dnp.unique, lambda v, **k: traced(lambda w: dnp.unique(w, **k), v)):
        with pytest.raises(np.exceptions.AxisError):
            f(x, axis=2)
    for f in (np.partition, dnp.partition, dnp.argpartition):
        with pytest.raises(ValueError, match="out of bounds"):
            f(x, 4)
    with pytest.raises(ValueError, match="out of bounds"):
        traced(lambda v: dnp.partition(v, 5), x)
    with pytest.raises(np.exceptions.AxisError):
        dnp.partition(x, 1, axis=3)
    with pytest.raises(ValueError, match="side"):
        dnp.searchsorted(np.arange(3.0), 1.0, side="middle")
    with pytest.raises(TypeError, match="len > 0"):
        dnp.lexsort([])
    with pytest.raises(ValueError, match="kind"):
        dnp.isin(x, x, kind="hash")


def test_unsupported_options_and_transforms_are_refused():
    x = ties(6)
    for f in (dnp.partition, dnp.argpartition):
        with pytest.raises(NotImplementedError, match="order"):
            f(x, 1, order="a")
    with pytest.raises(TypeError, match="kth must be a plain integer"):
        vmap(lambda v: dnp.argpartition(v, dnp.argmax(v)))(np.stack([x, x]))
    with pytest.raises(TypeError, match="kth must be integers"):
        dnp.partition(x, 1.5)
    for f in (dnp.unique, dnp.unique_values, lambda v: dnp.partition(v, 1),
              lambda v: dnp.setdiff1d(v, x), lambda v: dnp.intersect1d(x, v)):
        with pytest.raises(TypeError, match="not supported under vmap"):
            vmap(f)(np.stack([x, x]))
    with pytest.raises(TypeError, match="not supported under jit"):
        jit(dnp.unique)(x)
