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


class _Absent:
    """What a key holds in a version that does not have it."""


_ABSENT = _Absent()


class _Store(Generic[K, V]):
    """The one dict that all the versions of an FMap family share, and what is derived from it.

    Exactly one version (the root) reads it directly; every other version is a _Diff away.
    """

    __slots__ = ("d", "gaps", "index", "shared")

    def __init__(self, d: dict[K, V]) -> None:
        self.d = d
        self.shared = False  # True once a _Diff refers to it: then `d` changes under readers
        self.gaps: dict[int, int] = {}  # start -> b: every int in [start, b) is a key
        self.index: dict[V, set[K]] | None = None  # value -> its keys, built when first asked

    def put(self, key: K, value: V | _Absent) -> V | _Absent:
        """Set `key` to `value` (remove it, for _ABSENT); return what it held."""
        d = self.d
        old = d.get(key, _ABSENT)
        if isinstance(value, _Absent):
            if isinstance(old, _Absent):
                return old
            del d[key]
            if self.gaps and isinstance(key, int):
                for start, bound in list(self.gaps.items()):
                    if start <= key < bound:
                        self.gaps[start] = key
        else:
            d[key] = value
        if self.index is not None:
            if not isinstance(old, _Absent):
                keys = self.index[old]
                keys.discard(key)
                if not keys:
                    del self.index[old]
            if not isinstance(value, _Absent):
                self.index.setdefault(value, set()).add(key)
        return old


class _Diff(Generic[K, V]):
    """A version that equals the version `to` with `key` set to `value` (or removed)."""

    __slots__ = ("key", "to", "value")

    def __init__(self, key: K, value: V | _Absent, to: FMap[K, V]) -> None:
        self.key, self.value, self.to = key, value, to


#: Maps up to this size are copied on write, as plain dicts: as fast as rerooting for them, and
#: their versions never share a dict (the explorer's states are all this small).
SMALL = 32


