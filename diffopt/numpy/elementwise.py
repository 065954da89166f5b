"""Elementwise functions: the rule table.

Each row is ``name = elementwise("name", numpy impl, d/darg0, d/darg1, ...)`` where each partial
derivative is written with diffopt.numpy functions of ``(ans, *args)``; ``1`` and ``-1`` mean the
identity and negation. Functions that are not holomorphic in complex inputs (abs, real, imag, conj,
angle) have explicit rules at the end.
"""

from __future__ import annotations

import numpy as np
import scipy.special as _sc

from ..core.batching import batch_elementwise
from ..core.primitive import Primitive
from ..core.trace import Tracer, concrete
from ._define import elementwise, example_doc, public

_LOG2 = float(np.log(2.0))
_LOG10 = float(np.log(10.0))

# --- arithmetic ------------------------------------------------------------------------------
add = elementwise("add", np.add, 1, 1, example="add(1.0, 2.0)  # 3.0")
subtract = elementwise("subtract", np.subtract, 1, -1, example="subtract(3.0, 1.0)  # 2.0")
multiply = elementwise(
    "multiply", np.multiply, lambda ans, x, y: y, lambda ans, x, y: x,
    example="multiply(2.0, 3.0)  # 6.0",
)
divide = elementwise(
    "divide", np.divide, lambda ans, x, y: 1 / y, lambda ans, x, y: -ans / y,
    example="divide(1.0, 4.0)  # 0.25",
)
true_divide = divide
negative = elementwise("negative", np.negative, -1, example="negative(2.0)  # -2.0")
positive = elementwise("positive", np.positive, 1, example="positive(2.0)  # 2.0")


def _pow_dx(ans, x, y):
    # d/dx x**y = y x**(y-1), except that x**0 = 1 has derivative 0 also at x = 0, where the
    # formula gives 0 * inf. This rule is differentiated by itself (exponent y - 1, then y - 2...),
    # so the exponent 0 reached after y steps must stay exact: the nth derivative of x**n is n!
    # and the next ones 0 at every x. The formula is kept where no exponent is 0 now (the common
    # x**2; a graph traced so and replayed at x = y = 0 still meets 0 * inf).
    zero = y == 0
    if not np.any(concrete(zero)):
        return y * x ** (y - 1)
    if not isinstance(y, Tracer) and np.ndim(y) == 0:  # a constant x**0
        return zeros_like_value(ans)
    at_zero = (x == 0) & zero
    return where(at_zero, 0.0, y * x ** (where(at_zero, 1, y) - 1))


def _pow_dy(ans, x, y):
    # d/dy x**y = x**y log x; taken as 0 where x == 0 (the limit for y > 0), as JAX does.
    zero = x == 0
    return where(zero, 0.0, ans * log(where(zero, 1.0, x)))


power = elementwise("power", np.power, _pow_dx, _pow_dy, example="power(2.0, 3.0)  # 8.0")
float_power = elementwise(
    "float_power", np.float_power, _pow_dx, _pow_dy, example="float_power(2.0, 0.5)  # 1.414..."
)
square = elementwise("square", np.square, lambda ans, x: 2 * x, example="square(3.0)  # 9.0")
sqrt = elementwise("sqrt", np.sqrt, lambda ans, x: 0.5 / ans, example="sqrt(4.0)  # 2.0")
cbrt = elementwise("cbrt", np.cbrt, lambda ans, x: 1 / (3 * ans**2), example="cbrt(8.0)  # 2.0")
reciprocal = elementwise(
    "reciprocal", np.reciprocal, lambda ans, x: -(ans**2), example="reciprocal(4.0)  # 0.25"
)

