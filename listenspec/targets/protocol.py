"""The driver side of the executor protocol (docs/protocol.md): `--target exec:CMD`.

The driver starts CMD once, reads its handshake, and then sends it one script line at a time,
reading exactly one result line back for each; `%reset` ends a script, so many scripts run in
one executor process. The driver owns every wait: each answer has a time limit derived from its
line, and an executor that misses it, exits, or answers something that is not a result is killed
(its whole process group), the line is reported `unsupported("stopped: ...")` and the rest of the
script `unsupported("not run: ...")`; the next script starts a fresh executor.

The executor owns no semantics and neither does the driver: a result is parsed exactly as a
trace line's result is (results.parse_result), and a line whose call the handshake does not list
is answered `unsupported(...)` here without being sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Final

import attrs

from ..errors import ListenspecError, cut
from ..results import Result, Unsupported, parse_result
from ..script import Script, Step

if TYPE_CHECKING:
    from ..kernel.timing import Late

GREETING: Final = "listenspec-executor"
VERSION: Final = 1
#: How long the executor may take to write its handshake: a sandbox (gVisor) starts slowly.
START_LIMIT: Final = 60.0
#: How long one script line may take, beyond the seconds a sleep() asks for. Generous: every
#: call the format has settles in well under a second on a real stack (connect settling is
#: bounded by the executor itself), so this only catches an executor that is stuck.
LINE_LIMIT: Final = 10.0
#: the longest line an executor may answer with (a result is a few dozen bytes; a handshake a
#: few hundred): past it the driver stops reading, instead of growing a buffer for as long as a
#: broken executor writes
MAX_LINE: Final = 1 << 20
#: How long `%reset` (closing everything a script opened) and `%unbind` may take.
CONTROL_LIMIT: Final = 10.0
#: How long an executor told `%quit` gets to exit before it is killed.
EXIT_WAIT: Final = 2.0
#: how long an executor that did not exit has, after a SIGTERM, before its group is killed
TERM_WAIT: Final = 1.0


class Stopped(Exception):
    """The executor cannot go on with this script (timed out, ended, broke the protocol)."""


@attrs.frozen
class Handshake:
    """What the executor said about itself in its first line."""

    stack: str
    calls: frozenset[str]
    observes: Mapping[str, str | None] = attrs.field(factory=dict)
    notes: str | None = None


def parse_handshake(line: str) -> Handshake:
    """`listenspec-executor 1 {JSON}` -> Handshake; ValueError says what is wrong."""
    head, _, rest = line.strip().partition(" ")
    if head != GREETING:
        raise ValueError(f"expected a handshake starting {GREETING!r}, "
                         f"got {cut(repr(line.strip()))}")
    version, _, body = rest.partition(" ")
    if version != str(VERSION):
        raise ValueError(f"protocol version {cut(repr(version))} is not one this driver speaks "
                         f"({VERSION})")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the handshake's JSON does not parse: {exc}") from None
    except RecursionError:  # found by the fuzzer: "[" nested 100,000 deep
        raise ValueError("the handshake's JSON is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ValueError("the handshake's JSON is not an object")
    stack, calls = data.get("stack"), data.get("calls")
    if not isinstance(stack, str) or not stack:
        raise ValueError('the handshake lacks "stack" (a description of the stack)')
    if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
        raise ValueError('the handshake lacks "calls" (a list of call names)')
    observes = data.get("observes") or {}
    if not isinstance(observes, dict) or not all(
        isinstance(v, str | None) for v in observes.values()
    ):
        raise ValueError('the handshake\'s "observes" is not an object of strings or nulls')
    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ValueError('the handshake\'s "notes" is not a string')
    return Handshake(stack, frozenset(calls), dict(observes), notes)


def decode_line(line: bytes) -> str:
    """An executor's line as the driver reads it: UTF-8 (a bad byte becomes U+FFFD), without
    its newline or a CR before it."""
    return line.decode("utf-8", "replace").rstrip("\r")


def line_limit(step: Step) -> float:
    """Seconds the driver waits for the answer to this line."""
    sleeps = sum(float(a) for a in step.call.args if isinstance(a, Decimal))
    return LINE_LIMIT + (sleeps if step.call.name == "sleep" else 0.0)


class _Process:
    """One executor process: a line out, a line in, every wait bounded, killed as a group."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        try:
            # A session of its own: Ctrl-C at the terminal reaches the driver, which then kills
            # the executor's whole group (its children included) itself.
            self.popen = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                start_new_session=True, env=None if env is None else {**os.environ, **env},
            )
        except OSError as exc:
            raise ListenspecError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self._in = self.popen.stdin.fileno()
        self._out = self.popen.stdout.fileno()
        os.set_blocking(self._in, False)
        self._buf = bytearray()

    def send(self, text: str, limit: float) -> None:
        data = memoryview((text + "\n").encode())
        deadline = time.monotonic() + limit
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Stopped(f"the executor did not read its input within {limit:g} s")
            _, ready, _ = select.select([], [self._in], [], remaining)
            if not ready:
                continue
            try:
                data = data[os.write(self._in, data) :]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise Stopped(self._ended()) from None

    def receive(self, limit: float) -> str:
        deadline = time.monotonic() + limit
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Stopped(f"no answer within {limit:g} s")
            ready, _, _ = select.select([self._out], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                raise Stopped(self._ended())
            self._buf += chunk
            if len(self._buf) > MAX_LINE and b"\n" not in self._buf:
                raise Stopped(f"the executor wrote a line of over {MAX_LINE} bytes")
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        return decode_line(line)

    def ask(self, text: str, limit: float) -> str:
        self.send(text, limit)
        return self.receive(limit)

    def _ended(self) -> str:
        try:
            code = self.popen.wait(timeout=EXIT_WAIT)
        except subprocess.TimeoutExpired:
            return "the executor closed its output"
        if code < 0:
            return f"the executor was killed by {signal.Signals(-code).name}"
        return f"the executor exited with status {code}"

    def quit(self) -> None:
        """Ask the executor to exit (`%quit`, then EOF); kill it if it does not."""
        with contextlib.suppress(OSError, Stopped):
            self.send("%quit", EXIT_WAIT)
        self.kill(grace=EXIT_WAIT)

    def kill(self, grace: float = 0.0) -> None:
        """End the executor and anything it left in its process group, then reap it."""
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        deadline = time.monotonic() + grace
        # Wait for the leader without reaping it (WNOWAIT): until it is reaped its pid, which
        # is the group's id, cannot be reused, so the killpg below reaches only our processes.
        while time.monotonic() < deadline and not self._exited():
            time.sleep(0.005)
        if not self._exited():
            # SIGTERM first, which an executor can act on (the C executor ends a hung script
            # and removes its AF_UNIX directory); SIGKILL the group after TERM_WAIT
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.popen.pid, signal.SIGTERM)
            deadline = time.monotonic() + TERM_WAIT
            while time.monotonic() < deadline and not self._exited():
                time.sleep(0.005)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=EXIT_WAIT)

    def _exited(self) -> bool:
        if self.popen.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None


