"""Transitions as tables (h11's lesson): the socket life cycle, and each call's refusals.

`LIFECYCLE` says which event moves a socket from which state to which; host.py moves sockets only
through `advance`, so the table is the whole story and the docs draw the diagram from it.
`GUARDS` lists, per call, the checks made before the call does anything, in the order the kernel
makes them, each with the errno it returns (a literal, or the name of a profile parameter). A
call refused by a guard returns the state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .profiles import Profile
from .state import FILE, Host, Socket, SockState

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
    return attrs.evolve(sock, state=nxt)


# --------------------------------------------------------------------------- guards


@attrs.frozen
class Ctx:
    """What the guards look at: the call's descriptor resolved against the state."""

    fd: int | None
    sock: Socket | None  # None if fd is not open, or is not a socket
    is_file: bool  # the descriptor is open but is not a socket
    holds_addr: bool = False  # the socket holds its local address (a port, a name)


def resolve(h: Host, fd: int | None) -> Ctx:
    if fd is None or fd not in h.fds:
        return Ctx(fd, None, False)
    sid = h.fds[fd]
    if sid == FILE:
        return Ctx(fd, None, True)
    sock = h.socks[sid]
    return Ctx(fd, sock, False, sock.addr is not None and h.addrs.get(sock.addr) == sid)


Test = Callable[[Profile, Ctx], bool]


@attrs.frozen
class Guard:
    when: str  # the condition, in words, for the docs
    test: Test
    errno: str  # an errno name, or `profile.<parameter>`
    source: str

    def errno_for(self, p: Profile) -> str:
        if self.errno.startswith("profile."):
            return str(getattr(p, self.errno.removeprefix("profile.")))
        return self.errno


def _sock(c: Ctx) -> Socket:
    assert c.sock is not None
    return c.sock


def _stream(c: Ctx) -> bool:
    return _sock(c).type != "SOCK_DGRAM"


BADF = Guard("the descriptor is not open", lambda p, c: c.sock is None and not c.is_file,
             "EBADF", "every seed page: [EBADF]")
NOTSOCK = Guard("the descriptor is not a socket", lambda p, c: c.is_file, "ENOTSOCK",
                "every seed page: [ENOTSOCK]")
DESC = (BADF, NOTSOCK)

GUARDS: dict[str, tuple[Guard, ...]] = {
    "bind": (
        *DESC,
        Guard("the socket already holds a local address",
              lambda p, c: c.holds_addr or _sock(c).state is L
              or (_sock(c).state is C and _sock(c).addr is not None), "EINVAL",
              "listenspec choice: in_pcbbind(), unp_bind(), inet_bind(), unix_bind()"),
    ),
    "listen": (
        *DESC,
        Guard("the socket is not SOCK_STREAM or SOCK_SEQPACKET", lambda p, c: not _stream(c),
              "EOPNOTSUPP", "every seed page: [EOPNOTSUPP]; pr_listen_notsupp(); sock_no_listen()"),
        Guard("the socket is connected, connecting or was reset",
              lambda p, c: _sock(c).state in (C, CG, D) or _sock(c).connect_pending is not None,
              "profile.listen_connected",
              "profile parameter listen_connected"),
        Guard("an AF_UNIX socket without a local address",
              lambda p, c: _sock(c).domain == "AF_UNIX" and _sock(c).addr is None,
              "profile.unbound_unix_listen", "profile parameter unbound_unix_listen"),
    ),
    "accept": (
        *DESC,
        Guard("a datagram socket", lambda p, c: not _stream(c), "profile.accept_dgram",
              "profile parameter accept_dgram"),
        Guard("the socket is not listening", lambda p, c: _sock(c).state is not L,
              "profile.accept_not_listening", "profile parameter accept_not_listening"),
        Guard("the completed queue is empty (non-blocking)",
              lambda p, c: not (_sock(c).listener and _sock(c).listener.comp),  # type: ignore[union-attr]
              "EAGAIN", "solisten_dequeue(); inet_csk_accept()"),
    ),
    "connect": (
        *DESC,
        Guard("an AF_UNIX socket that is listening",
              lambda p, c: _sock(c).state is L and _sock(c).domain == "AF_UNIX",
              "profile.connect_on_unix_listener", "profile parameter connect_on_unix_listener"),
        Guard("the socket is listening", lambda p, c: _sock(c).state is L,
              "profile.connect_on_listener", "profile parameter connect_on_listener"),
        Guard("the socket is already connected",
              lambda p, c: _sock(c).state is C and _sock(c).connect_pending is None
              and (_stream(c) or not p.dgram_reconnect),
              "EISCONN", "connect(2) [EISCONN]"),
        Guard("the socket was reset", lambda p, c: _sock(c).state is D, "EINVAL",
              "listenspec choice"),
    ),
    "send": (
        *DESC,
        Guard("the socket was reset", lambda p, c: _sock(c).state is D, "EPIPE",
              "send(2) [EPIPE]"),
        Guard("an AF_UNIX socket that is not connected",
              lambda p, c: _sock(c).state is not C and _sock(c).domain == "AF_UNIX",
              "ENOTCONN", "uipc_send(); unix_stream_sendmsg(); unix_dgram_sendmsg()"),
        Guard("a datagram socket with no peer",
              lambda p, c: not _stream(c) and _sock(c).state is not C, "EDESTADDRREQ",
              "send(2) [EDESTADDRREQ]"),
        Guard("the socket is not connected", lambda p, c: _sock(c).state is not C,
              "profile.send_unconnected", "profile parameter send_unconnected"),
    ),
    "close": (BADF,),
    "setsockopt": DESC,
    "getsockopt": DESC,
    "netstat": DESC,
}


def refusal(call: str, p: Profile, c: Ctx) -> str | None:
    """The errno of the first guard of `call` that refuses, or None."""
    for g in GUARDS.get(call, ()):
        if g.test(p, c):
            return g.errno_for(p)
    return None
