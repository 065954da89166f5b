"""Differentiable ``scipy.stats`` distributions: ``norm``, ``t``, ``gamma``, ``beta``,
``multivariate_normal`` (densities and distribution functions) and ``poisson``, ``bernoulli``
(mass and distribution functions).

Each is an object with SciPy's methods and signatures (``logpdf(x, *shapes, loc=0, scale=1)``,
``cdf``, ``logcdf``, ``sf``, ``logsf``, and ``logpmf``/``pmf`` for the discrete ones; calling it,
``norm(loc, scale)``, freezes its parameters), built from ``diffopt.numpy`` and
``diffopt.scipy.special``: differentiable in the values and in every parameter, to every order.
Outside the support and for invalid parameters the values are SciPy's (``-inf``, ``0``, ``1``,
``nan``). The cdfs in a shape parameter need the derivative of ``gammainc``/``betainc``/``stdtr``
in theirs, which is not implemented (JAX has none either): asking for it raises
``NotImplementedError`` naming that argument.

>>> import diffopt
>>> float(norm.logpdf(0.0)), float(diffopt.grad(norm.logpdf, argnums=2)(1.0, 0.0, 1.0))
(-0.918939, 0.0)
"""

from __future__ import annotations

import numpy as np

from ..core import vspace
from ..core.trace import Tracer, concrete
from ..numpy import (
    astype,
    diagonal,
    exp,
    eye,
    floor,
    isnan,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    reshape,
    squeeze,
    transpose,
    where,
    zeros,
)
from ..numpy import sum as _sum
from ..numpy.linalg import cholesky, solve
from .special import (
    _LOG_SQRT_2PI,
    _stdt_logpdf,
    betainc,
    betaincc,
    betaln,
    gammainc,
    gammaincc,
    gammaln,
    log_ndtr,
    ndtr,
    ndtri,
    stdtr,
    xlog1py,
    xlogy,
)

_UNIMPLEMENTED = frozenset({
    "rvs", "ppf", "isf", "mean", "var", "std", "median", "entropy", "stats", "moment", "interval",
    "fit", "expect", "support", "nnlf", "cdf", "logcdf",
})


def _float64(x):
    """``x`` as a floating array of at least double precision (SciPy's stats compute in it)."""
    if not isinstance(x, Tracer):
        x = np.asarray(x)
    dtype = np.asarray(concrete(x)).dtype
    target = np.promote_types(dtype, np.float64)
    return x if dtype == target else astype(x, target)


def _result(out):
    """A 0-d result as a NumPy scalar, as SciPy returns it."""
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


def _log_of_either(p, q):
    """log(p) for a probability ``p`` whose complement is ``q``: log1p(-q) where p > 1/2, which
    keeps log(cdf) near 0 accurate (and the branch not taken is fed a harmless value)."""
    small = p <= 0.5
    return where(small, log(where(small, p, 1.0)), log1p(-where(small, 0.0, q)))


class _Frozen:
    """A distribution with its parameters fixed: ``norm(loc, scale).logpdf(x)``."""

    def __init__(self, dist, args, kwds):
        self.dist, self.args, self.kwds = dist, args, kwds

    def __getattr__(self, name):
        if name.startswith("_"):  # copy and pickle look for these before __init__ has run
            raise AttributeError(name)
        method = getattr(self.dist, name)
        return lambda x, **extra: method(x, *self.args, **self.kwds, **extra)

    def __repr__(self):
        return f"<frozen diffopt.scipy.stats.{self.dist.name}{self.args}{self.kwds}>"