class ProtocolTarget:
    """`exec:CMD`: a program speaking the executor protocol, started on first use."""

    def __init__(self, argv: Sequence[str], *, name: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.argv = tuple(argv)
        self.env = dict(env) if env is not None else None  # added to the driver's environment
        self.name = name or "exec:" + " ".join(argv)
        self.notes: list[str] = []  # what `%reset` answers said (`%ok NOTE`)
        self._proc: _Process | None = None
        self._handshake: Handshake | None = None

    # ------------------------------------------------------------------ lifecycle

    def handshake(self) -> Handshake:
        self._started()
        assert self._handshake is not None
        return self._handshake

    def _started(self) -> _Process:
        if self._proc is not None:
            return self._proc
        proc = _Process(self.argv, self.env)
        try:
            line = proc.receive(START_LIMIT)
            self._handshake = parse_handshake(line)
        except (Stopped, ValueError) as exc:
            proc.kill()
            raise ListenspecError(f"{self.name}: no executor handshake: {exc}") from None
        except BaseException:
            proc.kill()
            raise
        self._proc = proc
        return proc

    def _discard(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    def close(self) -> None:
        if self._proc is not None:
            self._proc.quit()
            self._proc = None

    def __enter__(self) -> ProtocolTarget:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def late(self) -> Late | None:
        return None  # the executor protocol carries no timings (docs/protocol.md)

    def describe(self) -> str:
        hs = self.handshake()
        return hs.stack + (f"; {hs.notes}" if hs.notes else "")

    # ------------------------------------------------------------------ running

    def run(self, script: Script) -> list[Result]:
        results: list[Result] = []
        try:
            proc = self._started()
            assert self._handshake is not None
            calls = self._handshake.calls
            for i, step in enumerate(script.steps):
                if step.call.name not in calls:
                    results.append(Unsupported(
                        f"{step.call.name}() is not performed by this executor "
                        "(its handshake does not list it)"))
                    if step.bind is not None:  # the NAME now stands for no descriptor
                        self._control(proc, f"%unbind {step.bind}")
                    continue
                try:
                    results.append(read_result(proc.ask(step.text, line_limit(step))))
                except Stopped as exc:
                    results.append(Unsupported(f"stopped: {exc}"))
                    results += [Unsupported("not run: an earlier step stopped the executor")
                                for _ in script.steps[i + 1 :]]
                    self._discard()
                    return results
            self._control(proc, "%reset")
        except Stopped as exc:
            # A control line failed; the script's results stand, the executor does not.
            self.notes.append(f"executor discarded: {exc}")
            self._discard()
            results += [Unsupported("not run: the executor stopped")
                        for _ in script.steps[len(results) :]]
        except BaseException:
            self._discard()  # Ctrl-C, or a bug: leave nothing running
            raise
        return results

    def _control(self, proc: _Process, line: str) -> None:
        answer = proc.ask(line, CONTROL_LIMIT)
        if answer == "%ok" or answer.startswith("%ok "):
            note = answer[4:].strip()
            if note:
                self.notes.append(note)
            return
        raise Stopped(f"the executor answered {line!r} with {answer!r}, not '%ok'")


def read_result(answer: str) -> Result:
    """One result line of an executor; Stopped says why it is not one."""
    def err(message: str, col: int) -> ListenspecError:
        return ListenspecError(f"{message} (column {col})")

    try:
        return parse_result(answer, err)
    except ListenspecError as exc:
        raise Stopped(f"the executor answered {cut(repr(answer))}, which is not a result: "
                      f"{cut(str(exc))}") from None
