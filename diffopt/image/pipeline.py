"""``Pipeline``: stages applied in order, with a pytree of named parameters; ``fit`` learns them.

The parameters are a dict ``{stage name: {parameter name: value}}`` (a pytree), so they go to
``diffopt.grad`` and ``diffopt.optimize`` as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

import diffopt.numpy as dnp
from diffopt import solvers
from diffopt.core import concrete
from diffopt.core.pytree import tree_map
from diffopt.numpy.backend import array_module
from diffopt.optimize import OptimizeResult, add_note, optimize

from .metrics import same_shape
from .stage import Stage


class Pipeline:
    """``Pipeline([stage, ...])``; ``pipeline(raw, params=None, backend="auto")`` runs the stages
    in order. ``params`` may name only some stages and parameters: the rest keep their defaults.
    ``backend`` goes to every stage (see :mod:`diffopt.image.stage`): ``"numba"`` and ``"cuda"``
    run each stage's kernels where it has them (``"cuda"``: on CuPy arrays on a GPU, on NumPy
    arrays under Numba's CUDA simulator) and its reference where it has none.

    >>> from diffopt.image import demosaic_bilinear, gamma, normalize, white_balance
    >>> pipe = Pipeline([normalize, demosaic_bilinear, white_balance, gamma])
    >>> params = {"white_balance": {"gains": np.array([2.0, 1.0, 1.5])}}
    >>> pipe(np.full((4, 4), 0.25), params, backend="numpy").shape
    (4, 4, 3)
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
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(f"pipeline parameters must be a dict {{stage name: {{parameter name: "
                            f"value}}}}, got {type(params).__name__}; e.g. "
                            f"{{'white_balance': {{'gains': gains}}}}")
        for name, p in (params or {}).items():
            if name not in full and name not in {s.name for s in self.stages}:
                owners = [s.name for s in self.stages if name in s.defaults]
                hint = (f" ({name!r} is a parameter of stage {owners[0]!r}: write "
                        f"{{{owners[0]!r}: {{{name!r}: ...}}}})" if owners else "")
                raise KeyError(f"the pipeline has no stage {name!r}; its stages are "
                               f"{[s.name for s in self.stages]}{hint}")
            stage = next(s for s in self.stages if s.name == name)
            if not isinstance(p, Mapping):
                raise TypeError(f"the parameters of stage {name!r} must be a dict {{parameter "
                                f"name: value}}, got {type(p).__name__}; its parameters are "
                                f"{list(stage.defaults)}")
            full[name] = stage.params(**p)
        return full

    def __call__(self, raw, params: dict | None = None, backend: str = "auto"):
        p = self.params(params)
        _check_finite(concrete(raw), "the raw image", "replace them first, e.g. with "
                      "numpy.nan_to_num(raw) or by interpolating from neighbouring pixels of the "
                      "same colour")
        x = raw
        for s in self.stages:
            x = s(x, backend=backend, **p.get(s.name, {}))
        return x

    def __repr__(self) -> str:
        return "Pipeline([" + ", ".join(s.name for s in self.stages) + "])"


def _check_finite(image, what: str, advice: str) -> None:
    """An image with NaN or infinite values is refused, saying how many, where and ``advice``."""
    xp = array_module(image)
    bad = ~xp.isfinite(image)
    if bool(bad.any()):
        where = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise ValueError(f"{what} has {int(bad.sum())} non-finite values (the first at "
                         f"{where}); {advice}")


