"""Least squares: minimise F(x) = ½‖r(x)‖² for residuals r: Rⁿ → Rᵐ (kind="least_squares").

- "gauss-newton" (ours): the step h solves JᵀJ h = −Jᵀr; Armijo backtracking on F takes t·h.
- "lm" (ours): Levenberg-Marquardt, (JᵀJ + μD) h = −Jᵀr with Nielsen's damping update from the
  gain ratio ρ = (actual reduction) / (reduction predicted by the Gauss-Newton model): on success
  μ ← μ·max(1/3, 1 − (2ρ − 1)³), ν ← 2; on failure μ ← μ·ν, ν ← 2ν. μ₀ = τ·max diag(JᵀJ) in the
  scaled variables (matrix-free: the Rayleigh quotient ‖Jg‖²/‖g‖², one extra J v).
- "trf" (bounds) and "scipy-lm": ``scipy.optimize.least_squares(method="trf" / "lm")`` fed the AD
  Jacobian; the monitor watches each Jacobian evaluation (one per iteration). trf starts at least
  1e-3·max(1, |bound|) inside the bounds (scipy's own 1e-10 can stop it at once, "successfully").

Dense or matrix-free. With ``dense=None`` (default) a problem with n·m <= ``DENSE_LIMIT`` builds
the dense Jacobian once per iteration (``problem.jac``) and solves each step in its singular
coordinates (any μ for one factorisation: eigh of JᵀJ, or the SVD of J when ill-conditioned); a
larger one is matrix-free: ``problem.linearize`` records one forward pass, and the step comes from
CGLS (conjugate gradients on the normal equations, one J v and one Jᵀu per CG step, at most
``cg_maxiter`` = n steps by default), stopped at the forcing tolerance ‖Jᵀ(r + Jh) + μDh‖ <=
η‖Jᵀr‖, η = min(``forcing``, ‖Jᵀr‖ / ‖Jᵀr₀‖) (superlinear convergence near the end).
"trf" then gets a ``LinearOperator`` and ``tr_solver="lsmr"``; "scipy-lm" (MINPACK) always needs
the dense J. ``dense=True`` / ``False`` forces a path.

Scaling D in "lm": dense, D = diag of the running maximum of diag(JᵀJ) (Marquardt's / MINPACK's
choice, invariant to rescaling the parameters); matrix-free, D = I (diag(JᵀJ) is not cheap without
J). ``scale=False`` gives D = I on the dense path too.

Tolerances, as in ``scipy.optimize.least_squares``: ``tol`` sets ftol = xtol = gtol (default 1e-8);
the options ``ftol``, ``xtol``, ``gtol`` set one each. Ours stop with success on
- gtol: ‖Jᵀr‖∞ <= gtol;
- ftol: a step lowered F by dF < ftol·F while the model predicted it well (ρ > 1/4);
- xtol: a step ‖Δx‖ < xtol·(xtol + ‖x‖).
"trf" and "scipy-lm" pass them to scipy, which applies its own forms of these tests.
Status: 0 converged, 1 maxiter, 2 no further progress (line search or damping failed), 98 the
residuals or a Jacobian product became non-finite (also at every trial point of a step: a point
next to a region where r is NaN is not reported as converged).
The monitor's f is ½‖r‖² and its gradient Jᵀr for every method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.sparse.linalg import LinearOperator

from . import checks
from .base import Outcome
from .registry import register

DENSE_LIMIT = 100_000  # n·m up to which the dense Jacobian is built (dense=None)
DEFAULT_TOL = 1e-8  # ftol, xtol and gtol, as scipy.optimize.least_squares
MAX_HALVINGS = 40  # Gauss-Newton line search
MAX_REJECTIONS = 60  # Levenberg-Marquardt: rejected steps in a row before giving up
ARMIJO_C1 = 1e-4

MSG_GTOL = "gtol: the gradient norm ‖Jᵀr‖∞ fell below gtol"
MSG_FTOL = "ftol: the relative reduction of the cost fell below ftol"
MSG_XTOL = "xtol: the step fell below xtol·(xtol + ‖x‖)"
MSG_MAXITER = "maximum number of iterations reached"


# --- shared pieces --------------------------------------------------------------------------------
def tolerances(tol, ftol=None, xtol=None, gtol=None) -> tuple[float, float, float]:
    """(ftol, xtol, gtol): each given one, else ``tol``, else 1e-8.

    >>> tolerances(1e-6, gtol=1e-10)
    (1e-06, 1e-06, 1e-10)
    """
    base = DEFAULT_TOL if tol is None else checks.nonnegative("tol", tol)
    return tuple(base if v is None else checks.nonnegative(name, v)
                 for name, v in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)))


def use_dense(dense: bool | None, n: int, m: int) -> bool:
    """The dense-Jacobian path: forced by ``dense``, else when n·m <= DENSE_LIMIT.

    >>> use_dense(None, 100, 500)  # 5e4 <= DENSE_LIMIT
    True
    """
    return n * m <= DENSE_LIMIT if dense is None else bool(dense)


def termination(dF, cost, step_norm, x_norm, ratio, ftol, xtol) -> str | None:
    """scipy's ftol / xtol tests after a step: the reason to stop, or None to go on.

    >>> termination(1e-12, 1.0, 0.1, 1.0, 0.9, 1e-8, 1e-8)
    'ftol: the relative reduction of the cost fell below ftol'
    """
    f_ok = dF < ftol * cost and ratio > 0.25
    x_ok = step_norm < xtol * (xtol + x_norm)
    if f_ok and x_ok:
        return f"{MSG_FTOL}, and {MSG_XTOL}"
    return MSG_FTOL if f_ok else MSG_XTOL if x_ok else None


class _Point:
    """An iterate: x, residuals, cost; ``lin`` and ``g`` are filled by the model."""

    __slots__ = ("x", "r", "cost", "lin", "g")

    def __init__(self, x, r, lin=None):
        self.x, self.r, self.lin, self.g = x, r, lin, None
        self.cost = 0.5 * float(r @ r)


@dataclass
class _Step:
    """A step h with slope = gᵀh and curv = ‖Jh‖²: the Gauss-Newton model predicts the cost
    reduction −t·slope − ½t²·curv for the step t·h."""

    h: np.ndarray
    slope: float
    curv: float

    def predicted(self, t: float = 1.0) -> float:
        return -t * self.slope - 0.5 * t * t * self.curv


def cgls(jvp, vjp, r, g, mu, atol, maxiter):
    """min ‖r + Jh‖² + μ‖h‖² by conjugate gradients on (JᵀJ + μI) h = −g (g = Jᵀr), one J v and
    one Jᵀu per step, until ‖Jᵀ(r + Jh) + μh‖ <= atol. Returns (h, Jh), or (None, None) if a
    Jacobian product was not finite.

    >>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> r = np.array([1.0, 2.0, 3.0])
    >>> h, jh = cgls(lambda v: J @ v, lambda u: J.T @ u, r, J.T @ r, 0.0, 1e-12, 50)
    >>> h, jh
    (array([-1., -1.]), array([-1., -2.,  0.]))
    """
    h = np.zeros_like(g)
    jh = np.zeros_like(r)
    z = -g  # minus the gradient of the damped model at h
    d = z.copy()
    gamma = float(z @ z)
    for _ in range(maxiter):
        if gamma <= atol * atol:
            break
        q = jvp(d)
        if not np.all(np.isfinite(q)):
            return None, None
        delta = float(q @ q) + mu * float(d @ d)
        if not (np.isfinite(delta) and delta > 0.0):
            break  # no curvature left to use (or the damping overflowed): keep h
        alpha = gamma / delta
        h += alpha * d
        jh += alpha * q
        u = vjp(r + jh)
        if not np.all(np.isfinite(u)):
            return None, None
        z = -(u + mu * h)
        gamma_new = float(z @ z)
        if not np.isfinite(gamma_new):
            break
        d = z + (gamma_new / gamma) * d
        gamma = gamma_new
    return h, jh


# --- the two ways to take a step ------------------------------------------------------------------
class _MatrixFree:
    """Steps by CGLS on the Jacobian products of one recorded forward pass; D = I."""

    def __init__(self, problem, cg_maxiter, forcing):
        self.problem = problem
        self.cg_maxiter = problem.n if cg_maxiter is None else int(cg_maxiter)
        self.forcing = float(forcing)
        self.g0 = None

    def evaluate(self, x) -> _Point:
        r, jvp, vjp = self.problem.linearize(x)
        return _Point(x, r, (jvp, vjp))

    def prepare(self, p: _Point) -> None:
        p.g = p.lin[1](p.r)
        if self.g0 is None:
            self.g0 = float(np.linalg.norm(p.g))

    def curvature(self, p: _Point) -> float:
        """An estimate of max diag(JᵀJ): the Rayleigh quotient ‖Jg‖² / ‖g‖²."""
        jg = p.lin[0](p.g)
        return float(jg @ jg) / float(p.g @ p.g)

    def step(self, p: _Point, mu: float) -> _Step | None:
        """The damped step, or None if a Jacobian product was not finite."""
        gnorm = float(np.linalg.norm(p.g))
        eta = min(self.forcing, gnorm / self.g0) if self.g0 > 0 else self.forcing
        h, jh = cgls(*p.lin, p.r, p.g, mu, eta * gnorm, self.cg_maxiter)
        return None if h is None else _Step(h, float(p.g @ h), float(jh @ jh))


class _Dense:
    """Steps from the dense Jacobian, built once per iterate, in its singular coordinates: with
    Ĵ = J D^{-1/2} = U S Vᵀ and c = Uᵀr, any damping μ gives the scaled step −V (S c / (S² + μ))."""

    def __init__(self, problem, scale: bool):
        self.problem = problem
        self.scale = scale
        self.d = None  # column scaling: D = diag(d²)

    def evaluate(self, x) -> _Point:
        return _Point(x, self.problem.residuals(x))

    def prepare(self, p: _Point) -> None:
        J = self.problem.jac(p.x)
        p.g = J.T @ p.r
        if not (np.all(np.isfinite(J)) and np.all(np.isfinite(p.r))):
            return  # the monitor stops the run on the non-finite gradient
        d = np.ones(J.shape[1])
        if self.scale:
            norms = np.sqrt(np.einsum("ij,ij->j", J, J))
            self.d = norms if self.d is None else np.maximum(self.d, norms)
            d = np.where(self.d > 0, self.d, 1.0)
        Js = J / d
        p.lin = (*singular_coordinates(Js, p.r), d, float(np.max(np.sum(Js * Js, axis=0),
                                                                initial=0.0)))

    def curvature(self, p: _Point) -> float:
        """max diag(JᵀJ) in the scaled variables."""
        return p.lin[4]

    def step(self, p: _Point, mu: float) -> _Step:
        s, V, c, d, _ = p.lin
        if mu == 0.0:  # Gauss-Newton: the pseudo-inverse, small singular values cut
            top = s.max(initial=0.0)
            keep = s > np.finfo(float).eps * max(p.r.size, p.x.size) * top
            w = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
        else:
            w = s / (s * s + mu)
        coef = w * c  # the scaled step is q = −V coef, and J h = −U (s coef)
        h = -(V @ coef) / d
        jh_coef = s * coef
        return _Step(h, float(p.g @ h), float(jh_coef @ jh_coef))


def singular_coordinates(J, r, rcond: float = 1e-8):
    """(s, V, c): singular values and right singular vectors of J (m x n) and c = Uᵀr.

    From the eigendecomposition of the small n x n JᵀJ when J is well conditioned (fast, and
    immune to the multithreaded-SVD slowness of tall matrices); from the SVD of J itself when
    s_min² < rcond·s_max², where squaring would cost accuracy.

    >>> J = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> s, V, c = singular_coordinates(J, np.array([1.0, 2.0, 3.0]))  # J = U diag(s) Vᵀ, c = Uᵀr
    >>> s, c
    (array([1., 2.]), array([1., 2.]))
    """
    w, V = np.linalg.eigh(J.T @ J)
    if w.size and w[0] > rcond * w[-1]:
        s = np.sqrt(w)
        return s, V, (V.T @ (J.T @ r)) / s
    U, s, Vt = np.linalg.svd(J, full_matrices=False)
    return s, Vt.T, U.T @ r


def _start(problem, x0, dense, cg_maxiter, forcing, scale):
    """The model (dense or matrix-free) and the prepared first point."""
    dense, scale = checks.optional_bool("dense", dense), checks.optional_bool("scale", scale)
    if cg_maxiter is not None:
        checks.positive_int("cg_maxiter", cg_maxiter)
    checks.fraction("forcing", forcing)  # 1 or more: CG would stop at h = 0
    r0, jvp, vjp = problem.linearize(x0)  # m decides the path
    if use_dense(dense, problem.n, r0.size):
        model = _Dense(problem, True if scale is None else scale)
        point = _Point(x0, r0)
    else:
        if scale:
            raise ValueError("scale=True (D = diag(JᵀJ)) needs the dense Jacobian; pass "
                             "dense=True, or scale=None/False for D = I on the matrix-free path")
        model = _MatrixFree(problem, cg_maxiter, forcing)
        point = _Point(x0, r0, (jvp, vjp))
    model.prepare(point)
    return model, point


def _model_step(model, point, mu, monitor) -> _Step:
    """The model's step for damping ``mu``; ends the run if a Jacobian product was not finite."""
    step = model.step(point, mu)
    if step is None:
        monitor.stop_nonfinite("a Jacobian product in CGLS was non-finite")
    return step


