"""The kernel executor as an executor-protocol server (docs/protocol.md):

    python -m listenspec.kernel.serve [--no-isolate] [--sandbox] [--stack TEXT]

It writes the handshake, then answers one script line at a time on standard input/output until
`%quit` or EOF. The scripts (the lines between two `%reset`s) run in a forked child, kept from
one script to the next as `run_on_kernel`'s runner keeps its own: after a script it closes every
descriptor but its pipes and, where it can make private network namespaces, moves into a fresh
one (every sysctl the script wrote in the old one goes with it, so `%reset` has nothing to
restore), then says it is ready. A child that is not ready within READY_WAIT, or whose script
failed, is killed, and the next script gets a new one. Driven by
`--target "exec:python -m listenspec.kernel.serve"`, it gives the same traces as
`--target linux`; its use is elsewhere: inside a sandbox whose start is slow, e.g.
`exec:runsc --network=none do .venv/bin/python -m listenspec.kernel.serve`, many
scripts share one sandbox. `--target gvisor` (listenspec.targets.gvisor) runs it that way with
`--sandbox`: the sandbox is made for the run, so sysctl writes and syn()'s TUN device are made
there even without a private namespace (gVisor routes nothing in one), and each sysctl value a
script wrote is put back at `%reset` (many scripts share the sandbox).

Before the first script, the known-answer probes (probes.py) decide how each observation is made;
the handshake's `observes` says what they found, and a mechanism that failed its probe makes its
observations `unsupported("why")`.

Every wait is bounded here too (STEP_LIMIT per line, below the driver's own limit, so this
process answers `unsupported("stopped: ...")` itself rather than being killed): a child that
misses it is killed, and the script's remaining lines are answered `unsupported("not run: ...")`
until `%reset`. A failure of the executor itself (a bug) is reported the same way, with its
traceback on standard error; nothing here ever exits on a bad line.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pickle
import platform
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from decimal import Decimal
from typing import Any, BinaryIO, Final

from ..calls import BY_NAME
from ..errors import ListenspecError
from ..results import Result, Unsupported, render
from ..script import NAME_RE, Step, parse_line
from .probes import NOTHING, Probed

#: Seconds one line may take in the child, beyond what its sleep() asks for. Below the
#: driver's LINE_LIMIT (listenspec.targets.protocol), so the answer comes from here.
STEP_LIMIT: Final = 5.0
#: sun_path holds 108 bytes; a longer temporary directory falls back to abstract names.
MAX_UNIX_DIR: Final = 90
EXIT_WAIT: Final = 1.0
#: How long the server waits for the child's "ready" after a script (it cleans up and, where
#: it has private namespaces, makes the next one).
READY_WAIT: Final = 5.0
_FRAME: Final = struct.Struct("!I")

OBSERVES: Final = {
    "netstat": "sock_diag netlink (inet_diag for TCP, unix_diag for AF_UNIX)",
    "counter": "/proc/self/net/netstat and /proc/self/net/snmp of the script's namespace",
    "syslog": "/dev/kmsg from the script's start, lines naming one of its ports",
    "sysctl": "/proc/sys; writes only under net.*, inside the script's private namespace",
}


def observes(probes: Probed, *, isolated: bool, sandboxed: bool) -> dict[str, str | None]:
    """The handshake's `observes`: how each observation is made, as far as the probes trust
    it (a mechanism that failed its probe is named with what it answered)."""
    netstat = OBSERVES["netstat"] + " and SO_ACCEPTCONN, each checked against a known answer"
    for name, why in probes.diag.items():
        if why is not None:
            netstat += f"; {name}: {why}"
    unix_flag = probes.acceptconn.get("AF_UNIX")
    if unix_flag is not None:
        how = "/proc/self/net/unix" if probes.proc_unix is None else "unknown"
        netstat += f"; whether an AF_UNIX socket listens: {how} ({unix_flag})"
    if isolated:
        where = "the script's namespace"
        sysctl = OBSERVES["sysctl"]
    elif sandboxed:
        where = "the sandbox (changes since the script started)"
        sysctl = "/proc/sys; writes only under net.*, in the sandbox, each put back at %reset"
    else:
        where = "the current namespace (changes since the script started)"
        sysctl = "/proc/sys (reads only: writes need a private namespace)"
    counter = None if probes.counters is not None else (
        f"/proc/self/net/netstat and /proc/self/net/snmp of {where}")
    syn = "; ".join(f"{name}: {method}" for name, method in probes.syn.items())
    return {"netstat": netstat, "counter": counter, "syslog": OBSERVES["syslog"],
            "sysctl": sysctl, "syn": syn or None}


class _Child:
    """The process that runs the scripts' steps, kept from one script to the next (forking one
    per script cost gVisor about 45 ms a script: a one-line script took 49.6 ms forked per
    script and 4.6 ms kept, timed by hand on a busy machine; bench_targets.py prints the rates).
    Between two scripts it closes every descriptor but its pipes, moves into a fresh private
    namespace where it can make one, and says it is ready; so each script still starts as a
    fresh program in a fresh namespace would."""

    def __init__(self, *, isolated: bool, probes: Probed, sandboxed: bool) -> None:
        from .libc import PR_SET_PDEATHSIG, sys_prctl

        to_child_r, self._to_child = os.pipe2(os.O_CLOEXEC)
        self._from_child, from_child_w = os.pipe2(os.O_CLOEXEC)
        self._buf = bytearray()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; coverage cannot see it
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                sys_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() != parent:
                    os._exit(1)
                gc.freeze()  # as runner._child does: no collection over the parent's objects
                _serve_child(to_child_r, from_child_w, isolated=isolated, probes=probes,
                             sandboxed=sandboxed)
            except BaseException:
                code = 1
                with contextlib.suppress(OSError):
                    _write_frame(from_child_w, ("error", traceback.format_exc()))
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)

    def send(self, message: tuple[str, Any]) -> None:
        _write_frame(self._to_child, message)

    def read_frame(self, deadline: float) -> tuple[str, Any]:
        while True:
            if len(self._buf) >= _FRAME.size:
                (size,) = _FRAME.unpack_from(self._buf)
                if len(self._buf) >= _FRAME.size + size:
                    frame = pickle.loads(bytes(self._buf[_FRAME.size : _FRAME.size + size]))
                    del self._buf[: _FRAME.size + size]
                    kind, payload = frame
                    return str(kind), payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise EOFError
                self._buf += chunk

    def kill(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0

    def end(self) -> None:
        """No more scripts: the child sees its pipe close, closes what it opened and exits;
        killed if it does not within EXIT_WAIT. Idempotent."""
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._to_child = self._from_child = -1
        if self.pid > 0:
            deadline = time.monotonic() + EXIT_WAIT
            while time.monotonic() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.pid = 0
                    break
                time.sleep(0.002)
            self.kill()


class _Session:
    """One script, run by a child (a new one, or one kept from the last script)."""

    def __init__(self, child: _Child) -> None:
        self.child = child
        self.dead: str | None = None  # why the script cannot go on, once it cannot
        self.written: list[tuple[str, bytes]] = []  # sysctls to put back: (path, old value)
        self.unix_dir = tempfile.mkdtemp(prefix=f"listenspec-{os.getpid()}-")
        usable = self.unix_dir if len(self.unix_dir) <= MAX_UNIX_DIR else None
        self.ask(("begin", usable), STEP_LIMIT)

    def ask(self, message: tuple[str, Any], limit: float) -> Result | None:
        """Send a message; the child's answer (None for an acknowledgement)."""
        if self.dead is not None:
            return Unsupported(f"not run: {self.dead}")
        try:
            self.child.send(message)
            deadline = time.monotonic() + limit
            kind, payload = self.child.read_frame(deadline)
            while kind == "wrote":  # a sysctl the child wrote: restored here at %reset, even
                path, old = payload  # if the child is killed first
                self.written.append((str(path), bytes(old)))
                kind, payload = self.child.read_frame(deadline)
        except TimeoutError:
            self._stop(f"an earlier step took longer than {limit:g} s")
            return Unsupported(f"stopped: the step took longer than {limit:g} s")
        except (EOFError, BrokenPipeError):
            self._stop("the executor's process had ended")
            return Unsupported("stopped: the executor's process ended")
        if kind == "error":
            print(f"listenspec.kernel.serve: the kernel executor failed:\n{payload}",
                  file=sys.stderr)
            last = str(payload).strip().splitlines()[-1] if str(payload).strip() else "?"
            self._stop("the kernel executor had failed")
            return Unsupported(f"stopped: the kernel executor failed ({last})")
        assert kind in ("result", "ok"), kind
        result: Result | None = payload
        return result

    def _stop(self, why: str) -> None:
        self.dead = why
        self.child.kill()

    def end(self) -> bool:
        """End the script: the child closes what the script opened and gets ready for the
        next one. Whether it may run that one (else it is killed)."""
        ready = False
        if self.dead is None:
            try:
                self.child.send(("end", None))
                kind, _ = self.child.read_frame(time.monotonic() + READY_WAIT)
                ready = kind == "ready"
            except (TimeoutError, EOFError, OSError):
                pass
        if not ready:
            self.child.kill()
        shutil.rmtree(self.unix_dir, ignore_errors=True)
        return ready