def mse(a, b):
    """Mean squared error (differentiable), summed in float64 whatever the images' dtype (a
    float32 sum over a megapixel is only good to about 1e-6, too coarse for a solver's stopping
    tests; the squares themselves stay in the images' dtype, 4x cheaper than converting).

    >>> float(mse(np.zeros((2, 2)), np.zeros((2, 2)) + 0.1))
    0.01
    """
    same_shape(a, b, "mse")
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
    to pipeline parameters, e.g. to hold a gain at 1 or keep a matrix's rows summing to 1.
    With the default ``loss`` (``mse``), ``target`` must be a finite float image of the
    pipeline's output shape; a custom ``loss(output, target)`` receives ``target`` as given.
    Without a parameterization, methods that take bounds (L-BFGS-B) keep each parameter in its
    stage's ``bounds`` (a blur width >= 0, a gamma >= 0.1), where the stage's check accepts it.
    ``backend``: the pipeline's (``"cuda"`` with ``raw`` and ``target`` as CuPy arrays on a GPU).
    Returns the optimizer's ``OptimizeResult``: ``x`` the optimised variables, ``params`` the
    full pipeline parameters. If the loss, the callback or Ctrl-C interrupts the fit, the
    exception propagates carrying that result for the last accepted iterate as ``exc.result``.

    Adam from far away: pass ``options={"lr": ..., "beta2": 0.9}``. A fit's gradient is exact
    (the whole image at every step) and falls by orders of magnitude on the way; Adam's default
    ``beta2=0.999`` averages its squares over about 1000 steps, keeps the early, large ones and
    shrinks every later step in proportion, so that the fit stalls far from the optimum.

    >>> from diffopt.image import white_balance
    >>> pipe = Pipeline([white_balance])
    >>> raw = np.full((2, 2, 3), 0.25)
    >>> target = raw * np.array([2.0, 1.0, 1.5])
    >>> res = fit(pipe, raw, target, method="l-bfgs-b", steps=50, backend="numpy")
    >>> res.params["white_balance"]
    {'gains': array([2. , 1. , 1.5])}
    """
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"fit takes a Pipeline, got {type(pipeline).__name__}; wrap the stages "
                        "as Pipeline([stage, ...])")
    steps = solvers.checks.positive_int("steps", steps)
    x0, to_params = variables(pipeline, params0, trainable, parameterization)
    output = pipeline(raw, _pipeline_params(to_params, x0), backend=backend)
    if loss is mse:
        target = _checked_target(target, output)

    bounds = None if parameterization is not None else _stage_bounds(pipeline, x0, method)

    def objective(p):
        return loss(pipeline(raw, to_params(p), backend=backend), target)

    def with_params(res: OptimizeResult) -> OptimizeResult:
        res.params = pipeline.params(tree_map(np.asarray, to_params(res.x)))
        return res

    try:
        res = optimize(objective, x0, method, bounds=bounds, maxiter=steps, tol=tol,
                       progress=progress, options=options, callback=callback)
    except BaseException as exc:
        # the work so far travels with the exception (optimize attached it): add its parameters
        if isinstance(getattr(exc, "result", None), OptimizeResult):
            with_params(exc.result)
        raise
    return with_params(res)


def variables(pipeline: Pipeline, params0=None, trainable: Sequence[str] | None = None,
              parameterization: Callable | None = None) -> tuple:
    """``(x0, to_params)``: the variables that ``fit`` optimises, at their start, and the map
    from them to pipeline parameters (see ``fit`` for the arguments).

    >>> from diffopt.image import exposure, white_balance
    >>> x0, to_params = variables(Pipeline([exposure, white_balance]), trainable=["white_balance"])
    >>> x0
    {'white_balance': {'gains': array([1., 1., 1.])}}
    >>> to_params(x0)
    {'exposure': {'ev': array(0.)}, 'white_balance': {'gains': array([1., 1., 1.])}}
    """
    if parameterization is not None:
        if params0 is None or trainable is not None:
            raise TypeError("with a parameterization, pass params0 (in its variables) and no "
                            "trainable list")
        if not callable(parameterization):
            raise TypeError(f"parameterization must be a function of the variables, got "
                            f"{type(parameterization).__name__}")
        return params0, parameterization
    if isinstance(trainable, str):
        raise TypeError(f"trainable must be a list of stage names, got the string "
                        f"{trainable!r}; write trainable=[{trainable!r}]")
    full = pipeline.params(params0)
    names = list(full) if trainable is None else list(trainable)
    for n in names:
        if n not in full:
            raise KeyError(f"trainable stage {n!r} has no parameters in this pipeline; "
                           f"stages with parameters: {list(full)}")
    fixed = {n: v for n, v in full.items() if n not in names}

    def to_params(p):
        return {**fixed, **p}

    return {n: full[n] for n in names}, to_params


def _stage_bounds(pipeline: Pipeline, x0: dict, method: str):
    """``(lo, hi)`` pytrees like ``x0`` from the stages' ``bounds``, for a method that takes
    bounds (``"auto"`` then picks L-BFGS-B); None if it takes none or no stage has any."""
    bounded = {s.name: s.bounds for s in pipeline.stages if s.bounds and s.name in x0}
    if not bounded or not (method == "auto" or solvers.get(method, "minimize").bounds):
        return None
    sides = []
    for side in (0, 1):
        sides.append({name: {k: np.full(np.shape(v), bounded.get(name, {}).get(
            k, (-np.inf, np.inf))[side]) for k, v in p.items()} for name, p in x0.items()})
    return tuple(sides)


def _pipeline_params(to_params: Callable, x0) -> dict:
    """``to_params(x0)``, which must be pipeline parameters (a dict of stages); an error from a
    user's parameterization says where it came from."""
    try:
        params = to_params(x0)
    except Exception as exc:
        add_note(exc, "fit: raised by parameterization(params0); params0 must hold the "
                 "parameterization's variables")
        raise
    if not isinstance(params, Mapping):
        raise TypeError(f"the parameterization must return pipeline parameters, a dict "
                        f"{{stage name: {{parameter name: value}}}}, got "
                        f"{type(params).__name__}")
    return params


def _checked_target(target, output):
    """``target`` as an array that ``mse`` can compare with ``output``: a float image of the
    output's shape with no NaN or infinity, else an error that says what to do."""
    if target is None or isinstance(target, (str, bytes, Mapping)):
        raise TypeError(f"fit: target must be an image array of the pipeline's output shape "
                        f"{tuple(output.shape)}, got {type(target).__name__}")
    if not hasattr(target, "shape"):
        target = np.asarray(target)
    kind = target.dtype.kind
    if kind in "ui":
        raise TypeError(f"fit: target has dtype {target.dtype}, but the pipeline's output is a "
                        f"float image in [0, 1]; convert it, e.g. target.astype(np.float32) / "
                        f"{np.iinfo(target.dtype).max}")
    if kind != "f":
        raise TypeError(f"fit: target must be a real float image, got dtype {target.dtype}")
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"fit: target has shape {tuple(target.shape)}, but the pipeline's "
                         f"output for this raw has shape {tuple(output.shape)}; give a target "
                         "of the output's shape (the image this raw should render to), or a "
                         "loss that compares the two your way")
    _check_finite(target, "fit: the target", "fit compares every value, so replace them, or "
                  "pass a loss that leaves them out")
    return target


__all__ = ["Pipeline", "fit", "mse", "variables"]
