"""Targets: the stacks a script can run on (`listenspec run SCRIPT --target NAME`).

A target runs a whole script and gives one Result per step; the model is not a target (it is
`--profile`). Names:

- `linux`: this machine's kernel through the Python kernel executor (`listenspec.kernel`), in a
  private network namespace where one can be made. `--kernel` means `--target linux`.
- `gvisor`: gVisor's netstack (`runsc --network=none do`), through the Python kernel executor
  speaking the executor protocol inside one sandbox for the whole run (targets/gvisor.py).
- `exec:CMD`: any program that speaks the executor protocol (docs/protocol.md) on its standard
  input and output; CMD is split as a POSIX shell would split it (shlex), and run without a
  shell. The reference C executor is `exec:executors/c/listenspec-exec`; the Python kernel
  executor speaks it too: `exec:python -m listenspec.kernel.serve`.

Every target is a context manager: leaving it releases whatever it started (an executor
process and its children).
"""

from __future__ import annotations

import shlex
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from ..errors import ListenspecError
from ..results import Result
from ..script import Script

if TYPE_CHECKING:
    from ..kernel.runner import Runner
    from ..kernel.timing import Late

__all__ = ["NAMES", "LinuxTarget", "Target", "prepare", "target"]

#: The names `target()` accepts, for help texts (`exec:` takes a command after the colon).
NAMES = ("linux", "gvisor", "exec:CMD")


class Target(Protocol):
    """A stack scripts run on."""

    name: str

    def run(self, script: Script) -> list[Result]:
        """One Result per step of the script; a step the stack could not perform is
        Unsupported("why"), never a value that was not observed."""
        ...

    def describe(self) -> str:
        """One line: the stack, and how a run is isolated."""
        ...

    def late(self) -> Late | None:
        """Whether the last run drifted too far from the script's timing to be a run of it
        as written from some step on (kernel/timing.py); None where the target cannot tell."""
        ...

    def close(self) -> None:
        """Release everything the target started; it may be used again afterwards."""
        ...

    def __enter__(self) -> Target: ...

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class LinuxTarget:
    """This machine's kernel, through the Python kernel executor (a forked child kept from run
    to run, which moves into a fresh namespace after each: listenspec.kernel.runner)."""

    name = "linux"

    def __init__(self) -> None:
        self._runner: Runner | None = None

    def run(self, script: Script) -> list[Result]:
        from ..kernel import kernel_runner, run_on_kernel

        if self._runner is None:
            self._runner = kernel_runner()
        return run_on_kernel(script, runner=self._runner)

    def describe(self) -> str:
        from ..kernel import kernel_environment

        return kernel_environment()

    def late(self) -> Late | None:
        return None if self._runner is None else self._runner.late

    def close(self) -> None:
        if self._runner is not None:  # every run reaps its own child; this, the spare one
            self._runner.close()

    def __enter__(self) -> LinuxTarget:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def prepare(name: str) -> None:
    """Do now what every target called `name` does once per process: a process about to fork
    workers that each make one (`conform --workers`) does it once, and they inherit it. For
    `linux`, the kernel executor's known-answer probes (kernel/probes.py): the same kernel
    gives every process the same answers. They take ~0.09 s in a process (measured here:
    0.017 s and 0.071 s for the syn() probe), which 96 workers each made at once at the start
    of a conformance run."""
    if name == "linux":
        from ..kernel.netns import isolation_problem
        from ..kernel.probes import probed, syn_probed

        isolated = isolation_problem() is None  # as kernel_runner() decides
        probed(isolated=isolated)
        syn_probed(isolated=isolated)


def target(name: str) -> Target:
    """The target called `name` (see the module doc); ListenspecError for an unknown name."""
    if name == "linux":
        return LinuxTarget()
    if name == "gvisor":
        from .gvisor import GVisorTarget

        return GVisorTarget()
    if name.startswith("exec:"):
        from .protocol import ProtocolTarget

        try:
            argv = shlex.split(name.removeprefix("exec:"))
        except ValueError as exc:
            raise ListenspecError(f"--target {name}: cannot split the command: {exc}") from None
        if not argv:
            raise ListenspecError("--target exec:CMD needs a command after 'exec:'")
        return ProtocolTarget(argv, name=name)
    raise ListenspecError(f"unknown target {name!r}: expected one of {', '.join(NAMES)}")