def _end_nonfinite_trials(trial: _Point, monitor) -> None:
    """Give up on a non-finite last trial: the damping or the line search cannot step back into
    the region where the residuals are finite (not a converged point)."""
    if not np.isfinite(trial.cost):
        monitor.stop_nonfinite("the residuals were non-finite at the trial points")


def _gtol_met(g, gtol) -> bool:
    return g.size == 0 or float(np.max(np.abs(g))) <= gtol


# --- our solvers ----------------------------------------------------------------------------------
def _report(monitor, point, done, gtol):
    """Report the iterate to the monitor; the converged ``Outcome`` if the run is over."""
    monitor.iteration(point.x, point.cost, point.g)
    if done:
        return Outcome(point.x, True, done)
    if _gtol_met(point.g, gtol):
        return Outcome(point.x, True, MSG_GTOL)
    return None


@register("gauss-newton", kind="least_squares", uses=("jvp", "vjp", "jac"), default_maxiter=200)
def gauss_newton(problem, x0, monitor, *, maxiter, tol, ftol=None, xtol=None, gtol=None,
                 dense=None, cg_maxiter=None, forcing=0.1):
    """Gauss-Newton with a backtracking line search; matrix-free (CGLS) for large problems.

    Options: ftol, xtol, gtol (see the module docstring), ``dense`` (None: by size),
    ``cg_maxiter`` (None: n) and ``forcing`` (the largest relative CG tolerance).

    >>> import diffopt, diffopt.numpy as dnp
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> y = 2.0 * np.exp(-t)
    >>> residuals = lambda p: p[0] * dnp.exp(-p[1] * t) - y
    >>> res = diffopt.least_squares(residuals, np.ones(2), "gauss-newton", options={"dense": False})
    >>> res.success, np.allclose(res.x, [2.0, 1.0])
    (True, True)
    """
    ftol, xtol, gtol = tolerances(tol, ftol, xtol, gtol)
    model, point = _start(problem, x0, dense, cg_maxiter, forcing, False)
    done = None
    for _ in range(maxiter):
        finished = _report(monitor, point, done, gtol)
        if finished:
            return finished
        step = _model_step(model, point, 0.0, monitor)
        h_norm, x_norm = float(np.linalg.norm(step.h)), float(np.linalg.norm(point.x))
        if h_norm < xtol * (xtol + x_norm):
            return Outcome(point.x, True, MSG_XTOL)
        t = 1.0
        for _ in range(MAX_HALVINGS):
            trial = model.evaluate(point.x + t * step.h)
            if trial.cost <= point.cost + ARMIJO_C1 * t * step.slope:  # False for NaN
                break
            t *= 0.5
        else:
            _end_nonfinite_trials(trial, monitor)
            return Outcome(point.x, False, "the line search found no decrease along the "
                           "Gauss-Newton step (try method='lm')", 2)
        dF, pred = point.cost - trial.cost, step.predicted(t)
        done = termination(dF, point.cost, t * h_norm, x_norm, dF / pred if pred > 0 else 0.0,
                           ftol, xtol)
        point = trial
        model.prepare(point)
    if done:
        return Outcome(point.x, True, done)
    return Outcome(point.x, False, MSG_MAXITER, 1)