# --- exponentials and logarithms -------------------------------------------------------------
exp = elementwise("exp", np.exp, lambda ans, x: ans, example="exp(0.0)  # 1.0")
expm1 = elementwise("expm1", np.expm1, lambda ans, x: ans + 1, example="expm1(0.0)  # 0.0")
exp2 = elementwise("exp2", np.exp2, lambda ans, x: ans * _LOG2, example="exp2(3.0)  # 8.0")
log = elementwise("log", np.log, lambda ans, x: 1 / x, example="log(1.0)  # 0.0")
log1p = elementwise("log1p", np.log1p, lambda ans, x: 1 / (1 + x), example="log1p(0.0)  # 0.0")
log2 = elementwise("log2", np.log2, lambda ans, x: 1 / (x * _LOG2), example="log2(8.0)  # 3.0")
log10 = elementwise(
    "log10", np.log10, lambda ans, x: 1 / (x * _LOG10), example="log10(100.0)  # 2.0"
)
logaddexp = elementwise(
    "logaddexp", np.logaddexp, lambda ans, x, y: exp(x - ans), lambda ans, x, y: exp(y - ans),
    example="logaddexp(0.0, 0.0)  # 0.693...",
)
logaddexp2 = elementwise(
    "logaddexp2", np.logaddexp2, lambda ans, x, y: exp2(x - ans), lambda ans, x, y: exp2(y - ans),
    example="logaddexp2(1.0, 1.0)  # 2.0",
)

# --- trigonometric and hyperbolic ------------------------------------------------------------
sin = elementwise("sin", np.sin, lambda ans, x: cos(x), example="sin(0.0)  # 0.0")
cos = elementwise("cos", np.cos, lambda ans, x: -sin(x), example="cos(0.0)  # 1.0")
tan = elementwise("tan", np.tan, lambda ans, x: 1 + ans**2, example="tan(0.0)  # 0.0")
arcsin = elementwise(
    "arcsin", np.arcsin, lambda ans, x: 1 / sqrt(1 - x**2), example="arcsin(0.0)  # 0.0"
)
arccos = elementwise(
    "arccos", np.arccos, lambda ans, x: -1 / sqrt(1 - x**2), example="arccos(1.0)  # 0.0"
)
arctan = elementwise(
    "arctan", np.arctan, lambda ans, x: 1 / (1 + x**2), example="arctan(0.0)  # 0.0"
)
arctan2 = elementwise(
    "arctan2", np.arctan2,
    lambda ans, y, x: x / (x**2 + y**2), lambda ans, y, x: -y / (x**2 + y**2),
    example="arctan2(1.0, 1.0)  # 0.785...",
)


def _over_norm(v, ans):
    """``v / ans`` for a part ``v`` of a vector of norm ``ans``; 0 where the norm is 0 (the zero
    subgradient, as for linalg.norm), with a double where so that higher orders stay finite."""
    zero = ans == 0
    return where(zero, 0.0, v / where(zero, 1.0, ans))


hypot = elementwise(
    "hypot", np.hypot, lambda ans, x, y: _over_norm(x, ans), lambda ans, x, y: _over_norm(y, ans),
    example="hypot(3.0, 4.0)  # 5.0",
)
sinh = elementwise("sinh", np.sinh, lambda ans, x: cosh(x), example="sinh(0.0)  # 0.0")
cosh = elementwise("cosh", np.cosh, lambda ans, x: sinh(x), example="cosh(0.0)  # 1.0")
tanh = elementwise("tanh", np.tanh, lambda ans, x: 1 - ans**2, example="tanh(0.0)  # 0.0")
arcsinh = elementwise(
    "arcsinh", np.arcsinh, lambda ans, x: 1 / sqrt(x**2 + 1), example="arcsinh(0.0)  # 0.0"
)
arccosh = elementwise(
    "arccosh", np.arccosh, lambda ans, x: 1 / (sqrt(x - 1) * sqrt(x + 1)),
    example="arccosh(1.0)  # 0.0",
)
arctanh = elementwise(
    "arctanh", np.arctanh, lambda ans, x: 1 / (1 - x**2), example="arctanh(0.0)  # 0.0"
)
deg2rad = elementwise(
    "deg2rad", np.deg2rad, lambda ans, x: np.pi / 180, example="deg2rad(180.0)  # 3.14159..."
)
rad2deg = elementwise(
    "rad2deg", np.rad2deg, lambda ans, x: 180 / np.pi, example="rad2deg(np.pi)  # 180.0"
)
radians, degrees = deg2rad, rad2deg


