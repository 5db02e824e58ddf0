"""The model executor: runs a parsed script under a profile and yields its trace.

The runner owns only the script's names: it maps each NAME to the descriptor (and socket) it was
bound to, passes a descriptor that is certainly not open for a NAME whose descriptor was closed,
and remembers the address each named socket had so connect()/syn() can aim at it after a close.
All semantics live in listenspec.models.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import attrs

from .calls import KINDS, spec
from .literals import to_bytes
from .models import host
from .models.host import Outcome, Target
from .models.profiles import Profile
from .models.state import FILE, Host, Socket, SockState
from .results import Result
from .script import Call, Const, Name, Null, Script, Step

NOT_OPEN = -1  # a descriptor number no state ever holds


@attrs.frozen
class Binding:
    fd: int | None  # None: the call that bound the name failed
    sid: int | None
    target: Target = attrs.field(factory=lambda: Target(None, None, None))
    #: the socket object `target` was last refreshed from: states are immutable, so the same
    #: object gives the same target again (a checker refreshes every name at every step)
    seen: Socket | None = None


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
            self._refresh(arg.name)
            b = self.names[arg.name]
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
        return _target_of(self.state.socks[sid])

    def _refresh(self, name: str) -> None:
        # A NAME stands for the last address its socket had: one the socket gives up (a
        # refused or reset connect on Linux) is still where connect()/syn() would aim.
        b = self.names[name]
        sock = self.state.socks.get(b.sid) if b.sid is not None else None
        if sock is not None and sock is not b.seen:
            target = _target_of(sock) if sock.addr is not None else attrs.evolve(
                b.target, domain=sock.domain, type=sock.type)
            # a new Binding, not a changed one: forks of this run share the old
            self.names[name] = Binding(b.fd, b.sid, target, sock)

    def arguments(self, call: Call) -> tuple[Any, ...]:
        """The model's arguments for a script call, by the kinds calls.py declares: one per
        parameter of the call's longest form (None where a shorter form leaves it out)."""
        args = call.args
        return tuple(self.convert(form, args[i]) if i < len(args) else None
                     for i, form in enumerate(model_forms(call.name)))

    def convert(self, form: str, arg: Any) -> Any:
        """One script argument as the model takes it (calls.ModelForm)."""
        if form == "fd":
            return self._fd(arg)
        if form == "target":
            return self._target(arg)
        if form == "name":
            return _const(arg)
        if form == "bytes":
            assert isinstance(arg, str)
            return to_bytes(arg)
        if form == "optval":
            if isinstance(arg, Null):
                return None
            return to_bytes(arg) if isinstance(arg, str) else arg
        return arg  # int, decimal, str: as written

    # -- stepping
    def step(self, step: Step) -> Executed:
        """Perform one step (where the system may answer several ways: the first way)."""
        return self.take(step, self._outcome(step))

    def branches(self, step: Step,
                 outcome: Outcome | None = None) -> list[tuple[Executed, ModelRun]]:
        """Every way the system may answer this step, each with the run it leads to (the first
        is what `step` takes). A checker follows all of them. `outcome`: the model's outcome
        of the step in this run's state, where the caller has it already."""
        if outcome is None:
            outcome = self._outcome(step)
        if not outcome.alternatives:
            return [(self.take(step, outcome), self)]
        out = []
        for o in outcome.outcomes:
            fork = self.fork()
            out.append((fork.take(step, o), fork))
        return out

    def fork(self) -> ModelRun:
        """An independent copy of this run (the state is immutable; the names are copied)."""
        twin = ModelRun(self.profile, self.state)
        twin.names = dict(self.names)  # Bindings are frozen: shared until one is refreshed
        return twin

    def resolve(self, step: Step) -> tuple[Any, ...]:
        """The model's arguments for a step in this run (`arguments`), its names' addresses
        remembered first, before the call can close a socket."""
        call = step.call
        for arg in call.args:
            if isinstance(arg, Name):
                self._refresh(arg.name)
        return self.arguments(call)

    def _outcome(self, step: Step) -> Outcome:
        return host.apply(self.profile, self.state, step.call.name, *self.resolve(step))

    def take(self, step: Step, outcome: Outcome) -> Executed:
        """Move to an outcome of the step (one the model gives in this run's state)."""
        call = step.call
        self.state = outcome.state
        if step.bind is not None:
            sid = self.state.fds.get(outcome.fd) if outcome.fd is not None else None
            self.names[step.bind] = Binding(outcome.fd, sid)
            self._refresh(step.bind)
        for arg in call.args:
            if isinstance(arg, Name):
                self._refresh(arg.name)
        return Executed(step, outcome.result, outcome)

    def skip(self, step: Step) -> None:
        """Pass over a step that was not performed: a NAME it binds stands for no descriptor."""
        if step.bind is not None:
            self.names[step.bind] = Binding(None, None)

    def run(self, script: Script) -> Iterator[Executed]:
        for step in script.steps:
            yield self.step(step)


@functools.cache
def model_forms(call: str) -> tuple[str, ...]:
    """How the model takes each parameter of a call (calls.ModelForm), by its declaration: a
    checker converts every line's arguments in every way of reading the trace."""
    return tuple(KINDS[prm.kind].model for prm in spec(call).params)


def _const(arg: Any) -> str:
    assert isinstance(arg, Const)
    return arg.name


def run_model(script: Script, profile: Profile) -> list[Traced]:
    run = ModelRun(profile)
    return [Traced(e.step, e.result) for e in map(run.step, script.steps)]


def _target_of(sock: Socket) -> Target:
    implicit = sock.addr is not None and sock.wildcard
    # a datagram connect binds a port on the wildcard address, then takes the route's source
    connected_dgram = sock.type == "SOCK_DGRAM" and sock.state is SockState.CONNECTED
    return Target(sock.addr, sock.domain, sock.type,
                  short=sock.domain == "AF_UNIX" and implicit,
                  anywhere=sock.domain != "AF_UNIX" and implicit and not connected_dgram)
