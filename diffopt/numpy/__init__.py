"""``diffopt.numpy``: a differentiable drop-in for ``import numpy as np``.

Every function works on plain arrays (NumPy, or CuPy on the GPU) at close to NumPy's speed, and on
traced values inside ``grad``, ``jvp``, ``vmap`` and the other transforms.

>>> import diffopt.numpy as np
>>> np.sin(np.linspace(0.0, 1.0, 3))
array([0.        , 0.47942554, 0.84147098])
"""

from ..core import vspace as _vspace
from . import fft, linalg
from . import methods as _methods  # noqa: F401 - installs operators on tracers
from .creation import *  # noqa: F403
from .creation import __all__ as _creation_all
from .elementwise import *  # noqa: F403
from .elementwise import __all__ as _elementwise_all
from .indexing import *  # noqa: F403
from .indexing import __all__ as _indexing_all
from .products import *  # noqa: F403
from .products import __all__ as _products_all
from .ranges import *  # noqa: F403
from .ranges import __all__ as _ranges_all
from .reductions import *  # noqa: F403
from .reductions import __all__ as _reductions_all
from .reductions import sum_axes as _sum_axes
from .shape import *  # noqa: F403
from .shape import __all__ as _shape_all
from .statistics import *  # noqa: F403
from .statistics import __all__ as _statistics_all

__all__ = [
    "fft", "linalg", *_creation_all, *_elementwise_all, *_indexing_all, *_products_all,
    *_ranges_all, *_reductions_all, *_shape_all, *_statistics_all,
]

_vspace.add = add  # noqa: F405
_vspace.broadcast_to = broadcast_to  # noqa: F405
_vspace.sum_axes = _sum_axes
_vspace.reshape = reshape  # noqa: F405
_vspace.stack = stack  # noqa: F405
_vspace.real = real  # noqa: F405
_vspace.zeros_like = zeros_like_value  # noqa: F405
