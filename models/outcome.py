"""What a transition returns, and the small helpers every transition module shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from .state import Host, Listener, Socket, evolve
from .tables import Ctx
from .values import Err, Value


@attrs.frozen
class Outcome:
    state: Host
    result: Value
    refused: bool = False  # a guard refused the call; `state` is the state it was given
    fd: int | None = None  # the new descriptor, when `result` is NewFd
    # the other ways the system may have answered (e.g. which SO_REUSEPORT listener a
    # connection reached): a checker accepts a trace that any of them explains
    alternatives: tuple[Outcome, ...] = ()

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """This outcome and its alternatives, this one first."""
        return (evolve(self, alternatives=()), *self.alternatives)


def with_alternatives(outs: list[Outcome]) -> Outcome:
    """The first outcome, with the others (different from it and each other) as alternatives."""
    first, seen = outs[0], [outs[0]]
    for o in outs[1:]:
        if o not in seen:
            seen.append(o)
    return evolve(first, alternatives=tuple(seen[1:])) if len(seen) > 1 else first


def refuse(h: Host, errno: str) -> Outcome:
    """A guard refused the call: the very state it was given, and the errno."""
    return Outcome(h, Err(errno), refused=True)


def put(h: Host, sock: Socket) -> Host:
    return evolve(h, socks=h.socks.set(sock.sid, sock))


def with_listener(h: Host, sock: Socket, lst: Listener) -> Host:
    return put(h, evolve(sock, listener=lst))


def sock_of(c: Ctx) -> Socket:
    """The socket of a resolved descriptor that the guards already let through."""
    assert c.sock is not None
    return c.sock


F = TypeVar("F", bound=Callable[..., Any])

#: call name -> the transition that performs it, filled by @transition (host.py checks that
#: every call listenspec/calls.py declares has exactly one)
TRANSITIONS: dict[str, Callable[..., Outcome]] = {}


def transition(fn: F) -> F:
    """Register fn as the transition of the call it is named after (`open_` is open())."""
    name = fn.__name__.rstrip("_")
    assert name not in TRANSITIONS, f"two transitions for {name}()"
    TRANSITIONS[name] = fn
    return fn
