"""The trebuchet example: the spec's reference figures, derivatives, corrected model, failures."""

import numpy as np
import pytest

import diffopt
from diffopt.models.trebuchet import (
    A_PIVOT,
    DT,
    LB,
    U0,
    TrebuchetError,
    inertias,
    shoot,
    sling_end,
)
from diffopt.ode import Event, solve

# shared/specs/trebuchet.md: faithful model, Euler dt = 1/60, Hermite event location
REFERENCE = [
    ((0.0, 45.0, 200.0), 82.79904064062524),
    ((1.0, 45.0, 200.0), 86.85243634331043),
    ((0.0, 10.0, 200.0), 74.12993018644684),
    ((0.0, 30.0, 400.0), 98.60072421662713),
]
# d distance / d (wind m/s, angle degrees, weight lb) at (0, 45, 200), given to 8 digits
REFERENCE_GRAD = np.array([4.0478516, -0.9290088, 0.0579786])


def distance(wind, angle, weight, model="faithful", backend="numba"):
    return shoot(wind, angle, weight, model=model, backend=backend).distance


def central_differences(f, x, steps):
    out = []
    for i, h in enumerate(steps):
        e = np.zeros(len(x))
        e[i] = h
        out.append((float(f(*(x + e))) - float(f(*(x - e)))) / (2 * h))
    return np.array(out)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("inputs,expected", REFERENCE)
def test_reference_distances(inputs, expected, backend):
    assert float(distance(*inputs, backend=backend)) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_reference_gradient_reverse_and_forward(backend):
    g = diffopt.grad(distance, argnums=(0, 1, 2))(0.0, 45.0, 200.0, backend=backend)
    g = np.array([float(v) for v in g])
    # the spec rounds to 8 significant digits: 0.0579786 carries ~9e-7 relative rounding, so the
    # 1e-6 relative tolerance is as tight as its precision allows (we get 0.05797861905...)
    np.testing.assert_allclose(g, REFERENCE_GRAD, rtol=1e-6)
    fwd = [diffopt.jvp(lambda v, i=i: distance(*[v if j == i else x for j, x in
                                                  enumerate((0.0, 45.0, 200.0))],
                                                backend=backend),
                       ((0.0, 45.0, 200.0)[i],), (1.0,))[1] for i in range(3)]
    np.testing.assert_allclose([float(v) for v in fwd], g, rtol=1e-12)


def test_compiled_equals_numpy():
    for x in [(0.0, 45.0, 200.0), (-2.0, 60.0, 300.0), (3.0, 20.0, 150.0)]:
        a, b = shoot(*x), shoot(*x, backend="numpy")
        for name in ("distance", "liftoff", "release", "landing"):
            assert float(getattr(a, name)) == pytest.approx(float(getattr(b, name)), rel=1e-12)
        np.testing.assert_allclose(a.trajectory, b.trajectory, rtol=1e-10, atol=1e-10)
        ga, gb = (diffopt.grad(distance, argnums=(0, 1, 2))(*x, backend=be)
                  for be in ("numba", "numpy"))
        np.testing.assert_allclose([float(v) for v in ga], [float(v) for v in gb], rtol=1e-10)


def test_event_times():
    shot = shoot(0.0, 45.0, 200.0)
    # lift-off falls on the step boundary 15/60 s (the tension estimate jumps at a step start)
    assert float(shot.liftoff) == pytest.approx(15 * DT, abs=1e-12)
    assert float(shot.release) == pytest.approx(0.5755, abs=5e-5)
    assert float(shot.landing) == pytest.approx(5.867, abs=5e-4)
    # a lift-off on a step boundary does not move with the inputs
    with pytest.warns(UserWarning, match="does not depend on its inputs"):
        g = diffopt.grad(lambda m: shoot(0.0, 45.0, m, backend="numpy").liftoff)(200.0)
    assert float(g) == 0.0
    assert float(diffopt.grad(lambda m: shoot(0.0, 45.0, m).liftoff)(200.0)) == 0.0
    # the release time moves with the angle, the landing time with the wind
    assert abs(float(diffopt.grad(lambda a: shoot(0.0, a, 200.0).release)(45.0))) > 1e-4
    assert abs(float(diffopt.grad(lambda w: shoot(w, 45.0, 200.0).landing)(0.0))) > 1e-4


@pytest.mark.parametrize("x,model", [((0.0, 45.0, 200.0), "faithful"),
                                     ((0.0, 30.0, 400.0), "faithful"),
                                     ((-3.0, 60.0, 250.0), "corrected")])
