"""Bad and awkward inputs to the differentiable NumPy layer: axis arguments checked as NumPy checks
them, traced values refusing Python conversions with a way out, exact derivatives of powers at 0,
eigen- and singular-vector derivatives at repeated values, det at singular matrices, norms at 0."""

import math

import numpy as np
import pytest
import scipy.special as sc

import diffopt
import diffopt.numpy as dnp
import diffopt.scipy.special as dsc
from diffopt.core.axes import AxisError
from diffopt.core.batching import shift_axis
from diffopt.numerical import check_grads

X = np.arange(6.0).reshape(2, 3) / 7 + 0.1
S = np.array(1.5)
ROW = np.ones((1, 3))


# --- axes ---------------------------------------------------------------------------------------
def _case(name, call, x, *axes):
    return [pytest.param(call, x, ax, id=f"{name}-{ax}") for ax in axes]


# (call(xp, sp, x, axis), x, axis values): xp is numpy or diffopt.numpy, sp scipy.special or ours
AXIS_CASES = [
    *_case("sum", lambda xp, sp, x, ax: xp.sum(x, axis=ax), X, 2, -3, (0, 0), (0, -2), (0, 2)),
    *_case("sum0d", lambda xp, sp, x, ax: xp.sum(x, axis=ax), S, 0, -1, 1, (0,)),
    *_case("mean", lambda xp, sp, x, ax: xp.mean(x, axis=ax), X, 2, -3, (1, 1)),
    *_case("var", lambda xp, sp, x, ax: xp.var(x, axis=ax), X, 2, (0, 0)),
    *_case("std", lambda xp, sp, x, ax: xp.std(x, axis=ax), X, -3),
    *_case("prod", lambda xp, sp, x, ax: xp.prod(x, axis=ax), X, 2, -3, (0, 0)),
    *_case("max", lambda xp, sp, x, ax: xp.max(x, axis=ax), X, 2, (1, -1)),
    *_case("min", lambda xp, sp, x, ax: xp.min(x, axis=ax), X, -3),
    *_case("all", lambda xp, sp, x, ax: xp.all(x > 0, axis=ax), X, 2),
    *_case("any", lambda xp, sp, x, ax: xp.any(x > 0, axis=ax), X, -3),
    *_case("cumsum", lambda xp, sp, x, ax: xp.cumsum(x, axis=ax), X, 2, -3),
    *_case("cumsum0d", lambda xp, sp, x, ax: xp.cumsum(x, axis=ax), S, 0, 1),
    *_case("cumprod", lambda xp, sp, x, ax: xp.cumprod(x, axis=ax), X, 2, -3),
    *_case("argmax", lambda xp, sp, x, ax: xp.argmax(x, axis=ax), X, 2, -3),
    *_case("argmax0d", lambda xp, sp, x, ax: xp.argmax(x, axis=ax), S, -1, -2),
    *_case("argmin", lambda xp, sp, x, ax: xp.argmin(x, axis=ax), X, 2),
    *_case("argsort", lambda xp, sp, x, ax: xp.argsort(x, axis=ax), X, 2, -3),
    *_case("argsort0d", lambda xp, sp, x, ax: xp.argsort(x, axis=ax), S, 0, 1),
    *_case("sort", lambda xp, sp, x, ax: xp.sort(x, axis=ax), X, 2, -3),
    *_case("sort0d", lambda xp, sp, x, ax: xp.sort(x, axis=ax), S, -1, None),
    *_case("diff", lambda xp, sp, x, ax: xp.diff(x, axis=ax), X, 2, -3),
    *_case("trace", lambda xp, sp, x, ax: xp.trace(x, 0, *ax), X, (0, 2), (-3, 1), (0, -2)),
    *_case("diagonal", lambda xp, sp, x, ax: xp.diagonal(x, 0, *ax), X, (0, 2), (1, -1)),
    *_case("moveaxis", lambda xp, sp, x, ax: xp.moveaxis(x, *ax), X, (2, 0), (0, 2), (-3, 0),
           ([0, 0], [1, 0]), ([0, 1], [1, 1])),
    *_case("swapaxes", lambda xp, sp, x, ax: xp.swapaxes(x, *ax), X, (0, 2), (2, 0), (-3, 0)),
    *_case("transpose", lambda xp, sp, x, ax: xp.transpose(x, ax), X, (0, 2), (0, 0), (0,),
           (-1, -2)),
    *_case("expand_dims", lambda xp, sp, x, ax: xp.expand_dims(x, ax), X, 3, -4, (0, 0),
           (0, -4), (0, 3)),
    *_case("squeeze", lambda xp, sp, x, ax: xp.squeeze(x, ax), ROW, 2, -3, (0, 0), 1),
    *_case("squeeze0d", lambda xp, sp, x, ax: xp.squeeze(x, ax), S, 0, 1, (0,)),
    *_case("stack", lambda xp, sp, x, ax: xp.stack([x, x], ax), X, 3, -4, -3),
    *_case("concatenate", lambda xp, sp, x, ax: xp.concatenate([x, x], ax), X, 2, -3),
    *_case("flip", lambda xp, sp, x, ax: xp.flip(x, ax), X, 2, -3, (0, 0), (0, 2)),
    *_case("roll", lambda xp, sp, x, ax: xp.roll(x, 1, ax), X, 2, -3, (0, 0)),
    *_case("take", lambda xp, sp, x, ax: xp.take(x, [0], axis=ax), X, 2, -3),
    *_case("take0d", lambda xp, sp, x, ax: xp.take(x, 0, axis=ax), S, 0, 1),
    *_case("take_along_axis", lambda xp, sp, x, ax: xp.take_along_axis(
        x, np.zeros((2, 3), int), ax), X, 2, -3),
    *_case("repeat", lambda xp, sp, x, ax: xp.repeat(x, 2, axis=ax), X, 2, -3),
    *_case("split", lambda xp, sp, x, ax: xp.split(x, 1, axis=ax), X, 2, -3),
    *_case("array_split", lambda xp, sp, x, ax: xp.array_split(x, 2, axis=ax), X, 2),
    *_case("rot90", lambda xp, sp, x, ax: xp.rot90(x, 1, ax), X, (0, 2), (0, 3), (-3, 1),
           (1, 1)),
    *_case("tensordot", lambda xp, sp, x, ax: xp.tensordot(x, x.T, axes=ax), X, ([2], [0]),
           ([-3], [0]), ([1, 1], [0, 0])),
    *_case("norm", lambda xp, sp, x, ax: xp.linalg.norm(x, axis=ax), X, 2, -3, (0, 2), (0, 0),
           (0, -2)),
    *_case("vector_norm", lambda xp, sp, x, ax: xp.linalg.vector_norm(x, axis=ax), X, 2,
           (0, 0)),
    *_case("logsumexp", lambda xp, sp, x, ax: sp.logsumexp(x, axis=ax), X, 2, -3, (0, 0)),
    *_case("softmax", lambda xp, sp, x, ax: sp.softmax(x, axis=ax), X, 2),
    *_case("log_softmax", lambda xp, sp, x, ax: sp.log_softmax(x, axis=ax), X, -3),
]


