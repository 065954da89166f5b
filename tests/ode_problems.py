"""ODE problems shared by the ``diffopt.ode`` test files."""

import numpy as np

import diffopt.numpy as dnp
from diffopt.ode import Event

A = np.array([[-0.5, 1.0, 0.0], [-1.0, -0.3, 0.2], [0.1, 0.0, -0.8]])
Y0 = np.array([1.0, -0.5, 0.25])
G = 9.81


def linear(t, y, a):
    return a @ y


def lorenz(t, y, p):
    s, r, b = p
    return dnp.stack([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def pendulum(t, y, k):
    return dnp.stack([y[1], -k * dnp.sin(y[0])])


def ball(t, y, g):
    return dnp.stack([y[1], -g + 0.0 * y[0]])


GROUND = Event(lambda t, y, g: y[0], direction=-1)