def test_gradient_against_finite_differences(x, model):
    x = np.array(x)

    def f(w, a, m):
        return distance(w, a, m, model)

    g = np.array([float(v) for v in diffopt.grad(f, argnums=(0, 1, 2))(*x)])
    fd = central_differences(f, x, [1e-4, 1e-4, 1e-3])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_continuous_liftoff_time_derivative():
    # at (0, 30, 400) lift-off is inside a step: its time moves with the weight (IFT)
    x = 400.0
    g = float(diffopt.grad(lambda m: shoot(0.0, 30.0, m).liftoff)(x))
    h = 1e-3
    fd = (float(shoot(0.0, 30.0, x + h).liftoff) - float(shoot(0.0, 30.0, x - h).liftoff)) / (2 * h)
    assert float(shoot(0.0, 30.0, x).liftoff) % DT > 1e-6
    assert g != 0.0
    assert g == pytest.approx(fd, rel=1e-5)


def test_corrected_model_differs():
    assert inertias("faithful") == inertias("corrected")[::-1]
    faithful = float(distance(0.0, 45.0, 200.0))
    corrected = float(distance(0.0, 45.0, 200.0, "corrected"))
    assert abs(faithful - corrected) > 1.0
    with pytest.raises(ValueError, match="unknown trebuchet model"):
        shoot(0.0, 45.0, 200.0, model="exact")


def test_trajectory():
    shot = shoot(0.0, 45.0, 200.0)
    traj, t = np.asarray(shot.trajectory), np.asarray(shot.times)
    assert traj.shape == (len(t), 2)
    assert np.all(np.diff(t) > 0)
    assert t[0] == 0.0 and t[-1] == pytest.approx(float(shot.landing))
    np.testing.assert_allclose(traj[0], [float(v) for v in sling_end(U0)[:2]])
    assert traj[0, 1] == pytest.approx(-A_PIVOT)
    np.testing.assert_allclose(traj[-1], [float(shot.distance), -A_PIVOT], atol=1e-9)
    assert traj[:, 1].max() > 10.0  # it flies


def test_too_light_weight_raises():
    for backend in ("numba", "numpy"):
        with pytest.raises(TrebuchetError, match="too light"):
            shoot(0.0, 45.0, 10.0, backend=backend)
        with pytest.raises(TrebuchetError, match="too light"):
            diffopt.grad(lambda m, b=backend: shoot(0.0, 45.0, m, backend=b).distance)(5.0)
    assert issubclass(TrebuchetError, ValueError)
    assert LB == 0.45359237


def test_event_with_step_start():
    # y' = 1 from y = 0; the condition y(t) - y(t0) - 0.5 * dt ... uses the step's start: it jumps
    # below zero right after the step start at t = 0.3, so the event time is 0.3 exactly
    seen = []

    def cond(t, y, *, step_start):
        t0, y0 = step_start
        seen.append(float(t0))
        return 1.0 + 0.0 * y[0] if float(t0) < 0.29 or t == t0 else -1.0 + 0.0 * y[0]

    ev = Event(cond, direction=-1, needs_step_start=True)
    sol = solve(lambda t, y: np.ones(1), np.zeros(1), (0.0, 1.0), method="euler", dt=0.1,
                events=[ev])
    assert float(sol.event_time) == pytest.approx(0.3, abs=1e-12)
    assert float(sol.y_final[0]) == pytest.approx(0.3, abs=1e-12)
    assert min(seen) == 0.0
    # without step_start the same condition is called as cond(t, y) and fails
    with pytest.raises(TypeError):
        solve(lambda t, y: np.ones(1), np.zeros(1), (0.0, 1.0), method="euler", dt=0.1,
              events=[Event(cond, direction=-1)])


def test_shoot_batch_reference_and_gradients():
    from diffopt.models.trebuchet import shoot_batch

    x = np.array([inputs for inputs, _ in REFERENCE]).T
    shots = shoot_batch(*x)
    np.testing.assert_allclose(shots.distance, [d for _, d in REFERENCE], rtol=0, atol=1e-6)
    g = diffopt.grad(lambda w, a, m: diffopt.numpy.sum(shoot_batch(w, a, m).distance),
                     argnums=(0, 1, 2))(*x)
    g = np.array(g).T
    np.testing.assert_allclose(g[0], REFERENCE_GRAD, rtol=1e-6)
    for i in range(4):
        gi = diffopt.grad(distance, argnums=(0, 1, 2))(*x[:, i])
        np.testing.assert_allclose(g[i], [float(v) for v in gi], rtol=1e-8)
        single = shoot(*x[:, i])
        for name in ("liftoff", "release", "landing"):
            assert float(getattr(shots, name)[i]) == pytest.approx(
                float(getattr(single, name)), abs=1e-12)


def test_shoot_batch_too_light_names_shots():
    from diffopt.models.trebuchet import shoot_batch

    with pytest.raises(TrebuchetError, match="shots \\[1, 3\\]"):
        shoot_batch(0.0, 45.0, np.array([200.0, 10.0, 300.0, 5.0]))
    with pytest.raises(TrebuchetError, match="shots \\[0\\]"):
        diffopt.grad(lambda m: diffopt.numpy.sum(shoot_batch(0.0, 45.0, m).distance))(
            np.array([8.0, 200.0]))
    with pytest.raises(ValueError, match="1-D"):
        shoot_batch(np.zeros((2, 2)), 45.0, 200.0)
