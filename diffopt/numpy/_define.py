"""Helpers that turn a rule-table entry into a primitive and its public NumPy-named function."""

from __future__ import annotations

import sys

from ..core.batching import batch_elementwise
from ..core.primitive import Primitive


def no_out(out, name: str, package: str = "diffopt.numpy") -> None:
    """Refuse NumPy's ``out=`` (``name``: the function of ``package``), saying what to do."""
    if out is not None:
        raise TypeError(
            f"{package}.{name} does not support out=: arrays are not written in place (traced "
            "values are immutable). Use the returned array instead."
        )


def _refuse_ufunc_keywords(name: str, package: str, out, keywords: dict) -> None:
    no_out(out, name, package)
    key = next(iter(keywords))
    advice = {"where": f"use diffopt.numpy.where(condition, {name}(...), other)",
              "dtype": "cast the arguments (or the result) with astype"}
    raise TypeError(f"{package}.{name} does not support NumPy's ufunc keyword {key}=; "
                    + advice.get(key, "call it with the arrays alone"))


def public(prim: Primitive, name: str | None = None, doc: str | None = None, nargs: int = 1):
    """The public function for a primitive whose parameters are all positional arguments (NumPy's
    ufunc keywords, ``out=``, ``where=``, ``dtype=``..., are refused with a message)."""
    bind = prim.bind
    name = name or prim.name
    module = _defining_module()
    package = "diffopt.numpy" if module.startswith("diffopt.numpy") else module
    if nargs == 1:
        def fn(x, /, out=None, **keywords):
            if out is not None or keywords:
                _refuse_ufunc_keywords(name, package, out, keywords)
            return bind(x)
    elif nargs == 2:
        def fn(x, y, /, out=None, **keywords):
            if out is not None or keywords:
                _refuse_ufunc_keywords(name, package, out, keywords)
            return bind(x, y)
    else:
        def fn(*args, out=None, **keywords):
            if out is not None or keywords:
                _refuse_ufunc_keywords(name, package, out, keywords)
            return bind(*args)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = module  # where doctest looks for the docstring's examples
    fn.__doc__ = doc
    fn.primitive = prim
    return fn


def _defining_module() -> str:
    """The name of the module whose rule table called in here (the first caller outside this
    file)."""
    frame = sys._getframe(1)
    while frame.f_globals["__name__"] == __name__:
        frame = frame.f_back
    return frame.f_globals["__name__"]


def _scaled_rule(deriv):
    """The JVP/VJP rule ``t * deriv(ans, *args)`` (1 and -1 short-cut to ``t`` and ``-t``)."""
    if deriv is None:
        return None
    if isinstance(deriv, (int, float)) and deriv == 1:
        return lambda t, ans, *args, **params: t
    if isinstance(deriv, (int, float)) and deriv == -1:
        return lambda t, ans, *args, **params: -t
    return lambda t, ans, *args, **params: t * deriv(ans, *args, **params)


def example_doc(example: str | None) -> str:
    """A docstring's example from a table row's ``"call  # result"``: a doctest printing the
    call's result (none without an example)."""
    if not example:
        return ""
    call, _, result = example.partition("  # ")
    return f"\n\n>>> print({call})\n{result}"


def elementwise(name: str, impl, *derivs, doc: str | None = None, example: str | None = None):
    """Define an elementwise primitive from its partial derivatives ``d(ans, *args)``.

    With the convention of this library (the VJP is the transpose of the JVP under the pairing
    ``<u, v> = Re sum(u * v)``) holomorphic and real functions share one rule: multiply by the
    partial derivative, in both modes.
    """
    prim = Primitive(name, impl)
    rules = tuple(_scaled_rule(d) for d in derivs)
    prim.defjvp(*rules)
    prim.defvjp(*rules)
    prim.defbatch(batch_elementwise)
    if doc is None:
        doc = f"Differentiable ``numpy.{name}``, elementwise."
        doc += example_doc(example)
    return public(prim, name, doc, nargs=len(derivs))

