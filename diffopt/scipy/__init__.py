"""``diffopt.scipy``: differentiable counterparts of SciPy functions (``special`` so far).

>>> from diffopt.scipy.special import logsumexp, expit
"""

from . import special

__all__ = ["special"]
