"""The one event root finder (diffopt.ode._scalar), on brackets where its first secant point is
the bracket's midpoint: it must keep searching, not stop there."""

import numpy as np
import pytest

from diffopt.ode._scalar import find_root


@pytest.mark.parametrize("needs_start", [False, True])
def test_a_jump_at_the_start_is_found_not_the_midpoint(needs_start):
    # +1 at the step start, -1 after it: the secant's first point is 0.5 (f_lo = -f_hi)
    theta = find_root(lambda th: 1.0 if th == 0.0 else -1.0, -1.0, needs_start)
    assert theta < 1e-9


def test_a_symmetric_bracket_converges_to_the_root():
    theta = find_root(lambda th: np.tanh(40 * (0.3 - th)), np.tanh(40 * -0.7), False)
    assert theta == pytest.approx(0.3, abs=1e-12)