@register("lm", kind="least_squares", uses=("jvp", "vjp", "jac"), default_maxiter=500)
def levenberg_marquardt(problem, x0, monitor, *, maxiter, tol, ftol=None, xtol=None, gtol=None,
                        dense=None, cg_maxiter=None, forcing=0.1, tau=1e-3, scale=None):
    """Levenberg-Marquardt with Nielsen's damping update; matrix-free (CGLS) for large problems.

    Options as "gauss-newton", plus ``tau`` (μ₀ = tau·max diag(JᵀJ)) and ``scale`` (None: D =
    diag(JᵀJ) on the dense path, D = I matrix-free; False: D = I).

    >>> import diffopt, diffopt.numpy as dnp
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> y = 2.0 * np.exp(-t)
    >>> residuals = lambda p: p[0] * dnp.exp(-p[1] * t) - y
    >>> res = diffopt.least_squares(residuals, np.ones(2), "lm", options={"tau": 1e-6})
    >>> res.success, np.allclose(res.x, [2.0, 1.0])
    (True, True)
    """
    ftol, xtol, gtol = tolerances(tol, ftol, xtol, gtol)
    tau = checks.positive("tau", tau)
    model, point = _start(problem, x0, dense, cg_maxiter, forcing, scale)
    mu, nu, done = None, 2.0, None
    for _ in range(maxiter):
        finished = _report(monitor, point, done, gtol)
        if finished:
            return finished
        if mu is None:
            mu = tau * model.curvature(point)
            mu = mu if mu > 0 and np.isfinite(mu) else tau
        x_norm = float(np.linalg.norm(point.x))
        for _ in range(MAX_REJECTIONS):
            step = _model_step(model, point, mu, monitor)
            h_norm = float(np.linalg.norm(step.h))
            trial = model.evaluate(point.x + step.h)
            dF, pred = point.cost - trial.cost, step.predicted()
            rho = dF / pred if pred > 0 else 0.0
            if rho > 0:  # False for NaN
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                break
            if h_norm < xtol * (xtol + x_norm):
                _end_nonfinite_trials(trial, monitor)
                return Outcome(point.x, True, MSG_XTOL)
            mu *= nu
            nu *= 2.0
        else:
            _end_nonfinite_trials(trial, monitor)
            return Outcome(point.x, False, f"no decrease after {MAX_REJECTIONS} increases of the "
                           "damping", 2)
        done = termination(dF, point.cost, h_norm, x_norm, rho, ftol, xtol)
        point = trial
        model.prepare(point)
    if done:
        return Outcome(point.x, True, done)
    return Outcome(point.x, False, MSG_MAXITER, 1)


