"""What a jitted function reads besides its arguments, and whether it changed since the trace.

A trace records the arrays a function reads from its closure, its defaults and its module's
globals as constants of the compiled program; JAX silently keeps using those values. ``Captured``
fingerprints them at trace time so that ``jit`` can tell, before each call, that one was rebound
or changed in place, and trace again. Followed: the closure cells, defaults and globals (names the
code uses) of the function, and of the Python functions it reaches through them (the function
inside ``grad(f)``, helpers called by name). Not followed: attributes of objects (``self.w``) and
the internals of libraries (diffopt, NumPy, SciPy, Numba). Arrays up to ``FULL_CHECK_BYTES`` are
checksummed whole; larger ones by ``SAMPLE`` evenly spaced elements (a change elsewhere goes
unseen: pass large arrays that change as arguments).
"""

from __future__ import annotations

import functools
import types
import zlib

import numpy as np

from ..core.pytree import tree_flatten

FULL_CHECK_BYTES = 1 << 16  # checksummed whole up to here (about 20 us)
SAMPLE = 1024
MAX_PROBES = 256  # values watched per jitted function
MAX_LEAVES = 64  # arrays and floats watched per container
_LIBRARIES = {"diffopt", "numpy", "scipy", "numba", "optree", "functools"}
_MISSING = object()  # an empty closure cell or a deleted global


class ClosureChangedWarning(UserWarning):
    """A value a jitted function reads from outside changed since it was traced: it is retraced."""


class _Probe:
    """One watched value: how to read it now, and its fingerprint at trace time."""

    __slots__ = ("label", "read", "value", "fingerprint")

    def __init__(self, label: str, read):
        self.label = label
        self.read = read
        self.value = read()  # kept alive, so that identities in the fingerprint stay unique
        self.fingerprint = _fingerprint(self.value)


class Captured:
    """Fingerprints of the values ``fn`` reads from its closure, defaults and globals.

    >>> __name__ = "__main__"  # user code, as at the prompt (not this library's)
    >>> w = np.ones(2)
    >>> f = lambda x: x * w
    >>> watch = Captured(f)
    >>> print(watch.changed())
    None
    >>> w[0] = 5.0
    >>> watch.changed()
    "the global 'w' of <lambda> was changed in place"
    """

    def __init__(self, fn):
        self.probes: list[_Probe] = []
        self._seen: set[int] = set()
        self._follow(fn, getattr(fn, "__qualname__", getattr(fn, "__name__", "f")))

    def changed(self) -> str | None:
        """What changed since the trace ("the global 'A' of f was rebound"), or None."""
        for p in self.probes:
            now = p.read()
            if _fingerprint(now) != p.fingerprint:
                how = "changed in place" if now is p.value else "rebound"
                return f"{p.label} was {how}"
        return None

    def _watch(self, label: str, read) -> None:
        if len(self.probes) >= MAX_PROBES:
            return
        probe = _Probe(label, read)
        self.probes.append(probe)
        if callable(probe.value):
            self._follow(probe.value, label)

    def _follow(self, fn, label: str) -> None:
        """Watch what the callable ``fn`` reads, if it is Python code we can see into."""
        if id(fn) in self._seen or len(self.probes) >= MAX_PROBES:
            return
        self._seen.add(id(fn))
        if isinstance(fn, types.MethodType):
            fn = fn.__func__
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None and not isinstance(fn, type):
            self._follow(wrapped, label)
        if isinstance(fn, types.FunctionType):
            self._follow_function(fn)
        elif isinstance(fn, functools.partial):
            self._follow(fn.func, label)
            self._watch(f"the arguments bound by {label}", lambda p=fn: (p.args, p.keywords))

    def _follow_function(self, fn: types.FunctionType) -> None:
        name = fn.__code__.co_qualname
        # where the code lives (functools.wraps gives a transform's wrapper the user's __module__)
        library = str(fn.__globals__.get("__name__", "")).partition(".")[0] in _LIBRARIES
        for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            if library:  # a transform's wrapper: follow the user function it holds, no more
                value = _cell_value(cell)
                if callable(value):
                    self._follow(value, f"the closure variable {var!r} of {name}")
            else:
                self._watch(f"the closure variable {var!r} of {name}",
                            lambda c=cell: _cell_value(c))
        if library:
            return
        if fn.__defaults__ or fn.__kwdefaults__:
            self._watch(f"a default argument of {name}",
                        lambda f=fn: (f.__defaults__, f.__kwdefaults__))
        module = fn.__globals__
        for var in _global_names(fn.__code__):
            if var in module:
                self._watch(f"the global {var!r} of {name}",
                            lambda g=module, v=var: g.get(v, _MISSING))


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return _MISSING


def _global_names(code: types.CodeType) -> list[str]:
    """The names ``code`` (and the functions and comprehensions inside it) may read as globals."""
    names = dict.fromkeys(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(dict.fromkeys(_global_names(const)))
    return list(names)


def _fingerprint(value):
    """Equal for values a traced program cannot tell apart; unequal after a rebinding or an
    in-place change (arrays: identity, shape, dtype, strides and a checksum of the contents).

    Of a container (tuple, list, dict) only the arrays and floating-point numbers count, the
    first ``MAX_LEAVES`` of them: they are what a trace can read as constants, while lists of
    other things are often logs that the function appends to (``calls.append(1)``).
    """
    if isinstance(value, np.ndarray):
        return (id(value), value.shape, value.dtype.str, value.strides, _checksum(value))
    if isinstance(value, (int, float, complex, str, bytes, np.generic)):
        return (type(value), repr(value))  # immutable: equal values are interchangeable
    if isinstance(value, (tuple, list, dict)):
        numeric = [x for x in tree_flatten(value)[0] if isinstance(x, _CONSTANTS)]
        return tuple(_fingerprint(x) for x in numeric[:MAX_LEAVES])
    return id(value)


_CONSTANTS = (np.ndarray, float, complex, np.inexact)


def _checksum(a: np.ndarray) -> int | None:
    """CRC-32 of the contents (of ``SAMPLE`` evenly spaced elements when it is large)."""
    if a.dtype.hasobject:
        return None
    if a.nbytes > FULL_CHECK_BYTES:
        a = a.flat[np.linspace(0, a.size - 1, SAMPLE).astype(np.intp)]
    a = np.ascontiguousarray(a)
    try:
        return zlib.crc32(a)
    except (TypeError, ValueError, BufferError):  # a dtype without a buffer format (datetime)
        return zlib.crc32(a.tobytes())


__all__ = ["Captured", "ClosureChangedWarning"]
