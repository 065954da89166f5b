"""The differentiation engine: primitives, traces and the interpreters that run them."""

from .axes import AxisError
from .primitive import DerivativeError, Primitive
from .trace import Trace, Tracer, concrete, new_trace, top_trace, trace_stack

__all__ = ["AxisError", "DerivativeError", "Primitive", "Trace", "Tracer", "concrete", "new_trace",
           "top_trace", "trace_stack"]