# --- scipy.optimize.least_squares -----------------------------------------------------------------
INTERIOR_MARGIN = 1e-3  # trf's start: this far inside each bound, relative to max(1, |bound|)


def strictly_inside(x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    margin: float = INTERIOR_MARGIN) -> np.ndarray:
    """x0 moved at least ``margin·max(1, |bound|)`` inside each finite bound (to the midpoint
    where the interval is narrower than that).

    scipy's trf moves a start on a bound only 1e-10 inside, and takes ‖x0‖ (scaled) as its first
    trust radius: from a start on a bound at 0 its first steps are ~1e-10 long, and its ftol test
    then reports success at x0. A start this far inside avoids both.

    >>> strictly_inside(np.array([0.0, 0.5]), np.zeros(2), np.ones(2))
    array([0.001, 0.5  ])
    """
    floor, ceiling = lo.copy(), hi.copy()
    finite_lo, finite_hi = np.isfinite(lo), np.isfinite(hi)
    floor[finite_lo] += margin * np.maximum(1.0, np.abs(lo[finite_lo]))
    ceiling[finite_hi] -= margin * np.maximum(1.0, np.abs(hi[finite_hi]))
    x = np.minimum(np.maximum(x0, floor), ceiling)
    narrow = floor > ceiling  # both bounds finite and closer than the margins
    x[narrow] = 0.5 * (lo[narrow] + hi[narrow])
    return x