def _outcome(fn, *args):
    try:
        return fn(*args), None
    except Exception as e:  # noqa: BLE001 - the exception is the result compared
        return None, e


def _traced(fn, x):
    """``fn(x)`` with ``x`` traced by forward mode (the value only)."""
    return diffopt.jvp(fn, (x,), (np.ones_like(x),))[0]


def _same_values(got, want):
    if isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same_values(g, w)
        return
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)
    assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("how", ["plain", "traced"])
@pytest.mark.parametrize("call,x,axis", AXIS_CASES)
def test_axis_arguments_are_checked_as_numpy_checks_them(call, x, axis, how):
    want, np_error = _outcome(call, np, sc, x, axis)
    ours = lambda x: call(dnp, dsc, x, axis)  # noqa: E731
    got, error = _outcome(ours, x) if how == "plain" else _outcome(_traced, ours, x)
    if np_error is None:
        assert error is None, f"NumPy accepts axis={axis}, diffopt raised {error!r}"
        _same_values(got, want)
        return
    assert isinstance(error, type(np_error)), (
        f"NumPy raises {np_error!r}, diffopt {'returned' if error is None else error!r}")
    if isinstance(np_error, AxisError):
        assert type(error) is AxisError and str(error) == str(np_error)


def test_axis_errors_under_vmap_use_the_element_dimension():
    # each element of the batch is 1-D: axis 1 is out of range although the batch is 2-D
    with pytest.raises(AxisError, match="axis 1 is out of bounds for array of dimension 1"):
        diffopt.vmap(lambda v: dnp.sum(v, axis=1))(X)
    with pytest.raises(AxisError, match="source: axis 1 is out of bounds"):
        diffopt.vmap(lambda v: dnp.moveaxis(v, 1, 0))(X)


