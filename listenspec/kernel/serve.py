"""The kernel executor as an executor-protocol server (docs/protocol.md):

    python -m listenspec.kernel.serve [--no-isolate]

It writes the handshake, then answers one script line at a time on standard input/output until
`%quit` or EOF. Each script (the lines between two `%reset`s) runs in a forked child of its own,
in a fresh private network namespace where one can be made, exactly as `run_on_kernel` runs a
whole script: the namespace, with every sysctl a script wrote in it, vanishes with the child, so
`%reset` has nothing to restore. Driven by `--target "exec:python -m listenspec.kernel.serve"`,
it gives the same traces as `--target linux`; its use is elsewhere: inside a sandbox whose start
is slow, e.g. `exec:runsc --network=none do .venv/bin/python -m listenspec.kernel.serve`, many
scripts share one sandbox.

Every wait is bounded here too (STEP_LIMIT per line, below the driver's own limit, so this
process answers `unsupported("stopped: ...")` itself rather than being killed): a child that
misses it is killed, and the script's remaining lines are answered `unsupported("not run: ...")`
until `%reset`. A failure of the executor itself (a bug) is reported the same way, with its
traceback on standard error; nothing here ever exits on a bad line.
"""

from __future__ import annotations

import argparse
import contextlib
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

#: Seconds one line may take in the child, beyond what its sleep() asks for. Below the
#: driver's LINE_LIMIT (listenspec.targets.protocol), so the answer comes from here.
STEP_LIMIT: Final = 5.0
#: sun_path holds 108 bytes; a longer temporary directory falls back to abstract names.
MAX_UNIX_DIR: Final = 90
EXIT_WAIT: Final = 1.0
_FRAME: Final = struct.Struct("!I")

OBSERVES: Final = {
    "netstat": "sock_diag netlink (inet_diag for TCP, unix_diag for AF_UNIX), through pyroute2",
    "counter": "/proc/self/net/netstat and /proc/self/net/snmp of the script's namespace",
    "syslog": "/dev/kmsg from the script's start, lines naming one of its ports",
    "sysctl": "/proc/sys; writes only under net.*, inside the script's private namespace",
}


class _Session:
    """One script's child process: it runs steps sent over a pipe and sends back results."""

    def __init__(self, *, isolated: bool) -> None:
        from .libc import PR_SET_PDEATHSIG, sys_prctl
        from .netns import enter_private_netns

        self.dead: str | None = None  # why the script cannot go on, once it cannot
        self.unix_dir = tempfile.mkdtemp(prefix=f"listenspec-{os.getpid()}-")
        to_child_r, self._to_child = os.pipe2(os.O_CLOEXEC)
        self._from_child, from_child_w = os.pipe2(os.O_CLOEXEC)
        self._buf = bytearray()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child; coverage cannot see it
            code = 0
            try:
                os.close(self._to_child)
                os.close(self._from_child)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                sys_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if os.getppid() != parent:
                    os._exit(1)
                if isolated:
                    enter_private_netns()
                usable = self.unix_dir if len(self.unix_dir) <= MAX_UNIX_DIR else None
                _serve_child(to_child_r, from_child_w, isolated=isolated, unix_dir=usable)
            except BaseException:
                code = 1
                with contextlib.suppress(OSError):
                    _write_frame(from_child_w, ("error", traceback.format_exc()))
            finally:
                os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)

    def ask(self, message: tuple[str, Any], limit: float) -> Result | None:
        """Send a message; the child's answer (None for an acknowledgement)."""
        if self.dead is not None:
            return Unsupported(f"not run: {self.dead}")
        try:
            _write_frame(self._to_child, message)
            kind, payload = self._read_frame(time.monotonic() + limit)
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
        assert kind in ("result", "ok")
        result: Result | None = payload
        return result

    def _read_frame(self, deadline: float) -> tuple[str, Any]:
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

    def _stop(self, why: str) -> None:
        self.dead = why
        self._kill()

    def _kill(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0

    def end(self) -> None:
        """End the script: the child closes what it opened and exits (its namespace goes with
        it); killed if it does not within EXIT_WAIT. Idempotent."""
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
            self._kill()
        shutil.rmtree(self.unix_dir, ignore_errors=True)


def _serve_child(fd_in: int, fd_out: int, *, isolated: bool,
                 unix_dir: str | None) -> None:  # pragma: no cover - runs in the child
    from .executor import Executor

    executor = Executor(isolated=isolated, unix_dir=unix_dir)
    reader = os.fdopen(fd_in, "rb")
    try:
        while True:
            head = reader.read(_FRAME.size)
            if len(head) < _FRAME.size:
                return  # the parent ended the script
            (size,) = _FRAME.unpack(head)
            kind, payload = pickle.loads(reader.read(size))
            if kind == "step":
                _write_frame(fd_out, ("result", executor.run_step(payload)))
            elif kind == "unbind":
                executor.unbind(payload)
                _write_frame(fd_out, ("ok", None))
    finally:
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


def handshake(isolated: bool) -> str:
    from .netns import describe

    info = {
        "stack": f"Linux {platform.release()} via the Python kernel executor "
                 "(listenspec.kernel.serve)",
        "calls": list(BY_NAME),
        "observes": OBSERVES,
        "notes": f"each script in a forked child: {describe(isolated)}",
    }
    return f"listenspec-executor 1 {json.dumps(info)}"


class Server:
    """The protocol loop over two binary streams (standard input and output)."""

    def __init__(self, out: BinaryIO, *, isolated: bool) -> None:
        self.out = out
        self.isolated = isolated
        self.session: _Session | None = None
        self.bound: set[str] = set()
        self.lineno = 0

    def say(self, text: str) -> None:
        self.out.write(text.encode() + b"\n")
        self.out.flush()

    def end_script(self) -> None:
        if self.session is not None:
            self.session.end()
            self.session = None
        self.bound = set()
        self.lineno = 0

    def control(self, line: str) -> bool:
        """Answer a `%` line; False once the server should exit."""
        word, _, arg = line.partition(" ")
        if word == "%quit":
            return False
        if word == "%reset" and not arg.strip():
            self.end_script()
            self.say("%ok")
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
            self.session = _Session(isolated=self.isolated)
        result = self.session.ask(("step", step), step_limit(step))
        assert result is not None
        self.say(render(result))

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
            self.end_script()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through Server.serve's `finally`


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listenspec.kernel.serve",
                                 description="The kernel executor, speaking the executor "
                                             "protocol on standard input/output.")
    ap.add_argument("--no-isolate", action="store_true",
                    help="run in the current network namespace (sysctl writes and syn() are "
                         "then refused)")
    args = ap.parse_args(argv)
    if platform.system() != "Linux":
        print(f"the kernel executor needs Linux, not {platform.system()}", file=sys.stderr)
        return 2
    from . import _preload
    from .netns import isolation_problem

    _preload()
    isolated = not args.no_isolate and isolation_problem() is None
    signal.signal(signal.SIGTERM, _terminate)
    server = Server(sys.stdout.buffer, isolated=isolated)
    try:
        server.say(handshake(isolated))
        server.serve(sys.stdin.buffer)
    except BrokenPipeError:
        return 0  # the driver went away
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
