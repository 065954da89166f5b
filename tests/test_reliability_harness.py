"""Reliability harness: random good and bad inputs through the public API (hypothesis).

Every example must end, under a time limit, with either a correct value or a clear exception that
diffopt itself raised (a message saying what was wrong). A NaN is accepted only where the exact
answer is not finite either. Where ``diffopt.numpy`` mirrors NumPy, NumPy's own reaction to the
same call is the reference: the same value, or an exception of the same type.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import traceback
import warnings

import numpy as onp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import diffopt
import diffopt.numpy as np
from diffopt import solvers
from diffopt.numerical import check_grads
from diffopt.ode import solve

LIMIT_S = 20.0  # no single example may take longer: a hang fails the test instead of CI
OUR_CODE = tuple(os.path.dirname(m.__file__) + os.sep for m in (diffopt, solvers))
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float = LIMIT_S):
    """Fail (rather than hang) if the block runs longer than ``seconds``."""

    def alarm(signum, frame):
        raise Hang(f"no result within {seconds} s: a loop without a bound?")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(call):
    """``("value", result)`` or ``("error", exception)``; a hang raises ``Hang``."""
    with time_limit(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "value", call()
        except Hang:
            raise
        except Exception as exc:  # noqa: BLE001 - judged by assert_clear
            return "error", exc


def raised_by_us(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(OUR_CODE)


def assert_clear(exc: BaseException, numpy_type: type | None = None):
    """A clear error: a standard exception type with a real message, raised by diffopt itself
    (or, for a NumPy mirror, of the type NumPy raises for the same call)."""
    if numpy_type is not None and isinstance(exc, numpy_type):
        return
    assert isinstance(exc, (TypeError, ValueError, IndexError, RuntimeError)), repr(exc)
    assert len(str(exc)) >= 15, f"a message too short to say what to do: {exc!r}"
    where = traceback.extract_tb(exc.__traceback__)[-1]
    assert raised_by_us(exc), (f"{type(exc).__name__}: {exc} was raised inside "
                               f"{where.filename}:{where.lineno}, not by a check of diffopt's")


INVALID = object()  # the reference's verdict: the input must be refused


EMPTY = object()  # the reference's verdict: an input without leaves (None, []) may be refused


def assert_matches(kind, got, want, nan_spreads: bool = False):
    """The outcome agrees with the reference: equal values, or a clear refusal.

    ``nan_spreads``: the input holds NaN or inf, and a NaN may stand where the exact value is
    finite (0 * NaN in a Jacobian's zero entries), but no finite number where it is not."""
    if want is EMPTY:
        if kind == "error":
            assert_clear(got)
        else:
            assert diffopt.tree_leaves(got) == [], f"returned {got!r} for an empty input"
        return
    if want is INVALID:
        assert kind == "error", f"returned {got!r} for an input that must be refused"
        assert_clear(got)
        return
    if kind == "error":
        raise AssertionError(f"refused a valid input: {got!r}") from got
    got_leaves, got_tree = diffopt.tree_flatten(got)
    want_leaves, want_tree = diffopt.tree_flatten(want)
    assert got_tree == want_tree, (got_tree, want_tree)
    for g, w in zip(got_leaves, want_leaves):
        assert onp.shape(g) == onp.shape(w)
        if nan_spreads:
            g = onp.where(onp.isnan(g) & onp.isfinite(w), w, g)
        onp.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-9, equal_nan=True)


# --- the input zoo ---------------------------------------------------------------------------
float_arrays = hnp.arrays(onp.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                        max_side=3),
                          elements=st.floats(-3, 3))
special_floats = st.sampled_from([0.0, -0.0, 1.0, onp.nan, onp.inf, -onp.inf, 1e300, 1e-300])
odd_arrays = hnp.arrays(onp.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
                        elements=special_floats)
bad_values = st.sampled_from([
    None, "x", b"x", [1.0, "a"], {"a": "b"}, 3, True, 2 + 1j, object(), onp.array([1, 2]),
    onp.array([True]), onp.array(["a"]), onp.array([1.0, 2.0], dtype=object), slice(1),
    onp.ones(3, dtype=onp.complex128), ...,
])
pytrees = st.one_of(
    st.lists(float_arrays, min_size=1, max_size=2),
    st.dictionaries(st.sampled_from("ab"), float_arrays, min_size=1),
    st.tuples(float_arrays, st.floats(-2, 2)),
)
any_input = st.one_of(float_arrays, odd_arrays, st.floats(allow_nan=True), bad_values, pytrees)