def test_shift_axis_refuses_out_of_range_axes():
    assert shift_axis(-1, 2) == 2 and shift_axis((0, -1), 2) == (1, 2)
    with pytest.raises(AxisError):
        shift_axis(2, 2)
    with pytest.raises(AxisError):
        shift_axis((0, -3), 2)


def test_axis_error_is_a_value_and_index_error():
    with pytest.raises(ValueError):
        dnp.moveaxis(X, 2, 0)
    with pytest.raises(IndexError):
        dnp.moveaxis(X, 2, 0)


# --- traced values refuse conversion to Python numbers ------------------------------------------
TRANSFORMS = {
    "grad": lambda f, x: diffopt.grad(lambda x: dnp.sum(f(x) * x))(x),
    "jvp": lambda f, x: diffopt.jvp(f, (x,), (x,)),
    "vmap": lambda f, x: diffopt.vmap(f)(x[None]),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_and_tolist_of_a_traced_value_say_what_to_do(transform, method):
    convert = lambda x: getattr(x, method)()  # noqa: E731
    with pytest.raises(TypeError, match=rf"x\.{method}\(\) was called on a traced value.*index it"):
        TRANSFORMS[transform](convert, np.array(2.0))


# --- powers at 0 --------------------------------------------------------------------------------
def _nth_grad(f, k):
    for _ in range(k):
        f = diffopt.grad(f)
    return f


def _nth_jvp(f, k):
    for _ in range(k):
        f = (lambda g: lambda x: diffopt.jvp(g, (x,), (1.0,))[1])(f)
    return f


@pytest.mark.filterwarnings("ignore:the output of the differentiated function does not depend")
@pytest.mark.parametrize("nest", [_nth_grad, _nth_jvp], ids=["reverse", "forward"])
@pytest.mark.parametrize("power", ["operator", "power", "float_power"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_derivatives_of_integer_powers_at_zero_are_exact(n, power, nest):
    f = {"operator": lambda x: x**n, "power": lambda x: dnp.power(x, n),
         "float_power": lambda x: dnp.float_power(x, n)}[power]
    for k in range(1, 5):  # d^k/dx^k x^n at 0: n! when k == n, else 0
        assert float(nest(f, k)(0.0)) == (math.factorial(n) if k == n else 0.0), k


@pytest.mark.filterwarnings("ignore:the output of the differentiated function does not depend")
def test_polynomial_derivatives_at_zero():
    poly = lambda x: 3 * x**4 - x**3 + 2 * x**2 + x**0  # noqa: E731
    assert [float(_nth_grad(poly, k)(0.0)) for k in range(1, 6)] == [0.0, 4.0, -6.0, 72.0, 0.0]


def test_power_with_an_array_exponent_at_zero():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    f = lambda x: dnp.sum(x**y)  # noqa: E731
    np.testing.assert_array_equal(diffopt.grad(f)(np.zeros(4)), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(diffopt.hessian(f)(np.zeros(4)), np.diag([0.0, 0.0, 2.0, 0.0]))
    np.testing.assert_array_equal(diffopt.jacfwd(diffopt.grad(f))(np.zeros(4)),
                                  np.diag([0.0, 0.0, 2.0, 0.0]))


def test_power_with_a_traced_exponent_at_zero():
    second = diffopt.vmap(diffopt.grad(diffopt.grad(lambda x, y: x**y)))
    np.testing.assert_array_equal(second(np.zeros(4), np.array([0.0, 1.0, 2.0, 3.0])),
                                  [0.0, 0.0, 2.0, 0.0])
    h = diffopt.hessian(lambda v: v[0] ** v[1])(np.array([0.0, 2.0]))
    np.testing.assert_array_equal(h, [[2.0, 0.0], [0.0, 0.0]])


def test_fractional_powers_at_zero_stay_infinite():
    with np.errstate(divide="ignore"):
        assert diffopt.grad(lambda x: x**0.5)(0.0) == np.inf  # NumPy's 0.5 * 0**-0.5
        assert diffopt.grad(lambda x: x**1.5)(0.0) == 0.0
        assert _nth_grad(lambda x: x**1.5, 2)(0.0) == np.inf


def test_power_derivatives_at_generic_points():
    x = np.array([0.5, 1.5, 2.0, 0.7])
    check_grads(lambda x, y: x**y, (x, np.array([0.0, 2.0, -1.5, 3.0])), order=3)
    check_grads(lambda x: x**3 - x**0 + dnp.float_power(x, 2), (x - 1.2,), order=4)
    check_grads(lambda x: (x + 1j * x) ** 2 + dnp.reciprocal(x) + dnp.square(x), (x,), order=3)
    # the mixed derivative d2/dxdy x**y = x**(y-1) (1 + y log x) at y = 0 is 1/x
    h = diffopt.hessian(lambda v: v[0] ** v[1])(np.array([2.0, 0.0]))
    np.testing.assert_allclose(h, [[0.0, 0.5], [0.5, np.log(2.0) ** 2]], rtol=1e-14)


# --- norms at 0: the zero subgradient -----------------------------------------------------------
VECTOR_ORDS = [None, 2, 1, 3, 0.5, np.inf, -np.inf]
MATRIX_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]


def _derivatives_at(f, x):
    """Gradient, a forward-mode directional derivative, and the Hessian of scalar ``f`` at x."""
    t = np.linspace(1.0, 2.0, x.size).reshape(x.shape)
    return diffopt.grad(f)(x), diffopt.jvp(f, (x,), (t,))[1], diffopt.hessian(f)(x)


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms_at_zero_have_the_zero_subgradient(ord):
    for f in (lambda x: dnp.linalg.norm(x, ord), lambda x: dnp.linalg.vector_norm(x, ord=ord)):
        g, t, h = _derivatives_at(f, np.zeros(3))
        np.testing.assert_array_equal(g, np.zeros(3))
        assert t == 0.0
        np.testing.assert_array_equal(h, np.zeros((3, 3)))


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms_at_zero_have_the_zero_subgradient(ord):
    for f in (lambda x: dnp.linalg.norm(x, ord), lambda x: dnp.linalg.matrix_norm(x, ord=ord)):
        g, t, h = _derivatives_at(f, np.zeros((2, 3)))
        np.testing.assert_array_equal(g, np.zeros((2, 3)))
        assert t == 0.0
        np.testing.assert_array_equal(h, np.zeros((2, 3, 2, 3)))


def test_norms_along_axes_with_some_zero_groups():
    x = np.array([[0.0, 0.0, 3.0], [0.0, 4.0, 4.0]])
    for axis, keepdims in ((0, False), (1, True), (-1, False)):
        def f(x, axis=axis, keepdims=keepdims):
            return dnp.sum(dnp.linalg.norm(x, axis=axis, keepdims=keepdims))

        n = np.linalg.norm(x, axis=axis, keepdims=True)
        want = np.divide(x, n, out=np.zeros_like(x), where=n != 0)
        np.testing.assert_allclose(diffopt.grad(f)(x), want, rtol=1e-15)
        np.testing.assert_allclose(diffopt.jacfwd(f)(x), want, rtol=1e-15)
    stack = np.zeros((2, 2, 3))
    stack[1] = x
    g = diffopt.grad(lambda s: dnp.sum(dnp.linalg.norm(s, "nuc", axis=(1, 2))))(stack)
    assert np.all(g[0] == 0) and np.all(np.isfinite(g))


def test_norms_away_from_zero_are_unchanged():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    for ord in (None, 1, 3, np.inf):
        check_grads(lambda x, ord=ord: dnp.linalg.norm(x, ord, axis=1), (x,), order=2)
    for ord in ("fro", "nuc", 2):
        check_grads(lambda x, ord=ord: dnp.linalg.norm(x, ord), (x,), order=2)


def test_hypot_and_complex_abs_at_zero_have_the_zero_subgradient():
    assert diffopt.grad(lambda x: dnp.hypot(x, 2 * x))(0.0) == 0.0
    assert _nth_grad(lambda x: dnp.hypot(x, 2 * x), 2)(0.0) == 0.0
    assert diffopt.grad(lambda x: dnp.abs(x * (1 + 1j)))(0.0) == 0.0
    assert diffopt.jvp(lambda x: dnp.abs(x * (1 + 1j)), (0.0,), (1.0,))[1] == 0.0
    check_grads(lambda x, y: dnp.hypot(x, y), (np.array([0.5, -2.0]), np.array([1.0, 0.3])))
    check_grads(lambda x: dnp.abs(x * (1 - 2j)), (np.array([0.5, -2.0]),))


def test_subgradients_at_kinks_and_ties():
    # abs and the 1-norm: sign(0) = 0; ties of maximum/minimum and of max reductions split evenly
    assert diffopt.grad(dnp.abs)(0.0) == 0.0
    assert diffopt.grad(lambda x: dnp.maximum(x, 0.0))(0.0) == 0.5
    np.testing.assert_array_equal(diffopt.grad(dnp.max)(np.array([1.0, 1.0, 0.0])),
                                  [0.5, 0.5, 0.0])
    # written out by hand, the 2-norm keeps NumPy's sqrt'(0) * 0 = NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(diffopt.grad(lambda x: dnp.sqrt(dnp.sum(x**2)))(np.zeros(2))).all()


def test_where_derivative_keeps_the_dtype():
    x = np.array([-1.0, 2.0], dtype=np.float32)
    f = lambda x: dnp.sum(dnp.where(x > 0, x, 2 * x))  # noqa: E731
    g = diffopt.grad(f)(x)
    assert g.dtype == np.float32 and g.tolist() == [2.0, 1.0]
    assert diffopt.jvp(f, (x,), (np.ones_like(x),))[1].dtype == np.float32


# --- eigenvectors and singular vectors at repeated values ----------------------------------------
la = dnp.linalg
Q = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))[0]
REPEATED = Q @ np.diag([1.0, 1.0, 2.0]) @ Q.T  # a double eigenvalue, rounded: not exactly equal


def test_eigenvalue_losses_at_repeated_eigenvalues_have_their_gradient():
    # the eigenvector cotangent is structurally zero: nothing of 1 / (w_i - w_j) enters
    trace = lambda a: dnp.sum(la.eigh(a)[0])  # noqa: E731
    for a in (np.eye(2), np.eye(3), REPEATED, np.zeros((3, 3))):
        np.testing.assert_allclose(diffopt.grad(trace)(a), np.eye(len(a)), atol=1e-14)
    np.testing.assert_allclose(diffopt.jacrev(lambda a: la.eigh(a)[0])(np.eye(2)),
                               [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    # weights equal on the repeated eigenvalue: a differentiable function, checked against FD
    c = np.array([1.0, 1.0, 3.0])
    check_grads(lambda a: la.eigh(a)[0] @ c, (REPEATED,), modes=("rev",), order=1)
    # a single eigenvalue of a repeated pair has no derivative; like JAX and PyTorch, we give
    # v v^T for the eigenvector v that LAPACK returned
    v = np.linalg.eigh(np.eye(2))[1][:, 0]
    np.testing.assert_allclose(diffopt.grad(lambda a: la.eigh(a)[0][0])(np.eye(2)), np.outer(v, v))


def test_singular_value_losses_at_repeated_or_zero_values_have_their_gradient():
    nuclear = lambda a: dnp.sum(la.svd(a, full_matrices=False)[1])  # noqa: E731
    np.testing.assert_allclose(diffopt.grad(nuclear)(np.eye(3)), np.eye(3), atol=1e-14)
    low_rank = np.outer([1.0, 2.0, 2.0], [1.0, 0.0])  # 3x2, singular values (3, 0)
    u, _, vh = np.linalg.svd(low_rank, full_matrices=False)
    np.testing.assert_allclose(diffopt.grad(nuclear)(low_rank), u @ vh, atol=1e-14)


@pytest.mark.parametrize("case", [
    "eigenvector loss", "eigh forward", "eigvalsh hessian", "eigh near repeated",
    "singular vectors", "svd forward", "svdvals hessian", "non-square zero singular value",
])
def test_vector_derivatives_at_repeated_values_are_reported(case):
    weights = np.arange(9.0).reshape(3, 3)
    calls = {
        "eigenvector loss": lambda: diffopt.grad(
            lambda a: dnp.sum(la.eigh(a)[1] ** 2 * weights))(np.eye(3)),
        "eigh forward": lambda: diffopt.jvp(lambda a: la.eigh(a)[0], (np.eye(3),), (weights,)),
        "eigvalsh hessian": lambda: diffopt.hessian(
            lambda a: dnp.sum(la.eigvalsh(a) ** 2))(np.eye(3)),
        "eigh near repeated": lambda: diffopt.grad(
            lambda a: dnp.sum(la.eigh(a)[1] ** 2 * weights))(REPEATED),
        "singular vectors": lambda: diffopt.grad(
            lambda a: dnp.sum(la.svd(a)[0] ** 2 * weights))(2 * np.eye(3)),
        "svd forward": lambda: diffopt.jvp(lambda a: la.svd(a)[1], (np.eye(3),), (weights,)),
        "svdvals hessian": lambda: diffopt.hessian(lambda a: la.norm(a, "nuc"))(np.eye(3)),
        "non-square zero singular value": lambda: diffopt.grad(
            lambda a: dnp.sum(la.svd(a, full_matrices=False)[0] ** 3))(np.ones((3, 2))),
    }
    with pytest.raises(diffopt.core.DerivativeError, match="no derivative at a repeated"):
        calls[case]()


# --- det and slogdet at singular matrices ---------------------------------------------------------
def _cofactors(a):
    """The cofactor matrix by its definition: signed minors."""
    n = len(a)
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                      for j in range(n)] for i in range(n)])