class _MaxIter(Exception):
    def __init__(self, x):
        self.x = x


def _scipy_least_squares(problem, x0, monitor, method, maxiter, tol, bounds, dense, ftol, xtol,
                         gtol, **kwargs):
    """scipy's least_squares with the AD Jacobian (dense, or a LinearOperator from JVP/VJP)."""
    ftol, xtol, gtol = tolerances(tol, ftol, xtol, gtol)
    if bounds is not None:
        x0 = strictly_inside(x0, *bounds)
        kwargs["bounds"] = bounds
    r0, *lin0 = problem.linearize(x0)  # m decides the path
    m, n = r0.size, problem.n
    matrix_free = not use_dense(dense, n, m)
    memo = [x0.copy(), r0, lin0]  # the last (x, r, (jvp, vjp) or None) evaluated

    def fun(x):
        if np.array_equal(memo[0], x):
            return memo[1]
        if matrix_free:
            r, jvp, vjp = problem.linearize(x)
            memo[:] = [np.array(x, copy=True), r, (jvp, vjp)]
        else:
            memo[:] = [np.array(x, copy=True), problem.residuals(x), None]
        return memo[1]

    def jac(x, *_):
        r = fun(x)
        if len(monitor.history["f"]) > maxiter:  # x0 and maxiter steps are recorded: stop
            raise _MaxIter(monitor.last_x)
        if matrix_free:
            jvp, vjp = memo[2]
            g = vjp(r)
            if n == 1:  # one J v is the whole Jacobian (and scipy's lsmr path needs n >= 2)
                J = jvp(np.ones(1)).reshape(m, 1)
            else:
                J = LinearOperator((m, n), matvec=lambda v: jvp(np.ravel(v)),
                                   rmatvec=lambda u: vjp(np.ravel(u)), dtype=np.float64)
        else:
            J = problem.jac(x)
            g = J.T @ r
        monitor.iteration(x, 0.5 * float(r @ r), g)
        return J

    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if matrix_free and n > 1:
        kwargs["tr_solver"] = "lsmr"
    try:
        res = scipy.optimize.least_squares(fun, x0, jac=jac, method=method, ftol=ftol, xtol=xtol,
                                           gtol=gtol, **kwargs)
    except _MaxIter as stop:
        return Outcome(stop.x, False, MSG_MAXITER, 1)
    if not res.success and not np.all(np.isfinite(memo[1])):
        # scipy shrinks its trust region after a non-finite trial and tries again, until
        # max_nfev: the run ended because the residuals were non-finite around x
        monitor.stop_nonfinite("the residuals were non-finite at the trial points")
    status = 0 if res.status > 0 else 1 if res.status == 0 else 2
    return Outcome(res.x, bool(res.success), res.message, status,
                   {"active_mask": res.active_mask})