def float_leaves(tree, kinds: str = "f"):
    """The leaves of a valid pytree of arrays of these dtype kinds ([] for an empty tree), or
    None if it is not one."""
    try:
        leaves, _ = diffopt.tree_flatten(tree)
    except Exception:  # noqa: BLE001
        return None
    out = []
    for leaf in leaves:
        if isinstance(leaf, bool) or not isinstance(leaf, (float, int, complex, onp.ndarray)):
            return None
        arr = onp.asarray(leaf)
        if arr.dtype.kind not in kinds:
            return None
        out.append(arr)
    return out


def tree_like(tree, leaves):
    return diffopt.tree_unflatten(diffopt.tree_structure(tree), leaves)


# --- transforms ------------------------------------------------------------------------------
def energy(x):
    return sum(np.sum(np.sin(v) * v) for v in diffopt.tree_leaves(x))


def energy_grad(v):
    return onp.cos(v) * v + onp.sin(v)


@FUZZ
@given(any_input)
def test_grad_on_any_input(x):
    leaves = float_leaves(x)
    want = INVALID if leaves is None else tree_like(x, [energy_grad(v) for v in leaves])
    assert_matches(*run(lambda: diffopt.grad(energy)(x)), EMPTY if leaves == [] else want)


@FUZZ
@given(any_input, any_input)
def test_jvp_and_vjp_on_any_inputs(x, v):
    def reference(kinds):
        """(primal, tangent) of the tree map of sin, or INVALID/EMPTY."""
        xs, vs = float_leaves(x), float_leaves(v, kinds=kinds)
        if xs is None or vs is None or diffopt.tree_structure(x) != diffopt.tree_structure(v) \
                or any(a.shape != b.shape for a, b in zip(xs, vs)):
            return INVALID, INVALID
        if not xs:
            return EMPTY, EMPTY
        # a complex cotangent of a real output pulls back to its real part (⟨u, v⟩ = Re Σ u·v)
        return (tree_like(x, [onp.sin(a) for a in xs]),
                tree_like(x, [onp.real(onp.cos(a) * b) for a, b in zip(xs, vs)]))

    sin_tree = lambda t: diffopt.tree_map(np.sin, t)
    primal, tangent = reference("fiu")  # tangents: real numbers for real primals
    want = tangent if tangent is INVALID or tangent is EMPTY else (primal, tangent)
    assert_matches(*run(lambda: diffopt.jvp(sin_tree, (x,), (v,))), want)
    _, cotangent = reference("fciu")
    want = cotangent if cotangent is INVALID or cotangent is EMPTY else (cotangent,)
    assert_matches(*run(lambda: diffopt.vjp(sin_tree, x)[1](v)), want)


@FUZZ
@given(any_input)
def test_jacobians_and_hessian_on_any_input(x):
    assume(not isinstance(x, (list, tuple, dict, type(None))))  # pytrees: other tests
    leaves = float_leaves(x, kinds="fc")
    v = leaves[0] if leaves else None
    odd = v is not None and not onp.all(onp.isfinite(v))
    with onp.errstate(all="ignore"):
        jac = INVALID if v is None else onp.diag(onp.cos(v).ravel()).reshape(v.shape * 2)
        hess = INVALID if v is None or v.dtype.kind == "c" else onp.diag(
            (2 * onp.cos(v) - v * onp.sin(v)).ravel()).reshape(v.shape * 2)
    for jacobian in (diffopt.jacfwd, diffopt.jacrev):
        assert_matches(*run(lambda j=jacobian: j(np.sin)(x)), jac, nan_spreads=odd)
    assert_matches(*run(lambda: diffopt.hessian(energy)(x)), hess, nan_spreads=odd)


axes = st.one_of(st.none(), st.integers(-4, 4))


