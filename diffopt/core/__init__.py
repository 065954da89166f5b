"""The differentiation engine: primitives, traces and the interpreters that run them."""

from .primitive import Primitive
from .trace import Trace, Tracer, concrete, new_trace, trace_stack

__all__ = ["Primitive", "Trace", "Tracer", "concrete", "new_trace", "trace_stack"]
