"""The trebuchet of the Julia Flux blog post "Differentiable Control Problems", differentiable.

The model of ``shared/specs/trebuchet.md`` (Trebuchet.jl's equations, from virtualtrebuchet.com):
a counterweight trebuchet with a hinged counterweight and a sling, thrown in three stages —

1. the projectile slides on the ground, dragged by the sling (until the sling's tension lifts it),
2. the projectile hangs in the sling (until its velocity points along the release angle),
3. free flight with quadratic air drag and wind (until it lands).

Each stage is integrated by explicit Euler with ``dt = 1/60`` s through :func:`diffopt.ode.solve`;
events are located on each step's cubic Hermite interpolant and the next stage starts at the event
time from the interpolated state. Every operation is a ``diffopt.numpy`` one, so
:func:`shoot`'s distance is differentiable in the wind, the release angle and the counterweight
(derivatives flow through the event times by the implicit function theorem).

``model="faithful"`` (default) reproduces the original code, which swaps the arm's and the
counterweight's inertias in the stage 1-2 equations (the published figures depend on it);
``model="corrected"`` uses them the right way round.

>>> shot = shoot(0.0, 45.0, 200.0, backend="numpy")   # wind m/s, angle degrees, weight lb
>>> round(float(shot.distance), 3)
82.799
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import diffopt.numpy as dnp
from diffopt.compile import jit
from diffopt.core import concrete
from diffopt.ode import TABLEAUS, Event, ODESolveError, solve, solve_batch
from diffopt.ode._types import EVENT_NON_FINITE

FT = 0.3048  # m
LB = 0.45359237  # kg

A_PIVOT = 5.0 * FT  # pivot height above ground (a)
L_AL = 6.792 * FT  # long arm, pivot to sling hook (b)
L_AS = 1.75 * FT  # short arm, pivot to counterweight hinge (c)
L_W = 2.0 * FT  # counterweight hinge to counterweight centre (d)
L_S = 6.833 * FT  # sling length (e)
RADIUS = 0.1245 * FT  # projectile radius (z)
M_P = 0.328 * LB  # projectile mass
M_A = 10.65 * LB  # arm mass
I_ARM = M_A * (L_AL + L_AS) ** 2 / 12  # arm inertia
I_CW = 1.0 * LB * FT**2  # counterweight inertia
L_CG = (L_AL - L_AS) / 2  # arm centre-of-gravity offset
RHO, CD = 1.0, 1.0  # air density, drag coefficient
G = 9.80665
AREA = np.pi * RADIUS**2
DT = 1.0 / 60.0  # Euler step (s)
MODELS = ("faithful", "corrected")

THETA0 = float(np.arcsin(A_PIVOT / L_AL))
U0 = np.array([np.pi / 2 + THETA0, -(np.pi / 2 + THETA0), np.pi - THETA0, 0.0, 0.0, 0.0])


class TrebuchetError(ValueError):
    """A shot that cannot be thrown (e.g. a counterweight too light to lift the projectile)."""


def inertias(model: str = "faithful") -> tuple[float, float]:
    """``(I_A, I_W)`` as used in the stage 1-2 equations: swapped in the faithful model.

    >>> inertias("corrected") == (I_ARM, I_CW)
    True
    """
    if model == "faithful":
        return I_CW, I_ARM
    if model == "corrected":
        return I_ARM, I_CW
    raise ValueError(f"unknown trebuchet model {model!r}; choose one of {MODELS}")


def _angles(u):
    """``(Aq, Wq, Sq, Aw, Ww, Sw)`` of a state (or of a stack of states, on its last axis)."""
    return tuple(u[..., i] for i in range(6))


def sling_end(u):
    """The projectile's position and velocity ``(px, py, vx, vy)`` in stages 1-2.

    >>> bool(np.isclose(sling_end(U0)[1], -A_PIVOT))  # on the ground at the start
    True
    """
    aq, _, sq, aw, _, sw = _angles(u)
    q = aq + sq
    px = -L_AL * dnp.sin(aq) - L_S * dnp.sin(q)
    py = L_AL * dnp.cos(aq) + L_S * dnp.cos(q)
    vx = -L_S * (sw + aw) * dnp.cos(q) - L_AL * aw * dnp.cos(aq)
    vy = -L_S * (sw + aw) * dnp.sin(q) - L_AL * aw * dnp.sin(aq)
    return px, py, vx, vy


@jit
def flight_start(u):
    """Stage 3's start ``[px, py, vx, vy]`` (on the last axis) from stage 2's state: one compiled
    operation, also under ``grad``."""
    return dnp.stack(sling_end(u), axis=-1)


def _solve2(m11, m12, m22, r1, r2):
    """``[x1, x2]`` solving the symmetric 2×2 system ``[[m11, m12], [m12, m22]] x = r``."""
    det = m11 * m22 - m12 * m12
    return (r1 * m22 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det


def stage1_rhs(t, u, m_w, model: str = "faithful"):
    """du/dt while the projectile slides on the ground (the sling end is constrained to y = -a).

    >>> stage1_rhs(0.0, U0, 200 * LB).shape
    (6,)
    """
    i_a, i_w = inertias(model)
    b, c, d, e = L_AL, L_AS, L_W, L_S
    aq, wq, sq, aw, ww, sw = _angles(u)
    q = aq + sq
    sa, ca, sq_, cq_ = dnp.sin(aq), dnp.cos(aq), dnp.sin(sq), dnp.cos(sq)
    sQ, cQ, sW, cW = dnp.sin(q), dnp.cos(q), dnp.sin(wq), dnp.cos(wq)
    saw = dnp.sin(aq + wq)
    m11 = (-M_P * b**2 * (-1 + 2 * sa * cq_ / sQ) + i_a + i_w + M_A * L_CG**2
           + M_P * b**2 * sa**2 / sQ**2 + m_w * (c**2 + d**2 + 2 * c * d * cW))
    m12 = i_w + d * m_w * (d + c * cW)
    m22 = i_w + m_w * d**2
    cot = cQ / sQ
    coef = cot + b * ca / (e * sQ)
    k = cot * sw * (sw + 2 * aw) + coef * aw**2
    r1 = (G * L_CG * M_A * sa + b * e * M_P * (sq_ * (aw + sw) ** 2 + cq_ * k)
          + b * M_P * sa * (b * sq_ * aw**2 - e * k) / sQ
          - G * m_w * (c * sa + d * saw) - c * d * m_w * sW * (aw**2 - (aw + ww) ** 2))
    r2 = -d * m_w * (G * saw + c * sW * aw**2)
    daw, dww = _solve2(m11, m12, m22, r1, r2)
    dsw = -cot * sw * (sw + 2 * aw) - coef * aw**2 - (b * sa + e * sQ) * daw / (e * sQ)
    return dnp.stack([aw, ww, sw, daw, dww, dsw], axis=-1)


def stage2_rhs(t, u, m_w, r=None, model: str = "faithful"):
    """du/dt while the projectile hangs in the sling (``r``, the release angle, is unused)."""
    i_a, i_w = inertias(model)
    b, c, d, e = L_AL, L_AS, L_W, L_S
    aq, wq, sq, aw, ww, sw = _angles(u)
    sa, sq_, cq_, sW, cW = dnp.sin(aq), dnp.sin(sq), dnp.cos(sq), dnp.sin(wq), dnp.cos(wq)
    saw, sas = dnp.sin(aq + wq), dnp.sin(aq + sq)
    m11 = (i_a + i_w + M_A * L_CG**2 + M_P * (b**2 + e**2 + 2 * b * e * cq_)
           + m_w * (c**2 + d**2 + 2 * c * d * cW))
    m12 = i_w + d * m_w * (d + c * cW)
    m13 = e * M_P * (e + b * cq_)
    m22 = i_w + m_w * d**2
    m33 = M_P * e**2
    r1 = (G * L_CG * M_A * sa + G * M_P * (b * sa + e * sas) - G * m_w * (c * sa + d * saw)
          - b * e * M_P * sq_ * (aw**2 - (aw + sw) ** 2)
          - c * d * m_w * sW * (aw**2 - (aw + ww) ** 2))
    r2 = -d * m_w * (G * saw + c * sW * aw**2)
    r3 = e * M_P * (G * sas - b * sq_ * aw**2)
    # M = [[m11, m12, m13], [m12, m22, 0], [m13, 0, m33]]: eliminate x2 and x3 into row 1
    daw = (r1 - m12 * r2 / m22 - m13 * r3 / m33) / (m11 - m12**2 / m22 - m13**2 / m33)
    dww = (r2 - m12 * daw) / m22
    dsw = (r3 - m13 * daw) / m33
    return dnp.stack([aw, ww, sw, daw, dww, dsw], axis=-1)


def stage3_rhs(t, s, wind):
    """d[Px, Py, Vx, Vy]/dt in free flight: gravity and quadratic drag relative to the wind."""
    vx, vy = s[..., 2], s[..., 3]
    speed = dnp.sqrt(vy**2 + (wind - vx) ** 2)
    k = RHO * CD * AREA * speed / (2 * M_P)
    return dnp.stack([vx, vy, -k * (vx - wind), -G - k * vy], axis=-1)


def _liftoff_value(t, u, step_start):
    """``(m_P g - T cos(φ), too_light)`` elementwise (scalars or a batch): ``T`` is 0 where
    ``t == t0``; ``too_light`` marks a negative tension at a full step's end. Written with
    diffopt operations only, so the compiled solver can trace it."""
    t0, u0 = step_start
    phi = u[..., 0] + u[..., 2] - np.pi
    dt = t - t0
    at_start = dt == 0.0
    safe_dt = dnp.where(at_start, DT, dt)  # (finite derivatives in the masked-out branch)
    tension = -M_P * (sling_end(u)[2] - sling_end(u0)[2]) / (safe_dt * dnp.sin(phi))
    tension = dnp.where(at_start, 0.0, tension)
    too_light = dnp.logical_and(dnp.abs(dt - DT) <= 1e-9 * DT, tension < 0)
    return M_P * G - tension * dnp.cos(phi), too_light


def liftoff_condition(t, u, m_w, *, step_start):
    """``m_P g - T cos(φ)``, with the sling tension ``T`` estimated from the current step's start.

    ``T = -m_P (v_x(t) - v_x(t0)) / ((t - t0) sin φ)`` (0 at ``t0`` itself); raises
    :class:`TrebuchetError` when ``T < 0`` at a step's end (the counterweight is too light).
    """
    g, too_light = _liftoff_value(t, u, step_start)
    if np.any(concrete(too_light)):
        raise TrebuchetError(_too_light(m_w))
    return g


def _too_light(m_w) -> str:
    return (f"counterweight too light ({float(concrete(m_w)) / LB:.6g} lb): the sling tension "
            "is negative after the first step, so the projectile is never lifted; use a heavier "
            "weight")


def liftoff_condition_batch(t, u, m_w, *, step_start):
    """:func:`liftoff_condition` for a batch: NaN (a failed event) where the weight is too light.
    """
    g, too_light = _liftoff_value(t, u, step_start)
    return dnp.where(too_light, np.nan, g)


def release_condition(t, u, m_w, r):
    """``sin(angle of the projectile's velocity - r)``: zero when it points along ``r``."""
    _, _, vx, vy = sling_end(u)
    return dnp.sin(dnp.arctan2(vy, vx) - r)


def landing_condition(t, s, wind):
    """Height above the ground."""
    return s[..., 1] + A_PIVOT


LIFTOFF = Event(liftoff_condition, direction=-1, needs_step_start=True)
RELEASE = Event(release_condition, direction=-1)
LANDING = Event(landing_condition, direction=-1)
LIFTOFF_BATCH = Event(liftoff_condition_batch, direction=-1, needs_step_start=True)


@dataclass
class Shot:
    """One throw: ``distance`` (m from the pivot, differentiable), the event times ``liftoff``,
    ``release``, ``landing`` (s, differentiable), and the projectile's path ``trajectory``
    (``(n, 2)`` positions at ``times``, all stages; computed when first read, so a derivative of
    the distance alone does not pay for it)."""

    distance: object
    liftoff: object
    release: object
    landing: object
    stages: tuple  # the three stages' ODE solutions

    @functools.cached_property
    def times(self):
        s1, s2, s3 = self.stages
        return dnp.concatenate([dnp.asarray(s1.t), dnp.asarray(s2.t)[1:],
                                dnp.asarray(s3.t)[1:]])

    @functools.cached_property
    def trajectory(self):
        s1, s2, s3 = self.stages
        p1, p2 = sling_end(s1.y), sling_end(s2.y)
        xs = dnp.concatenate([p1[0], p2[0][1:], s3.y[1:, 0]])
        ys = dnp.concatenate([p1[1], p2[1][1:], s3.y[1:, 1]])
        return dnp.stack([xs, ys], axis=1)


@functools.cache
def _stage_rhs(model: str):
    """The stage 1 and 2 right-hand sides of a model (one function object each, so the compiled
    solver's cache finds them again)."""

    def rhs1(t, u, m):
        return stage1_rhs(t, u, m, model)

    def rhs2(t, u, m, r_):
        return stage2_rhs(t, u, m, r_, model)

    return rhs1, rhs2


def _stage(fun, y0, t0, args, event, name, max_steps, backend):
    if backend != "numpy" and event is LIFTOFF:
        event = LIFTOFF_BATCH  # (the compiled condition reports "too light" as NaN)
    try:
        sol = solve(fun, y0, (t0, np.inf), args, method="euler", dt=DT, events=[event],
                    max_steps=max_steps, backend=backend)
    except ODESolveError as e:  # (a derivative was requested of a failed solve)
        if getattr(e, "status", None) == -4:
            raise TrebuchetError(_too_light(args[0])) from None
        raise
    if sol.status == -4:
        raise TrebuchetError(_too_light(args[0]))
    if sol.event_time is None:
        raise TrebuchetError(f"the {name} event never happened ({sol.message})")
    return sol


def shoot(wind, angle_deg, weight_lb, model: str = "faithful", max_steps: int = 10_000,
          backend: str = "numba") -> Shot:
    """Throw: wind (m/s, positive = tailwind), release angle (degrees), counterweight (lb).

    Differentiable in all three inputs. Raises :class:`TrebuchetError` for a counterweight too
    light to lift the projectile. ``backend``: ``"numba"`` (compiled stages; the first call
    compiles them, a few seconds, cached on disk) or ``"numpy"`` (eager).

    >>> import diffopt
    >>> d = diffopt.grad(lambda w, a, m: shoot(w, a, m, backend="numpy").distance,
    ...                  argnums=(0, 1, 2))(0.0, 45.0, 200.0)
    >>> [round(float(v), 3) for v in d]  # metres per (m/s), per degree, per lb
    [4.048, -0.929, 0.058]
    """
    inertias(model)  # validate
    m_w = weight_lb * LB
    angle = angle_deg * (np.pi / 180)
    r = dnp.arcsin(dnp.sin(angle))
    rhs1, rhs2 = _stage_rhs(model)
    s1 = _stage(rhs1, U0, 0.0, (m_w,), LIFTOFF, "lift-off", max_steps, backend)
    s2 = _stage(rhs2, s1.y_final, s1.t_final, (m_w, r), RELEASE, "release", max_steps, backend)
    s3 = _stage(stage3_rhs, flight_start(s2.y_final), s2.t_final, (wind,), LANDING, "landing",
                max_steps, backend)
    return Shot(distance=s3.y_final[0], liftoff=s1.t_final, release=s2.t_final,
                landing=s3.t_final, stages=(s1, s2, s3))


@dataclass
class BatchShot:
    """``B`` throws: ``distance``, ``liftoff``, ``release``, ``landing``, each ``(B,)``
    (differentiable); no trajectories are kept."""

    distance: object
    liftoff: object
    release: object
    landing: object


def _stage_batch(fun, y0, t0, args, event, name, max_steps, backend):
    try:
        if backend == "numpy":
            sol = solve_batch(fun, y0, (t0, np.inf), args, TABLEAUS["euler"], dt=DT,
                              events=[event], max_steps=max_steps, raise_on_failure=False)
        else:
            sol = solve(fun, y0, (t0, np.inf), args, method="euler", dt=DT, events=[event],
                        max_steps=max_steps, batched=True, backend=backend)
        status = sol.status
    except ODESolveError as e:  # (a derivative was requested of failed solves)
        if not hasattr(e, "status"):
            raise
        status = e.status
    light = np.flatnonzero(status == EVENT_NON_FINITE)
    if light.size:
        raise TrebuchetError(f"counterweight too light in shots {light.tolist()}: the sling "
                             "tension is negative, so the projectile is never lifted; use a "
                             "heavier weight")
    failed = np.flatnonzero(status < 0).tolist()
    if failed:
        raise TrebuchetError(f"the {name} event never happened in shots {failed} (status "
                             f"{status[failed].tolist()}, after {max_steps} steps at most)")
    return sol


def shoot_batch(wind, angle_deg, weight_lb, model: str = "faithful",
                max_steps: int = 10_000, backend: str = "numba") -> BatchShot:
    """Many throws at once: arrays (broadcast together to ``(B,)``) of wind (m/s), release angle
    (degrees) and counterweight (lb). The three stages are batched Euler solves; each shot starts
    a stage at its own previous event time and state. Same numbers as :func:`shoot` shot by shot,
    differentiable in all three inputs. ``backend="numba"``: each shot runs compiled (shots in
    parallel over the CPU cores); ``"numpy"``: the shots step in lockstep as NumPy arrays.

    "Weight too light": raises :class:`TrebuchetError` naming the offending shots' indices (no
    partial result: drop those shots and call again).

    >>> shoot_batch([0.0, 1.0], 45.0, 200.0, backend="numpy").distance.round(3)
    array([82.799, 86.852])
    """
    inertias(model)  # validate
    shape = np.broadcast_shapes(*(np.shape(concrete(v)) for v in (wind, angle_deg, weight_lb)))
    if len(shape) != 1:
        raise ValueError(f"shoot_batch takes 1-D arrays of inputs (or scalars beside them), got "
                         f"the broadcast shape {shape}; use shoot() for a single shot")
    wind, angle_deg, weight_lb = (dnp.broadcast_to(dnp.asarray(v, dtype=float), shape)
                                  for v in (wind, angle_deg, weight_lb))
    m_w = weight_lb * LB
    r = dnp.arcsin(dnp.sin(angle_deg * (np.pi / 180)))

    rhs1, rhs2 = _stage_rhs(model)
    u0 = np.broadcast_to(U0, shape + U0.shape).copy()
    s1 = _stage_batch(rhs1, u0, 0.0, (m_w,), LIFTOFF_BATCH, "lift-off", max_steps, backend)
    s2 = _stage_batch(rhs2, s1.y_final, s1.t_final, (m_w, r), RELEASE, "release", max_steps,
                      backend)
    s3 = _stage_batch(stage3_rhs, flight_start(s2.y_final), s2.t_final, (wind,), LANDING,
                      "landing", max_steps, backend)
    return BatchShot(distance=s3.y_final[:, 0], liftoff=s1.t_final, release=s2.t_final,
                     landing=s3.t_final)


__all__ = ["BatchShot", "Shot", "TrebuchetError", "shoot", "shoot_batch",
           "liftoff_condition_batch", "LIFTOFF_BATCH", "inertias", "sling_end", "stage1_rhs",
           "stage2_rhs", "stage3_rhs", "liftoff_condition", "release_condition",
           "landing_condition", "LIFTOFF", "RELEASE", "LANDING", "DT", "MODELS"]