_PI2 = float(np.pi**2)


def _sinc_d(ans, x):
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x. At x = 0 use its Taylor series instead,
    # so that derivatives of every order up to 8 are exact there.
    zero = x == 0
    safe = where(zero, 1.0, x)
    x2 = x * x
    series = x * (-_PI2 / 3 + x2 * (_PI2**2 / 30 - x2 * (_PI2**3 / 840 - x2 * (_PI2**4 / 45360))))
    return where(zero, series, (cos(np.pi * safe) - sinc(safe)) / safe)


sinc = elementwise("sinc", np.sinc, _sinc_d, example="sinc(0.0)  # 1.0")


def _i1_over_x(x):
    # i1(x) / x, with its Taylor series at x = 0 (1/2 + x^2/16 + ...) so that derivatives there
    # are exact to order 7.
    zero = x == 0
    safe = where(zero, 1.0, x)
    x2 = x * x
    series = 0.5 + x2 * (1 / 16 + x2 * (1 / 384 + x2 * (1 / 18432)))
    return where(zero, series, _i1(safe) / safe)


# numpy.i0 (NumPy's own values; it refuses complex input); i0' = i1 and i1' = i0 - i1 / x.
i0 = elementwise("i0", np.i0, lambda ans, x: _i1(x), example="i0(0.0)  # 1.0")
_i1 = elementwise("i1", _sc.i1, lambda ans, x: i0(x) - _i1_over_x(x),
                  example="_i1(0.5)  # 0.2578...")

# --- piecewise: zero or one-sided derivatives ------------------------------------------------
_zero = lambda ans, *args, **params: zeros_like_value(ans)  # noqa: E731
sign = elementwise("sign", np.sign, _zero, example="sign(-2.0)  # -1.0")
floor = elementwise("floor", np.floor, _zero, example="floor(1.5)  # 1.0")
ceil = elementwise("ceil", np.ceil, _zero, example="ceil(1.5)  # 2.0")
rint = elementwise("rint", np.rint, _zero, example="rint(1.4)  # 1.0")
trunc = elementwise("trunc", np.trunc, _zero, example="trunc(-1.5)  # -1.0")
floor_divide = elementwise(
    "floor_divide", np.floor_divide, _zero, _zero, example="floor_divide(7.0, 2.0)  # 3.0"
)
remainder = elementwise(
    "remainder", np.remainder, 1, lambda ans, x, y: -floor_divide(x, y),
    example="remainder(7.0, 3.0)  # 1.0",
)
mod = remainder
fmod = elementwise(
    "fmod", np.fmod, 1, lambda ans, x, y: -trunc(x / y), example="fmod(-7.0, 3.0)  # -1.0"
)
copysign = elementwise(
    "copysign", np.copysign, lambda ans, x, y: where(signbit(x) == signbit(y), 1.0, -1.0), _zero,
    example="copysign(2.0, -1.0)  # -2.0",
)
# heaviside(x, h0) is h0 where x == 0: its derivative in h0 is 1 there, 0 elsewhere.
heaviside = elementwise(
    "heaviside", np.heaviside, _zero, lambda ans, x, h0: where(x == 0, 1.0, 0.0),
    example="heaviside(0.0, 0.5)  # 0.5",
)
# nextafter(x, y) is x moved by one unit in the last place: x plus a piecewise constant, so its
# derivative is 1 in x (as for x + spacing(x)) and 0 in y.
nextafter = elementwise(
    "nextafter", np.nextafter, 1, _zero, example="nextafter(1.0, 2.0)  # 1.0000000000000002"
)
spacing = elementwise("spacing", np.spacing, _zero, example="spacing(1.0)  # 2.2e-16")