@FUZZ
@given(float_arrays, axes, st.integers(-4, 4))
def test_vmap_axes_are_validated_as_numpy_does(x, in_axis, out_axis):
    row = lambda r: r * 2.0 + 1.0
    if in_axis is None or x.ndim == 0 or not -x.ndim <= in_axis < x.ndim \
            or not -x.ndim <= out_axis < x.ndim:
        want = INVALID
    else:
        want = onp.moveaxis(row(onp.moveaxis(x, in_axis, 0)), 0, out_axis)
    got = run(lambda: diffopt.vmap(row, in_axes=in_axis, out_axes=out_axis)(x))
    assert_matches(*got, want)


@FUZZ
@given(st.one_of(st.integers(-3, 3), st.floats(-2, 2), st.tuples(st.integers(-3, 3)),
                 st.tuples(st.integers(-3, 3), st.integers(-3, 3)), st.none(), st.just("0"),
                 st.just(True)))
def test_argnums_are_validated(argnums):
    f = lambda x, y: x * y**2
    x, y = 1.5, 2.0
    partials = {0: y**2, 1: 2 * x * y}
    nums = (argnums,) if isinstance(argnums, int) and not isinstance(argnums, bool) else argnums
    valid = (isinstance(nums, tuple) and len(nums) > 0
             and all(isinstance(n, int) and not isinstance(n, bool) and -2 <= n < 2
                     for n in nums)
             and len({n % 2 for n in nums}) == len(nums))
    if not valid:
        want = INVALID
    else:
        g = tuple(partials[n % 2] for n in nums)
        want = g[0] if isinstance(argnums, int) else g
    kind, got = run(lambda: diffopt.grad(f, argnums=argnums)(x, y))
    if valid or kind == "error":
        assert_matches(kind, got, want)
    else:  # repeated argnums may be answered as JAX does: each entry its own partial
        assert isinstance(argnums, tuple) and len(set(n % 2 for n in argnums)) < len(argnums)
        assert_matches(kind, got, tuple(partials[n % 2] for n in argnums))


@FUZZ
@given(st.one_of(st.just(("fwd", "rev")), st.just(("rev",)), st.just(["fwd"]), st.just("rev"),
                 st.just(()), st.just(("reverse",)), st.just(None), st.just(("fwd", "bad"))),
       st.one_of(st.just((0.5,)), st.just(0.5), st.just([0.3]), st.just(None)))
def test_check_grads_refuses_what_it_cannot_check(modes, args):
    valid = (isinstance(modes, (tuple, list)) and len(modes) > 0
             and set(modes) <= {"fwd", "rev"} and isinstance(args, (tuple, list)))

    @diffopt.custom_vjp
    def wrong(x):
        return np.sin(x)

    wrong.defvjp(lambda x: (np.sin(x), x), lambda x, g: (2.0 * g,))
    kind, got = run(lambda: check_grads(np.sin, args, modes=modes))
    if valid:
        assert kind == "value", got
        kind, got = run(lambda: check_grads(wrong, args, modes=modes))
        if "rev" in modes:
            assert isinstance(got, AssertionError), got
    else:
        assert kind == "error"
        assert_clear(got)


# --- diffopt.numpy against NumPy: axes, empty and odd arrays ---------------------------------
AXIS_FUNCTIONS = {
    "sum": lambda m, x, a: m.sum(x, axis=a),
    "mean": lambda m, x, a: m.mean(x, axis=a),
    "prod": lambda m, x, a: m.prod(x, axis=a),
    "max": lambda m, x, a: m.max(x, axis=a),
    "std": lambda m, x, a: m.std(x, axis=a),
    "cumsum": lambda m, x, a: m.cumsum(x, axis=a),
    "sort": lambda m, x, a: m.sort(x, axis=a),
    "flip": lambda m, x, a: m.flip(x, axis=a),
    "roll": lambda m, x, a: m.roll(x, 1, axis=a),
    "diff": lambda m, x, a: m.diff(x, axis=a),
    "expand_dims": lambda m, x, a: m.expand_dims(x, a),
    "squeeze": lambda m, x, a: m.squeeze(x, axis=a),
    "moveaxis": lambda m, x, a: m.moveaxis(x, a, 0),
    "swapaxes": lambda m, x, a: m.swapaxes(x, a, 0),
    "stack": lambda m, x, a: m.stack([x, x], axis=a),
    "concatenate": lambda m, x, a: m.concatenate([x, x], axis=a),
    "take": lambda m, x, a: m.take(x, m.asarray([0]), axis=a),
    "norm": lambda m, x, a: m.linalg.norm(x, axis=a),
}
numpy_axes = st.one_of(st.none(), st.integers(-4, 4),
                       st.tuples(st.integers(-3, 3), st.integers(-3, 3)))


