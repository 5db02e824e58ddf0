"""Transitions as tables (h11's lesson): the socket life cycle, and each call's refusals.

`LIFECYCLE` says which event moves a socket from which state to which; host.py moves sockets only
through `advance`, so the table is the whole story and the docs draw the diagram from it.
`CHECKS` lists, per call, the checks made before the call does its work, in the order the kernel
makes them: each row a condition and what follows when it holds (an errno — a literal or a
profile parameter — or a named outcome the transition applies), with its source. Where systems
check in different orders, a row says which profiles make it (`applies`, a profile parameter),
so each profile's table is a filter of one list and a new platform difference is a row. A call
refused by a check returns the state unchanged, unless the row names the state change it makes
first (`effect`: Linux binds a UDP socket before it refuses the connect).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from .profiles import Profile
from .state import FILE, Host, Socket, SockState, Target, evolve

F, B, L, C, CG, D, X = (
    SockState.FRESH,
    SockState.BOUND,
    SockState.LISTENING,
    SockState.CONNECTED,
    SockState.CONNECTING,
    SockState.DISCONNECTED,
    SockState.CLOSED,
)

#: (state, event) -> next state. Events are what happened, not only what was called.
LIFECYCLE: dict[tuple[SockState, str], SockState] = {
    (F, "bind"): B,
    (F, "listen"): L,  # TCP binds an ephemeral port first (tcp_usr_listen, inet_listen)
    (B, "listen"): L,
    (L, "listen"): L,  # re-listen: only the limit changes
    (L, "unlisten"): F,  # Linux shutdown(SHUT_RD) of a TCP listener: unconnected again
    (F, "connect"): CG,
    (B, "connect"): CG,
    (CG, "established"): C,  # the handshake completed and the connection was queued
    (CG, "reset"): D,  # the handshake completed, then the listener's side reset it
    (CG, "abandoned"): X,  # silently dropped: the executor gives up and closes (the contract)
    (C, "peer-reset"): D,  # e.g. the listener closed with the connection still queued
    (C, "evicted"): D,  # an accept filter's queue terminated it
    (C, "closed"): D,  # TCP: both FINs went through (TIME_WAIT / LAST_ACK done): CLOSE
    (D, "bind"): D,  # Linux: the reset gave the port back; the socket may bind again
    (D, "disconnect"): F,  # Linux: connect() reported the reset; tcp_disconnect(): unconnected
    (D, "listen"): L,  # FreeBSD: a bound AF_UNIX socket whose peer went (unix_listen_disconnected)
    # gVisor (profile.dead_after_error): a refused connect leaves the endpoint in its error state
    (CG, "failed"): D,
    (C, "bind"): C,  # an AF_UNIX client connects without a name and may take one later
    (F, "accepted"): C,  # the socket accept() returns is born connected
    **{(s, "close"): X for s in (F, B, L, C, D)},
}


def advance(sock: Socket, event: str) -> Socket:
    """The socket after `event`, by the lifecycle table (a missing entry is a model bug)."""
    try:
        nxt = LIFECYCLE[(sock.state, event)]
    except KeyError:
        raise AssertionError(
            f"no lifecycle transition from {sock.state.value} on {event}"
        ) from None
    return evolve(sock, state=nxt)


# --------------------------------------------------------------------------- checks


@attrs.frozen
class Ctx:
    """What the checks look at: the call's descriptor resolved against the state, and for
    connect() and syn() the target and what is bound there."""

    fd: int | None
    sock: Socket | None  # None if fd is not open, or is not a socket
    is_file: bool  # the descriptor is open but is not a socket
    holds_addr: bool = False  # the socket holds its local address (a port, a name)
    target: Target | None = None
    at: Socket | None = None  # the socket bound at the target's address (the first to bind)
    lsock: Socket | None = None  # the listener a connection to the target reaches, if any
    holders: tuple[int, ...] = ()  # who holds the target's address (state.ORPHAN: a closed one)
    group: Mapping[int, Socket] | None = None  # those holders that are open sockets, by id
    how: int | None = None  # shutdown(): the sk_shutdown bits asked for


#: why an abstract AF_UNIX name is found only by a socket of its own type (Linux)
ABSTRACT_SRC = ("profile parameter unix_autobind_per_type: __unix_find_socket_byname() hashes "
                "an abstract name with the socket type (measured on Linux 6.18)")


def _abstract_elsewhere(c: Ctx) -> bool:
    """The target's name is abstract (autobound) and its socket is of another type."""
    return c.at is not None and c.at.wildcard and c.at.type != _sock(c).type


def _tcp_unanswered(c: Ctx) -> bool:
    """An inet connect reaches no listener of its type (nobody listens: an RST answers)."""
    return _sock(c).domain != "AF_UNIX" and (c.lsock is None or c.lsock.type != _sock(c).type)


def _abstract(c: Ctx) -> bool:
    """The target's name was autobound (an abstract AF_UNIX name, not a path)."""
    return any(s.wildcard for s in (c.group or {}).values())


def _refuses(s: Socket | None) -> bool:
    """A listener shut for reading: it refuses new connections (Listener.refusing)."""
    return s is not None and s.listener is not None and s.listener.refusing


def _answers(s: Socket) -> bool:
    """The socket takes connection attempts: it listens, and is not a TCP listener shut for
    reading (gVisor answers those with an RST; an AF_UNIX one refuses by its own row)."""
    return s.state is L and not (s.domain != "AF_UNIX" and _refuses(s))


