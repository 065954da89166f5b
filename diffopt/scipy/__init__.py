"""``diffopt.scipy``: differentiable counterparts of SciPy functions (``special``, ``linalg``,
``signal``).

>>> from diffopt.scipy.special import expit, logsumexp
>>> import numpy as np
>>> float(expit(0.0)), float(logsumexp(np.zeros(2)))  # 1/2, log(2)
(0.5, 0.693147)
"""

from . import linalg, signal, special

__all__ = ["linalg", "signal", "special"]