def numpy_reference(fn, x, axis):
    try:
        with warnings.catch_warnings(), onp.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "value", fn(onp, x, axis)
    except Exception as exc:  # noqa: BLE001
        return "error", exc


@settings(FUZZ, max_examples=400)
@given(st.sampled_from(sorted(AXIS_FUNCTIONS)), st.one_of(float_arrays, odd_arrays), numpy_axes)
def test_numpy_functions_follow_numpy_on_axes_and_odd_arrays(name, x, axis):
    fn = AXIS_FUNCTIONS[name]
    want_kind, want = numpy_reference(fn, x, axis)
    kind, got = run(lambda: fn(np, x, axis))
    if want_kind == "error":
        assert kind == "error", f"numpy raised {want!r}, diffopt returned {got!r}"
        assert_clear(got, numpy_type=type(want))
        return
    if kind == "error":
        raise AssertionError(f"numpy returned {want!r}; diffopt raised {got!r}") from got
    onp.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert onp.shape(got) == onp.shape(want)


# --- no NaN where the derivative is finite ---------------------------------------------------
def poly_derivative(coeffs, order, x):
    return onp.polynomial.polynomial.polyval(
        x, onp.polynomial.polynomial.polyder(coeffs, order) if order else coeffs)


POWER_FORMS = {
    "x**k": lambda x, k: x**k,
    "power": lambda x, k: np.power(x, float(k)),
    "float_power": lambda x, k: np.float_power(x, k),
    "repeated product": lambda x, k: math.prod([x] * k) if k else 1.0 + 0.0 * x,
}


@settings(FUZZ, max_examples=200)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=5), st.integers(1, 4),
       st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]), st.sampled_from(sorted(POWER_FORMS)))
def test_polynomial_derivatives_are_exact_at_every_order_and_point(coeffs, order, x, form):
    power = POWER_FORMS[form]
    f = lambda x: sum(c * power(x, k) for k, c in enumerate(coeffs))
    d = f
    for _ in range(order):
        d = diffopt.grad(d)
    kind, got = run(lambda: d(x))
    assert kind == "value", got
    onp.testing.assert_allclose(got, poly_derivative(coeffs, order, x), rtol=1e-10, atol=1e-10)


symmetric_with_repeats = st.builds(
    lambda q, eig: (lambda Q: (Q * onp.asarray(eig)) @ Q.T)(onp.linalg.qr(q)[0]),
    hnp.arrays(onp.float64, (3, 3), elements=st.floats(-1, 1)).filter(
        lambda a: abs(onp.linalg.det(a)) > 1e-2),
    st.lists(st.sampled_from([-1.0, 0.0, 2.0]), min_size=3, max_size=3),
)


@settings(FUZZ, max_examples=60)
@given(symmetric_with_repeats)
def test_eigenvalue_losses_have_finite_gradients_at_repeated_eigenvalues(a):
    # sum(f(eigenvalues)) is the trace of f(A): its gradient is f'(A), for any spectrum.
    loss = lambda a: np.sum(np.exp(np.linalg.eigh(a)[0]))
    kind, got = run(lambda: diffopt.grad(loss)(a))
    assert kind == "value", got
    lam, q = onp.linalg.eigh(a)
    onp.testing.assert_allclose(got, (q * onp.exp(lam)) @ q.T, atol=1e-8)
    kind, got = run(lambda: diffopt.grad(lambda a: np.sum(np.linalg.svd(a)[1] ** 2))(a))
    assert kind == "value", got
    onp.testing.assert_allclose(got, 2 * a, atol=1e-8)  # sum of squared singular values: ‖A‖²


@settings(FUZZ, max_examples=60)
@given(hnp.arrays(onp.float64, (3, 2), elements=st.floats(-2, 2)),
       hnp.arrays(onp.float64, (2, 3), elements=st.floats(-2, 2)))