def reach(p: Profile, h: Host, target: Target | None,
          stype: str | None = None) -> tuple[Socket | None, ...]:
    """The listeners a connection to the target may reach, one per possible outcome (None: it
    reaches a socket that is not listening, which answers with an RST). One holder: itself if
    it listens. Several (SO_REUSEPORT): profile.reuseport_pick says which may be chosen. Only
    sockets of the connecting socket's type count: TCP and UDP ports are apart."""
    if target is None or target.addr is None:
        return (None,)
    group = [h.socks[s] for s in h.addrs.get(target.addr, ()) if s in h.socks]
    group = [s for s in group if s.type == stype] or group  # stype None: every holder
    if not group:
        return (None,)
    if len(group) == 1:
        return (group[0] if _answers(group[0]) else None,)
    if p.reuseport_lb and any(s.reuseport_lb for s in group):
        members = [s for s in group if s.reuseport_lb]
        return tuple(s if _answers(s) else None for s in members)  # a hash over the group
    if p.reuseport_pick == "last":
        last = group[-1]  # the most recently bound goes first in the lookup chain
        return (last if _answers(last) else None,)
    listening = tuple(s for s in group if _answers(s))
    return listening or (None,)  # a hash over the listening members


def resolve(h: Host, fd: int | None, target: Target | None = None, *,
            p: Profile | None = None, pick: int = 0) -> Ctx:
    at = lsock = None
    if target is not None and target.addr is not None:
        holders = h.addrs.get(target.addr, ())
        at = h.socks.get(holders[0]) if holders else None
        if p is not None:
            client = h.socks.get(h.fds.get(fd, FILE)) if fd is not None else None
            lsock = reach(p, h, target, client.type if client is not None else None)[pick]
        elif at is not None and at.state is L:
            lsock = at
    if fd is None or fd not in h.fds:
        return Ctx(fd, None, False, target=target, at=at, lsock=lsock)
    sid = h.fds[fd]
    if sid == FILE:
        return Ctx(fd, None, True, target=target, at=at, lsock=lsock)
    sock = h.socks[sid]
    holds = sock.addr is not None and sid in h.addrs.get(sock.addr, ())
    held = h.addrs.get(target.addr, ()) if target is not None and target.addr is not None else ()
    group = {s: h.socks[s] for s in held if s in h.socks}
    return Ctx(fd, sock, False, holds, target, at, lsock, held, group)


Test = Callable[[Profile, Ctx], bool]


def _always(p: Profile) -> bool:
    return True


@attrs.frozen
class Check:
    """One row of a call's table: when `test` holds, `then` follows (after `effect`, if any)."""

    when: str  # the condition, in words, for the docs
    test: Test
    # an errno name; `profile.<parameter>`; `target.errno`, `family` or `family-unix` (the
    # connect family table), `pending-error` (the socket's so_error); or `-> <outcome>`, a
    # named outcome the transition applies; "" (with an effect): go on to the next row
    then: str
    source: str
    applies: Callable[[Profile], bool] = _always
    applies_when: str = ""  # the profile parameter `applies` reads, for the docs
    effect: str | None = None  # a state change made when the row holds (named, host applies)

    @property
    def outcome(self) -> str | None:
        return self.then.removeprefix("-> ") if self.then.startswith("-> ") else None

    def errno_for(self, p: Profile, c: Ctx | None = None) -> str:
        """The errno this row answers under p (for the docs, c may be None: a description)."""
        then = self.then
        if then.startswith("profile."):
            return str(getattr(p, then.removeprefix("profile.")))
        if then in ("target.errno", "family", "bind-family", "family-unix", "pending-error",
                    "unix-type", "local-family"):
            if c is None:
                return _DESCRIBED[then]
            return _dynamic_errno(then, p, c)
        return then


_DESCRIBED = {"target.errno": "EBADF or ENOTSOCK", "family": "profile.connect_family_errno",
              "family-unix": "profile.connect_family_errno",
              "bind-family": "profile.bind_family_errno (else profile.connect_family_errno)",
              "pending-error": "the pending error",
              "local-family": "profile.local_family_errno",
              "unix-type": "EPROTOTYPE (datagram with stream: profile.unix_dgram_mismatch)"}


def _dynamic_errno(then: str, p: Profile, c: Ctx) -> str:
    t = c.target
    if then == "target.errno":
        assert t is not None and t.errno is not None
        return t.errno
    if then == "pending-error":
        assert c.sock is not None and c.sock.error is not None
        return c.sock.error
    if then == "unix-type":  # the name's socket is of another type
        assert c.sock is not None and c.at is not None
        dgram = (c.sock.type == "SOCK_DGRAM") != (c.at.type == "SOCK_DGRAM")
        return p.unix_dgram_mismatch if dgram else "EPROTOTYPE"
    assert t is not None and t.domain is not None and c.sock is not None
    if then == "local-family":
        errno = _local_mismatch(p, c)
        assert errno is not None
        return errno
    if then == "family-unix":
        return family_errno(p, "AF_UNIX", t.domain)
    kind = t.domain if t.addr is not None and not t.short else f"{t.domain}/unbound"
    if then == "bind-family" and p.bind_family_errno is not None:
        return family_errno(p, c.sock.domain, kind, p.bind_family_errno)
    return family_errno(p, c.sock.domain, kind)


def family_errno(p: Profile, client: str, target: str,
                 table: tuple[tuple[str, str, str], ...] | None = None) -> str:
    """profile.connect_family_errno (or `table`): what connect() answers for an address of
    another family."""
    for cl, t, errno in (p.connect_family_errno if table is None else table):
        if cl == client and t in ("*", target):
            return errno
    return "EAFNOSUPPORT"


def _sock(c: Ctx) -> Socket:
    assert c.sock is not None
    return c.sock


def _stream(c: Ctx) -> bool:
    return _sock(c).type != "SOCK_DGRAM"


def _is(c: Ctx, domain: str | None = None, stream: bool | None = None) -> bool:
    """c is a socket (of this domain, stream or not)."""
    return c.sock is not None and (domain is None or c.sock.domain == domain) and (
        stream is None or (c.sock.type != "SOCK_DGRAM") == stream)


def _target(c: Ctx) -> Target:
    assert c.target is not None
    return c.target


def _other_family(c: Ctx) -> bool:
    t = _target(c)
    return t.domain is not None and t.domain != _sock(c).domain