class _Family:
    """What the univariate families share: argument parsing, freezing, refusals."""

    name = ""
    _shapes: tuple[str, ...] = ()
    _location: tuple[str, ...] = ("loc", "scale")
    _support = (-np.inf, np.inf)
    _safe = 1.0  # a valid value of every shape parameter: stands in for invalid ones

    def __call__(self, *args, **kwds):
        self._parse(args, kwds, "freeze")  # SciPy checks the arguments when freezing too
        return _Frozen(self, args, kwds)

    def __getattr__(self, name):
        if name in _UNIMPLEMENTED:
            raise NotImplementedError(f"diffopt.scipy.stats.{self.name}.{name} is not implemented")
        raise AttributeError(name)

    def __repr__(self):
        return f"diffopt.scipy.stats.{self.name}"

    def _valid(self, *shapes):
        return True

    def _parse(self, args, kwds, method):
        """The shape parameters, loc and scale from SciPy's positional and keyword arguments."""
        names = self._shapes + self._location
        where_ = f"{self.name}.{method}()"
        if len(args) > len(names):
            raise TypeError(f"{where_} takes at most {len(names)} parameters ({len(args)} given)")
        vals = dict(zip(names, args, strict=False))
        for key, v in kwds.items():
            if key not in names:
                raise TypeError(f"{where_} got an unexpected keyword argument {key!r}")
            if key in vals:
                raise TypeError(f"{where_} got multiple values for argument {key!r}")
            vals[key] = v
        missing = [n for n in self._shapes if n not in vals]
        if missing:
            raise TypeError(f"{where_} missing required argument {missing[0]!r}")
        return tuple(vals[n] for n in self._shapes), vals.get("loc", 0.0), vals.get("scale", 1.0)

    def _setup(self, x, args, kwds, method):
        """(standardised x, valid shapes, scale, where the result is nan)."""
        shapes, loc, scale = self._parse(args, kwds, method)
        ok = logical_and(self._valid(*shapes), scale > 0)
        shapes = tuple(where(ok, s, self._safe) for s in shapes)
        scale = where(scale > 0, scale, 1.0)
        z = (_float64(x) - loc) / scale
        return z, shapes, scale, logical_or(logical_not(ok), isnan(z))

    def _cumulative(self, x, args, kwds, method, fn, below, above, floor_x=False):
        """A distribution function: ``fn`` inside the open support, ``below``/``above`` outside."""
        z, shapes, _, bad = self._setup(x, args, kwds, method)
        if floor_x:
            z = floor(z)
        lo, hi = self._support
        inside = logical_and(z >= lo, z < hi) if floor_x else logical_and(z > lo, z < hi)
        inner = where(inside, z, self._inner)
        out = where(inside, fn(inner, *shapes), where(z < lo if floor_x else z <= lo, below, above))
        return _result(where(bad, np.nan, out))

    def _logcdf(self, z, *shapes):
        return _log_of_either(self._cdf(z, *shapes), self._sf(z, *shapes))

    def _logsf(self, z, *shapes):
        return _log_of_either(self._sf(z, *shapes), self._cdf(z, *shapes))


class _Continuous(_Family):
    """A continuous family: its standard form's ``_logpdf``, ``_cdf``, ``_sf`` and support."""

    _inner = 0.0  # a point inside the support: stands in for x outside it

    def logpdf(self, x, *args, **kwds):
        """The log density: ``logpdf(x, *shapes, loc=0, scale=1)``, -inf outside the support.

        >>> float(norm.logpdf(1.0, loc=1.0, scale=np.e))  # -log(sqrt(2 pi)) - 1
        -1.918939
        """
        z, shapes, scale, bad = self._setup(x, args, kwds, "logpdf")
        lo, hi = self._support
        inside = logical_and(z >= lo, z <= hi)
        out = where(inside, self._logpdf(where(inside, z, self._inner), *shapes) - log(scale),
                    -np.inf)
        return _result(where(bad, np.nan, out))

    def pdf(self, x, *args, **kwds):
        """The density, ``exp(logpdf)``.

        >>> float(gamma.pdf(0.0, 1.0))
        1.0
        """
        return exp(self.logpdf(x, *args, **kwds))

    def cdf(self, x, *args, **kwds):
        """The distribution function P(X <= x).

        >>> float(beta.cdf(0.5, 2.0, 1.0))  # x**2
        0.25
        """
        return self._cumulative(x, args, kwds, "cdf", self._cdf, 0.0, 1.0)

    def logcdf(self, x, *args, **kwds):
        """log P(X <= x), stable in the lower tail where the family allows (norm, t).

        >>> float(norm.logcdf(-40.0))
        -804.608
        """
        return self._cumulative(x, args, kwds, "logcdf", self._logcdf, -np.inf, 0.0)

    def sf(self, x, *args, **kwds):
        """The survival function P(X > x) = 1 - cdf, computed without the subtraction.

        >>> float(t.sf(0.0, 3.0))
        0.5
        """
        return self._cumulative(x, args, kwds, "sf", self._sf, 1.0, 0.0)

    def logsf(self, x, *args, **kwds):
        """log P(X > x).

        >>> float(norm.logsf(40.0))
        -804.608
        """
        return self._cumulative(x, args, kwds, "logsf", self._logsf, 0.0, -np.inf)


