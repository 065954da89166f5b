"""diffopt: derivatives of NumPy programs by every method, and the optimizers that use them.

>>> import diffopt
>>> import diffopt.numpy as np
>>> float(diffopt.grad(lambda x: np.sin(x) * x)(1.0))  # sin(1) + cos(1)
1.38177
"""

from . import _checkout, numerical, numpy  # noqa: F401 (_checkout: solvers/ in a checkout)
from .core.graph import make_graph
from .core.pytree import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten
from .transforms import (
    checkpoint,
    custom_jvp,
    custom_vjp,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
    vjp_and_jvp,
    vmap,
)

__version__ = "0.1.0"

__all__ = [
    "numpy", "numerical", "make_graph", "grad", "value_and_grad", "jvp", "vjp", "vjp_and_jvp",
    "linearize", "vmap", "jacfwd", "jacrev", "jacobian", "hessian", "hvp", "checkpoint",
    "custom_jvp", "custom_vjp", "tree_flatten", "tree_unflatten", "tree_map", "tree_structure",
    "tree_leaves",
]

from . import symbolic  # noqa: E402
from .compare import compare  # noqa: E402
from .compile import jit  # noqa: E402
from .modes import choose_mode, jacobian, jacobian_optimal  # noqa: E402
from .optimize import OptimizeResult, least_squares, objective, optimize  # noqa: E402

__all__ += ["OptimizeResult", "least_squares", "objective", "optimize", "jit", "symbolic",
            "compare", "choose_mode", "jacobian_optimal"]