SINGULAR = {
    "2x2 rank 1": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "3x3 rank 2": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "3x3 rank 2 zero column": np.array([[1.0, 0.0, 3.0], [4.0, 0.0, 6.0], [7.0, 0.0, 8.0]]),
    "3x3 rank 1": np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0]),
    "zero": np.zeros((3, 3)),
}


@pytest.mark.parametrize("name", SINGULAR)
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(name):
    a = SINGULAR[name]
    assert np.linalg.det(a) == 0.0  # exactly singular for LU: inv(a) raises LinAlgError
    want = _cofactors(a)
    np.testing.assert_allclose(diffopt.grad(dnp.linalg.det)(a), want, atol=1e-13)
    np.testing.assert_allclose(diffopt.jacfwd(dnp.linalg.det)(a), want, atol=1e-13)
    t = np.arange(a.size, dtype=float).reshape(a.shape)
    np.testing.assert_allclose(diffopt.jvp(dnp.linalg.det, (a,), (t,))[1], np.sum(want * t),
                               atol=1e-12)
    check_grads(dnp.linalg.det, (a,), order=1)


def test_det_second_derivatives_at_rank_n_minus_one():
    for name in ("2x2 rank 1", "3x3 rank 2"):  # distinct singular values: the SVD way works
        check_grads(dnp.linalg.det, (SINGULAR[name],), order=2)
    # det of a 2x2 matrix is a d - b c: its Hessian is constant
    h = diffopt.hessian(dnp.linalg.det)(SINGULAR["2x2 rank 1"]).reshape(4, 4)
    np.testing.assert_allclose(h, np.fliplr(np.diag([1.0, -1.0, -1.0, 1.0])), atol=1e-13)
    with pytest.raises(diffopt.core.DerivativeError, match="order two and higher"):
        diffopt.hessian(dnp.linalg.det)(SINGULAR["3x3 rank 1"])


