"""Which pipeline parameters an image determines: each parameter's profile sensitivity.

A fit can only recover what its image shows. A tone-curve knot whose intensity range holds
almost no pixel, or a colour matrix on a grey image, barely changes the output, and whatever
value it ends at says nothing about the camera. ``identifiability`` measures this to first order
(the Gauss-Newton model of an ``mse`` fit). With ``J`` the Jacobian of every output value in the
fit's variables and ``H = JᵀJ / N``, the smallest RMS change of the output that moves a pipeline
parameter ``q`` by ``δ``, all the other variables re-fitted to compensate, is
``|δ| / sqrt(∇qᵀ H⁻¹ ∇q)``. A ``∇q`` with a part in a direction the output does not see moves
``q`` for nothing: sensitivity 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import concrete
from diffopt.core.pytree import tree_flatten, tree_map, tree_unflatten
from diffopt.optimize import FlatView
from diffopt.transforms import jacfwd, jvp

from .pipeline import Pipeline, variables

THRESHOLD = 1e-5  # RMS, -100 dB (1/400 of an 8-bit level): a fit that stops short of 100 dB
# leaves an entry that moves the output less than this for a 1% change undecided
EIGEN_FLOOR = 1e-12  # directions of H below this fraction of its largest eigenvalue count as
# unseen: float64 rounding leaves exact null directions (gauges, empty knots) at ~1e-16 of it


@dataclass
class Identifiability:
    """What ``identifiability`` found, as pytrees like the pipeline's parameters.

    ``sensitivity``: for each parameter entry, the RMS change of the output that changing the
    entry by ``rtol`` (relative; absolute where the entry is 0) causes at least, the other
    variables re-fitted to compensate; ``inf`` where no variable moves the entry (a fixed
    parameter). ``determined``: ``sensitivity >= threshold``. A fit that matches its target to
    an RMS error ``e`` has each entry within about ``rtol * e / sensitivity``.
    """

    sensitivity: dict
    determined: dict
    rtol: float
    threshold: float

    @property
    def undetermined(self) -> list[str]:
        """The undetermined entries, as ``"stage.parameter[i]"`` (``"stage.parameter"`` for a
        scalar)."""
        names = []
        for stage, params in self.determined.items():
            for name, known in params.items():
                known = np.asarray(known)
                if known.ndim == 0:
                    names += [] if known else [f"{stage}.{name}"]
                    continue
                names += [f"{stage}.{name}[{', '.join(str(i) for i in index)}]"
                          for index in np.argwhere(~known)]
        return names


def identifiability(pipeline: Pipeline, raw, params=None, *,
                    trainable: Sequence[str] | None = None,
                    parameterization: Callable | None = None, rtol: float = 0.01,
                    threshold: float = THRESHOLD, backend: str = "auto") -> Identifiability:
    """Which of the pipeline's parameters ``raw`` determines, at ``params``, for a fit over
    ``trainable`` or ``parameterization``'s variables (``params`` then in those terms, as in
    ``fit``): an entry is determined when changing it by ``rtol`` changes the output by at
    least ``threshold`` RMS (default 1e-5) however the other variables compensate.

    Costs one forward-mode pass of the pipeline per variable, in float64.

    >>> from diffopt.image import Pipeline, exposure, white_balance
    >>> raw = np.full((2, 2, 3), 0.25)
    >>> identifiability(Pipeline([white_balance]), raw, backend="numpy").undetermined
    []
    >>> pipe = Pipeline([exposure, white_balance])  # the exposure trades off against the gains
    >>> identifiability(pipe, raw, backend="numpy").undetermined
    ['exposure.ev', 'white_balance.gains[0]', 'white_balance.gains[1]', 'white_balance.gains[2]']
    """
    x0, to_params = variables(pipeline, params, trainable, parameterization)
    view = FlatView(x0, "params")
    raw64 = np.asarray(concrete(raw), dtype=np.float64)
    structure = pipeline.params(tree_map(np.asarray, to_params(x0)))
    leaves, treedef = tree_flatten(structure)

    def output(v):
        return dnp.ravel(pipeline(raw64, to_params(view.unravel(v)), backend=backend))

    def entries(v):
        full = tree_flatten(pipeline.params(to_params(view.unravel(v))))[0]
        return dnp.concatenate([dnp.ravel(dnp.asarray(leaf)) for leaf in full])

    basis = np.eye(view.size)
    columns = [np.asarray(jvp(output, (view.x0,), (e,))[1]) for e in basis]
    jac = np.stack(columns, axis=1)
    sensitivity = _sensitivity(jac.T @ jac / jac.shape[0], np.asarray(jacfwd(entries)(view.x0)),
                               np.concatenate([np.ravel(leaf) for leaf in leaves]), rtol)
    pieces, offset = [], 0
    for leaf in leaves:
        pieces.append(sensitivity[offset:offset + leaf.size].reshape(leaf.shape))
        offset += leaf.size
    sensitivity_tree = tree_unflatten(treedef, pieces)
    return Identifiability(sensitivity_tree, tree_map(lambda s: s >= threshold, sensitivity_tree),
                           rtol, threshold)


def _sensitivity(h: np.ndarray, q_jac: np.ndarray, q: np.ndarray, rtol: float) -> np.ndarray:
    """``rtol * scale / sqrt(∇qᵀ H⁻¹ ∇q)`` per entry of ``q`` (rows of ``q_jac``), with the
    eigenvalues of ``h`` floored at ``EIGEN_FLOOR`` of the largest; ``inf`` for fixed entries."""
    lam, vecs = np.linalg.eigh(h)
    floor = max(float(lam.max()) * EIGEN_FLOOR, np.finfo(np.float64).tiny)
    variance = ((q_jac @ vecs) ** 2 / np.maximum(lam, floor)).sum(axis=1)
    scale = rtol * np.where(q != 0, np.abs(q), 1.0)
    moved = np.any(q_jac != 0, axis=1)
    with np.errstate(divide="ignore"):
        return np.where(moved, scale / np.sqrt(variance), np.inf)


__all__ = ["Identifiability", "identifiability", "THRESHOLD"]