def _serve_child(fd_in: int, fd_out: int, *, isolated: bool, probes: Probed,
                 sandboxed: bool) -> None:  # pragma: no cover - the child
    from .executor import Executor
    from .netns import NetnsBase, enter_fresh_netns, prepare_netns
    from .runner import close_all_but, start_afresh

    def wrote(path: str, old: bytes) -> None:
        _write_frame(fd_out, ("wrote", (path, old)))

    # What the server had open is not the script's: it starts with 0, 1, 2 and the pipes.
    close_all_but(sorted((fd_in, fd_out)))
    base: NetnsBase | None = None
    if isolated:
        base = prepare_netns()
        enter_fresh_netns(base)
    reader = os.fdopen(fd_in, "rb")
    executor: Executor | None = None
    try:
        while True:
            head = reader.read(_FRAME.size)
            if len(head) < _FRAME.size:
                return  # the server is done: no more scripts
            (size,) = _FRAME.unpack(head)
            kind, payload = pickle.loads(reader.read(size))
            if kind == "begin":
                executor = Executor(isolated=isolated, unix_dir=payload, probes=probes,
                                    sandboxed=sandboxed, on_write=wrote)
                _write_frame(fd_out, ("ok", None))
            elif kind == "step":
                assert executor is not None, "a step before the script began"
                _write_frame(fd_out, ("result", executor.run_step(payload)))
            elif kind == "unbind":
                assert executor is not None, "an unbind before the script began"
                executor.unbind(payload)
                _write_frame(fd_out, ("ok", None))
            elif kind == "end":
                if executor is not None:
                    executor.close()
                    executor = None
                start_afresh((fd_in, fd_out), base)
                _write_frame(fd_out, ("ready", None))
    finally:
        if executor is not None:
            executor.close()