def test_det_gradient_of_stacks_mixing_singular_and_invertible_matrices():
    stack = np.stack([SINGULAR["3x3 rank 2"], np.diag([1.0, 2.0, 4.0]), SINGULAR["zero"]])
    want = np.stack([_cofactors(a) for a in stack])
    np.testing.assert_allclose(diffopt.grad(lambda s: dnp.sum(dnp.linalg.det(s)))(stack), want,
                               atol=1e-13)
    np.testing.assert_allclose(diffopt.vmap(diffopt.grad(dnp.linalg.det))(stack), want,
                               atol=1e-13)


def test_det_gradient_of_a_complex_singular_matrix():
    a = SINGULAR["3x3 rank 2"] * (1 - 2j)
    (g,) = diffopt.vjp(dnp.linalg.det, a)[1](1.0 + 0j)  # holomorphic: the cofactors, unconjugated
    np.testing.assert_allclose(g, _cofactors(SINGULAR["3x3 rank 2"]) * (1 - 2j) ** 2, atol=1e-12)


def test_slogdet_at_a_singular_matrix_reports_that_logabsdet_has_no_derivative():
    a = SINGULAR["2x2 rank 1"]
    with pytest.raises(diffopt.core.DerivativeError, match="logabsdet is -inf"):
        diffopt.grad(lambda a: dnp.linalg.slogdet(a)[1])(a)
    with pytest.raises(diffopt.core.DerivativeError, match="logabsdet is -inf"):
        diffopt.jvp(lambda a: dnp.linalg.slogdet(a)[1], (a,), (np.eye(2),))
    # the sign of a real matrix alone: a piecewise constant, derivative 0 (as numpy.sign)
    np.testing.assert_array_equal(diffopt.grad(lambda a: dnp.linalg.slogdet(a)[0])(a),
                                  np.zeros((2, 2)))
    check_grads(lambda a: dnp.linalg.slogdet(a)[1], (a + np.eye(2),), order=2)
