"""``Pipeline``: stages applied in order, with a pytree of named parameters; ``fit`` learns them.

The parameters are a dict ``{stage name: {parameter name: value}}`` (a pytree), so they go to
``diffopt.grad`` and ``diffopt.optimize`` as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import diffopt.numpy as dnp
from diffopt.core import concrete
from diffopt.core.pytree import tree_map
from diffopt.numpy.backend import array_module
from diffopt.optimize import OptimizeResult, optimize

from .stage import Stage


class Pipeline:
    """``Pipeline([stage, ...])``; ``pipeline(raw, params=None, backend="auto")`` runs the stages
    in order. ``params`` may name only some stages and parameters: the rest keep their defaults.

    >>> pipe = Pipeline([normalize, demosaic_bilinear, white_balance, gamma])
    >>> image = pipe(raw, {"white_balance": {"gains": np.array([2.0, 1.0, 1.5])}})
    """

    def __init__(self, stages: Sequence[Stage]):
        stages = list(stages)
        for s in stages:
            if not isinstance(s, Stage):
                raise TypeError(f"Pipeline takes Stage objects, got {type(s).__name__}")
        names = [s.name for s in stages]
        repeated = {n for n in names if names.count(n) > 1}
        if repeated:
            raise ValueError(f"stage names must be unique in a pipeline; repeated: "
                             f"{sorted(repeated)}")
        self.stages = stages

    def defaults(self) -> dict:
        """Every stage's default parameters, as float64 arrays (a fresh copy)."""
        return {s.name: {k: np.array(v, dtype=np.float64) for k, v in s.defaults.items()}
                for s in self.stages if s.defaults}

    def params(self, params: dict | None = None) -> dict:
        """The defaults updated by ``params`` (unknown stage or parameter names are refused)."""
        full = self.defaults()
        for name, p in (params or {}).items():
            if name not in full and name not in {s.name for s in self.stages}:
                raise KeyError(f"the pipeline has no stage {name!r}; its stages are "
                               f"{[s.name for s in self.stages]}")
            stage = next(s for s in self.stages if s.name == name)
            full[name] = stage.params(**p)
        return full

    def __call__(self, raw, params: dict | None = None, backend: str = "auto"):
        p = self.params(params)
        _check_finite(concrete(raw))
        x = raw
        for s in self.stages:
            x = s(x, backend=backend, **p.get(s.name, {}))
        return x

    def __repr__(self) -> str:
        return "Pipeline([" + ", ".join(s.name for s in self.stages) + "])"


def _check_finite(raw) -> None:
    """A raw image with NaN or infinite values is refused, saying where."""
    xp = array_module(raw)
    bad = ~xp.isfinite(raw)
    if bool(bad.any()):
        where = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise ValueError(f"the raw image has {int(bad.sum())} non-finite values (the first at "
                         f"{where}); replace them first, e.g. with numpy.nan_to_num(raw) or by "
                         "interpolating from neighbouring pixels of the same colour")


def mse(a, b):
    """Mean squared error (differentiable), summed in float64 whatever the images' dtype (a
    float32 sum over a megapixel is only good to about 1e-6, too coarse for a solver's stopping
    tests; the squares themselves stay in the images' dtype, 4x cheaper than converting).

    >>> mse(image, image + 0.1)  # 0.01
    """
    d = a - b
    return dnp.sum(d * d, dtype=np.float64) / d.size


def fit(pipeline: Pipeline, raw, target, params0=None, method: str = "adam", *,
        steps: int = 200, tol: float | None = None, trainable: Sequence[str] | None = None,
        parameterization: Callable | None = None, loss: Callable = mse, backend: str = "auto",
        progress: bool = False, options: dict | None = None,
        callback: Callable | None = None) -> OptimizeResult:
    """Learn the pipeline's parameters so that ``pipeline(raw, params)`` matches ``target``,
    by ``diffopt.optimize`` (``method``: ``"adam"``, ``"l-bfgs-b"`` or any other solver name).

    ``params0``: the starting parameters (the defaults where missing); ``steps``: the solver's
    iteration limit; ``tol``: its tolerance (scipy's meaning). ``trainable``: the stage names
    to learn (default: all); the others stay at ``params0``. ``parameterization``: a
    differentiable map from the variables actually optimised (``params0`` is then in its terms)
    to pipeline parameters, e.g. to hold a gain at 1 or keep a matrix's rows normalised.
    Returns the optimizer's ``OptimizeResult``: ``x`` the optimised variables, ``params`` the
    full pipeline parameters.

    >>> res = fit(pipe, raw, target, method="l-bfgs-b", steps=100); res.params["white_balance"]
    """
    if parameterization is None:
        full = pipeline.params(params0)
        names = list(full) if trainable is None else list(trainable)
        for n in names:
            if n not in full:
                raise KeyError(f"trainable stage {n!r} has no parameters in this pipeline; "
                               f"stages with parameters: {list(full)}")
        fixed = {n: v for n, v in full.items() if n not in names}
        x0 = {n: full[n] for n in names}

        def parameterization(p):
            return {**fixed, **p}
    elif params0 is None or trainable is not None:
        raise TypeError("with a parameterization, pass params0 (in its variables) and no "
                        "trainable list")
    else:
        x0 = params0

    def objective(p):
        return loss(pipeline(raw, parameterization(p), backend=backend), target)

    res = optimize(objective, x0, method, maxiter=steps, tol=tol, progress=progress,
                   options=options, callback=callback)
    res.params = pipeline.params(tree_map(np.asarray, parameterization(res.x)))
    return res


__all__ = ["Pipeline", "fit", "mse"]