def _ge_share(ans, x, y):
    # Where x wins it takes the whole derivative; ties split it evenly (as JAX does).
    return where(x > y, 1.0, where(x == y, 0.5, 0.0))


def _le_share(ans, x, y):
    return where(x < y, 1.0, where(x == y, 0.5, 0.0))


maximum = elementwise(
    "maximum", np.maximum, _ge_share, lambda ans, x, y: _ge_share(ans, y, x),
    example="maximum(1.0, 2.0)  # 2.0",
)
minimum = elementwise(
    "minimum", np.minimum, _le_share, lambda ans, x, y: _le_share(ans, y, x),
    example="minimum(1.0, 2.0)  # 1.0",
)


def _fmax_share(ans, x, y):
    # fmax ignores NaN: the non-NaN argument takes the derivative.
    return where(isnan(y), 1.0, where(isnan(x), 0.0, _ge_share(ans, x, y)))


def _fmin_share(ans, x, y):
    return where(isnan(y), 1.0, where(isnan(x), 0.0, _le_share(ans, x, y)))


fmax = elementwise(
    "fmax", np.fmax, _fmax_share, lambda ans, x, y: _fmax_share(ans, y, x),
    example="fmax(1.0, np.nan)  # 1.0",
)
fmin = elementwise(
    "fmin", np.fmin, _fmin_share, lambda ans, x, y: _fmin_share(ans, y, x),
    example="fmin(1.0, np.nan)  # 1.0",
)

# where's derivative selects the tangent (or cotangent) itself rather than multiplying it by 1 or
# 0: the dtype stays, and a NaN or inf in it where the branch is not taken gives 0, not NaN.
_where = Primitive("where", np.where)
_where_rules = (None, lambda t, ans, c, x, y: where(c, t, 0.0),
                lambda t, ans, c, x, y: where(c, 0.0, t))
_where.defjvp(*_where_rules).defvjp(*_where_rules)
_where.defbatch(batch_elementwise)


def where(condition, x=None, y=None):
    """Differentiable ``numpy.where(condition, x, y)``; gradients flow to the chosen branch.

    With only a condition it returns the indices of true entries, like NumPy.

    >>> x = np.array([-1.0, 0.5, 2.0])
    >>> where(x > 0, x, 0.0)  # relu
    array([0. , 0.5, 2. ])
    """
    if x is None and y is None:
        return nonzero(condition)
    return _where.bind(condition, x, y)


_clip = elementwise(
    "clip", np.clip,
    lambda ans, x, lo, hi: where((x >= lo) & (x <= hi), 1.0, 0.0),
    lambda ans, x, lo, hi: where(x < lo, 1.0, 0.0),
    lambda ans, x, lo, hi: where(x > hi, 1.0, 0.0),
)


def clip(a, a_min=None, a_max=None):
    """Differentiable ``numpy.clip``: derivative 1 inside the bounds, 0 where clipped.

    >>> clip(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0)
    array([0. , 0.5, 1. ])
    """
    return _clip(a, -np.inf if a_min is None else a_min, np.inf if a_max is None else a_max)


def round(a, decimals: int = 0):  # noqa: A001 - NumPy's name
    """Differentiable ``numpy.round`` (zero derivative almost everywhere).

    >>> float(round(2.567, 2))
    2.57
    """
    return _round.bind(a, decimals=decimals)


_round = Primitive("round", lambda x, decimals: np.round(x, decimals))
_round.defjvp(_zero).defvjp(_zero)
_round.defbatch(batch_elementwise)
around = round