def _v6_to_v4(p: Profile, c: Ctx) -> bool:
    """Linux: an AF_INET6 datagram socket aiming at an IPv4 address (dgram_v6_takes_v4)."""
    return (p.dgram_v6_takes_v4 and _sock(c).type == "SOCK_DGRAM"
            and (_sock(c).domain, _target(c).domain) == ("AF_INET6", "AF_INET"))


def _v6_takes_v4(p: Profile, c: Ctx) -> bool:
    """An AF_INET6 socket aiming at an IPv4 address that its profile lets it reach (datagram:
    dgram_v6_takes_v4; stream, as a v4-mapped address: stream_v6_takes_v4)."""
    return _v6_to_v4(p, c) or (
        p.stream_v6_takes_v4 and _sock(c).type != "SOCK_DGRAM"
        and (_sock(c).domain, _target(c).domain) == ("AF_INET6", "AF_INET"))


def _dead(p: Profile, c: Ctx) -> bool:
    """gVisor: a TCP socket closed for good by a refusal or a reset (profile.dead_after_error)."""
    return (p.dead_after_error and c.sock is not None and c.sock.domain != "AF_UNIX"
            and c.sock.type == "SOCK_STREAM" and c.sock.state is D)


def local_family(sock: Socket) -> str | None:
    """The family of an AF_INET6 socket's local address: that of the address a connect() aimed
    at (which gave it one), else AF_INET6 if it is bound to a specific address (::1); None: no
    address, or the any address."""
    if sock.domain != "AF_INET6":
        return None
    if sock.peer_family is not None:
        return sock.peer_family
    return "AF_INET6" if sock.addr is not None and not sock.wildcard else None


def _local_mismatch(p: Profile, c: Ctx) -> str | None:
    """profile.local_family_errno's answer for this connect, if a row holds: the socket's local
    address and a specific target address are of different families."""
    if c.sock is None or c.target is None or c.target.anywhere or c.target.addr is None:
        return None
    local = local_family(c.sock)
    for lf, tf, errno in p.local_family_errno:
        if lf == local and tf == c.target.domain:
            return errno
    return None


def _pinned_elsewhere(p: Profile, c: Ctx) -> bool:
    """gVisor: an AF_INET6 socket whose local address belongs to one family (bound to ::1, or
    set by a datagram connect) aims at an address of the other (profile.v6_pinned_errno)."""
    sock, t = _sock(c), _target(c)
    if t.domain not in ("AF_INET", "AF_INET6"):
        return False
    # a listening, connected or dead TCP socket is refused for what it is: rows below
    pinned = local_family(sock) if sock.state is B or sock.type == "SOCK_DGRAM" else None
    return pinned is not None and pinned != t.domain


def _dead_profile(p: Profile) -> bool:
    return p.dead_after_error


def _client_first(p: Profile) -> bool:
    return p.unix_client_first


def _full(p: Profile, c: Ctx) -> bool:
    from . import rules  # rules imports profiles only; tables stays below rules

    lst = c.lsock.listener if c.lsock is not None else None
    assert lst is not None
    return not rules.admits(p, len(lst.comp), len(lst.half_open), lst.qlimit)


def _unix_stream(p: Profile, c: Ctx) -> bool:
    return _is(c, "AF_UNIX", stream=True)


def _tcp(c: Ctx) -> bool:
    return _sock(c).domain != "AF_UNIX" and _sock(c).type == "SOCK_STREAM"


def _unix(c: Ctx) -> bool:
    return _sock(c).domain == "AF_UNIX"


def _in_use(p: Profile, c: Ctx) -> bool:
    """bind(S, T): T's address is held by a socket S may not share it with (SO_REUSEPORT lets
    two sockets share a port when both set it; AF_UNIX names are never shared)."""
    from .state import ORPHAN

    sock = _sock(c)
    if not c.holders:
        return False
    if sock.domain == "AF_UNIX":
        if not p.unix_autobind_per_type:
            return True
        # an abstract name is looked up with its socket type (unix_bind_abstract())
        others = [c.group.get(sid) if c.group is not None else None for sid in c.holders]
        return not all(o is not None and o.wildcard and o.type != sock.type for o in others)
    for sid in c.holders:
        if sid == ORPHAN:
            if sock.type == "SOCK_STREAM":
                return True  # a TCP connection closed actively still holds the port
            continue
        other = c.group.get(sid) if c.group is not None else None
        if other is None or other.type != sock.type:
            continue
        if not ((sock.reuseport and other.reuseport)
                or (p.reuseport_lb and sock.reuseport_lb and other.reuseport_lb)):
            return True
    return False


def _stop_first(p: Profile) -> bool:
    return p.connect_after_stop is not None and p.connect_stop_before_family


def _stop_later(p: Profile) -> bool:
    return p.connect_after_stop is not None and not p.connect_stop_before_family


def _self_target(c: Ctx) -> bool:
    """A TCP connect to the socket's own address (a simultaneous open with itself)."""
    return _sock(c).domain != "AF_UNIX" and c.holds_addr and _target(c).addr == _sock(c).addr


def _shut_send(c: Ctx) -> bool:
    from .state import SND

    return bool(_sock(c).shut & SND)


def _shut_rcv(c: Ctx) -> bool:
    from .state import RCV

    return bool(_sock(c).shut & RCV)


def _send_error(p: Profile, c: Ctx) -> bool:
    """A pending error a send() reports (Linux: not for an AF_UNIX stream socket)."""
    s = c.sock
    return s is not None and s.error is not None and (
        s.domain != "AF_UNIX" or s.type != "SOCK_STREAM" or p.unix_stream_send_error)


def _error_first(p: Profile) -> bool:
    return p.send_order == "error-first"


def _epipe_first(p: Profile) -> bool:
    return p.send_order == "epipe-first"


def _refusing(c: Ctx) -> bool:
    return _refuses(c.lsock)


def _unix_first(p: Profile) -> bool:
    return p.unix_address_first


def _unix_later(p: Profile) -> bool:
    return not p.unix_address_first


