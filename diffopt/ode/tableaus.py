"""Butcher tableaus of explicit Runge-Kutta methods, with embedded error weights and dense output.

Every method is written in "first same as last" form: stage 0 is ``f(t, y)`` at the step start and
``f(t + h, y_new)`` is evaluated after each step (it is the next step's stage 0 and the derivative
the interpolant needs), so ``E`` and ``P`` have one row per stage plus one for that last evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method.

    ``a`` (lower-triangular rows), ``b`` and ``c`` are the Butcher coefficients; ``error`` the
    weights of the embedded error estimate (``None`` for fixed-step methods); ``dense`` the matrix
    ``P`` of the method's own continuous extension,
    ``y(t0 + θh) = y0 + h Σ_i K_i Σ_j P[i, j] θ^(j+1)``
    (``None``: cubic Hermite from the step's two states and derivatives); ``order`` the order of the
    propagated solution and ``error_order`` the order of the lower of the embedded pair.

    >>> TABLEAUS["rk4"].order
    4
    """

    name: str
    a: tuple
    b: tuple
    c: tuple
    order: int
    error: tuple | None = None
    error_order: int | None = None
    dense: np.ndarray | None = None

    @property
    def adaptive(self) -> bool:
        return self.error is not None

    @property
    def n_stages(self) -> int:
        return len(self.b)

    def step(self, f, t, y, f0, h, t_new, h_y=None):
        """One step from ``(t, y)`` of size ``h`` (``f0 = f(t, y)``): the stages, the new state
        and ``f(t_new, y_new)``. ``h_y``: ``h`` shaped to broadcast against the states (a
        batch's ``(B,)`` steps as ``(B, 1, ...)``; default ``h``).

        >>> TABLEAUS["euler"].step(lambda t, y: -y, 0.0, 1.0, -1.0, 0.5, 0.5)[1]
        0.5
        """
        h_y = h if h_y is None else h_y
        stages = [f0]
        for i in range(1, self.n_stages):
            acc = combine(self.a[i], stages)
            stages.append(f(t + self.c[i] * h, y if acc is None else y + h_y * acc))
        y_new = y + h_y * combine(self.b, stages)
        return stages, y_new, f(t_new, y_new)

    def error_estimate(self, h, ks):
        """The embedded error estimate of a step of size ``h`` (``ks``: its stages, then ``f``
        at its end; plain arrays)."""
        return h * combine(self.error, ks)


EULER = Tableau("euler", a=((),), b=(1.0,), c=(0.0,), order=1)

RK4 = Tableau(
    "rk4",
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    c=(0.0, 0.5, 0.5, 1.0),
    order=4,
)

BOSH3 = Tableau(
    "bosh3",
    a=((), (1 / 2,), (0.0, 3 / 4)),
    b=(2 / 9, 1 / 3, 4 / 9),
    c=(0.0, 1 / 2, 3 / 4),
    order=3,
    error=(5 / 72, -1 / 12, -1 / 9, 1 / 8),
    error_order=2,
    dense=np.array([
        [1.0, -4 / 3, 5 / 9],
        [0.0, 1.0, -2 / 3],
        [0.0, 4 / 3, -8 / 9],
        [0.0, -1.0, 1.0],
    ]),
)

DOPRI5 = Tableau(
    "dopri5",
    a=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    ),
    b=(35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0),
    order=5,
    error=(-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40),
    error_order=4,
    # Shampine's fourth-order continuous extension (as in scipy's RK45).
    dense=np.array([
        [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933,
         87487479700 / 32700410799],
        [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408,
         701980252875 / 199316789632],
        [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ]),
)

# Tsitouras (2011), "Runge-Kutta pairs of order 5(4) satisfying only the first column simplifying
# assumption", Comput. Math. Appl. 62(2): 770-775. The nodes 0.161, 0.327 and 0.9 are chosen in the
# paper; the other coefficients follow from the order conditions (irrational, rounded to double).
# FSAL: the propagated weights b are the row of the seventh stage at c = 1.
TSIT5 = Tableau(
    "tsit5",
    a=(
        (),
        (0.161,),
        (-0.008480655492356989, 0.335480655492357),
        (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
        (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
        (5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
         -0.028269050394068383),
    ),
    b=(0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
       2.324710524099774),
    c=(0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0),
    order=5,
    # embedded fourth-order weights minus b (the last entry weighs f(t + h, y1))
    error=(-0.0017800110522257714, -0.0008164344596567469, 0.007880878010261995,
           -0.1447110071732629, 0.5823571654525552, -0.45808210592918697, 1 / 66),
    error_order=4,
    # the paper's fourth-order continuous extension b_i(θ), expanded in powers of θ
    dense=np.array([
        [1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
        [0.0, 0.1317, -0.2234, 0.1017],
        [0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
        [0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
        [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
        [0.0, -27.896526289197286, 65.09189467479366, -34.87065786149661],
        [0.0, 1.5, -4.0, 2.5],
    ]),
)

TABLEAUS = {t.name: t for t in (EULER, RK4, BOSH3, DOPRI5, TSIT5)}

__all__ = ["Tableau", "TABLEAUS", "EULER", "RK4", "BOSH3", "DOPRI5", "TSIT5", "combine"]


def combine(coefs, ks):
    """``Σ coefs[i] * ks[i]`` over a tableau row, zero coefficients skipped (None if all zero)."""
    acc = None
    for c, k in zip(coefs, ks):
        if c != 0.0:
            acc = c * k if acc is None else acc + c * k
    return acc