# --- complex parts: not holomorphic, so the two modes get separate rules ---------------------
_real = Primitive("real", np.real)
_real.defjvp(lambda t, ans, x: real(t)).defvjp(lambda g, ans, x: g)  # g widens back if x is complex
_real.defbatch(batch_elementwise)
real = public(_real, doc="Differentiable ``numpy.real``.\n\n>>> print(real(1 + 2j))\n1.0")
_imag = Primitive("imag", np.imag)
_imag.defjvp(lambda t, ans, x: imag(t)).defvjp(lambda g, ans, x: -1j * g)
_imag.defbatch(batch_elementwise)
imag = public(_imag, doc="Differentiable ``numpy.imag``.\n\n>>> print(imag(1 + 2j))\n2.0")
_conj = Primitive("conjugate", np.conjugate)
_conj.defjvp(lambda t, ans, x: conj(t)).defvjp(lambda g, ans, x: conj(g))
_conj.defbatch(batch_elementwise)
conj = conjugate = public(_conj, "conj",
                          "Differentiable ``numpy.conj``.\n\n>>> print(conj(1 + 2j))\n(1-2j)")


def _abs_jvp(t, ans, x):  # the zero subgradient at 0 (sign(0) = 0), for complex x too
    if _iscomplex(x):
        return real(_over_norm(conj(x), ans) * t)
    return t * sign(x)


def _abs_vjp(g, ans, x):
    if _iscomplex(x):
        return g * _over_norm(conj(x), ans)
    return g * sign(x)


_abs = Primitive("absolute", np.abs).defjvp(_abs_jvp).defvjp(_abs_vjp)
_abs.defbatch(batch_elementwise)
absolute = abs = public(_abs, "absolute",
                        "Differentiable ``numpy.abs``.\n\n>>> print(abs(-2.0))\n2.0")
fabs = absolute


def angle(z, deg: bool = False):
    """Differentiable ``numpy.angle``: the argument of a complex number.

    >>> float(angle(1j))  # pi / 2
    1.5707963
    """
    a = arctan2(imag(z), real(z))
    return a * (180 / np.pi) if deg else a


def _iscomplex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return isinstance(x, complex) if dtype is None else dtype.kind == "c"


# --- comparisons and predicates: no derivative, but they batch --------------------------------
def _nondiff(name, impl, nargs, example=None):
    prim = Primitive(name, impl, differentiable=False)
    prim.defbatch(batch_elementwise)
    doc = f"``numpy.{name}`` on plain and traced values (no derivative)." + example_doc(example)
    return public(prim, name, doc, nargs)


equal = _nondiff("equal", np.equal, 2, "equal(1.0, 1.0)  # True")
not_equal = _nondiff("not_equal", np.not_equal, 2, "not_equal(1.0, 2.0)  # True")
less = _nondiff("less", np.less, 2, "less(1.0, 2.0)  # True")
less_equal = _nondiff("less_equal", np.less_equal, 2, "less_equal(2.0, 2.0)  # True")
greater = _nondiff("greater", np.greater, 2, "greater(1.0, 2.0)  # False")
greater_equal = _nondiff("greater_equal", np.greater_equal, 2, "greater_equal(2.0, 2.0)  # True")
logical_and = _nondiff("logical_and", np.logical_and, 2, "logical_and(True, False)  # False")
logical_or = _nondiff("logical_or", np.logical_or, 2, "logical_or(True, False)  # True")
logical_xor = _nondiff("logical_xor", np.logical_xor, 2, "logical_xor(True, True)  # False")
logical_not = _nondiff("logical_not", np.logical_not, 1, "logical_not(False)  # True")
bitwise_and = _nondiff("bitwise_and", np.bitwise_and, 2, "bitwise_and(12, 10)  # 8")
bitwise_or = _nondiff("bitwise_or", np.bitwise_or, 2, "bitwise_or(12, 10)  # 14")
bitwise_xor = _nondiff("bitwise_xor", np.bitwise_xor, 2, "bitwise_xor(12, 10)  # 6")
invert = _nondiff("invert", np.invert, 1, "invert(np.uint8(1))  # 254")
isnan = _nondiff("isnan", np.isnan, 1, "isnan(np.nan)  # True")
isfinite = _nondiff("isfinite", np.isfinite, 1, "isfinite(np.inf)  # False")
isinf = _nondiff("isinf", np.isinf, 1, "isinf(-np.inf)  # True")
signbit = _nondiff("signbit", np.signbit, 1, "signbit(-0.0)  # True")
gcd = _nondiff("gcd", np.gcd, 2, "gcd(12, 18)  # 6")
lcm = _nondiff("lcm", np.lcm, 2, "lcm(4, 6)  # 12")
left_shift = _nondiff("left_shift", np.left_shift, 2, "left_shift(1, 3)  # 8")
right_shift = _nondiff("right_shift", np.right_shift, 2, "right_shift(8, 2)  # 2")
bitwise_count = _nondiff("bitwise_count", getattr(np, "bitwise_count", None), 1,  # NumPy >= 2
                         "bitwise_count(7)  # 3")
