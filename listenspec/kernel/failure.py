"""The kernel executor's own failures (a bug in it, not an outcome of any call), and a run
stopped by a signal."""

from __future__ import annotations

import signal

from ..results import Result


class KernelExecutorError(RuntimeError):
    """The kernel executor itself failed, with the child's traceback."""


class RunInterrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM, SIGHUP) stopped a run; everything it made is already gone.

    A KeyboardInterrupt, so that whatever unwinds for Ctrl-C (Hypothesis, pytest, a caller's
    `except KeyboardInterrupt`) unwinds for the others too. `results` are those of the steps
    that finished, in order: the step after them is where the run was stopped.
    """

    def __init__(self, signum: int, results: list[Result]) -> None:
        self.signum = signum
        self.results = results
        super().__init__(f"stopped by {signal.Signals(signum).name}")