def _write_frame(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def step_limit(step: Step) -> float:
    from .executor import MAX_SLEEP

    sleeps = sum(min(float(a), MAX_SLEEP) for a in step.call.args if isinstance(a, Decimal))
    return STEP_LIMIT + (sleeps if step.call.name == "sleep" else 0.0)


def handshake(isolated: bool, probes: Probed = NOTHING, *, sandboxed: bool = False,
              stack: str | None = None) -> str:
    from .netns import describe, isolation_problem

    if isolated or not sandboxed:
        how = describe(isolated)
    else:
        how = (f"in a sandbox made for the run, in its own network namespace (no private one: "
               f"{isolation_problem()}); sysctl writes are put back after each script")
    info = {
        "stack": stack or f"Linux {platform.release()} via the Python kernel executor "
                          "(listenspec.kernel.serve)",
        "calls": list(BY_NAME),
        "observes": observes(probes, isolated=isolated, sandboxed=sandboxed),
        "notes": f"each script in a child process kept from script to script, which closes "
                 f"what a script opened before the next: {how}",
    }
    return f"listenspec-executor 1 {json.dumps(info)}"


class Server:
    """The protocol loop over two binary streams (standard input and output)."""

    def __init__(self, out: BinaryIO, *, isolated: bool, probes: Probed = NOTHING,
                 sandboxed: bool = False) -> None:
        self.out = out
        self.isolated = isolated
        self.probes = probes
        self.sandboxed = sandboxed
        self.child: _Child | None = None  # kept from script to script while it is ready
        self.session: _Session | None = None
        self.bound: set[str] = set()
        self.lineno = 0

    def say(self, text: str) -> None:
        self.out.write(text.encode() + b"\n")
        self.out.flush()

    def end_script(self) -> list[str]:
        """End the script; what could not be put back (for `%ok NOTE`)."""
        from .sysctl import sysctl_restore

        notes: list[str] = []
        if self.session is not None:
            if not self.session.end():
                self.child = None  # killed: the next script gets a new one
            for path, old in reversed(self.session.written):  # newest first
                if (note := sysctl_restore(path, old)) is not None:
                    notes.append(note)
            self.session = None
        self.bound = set()
        self.lineno = 0
        return notes

    def control(self, line: str) -> bool:
        """Answer a `%` line; False once the server should exit."""
        word, _, arg = line.partition(" ")
        if word == "%quit":
            return False
        if word == "%reset" and not arg.strip():
            notes = self.end_script()
            self.say("%ok" + (f" {'; '.join(notes)}" if notes else ""))
        elif word == "%unbind" and NAME_RE.match(arg.strip()):
            name = arg.strip()
            self.bound.add(name)
            if self.session is not None:
                self.session.ask(("unbind", name), STEP_LIMIT)
            self.say("%ok")
        else:
            self.say(f"%error unknown control line {line!r} (known: %reset, %unbind NAME, "
                     "%quit)")
        return True

    def script_line(self, line: str) -> None:
        self.lineno += 1
        try:
            step = parse_line(line, self.lineno, self.bound, "<protocol>")
        except ListenspecError as exc:
            self.say(render(Unsupported(f"not a script line: {exc}")))
            return
        if step is None:
            return  # a blank or comment line: nothing to answer
        if self.session is None:
            self.session = self._begin()
        result = self.session.ask(("step", step), step_limit(step))
        assert result is not None
        self.say(render(result))

    def _begin(self) -> _Session:
        """A session on the kept child, or on a new one where there is none or the kept one
        could not begin the script."""
        for _ in range(2):
            if self.child is None or self.child.pid == 0:
                self.child = _Child(isolated=self.isolated, probes=self.probes,
                                    sandboxed=self.sandboxed)
            session = _Session(self.child)
            if session.dead is None:
                return session
            session.end()
            self.child = None
        return session  # its lines say why they were not run

    def close(self) -> None:
        """End the script, if one is under way, and the child."""
        try:
            self.end_script()
        finally:
            if self.child is not None:
                self.child.end()
                self.child = None

    def serve(self, lines: BinaryIO) -> None:
        try:
            for raw in iter(lines.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("%"):
                    if not self.control(line.strip()):
                        return
                elif line.strip():
                    self.script_line(line)
        finally:
            self.close()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through Server.serve's `finally`


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listenspec.kernel.serve",
                                 description="The kernel executor, speaking the executor "
                                             "protocol on standard input/output.")
    ap.add_argument("--no-isolate", action="store_true",
                    help="run in the current network namespace (sysctl writes and syn() are "
                         "then refused)")
    ap.add_argument("--sandbox", action="store_true",
                    help="this process runs in a sandbox made for the run (gVisor's runsc): "
                         "where no private namespace can be made, sysctl writes and syn()'s "
                         "device are made in the sandbox's own, and each value written is put "
                         "back after the script. Never on a host")
    ap.add_argument("--stack", metavar="TEXT", default=None,
                    help="the stack's description for the handshake (default: this kernel)")
    args = ap.parse_args(argv)
    if platform.system() != "Linux":
        print(f"the kernel executor needs Linux, not {platform.system()}", file=sys.stderr)
        return 2
    import attrs

    from .netns import isolation_problem
    from .probes import probed, syn_probed

    isolated = not args.no_isolate and isolation_problem() is None
    signal.signal(signal.SIGTERM, _terminate)
    probes = attrs.evolve(probed(isolated=isolated),
                          syn=syn_probed(isolated=isolated, sandboxed=args.sandbox))
    server = Server(sys.stdout.buffer, isolated=isolated, probes=probes,
                    sandboxed=args.sandbox)
    try:
        server.say(handshake(isolated, probes, sandboxed=args.sandbox, stack=args.stack))
        server.serve(sys.stdin.buffer)
    except BrokenPipeError:
        return 0  # the driver went away
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