_nonzero_p = Primitive("nonzero", np.nonzero, differentiable=False, multiple_results=True)


def zeros_like_value(x):
    """Zeros shaped like ``x`` as a constant (no derivative, but batched under vmap).

    >>> zeros_like_value(np.ones(2))
    array([0., 0.])
    """
    from .creation import zeros_like

    return zeros_like(x)


def nonzero(a):
    """``numpy.nonzero`` on plain and traced values (indices, no derivative).

    >>> nonzero(np.array([0.0, 2.0, 3.0]))
    (array([1, 2]),)
    """
    return _nonzero_p.bind(a)


# --- floating-point parts: ldexp, frexp, modf, divmod, nan_to_num ---------------------------------
# ldexp(x, n) = x * 2**n is linear in x: its tangent is ldexp(t, n), exact and in x's dtype.
_ldexp_rule = lambda t, ans, x, n: ldexp(t, n)  # noqa: E731
_ldexp = Primitive("ldexp", np.ldexp).defjvp(_ldexp_rule, None).defvjp(_ldexp_rule, None)
_ldexp.defbatch(batch_elementwise)
ldexp = public(_ldexp, doc="Differentiable ``numpy.ldexp``: ``x * 2**n``, differentiable in x.\n\n"
               ">>> float(ldexp(0.75, 2))\n3.0", nargs=2)
_frexp_exponent = _nondiff("frexp_exponent", lambda x: np.frexp(x)[1], 1)


def frexp(x):
    """Differentiable ``numpy.frexp``: ``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``;
    the mantissa's derivative is ``2**-exponent``, the integer exponent has none.

    >>> frexp(np.array([3.0, -0.25]))
    (array([ 0.75, -0.5 ]), array([ 2, -1], dtype=int32))
    """
    e = _frexp_exponent(x)
    return ldexp(x, -e), e


_modf_fraction = elementwise("modf_fraction", lambda x: np.modf(x)[0], 1)


def modf(x):
    """Differentiable ``numpy.modf``: ``(fractional part, integral part)``, both with x's sign;
    the fractional part has derivative 1, the integral part 0.

    >>> modf(np.array([2.5, -1.25]))
    (array([ 0.5 , -0.25]), array([ 2., -1.]))
    """
    return _modf_fraction(x), trunc(x)


def divmod(x1, x2):  # noqa: A001 - NumPy's name
    """Differentiable ``numpy.divmod``: ``(floor_divide(x1, x2), remainder(x1, x2))``.

    >>> divmod(np.array([7.0, -7.0]), 2.0)
    (array([ 3., -4.]), array([1., 1.]))
    """
    return floor_divide(x1, x2), remainder(x1, x2)


