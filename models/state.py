"""The state of one host, as frozen attrs values. Transitions (host.py) return new states.

Nothing here does I/O or reads a clock: time is the `clock` field, advanced only by sleep().
Containers are tuples and `FMap`s so every state is immutable and hashable (the explorer
deduplicates states by hash).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, Generic, TypeVar, overload

import attrs

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class FMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping; `set`/`remove` return a new map (copy on write)."""

    __slots__ = ("_d", "_h")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._d: dict[K, V] = dict(items) if items else {}
        self._h: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._d[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    # The generic Mapping versions go through __getitem__ and exceptions; these are hot.
    def __contains__(self, key: object) -> bool:
        return key in self._d

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        return self._d.get(key, default)

    def keys(self) -> KeysView[K]:
        return self._d.keys()

    def values(self) -> ValuesView[V]:
        return self._d.values()

    def items(self) -> ItemsView[K, V]:
        return self._d.items()

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FMap):
            return self._d == other._d
        return NotImplemented

    def __repr__(self) -> str:
        return f"FMap({self._d!r})"

    def set(self, key: K, value: V) -> FMap[K, V]:
        d = dict(self._d)
        d[key] = value
        return FMap(d)

    def remove(self, key: K) -> FMap[K, V]:
        d = dict(self._d)
        del d[key]
        return FMap(d)


class SockState(enum.Enum):
    """Where a socket is in its life; the transition table (tables.py) moves between these."""

    FRESH = "fresh"  # created, no local address
    BOUND = "bound"  # has a local address
    LISTENING = "listening"
    CONNECTING = "connecting"  # a handshake in flight; never seen between steps (see tables.py)
    CONNECTED = "connected"  # a client whose handshake completed, or an accepted socket
    DISCONNECTED = "disconnected"  # was connected; reset by the peer
    CLOSED = "closed"  # its descriptor was closed


FILE = -1  # the socket id a non-socket descriptor maps to

#: sk_shutdown bits, as Linux keeps them (and FreeBSD's SBS_CANTRCVMORE / SBS_CANTSENDMORE)
RCV, SND = 1, 2
BOTH = RCV | SND
#: what holds an address once its socket closed (a TCP active close: FIN_WAIT / TIME_WAIT)
ORPHAN = 0


@attrs.frozen
class HalfOpen:
    """A half-open connection: a syncache entry, a Linux request sock or a 4.4BSD q0 socket."""

    stamp: int  # drawn from next_id: tells entries apart
    born: int  # the clock when its SYN arrived (microseconds)
    ticks: int = 0  # retransmission timer firings so far (Linux num_timeout, FreeBSD sc_rxmits)


@attrs.frozen
class Pending:
    """A connection that reached a listener and waits in one of its queues."""

    conn: int  # unique, increasing: the arrival order
    client: int  # socket id of the client end
    data: bytes = b""  # what the client sent so far (what accept filters inspect)
    records: tuple[bytes, ...] = ()  # the same, one entry per send (SOCK_SEQPACKET keeps them)
    eof: bool = False  # the client closed its end (FIN)
    # What holds it in the incomplete queue: the accept filter whose upcall it is parked on
    # (a FreeBSD TCP child is soisconnected() at ESTABLISHED, which clears its SO_ACCEPTFILTER
    # flag and parks it, so removing the filter does not move it), "defer" (Linux
    # TCP_DEFER_ACCEPT), or None: it still carries SO_ACCEPTFILTER (an AF_UNIX child).
    upcall: str | None = None
    reset: bool = False  # the client reset the connection (RST) before accept()
    born: int = 0  # the clock when it was queued (the deferral's timer counts from here)
    ticks: int = 0  # Linux: SYN-ACK timer firings of a deferred connection's request sock


@attrs.frozen
class Listener:
    qlimit: int  # the effective backlog
    comp: tuple[Pending, ...] = ()  # completed queue, oldest first
    incomp: tuple[Pending, ...] = ()  # accept-filter (or deferred) queue, oldest first
    half_open: tuple[HalfOpen, ...] = ()  # half-open peers, oldest first
    accept_filter: str | None = None
    overcount: int = 0  # overflows since the last logged message
    lastover: int | None = None  # clock of the last logged overflow; None: never
    synflood_warned: bool = False  # Linux: the one "Possible SYN flooding" line was logged
    refusing: bool = False  # Linux AF_UNIX: shut for reading; new connects are refused


