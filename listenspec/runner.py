"""The model executor: runs a parsed script under a profile and yields its trace.

The runner owns only the script's names: it maps each NAME to the descriptor (and socket) it was
bound to, passes a descriptor that is certainly not open for a NAME whose descriptor was closed,
and remembers the address each named socket had so connect()/syn() can aim at it after a close.
All semantics live in listenspec.models.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from .models import host
from .models.host import Outcome, Target
from .models.profiles import Profile
from .models.state import FILE, Host
from .results import Result
from .script import Call, Const, Name, Null, Script, Step, to_bytes

NOT_OPEN = -1  # a descriptor number no state ever holds


@attrs.define
class Binding:
    fd: int | None  # None: the call that bound the name failed
    sid: int | None
    target: Target = attrs.field(factory=lambda: Target(None, None, None))


@attrs.frozen
class Executed:
    step: Step
    result: Result
    outcome: Outcome


@attrs.frozen
class Traced:
    """A step and its result: all a trace needs. Not an Executed, whose outcome holds the whole
    host state after the step: keeping one per step made memory grow with steps x sockets."""

    step: Step
    result: Result


class ModelRun:
    """One run of the model: a state and the script's names, advanced one step at a time."""

    def __init__(self, profile: Profile, state: Host | None = None) -> None:
        self.profile = profile
        self.state = state if state is not None else host.initial(profile)
        self.names: dict[str, Binding] = {}

    # -- resolving arguments
    def _fd(self, arg: Any) -> int:
        if isinstance(arg, Name):
            b = self.names[arg.name]
            if b.fd is None or self.state.fds.get(b.fd) != b.sid:
                return NOT_OPEN
            return b.fd
        assert isinstance(arg, int)
        return arg

    def _target(self, arg: Any) -> Target:
        if isinstance(arg, Name):
            b = self.names[arg.name]
            self._refresh(b)
            fd = self._fd(arg)
            if b.target.domain is None:  # the name never stood for a socket
                return Target(None, None, None, "ENOTSOCK" if fd != NOT_OPEN else "EBADF")
            if fd == NOT_OPEN and b.target.addr is None:  # closed, and it never had an address
                return Target(None, None, None, "EBADF")
            return b.target
        sid = self.state.fds.get(arg)
        if sid is None:
            return Target(None, None, None, "EBADF")
        if sid == FILE:
            return Target(None, None, None, "ENOTSOCK")
        sock = self.state.socks[sid]
        return Target(sock.addr, sock.domain, sock.type)

    def _refresh(self, b: Binding) -> None:
        # A NAME stands for the last address its socket had: one the socket gives up (a
        # refused or reset connect on Linux) is still where connect()/syn() would aim.
        sock = self.state.socks.get(b.sid) if b.sid is not None else None
        if sock is not None:
            addr = sock.addr if sock.addr is not None else b.target.addr
            b.target = Target(addr, sock.domain, sock.type)

    def arguments(self, call: Call) -> tuple[Any, ...]:
        a = call.args
        n = call.name
        if n == "socket":
            return (_const(a[0]), _const(a[1]))
        if n in ("bind", "accept", "close", "netstat"):
            return (self._fd(a[0]),)
        if n == "listen":
            return (self._fd(a[0]), a[1])
        if n == "connect":
            return (self._fd(a[0]), self._target(a[1]))
        if n == "syn":
            return (self._target(a[0]),)
        if n == "send":
            assert isinstance(a[1], str)
            return (self._fd(a[0]), to_bytes(a[1]))
        if n == "setsockopt":
            value = None if isinstance(a[2], Null) else a[2]
            return (self._fd(a[0]), _const(a[1]), value)
        if n == "getsockopt":
            return (self._fd(a[0]), _const(a[1]))
        if n == "sysctl":
            return (a[0], a[1] if len(a) > 1 else None)
        if n == "sleep":
            assert isinstance(a[0], Decimal)
            return (a[0],)
        if n == "counter":
            return (a[0],)
        return ()  # open, syslog

    # -- stepping
    def step(self, step: Step) -> Executed:
        call = step.call
        for arg in call.args:  # remember addresses before the call can close a socket
            if isinstance(arg, Name):
                self._refresh(self.names[arg.name])
        outcome = host.apply(self.profile, self.state, call.name, *self.arguments(call))
        self.state = outcome.state
        if step.bind is not None:
            sid = self.state.fds.get(outcome.fd) if outcome.fd is not None else None
            b = Binding(outcome.fd, sid)
            self._refresh(b)
            self.names[step.bind] = b
        for arg in call.args:
            if isinstance(arg, Name):
                self._refresh(self.names[arg.name])
        return Executed(step, outcome.result, outcome)

    def skip(self, step: Step) -> None:
        """Pass over a step that was not performed: a NAME it binds stands for no descriptor."""
        if step.bind is not None:
            self.names[step.bind] = Binding(None, None)

    def run(self, script: Script) -> Iterator[Executed]:
        for step in script.steps:
            yield self.step(step)


def _const(arg: Any) -> str:
    assert isinstance(arg, Const)
    return arg.name


def run_model(script: Script, profile: Profile) -> list[Traced]:
    run = ModelRun(profile)
    return [Traced(e.step, e.result) for e in map(run.step, script.steps)]