def test_det_gradient_at_singular_matrices_is_the_adjugate(u, v):
    a = u @ v  # rank at most 2: singular
    kind, got = run(lambda: diffopt.grad(np.linalg.det)(a))
    assert kind == "value", got
    cofactor = onp.array([[(-1) ** (i + j) * onp.linalg.det(onp.delete(onp.delete(a, i, 0), j, 1))
                           for j in range(3)] for i in range(3)])
    onp.testing.assert_allclose(got, cofactor, atol=1e-8)


@settings(FUZZ, max_examples=40)
@given(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3), st.sampled_from([None, 1, 2, onp.inf]))
def test_norm_at_zero_has_the_zero_subgradient(shape, ord_):
    assume(ord_ is None or len(shape) == 1)
    kind, got = run(lambda: diffopt.grad(lambda x: np.linalg.norm(x, ord=ord_))(onp.zeros(shape)))
    assert kind == "value", got
    onp.testing.assert_array_equal(got, onp.zeros(shape))


# --- solvers: NaN, bad inputs and user errors end with a status, an error or the result ------
def nan_after(k: int):
    """An objective that turns NaN from its k-th evaluation on (k = 0: NaN at x0)."""
    calls = [0]

    def f(x):
        calls[0] += 1
        value = sum(np.sum((v - 1.0) ** 2) + 0.1 * np.sum(v**4) for v in diffopt.tree_leaves(x))
        return value * (onp.nan if calls[0] > k else 1.0)

    return f


@settings(FUZZ, max_examples=120)
@given(st.sampled_from(solvers.available()), st.integers(0, 12),
       st.one_of(st.just(onp.zeros(2)), st.just(onp.zeros(0)), odd_arrays, bad_values,
                 st.just({"w": onp.zeros(2)})))
def test_optimize_ends_with_a_result_or_a_clear_error(method, k, x0):
    kind, got = run(lambda: diffopt.optimize(nan_after(k), x0, method=method, maxiter=50))
    if kind == "error":
        assert_clear(got)
        return
    assert isinstance(got.message, str) and got.message
    if got.success:
        assert onp.all(onp.isfinite(diffopt.tree_leaves(got.x)[0]))
        assert onp.isfinite(got.fun)


@settings(FUZZ, max_examples=60)
@given(st.sampled_from(solvers.available()), st.integers(1, 6),
       st.sampled_from([ValueError, KeyboardInterrupt]))
def test_an_error_in_user_code_keeps_the_work_done(method, k, error):
    calls = [0]

    def fun(x):
        calls[0] += 1
        if calls[0] > k:
            raise error("user code failed")
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    with time_limit():
        try:
            res = diffopt.optimize(fun, onp.zeros(3), method=method, maxiter=100)
        except error as exc:
            result = exc.result
        else:  # finished before the k-th evaluation
            assert calls[0] <= k and res.success, res
            return
    assert isinstance(result, diffopt.OptimizeResult) and not result.success
    assert result.x.shape == (3,) and onp.all(onp.isfinite(result.x))
    assert result.message


@settings(FUZZ, max_examples=60)
@given(st.sampled_from(solvers.available("least_squares")), st.integers(0, 10),
       st.sampled_from(["nan", "complex", "fine"]))
def test_least_squares_ends_with_a_result_or_a_clear_error(method, k, kind_of):
    t = onp.linspace(0, 1, 5)
    calls = [0]

    def residuals(p):
        calls[0] += 1
        r = p[0] * np.exp(p[1] * t) - 2.0 * onp.exp(-t)
        if kind_of == "nan" and calls[0] > k:
            return r * onp.nan
        return r * (1 + 1j) if kind_of == "complex" else r

    kind, got = run(lambda: diffopt.least_squares(residuals, onp.array([1.0, 0.0]),
                                                  method=method, maxiter=50))
    if kind == "error":  # complex residuals may be refused
        assert kind_of == "complex", got
        assert_clear(got)
        return
    if got.success and kind_of in ("fine", "complex"):
        onp.testing.assert_allclose(got.x, [2.0, -1.0], atol=1e-5)
    if kind_of == "nan" and got.success:
        assert onp.isfinite(got.cost)


# --- ODEs: every loop ends ------------------------------------------------------------------
ODE_METHODS = ["euler", "rk4", "bosh3", "dopri5", "tsit5"]