@attrs.frozen
class Socket:
    sid: int
    domain: str  # AF_INET, AF_INET6, AF_UNIX
    type: str  # SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM
    state: SockState = SockState.FRESH
    addr: int | None = None  # local address id
    wildcard: bool = False  # the address was taken implicitly, on the wildcard address
    listener: Listener | None = None
    # For a client: the listener its connection is queued on, until accepted; then None.
    queued_on: int | None = None
    peer: int | None = None  # socket id of the connected other end, once accepted
    error: str | None = None  # pending so_error
    defer_accept: int = 0  # Linux TCP_DEFER_ACCEPT, in SYN-ACK retransmissions
    # Linux (profile.sticky_connecting): a settled non-blocking TCP connect leaves sock->state
    # at SS_CONNECTING until the next connect() call, which returns 0 after a success ("ok")
    # or ECONNABORTED after a refusal ("failed"); listen() fails meanwhile.
    connect_pending: str | None = None
    # a connect() of this TCP socket sent a SYN (profile.listen_once_connected: Linux 6.18 never
    # lets such a socket listen again)
    sent_syn: bool = False
    rcv: tuple[bytes, ...] = ()  # received and not yet read, one entry per send (a record)
    shut: int = 0  # sk_shutdown: RCV (no more to read), SND (no more to send)
    fin: bool = False  # TCP: the peer's FIN arrived (SOCK_DONE): recv gives 0 once data is read
    fin_first: bool = False  # TCP: it sent its FIN before the peer's came (the active closer)
    peer_gone: bool = False  # the other end's socket is closed: TCP data sent to it draws an RST
    linger: int | None = None  # SO_LINGER's l_linger, when l_onoff is set
    reuseport: bool = False  # SO_REUSEPORT
    reuseport_lb: bool = False  # FreeBSD SO_REUSEPORT_LB


@attrs.frozen
class Host:
    # descriptor -> socket id (FILE for a non-socket)
    fds: FMap[int, int] = attrs.field(factory=FMap)
    socks: FMap[int, Socket] = attrs.field(factory=FMap)  # open sockets by id
    # bound address id -> the sockets holding it, in the order they bound (more than one only
    # where SO_REUSEPORT lets them share it)
    addrs: FMap[int, tuple[int, ...]] = attrs.field(factory=FMap)
    sysctl: FMap[str, int] = attrs.field(factory=FMap)  # by key (see profiles.Sysctl.key)
    counters: FMap[str, int] = attrs.field(factory=FMap)
    clock: int = 0  # microseconds since boot
    log: tuple[str, ...] = ()  # kernel log lines not yet read by syslog()
    next_id: int = 1  # socket ids, address ids and connection ids are drawn from here


@attrs.frozen
class Target:
    """Where connect()/syn() go: the address the named socket is (or was) bound to.

    `errno` is set when the argument never named a socket, so there is no address to aim at:
    EBADF (never open) or ENOTSOCK (a file) — what getsockname(2) answers for it.
    """

    addr: int | None
    domain: str | None
    type: str | None
    errno: str | None = None
    # an autobound AF_UNIX name (5 hex digits on Linux): shorter than a sockaddr_in, so it
    # reads to connect() of another family like an unbound socket's family-only address
    short: bool = False


# --------------------------------------------------------------------------- evolve


def _evolver(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """attrs.evolve for one class, as straight-line code: the same new instance (every field
    is an __init__ argument of the same name, with no converter or validator: checked here)."""
    fields = attrs.fields(cls)
    assert all(f.init and f.converter is None and f.validator is None and f.alias == f.name
               for f in fields), f"{cls.__name__}: evolve() would differ from attrs.evolve()"
    names = frozenset(f.name for f in fields)
    args = ", ".join(f"c[{f.name!r}] if {f.name!r} in c else inst.{f.name}" for f in fields)
    src = (f"def evolve(inst, c):\n"
           f"    if not c.keys() <= names:\n"
           f"        raise TypeError(f'{{sorted(c.keys() - names)}} are not fields of "
           f"{cls.__name__}')\n"
           f"    return cls({args})\n")
    ns: dict[str, Any] = {"cls": cls, "names": names}
    exec(src, ns)
    return ns["evolve"]  # type: ignore[no-any-return]


_EVOLVERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {
    cls: _evolver(cls) for cls in (Host, Socket, Listener, Pending, HalfOpen)
}


def evolve(inst: T, **changes: Any) -> T:
    """`attrs.evolve(inst, **changes)` for the state's classes (transitions make millions of
    these; attrs.evolve walks the class's fields on every call)."""
    ev = _EVOLVERS.get(type(inst))
    if ev is None:
        return attrs.evolve(inst, **changes)  # type: ignore[misc]
    return ev(inst, changes)  # type: ignore[no-any-return]
