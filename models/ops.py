"""Small operations on a host state that the transition modules (host.py, dataplane.py,
timers.py, options.py) share: ids and descriptors, counters, addresses, and what a reset, an
overflow or a full request queue does to a host. Pure: each returns a new Host."""

from __future__ import annotations

from . import rules
from .outcome import put, with_listener
from .profiles import Profile
from .state import BOTH, ORPHAN, Host, Listener, Socket, SockState, evolve
from .tables import advance


def setting(p: Profile, h: Host, key: str) -> int:
    """A setting in force: its sysctl's current value, or the profile's fixed value."""
    value = h.sysctl.get(key)
    return p.default(key) if value is None else value


def limit(p: Profile, h: Host) -> int:
    """The hard limit on the backlog in force."""
    return setting(p, h, "limit")


def new_id(h: Host) -> tuple[Host, int]:
    return evolve(h, next_id=h.next_id + 1), h.next_id


def new_fd(h: Host, sid: int) -> tuple[Host, int]:
    fd = h.fds.first_gap(3)  # the lowest free descriptor, without a scan from 3 every time
    return evolve(h, fds=h.fds.set(fd, sid)), fd


def bump(h: Host, names: tuple[str, ...]) -> Host:
    counters = h.counters
    for n in names:
        counters = counters.set(n, counters.get(n, 0) + 1)
    return evolve(h, counters=counters)


# --------------------------------------------------------------------------- addresses


def holders(h: Host, addr: int | None) -> tuple[int, ...]:
    return () if addr is None else h.addrs.get(addr, ())


def take_port(h: Host, sock: Socket, *, wildcard: bool = False) -> tuple[Host, Socket]:
    """Give the socket a fresh local address it holds (its state is the caller's business)."""
    h, addr = new_id(h)
    h = evolve(h, addrs=h.addrs.set(addr, (sock.sid,)))
    sock = evolve(sock, addr=addr, wildcard=wildcard, port_given=False)
    return put(h, sock), sock


def join(h: Host, sock: Socket, addr: int, wildcard: bool) -> Host:
    """The socket binds to an address others hold too (SO_REUSEPORT): it joins them."""
    moved = advance(sock, "bind") if sock.state is not SockState.BOUND else sock
    h = evolve(h, addrs=h.addrs.set(addr, (*holders(h, addr), sock.sid)))
    return put(h, evolve(moved, addr=addr, wildcard=wildcard, port_given=True))


def implicit_bind(h: Host, sock: Socket, *, wildcard: bool) -> Host:
    """bind(2), or an implicit bind (on the wildcard address) by listen/send/connect."""
    moved = advance(sock, "bind") if sock.state is not SockState.BOUND else sock
    h, _sock = take_port(h, moved, wildcard=wildcard)
    return h


def release(h: Host, sock: Socket) -> Host:
    """The socket gives its port back (getsockname() may still show it)."""
    left = tuple(s for s in holders(h, sock.addr) if s != sock.sid)
    if sock.addr is None or left == holders(h, sock.addr):
        return h
    addrs = h.addrs.set(sock.addr, left) if left else h.addrs.remove(sock.addr)
    return evolve(h, addrs=addrs)


def forget(h: Host, sock: Socket) -> Host:
    """Remove a closed socket and free its address. A name an AF_UNIX socket bound is a file,
    which stays until unlink(2), and no call of the format unlinks: the name stays held
    (ORPHAN), so bind() to it is EADDRINUSE and connect() ECONNREFUSED (unix_bind(),
    unp_bind(): measured on this kernel and gVisor). An autobound (abstract) name goes."""
    addr, held = sock.addr, holders(h, sock.addr)
    if addr is not None and sock.domain == "AF_UNIX" and not sock.wildcard and sock.sid in held:
        h = evolve(h, addrs=h.addrs.set(addr, tuple(ORPHAN if s == sock.sid else s
                                                    for s in held)))
    else:
        h = release(h, sock)
    return evolve(h, socks=h.socks.remove(sock.sid))


# --------------------------------------------------------------------------- what happens to a host


def addr_text(sock: Socket) -> str:
    """How a kernel prints the socket's local address (an autobound listener: the wildcard)."""
    if sock.domain == "AF_INET":
        return f"{'0.0.0.0' if sock.wildcard else '127.0.0.1'}:<port>"
    return f"[{'::' if sock.wildcard else '::1'}]:<port>"


def where(sock: Socket) -> str:
    if sock.domain == "AF_UNIX":
        return "local:<path>"
    return f"{addr_text(sock)} (proto 6)"


def synflood(p: Profile, h: Host, lsock: Socket, cookies: int) -> tuple[Host, Listener]:
    """Linux tcp_syn_flood_action(): a full request queue (or syncookies=2), counted, and
    logged once per listener unless syncookies=2 (net/ipv4/tcp_input.c; reference/linux.md §2,
    spec/sources/linux-6.18.md §9.2). Returns the host and the listener afterwards."""
    h = bump(h, p.synflood_counters[1 if cookies else 0])
    lst = lsock.listener
    assert lst is not None
    if lst.synflood_warned or cookies == 2 or not p.synflood_log:
        return h, lst
    proto = "request_sock_TCPv6" if lsock.domain == "AF_INET6" else "request_sock_TCP"
    what = "Sending cookies" if cookies else "Dropping request"
    line = f"TCP: {proto}: Possible SYN flooding on port {addr_text(lsock)}. {what}."
    h = evolve(h, log=(*h.log, line))
    lst = evolve(lst, synflood_warned=True)
    return with_listener(h, lsock, lst), lst


def reset_socket(p: Profile, h: Host, sock: Socket, event: str) -> Host:
    """An RST reaches a connected socket: its pending error, no more to send or read
    (tcp_done(): SHUTDOWN_MASK), and on Linux its autobound port is given back. After the
    peer's FIN the error is profile.rst_in_close_wait (Linux tcp_reset(): EPIPE in
    CLOSE_WAIT), before it ECONNRESET."""
    errno = p.rst_in_close_wait if sock.fin else "ECONNRESET"
    sock = evolve(advance(sock, event), error=errno, queued_on=None, shut=BOTH)
    h = put(h, sock)
    if p.reset_unbinds and sock.domain != "AF_UNIX":
        h = release(h, sock)  # getsockname() still shows it
    return h


def reset_client(p: Profile, h: Host, client_sid: int, event: str) -> Host:
    """The client end of a connection the listener side terminated gets an RST."""
    client = h.socks.get(client_sid)
    if client is None or client.state is not SockState.CONNECTED:
        return h
    return reset_socket(p, h, client, event)


def overflow(p: Profile, h: Host, lsock: Socket, tcp: bool) -> Host:
    """A connection found the completed queue full: count it and maybe log it."""
    assert lsock.listener is not None
    lst = evolve(lsock.listener, overcount=lsock.listener.overcount + 1)
    if rules.overflow_logged(p, prio=setting(p, h, "sooverprio"), lastover=lst.lastover,
                             now=h.clock, interval_s=setting(p, h, "overinterval")):
        line = rules.overflow_log_line(p, where(lsock), len(lst.comp), lst.overcount)
        h = evolve(h, log=(*h.log, line))
        lst = evolve(lst, overcount=0, lastover=h.clock)
    h = with_listener(h, lsock, lst)
    return bump(h, p.overflow_counters) if tcp else h
