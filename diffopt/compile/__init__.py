"""Graph compilation: simplification passes on the Graph IR and a jit that generates code."""

from .jit import jit

__all__ = ["jit"]
