"""The calls of the script format, each declared once: its name, the forms its arguments take,
what it means, what it returns, and how the explorer tries it.

Everything else is derived from these declarations: the parser's argument shapes and which
calls may be bound to a NAME (script.py), how the runner hands arguments to the model
(runner.py), the model's transition table (models/host.py checks it has one transition per
call), the kernel executor's dispatch (one method per call), the explorer's alphabet, the
Hypothesis machines' and the conformance generator's fallback rules, and the docs' call table.
Adding a call means a declaration here, its model transition and its executor method.

This module is data only: it imports nothing of the model or the format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import attrs

if TYPE_CHECKING:
    from .models.profiles import Profile

# --------------------------------------------------------------------------- constants

DOMAINS = ("AF_INET", "AF_INET6", "AF_UNIX")
TYPES = ("SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM")
SOCKOPTS = (
    "SO_ACCEPTCONN",
    "SO_ACCEPTFILTER",
    "SO_LISTENQLIMIT",
    "SO_LISTENQLEN",
    "SO_LISTENINCQLEN",
    "SO_ERROR",
    "TCP_DEFER_ACCEPT",
    "SO_REUSEPORT",
    "SO_REUSEPORT_LB",
    "SO_LINGER",
)
HOWS = ("SHUT_RD", "SHUT_WR", "SHUT_RDWR")

# --------------------------------------------------------------------------- argument kinds

#: How an argument is written: a descriptor (a NAME or a non-negative int), a C int, a
#: non-negative decimal, a string literal, a symbolic constant of a group, or an option value
#: (an int, a string or NULL).
Syntax = Literal["desc", "int", "num", "str", "const", "optval"]
#: What the model receives for it: a descriptor number, the Target a descriptor's socket is (or
#: was) bound to, an int, a Decimal, the bytes of a string, the string itself, a constant's
#: name, or an option value (int, bytes or None).
ModelForm = Literal["fd", "target", "int", "decimal", "bytes", "str", "name", "optval"]


@attrs.frozen
class Kind:
    label: str  # how the docs write a placeholder for it
    syntax: Syntax
    model: ModelForm
    group: tuple[str, ...] = ()  # the constants a `const` kind takes
    words: str = ""  # what it is, for the docs


KINDS: dict[str, Kind] = {
    "desc": Kind("S", "desc", "fd", words="a descriptor: a NAME or a raw number"),
    "target": Kind("S", "desc", "target",
                   words="the address the socket a descriptor names is (or was) bound to"),
    "backlog": Kind("BACKLOG", "int", "int", words="a C int, passed unchanged"),
    "value": Kind("VALUE", "int", "int", words="a C int"),
    "seconds": Kind("SECONDS", "num", "decimal", words="a non-negative decimal"),
    "data": Kind('"BYTES"', "str", "bytes", words="a string literal: the bytes sent"),
    "sysctl": Kind('"NAME"', "str", "str", words="a sysctl name"),
    "counter": Kind('"NAME"', "str", "str", words="a statistics counter's name"),
    "domain": Kind("DOMAIN", "const", "name", DOMAINS),
    "type": Kind("TYPE", "const", "name", TYPES),
    "opt": Kind("OPT", "const", "name", SOCKOPTS),
    "how": Kind("HOW", "const", "name", HOWS),
    "optval": Kind("VALUE", "optval", "optval", words="an int, a string literal or NULL"),
}


@attrs.frozen
class Param:
    label: str  # e.g. S, C, BACKLOG: the name the format's call table uses
    kind: str  # a key of KINDS


# ------------------------------------------------------------------------- the explorer's alphabet


class Knobs(Protocol):
    """What an explorer's alphabet is bounded by (listenspec.explore.Alphabet is one)."""

    @property
    def profile(self) -> Profile: ...
    @property
    def max_backlog(self) -> int: ...
    @property
    def max_limit(self) -> int: ...
    @property
    def domains(self) -> tuple[str, ...]: ...
    @property
    def reads(self) -> bool: ...


Sample = tuple[object, ...]
#: the non-descriptor arguments the explorer tries for each of a call's descriptor assignments
#: (script values: a constant's name, an int, a str; None is NULL)
Samples = Callable[[Knobs], Sequence[Sample]]
NULL = None


def _once(a: Knobs) -> Sequence[Sample]:
    return [()]


def _reads_only(a: Knobs) -> Sequence[Sample]:
    return [()] if a.reads else []


def limit_sysctl(p: Profile) -> tuple[str, int] | None:
    """The first (visible) sysctl that sets the hard limit, and the least value to try."""
    for s in p.sysctls:
        if s.key == "limit" and not s.hidden:
            return s.name, max(s.lo, 0)
    return None


def _sysctl_samples(a: Knobs) -> Sequence[Sample]:
    lim = limit_sysctl(a.profile)
    return [] if lim is None else [(lim[0], m) for m in range(lim[1], a.max_limit + 1)]


def _setsockopt_samples(a: Knobs) -> Sequence[Sample]:
    out: list[Sample] = []
    if a.profile.accept_filters:
        out += [("SO_ACCEPTFILTER", "dataready"), ("SO_ACCEPTFILTER", NULL)]
    if a.profile.tcp_defer_accept:
        out.append(("TCP_DEFER_ACCEPT", 1))
    return out


