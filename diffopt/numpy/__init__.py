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
from .aliases import *  # noqa: F403
from .aliases import __all__ as _aliases_all
from .calculus import *  # noqa: F403
from .calculus import __all__ as _calculus_all
from .creation import *  # noqa: F403
from .creation import __all__ as _creation_all
from .elementwise import *  # noqa: F403
from .elementwise import __all__ as _elementwise_all
from .index_tricks import *  # noqa: F403
from .index_tricks import __all__ as _index_tricks_all
from .indexing import *  # noqa: F403
from .indexing import __all__ as _indexing_all
from .io import *  # noqa: F403
from .io import __all__ as _io_all
from .polynomial import *  # noqa: F403
from .polynomial import __all__ as _polynomial_all
from .predicates import *  # noqa: F403
from .predicates import __all__ as _predicates_all
from .products import *  # noqa: F403
from .products import __all__ as _products_all
from .ranges import *  # noqa: F403
from .ranges import __all__ as _ranges_all
from .reductions import *  # noqa: F403
from .reductions import __all__ as _reductions_all
from .reductions import sum_axes as _sum_axes
from .sets import *  # noqa: F403
from .sets import __all__ as _sets_all
from .shape import *  # noqa: F403
from .shape import __all__ as _shape_all
from .sorting import *  # noqa: F403
from .sorting import __all__ as _sorting_all
from .statistics import *  # noqa: F403
from .statistics import __all__ as _statistics_all
from .windows import *  # noqa: F403
from .windows import __all__ as _windows_all

__all__ = [
    "fft", "linalg", *_aliases_all, *_calculus_all, *_creation_all, *_elementwise_all,
    *_index_tricks_all, *_indexing_all, *_io_all, *_polynomial_all, *_predicates_all,
    *_products_all, *_ranges_all, *_reductions_all, *_sets_all, *_shape_all, *_sorting_all,
    *_statistics_all, *_windows_all,
]

_vspace.add = add  # noqa: F405
_vspace.broadcast_to = broadcast_to  # noqa: F405
_vspace.sum_axes = _sum_axes
_vspace.reshape = reshape  # noqa: F405
_vspace.stack = stack  # noqa: F405
_vspace.real = real  # noqa: F405
_vspace.zeros_like = zeros_like_value  # noqa: F405