def _kept_where_finite(t, ans, x, **params):
    # nan_to_num keeps x (derivative 1) where it is finite and replaces it (derivative 0) elsewhere;
    # for complex x, the real and imaginary parts separately. This real-linear map is its own
    # transpose under <u, v> = Re sum(u v), so it is both the JVP and the VJP.
    if _iscomplex(x):
        return (where(isfinite(real(x)), real(t), 0.0)
                + 1j * where(isfinite(imag(x)), imag(t), 0.0))
    return where(isfinite(x), t, 0.0)


_nan_to_num = Primitive("nan_to_num", lambda x, **kw: np.nan_to_num(x, copy=True, **kw))
_nan_to_num.defjvp(_kept_where_finite).defvjp(_kept_where_finite)
_nan_to_num.defbatch(batch_elementwise)


def nan_to_num(x, copy: bool = True, nan=0.0, posinf=None, neginf=None):
    """Differentiable ``numpy.nan_to_num``: derivative 1 where x is finite, 0 where replaced.

    ``copy=False`` works in place on a plain array, as in NumPy; a traced value is never changed.

    >>> nan_to_num(np.array([1.0, np.nan, np.inf]), posinf=9.0)
    array([1., 0., 9.])
    """
    if any(isinstance(v, Tracer) for v in (nan, posinf, neginf)):
        raise NotImplementedError(
            "nan_to_num with a traced nan=, posinf= or neginf= value: the replacements must be "
            "numbers. For a differentiable replacement use where(isnan(x), value, x)."
        )
    if not isinstance(x, Tracer):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    return _nan_to_num.bind(x, nan=nan, posinf=posinf, neginf=neginf)


# --- dtype conversion ------------------------------------------------------------------------
def _astype_impl(x, dtype):
    x = x if hasattr(x, "astype") else np.asarray(x)
    if x.dtype.kind == "c" and dtype.kind != "c":
        x = x.real  # complex -> real keeps the real part, without NumPy's ComplexWarning
    return x.astype(dtype)


def _astype_tangent(t, ans, x, dtype):
    return astype(t, dtype) if np.dtype(dtype).kind in "fc" else None


_astype = Primitive("astype", _astype_impl)
_astype.defjvp(_astype_tangent)
def _astype_cotangent(g, ans, x, dtype):
    if dtype.kind not in "fc":
        return None  # integer and boolean results carry no derivative
    return astype(g, x.dtype if hasattr(x, "dtype") else np.result_type(x))


_astype.defvjp(_astype_cotangent)
_astype.defbatch(batch_elementwise)


def astype(x, dtype):
    """Differentiable dtype conversion (``x.astype(dtype)``); integer targets carry no derivative.

    >>> astype(np.array([0.5, 2.0]), np.float32)
    array([0.5, 2. ], dtype=float32)
    """
    if getattr(x, "dtype", None) == np.dtype(dtype):
        return x
    return _astype.bind(x, dtype=np.dtype(dtype))


__all__ = ["add", "subtract", "multiply", "divide", "true_divide", "negative", "positive",
    "power", "float_power", "square", "sqrt", "cbrt", "reciprocal", "exp", "expm1", "exp2",
    "log", "log1p", "log2", "log10", "logaddexp", "logaddexp2", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "arctan2", "hypot", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "deg2rad", "rad2deg", "radians", "degrees", "sinc", "sign", "floor", "ceil",
    "rint", "trunc", "floor_divide", "remainder", "mod", "fmod", "maximum", "minimum", "fmax",
    "fmin", "where", "clip", "round", "around", "real", "imag", "conj", "conjugate", "absolute",
    "abs", "fabs", "angle", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
    "bitwise_or", "bitwise_xor", "invert", "isnan", "isfinite", "isinf", "signbit",
    "zeros_like_value", "nonzero", "astype", "copysign", "heaviside", "nextafter", "spacing",
    "i0", "gcd", "lcm", "left_shift", "right_shift", "bitwise_count", "ldexp", "frexp", "modf",
    "divmod", "nan_to_num"]
