"""``diffopt.scipy``: differentiable counterparts of SciPy functions: ``special`` (the special
functions), ``stats`` (distributions' densities, masses and distribution functions), ``linalg``
(matrix functions and factorizations) and ``signal`` (convolutions).

>>> from diffopt.scipy.special import expit, logsumexp
>>> from diffopt.scipy.stats import norm
>>> import numpy as np
>>> float(expit(0.0)), float(logsumexp(np.zeros(2)))  # 1/2, log(2)
(0.5, 0.693147)
>>> float(norm.cdf(0.0))
0.5
"""

from . import linalg, signal, special, stats

__all__ = ["linalg", "signal", "special", "stats"]
