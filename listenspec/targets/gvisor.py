"""`--target gvisor`: gVisor's netstack, through the Python kernel executor in one sandbox.

gVisor (Debian: `apt-get install runsc`) runs a program on a user-space kernel of its own,
whose network stack (netstack, Go) is independent of Linux's. As root,

    runsc --network=none do PYTHON -m listenspec.kernel.serve --sandbox --stack ...

starts one sandbox whose only network is netstack's loopback, and the kernel executor in it
speaking the executor protocol (docs/protocol.md): every script of a run shares that sandbox
(`%reset` between scripts), so a conformance run is not dominated by sandbox start-up. The host's
files, the virtualenv included, are visible inside (and writes go to the sandbox's own overlay,
never to the host). Inside, the executor's known-answer probes (listenspec.kernel.probes) decide
what it can observe; what gVisor lacks is `unsupported("why")`.

Measured with Debian's runsc 0.0~20221219.0 on this machine: the default platform works
(`--platform=kvm` hangs), and runsc writes a file-backed stdout from offset 0, so the output is
read through a pipe (the protocol driver does). runsc keeps its bundle in a directory under
$TMPDIR, which a killed sandbox leaves behind: the target points TMPDIR at a directory of its
own and removes it when it closes.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from functools import cache

from ..errors import ListenspecError
from .protocol import ProtocolTarget, _Process

RUNSC_FLAGS = ("--network=none",)


@cache
def runsc_version(runsc: str) -> str:
    """`runsc --version`'s first line without its label ("0.0~20221219.0"), or "?"."""
    try:
        done = subprocess.run([runsc, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    first = (done.stdout.strip().splitlines() or ["?"])[0]
    return first.removeprefix("runsc version ").strip() or "?"


def sandbox_tmp() -> str:
    """Where the sandbox's directory goes: $TMPDIR if the sandbox, which runs as another user,
    can reach it (every directory on the way searchable by others: measured, a TMPDIR of mode
    0700 makes runsc fail "cannot create sandbox"), else /tmp."""
    base = tempfile.gettempdir()
    path = os.path.abspath(base)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return "/tmp"
        except OSError:
            return "/tmp"
        parent = os.path.dirname(path)
        if parent == path:
            return base
        path = parent


def gvisor_problem() -> str | None:
    """Why `--target gvisor` cannot run here, or None if it can be tried."""
    if platform.system() != "Linux":
        return f"gVisor runs on Linux, not {platform.system()}"
    if shutil.which("runsc") is None:
        return "runsc is not installed (Debian: apt-get install runsc)"
    if os.geteuid() != 0:
        return "runsc do needs root here"
    return None


class GVisorTarget(ProtocolTarget):
    """The kernel executor inside one `runsc --network=none do` sandbox, started on first use
    (and again after a script that stopped it)."""

    def __init__(self) -> None:
        problem = gvisor_problem()
        if problem is not None:
            raise ListenspecError(f"--target gvisor: {problem}")
        runsc = shutil.which("runsc")
        assert runsc is not None
        self.version = runsc_version(runsc)
        self._tmp: str | None = None
        stack = f"gVisor netstack (runsc {self.version}) via the Python kernel executor"
        argv = [runsc, *RUNSC_FLAGS, "do", sys.executable, "-m", "listenspec.kernel.serve",
                "--sandbox", "--stack", stack]
        super().__init__(argv, name="gvisor")

    def _started(self) -> _Process:
        if self._proc is None and self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="listenspec-runsc-", dir=sandbox_tmp())
            self.env = {"TMPDIR": self._tmp}
        return super()._started()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._tmp is not None:  # with whatever a killed sandbox left in it
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