class _Discrete(_Family):
    """A discrete family on the integers of its support: ``_logpmf``, ``_cdf``, ``_sf``."""

    _location = ("loc",)
    _support = (0, np.inf)
    _inner = 0.0

    def _setup(self, k, args, kwds, method):
        shapes, loc, _ = self._parse(args, kwds, method)
        ok = self._valid(*shapes)
        shapes = tuple(where(ok, s, self._safe) for s in shapes)
        k = _float64(k) - loc
        return k, shapes, 1.0, logical_or(logical_not(ok), isnan(k))

    def logpmf(self, k, *args, **kwds):
        """The log probability of ``k``, -inf off the support's integers.

        >>> float(poisson.logpmf(0, 2.0))  # -mu
        -2.0
        """
        k, shapes, _, bad = self._setup(k, args, kwds, "logpmf")
        lo, hi = self._support
        inside = logical_and(logical_and(k >= lo, k <= hi), floor(k) == k)
        out = where(inside, self._logpmf(where(inside, k, lo), *shapes), -np.inf)
        return _result(where(bad, np.nan, out))

    def pmf(self, k, *args, **kwds):
        """The probability of ``k``, ``exp(logpmf)``.

        >>> float(bernoulli.pmf(1, 0.3))
        0.3
        """
        return exp(self.logpmf(k, *args, **kwds))

    def cdf(self, k, *args, **kwds):
        """P(X <= k) (``k`` rounded down).

        >>> float(bernoulli.cdf(0.5, 0.3))
        0.7
        """
        return self._cumulative(k, args, kwds, "cdf", self._cdf, 0.0, 1.0, floor_x=True)

    def logcdf(self, k, *args, **kwds):
        """log P(X <= k).

        >>> float(poisson.logcdf(0, 2.0))
        -2.0
        """
        return self._cumulative(k, args, kwds, "logcdf", self._logcdf, -np.inf, 0.0, True)

    def sf(self, k, *args, **kwds):
        """P(X > k).

        >>> float(bernoulli.sf(0, 0.3))
        0.3
        """
        return self._cumulative(k, args, kwds, "sf", self._sf, 1.0, 0.0, floor_x=True)

    def logsf(self, k, *args, **kwds):
        """log P(X > k).

        >>> float(poisson.logsf(-1, 2.0))
        0.0
        """
        return self._cumulative(k, args, kwds, "logsf", self._logsf, 0.0, -np.inf, True)


# --- the families -------------------------------------------------------------------------------
class _Norm(_Continuous):
    """The normal distribution ``norm(loc=0, scale=1)``; its log cdf and log sf are stable in the
    far tails, with their derivatives (``log_ndtr``).

    >>> float(norm.cdf(1.959964))
    0.975
    """

    name = "norm"

    def _logpdf(self, z):
        return -0.5 * z**2 - _LOG_SQRT_2PI

    def _cdf(self, z):
        return ndtr(z)

    def _logcdf(self, z):
        return log_ndtr(z)

    def _sf(self, z):
        return ndtr(-z)

    def _logsf(self, z):
        return log_ndtr(-z)

    def ppf(self, q, loc=0.0, scale=1.0):
        """The quantile function (inverse cdf), ``loc + scale * ndtri(q)``.

        >>> float(norm.ppf(0.975))
        1.959964
        """
        return _result(where(scale > 0, loc + where(scale > 0, scale, 1.0) * ndtri(q), np.nan))


