"""Indexing, functional updates and the gathers built on them (take, take_along_axis, diagonal,
diag, triu, tril, sort): values against NumPy, derivatives against finite differences (order 2,
both modes), vmap against a Python loop, jacfwd against jacrev."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads
from diffopt.numpy.indexing import _index_layout, normalize_index

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3, 5))
MASK = X[:, :, 0] > 0  # a (4, 3) mask over the first two axes
COL_MASK = np.array([True, False, True, True, False])


def assert_vmap_matches_loop(f, *args, in_axes=0):
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes, strict=True) if ax is not None)
    got = diffopt.vmap(f, in_axes=in_axes)(*args)
    want = [f(*[a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, axes,
                                                                               strict=True)])
            for b in range(size)]
    if isinstance(got, (list, tuple)):
        for g, w in zip(got, zip(*want, strict=True), strict=True):
            np.testing.assert_allclose(g, np.stack(w), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(got, np.stack(want), rtol=1e-12, atol=1e-12)


def assert_jacobians_agree(f, x):
    np.testing.assert_allclose(diffopt.jacfwd(f)(x), diffopt.jacrev(f)(x), rtol=1e-12, atol=1e-12)


# --- getitem --------------------------------------------------------------------------------------
INDICES = {
    "int": 2,
    "negative int": -1,
    "slice with step": slice(1, None, 2),
    "negative step": slice(None, None, -2),
    "None and Ellipsis": (None, Ellipsis, 1),
    "trailing None": (Ellipsis, None),
    "int and slice": (0, slice(1, 3)),
    "negative everything": (-1, slice(-2, None), -3),
    "boolean mask (2-D)": MASK,
    "boolean mask on last axis": (Ellipsis, COL_MASK),
    "0-d boolean": True,
    "repeated integers": [0, 0, 2, 0],
    "integer matrix": np.array([[0, 1], [1, 1]]),
    "negative integer array": [-1, -4, -1],
    "adjacent arrays": (slice(None), [0, 2, 2], [1, 0, 1]),
    "separated arrays": ([0, 2], slice(None), [1, 1]),
    "int beside array, separated": (0, slice(None), [0, 1, 0]),
    "None between arrays": ([0, 1], None, [0, 2]),
    "0-d array and array": (np.array(1), slice(None), [0, 2]),
    "Ellipsis and array": (Ellipsis, [4, 0, 4]),
    "array, None, slice": ([3, 3], None, slice(0, 2)),
    "empty list": [],
}


@pytest.mark.parametrize("idx", list(INDICES.values()), ids=list(INDICES))
def test_getitem(idx):
    np.testing.assert_array_equal(dnp.getitem(X, idx), X[idx])
    assert _index_layout(X.shape, normalize_index(idx))[0] == X[idx].shape

    def f(x):
        return x[idx]

    if X[idx].size:  # check_grads refuses a check with nothing to compare
        check_grads(f, (X,), order=2)
    assert_vmap_matches_loop(f, np.stack([X, 2 * X, -X]))
    assert_jacobians_agree(f, X)


def test_repeated_indices_accumulate():
    x = np.arange(4.0)
    g = diffopt.grad(lambda x: dnp.sum(x[[0, 0, 3, 0]] * np.array([1.0, 2.0, 3.0, 4.0])))(x)
    np.testing.assert_array_equal(g, [7.0, 0.0, 0.0, 3.0])


def test_index_layout_matches_numpy_on_random_indices():
    rng = np.random.default_rng(1)
    shape = (3, 4, 5)
    choices = [lambda n: int(rng.integers(-n, n)), lambda n: slice(None, None, -1),
               lambda n: slice(1, None), lambda n: rng.integers(0, n, size=2),
               lambda n: rng.integers(0, n, size=(2, 1))]
    for _ in range(200):
        idx = []
        for n in shape:
            if rng.random() < 0.2:
                idx.append(None)
            idx.append(choices[rng.integers(len(choices))](n))
        idx = tuple(idx)
        try:
            want = np.zeros(shape)[idx].shape
        except (IndexError, ValueError):
            continue
        assert _index_layout(shape, normalize_index(idx))[0] == want, idx


def test_mask_from_a_comparison_of_the_traced_value():
    x = np.array([-1.0, 2.0, 3.0, -4.0])
    g = diffopt.grad(lambda x: dnp.sum(x[x > 0] ** 2))(x)
    np.testing.assert_array_equal(g, [0.0, 4.0, 6.0, 0.0])


def test_traced_index_is_refused():
    with pytest.raises(TypeError, match="indexing with a traced value"):
        diffopt.grad(lambda x: dnp.sum(x[dnp.astype(x, int)]))(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="indexing with a traced value"):
        diffopt.vmap(lambda i: dnp.getitem(np.arange(3.0), i))(np.array([0, 1]))
    with pytest.raises(IndexError, match="integer or boolean"):
        dnp.getitem(X, np.array([0.5]))


def test_setitem_on_traced_array_points_to_at():
    def f(x):
        x[0] = 1.0
        return dnp.sum(x)

    with pytest.raises(TypeError, match=r"\.at\["):
        diffopt.grad(f)(np.ones(3))


# --- functional updates ---------------------------------------------------------------------------
UPDATE_CASES = {
    "int": (1, X.shape[1:]),
    "basic": ((1, slice(None, None, 2)), (2, 5)),
    "broadcast value": ((slice(None), 0), ()),
    "mask": (MASK, (5,)),
    "repeated": ([0, 0, 2], (3, 3, 5)),
    "repeated pairs": (([1, 1, 3], [2, 2, 0]), (3, 5)),
    "separated": (([0, 2], slice(None), [1, 4]), (2, 3)),
    "separated, broadcast value": (([0, 2], slice(None), [1, 4]), (3,)),
    "int beside array": ((1, slice(None), [0, 3, 0]), (3, 3)),
}


def _value(shape, seed=2):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("method", ["set", "add", "multiply"])
@pytest.mark.parametrize("case", list(UPDATE_CASES), ids=list(UPDATE_CASES))
def test_at_updates(method, case):
    idx, vshape = UPDATE_CASES[case]
    v = _value(vshape)

    def f(x, v):
        return getattr(dnp.at(x)[idx], method)(v)

    ref = X.copy()
    if method == "set":
        ref[idx] = v
    elif method == "add":
        np.add.at(ref, normalize_index(idx), v)
    else:
        ref[idx] = X[idx] * v
    np.testing.assert_allclose(getattr(dnp.at(X)[idx], method)(v), ref, rtol=1e-14)
    check_grads(f, (X, v), order=2)
    # under vmap: x batched, v batched, both, and x batched with v shared
    xs, vs = np.stack([X, -X]), np.stack([v, 2 * v + 1])
    assert_vmap_matches_loop(f, xs, vs)
    assert_vmap_matches_loop(f, xs, v, in_axes=(0, None))
    assert_vmap_matches_loop(f, X, vs, in_axes=(None, 0))
    assert_jacobians_agree(lambda v: f(X, v), v)
    assert_jacobians_agree(lambda x: f(x, v), X)


def test_set_with_repeated_indices_differentiates_the_last_write_only():
    v = np.array([1.0, 2.0, 3.0])
    out = dnp.at(np.zeros(3))[[0, 0, 1]].set(v)
    np.testing.assert_array_equal(out, [2.0, 3.0, 0.0])
    g = diffopt.grad(lambda v: dnp.sum(dnp.at(np.zeros(3))[[0, 0, 1]].set(v) * np.arange(1, 4)))(v)
    np.testing.assert_array_equal(g, [0.0, 1.0, 2.0])
    # multiply multiplies each distinct position once, as x[idx] = x[idx] * v does
    gx = diffopt.grad(lambda x: dnp.sum(dnp.at(x)[[0, 0]].multiply(3.0)))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gx, [3.0, 1.0])


def test_tracer_at_inside_grad():
    # y = [2 x0, x1 + x0, x2]; f = sum(y**2)
    g = diffopt.grad(lambda x: dnp.sum(x.at[0].multiply(2.0).at[1].add(x[0]) ** 2))(
        np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [2 * 2 * 2.0 + 2 * 3.0, 2 * 3.0, 6.0])


def test_at_inside_grad_and_hessian():
    def f(x):
        y = dnp.at(x)[1:].add(x[:-1] ** 2)
        y = dnp.at(y)[0].set(dnp.sin(x[2]))
        return dnp.sum(y**3)

    x = np.array([0.3, -0.7, 1.1, 0.4])
    check_grads(f, (x,), order=2)
    h = diffopt.hessian(f)(x)
    np.testing.assert_allclose(h, h.T, rtol=1e-10)
    np.testing.assert_allclose(dnp.at(x)[1:].get(), x[1:])


def test_scatter_add_accumulates_like_add_at():
    from diffopt.numpy.indexing import scatter_add

    np.testing.assert_array_equal(scatter_add(np.zeros(3), 1.0, [0, 0, 2]), [2.0, 0.0, 1.0])


# --- take, take_along_axis ------------------------------------------------------------------------
@pytest.mark.parametrize("indices,axis,mode", [
    ([0, 2, 2], 1, None), (np.array([[4, 0], [1, 1]]), -1, None), ([7, -1, 3], None, None),
    ([6, -7, 2], 0, "wrap"), ([9, -3, 1], 2, "clip"), (2, 0, None),
])
def test_take(indices, axis, mode):
    np.testing.assert_array_equal(dnp.take(X, indices, axis=axis, mode=mode),
                                  np.take(X, indices, axis=axis, mode=mode or "raise"))

    def f(x):
        return dnp.take(x, indices, axis=axis, mode=mode)

    check_grads(f, (X,), order=2)
    assert_vmap_matches_loop(f, np.stack([X, -X]))


def test_take_with_traced_indices_under_vmap():
    x = np.array([1.0, -2.0, 3.0, 0.5])
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    got = diffopt.vmap(lambda i: dnp.take(x, i))(idx)
    np.testing.assert_array_equal(got, x[idx])
    scalar = diffopt.vmap(lambda i: dnp.take(x, i))(np.array([3, 1]))
    np.testing.assert_array_equal(scalar, x[[3, 1]])
    # and its gradient, per batch element: repeated indices accumulate
    g = diffopt.vmap(diffopt.grad(lambda x, i: dnp.sum(dnp.take(x, i) ** 2)), in_axes=(None, 0))(
        x, idx)
    want = np.stack([diffopt.grad(lambda x, i=i: dnp.sum(dnp.take(x, i) ** 2))(x) for i in idx])
    np.testing.assert_allclose(g, want)
    m = np.arange(12.0).reshape(3, 4)
    got = diffopt.vmap(lambda i: dnp.take(m, i, axis=1))(idx)
    np.testing.assert_array_equal(got, np.stack([np.take(m, i, axis=1) for i in idx]))


def test_take_along_axis():
    idx = np.argsort(X, axis=1)[:, :2]
    np.testing.assert_array_equal(dnp.take_along_axis(X, idx, 1), np.take_along_axis(X, idx, 1))
    rep = np.array([[[0], [0], [2]]])  # broadcasts against X outside the axis, repeats inside
    np.testing.assert_array_equal(dnp.take_along_axis(X, rep, 1), np.take_along_axis(X, rep, 1))
    flat = np.array([5, 0, 5])
    np.testing.assert_array_equal(dnp.take_along_axis(X, flat, None),
                                  np.take_along_axis(X, flat, None))
    for i in (idx, rep):
        f = lambda x, i=i: dnp.take_along_axis(x, i, axis=1)  # noqa: E731
        check_grads(f, (X,), order=2)
        assert_vmap_matches_loop(f, np.stack([X, -X]))
        assert_jacobians_agree(f, X)
    # traced (batched) indices, with the array batched or shared
    idxs = np.stack([idx, idx[:, ::-1]])
    f = lambda x, i: dnp.take_along_axis(x, i, axis=1)  # noqa: E731
    assert_vmap_matches_loop(f, np.stack([X, 2 * X]), idxs)
    assert_vmap_matches_loop(f, X, idxs, in_axes=(None, 0))
    with pytest.raises(ValueError, match="same number of dimensions"):
        dnp.take_along_axis(X, idx[0], 1)


def test_gradient_through_traced_take_along_axis_in_vmap():
    xs = RNG.standard_normal((3, 5))
    idxs = np.array([[0, 0, 4], [1, 2, 3], [4, 4, 4]])
    g = diffopt.vmap(diffopt.grad(lambda x, i: dnp.sum(dnp.take_along_axis(x, i, 0) ** 3)))(
        xs, idxs)
    want = np.zeros_like(xs)
    for b in range(3):
        np.add.at(want[b], idxs[b], 3 * xs[b, idxs[b]] ** 2)
    np.testing.assert_allclose(g, want)


# --- diagonal, diag, triu, tril -------------------------------------------------------------------
@pytest.mark.parametrize("offset,axis1,axis2", [(0, 0, 1), (1, 0, 1), (-2, 0, 1), (2, 2, 0),
                                                (-1, 1, 2), (9, 0, 1)])
def test_diagonal(offset, axis1, axis2):
    np.testing.assert_array_equal(dnp.diagonal(X, offset, axis1, axis2),
                                  np.diagonal(X, offset, axis1, axis2))

    def f(x):
        return dnp.diagonal(x, offset, axis1, axis2)

    if np.diagonal(X, offset, axis1, axis2).size:  # check_grads needs something to compare
        check_grads(f, (X,), order=2)
    assert_vmap_matches_loop(f, np.stack([X, -X]))
    assert_jacobians_agree(f, X)


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag(k):
    v, m = np.array([1.0, -2.0, 3.0]), X[0]
    np.testing.assert_array_equal(dnp.diag(v, k), np.diag(v, k))
    np.testing.assert_array_equal(dnp.diag(m, k), np.diag(m, k))
    for arg in (v, m):
        f = lambda a: dnp.diag(a, k)  # noqa: E731
        check_grads(f, (arg,), order=2)
        assert_vmap_matches_loop(f, np.stack([arg, 2 * arg]))
        assert_jacobians_agree(f, arg)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        dnp.diag(X)


@pytest.mark.parametrize("fn", ["triu", "tril"])
@pytest.mark.parametrize("k", [0, 1, -1])
def test_triangles(fn, k):
    for m in (X, X[0], X[0, 0]):
        np.testing.assert_array_equal(getattr(dnp, fn)(m, k), getattr(np, fn)(m, k))
    f = lambda m: getattr(dnp, fn)(m, k)  # noqa: E731
    check_grads(f, (X,), order=2)
    assert_vmap_matches_loop(f, np.stack([X, -X]))
    inf = np.array([[np.inf, 1.0], [2.0, np.inf]])
    np.testing.assert_array_equal(getattr(dnp, fn)(inf, k), getattr(np, fn)(inf, k))


# --- sort -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, 1, None])
def test_sort(axis):
    np.testing.assert_array_equal(dnp.sort(X, axis=axis), np.sort(X, axis=axis))

    def f(x):
        return dnp.sort(x, axis=axis) * np.linspace(1.0, 2.0, X.size).reshape(
            np.sort(X, axis=axis).shape)

    check_grads(f, (X,), order=2)
    assert_vmap_matches_loop(f, np.stack([X, -X, X[::-1]]))
    assert_jacobians_agree(f, X)


def test_sort_gradient_follows_the_permutation():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(diffopt.grad(lambda x: dnp.sort(x)[0] * 5 + dnp.sort(x)[2])(x),
                                  [1.0, 5.0, 0.0])
    jac = diffopt.jacfwd(dnp.sort)(x)
    np.testing.assert_array_equal(jac, np.eye(3)[[1, 2, 0]])
    # vmap of a Jacobian: the permutation itself is batched inside the rules
    xs = np.array([[3.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    got = diffopt.vmap(diffopt.jacrev(lambda x: dnp.sort(x) ** 2))(xs)
    want = np.stack([diffopt.jacrev(lambda x: dnp.sort(x) ** 2)(x) for x in xs])
    np.testing.assert_allclose(got, want)
    got = diffopt.vmap(diffopt.jacfwd(dnp.sort))(xs)
    np.testing.assert_array_equal(got, np.stack([diffopt.jacfwd(dnp.sort)(x) for x in xs]))
    # hessian of a smooth function of sorted values
    h = diffopt.hessian(lambda x: dnp.sum(dnp.sort(x) ** 3 * np.arange(1.0, 4.0)))(x)
    np.testing.assert_allclose(h, np.diag(6 * x * np.array([3.0, 1.0, 2.0])))


def test_array_methods_on_traced_values():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])

    def f(x):
        return (dnp.sum(x.diagonal() ** 2) + dnp.sum(x.take([0, 0])) + dnp.sum(x.repeat(2, 0))
                + dnp.sum(x.sort(axis=0)[0]))

    g = diffopt.grad(f)(m)
    np.testing.assert_allclose(g, [[2 + 2 + 2 + 1, 2 + 1], [2, 8 + 2]])