def _getsockopt_samples(a: Knobs) -> Sequence[Sample]:
    # SO_ERROR clears the pending error, so it changes the state; the others are reads
    reads = ("SO_ACCEPTCONN", "SO_LISTENQLIMIT", "SO_LISTENQLEN", "SO_LISTENINCQLEN")
    return [("SO_ERROR",), *((o,) for o in reads if a.reads)]


def _logging(a: Knobs) -> bool:
    return bool(a.profile.overflow_log)


# --------------------------------------------------------------------------- the calls


Result = Literal["int", "fd", "queue", "str", "errname", "lines", "events", "bytes"]


@attrs.frozen
class CallSpec:
    name: str
    forms: tuple[tuple[Param, ...], ...]  # the accepted argument lists (by arity)
    meaning: str
    result: Result  # what a success returns (any call may fail with an errno)
    explore: Samples | None = None
    new_fd: bool = False  # returns a new descriptor, so `NAME = call(...)` may bind it
    reads: bool = False  # a pure read: never changes the state

    @property
    def params(self) -> tuple[Param, ...]:
        """The longest form's parameters: the model transition's arguments, in order (a
        shorter form passes None for the ones it leaves out)."""
        return max(self.forms, key=len)


def _f(*params: tuple[str, str]) -> tuple[Param, ...]:
    return tuple(Param(label, kind) for label, kind in params)


S = ("S", "desc")

#: every declared call, in the order the format's table lists them, and by name. Extend the
#: format with `declare()` (its tests do, to show a new call reaches every consumer).
CALLS: list[CallSpec] = []
BY_NAME: dict[str, CallSpec] = {}


def declare(*specs: CallSpec) -> None:
    for c in specs:
        if c.name in BY_NAME:
            raise ValueError(f"{c.name}() is declared twice")
        CALLS.append(c)
        BY_NAME[c.name] = c


def undeclare(name: str) -> None:
    """Take a call back out (for tests that declare one)."""
    CALLS.remove(BY_NAME.pop(name))


declare(
    CallSpec("socket", (_f(("DOMAIN", "domain"), ("TYPE", "type")),),
             "a new non-blocking socket", "fd",
             explore=lambda a: [(d, "SOCK_STREAM") for d in a.domains], new_fd=True),
    CallSpec("bind", (_f(S), _f(S, ("T", "target"))),
             "bind to a fresh loopback address (or a fresh AF_UNIX name); with T, to the "
             "address T's socket is (or was) bound to (with SO_REUSEPORT, a shared port)",
             "int", explore=_once),
    CallSpec("listen", (_f(S, ("BACKLOG", "backlog")),),
             "listen(2), the backlog passed unchanged", "int",
             explore=lambda a: [(b,) for b in range(-1, a.max_backlog + 1)]),
    CallSpec("connect", (_f(("C", "desc"), ("S", "target")),),
             "connect to the address S is bound to and wait until the outcome settles", "int",
             explore=_once),
    CallSpec("syn", (_f(("S", "target")),),
             "a peer sends one SYN and never completes the handshake", "int", explore=_once),
    CallSpec("accept", (_f(S),), "accept(2) on a non-blocking socket", "fd", explore=_once,
             new_fd=True),
    CallSpec("send", (_f(("C", "desc"), ("BYTES", "data")),),
             "send bytes to the peer (what accept filters look at)", "int",
             explore=lambda a: [("x",)]),
    CallSpec("close", (_f(("X", "desc")),), "close(2)", "int", explore=_once),
    CallSpec("recv", (_f(S),),
             "recv(2) on a non-blocking socket: the bytes waiting (a string), 0 at EOF, or "
             "the errno", "bytes", explore=_once),
    CallSpec("shutdown", (_f(S, ("HOW", "how")),), "shutdown(2)", "int",
             explore=lambda a: [("SHUT_RD",), ("SHUT_WR",)]),
    CallSpec("poll", (_f(S),),
             "the readiness poll(2) reports for events POLLIN|POLLPRI|POLLOUT|POLLRDHUP, "
             "as POLLIN|POLLOUT|... (0: none)", "events", explore=_reads_only, reads=True),
    CallSpec("open", ((),), "a descriptor that is not a socket", "fd", new_fd=True),
    CallSpec("setsockopt", (_f(S, ("OPT", "opt"), ("VALUE", "optval")),),
             "set an option (an accept filter, an integer option)", "int",
             explore=_setsockopt_samples),
    CallSpec("getsockopt", (_f(S, ("OPT", "opt")),), "read an option", "int",
             explore=_getsockopt_samples),
    CallSpec("sysctl", (_f(("NAME", "sysctl")), _f(("NAME", "sysctl"), ("VALUE", "value"))),
             "read, or write, a system limit", "int", explore=_sysctl_samples),
    CallSpec("netstat", (_f(S),),
             "the listen queue as completed/incomplete/limit (netstat -L)", "queue",
             explore=_reads_only, reads=True),
    CallSpec("sleep", (_f(("SECONDS", "seconds")),), "time passes", "int",
             explore=lambda a: [(a.profile.default("overinterval"),)] if _logging(a) else []),
    CallSpec("syslog", ((),), "the kernel log lines since the previous syslog()", "lines",
             explore=lambda a: [()] if _logging(a) else []),
    CallSpec("counter", (_f(("NAME", "counter")),), "a protocol statistics counter", "int",
             explore=lambda a: [(c,) for c in a.profile.counters] if a.reads else [],
             reads=True),
)


def spec(name: str) -> CallSpec:
    return BY_NAME[name]
