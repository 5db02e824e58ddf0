"""The kernel executor: run a script on this machine's own kernel (`listenspec run --kernel`).

A thin adapter (DESIGN.md): every call becomes the system call SCRIPT_FORMAT.md names, and every
result is what the kernel answered, measured, never derived from a model. A run happens in a
forked child, inside a private network namespace made for it when the process may make one
(root: unshare; other users: a user namespace first); otherwise in the current namespace, where
calls that would change the host (sysctl writes, the syn() peer's TUN device) are refused with
the reason.

Modules: `libc` (system calls through ctypes, errno names), `netns` (the namespace), `runner`
(the child process and its time limit), `executor` (calls -> system calls), `probes` (each way of
observing, checked against a known answer before it is trusted), `diag` (netstat via
inet_diag / unix_diag), `counters` (/proc/net/netstat), `sysctl`, `kmsg` (syslog), `synpeer`
(syn()), `serve` (the executor protocol server, also inside a gVisor sandbox). Everything
Linux-specific is imported on first use, so importing this package works on any system.
"""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING

from ..errors import ListenspecError
from ..results import Result
from ..script import Script
from .failure import KernelExecutorError, RunInterrupted

if TYPE_CHECKING:
    from .probes import Probed
    from .runner import Runner

__all__ = ["KernelExecutorError", "RunInterrupted", "kernel_environment", "kernel_runner",
           "run_on_kernel"]


def run_on_kernel(
    script: Script, *, isolate: bool = True, timeout: float | None = None,
    runner: Runner | None = None,
) -> list[Result]:
    """Run every step of the script on this machine's kernel and return one Result per step.

    isolate: run in a private network namespace when this process may make one (it falls back
    to the current namespace, refusing host-changing calls, when it may not).
    timeout: the run's time limit in seconds (default: runner.default_time_limit); steps that
    did not finish in time come back as Unsupported("stopped: ...").
    Ctrl-C, SIGTERM or SIGHUP during the run raise RunInterrupted (a KeyboardInterrupt) with the
    results of the steps that finished, once the run's child and files are gone.
    runner: a runner.Runner to run it with (one that made the namespace ahead of use); its
    own `isolated` decides then.
    """
    if platform.system() != "Linux":
        raise ListenspecError(f"the kernel executor needs Linux, not {platform.system()}")
    from .netns import isolation_problem
    from .runner import default_time_limit, run_steps

    limit = default_time_limit(script.steps) if timeout is None else timeout
    if limit <= 0:
        raise ListenspecError(f"the time limit must be positive, not {timeout}")
    isolated = (isolate and isolation_problem() is None) if runner is None else runner.isolated
    probes = probes_for(script, isolated=isolated)
    if runner is not None:
        return runner.run(script.steps, limit, probes)
    return run_steps(script.steps, isolated=isolated, limit=limit, probes=probes)


def probes_for(script: Script, *, isolated: bool) -> Probed:
    """What the known-answer probes found (probes.py), the syn() probe only for a script that
    uses syn() (it sets up a device); each probe runs once per process."""
    import attrs

    from .probes import probed, syn_probed

    found = probed(isolated=isolated)
    if any(step.call.name == "syn" for step in script.steps):
        found = attrs.evolve(found, syn=syn_probed(isolated=isolated))
    return found


def kernel_runner(*, isolate: bool = True) -> Runner:
    """A runner that keeps its child from run to run, each run's namespace made ahead of use;
    close() it."""
    if platform.system() != "Linux":
        raise ListenspecError(f"the kernel executor needs Linux, not {platform.system()}")
    from .netns import isolation_problem
    from .runner import Runner

    return Runner(isolated=isolate and isolation_problem() is None)


def kernel_environment(*, isolate: bool = True) -> str:
    """One line: how a run is isolated, or why it is not."""
    if platform.system() != "Linux":
        return f"no kernel executor on {platform.system()} (it needs Linux)"
    from .netns import describe, isolation_problem
    from .synpeer import tun_problem

    isolated = isolate and isolation_problem() is None
    return describe(isolated, tun_problem() if isolated else None)

