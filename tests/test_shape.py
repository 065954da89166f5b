"""Shape and assembly functions: values against NumPy, derivatives against finite differences (order
2, both modes), vmap against a Python loop, jacfwd against jacrev."""

import numpy as np
import pytest

import diffopt
import diffopt.numpy as dnp
from diffopt.numerical import check_grads

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
M = RNG.standard_normal((4, 6))
V = RNG.standard_normal(6)


def _compare(got, want):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _compare(g, w)
        return
    got = np.asarray(got)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def check_function(fn, np_fn, *args, jacobians=True):
    """Values vs NumPy, check_grads of order 2 in both modes, vmap vs a loop, jacfwd vs jacrev."""
    _compare(fn(*args), np_fn(*args))
    if sum(np.size(y) for y in diffopt.tree_leaves(np_fn(*args))):  # else nothing to compare
        check_grads(fn, args, order=2)
    batches = [np.stack([a, 2 * a - 1, -a]) for a in args]
    got = diffopt.vmap(fn)(*batches)
    loop = [fn(*[b[i] for b in batches]) for i in range(3)]
    if isinstance(got, (list, tuple)):
        _compare(got, [np.stack(parts) for parts in zip(*loop, strict=True)])
    else:
        _compare(got, np.stack(loop))
    if jacobians:
        for k in range(len(args)):
            _compare(diffopt.jacfwd(fn, argnums=k)(*args), diffopt.jacrev(fn, argnums=k)(*args))


# --- atleast_nd and stacking ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("x", [np.array(1.5), V, M, X], ids=["0d", "1d", "2d", "3d"])
def test_atleast(name, x):
    check_function(getattr(dnp, name), getattr(np, name), x)


def test_atleast_several_and_lists():
    a, b = dnp.atleast_2d(1.0, [1.0, 2.0])
    assert a.shape == (1, 1) and b.shape == (1, 2)
    assert dnp.atleast_3d([[1.0, 2.0]]).shape == (1, 2, 1)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("a,b", [(V, 2 * V), (M, M)],
                         ids=["1d", "2d"])
def test_stacking(name, a, b):
    def fn(x, y):
        return getattr(dnp, name)([x, y ** 2])

    def np_fn(x, y):
        return getattr(np, name)([x, y ** 2])

    check_function(fn, np_fn, a, b)