class FMap(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping; `set`/`remove` return a new map in O(1).

    Past SMALL keys, a persistent map by rerooting (Baker's trick, as in persistent arrays):
    the versions made from one another by set/remove share one dict, held by the version read
    last; any other version is a chain of one-key differences from it. Reading a version moves
    the dict to it, undoing and redoing the differences on the way, so a run that only steps
    forward (the runner) pays O(1) per set, and one that branches (the explorer) pays the
    distance between the versions it reads in turn. Copying on write made every step
    O(size of the map), O(steps x sockets) overall. Iterating a shared dict works on a copy, so
    reading another version of the family meanwhile cannot change what the iteration sees.
    """

    __slots__ = ("_h", "_len", "_node")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        store: _Store[K, V] = _Store(dict(items) if items else {})
        self._node: _Store[K, V] | _Diff[K, V] = store
        self._len = len(store.d)
        self._h: int | None = None

    def _store(self) -> _Store[K, V]:
        node = self._node
        return node if isinstance(node, _Store) else self._reroot()

    def _reroot(self) -> _Store[K, V]:
        path: list[FMap[K, V]] = []
        version: FMap[K, V] = self
        node = version._node
        while isinstance(node, _Diff):
            path.append(version)
            version = node.to
            node = version._node
        store = node
        for version in reversed(path):  # nearest the root first
            diff = version._node
            assert isinstance(diff, _Diff)
            old = store.put(diff.key, diff.value)
            diff.to._node = _Diff(diff.key, old, version)
            version._node = store
        return store

    def _view(self) -> dict[K, V]:
        """The contents, safe to iterate while other versions are read."""
        store = self._store()
        return store.d.copy() if store.shared else store.d

    def __getitem__(self, key: K) -> V:
        node = self._node  # _store(), inlined: these are the model's hottest calls
        return (node if isinstance(node, _Store) else self._reroot()).d[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._view())

    def __len__(self) -> int:
        return self._len

    # The generic Mapping versions go through __getitem__ and exceptions; these are hot.
    def __contains__(self, key: object) -> bool:
        node = self._node
        return key in (node if isinstance(node, _Store) else self._reroot()).d

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        node = self._node
        return (node if isinstance(node, _Store) else self._reroot()).d.get(key, default)

    def keys(self) -> KeysView[K]:
        return self._view().keys()

    def values(self) -> ValuesView[V]:
        return self._view().values()

    def items(self) -> ItemsView[K, V]:
        return self._view().items()

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._store().d.items()))
        return self._h

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FMap):
            return NotImplemented
        if self is other:
            return True
        if self._len != other._len:
            return False
        mine = self._store()
        theirs = other._store()
        if theirs is not mine:  # two families: both dicts are current
            return mine.d == theirs.d
        snapshot = dict(theirs.d)  # one family: one dict, so one version at a time
        return self._store().d == snapshot

    def __repr__(self) -> str:
        return f"FMap({self._store().d!r})"

    def __reduce__(self) -> tuple[type[FMap[K, V]], tuple[dict[K, V]]]:
        return (FMap, (dict(self._store().d),))  # a copy or a pickle is a family of its own

    @property
    def _d(self) -> dict[K, V]:
        """This version's contents as a dict, to read only (the explorer's fast paths): a small
        map's own dict, a large one's copy (its shared dict moves to the next version read)."""
        d = self._store().d
        return d if self._len < SMALL else dict(d)

    def set(self, key: K, value: V) -> FMap[K, V]:
        if self.get(key, _ABSENT) is value:  # nothing changes: the same map (see evolve)
            return self
        return self._derive(key, value)

    def remove(self, key: K) -> FMap[K, V]:
        if key not in self:
            raise KeyError(key)
        return self._derive(key, _ABSENT)

    def _derive(self, key: K, value: V | _Absent) -> FMap[K, V]:
        store = self._store()
        new: FMap[K, V] = FMap.__new__(FMap)
        new._h = None
        if self._len < SMALL:  # copy on write: a family of its own
            d = dict(store.d)
            if isinstance(value, _Absent):
                del d[key]
            else:
                d[key] = value
            new._node, new._len = _Store(d), len(d)
            return new
        old = store.put(key, value)
        store.shared = True
        new._node, new._len = store, len(store.d)
        self._node = _Diff(key, old, new)
        return new

    def first_gap(self: FMap[int, V], start: int) -> int:
        """The smallest int >= start that is not a key (the lowest free descriptor number).

        Amortised O(1) while keys are added and removed above the gap; removing a key below
        many present ones makes the next call scan over them once.
        """
        store = self._store()
        bound = store.gaps.get(start, start)
        while bound in store.d:
            bound += 1
        store.gaps[start] = bound
        return bound

    def keys_of(self, value: V) -> tuple[K, ...]:
        """The keys that map to `value`. The first call on a family indexes it (O(size), and
        every later set hashes its value), so use it on maps with small hashable values."""
        store = self._store()
        if store.index is None:
            index: dict[V, set[K]] = {}
            for k, v in store.d.items():
                index.setdefault(v, set()).add(k)
            store.index = index
        return tuple(store.index.get(value, ()))


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


@attrs.frozen(cache_hash=True)
class HalfOpen:
    """A half-open connection: a syncache entry, a Linux request sock or a 4.4BSD q0 socket."""

    stamp: int  # drawn from next_id: tells entries apart
    born: int  # the clock when its SYN arrived (microseconds)
    ticks: int = 0  # retransmission timer firings so far (Linux num_timeout, FreeBSD sc_rxmits)


@attrs.frozen(cache_hash=True)
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
    # Linux: when (µs after `born`) the client first sent a segment its request sock dropped
    # on a full accept queue, and how often it has sent it again since (rules.client_resend_gap)
    dropped: int | None = None
    resent: int = 0
    # Linux: a request an earlier listen() of this socket left (shutdown(SHUT_RD) stopped it):
    # it waits on that listen's port, so netstat does not count it on this one
    hidden: bool = False
    # Linux: a syncookie answered its SYN (a full request queue), so no request sock holds it:
    # the client holds its final ACK (TCP_DEFER_ACCEPT), and until that ACK the listener keeps
    # nothing, so neither netstat nor the request queue counts it (measured on this kernel)
    cookie: bool = False


@attrs.frozen(cache_hash=True)
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

    @property
    def requests(self) -> int:
        """How many entries of the incomplete queue the listener keeps state for (the request
        queue's count on Linux): all but those a syncookie answered."""
        return sum(not e.cookie for e in self.incomp)


@attrs.frozen(cache_hash=True)
class Socket:
    sid: int
    domain: str  # AF_INET, AF_INET6, AF_UNIX
    type: str  # SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM
    state: SockState = SockState.FRESH
    addr: int | None = None  # local address id
    wildcard: bool = False  # the address was taken implicitly, on the wildcard address
    # the caller named the port (bind(S, T)): Linux sets SOCK_BINDPORT_LOCK, and a listener a
    # shutdown(SHUT_RD) stops keeps it; a port the kernel chose goes (dataplane._stop_listening)
    port_given: bool = False
    listener: Listener | None = None
    # Linux: the half-open requests of a listener stopped by shutdown(SHUT_RD), each as
    # (born, ticks) like a HalfOpen: they stay in the SYN table, and count against this
    # socket's request queue if it listens again (though netstat no longer shows them), until
    # a timer firing drops them (timers.py; measured)
    stale: tuple[tuple[int, int], ...] = ()
    # Linux: the request socks with a client (TCP_DEFER_ACCEPT-deferred, or a client holding
    # its ACK) of a listener shutdown(SHUT_RD) stopped: their clients stay queued on this
    # socket; a listen() again takes them into its incomplete queue (hidden), and until then
    # their next segment or timer drops them (timers.py, dataplane.feed)
    stale_requests: tuple[Pending, ...] = ()
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
    # a shutdown(SHUT_RD) stopped it listening (profile.connect_after_stop: Linux refuses every
    # connect() of it from then on)
    stopped: bool = False
    rcv: tuple[bytes, ...] = ()  # received and not yet read, one entry per send (a record)
    shut: int = 0  # sk_shutdown: RCV (no more to read), SND (no more to send)
    fin: bool = False  # TCP: the peer's FIN arrived (SOCK_DONE): recv gives 0 once data is read
    peer_gone: bool = False  # the other end's socket is closed: TCP data sent to it draws an RST
    linger: int | None = None  # SO_LINGER's l_linger, when l_onoff is set
    reuseport: bool = False  # SO_REUSEPORT
    reuseport_lb: bool = False  # FreeBSD SO_REUSEPORT_LB
    # -- gVisor (issue 11)
    # a second copy of a refusal that only getsockopt(SO_ERROR) reads (profile.dead_after_error)
    last_error: str | None = None
    # what a connected datagram socket aims at: the address id (None: a socket that never had
    # an address); kept only where profile.dgram_reconnect_same or profile.v6_pinned_errno asks
    dgram_peer: int | None = None
    # the family of the address a connect() aimed at, which gave the socket its local address
    # (a datagram connect; a TCP one, whatever became of it, where profile.local_family_errno
    # asks: gVisor keeps a refused endpoint's local address)
    peer_family: str | None = None


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
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
    # the any address (0.0.0.0 or ::): a listener's autobind, an unconnected datagram socket's
    # (gVisor's connect() reads it as no address at all: profile.local_family_errno)
    anywhere: bool = False


# --------------------------------------------------------------------------- evolve


def _evolver(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """attrs.evolve for one class, as straight-line code: the same new instance (every field
    is an __init__ argument of the same name, with no converter or validator: checked here),
    or the instance itself where every change is the value it holds already, so a transition
    that changes nothing returns the very state it was given (the explorer and the invariant
    checks skip such a state: nothing about it is new)."""
    fields = attrs.fields(cls)
    assert all(f.init and f.converter is None and f.validator is None and f.alias == f.name
               for f in fields), f"{cls.__name__}: evolve() would differ from attrs.evolve()"
    names = frozenset(f.name for f in fields)
    args = ", ".join(f"c[{f.name!r}] if {f.name!r} in c else inst.{f.name}" for f in fields)
    src = (f"def evolve(inst, c):\n"
           f"    if not c.keys() <= names:\n"
           f"        raise TypeError(f'{{sorted(c.keys() - names)}} are not fields of "
           f"{cls.__name__}')\n"
           f"    for k, v in c.items():\n"
           f"        if getattr(inst, k) is not v:\n"
           f"            return cls({args})\n"
           f"    return inst\n")
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