class _T(_Continuous):
    """Student's t distribution ``t(df, loc=0, scale=1)`` (the normal at ``df = inf``).

    >>> float(t.cdf(1.0, 1.0))  # Cauchy
    0.75
    """

    name = "t"
    _shapes = ("df",)

    def _valid(self, df):
        return df > 0

    def _logpdf(self, z, df):
        return _stdt_logpdf(z, df)

    def _cdf(self, z, df):
        return stdtr(df, z)

    def _sf(self, z, df):
        return stdtr(df, -z)


class _Gamma(_Continuous):
    """The gamma distribution ``gamma(a, loc=0, scale=1)``, on x >= 0.

    >>> float(gamma.cdf(2.0, 1.0))  # 1 - exp(-2)
    0.864665
    """

    name = "gamma"
    _shapes = ("a",)
    _support = (0.0, np.inf)
    _inner = 1.0

    def _valid(self, a):
        return a > 0

    def _logpdf(self, z, a):
        return xlogy(a - 1, z) - z - gammaln(a)

    def _cdf(self, z, a):
        return gammainc(a, z)

    def _sf(self, z, a):
        return gammaincc(a, z)


class _Beta(_Continuous):
    """The beta distribution ``beta(a, b, loc=0, scale=1)``, on 0 <= x <= 1.

    >>> float(beta.pdf(0.5, 2.0, 2.0))  # 6 x (1 - x)
    1.5
    """

    name = "beta"
    _shapes = ("a", "b")
    _support = (0.0, 1.0)
    _inner = 0.5

    def _valid(self, a, b):
        return logical_and(a > 0, b > 0)

    def _logpdf(self, z, a, b):
        return xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b)

    def _cdf(self, z, a, b):
        return betainc(a, b, z)

    def _sf(self, z, a, b):
        return betaincc(a, b, z)


class _Poisson(_Discrete):
    """The Poisson distribution ``poisson(mu, loc=0)``: differentiable in ``mu``.

    >>> float(poisson.cdf(1, 2.0))  # 3 exp(-2)
    0.406006
    """

    name = "poisson"
    _shapes = ("mu",)

    def _valid(self, mu):
        return mu >= 0

    def _logpmf(self, k, mu):
        return xlogy(k, mu) - gammaln(k + 1) - mu

    def _cdf(self, k, mu):
        return gammaincc(k + 1, mu)

    def _sf(self, k, mu):
        return gammainc(k + 1, mu)


class _Bernoulli(_Discrete):
    """The Bernoulli distribution ``bernoulli(p, loc=0)`` on {0, 1}: differentiable in ``p``.

    >>> float(bernoulli.logpmf(0, 0.5))
    -0.693147
    """

    name = "bernoulli"
    _shapes = ("p",)
    _support = (0, 1)
    _safe = 0.5

    def _valid(self, p):
        return logical_and(p >= 0, p <= 1)

    def _logpmf(self, k, p):
        return xlogy(k, p) + xlog1py(1 - k, -p)

    def _cdf(self, k, p):  # k == 0 here: the other values are the support's edges
        return 1 - p

    def _sf(self, k, p):
        return p


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
poisson = _Poisson()
bernoulli = _Bernoulli()


# --- the multivariate normal ----------------------------------------------------------------------
_LOG_2PI = float(np.log(2 * np.pi))
_SINGULAR = "When `allow_singular is False`, the input matrix must be symmetric positive definite."


