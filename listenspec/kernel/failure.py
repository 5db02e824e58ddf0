"""The kernel executor's own failure (a bug in it, not an outcome of any call)."""

from __future__ import annotations


class KernelExecutorError(RuntimeError):
    """The kernel executor itself failed, with the child's traceback."""