@settings(FUZZ, max_examples=120)
@given(st.sampled_from(ODE_METHODS), st.sampled_from([0.0, 0.3, 2.0]),
       st.one_of(st.just(onp.array([1.0])), odd_arrays, st.just(onp.array([3.0, 1.0]))),
       st.sampled_from([(0.0, 1.0), (1.0, 0.0), (0.0, 0.0), (0.0, onp.nan), (0.0, onp.inf)]),
       st.sampled_from([5, 50, 10_000]))
def test_ode_solves_end_with_a_status_or_a_clear_error(method, shift, y0, t_span, max_steps):
    # y' = -2 exactly, times a factor that turns NaN once y drops below `shift`: at the start,
    # midway, or never.
    rhs = lambda t, y: -2.0 + 0.0 * np.sqrt(y - shift)
    kind, got = run(lambda: solve(rhs, y0, t_span, method=method, dt=0.01,
                                  max_steps=max_steps))
    if kind == "error":
        assert_clear(got)
        return
    assert got.message
    if got.success:
        assert onp.all(onp.isfinite(got.y_final)), got
        onp.testing.assert_allclose(got.y_final, y0 - 2.0 * (got.t_final - t_span[0]))
    else:
        assert got.status < 0


# --- jit and lambdify compute what eager code computes ----------------------------------------
ELEMENTWISE = {
    "sin": (np.sin, onp.sin), "exp": (np.exp, onp.exp), "log": (np.log, onp.log),
    "sqrt": (np.sqrt, onp.sqrt), "tanh": (np.tanh, onp.tanh), "abs": (np.abs, onp.abs),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1.0 / x), "square": (np.square, onp.square),
    "cube_root": (lambda x: x ** (1.0 / 3.0), lambda x: x ** (1.0 / 3.0)),
}
chains = st.lists(st.sampled_from(sorted(ELEMENTWISE)), min_size=1, max_size=4)


def compose(names, which: int):
    def f(x):
        for n in names:
            x = ELEMENTWISE[n][which](x)
        return x

    return f


@settings(FUZZ, max_examples=100)
@given(chains, st.one_of(float_arrays, odd_arrays, special_floats))
def test_jit_computes_what_eager_code_computes(names, x):
    f = compose(names, 0)
    x = onp.asarray(x)  # eager Python floats raise ZeroDivisionError where NumPy gives inf
    want_kind, want = run(lambda: f(x))
    kind, got = run(lambda: diffopt.jit(f)(x))
    assert kind == want_kind, (got, want)
    if kind == "value":
        onp.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
        assert onp.shape(got) == onp.shape(want)
    kind, got = run(lambda: diffopt.jit(lambda x: np.sum(f(x)))(x))
    assert kind == "value", got
    onp.testing.assert_allclose(got, onp.sum(want), rtol=1e-12, equal_nan=True)


@settings(FUZZ, max_examples=100)
@given(chains, special_floats)
def test_lambdify_follows_numpy_for_python_and_numpy_numbers(names, x):
    from diffopt.symbolic import Symbol, lambdify

    s = Symbol("s")
    fn = lambdify([s], compose(names, 0)(s))
    with onp.errstate(all="ignore"):
        want = compose(names, 1)(onp.float64(x))
    for arg in (float(x), onp.float64(x), onp.array([x])):
        kind, got = run(lambda a=arg: fn(a))
        assert kind == "value", got
        onp.testing.assert_allclose(onp.ravel(got), [want], rtol=1e-12, equal_nan=True)


# --- custom rules are checked ------------------------------------------------------------------
@FUZZ
@given(st.sampled_from([(), (3,), (2, 2), (1,)]), st.sampled_from([(), (3,), (2, 2)]))
def test_custom_vjp_cotangents_must_match_their_primals(ct_shape, x_shape):
    @diffopt.custom_vjp
    def f(x):
        return np.sum(x**2)

    f.defvjp(lambda x: (np.sum(x**2), x), lambda x, g: (g * onp.ones(ct_shape),))
    kind, got = run(lambda: diffopt.grad(f)(onp.ones(x_shape)))
    if ct_shape == x_shape:
        assert kind == "value"
        onp.testing.assert_allclose(got, onp.ones(x_shape))
    else:
        assert kind == "error", f"a cotangent of shape {ct_shape} for {x_shape} gave {got!r}"
        assert_clear(got)
