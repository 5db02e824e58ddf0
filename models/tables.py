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

from collections.abc import Callable

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
    (F, "connect"): CG,
    (B, "connect"): CG,
    (CG, "established"): C,  # the handshake completed and the connection was queued
    (CG, "reset"): D,  # the handshake completed, then the listener's side reset it
    (CG, "abandoned"): X,  # silently dropped: the executor gives up and closes (the contract)
    (C, "peer-reset"): D,  # e.g. the listener closed with the connection still queued
    (C, "evicted"): D,  # an accept filter's queue terminated it
    (D, "bind"): D,  # Linux: the reset gave the port back; the socket may bind again
    (D, "disconnect"): F,  # Linux: connect() reported the reset; tcp_disconnect(): unconnected
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
    connect() the target and what is bound there."""

    fd: int | None
    sock: Socket | None  # None if fd is not open, or is not a socket
    is_file: bool  # the descriptor is open but is not a socket
    holds_addr: bool = False  # the socket holds its local address (a port, a name)
    target: Target | None = None
    at: Socket | None = None  # the socket bound at the target's address
    lsock: Socket | None = None  # ... if it is listening


def resolve(h: Host, fd: int | None, target: Target | None = None) -> Ctx:
    at = None
    if target is not None and target.addr is not None and target.addr in h.addrs:
        at = h.socks.get(h.addrs[target.addr])
    lsock = at if at is not None and at.state is L else None
    if fd is None or fd not in h.fds:
        return Ctx(fd, None, False, target=target, at=at, lsock=lsock)
    sid = h.fds[fd]
    if sid == FILE:
        return Ctx(fd, None, True, target=target, at=at, lsock=lsock)
    sock = h.socks[sid]
    holds = sock.addr is not None and h.addrs.get(sock.addr) == sid
    return Ctx(fd, sock, False, holds, target, at, lsock)


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
        if then in ("target.errno", "family", "family-unix", "pending-error"):
            if c is None:
                return _DESCRIBED[then]
            return _dynamic_errno(then, p, c)
        return then


_DESCRIBED = {"target.errno": "EBADF or ENOTSOCK", "family": "profile.connect_family_errno",
              "family-unix": "profile.connect_family_errno",
              "pending-error": "the pending error"}


def _dynamic_errno(then: str, p: Profile, c: Ctx) -> str:
    t = c.target
    if then == "target.errno":
        assert t is not None and t.errno is not None
        return t.errno
    if then == "pending-error":
        assert c.sock is not None and c.sock.error is not None
        return c.sock.error
    assert t is not None and t.domain is not None and c.sock is not None
    if then == "family-unix":
        return family_errno(p, "AF_UNIX", t.domain)
    kind = t.domain if t.addr is not None else f"{t.domain}/unbound"
    return family_errno(p, c.sock.domain, kind)


def family_errno(p: Profile, client: str, target: str) -> str:
    """profile.connect_family_errno: what connect() answers for an address of another family."""
    for cl, t, errno in p.connect_family_errno:
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


def _full(p: Profile, c: Ctx) -> bool:
    from . import rules  # rules imports profiles only; tables stays below rules

    lst = c.lsock.listener if c.lsock is not None else None
    assert lst is not None
    return not rules.admits(p, len(lst.comp), len(lst.half_open), lst.qlimit)


def _unix_stream(p: Profile, c: Ctx) -> bool:
    return _is(c, "AF_UNIX", stream=True)


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

CHECKS: dict[str, tuple[Check, ...]] = {
    "bind": (
        *DESC,
        Check("the socket already holds a local address",
              lambda p, c: c.holds_addr or _sock(c).state is L
              or (_sock(c).state is C and _sock(c).addr is not None), "EINVAL",
              "listenspec choice: in_pcbbind(), unp_bind(), inet_bind(), unix_bind()"),
    ),
    "listen": (
        *DESC,
        Check("the socket is not SOCK_STREAM or SOCK_SEQPACKET", lambda p, c: not _stream(c),
              "EOPNOTSUPP", "every seed page: [EOPNOTSUPP]; pr_listen_notsupp(); sock_no_listen()"),
        Check("the socket is connected, connecting or was reset",
              lambda p, c: _sock(c).state in (C, CG, D) or _sock(c).connect_pending is not None,
              "profile.listen_connected",
              "profile parameter listen_connected"),
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
        Check("the completed queue is empty (non-blocking)",
              lambda p, c: not (_sock(c).listener and _sock(c).listener.comp),  # type: ignore[union-attr]
              "EAGAIN", "solisten_dequeue(); inet_csk_accept()"),
    ),
    "connect": (
        Check("the target never named a socket (no address to aim at)",
              lambda p, c: _target(c).errno is not None, "target.errno",
              "SCRIPT_FORMAT.md extension: a NAME stands for the address its socket had; "
              "getsockname(2) on what it names"),
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
        Check("AF_UNIX stream: the name's socket is of another type",
              lambda p, c: _unix_stream(p, c) and c.at is not None
              and c.at.type != _sock(c).type, "EPROTOTYPE", UNIX_FIRST_SRC, _unix_first,
              UNIX_FIRST),
        Check("AF_UNIX stream: nobody listens at the name",
              lambda p, c: _unix_stream(p, c) and c.lsock is None, "ECONNREFUSED",
              UNIX_FIRST_SRC, _unix_first, UNIX_FIRST),
        Check("AF_UNIX stream: the listener's queue is full",
              lambda p, c: _unix_stream(p, c) and _full(p, c), "-> unix-overflow",
              UNIX_FIRST_SRC + "; unix_stream_connect(): unix_recvq_full()", _unix_first,
              UNIX_FIRST),
        *DESC,
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
              lambda p, c: _other_family(c) and not _v6_to_v4(p, c), "family",
              "profile parameter connect_family_errno"),
        Check("AF_UNIX datagram: the target has no name",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and _target(c).addr is None,
              "EINVAL", "unix_dgram_connect(): unix_validate_addr()"),
        Check("AF_UNIX datagram: nothing is bound at the name",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and c.at is None, "ECONNREFUSED",
              "unix_dgram_connect(); unp_connectat()"),
        Check("AF_UNIX datagram: the name's socket is of another type",
              lambda p, c: _is(c, "AF_UNIX", stream=False) and c.at is not None
              and c.at.type != _sock(c).type, "EPROTOTYPE",
              "unix_dgram_connect(); unp_connectat()"),
        Check("a datagram socket: it records the peer", lambda p, c: not _stream(c),
              "-> dgram", "udp_connect(); unix_dgram_connect(): no listen queue is involved"),
        Check("TCP to its own address: simultaneous open with itself",
              lambda p, c: _sock(c).domain != "AF_UNIX" and c.holds_addr
              and _target(c).addr == _sock(c).addr, "-> self-connect",
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
        Check("TCP: nobody listens there (the SYN is answered by an RST)",
              lambda p, c: _sock(c).domain != "AF_UNIX"
              and (c.lsock is None or c.lsock.type != _sock(c).type), "ECONNREFUSED",
              "tcp_input(): a SYN to a closed port", lambda p: not p.sticky_connecting,
              "not profile.sticky_connecting"),
        Check("TCP: nobody listens there (the SYN is answered by an RST; the attempt took a "
              "port and the RST gave it back)",
              lambda p, c: _sock(c).domain != "AF_UNIX"
              and (c.lsock is None or c.lsock.type != _sock(c).type), "-> refused-rst",
              "measured by the kernel executor: tcp_done() puts the port, getsockname() "
              "still shows it", lambda p: p.sticky_connecting, "profile.sticky_connecting"),
        Check("the connection reaches the listener", lambda p, c: True, "-> arrive",
              "rules.arrival decides"),
    ),
    "send": (
        Check("a pending error (so_error): reported, and cleared",
              lambda p, c: c.sock is not None and c.sock.error is not None, "pending-error",
              "sosend(); tcp_sendmsg_locked(): sock_error()", effect="clear-error"),
        *DESC,
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