def test_stacking_shapes_and_lists():
    np.testing.assert_array_equal(dnp.hstack([M, M[:, :2]]), np.hstack([M, M[:, :2]]))
    np.testing.assert_array_equal(dnp.vstack([V, M[:1]]), np.vstack([V, M[:1]]))
    np.testing.assert_array_equal(dnp.hstack([[1.0, 2.0], [3.0]]), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(dnp.stack([[1.0, 2.0], [3.0, 4.0]], axis=1), [[1, 3], [2, 4]])
    with pytest.raises(ValueError, match="at least one array"):
        dnp.vstack([])


# --- split ----------------------------------------------------------------------------------------
SPLITS = [
    ("split", 3, 0), ("split", [1, 3], 1), ("split", [3, 1], -1), ("array_split", 3, 1),
    ("array_split", [-2, 2, 9], 2), ("array_split", 7, 0),
]


@pytest.mark.parametrize("name,sections,axis", SPLITS)
def test_split(name, sections, axis):
    def fn(x):
        return [p * (k + 1) for k, p in enumerate(getattr(dnp, name)(x, sections, axis))]

    def np_fn(x):
        return [p * (k + 1) for k, p in enumerate(getattr(np, name)(x, sections, axis))]

    check_function(fn, np_fn, X[:, :, :3] if axis == 0 and sections == 3 else X,
                   jacobians=False)


def test_split_gradient_with_overlapping_pieces_and_unused_pieces():
    x = np.arange(6.0)
    # pieces x[:4], x[4:2] (empty), x[2:]: positions 2 and 3 appear twice
    g = diffopt.grad(lambda x: sum(dnp.sum(p) for p in dnp.array_split(x, [4, 2])))(x)
    np.testing.assert_array_equal(g, [1, 1, 2, 2, 1, 1])
    g = diffopt.grad(lambda x: dnp.sum(dnp.split(x, 3)[1] ** 2))(x)
    np.testing.assert_array_equal(g, [0, 0, 4, 6, 0, 0])
    jf = diffopt.jacfwd(lambda x: dnp.array_split(x, [4, 2])[2])(x)
    jr = diffopt.jacrev(lambda x: dnp.array_split(x, [4, 2])[2])(x)
    np.testing.assert_array_equal(jf, jr)


def test_split_errors_and_variants():
    with pytest.raises(ValueError, match="equal division"):
        dnp.split(np.arange(5.0), 2)
    with pytest.raises(ValueError, match="larger than 0"):
        dnp.array_split(np.arange(5.0), 0)
    for name, arr in [("hsplit", M), ("vsplit", M), ("dsplit", np.ones((2, 2, 4))),
                      ("hsplit", V)]:
        _compare(getattr(dnp, name)(arr, 2), getattr(np, name)(arr, 2))
    with pytest.raises(ValueError, match="dsplit only works"):
        dnp.dsplit(M, 2)


# --- tile, repeat ---------------------------------------------------------------------------------
@pytest.mark.parametrize("x,reps", [(V, 2), (M, (2, 1)), (V, (2, 1, 3)), (X, (2,)),
                                    (np.array(0.5), (3, 2)), (M, (1, 1))])
def test_tile(x, reps):
    check_function(lambda a: dnp.tile(a, reps), lambda a: np.tile(a, reps), x)


@pytest.mark.parametrize("repeats,axis", [(2, None), (3, 1), ([1, 0, 2, 1], 1), (1, -1),
                                          ([2, 2, 0], 0), ([3], 2), (0, 0)])
def test_repeat(repeats, axis):
    check_function(lambda a: dnp.repeat(a, repeats, axis), lambda a: np.repeat(a, repeats, axis),
                   X[:, :, :2] if axis is None else X, jacobians=repeats != 0)


def test_repeat_errors():
    with pytest.raises(ValueError, match="repeat counts"):
        dnp.repeat(X, [1, 2], axis=1)
    with pytest.raises(ValueError, match="negative"):
        dnp.repeat(X, -1)


# --- flips, rotations, rolls ----------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), ()])
def test_flip(axis):
    check_function(lambda a: dnp.flip(a, axis), lambda a: np.flip(a, axis), X)


@pytest.mark.parametrize("name", ["fliplr", "flipud"])
def test_fliplr_flipud(name):
    check_function(getattr(dnp, name), getattr(np, name), M)
    with pytest.raises(ValueError):
        getattr(dnp, name)(np.array(1.0))


@pytest.mark.parametrize("k,axes", [(1, (0, 1)), (2, (0, 1)), (3, (0, 1)), (-1, (1, 2)),
                                    (4, (0, 1)), (1, (2, 0))])
def test_rot90(k, axes):
    check_function(lambda a: dnp.rot90(a, k, axes), lambda a: np.rot90(a, k, axes), X)


def test_rot90_errors():
    with pytest.raises(ValueError, match="different"):
        dnp.rot90(M, 1, (1, 1))
    with pytest.raises(ValueError, match="len"):
        dnp.rot90(M, 1, (0,))


@pytest.mark.parametrize("shift,axis", [(1, None), (-7, None), (2, 1), ((1, -2), (0, 2)),
                                        ((1, 2), (1, 1)), (5, 0), (0, 1), ((2,), -1)])
def test_roll(shift, axis):
    check_function(lambda a: dnp.roll(a, shift, axis), lambda a: np.roll(a, shift, axis), X)


# --- pad ------------------------------------------------------------------------------------------
PADS = [
    ((1, 2), "constant", {}),
    (((0, 1), (2, 0), (1, 1)), "constant", {"constant_values": 2.5}),
    (1, "constant", {"constant_values": ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))}),
    (2, "edge", {}),
    (((1, 3), (0, 0), (4, 2)), "reflect", {}),
    ((6, 7), "reflect", {}),
    (((2, 1), (5, 0), (0, 0)), "symmetric", {}),
    ((3, 9), "wrap", {}),
    (0, "wrap", {}),
]


@pytest.mark.parametrize("width,mode,kwargs", PADS)
def test_pad(width, mode, kwargs):
    check_function(lambda a: dnp.pad(a, width, mode, **kwargs),
                   lambda a: np.pad(a, width, mode, **kwargs), X[:, :3, :4])


def test_pad_with_a_traced_fill_value():
    x = M[:2, :3]

    def fn(a, c):
        return dnp.pad(a, ((1, 0), (2, 1)), constant_values=c)

    c = np.array(0.7)
    _compare(fn(x, 0.7), np.pad(x, ((1, 0), (2, 1)), constant_values=0.7))
    check_grads(fn, (x, c), order=2)
    # the fill value receives the sum of the border's cotangents: 3 * 6 - 6 cells are border
    assert diffopt.grad(lambda c: dnp.sum(fn(x, c)))(c) == pytest.approx(12.0)
    got = diffopt.vmap(fn, in_axes=(None, 0))(x, np.array([1.0, 2.0]))
    _compare(got, np.stack([fn(x, 1.0), fn(x, 2.0)]))


def test_pad_empty_mode_and_errors():
    _compare(dnp.pad(V, 2, "empty"), np.pad(V, 2))
    with pytest.raises(NotImplementedError, match="mode 'median'"):
        dnp.pad(V, 1, "median")
    with pytest.raises(NotImplementedError, match="reflect_type"):
        dnp.pad(V, 1, "reflect", reflect_type="odd")
    with pytest.raises(ValueError, match="negative"):
        dnp.pad(V, -1)
    with pytest.raises(ValueError, match="empty axis"):
        dnp.pad(np.zeros((0, 2)), 1, "edge")


def test_shape_arguments_must_not_be_traced():
    with pytest.raises(TypeError, match="tile: reps must be plain"):
        diffopt.grad(lambda x: dnp.sum(dnp.tile(V, x)))(2.0)
    with pytest.raises(TypeError, match="roll: shift must be plain"):
        diffopt.grad(lambda x: dnp.sum(dnp.roll(V, x)))(2.0)
    with pytest.raises(TypeError, match="pad: pad_width must be plain"):
        diffopt.grad(lambda x: dnp.sum(dnp.pad(V, x)))(2.0)
