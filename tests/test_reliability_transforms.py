"""Issue 12, transforms part: bad input to the transforms, check_grads, jit, lambdify and the CLI
gets a clear error (or the right answer), never a silent wrong one."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.exceptions import AxisError

import diffopt
import diffopt.numpy as dnp
from diffopt import (
    custom_jvp,
    custom_vjp,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    modes,
    value_and_grad,
    vmap,
)
from diffopt.cli import main
from diffopt.compile import jit
from diffopt.compile.closure import FULL_CHECK_BYTES, ClosureChangedWarning
from diffopt.numerical import check_grads
from diffopt.symbolic import Symbol, lambdify

ARGNUM_TRANSFORMS = [grad, value_and_grad, jacfwd, jacrev, jacobian, hessian]


def product(x, y):
    return x * y


# --- argnums: one check for every transform ---------------------------------------------------
@pytest.mark.parametrize("transform", ARGNUM_TRANSFORMS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("argnums", [(0, 0), [1, 1]])
def test_repeated_argnums_are_refused(transform, argnums):
    with pytest.raises(ValueError, match=rf"{transform.__name__}: argnums=.* repeats argument"):
        transform(product, argnums=argnums)(1.0, 2.0)


@pytest.mark.parametrize("transform", ARGNUM_TRANSFORMS, ids=lambda t: t.__name__)
def test_repeated_argnums_through_negative_positions(transform):
    with pytest.raises(ValueError, match="repeats argument 0"):
        transform(product, argnums=(0, -2))(1.0, 2.0)


@pytest.mark.parametrize("transform", ARGNUM_TRANSFORMS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("argnums", [1.0, True, "0", (0, 1.0), None])
def test_non_integer_argnums_raise_type_error_at_definition(transform, argnums):
    with pytest.raises(TypeError, match=rf"{transform.__name__}: argnums must be an int"):
        transform(product, argnums=argnums)


@pytest.mark.parametrize("transform", ARGNUM_TRANSFORMS, ids=lambda t: t.__name__)
def test_empty_argnums_is_refused(transform):
    with pytest.raises(ValueError, match=r"argnums=\(\) selects no argument"):
        transform(product, argnums=())


@pytest.mark.parametrize("transform", ARGNUM_TRANSFORMS, ids=lambda t: t.__name__)
def test_out_of_range_argnums_name_the_transform(transform):
    with pytest.raises(ValueError, match=rf"{transform.__name__}: argnums=2 but .* 2 positional"):
        transform(product, argnums=2)(1.0, 2.0)


def test_numpy_integer_argnums_mean_one_argument():
    assert grad(product, argnums=np.int64(1))(3.0, 2.0) == 3.0
    np.testing.assert_allclose(jacrev(product, argnums=np.int64(0))(np.ones(2), 2.0),
                               2 * np.eye(2))


def test_modes_use_the_same_argnums_check():
    x = np.ones(3)
    with pytest.raises(ValueError, match="repeats argument 0"):
        modes.choose_mode(lambda a, b: a * b, (x, x), argnums=(0, 0))
    with pytest.raises(TypeError, match="argnums must be an int"):
        modes.mode_costs(lambda a, b: a * b, (x, x), argnums=0.0)
    with pytest.raises(TypeError, match="argnums must be an int"):
        modes.jacobian_optimal(lambda a: a, argnums=1.0)
    assert modes.choose_mode(lambda a, b: a * b, (x, x), argnums=[1]) in ("forward", "reverse")


# --- vmap: axes validated as NumPy does, pytree in_axes ---------------------------------------
def test_in_axes_out_of_range_raises_axis_error():
    x = np.ones((2, 3))
    for axis in (2, -3):
        with pytest.raises(AxisError, match=rf"argument 0, of shape \(2, 3\): axis {axis} is out "
                           "of bounds for array of dimension 2"):
            vmap(dnp.sum, in_axes=axis)(x)


def test_out_axes_out_of_range_raises_axis_error():
    with pytest.raises(AxisError, match="out_axes .* axis 5 is out of bounds for array of "
                       "dimension 2"):
        vmap(lambda r: 2 * r, out_axes=5)(np.ones((2, 3)))
    with pytest.raises(AxisError, match="axis -3 is out of bounds"):
        vmap(lambda r: 2 * r, out_axes=-3)(np.ones((2, 3)))


def test_negative_axes_count_from_the_end():
    x = np.arange(24.0).reshape(2, 3, 4)
    f = lambda m: dnp.sum(m**2, axis=0)
    want = np.stack([np.sum(x[:, :, k] ** 2, axis=0) for k in range(4)])  # mapped over axis 2
    np.testing.assert_allclose(vmap(f, in_axes=-1)(x), want)
    np.testing.assert_allclose(vmap(f, in_axes=-1, out_axes=-1)(x), want.T)
    np.testing.assert_allclose(vmap(f, in_axes=2, out_axes=1)(x), want.T)


def test_scalar_with_a_mapped_axis_says_so():
    with pytest.raises(AxisError, match=r"shape \(\).*a scalar has no axis to map over"):
        vmap(dnp.sin)(1.0)
    np.testing.assert_allclose(vmap(lambda a, s: a * s, in_axes=(0, None))(np.ones(3), 2.0),
                               [2.0, 2.0, 2.0])


def test_pytree_in_axes_follow_the_argument_structure():
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([10.0, 20.0, 30.0])}
    xs = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])  # batch along axis 1

    def f(p, x):
        return dnp.sum(p["w"]) * x + p["b"] * x[0]

    got = vmap(f, in_axes=({"w": None, "b": 0}, 1))(params, xs)
    want = np.stack([f({"w": params["w"], "b": params["b"][i]}, xs[:, i]) for i in range(3)])
    np.testing.assert_allclose(got, want)
    # a prefix: one axis for the whole dict
    got = vmap(lambda p: p["w"] + p["b"], in_axes=({"w": 0, "b": 0},))(
        {"w": np.ones((3, 2)), "b": np.arange(3.0)[:, None] * np.ones((3, 2))})
    np.testing.assert_allclose(got, 1 + np.arange(3.0)[:, None] * np.ones((3, 2)))


def test_pytree_in_axes_errors_name_the_argument_and_leaf():
    with pytest.raises(AxisError, match=r"argument 0\['a'\], of shape \(2, 3\): axis 2"):
        vmap(lambda d: d["a"], in_axes=({"a": 2},))({"a": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"in_axes\[0\]=.* does not match the structure of "
                       "argument 0"):
        vmap(lambda d: d["a"], in_axes=({"z": 0},))({"a": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"different sizes: argument 0 has size 2, but axis 0 of "
                       r"argument 1\[1\] has size 3"):
        vmap(lambda a, t: a + t[1])(np.ones(2), (np.ones(2), np.ones(3)))


def test_bad_axis_specs_are_type_errors():
    with pytest.raises(TypeError, match="in_axes must hold ints"):
        vmap(dnp.sin, in_axes=(1.5,))
    with pytest.raises(TypeError, match="in_axes must hold ints"):
        vmap(dnp.sin, in_axes=({"a": "0"},))
    with pytest.raises(TypeError, match=r"wrap its axes in a tuple: in_axes=\(\{'a': 0\},\)"):
        vmap(dnp.sin, in_axes={"a": 0})
    with pytest.raises(TypeError, match="out_axes must hold ints"):
        vmap(dnp.sin, out_axes=0.0)
    with pytest.raises(TypeError, match="in_axes must be an int"):
        vmap(dnp.sin, in_axes=True)


def test_out_axes_pytree_and_none():
    x = np.arange(6.0).reshape(2, 3)
    a, b = vmap(lambda r: (r * 2, r + 1), out_axes=(0, 1))(x)
    np.testing.assert_allclose(a, x * 2)
    np.testing.assert_allclose(b, (x + 1).T)
    w = np.ones(4)
    out, const = vmap(lambda r: (dnp.sum(r), w * 3), out_axes=(0, None))(x)
    np.testing.assert_allclose(out, x.sum(axis=1))
    np.testing.assert_allclose(const, 3 * w)
    with pytest.raises(ValueError, match="out_axes gives None .* depends on the mapped axis"):
        vmap(lambda r: r * 2, out_axes=None)(x)


# --- custom rules: what they return is checked ------------------------------------------------
def _custom_vjp_sin(bwd):
    @custom_vjp
    def f(x):
        return dnp.sin(x)

    f.defvjp(lambda x: (dnp.sin(x), x), bwd)
    return f


def test_custom_vjp_cotangent_of_the_wrong_shape_names_the_rule():
    f = _custom_vjp_sin(lambda x, g: (np.ones(3) * g,))  # was summed: grad returned 3.0
    with pytest.raises(ValueError, match=r"bwd rule of custom_vjp function f returned a "
                       r"cotangent of shape \(3,\) for argument 0, of shape \(\)"):
        grad(f)(0.5)
    with pytest.raises(ValueError, match=r"shape \(1, 2\) for argument 0, of shape \(2,\)"):
        grad(lambda x: dnp.sum(_custom_vjp_sin(lambda x, g: (g[None],))(x)))(np.ones(2))


def test_custom_vjp_cotangent_dtype_and_structure_are_checked():
    f = _custom_vjp_sin(lambda x, g: (1,))
    with pytest.raises(TypeError, match="cotangent for argument 0, of dtype float64; cotangents "
                       "of floating-point values must be floating-point"):
        grad(f)(0.5)

    @custom_vjp
    def g(p):
        return p["a"] * 2.0

    g.defvjp(lambda p: (g(p), None), lambda res, ct: ((2.0 * ct,),))
    with pytest.raises(ValueError, match="cotangent with structure .* for argument 0, which has "
                       "structure"):
        grad(g)({"a": 1.0})


def test_custom_vjp_bwd_and_fwd_must_return_what_they_should():
    f = _custom_vjp_sin(lambda x, g: g * dnp.cos(x))  # not a tuple
    with pytest.raises(TypeError, match="must return a tuple with one cotangent per argument .* "
                       r"but it returned an array of shape \(\)"):
        grad(f)(0.5)

    @custom_vjp
    def h(x):
        return dnp.sin(x)

    h.defvjp(lambda x: dnp.sin(x), lambda x, g: (g,))  # fwd without residuals
    with pytest.raises(TypeError, match=r"fwd rule of custom_vjp function h must return a pair "
                       r"\(output, residuals\), but it returned an array"):
        grad(h)(0.5)


def test_custom_vjp_none_for_a_zero_leaf_and_complex_to_real():
    @custom_vjp
    def f(xy):
        return dnp.sin(xy[0]) + 0.0 * xy[1]

    f.defvjp(lambda xy: (f(xy), xy), lambda xy, g: ((g * dnp.cos(xy[0]), None),))
    gx, gy = grad(f)((0.5, 2.0))
    assert gx == pytest.approx(np.cos(0.5)) and gy == 0.0
    # a complex cotangent for a real argument keeps its real part (as reverse mode does anywhere)
    f = _custom_vjp_sin(lambda x, g: (g * dnp.cos(x) + 1j,))
    assert grad(f)(0.5) == pytest.approx(np.cos(0.5))


def _custom_jvp_cube(rule):
    @custom_jvp
    def cube(x):
        return x**3

    cube.defjvp(rule)
    return cube


def test_custom_jvp_tangent_of_the_wrong_shape_names_the_rule():
    cube = _custom_jvp_cube(lambda p, t: (p[0] ** 3, dnp.sum(3 * p[0] ** 2 * t[0])))
    x = np.array([1.0, 2.0])
    msg = r"jvp rule of custom_jvp function cube returned a tangent of shape \(\) for the output"
    with pytest.raises(ValueError, match=msg):
        jvp(cube, (x,), (np.ones(2),))
    with pytest.raises(ValueError, match=msg):
        grad(lambda v: dnp.sum(cube(v)))(x)


def test_custom_jvp_rule_must_return_a_pair_with_matching_structure():
    cube = _custom_jvp_cube(lambda p, t: 3 * p[0] ** 2 * t[0])
    with pytest.raises(TypeError, match=r"must return a pair \(output, tangent of the output\), "
                       "but it returned an array"):
        jvp(cube, (np.ones(2),), (np.ones(2),))
    cube = _custom_jvp_cube(lambda p, t: (p[0] ** 3, (t[0], t[0])))
    with pytest.raises(ValueError, match="tangent with structure .* for the output"):
        jvp(cube, (np.ones(2),), (np.ones(2),))


def test_correct_custom_rules_still_pass_check_grads():
    cube = _custom_jvp_cube(lambda p, t: (p[0] ** 3, 3 * p[0] ** 2 * t[0]))
    check_grads(cube, (np.array([0.5, 1.5]),), order=2)
    check_grads(_custom_vjp_sin(lambda x, g: (g * dnp.cos(x),)), (np.array([0.5, 1.5]),),
                modes=("rev",), order=1)


# --- check_grads: an empty or mistyped check never passes -------------------------------------
def test_check_grads_refuses_unknown_or_empty_modes():
    with pytest.raises(ValueError, match=r"unknown mode 'reverse' \(did you mean 'rev'\?\); the "
                       "modes are 'fwd'"):
        check_grads(dnp.sin, (0.5,), modes=("reverse",))
    with pytest.raises(ValueError, match="unknown mode 'backward'"):
        check_grads(dnp.sin, (0.5,), modes=("fwd", "backward"))
    with pytest.raises(TypeError, match=r"not the string 'rev': write modes=\('rev',\)"):
        check_grads(dnp.sin, (0.5,), modes="rev")
    with pytest.raises(ValueError, match="modes is empty"):
        check_grads(dnp.sin, (0.5,), modes=())


def test_check_grads_args_and_order():
    with pytest.raises(TypeError, match=r"as a tuple, not a float.*check_grads\(np.sin, \(0.5,\)"):
        check_grads(dnp.sin, 0.5)
    with pytest.raises(TypeError, match="as a tuple, not a ndarray"):
        check_grads(dnp.sin, np.ones(3))
    for order in (0, 1.5, True):
        with pytest.raises(ValueError, match="order must be a positive integer"):
            check_grads(dnp.sin, (0.5,), order=order)
    check_grads(dnp.sin, [0.5], modes=["rev"], order=np.int64(1))  # lists and NumPy ints are fine


def test_check_grads_that_compares_nothing_fails():
    with pytest.raises(ValueError, match="nothing to compare, the arguments have no entries"):
        check_grads(dnp.sum, (np.ones(0),))
    with pytest.raises(ValueError, match="no array leaves"):
        check_grads(lambda: 1.0, ())
    with pytest.raises(ValueError, match="nothing to compare, <lambda> returns no entries"):
        check_grads(lambda x: x[:0], (np.ones(3),))
    with pytest.raises(ValueError, match="returns no entries"):
        check_grads(lambda x: None, (np.ones(3),))


def test_check_grads_still_catches_a_wrong_rule_with_list_modes():
    wrong = _custom_vjp_sin(lambda x, g: (-g * dnp.cos(x),))
    with pytest.raises(AssertionError, match="reverse mode"):
        check_grads(wrong, (np.array([0.5, 1.5]),), modes=["rev"], order=1)


# --- jit: results without arrays, and values read from outside --------------------------------
@pytest.mark.parametrize("f, returned", [(lambda x: None, "returned None"),
                                         (lambda x: (), r"returned \(\)"),
                                         (lambda x: (x, "tag"), "returned a str")])
def test_jit_of_a_function_without_array_results(f, returned):
    with pytest.raises(TypeError, match=rf"jit\(<lambda>\): the function {returned}"):
        jit(f)(1.0)


SCALE = np.array([1.0, 2.0, 3.0])


def _scaled(x):
    return x * SCALE


def _call_helper(x):
    return dnp.sin(_scaled(x))


def _watching(fn, *args):
    """``fn(*args)`` and the ClosureChangedWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args)
    return out, [w for w in caught if issubclass(w.category, ClosureChangedWarning)]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_jit_sees_a_closed_over_array_changed_in_place(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    w = np.ones(3)
    j = jit(lambda x: x * w + dnp.sin(w), backend=backend)
    x = np.arange(3.0)
    out, seen = _watching(j, x)
    assert not seen
    np.testing.assert_allclose(out, x + np.sin(1.0))
    w[:] = 2.0
    out, seen = _watching(j, x)
    np.testing.assert_allclose(out, 2 * x + np.sin(2.0))
    assert len(seen) == 1 and "the closure variable 'w'" in str(seen[0].message)
    assert "changed in place" in str(seen[0].message)
    out, seen = _watching(j, x)  # traced again: no more warnings
    assert not seen
    np.testing.assert_allclose(out, 2 * x + np.sin(2.0))


def test_jit_sees_a_rebound_global_and_closure_variable():
    global SCALE
    old = SCALE
    j = jit(_scaled)
    x = np.ones(3)
    try:
        np.testing.assert_allclose(j(x), [1.0, 2.0, 3.0])
        SCALE = np.array([5.0, 5.0, 5.0])
        out, seen = _watching(j, x)
        np.testing.assert_allclose(out, 5.0)
        assert len(seen) == 1 and "the global 'SCALE' of _scaled was rebound" in str(
            seen[0].message)
        # through a helper called by name, and through grad's wrapper
        h = jit(_call_helper)
        g = jit(grad(lambda v: dnp.sum(_scaled(v))))
        np.testing.assert_allclose(h(x), np.sin(5.0))
        np.testing.assert_allclose(g(x), 5.0)
        SCALE = np.array([1.0, 0.0, -1.0])
        (out_h, seen_h), (out_g, seen_g) = _watching(h, x), _watching(g, x)
        np.testing.assert_allclose(out_h, np.sin([1.0, 0.0, -1.0]))
        np.testing.assert_allclose(out_g, [1.0, 0.0, -1.0])
        assert seen_h and seen_g
    finally:
        SCALE = old

    scale = 2.0

    def f(x):
        return x * scale

    j = jit(f)
    assert j(1.0) == 2.0
    scale = 3.0
    out, seen = _watching(j, 1.0)
    assert out == 3.0 and "the closure variable 'scale'" in str(seen[0].message)


def test_jit_watch_has_no_false_alarms():
    calls, w = [], np.ones(3)

    def f(x):
        calls.append(1)  # a log the trace appends to: not a constant of the program
        return x * w

    j = jit(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClosureChangedWarning)
        for _ in range(3):
            j(np.ones(3))
        f(np.ones(3))  # an eager call appends too
        j(np.ones(3))
        j(np.ones((2, 3)))  # a new signature: traced once more
    assert len(calls) == 3 and j.cache_size == 2


def test_jit_watch_samples_large_arrays():
    big = np.zeros(FULL_CHECK_BYTES // 8 * 4)
    j = jit(lambda x: x + dnp.sum(big))
    assert j(1.0) == 1.0
    big[-1] = 5.0  # the last element is always in the sample
    out, seen = _watching(j, 1.0)
    assert out == 6.0 and seen


# --- lambdify: NumPy's numbers for Python floats, NumPy scalars and arrays alike -------------
x_, y_ = Symbol("x"), Symbol("y")
EDGE_CASES = [  # (expression, arguments, NumPy's value)
    (1 / x_, (0.0,), np.inf),
    (x_ / y_, (-1.0, 0.0), -np.inf),
    (dnp.sqrt(x_), (-1.0,), np.nan),
    (x_ ** (1 / 3), (-8.0,), np.nan),
    (x_**y_, (-8.0, 1 / 3), np.nan),
    (x_**-1, (0.0,), np.inf),
    (dnp.log(x_), (0.0,), -np.inf),
    (dnp.arcsin(x_), (2.0,), np.nan),
]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("expr, args, want", EDGE_CASES,
                         ids=[str(e) for e, _, _ in EDGE_CASES])
def test_lambdify_follows_numpy_for_every_input_kind(backend, expr, args, want):
    if backend == "numba":
        pytest.importorskip("numba")
    f = lambdify([x_, y_][:len(args)], expr, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        python = f(*[float(a) for a in args])
        numpy_scalar = f(*[np.float64(a) for a in args])
        array = f(*[np.array([a, a]) for a in args])
    assert np.isreal(python) and np.isreal(numpy_scalar)
    np.testing.assert_array_equal(python, want)
    np.testing.assert_array_equal(numpy_scalar, want)
    np.testing.assert_array_equal(array, [want, want])


def test_lambdify_numpy_backend_warns_as_numpy_does():
    f = lambdify([x_], 1 / x_)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert f(0.0) == np.inf
    assert f(4.0) == 0.25


# --- the command line ------------------------------------------------------------------------
def test_demo_out_that_is_a_file_or_below_one(tmp_path, capsys):
    blocker = tmp_path / "plots.png"
    blocker.write_text("")
    assert main(["demo", "rosenbrock", "--quick", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder" in err
    assert main(["demo", "rosenbrock", "--quick", "--out", str(blocker / "sub")]) == 2
    assert "cannot write plots there" in capsys.readouterr().err


def test_demo_image_that_does_not_exist(tmp_path, capsys):
    assert main(["demo", "enhance", "--quick", "--image", str(tmp_path / "none.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_unknown_demo_lists_the_demos(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "nosuch"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuch'" in err and "rosenbrock" in err and "trebuchet" in err


def test_unwritable_out_from_the_shell_has_no_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    res = subprocess.run([sys.executable, "-m", "diffopt.cli", "demo", "least_squares",
                          "--quick", "--out", str(blocker / "plots")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and "cannot write plots there" in res.stderr



@pytest.mark.parametrize("x, bad", [(0.5, True), (np.array([0.5]), np.array([True])),
                                    (0.5, "1"), (np.array([0.5]), np.array(["a"]))])
def test_boolean_or_non_numeric_tangents_and_cotangents_are_refused(x, bad):
    with pytest.raises(TypeError, match="tangent of dtype .* tangents are numbers"):
        diffopt.jvp(dnp.sin, (x,), (bad,))
    with pytest.raises(TypeError, match="cotangent of dtype .* cotangents are numbers"):
        diffopt.vjp(dnp.sin, x)[1](bad)
    with pytest.raises(TypeError, match="tangent of dtype"):
        diffopt.linearize(dnp.sin, x)[1](bad)


def test_integer_tangents_are_numbers():
    out, t = diffopt.jvp(dnp.sin, (0.0,), (3,))
    assert t == 3.0


def test_a_complex_tangent_for_a_real_primal_is_refused():
    with pytest.raises(TypeError, match="complex tangent was given for a real primal"):
        diffopt.jvp(dnp.sin, (0.0,), (2 + 1j,))
    _, t = diffopt.jvp(dnp.sin, (0.5 + 0j,), (1j,))  # complex primals take complex tangents
    np.testing.assert_allclose(t, np.cos(0.5) * 1j)