class _MultivariateNormal:
    """The multivariate normal ``multivariate_normal(mean=None, cov=1, allow_singular=False)``:
    ``logpdf`` and ``pdf`` of ``x`` (its last axis the dimension, as SciPy reads it), through a
    Cholesky factor of ``cov``; differentiable in ``x``, ``mean`` and ``cov``. ``cov`` may be a
    scalar (times the identity), a vector (a diagonal) or a matrix.

    >>> float(multivariate_normal.logpdf([0.0, 0.0], cov=[1.0, 1.0]))  # -log(2 pi)
    -1.837877
    """

    name = "multivariate_normal"

    def __call__(self, mean=None, cov=1, allow_singular=False):
        self._parameters(mean, cov, allow_singular)
        return _Frozen(self, (), {"mean": mean, "cov": cov, "allow_singular": allow_singular})

    def __getattr__(self, name):
        if name in _UNIMPLEMENTED:
            raise NotImplementedError(f"diffopt.scipy.stats.multivariate_normal.{name} is not "
                                      "implemented (SciPy's cdf is a numerical integration)")
        raise AttributeError(name)

    def _parameters(self, mean, cov, allow_singular):
        """(mean as a vector, cov as a matrix, the dimension), checked as SciPy checks them."""
        if allow_singular:
            raise NotImplementedError(
                "multivariate_normal: allow_singular=True (a singular covariance) is not "
                "implemented")
        cov = _float64(cov)
        cshape = vspace.shape_of(cov)
        if mean is None:
            dim = 1 if len(cshape) == 0 else cshape[0]
            mean = zeros(dim)
        else:
            mshape = vspace.shape_of(mean)
            if len(mshape) > 1:
                raise ValueError(f"Array 'mean' must be a vector of length {int(np.prod(mshape))}.")
            dim = 1 if len(mshape) == 0 else mshape[0]
            mean = reshape(_float64(mean), (dim,))
        if len(cshape) > 2 or (len(cshape) == 2 and cshape != (dim, dim)):
            raise ValueError(f"Array 'cov' must be of shape ({dim}, {dim}) (cov.shape = {cshape})")
        if len(cshape) == 1 and cshape != (dim,):
            raise ValueError(f"Array 'cov' must be a vector of length {dim}.")
        if len(cshape) < 2:
            cov = cov * eye(dim)  # a scalar times the identity, or a diagonal
        s = np.linalg.eigvalsh(np.asarray(concrete(cov)))
        eps = 1e6 * np.finfo(float).eps * np.max(np.abs(s))
        if np.min(s) < -eps:
            raise ValueError("the input matrix must be positive semidefinite")
        if np.min(s) <= eps:
            raise np.linalg.LinAlgError(_SINGULAR)
        return mean, cov, dim

    def logpdf(self, x, mean=None, cov=1, allow_singular=False):
        """The log density at ``x`` (``(..., dim)``; a scalar or vector read as SciPy reads it).

        >>> float(multivariate_normal.logpdf(1.0, mean=1.0, cov=1.0))
        -0.918939
        """
        mean, cov, dim = self._parameters(mean, cov, allow_singular)
        x = _float64(x)
        shape = vspace.shape_of(x)
        if len(shape) == 0:
            shape = (1,)
        elif len(shape) == 1:
            shape = (shape[0], 1) if dim == 1 else (1, shape[0])
        if shape[-1] != dim:
            raise ValueError(f"x has {shape[-1]} values in its last axis, the distribution has "
                             f"dimension {dim}")
        dev = reshape(x, (-1, dim)) - mean
        factor = cholesky(cov)
        z = solve(factor, transpose(dev))  # (dim, n): the whitened deviations
        logdet = 2 * _sum(log(diagonal(factor)))
        out = -0.5 * (dim * _LOG_2PI + logdet + _sum(z**2, axis=0))
        return _result(squeeze(reshape(out, shape[:-1])))

    def pdf(self, x, mean=None, cov=1, allow_singular=False):
        """The density, ``exp(logpdf)``.

        >>> float(multivariate_normal.pdf([0.0, 0.0], cov=np.eye(2)))  # 1 / (2 pi)
        0.159155
        """
        return exp(self.logpdf(x, mean, cov, allow_singular))


multivariate_normal = _MultivariateNormal()

__all__ = ["norm", "t", "gamma", "beta", "poisson", "bernoulli", "multivariate_normal"]