BADF = Check("the descriptor is not open", lambda p, c: c.sock is None and not c.is_file,
             "EBADF", "every seed page: [EBADF]")
NOTSOCK = Check("the descriptor is not a socket", lambda p, c: c.is_file, "ENOTSOCK",
                "every seed page: [ENOTSOCK]")
DESC = (BADF, NOTSOCK)
UNIX_FIRST = "profile.unix_address_first"
UNIX_FIRST_SRC = ("measured by the kernel executor: Linux unix_stream_connect() validates the "
                  "address and the listener before the socket's own state")
UNIX_CLIENT_FIRST = "profile.unix_client_first"
UNIX_CLIENT_FIRST_SRC = ("profile parameter unix_client_first: gVisor "
                         "connectioned.go BidirectionalConnect()")

CHECKS: dict[str, tuple[Check, ...]] = {
    "bind": (
        *DESC,
        Check("bind(S, T): T never named a socket (no address to bind to)",
              lambda p, c: c.target is not None and c.target.errno is not None, "target.errno",
              "SCRIPT_FORMAT.md extension: a NAME stands for the address its socket had"),
        Check("bind(S, T): T's address is of another family",
              lambda p, c: c.target is not None and _other_family(c), "bind-family",
              "inet_bind(), inet6_bind(), unix_bind() look at the length and family first: "
              "the connect family table (profile parameter connect_family_errno), or "
              "profile parameter bind_family_errno where it is given"),
        Check("bind(S, T) of an AF_UNIX socket to a name in use (the path exists)",
              lambda p, c: _unix(c) and c.target is not None and c.target.addr is not None
              and bool(c.holders) and not _abstract(c), "EADDRINUSE",
              "unix_bind_bsd(): the path is made before u->addr is looked at; an autobound "
              "(abstract) name goes to unix_bind_abstract(), which looks at u->addr first "
              "(measured)",
              lambda p: p.unix_bind_name_first, "profile.unix_bind_name_first"),
        Check("bind(S, T) of a named AF_UNIX socket to a T that never had a name: nothing "
              "to do (an autobind of a socket that has a name)",
              lambda p, c: _unix(c) and c.target is not None and c.target.addr is None
              and c.holds_addr, "-> unchanged",
              "profile parameter unix_autobind_bound_ok: unix_autobind() returns 0 at once "
              "when u->addr is set (measured on Linux 6.18)",
              lambda p: p.unix_autobind_bound_ok, "profile.unix_autobind_bound_ok"),
        Check("the socket already holds a local address",
              lambda p, c: c.holds_addr or _sock(c).state is L
              or (_sock(c).state is C and _sock(c).addr is not None), "EINVAL",
              "listenspec choice: in_pcbbind(), unp_bind(), inet_bind(), unix_bind()"),
        Check("a TCP socket closed for good by a refusal or a reset", _dead, "EINVAL",
              "profile parameter dead_after_error: gVisor bind() in StateError",
              _dead_profile, "profile.dead_after_error"),
        Check("a TCP socket whose connection was reset (its inpcb is dropped)",
              lambda p, c: _sock(c).state is D and _tcp(c), "profile.bind_reset",
              "profile parameter bind_reset", lambda p: p.bind_reset is not None,
              "profile.bind_reset"),
        Check("bind(S, T) of an AF_UNIX socket: T never had a name (a family-only address)",
              lambda p, c: c.target is not None and c.target.addr is None and _unix(c),
              "profile.unix_bind_unnamed", "profile parameter unix_bind_unnamed: gVisor",
              lambda p: p.unix_bind_unnamed is not None, "profile.unix_bind_unnamed"),
        Check("bind(S, T): T never had an address: a fresh one, as getsockname(T) names none",
              lambda p, c: c.target is not None and c.target.addr is None, "-> wildcard",
              "bind to port 0 of the wildcard address (an AF_UNIX family-only name: "
              "unix_bind() autobinds)"),
        Check("bind(S, T): T's address is held by a socket it may not be shared with",
              lambda p, c: c.target is not None and _in_use(p, c), "EADDRINUSE",
              "inet_csk_bind_conflict(), in_pcbbind_setup(): both need SO_REUSEPORT "
              "(spec/sources/linux-6.18.md §5, freebsd.md B7); unix_bind(), unp_bind(): a name "
              "is taken once; an actively closed TCP connection keeps its port (TIME_WAIT)"),
        Check("bind(S, T): the socket binds to T's address, beside those holding it",
              lambda p, c: c.target is not None, "-> join", "SO_REUSEPORT"),
    ),
    "listen": (
        *DESC,
        Check("the socket is not SOCK_STREAM or SOCK_SEQPACKET", lambda p, c: not _stream(c),
              "EOPNOTSUPP", "every seed page: [EOPNOTSUPP]; pr_listen_notsupp(); sock_no_listen()"),
        Check("the socket is connected, connecting or was reset",
              lambda p, c: (_sock(c).state in (C, CG, D) or _sock(c).connect_pending is not None)
              and not (p.unix_listen_disconnected and _unix(c) and _sock(c).state is D),
              "profile.listen_connected",
              "profile parameter listen_connected; unix_listen_disconnected"),
        Check("a TCP socket whose connect() once sent a SYN (it takes a port, and keeps it)",
              lambda p, c: _sock(c).sent_syn, "profile.listen_once_connected",
              "profile parameter listen_once_connected: measured by the kernel executor",
              lambda p: p.listen_once_connected is not None, "profile.listen_once_connected",
              effect="autobind"),
        Check("an AF_UNIX socket without a local address",
              lambda p, c: _sock(c).domain == "AF_UNIX" and _sock(c).addr is None,
              "profile.unbound_unix_listen", "profile parameter unbound_unix_listen"),
    ),
    "accept": (
        *DESC,
        Check("a datagram socket", lambda p, c: not _stream(c), "profile.accept_dgram",
              "profile parameter accept_dgram"),
        Check("the socket is not listening", lambda p, c: _sock(c).state is not L,
              "profile.accept_not_listening", "profile parameter accept_not_listening"),
        Check("a TCP listener shut for reading (gVisor's shutdown(SHUT_RD))",
              lambda p, c: _tcp(c) and _refuses(_sock(c)), "EINVAL",
              "profile parameter shutdown_listener: gVisor endpoint.go Accept() (RcvClosed; "
              "measured)", lambda p: p.shutdown_listener == "refuse",
              "profile.shutdown_listener refuse"),
        Check("the listener has a pending error (FreeBSD: so_error, set by shutdown())",
              lambda p, c: _sock(c).error is not None, "pending-error",
              "solisten_dequeue(): head->so_error first (spec/sources/freebsd.md A10, B5)",
              effect="clear-error"),
        Check("the completed queue is empty (non-blocking)",
              lambda p, c: not (_sock(c).listener and _sock(c).listener.comp),  # type: ignore[union-attr]
              "EAGAIN", "solisten_dequeue(); inet_csk_accept()"),
    ),
    "connect": (
        Check("the target never named a socket (no address to aim at)",
              lambda p, c: _target(c).errno is not None, "target.errno",
              "SCRIPT_FORMAT.md extension: a NAME stands for the address its socket had; "
              "getsockname(2) on what it names"),
        Check("the target is of another family (the address is read first)",
              lambda p, c: c.sock is not None and _other_family(c) and not _v6_takes_v4(p, c),
              "family", "profile parameter connect_address_first: gVisor reads the address "
              "before the socket", lambda p: p.connect_address_first,
              "profile.connect_address_first"),
        Check("an AF_INET6 socket whose local address is of one family aims at a specific "
              "address of the other", lambda p, c: _local_mismatch(p, c) is not None,
              "local-family", "profile parameter local_family_errno: gVisor "
              "AddrNetProtoLocked() (spec/sources/gvisor-2022-12.md §3)",
              lambda p: bool(p.local_family_errno), "profile.local_family_errno"),
        Check("an AF_INET6 socket whose local address belongs to the other family",
              lambda p, c: c.sock is not None and _pinned_elsewhere(p, c),
              "profile.v6_pinned_errno", "profile parameter v6_pinned_errno: gVisor",
              lambda p: p.v6_pinned_errno is not None, "profile.v6_pinned_errno"),
        Check("a TCP socket closed for good: its pending error once, then ECONNABORTED",
              _dead, "-> dead",
              "profile parameter dead_after_error: gVisor connect() in StateError",
              _dead_profile, "profile.dead_after_error"),
        Check("a settled non-blocking connect is still pending (Linux: SS_CONNECTING)",
              lambda p, c: c.sock is not None and c.sock.connect_pending is not None,
              "-> end-pending", "profile parameter sticky_connecting: __inet_stream_connect()"),
        # Linux AF_UNIX streams: the target and its queue first (measured)
        Check("AF_UNIX stream: the target is of another family",
              lambda p, c: _unix_stream(p, c) and _other_family(c), "family-unix",
              UNIX_FIRST_SRC, _unix_first, UNIX_FIRST),
        Check("AF_UNIX stream: the target has no name (an unbound socket)",
              lambda p, c: _unix_stream(p, c) and _target(c).addr is None, "EINVAL",
              UNIX_FIRST_SRC + "; unix_validate_addr()", _unix_first, UNIX_FIRST),
        Check("AF_UNIX stream: an abstract name of another type's socket: nobody is there",
              lambda p, c: _unix_stream(p, c) and _abstract_elsewhere(c), "ECONNREFUSED",
              ABSTRACT_SRC, lambda p: p.unix_autobind_per_type, "profile.unix_autobind_per_type"),
        Check("AF_UNIX stream: the name's socket is of another type",
              lambda p, c: _unix_stream(p, c) and c.at is not None
              and c.at.type != _sock(c).type, "unix-type", UNIX_FIRST_SRC, _unix_first,
              UNIX_FIRST),
        # gVisor BidirectionalConnect(): the connecting socket before the target's listening
        Check("AF_UNIX stream: the name is the socket's own",
              lambda p, c: _unix_stream(p, c) and c.at is not None and c.at.sid == _sock(c).sid,
              "EINVAL", UNIX_CLIENT_FIRST_SRC, _client_first, UNIX_CLIENT_FIRST),
        Check("AF_UNIX stream: the socket is already connected",
              lambda p, c: _unix_stream(p, c) and _sock(c).state is C, "EISCONN",
              UNIX_CLIENT_FIRST_SRC, _client_first, UNIX_CLIENT_FIRST),
        Check("AF_UNIX stream: the socket is listening",
              lambda p, c: _unix_stream(p, c) and _sock(c).state is L,
              "profile.connect_on_unix_listener", UNIX_CLIENT_FIRST_SRC, _client_first,
              UNIX_CLIENT_FIRST),
        Check("AF_UNIX stream: nobody listens at the name",
              lambda p, c: _unix_stream(p, c) and c.lsock is None, "ECONNREFUSED",
              UNIX_FIRST_SRC, _unix_first, UNIX_FIRST),
        Check("AF_UNIX stream: the listener is shut for reading",
              lambda p, c: _unix_stream(p, c) and _refusing(c), "ECONNREFUSED",
              "unix_stream_connect(): RCV_SHUTDOWN (spec/sources/linux-6.18.md §3)",
              _unix_first, UNIX_FIRST),
        Check("AF_UNIX stream: the listener's queue is full",
              lambda p, c: _unix_stream(p, c) and _full(p, c), "-> unix-overflow",
              UNIX_FIRST_SRC + "; unix_stream_connect(): unix_recvq_full()", _unix_first,
              UNIX_FIRST),
        *DESC,
        Check("the target is of another family (checked before the socket's own state)",
              lambda p, c: _other_family(c), "family",
              "profile parameter connect_family_first: tcp_usr_connect(), unp_connectat() "
              "look at the address first (spec/sources/freebsd.md A11)",
              lambda p: p.connect_family_first, "profile.connect_family_first"),
        Check("an AF_UNIX socket that is listening",
              lambda p, c: _sock(c).state is L and _sock(c).domain == "AF_UNIX",
              "profile.connect_on_unix_listener", "profile parameter connect_on_unix_listener"),
        Check("the socket is listening", lambda p, c: _sock(c).state is L,
              "profile.connect_on_listener", "profile parameter connect_on_listener"),
        Check("the socket is already connected",
              lambda p, c: _sock(c).state is C and _sock(c).connect_pending is None
              and (_stream(c) or not p.dgram_reconnect),
              "EISCONN", "connect(2) [EISCONN]"),
        Check("the socket was reset", lambda p, c: _sock(c).state is D,
              "profile.connect_reset", "profile parameter connect_reset"),
        Check("a TCP socket that a shutdown(SHUT_RD) stopped listening",
              lambda p, c: _sock(c).stopped, "profile.connect_after_stop",
              "profile parameter connect_after_stop: measured on Linux 6.18 and gVisor",
              _stop_first, "profile.connect_after_stop, profile.connect_stop_before_family"),
        Check("an unbound UDP socket: it is bound (to the wildcard address) first",
              lambda p, c: _is(c, stream=False) and _sock(c).domain != "AF_UNIX"
              and not c.holds_addr, "",
              "profile parameter dgram_send_autobinds: inet_dgram_connect() binds before the "
              "protocol looks at the address", lambda p: p.dgram_send_autobinds,
              "profile.dgram_send_autobinds", effect="autobind"),
        Check("an AF_INET6 datagram socket bound to ::1 aims at IPv4",
              lambda p, c: _v6_to_v4(p, c) and _sock(c).addr is not None
              and not _sock(c).wildcard, "EAFNOSUPPORT",
              "profile parameter dgram_v6_takes_v4: __ip4_datagram_connect() works from the "
              "wildcard address only", lambda p: p.dgram_v6_takes_v4,
              "profile.dgram_v6_takes_v4"),
        Check("the target is of another family",
              lambda p, c: _other_family(c) and not _v6_takes_v4(p, c), "family",
              "profile parameter connect_family_errno",
              lambda p: not p.connect_family_first, "not profile.connect_family_first"),
        Check("a TCP socket that a shutdown(SHUT_RD) stopped listening (after the family)",
              lambda p, c: _sock(c).stopped, "profile.connect_after_stop",
              "profile parameter connect_after_stop; connect_stop_before_family: "
              "tcp_v4_connect() reads the family first (measured on Linux 6.18)",
              _stop_later, "profile.connect_after_stop, not profile.connect_stop_before_family"),
        Check("AF_UNIX datagram: the target has no name",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and _target(c).addr is None,
              "EINVAL", "unix_dgram_connect(): unix_validate_addr()"),
        Check("AF_UNIX datagram: nothing is bound at the name",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and c.at is None, "ECONNREFUSED",
              "unix_dgram_connect(); unp_connectat()"),
        Check("AF_UNIX datagram: an abstract name of another type's socket: nobody is there",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and _abstract_elsewhere(c),
              "ECONNREFUSED", ABSTRACT_SRC, lambda p: p.unix_autobind_per_type,
              "profile.unix_autobind_per_type"),
        Check("AF_UNIX datagram: the name's socket is of another type",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and c.at is not None
              and c.at.type != _sock(c).type, "unix-type",
              "unix_dgram_connect(); unp_connectat()"),
        Check("a connected UDP socket aims at the address it is connected to",
              lambda p, c: _is(c, stream=False) and _sock(c).domain != "AF_UNIX"
              and _sock(c).state is C and _sock(c).peer_family == _target(c).domain
              and _sock(c).dgram_peer == _target(c).addr, "profile.dgram_reconnect_same",
              "profile parameter dgram_reconnect_same: gVisor udp endpoint Connect()",
              lambda p: p.dgram_reconnect_same is not None, "profile.dgram_reconnect_same"),
        Check("a datagram socket: it records the peer", lambda p, c: not _stream(c),
              "-> dgram", "udp_connect(); unix_dgram_connect(): no listen queue is involved"),
        Check("TCP to its own address, shut for sending: the FIN it sends itself ends it",
              lambda p, c: _self_target(c) and _shut_send(c), "-> self-abort",
              "profile parameter self_connect_shut_send: measured on Linux 6.18",
              lambda p: p.self_connect_shut_send is not None, "profile.self_connect_shut_send"),
        Check("TCP to its own address: simultaneous open with itself",
              lambda p, c: _self_target(c), "-> self-connect",
              "RFC 793 simultaneous open; measured by the kernel executor"),
        Check("AF_UNIX stream: the target has no name (an unbound socket)",
              lambda p, c: _unix_stream(p, c) and _target(c).addr is None, "EINVAL",
              "unix_validate_addr(); unp_connectat()", _unix_later, "not " + UNIX_FIRST),
        Check("AF_UNIX stream: the name's socket is of another type",
              lambda p, c: _unix_stream(p, c) and c.at is not None
              and c.at.type != _sock(c).type, "EPROTOTYPE", "unp_connectat()", _unix_later,
              "not " + UNIX_FIRST),
        Check("AF_UNIX stream: nobody listens at the name",
              lambda p, c: _unix_stream(p, c) and c.lsock is None, "ECONNREFUSED",
              "unp_connectat()", _unix_later, "not " + UNIX_FIRST),
        Check("AF_UNIX stream: the listener is shut for reading",
              lambda p, c: _unix_stream(p, c) and _refusing(c), "ECONNREFUSED",
              "profile parameter unix_listener_shut_refuses, read here where the address is "
              "read after the socket's state", _unix_later, "not " + UNIX_FIRST),
        Check("TCP: nobody listens there (the SYN is answered by an RST)",
              lambda p, c: _tcp_unanswered(c), "ECONNREFUSED",
              "tcp_input(): a SYN to a closed port",
              lambda p: not p.sticky_connecting and not p.refused_drops
              and not p.dead_after_error,
              "not profile.sticky_connecting, not profile.refused_drops"),
        Check("TCP: nobody listens there (the RST drops the connection: the socket is reset)",
              lambda p, c: _tcp_unanswered(c), "-> refused-drop",
              "profile parameter refused_drops", lambda p: p.refused_drops,
              "profile.refused_drops"),
        Check("TCP: nobody listens there (the SYN is answered by an RST; the attempt took a "
              "port and the RST gave it back)",
              lambda p, c: _tcp_unanswered(c), "-> refused-rst",
              "measured by the kernel executor: tcp_done() puts the port, getsockname() "
              "still shows it", lambda p: p.sticky_connecting and not p.dead_after_error,
              "profile.sticky_connecting"),
        Check("TCP: nobody listens there (the SYN is answered by an RST; the socket is closed "
              "for good, ECONNREFUSED left for SO_ERROR)",
              lambda p, c: _tcp_unanswered(c), "-> refused-dead",
              "profile parameter dead_after_error: gVisor handshake failure (hardError and "
              "lastError)", _dead_profile, "profile.dead_after_error"),
        Check("the connection reaches the listener", lambda p, c: True, "-> arrive",
              "rules.arrival decides"),
    ),
    "send": (
        Check("a pending error (so_error): reported, and cleared",
              lambda p, c: _send_error(p, c), "pending-error",
              "tcp_sendmsg_locked(): sock_error() first; not unix_stream_sendmsg() "
              "(profile parameters send_order, unix_stream_send_error)",
              _error_first, "profile.send_order error-first", effect="clear-error"),
        *DESC,
        Check("the socket is listening (before its send buffer and any pending error)",
              lambda p, c: _sock(c).state is L, "profile.send_on_listener",
              "profile parameter send_on_listener: FreeBSD soiolock()",
              lambda p: p.send_on_listener is not None, "profile.send_on_listener"),
        Check("no more to send (CANTSENDMORE)", lambda p, c: _shut_send(c), "EPIPE",
              "sosend_generic_locked(): SBS_CANTSENDMORE before so_error (profile parameter "
              "send_order)", _epipe_first, "profile.send_order epipe-first"),
        Check("a pending error (so_error): reported, and cleared",
              lambda p, c: _send_error(p, c), "pending-error", "sosend_generic_locked()",
              _epipe_first, "profile.send_order epipe-first", effect="clear-error"),
        Check("the socket was reset", lambda p, c: _sock(c).state is D, "EPIPE",
              "send(2) [EPIPE]"),
        Check("an AF_UNIX socket that is not connected",
              lambda p, c: _sock(c).state is not C and _sock(c).domain == "AF_UNIX",
              "ENOTCONN", "uipc_send(); unix_stream_sendmsg(); unix_dgram_sendmsg()"),
        Check("an unbound UDP socket with no peer: it is bound on the way in, then refused",
              lambda p, c: not _stream(c) and _sock(c).state is F and _sock(c).addr is None,
              "EDESTADDRREQ",
              "profile parameter dgram_send_autobinds: inet_send_prepare() autobinds before "
              "udp_sendmsg() checks", lambda p: p.dgram_send_autobinds,
              "profile.dgram_send_autobinds", effect="autobind"),
        Check("a datagram socket with no peer",
              lambda p, c: not _stream(c) and _sock(c).state is not C, "EDESTADDRREQ",
              "send(2) [EDESTADDRREQ]"),
        Check("the socket is not connected", lambda p, c: _sock(c).state is not C,
              "profile.send_unconnected", "profile parameter send_unconnected"),
        Check("no more to send (SEND_SHUTDOWN: shutdown(SHUT_WR), a closed AF_UNIX peer)",
              lambda p, c: _shut_send(c), "EPIPE",
              "tcp_sendmsg_locked(), unix_stream_sendmsg(): SEND_SHUTDOWN", _error_first,
              "profile.send_order error-first"),
    ),
    "recv": (
        *DESC,
        Check("a TCP listener", lambda p, c: _tcp(c) and _sock(c).state is L, "ENOTCONN",
              "tcp_recvmsg_locked(): TCP_LISTEN; soiolock()"),
        Check("an AF_UNIX SEQPACKET socket that is not connected",
              lambda p, c: _is(c, "AF_UNIX") and _sock(c).type == "SOCK_SEQPACKET"
              and _sock(c).state not in (C, D), "ENOTCONN",
              "unix_seqpacket_recvmsg(); soreceive_generic_locked()"),
        Check("an AF_UNIX stream socket that is not connected",
              lambda p, c: _unix_stream(p, c) and _sock(c).state not in (C, D),
              "profile.recv_unconnected_unix_stream",
              "profile parameter recv_unconnected_unix_stream"),
        Check("SEQPACKET: a pending error comes before the data",
              lambda p, c: _sock(c).type == "SOCK_SEQPACKET" and _sock(c).error is not None,
              "pending-error", "__skb_recv_datagram(): sock_error() first (measured)",
              lambda p: p.seqpacket_error_first, "profile.seqpacket_error_first",
              effect="clear-error"),
        Check("a datagram socket (datagrams are not modelled: nothing to read)",
              lambda p, c: _sock(c).type == "SOCK_DGRAM", "EAGAIN",
              "listenspec choice: send() on a datagram socket delivers nothing in the model"),
        Check("data waits: it is read", lambda p, c: bool(_sock(c).rcv), "-> read",
              "tcp_recvmsg_locked(), unix_stream_read_generic(): the queue first"),
        Check("TCP: the peer's FIN arrived (SOCK_DONE): end of file, before any error",
              lambda p, c: _tcp(c) and _sock(c).fin, "-> eof",
              "tcp_recvmsg_locked(): SOCK_DONE is looked at before sk_err",
              lambda p: p.recv_eof_before_error, "profile.recv_eof_before_error"),
        Check("a pending error: reported once, and cleared",
              lambda p, c: _sock(c).error is not None, "pending-error",
              "sock_error(); soreceive_generic_locked()", effect="clear-error"),
        Check("a TCP socket closed for good by a refusal or a reset: end of file", _dead,
              "-> eof", "profile parameter dead_after_error: gVisor endpoint Read() in "
              "StateError (measured, spec/sources/gvisor-2022-12.md §8)", _dead_profile,
              "profile.dead_after_error"),
        Check("no more to read: end of file", lambda p, c: _shut_rcv(c), "-> eof",
              "RCV_SHUTDOWN / SBS_CANTRCVMORE"),
        Check("the socket is not connected", lambda p, c: _sock(c).state is not C, "ENOTCONN",
              "tcp_recvmsg_locked(): TCP_CLOSE; soreceive_generic_locked(): PR_CONNREQUIRED"),
        Check("nothing waits (non-blocking)", lambda p, c: True, "EAGAIN",
              "recv(2) [EAGAIN]"),
    ),
    "shutdown": (
        *DESC,
        Check("a TCP listener: SHUT_RD stops it (queued connections reset); SHUT_WR does "
              "nothing", lambda p, c: _tcp(c) and _sock(c).state is L, "-> stop-listening",
              "inet_shutdown(): TCP_LISTEN (spec/sources/linux-6.18.md §3)",
              lambda p: p.shutdown_listener == "stop", "profile.shutdown_listener stop"),
        Check("a TCP listener: SHUT_RD resets its queued connections and it refuses new ones, "
              "still listening and bound; SHUT_WR does nothing",
              lambda p, c: _tcp(c) and _sock(c).state is L, "-> refuse-listening",
              "profile parameter shutdown_listener: gVisor endpoint.go shutdownLocked() "
              "(spec/sources/gvisor-2022-12.md §8)",
              lambda p: p.shutdown_listener == "refuse", "profile.shutdown_listener refuse"),
        Check("a listener: ENOTCONN, and SHUT_RD sets so_error ECONNABORTED",
              lambda p, c: _sock(c).state is L, "-> listener-abort",
              "soshutdown() (spec/sources/freebsd.md B5)",
              lambda p: p.shutdown_listener == "enotconn-abort",
              "profile.shutdown_listener enotconn-abort"),
        Check("a bound datagram socket: the directions are shut, as if it were connected",
              lambda p, c: not _stream(c) and not _unix(c) and _sock(c).addr is not None,
              "-> shut", "profile parameter dgram_shutdown_bound: gVisor",
              lambda p: p.dgram_shutdown_bound, "profile.dgram_shutdown_bound"),
        Check("an AF_UNIX socket: it never fails", lambda p, c: _unix(c), "-> shut",
              "unix_shutdown() (spec/sources/linux-6.18.md §3)",
              lambda p: p.unix_shutdown_unconnected is None,
              "profile.unix_shutdown_unconnected None"),
        Check("not connected: ENOTCONN, yet the directions are marked shut",
              lambda p, c: _sock(c).state is not C or _sock(c).connect_pending not in (None,
                                                                                      "ok"),
              "ENOTCONN", "inet_shutdown(): TCP_CLOSE falls through to set sk_shutdown",
              lambda p: p.shutdown_marks_unconnected, "profile.shutdown_marks_unconnected",
              effect="mark-shut"),
        Check("a datagram socket that is not connected: ENOTCONN, the work is still done",
              lambda p, c: _sock(c).state is not C and not _stream(c), "ENOTCONN",
              "soshutdown(): a datagram socket",
              lambda p: not p.shutdown_marks_unconnected and p.shutdown_dgram_marks,
              "not profile.shutdown_marks_unconnected, profile.shutdown_dgram_marks",
              effect="mark-shut"),
        Check("not connected", lambda p, c: _sock(c).state is not C, "ENOTCONN",
              "soshutdown(): a stream socket that is not connected",
              lambda p: not p.shutdown_marks_unconnected,
              "not profile.shutdown_marks_unconnected"),
        Check("connected: the directions are shut (SHUT_WR sends a FIN)",
              lambda p, c: True, "-> shut", "tcp_shutdown(); soshutdown()"),
    ),
    "syn": (
        Check("the target never named a socket (no address to aim at)",
              lambda p, c: _target(c).errno is not None, "target.errno",
              "SCRIPT_FORMAT.md extension: a NAME stands for the address its socket had"),
        Check("the target is an AF_UNIX socket", lambda p, c: _target(c).domain == "AF_UNIX",
              "EPROTOTYPE", "listenspec choice: a SYN cannot reach an AF_UNIX socket"),
        Check("nobody listens there", lambda p, c: c.lsock is None, "ECONNREFUSED",
              "tcp_input(): answered by an RST"),
    ),
    "close": (BADF,),
    "setsockopt": DESC,
    "getsockopt": DESC,
    "netstat": DESC,
}


#: (call, id(profile)) -> (the profile, its rows): which rows apply depends on the profile
#: only; the profile is kept so that its id is not reused while the entry stands
_ROWS: dict[tuple[str, int], tuple[Profile, tuple[Check, ...]]] = {}


def checks(call: str, p: Profile) -> tuple[Check, ...]:
    """The rows of `call`'s table that profile p makes, in order."""
    got = _ROWS.get((call, id(p)))
    if got is None or got[0] is not p:
        got = _ROWS[(call, id(p))] = (p, tuple(row for row in CHECKS.get(call, ())
                                               if row.applies(p)))
    return got[1]


def first(call: str, p: Profile, c: Ctx) -> Check | None:
    """The first row of `call`'s table (under p) whose condition holds, or None."""
    for row in checks(call, p):
        if row.test(p, c):
            return row
    return None


def refusal(call: str, p: Profile, c: Ctx) -> str | None:
    """The errno of the first row of `call` that holds, for tables of plain refusals."""
    row = first(call, p, c)
    if row is None:
        return None
    assert row.outcome is None and row.effect is None, f"{call}: use walk() for {row.when}"
    return row.errno_for(p, c)