@register("trf", kind="least_squares", bounds=True, uses=("jac", "jvp", "vjp"),
          default_maxiter=1000)
def trf(problem, x0, monitor, *, maxiter, tol, bounds=None, ftol=None, xtol=None, gtol=None,
        dense=None, x_scale=None, loss="linear", f_scale=1.0, max_nfev=None, tr_options=None):
    """scipy's trust-region reflective least squares (bounds) with the AD Jacobian.

    A dense Jacobian for n·m <= DENSE_LIMIT (or ``dense=True``), else a LinearOperator from JVP /
    VJP with tr_solver="lsmr"; the other options go to ``scipy.optimize.least_squares``. A start
    on (or next to) a bound is first moved inside it (``strictly_inside``).

    >>> import diffopt, diffopt.numpy as dnp
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> y = 2.0 * np.exp(-t)
    >>> residuals = lambda p: p[0] * dnp.exp(-p[1] * t) - y
    >>> res = diffopt.least_squares(residuals, np.ones(2), "trf", bounds=(0.0, np.inf))
    >>> res.success, np.allclose(res.x, [2.0, 1.0])
    (True, True)
    """
    return _scipy_least_squares(problem, x0, monitor, "trf", maxiter, tol, bounds, dense, ftol,
                                xtol, gtol, x_scale=x_scale, loss=loss, f_scale=f_scale,
                                max_nfev=max_nfev, tr_options=tr_options)


@register("scipy-lm", kind="least_squares", uses=("jac",), default_maxiter=1000)
def scipy_lm(problem, x0, monitor, *, maxiter, tol, ftol=None, xtol=None, gtol=None,
             x_scale=None, max_nfev=None):
    """scipy's Levenberg-Marquardt (MINPACK) with the dense AD Jacobian (needs m >= n).

    >>> import diffopt, diffopt.numpy as dnp
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> y = 2.0 * np.exp(-t)
    >>> residuals = lambda p: p[0] * dnp.exp(-p[1] * t) - y
    >>> res = diffopt.least_squares(residuals, np.ones(2), "scipy-lm")
    >>> res.success, np.allclose(res.x, [2.0, 1.0])
    (True, True)
    """
    return _scipy_least_squares(problem, x0, monitor, "lm", maxiter, tol, None, True, ftol, xtol,
                                gtol, x_scale=x_scale, max_nfev=max_nfev)
