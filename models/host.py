"""One pure transition per call of the script format: (profile, state, arguments) -> Outcome.

Arguments are already resolved by the runner: descriptors are ints, a connect/syn target is the
address id (and domain) of the socket the script named. No I/O, no clock, no randomness: the
same inputs always give the same outcome. A call refused by a guard (tables.GUARDS) returns the
very state it was given, with `refused=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from listenspec.results import Err, Lines, NewFd, Queue, Ret

from . import options, rules
from .outcome import Outcome as Outcome  # re-exported: callers see one module of transitions
from .outcome import put as _put
from .outcome import refuse as _refuse
from .outcome import sock_of as _s
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import FILE, FMap, Host, Listener, Pending, Socket, SockState
from .tables import Ctx, advance, refusal, resolve


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


def initial(p: Profile) -> Host:
    """A freshly booted host under profile p: every sysctl at its default, counters at 0."""
    values: dict[str, int] = {}
    for s in p.sysctls:
        values.setdefault(s.key, s.default)
    return Host(sysctl=FMap(values), counters=FMap(dict.fromkeys(p.counters, 0)))


def limit(p: Profile, h: Host) -> int:
    """The hard limit on the backlog in force."""
    if "limit" in h.sysctl:
        return h.sysctl["limit"]
    assert p.fixed_limit is not None
    return p.fixed_limit


# --------------------------------------------------------------------------- helpers


def _new_id(h: Host) -> tuple[Host, int]:
    return attrs.evolve(h, next_id=h.next_id + 1), h.next_id


def _new_fd(h: Host, sid: int) -> tuple[Host, int]:
    fd = h.fds.first_gap(3)  # the lowest free descriptor, without a scan from 3 every time
    return attrs.evolve(h, fds=h.fds.set(fd, sid)), fd


def _bump(h: Host, names: tuple[str, ...]) -> Host:
    counters = h.counters
    for n in names:
        counters = counters.set(n, counters.get(n, 0) + 1)
    return attrs.evolve(h, counters=counters)


def _addr_text(sock: Socket) -> str:
    """How a kernel prints the socket's local address (an autobound listener: the wildcard)."""
    if sock.domain == "AF_INET":
        return f"{'0.0.0.0' if sock.wildcard else '127.0.0.1'}:<port>"
    return f"[{'::' if sock.wildcard else '::1'}]:<port>"


def _where(sock: Socket) -> str:
    if sock.domain == "AF_UNIX":
        return "local:<path>"
    return f"{_addr_text(sock)} (proto 6)"


def _synflood(p: Profile, h: Host, lsock: Socket, cookies: int) -> tuple[Host, Listener]:
    """Linux tcp_syn_flood_action(): a full request queue, counted, and logged once per
    listener unless syncookies=2 (net/ipv4/tcp_input.c; reference/linux.md §2).
    Returns the host and the listener as they are afterwards."""
    h = _bump(h, ("TCPReqQFullDoCookies",) if cookies else ("TCPReqQFullDrop",))
    lst = lsock.listener
    assert lst is not None
    if lst.synflood_warned or cookies == 2:
        return h, lst
    proto = "request_sock_TCPv6" if lsock.domain == "AF_INET6" else "request_sock_TCP"
    what = "Sending cookies" if cookies else "Dropping request"
    line = f"TCP: {proto}: Possible SYN flooding on port {_addr_text(lsock)}. {what}."
    h = attrs.evolve(h, log=(*h.log, line))
    lst = attrs.evolve(lst, synflood_warned=True)
    return _with_listener(h, lsock, lst), lst


def _reset_client(p: Profile, h: Host, client_sid: int, event: str) -> Host:
    """The client end of a connection the listener side terminated gets an RST."""
    client = h.socks.get(client_sid)
    if client is None or client.state is not SockState.CONNECTED:
        return h
    client = attrs.evolve(advance(client, event), error="ECONNRESET", queued_on=None)
    if p.reset_unbinds and client.addr is not None and h.addrs.get(client.addr) == client.sid:
        h = attrs.evolve(h, addrs=h.addrs.remove(client.addr))  # getsockname() still shows it
    return _put(h, client)


def _overflow(p: Profile, h: Host, lsock: Socket, tcp: bool) -> Host:
    """A connection found the completed queue full: count it and maybe log it."""
    assert lsock.listener is not None
    lst = attrs.evolve(lsock.listener, overcount=lsock.listener.overcount + 1)
    if p.overflow_log and h.sysctl.get("sooverprio", 7) >= 0:
        interval = h.sysctl.get("overinterval", 60) * 1_000_000
        if rules.ratecheck(lst.lastover, h.clock, interval):
            line = rules.overflow_log_line(p, _where(lsock), len(lst.comp), lst.overcount)
            h = attrs.evolve(h, log=(*h.log, line))
            lst = attrs.evolve(lst, overcount=0, lastover=h.clock)
    h = _with_listener(h, lsock, lst)
    return _bump(h, p.overflow_counters) if tcp else h


def _listening_target(h: Host, target: Target) -> Socket | None:
    if target.addr is None or target.addr not in h.addrs:
        return None
    sock = h.socks[h.addrs[target.addr]]
    return sock if sock.state is SockState.LISTENING else None


# --------------------------------------------------------------------------- calls


def socket(p: Profile, h: Host, domain: str, type_: str) -> Outcome:
    if domain == "AF_INET6" and not p.inet6:
        return _refuse(h, "EAFNOSUPPORT")
    if domain != "AF_UNIX" and type_ == "SOCK_SEQPACKET":
        return _refuse(h, p.inet_seqpacket)
    h, sid = _new_id(h)
    h = _put(h, Socket(sid=sid, domain=domain, type=type_))
    h, fd = _new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


def open_(p: Profile, h: Host) -> Outcome:
    h, fd = _new_fd(h, FILE)
    return Outcome(h, NewFd(), fd=fd)


def bind(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("bind", p, c)) is not None:
        return _refuse(h, errno)
    return Outcome(_bind(h, _s(c)), Ret(0))


def _take_port(h: Host, sock: Socket, *, wildcard: bool = False) -> tuple[Host, Socket]:
    """Give the socket a fresh local address it holds (its state is the caller's business)."""
    h, addr = _new_id(h)
    h = attrs.evolve(h, addrs=h.addrs.set(addr, sock.sid))
    sock = attrs.evolve(sock, addr=addr, wildcard=wildcard)
    return _put(h, sock), sock


def _bind(h: Host, sock: Socket, *, wildcard: bool = False) -> Host:
    """bind(2), or an implicit bind (on the wildcard address) by listen/send/connect."""
    moved = advance(sock, "bind") if sock.state is not SockState.BOUND else sock
    h, _sock = _take_port(h, moved, wildcard=wildcard)
    return h


def listen(p: Profile, h: Host, fd: int, backlog: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("listen", p, c)) is not None:
        return _refuse(h, errno)
    sock = _s(c)
    qlimit = rules.effective_backlog(p, backlog, limit(p, h))
    if sock.listener is not None:  # re-listen
        lst = sock.listener
        keep_comp, keep_inc = rules.relisten_kept(p, len(lst.comp), len(lst.incomp), qlimit)
        lst = attrs.evolve(lst, qlimit=qlimit, comp=lst.comp[:keep_comp],
                           incomp=lst.incomp[len(lst.incomp) - keep_inc:])
        return Outcome(_with_listener(h, sock, lst), Ret(0))
    if not c.holds_addr:  # TCP binds an ephemeral port, on the wildcard address
        h = _bind(h, sock, wildcard=True)
        sock = h.socks[sock.sid]
    sock = attrs.evolve(advance(sock, "listen"), listener=Listener(qlimit=qlimit))
    return Outcome(_put(h, sock), Ret(0))


def connect(p: Profile, h: Host, fd: int, target: Target) -> Outcome:
    if target.errno is not None:
        return _refuse(h, target.errno)
    c = resolve(h, fd)
    if c.sock is not None and c.sock.connect_pending is not None:
        return _end_connect(h, c.sock)
    if (p.unix_address_first and c.sock is not None and c.sock.domain == "AF_UNIX"
            and c.sock.type != "SOCK_DGRAM"):
        return _connect_unix_target_first(p, h, c, target)
    if (errno := refusal("connect", p, c)) is not None:
        return _refuse(h, errno)
    c_state = h
    client = _s(c)
    inet_dgram = client.type == "SOCK_DGRAM" and client.domain != "AF_UNIX"
    if inet_dgram and p.dgram_send_autobinds and not c.holds_addr:
        # Linux inet_dgram_connect() binds the socket before the protocol looks at the
        # address, so a connect refused below still leaves it bound.
        h = _bind(h, client, wildcard=True)
        client = h.socks[client.sid]

    def fail(errno: str) -> Outcome:
        return Outcome(h, Err(errno)) if h is not c_state else _refuse(h, errno)

    # Linux: an unbound AF_INET6 datagram socket may connect to IPv4 (not once bound to ::1)
    v4_ok = False
    if p.dgram_v6_takes_v4 and client.type == "SOCK_DGRAM" and (
            client.domain, target.domain) == ("AF_INET6", "AF_INET"):
        # Linux hands an IPv4 address to __ip4_datagram_connect(), which works from the
        # wildcard address and not from an explicit bind to ::1.
        if client.addr is not None and not client.wildcard:
            return fail("EAFNOSUPPORT")
        v4_ok = True
    if target.domain is not None and target.domain != client.domain and not v4_ok:
        kind = target.domain if target.addr is not None else f"{target.domain}/unbound"
        return fail(_family_errno(p, client.domain, kind))
    if client.type == "SOCK_DGRAM":
        return _connect_dgram(h, client, target)
    if (client.domain != "AF_UNIX" and client.addr is not None and target.addr == client.addr
            and h.addrs.get(client.addr) == client.sid):
        # TCP simultaneous open with itself (RFC 793): the socket ends up connected to itself.
        client = advance(advance(client, "connect"), "established")
        return Outcome(_put(h, attrs.evolve(client, connect_pending=_pending(p, "ok"))), Ret(0))
    lsock = _listening_target(h, target)
    if client.domain == "AF_UNIX":
        if (errno := _unix_target_errno(p, h, client, target)) is not None:
            return _refuse(h, errno)
    elif lsock is None or lsock.type != client.type:
        # Nobody listens there: the SYN is answered by an RST.
        if not p.sticky_connecting:
            return _refuse(h, "ECONNREFUSED")
        # Linux: the attempt took a port, and the RST gave it back (tcp_done() puts the port;
        # getsockname() still shows it).
        if client.addr is None:
            h, addr = _new_id(h)
            client = attrs.evolve(client, addr=addr)
        elif h.addrs.get(client.addr) == client.sid:
            h = attrs.evolve(h, addrs=h.addrs.remove(client.addr))
        client = attrs.evolve(client, connect_pending="failed")
        return Outcome(_put(h, client), Err("ECONNREFUSED"))
    assert lsock is not None  # _unix_target_errno refused every AF_UNIX case without one
    return _arrive(p, h, lsock, client)


def _unix_target_errno(p: Profile, h: Host, client: Socket, target: Target) -> str | None:
    """Why an AF_UNIX connect cannot reach the target at all, if it cannot."""
    if target.domain is not None and target.domain != "AF_UNIX":
        return _family_errno(p, "AF_UNIX", target.domain)
    if target.addr is None:
        # An unbound socket's name is its family alone: no path (unix_validate_addr(),
        # unp_connectat(): EINVAL).
        return "EINVAL"
    bound = h.socks.get(h.addrs[target.addr]) if target.addr in h.addrs else None
    if bound is not None and bound.type != client.type:
        return "EPROTOTYPE"  # the name's socket is of another type
    if _listening_target(h, target) is None:
        return "ECONNREFUSED"
    return None


def _connect_unix_target_first(p: Profile, h: Host, c: Ctx, target: Target) -> Outcome:
    """Linux unix_stream_connect(): the address, the listener and its queue are checked
    before the connecting socket's own state (measured by the kernel executor)."""
    client = _s(c)
    if (errno := _unix_target_errno(p, h, client, target)) is not None:
        return _refuse(h, errno)
    lsock = _listening_target(h, target)
    assert lsock is not None and lsock.listener is not None
    lst = lsock.listener
    if not rules.admits(p, len(lst.comp), len(lst.half_open), lst.qlimit):
        return Outcome(_overflow(p, h, lsock, tcp=False), Err(p.unix_overflow))
    if (errno := refusal("connect", p, c)) is not None:
        return _refuse(h, errno)
    return _arrive(p, h, lsock, client)


def _pending(p: Profile, how: str) -> str | None:
    return how if p.sticky_connecting else None


def _end_connect(h: Host, sock: Socket) -> Outcome:
    """Linux: a connect() after a settled non-blocking one only reports how that one ended:
    0 if it is still established, else the pending error (or ECONNABORTED) (__inet_stream_connect
    SS_CONNECTING case)."""
    if sock.connect_pending == "ok" and sock.state is SockState.CONNECTED:
        return Outcome(_put(h, attrs.evolve(sock, connect_pending=None)), Ret(0))
    result = Err(sock.error or "ECONNABORTED")
    return Outcome(_put(h, attrs.evolve(sock, connect_pending=None, error=None)), result)


def _family_errno(p: Profile, client: str, target: str) -> str:
    for c, t, errno in p.connect_family_errno:
        if c == client and t in ("*", target):
            return errno
    return "EAFNOSUPPORT"


def _connect_dgram(h: Host, client: Socket, target: Target) -> Outcome:
    """A datagram connect only records the peer; no listen queue is involved."""
    if client.domain == "AF_UNIX":
        sid = h.addrs.get(target.addr) if target.addr is not None else None
        peer = h.socks.get(sid) if sid is not None else None
        if peer is None:
            return _refuse(h, "EINVAL" if target.addr is None else "ECONNREFUSED")
        if peer.type != client.type:
            return _refuse(h, "EPROTOTYPE")
    if client.state is not SockState.CONNECTED:
        client = advance(advance(client, "connect"), "established")
    if client.domain != "AF_UNIX" and client.addr is None:  # a UDP connect binds a port
        h, client = _take_port(h, client, wildcard=True)
    return Outcome(_put(h, client), Ret(0))


def _arrive(p: Profile, h: Host, lsock: Socket, client: Socket) -> Outcome:
    """A connection attempt from `client` reaches listener `lsock`."""
    lst = lsock.listener
    assert lst is not None
    tcp = client.domain != "AF_UNIX"
    want_cookie = False
    if tcp and p.half_open == "reqsk":
        # Linux tcp_conn_request(): a full request queue without syncookies drops the SYN;
        # with them the SYN-ACK carries a cookie, and the final ACK makes the child at once
        # (no request sock, so no TCP_DEFER_ACCEPT wait).
        cookies = h.sysctl.get("syncookies", 1)
        reqsk_full = rules.request_queue_full(len(lst.half_open), len(lst.incomp), lst.qlimit)
        if reqsk_full:
            h, lst = _synflood(p, h, lsock, cookies)
            lsock = h.socks[lsock.sid]
        if reqsk_full and cookies == 0:
            return _dropped(_bump(h, ("ListenDrops",)), client)
        want_cookie = cookies == 2 or reqsk_full
    half_open = len(lst.half_open) if tcp else 0
    if not rules.admits(p, len(lst.comp), half_open, lst.qlimit):
        if not tcp:
            # The client is refused at once and is left as it was.
            return Outcome(_overflow(p, h, lsock, tcp=False), Err(p.unix_overflow))
        h = _overflow(p, h, lsock, tcp=True)
        if p.tcp_overflow == "reset":
            if h.sysctl.get("rst_on_sock_fail", 1):
                client = advance(advance(client, "connect"), "reset")
                return Outcome(_put(h, client), Err("ECONNRESET"))
            # The final ACK is dropped after the syncache entry is gone: the client's
            # handshake completed, but nothing reached the listener (reference/freebsd.md §6).
            return Outcome(_put(h, advance(advance(client, "connect"), "established")), Ret(0))
        return _dropped(h, client)
    h, conn = _new_id(h)
    entry = Pending(conn=conn, client=client.sid)
    if lst.accept_filter is not None:
        # solisten_enqueue(): with a filter every child goes to the incomplete queue, after
        # the oldest ones are terminated. A TCP child is at once soisconnected() and so parks
        # on the filter's upcall; an AF_UNIX child keeps SO_ACCEPTFILTER and waits.
        n = len(lst.incomp)
        k = rules.evictions(p, n, lst.qlimit)
        gone = [rules.evicted(i, k, n) for i in range(n)]
        evicted = tuple(e for e, out in zip(lst.incomp, gone, strict=True) if out)
        kept = tuple(e for e, out in zip(lst.incomp, gone, strict=True) if not out)
        for e in evicted:
            h = _reset_client(p, h, e.client, "evicted")
        entry = attrs.evolve(entry, upcall=lst.accept_filter if tcp else None)
        lst = attrs.evolve(lst, incomp=(*kept, entry))
    elif tcp and lsock.defer_accept > 0 and not want_cookie:
        # Linux TCP_DEFER_ACCEPT: the bare ACK is dropped; the connection waits as a request
        # sock until data (or a FIN) arrives.
        entry = attrs.evolve(entry, upcall="defer")
        lst = attrs.evolve(lst, incomp=(*lst.incomp, entry))
    else:
        lst = attrs.evolve(lst, comp=(*lst.comp, entry))
    h = _with_listener(h, h.socks[lsock.sid], lst)
    client = advance(advance(client, "connect"), "established")
    client = attrs.evolve(client, queued_on=lsock.sid,
                          connect_pending=_pending(p, "ok") if tcp else None)
    if tcp and client.addr is None:  # the connect bound an ephemeral port
        h, client = _take_port(h, client)
    return Outcome(_put(h, client), Ret(0))


def _dropped(h: Host, client: Socket) -> Outcome:
    """A silent drop: per the contract the executor abandons the attempt and closes C."""
    fds = h.fds
    for fd in fds.keys_of(client.sid):
        fds = fds.remove(fd)
    h = attrs.evolve(h, fds=fds)
    advance(advance(client, "connect"), "abandoned")  # the lifecycle table must allow it
    return Outcome(_forget(h, client), Err("EINPROGRESS"))


def _forget(h: Host, sock: Socket) -> Host:
    """Remove a closed socket and free its address."""
    if sock.addr is not None and h.addrs.get(sock.addr) == sock.sid:
        h = attrs.evolve(h, addrs=h.addrs.remove(sock.addr))
    return attrs.evolve(h, socks=h.socks.remove(sock.sid))


def syn(p: Profile, h: Host, target: Target) -> Outcome:
    """A peer sends a bare SYN to the target and never completes the handshake."""
    if target.errno is not None:
        return _refuse(h, target.errno)
    if target.domain == "AF_UNIX":
        return _refuse(h, "EPROTOTYPE")  # a SYN cannot reach an AF_UNIX socket
    lsock = _listening_target(h, target)
    if lsock is None:
        return _refuse(h, "ECONNREFUSED")  # answered by an RST
    lst = lsock.listener
    assert lst is not None
    if p.half_open == "syncache":
        # syncache_add(): independent of the listen queues; a full cache answers with a cookie
        total = sum(len(s.listener.half_open) for s in h.socks.values() if s.listener)
        if total < p.syncache_cache_limit:
            return Outcome(_add_half_open(h, lsock, lst), Ret(0))
        if h.sysctl.get("syncookies", 1):
            return Outcome(h, Ret(0))
        return Outcome(h, Err("EINPROGRESS"))
    if p.half_open == "reqsk":
        cookies = h.sysctl.get("syncookies", 1)
        reqsk_full = rules.request_queue_full(len(lst.half_open), len(lst.incomp), lst.qlimit)
        want_cookie = False
        if reqsk_full:
            h, lst = _synflood(p, h, lsock, cookies)
            lsock = h.socks[lsock.sid]
        if cookies == 2 or reqsk_full:
            if cookies == 0:
                return Outcome(_bump(h, ("ListenDrops",)), Err("EINPROGRESS"))
            want_cookie = True
        if not rules.admits(p, len(lst.comp), 0, lst.qlimit):
            return Outcome(_bump(h, p.overflow_counters), Err("EINPROGRESS"))
        if want_cookie:
            return Outcome(h, Ret(0))
        return Outcome(_add_half_open(h, lsock, lst), Ret(0))
    # 4.4BSD: sonewconn() on the SYN; half-open connections count against the backlog.
    if not rules.admits(p, len(lst.comp), len(lst.half_open), lst.qlimit):
        return Outcome(h, Err("EINPROGRESS"))
    return Outcome(_add_half_open(h, lsock, lst), Ret(0))


def _add_half_open(h: Host, lsock: Socket, lst: Listener) -> Host:
    """One more half-open peer on the listener (a syncache entry, a request sock, or q0)."""
    h, stamp = _new_id(h)
    return _with_listener(h, lsock, attrs.evolve(lst, half_open=(*lst.half_open, stamp)))


def accept(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("accept", p, c)) is not None:
        return _refuse(h, errno)
    lsock = _s(c)
    assert lsock.listener is not None
    head, *rest = lsock.listener.comp
    h = _with_listener(h, lsock, attrs.evolve(lsock.listener, comp=tuple(rest)))
    h, sid = _new_id(h)
    client = h.socks.get(head.client)
    # getsockname() on the accepted socket gives the listener's address
    server = advance(Socket(sid=sid, domain=lsock.domain, type=lsock.type, addr=lsock.addr),
                     "accepted")
    if client is not None and client.queued_on == lsock.sid:
        server = attrs.evolve(server, peer=client.sid)
        h = _put(h, attrs.evolve(client, queued_on=None, peer=sid))
    h = _put(h, server)
    h, fd = _new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


def send(p: Profile, h: Host, fd: int, data: bytes) -> Outcome:
    c = resolve(h, fd)
    if c.sock is not None and c.sock.error is not None:
        # A pending error is reported (and cleared) before anything else.
        return Outcome(_put(h, attrs.evolve(c.sock, error=None)), Err(c.sock.error))
    if (errno := refusal("send", p, c)) is not None:
        sock = c.sock
        if (errno == "EDESTADDRREQ" and p.dgram_send_autobinds and sock is not None
                and sock.addr is None and sock.state is SockState.FRESH):
            # bound on the way in (to the wildcard address), then refused
            return Outcome(_bind(h, sock, wildcard=True), Err(errno))
        return _refuse(h, errno)
    sock = _s(c)
    if sock.queued_on is not None and data:
        h = _feed(p, h, sock, data=data)
    return Outcome(h, Ret(len(data)))


def _feed(p: Profile, h: Host, client: Socket, *, data: bytes = b"", eof: bool = False) -> Host:
    """Data or a FIN from `client` reaches its queued connection; filters may release it."""
    assert client.queued_on is not None
    lsock = h.socks[client.queued_on]
    lst = lsock.listener
    assert lst is not None
    comp, incomp = list(lst.comp), []
    for e in lst.incomp:
        if e.client != client.sid:
            incomp.append(e)
            continue
        e = attrs.evolve(e, data=e.data + data, eof=e.eof or eof)
        if e.upcall == "defer":
            # Linux: data or a FIN ends the deferral; the child needs room in the accept queue.
            if rules.admits(p, len(comp), 0, lst.qlimit):
                comp.append(attrs.evolve(e, upcall=None))
            else:
                h = _bump(h, p.overflow_counters)
                incomp.append(e)
        elif e.upcall is not None and rules.filter_ready(e.upcall, e.data, e.eof, p.recv_hiwat):
            comp.append(attrs.evolve(e, upcall=None))  # soisconnected(): no limit check
        else:
            incomp.append(e)
    return _with_listener(h, lsock, attrs.evolve(lst, comp=tuple(comp), incomp=tuple(incomp)))


def close(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("close", p, c)) is not None:
        return _refuse(h, errno)
    h = attrs.evolve(h, fds=h.fds.remove(fd))
    sock = c.sock
    if sock is None or h.fds.keys_of(sock.sid):
        return Outcome(h, Ret(0))  # a file, or a socket still open through another descriptor
    if sock.listener is not None:
        # soclose(): every queued connection, complete or not, is aborted (RST to the client).
        for e in (*sock.listener.comp, *sock.listener.incomp):
            if e.upcall == "defer":
                # Linux: a deferred connection is a request sock; closing the listener drops
                # it quietly, and its client stays established until it sends (measured).
                client = h.socks.get(e.client)
                if client is not None:
                    h = _put(h, attrs.evolve(client, queued_on=None))
                continue
            h = _reset_client(p, h, e.client, "peer-reset")
    if sock.queued_on is not None and sock.queued_on in h.socks:
        h = _feed(p, h, sock, eof=True)
    advance(sock, "close")
    return Outcome(_forget(h, h.socks[sock.sid]), Ret(0))


# --------------------------------------------------------------------------- the host


def sysctl(p: Profile, h: Host, name: str, value: int | None) -> Outcome:
    spec = p.sysctl(name)
    if spec is None:
        return _refuse(h, "ENOENT")
    if value is None:
        return Outcome(h, Ret(h.sysctl[spec.key]))
    if not rules.sysctl_accepts(spec.lo, spec.hi, value):
        return _refuse(h, "EINVAL")
    return Outcome(attrs.evolve(h, sysctl=h.sysctl.set(spec.key, value)), Ret(0))


def netstat(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("netstat", p, c)) is not None:
        return _refuse(h, errno)
    lst = _s(c).listener
    if lst is None:
        return Outcome(h, Queue(0, 0, 0))
    incq = len(lst.incomp) + (len(lst.half_open) if p.half_open != "syncache" else 0)
    return Outcome(h, Queue(len(lst.comp), incq, lst.qlimit))


def sleep(p: Profile, h: Host, seconds: Decimal) -> Outcome:
    return Outcome(attrs.evolve(h, clock=h.clock + int(seconds * 1_000_000)), Ret(0))


def syslog(p: Profile, h: Host) -> Outcome:
    return Outcome(attrs.evolve(h, log=()), Lines(h.log))


def counter(p: Profile, h: Host, name: str) -> Outcome:
    if name not in p.counters:
        return _refuse(h, "ENOENT")
    return Outcome(h, Ret(h.counters.get(name, 0)))


#: call name -> transition; the runner and the machines dispatch through this table.
CALLS: dict[str, Callable[..., Outcome]] = {
    "socket": socket,
    "open": open_,
    "bind": bind,
    "listen": listen,
    "connect": connect,
    "syn": syn,
    "accept": accept,
    "send": send,
    "close": close,
    "setsockopt": options.setsockopt,
    "getsockopt": options.getsockopt,
    "sysctl": sysctl,
    "netstat": netstat,
    "sleep": sleep,
    "syslog": syslog,
    "counter": counter,
}


def apply(p: Profile, h: Host, call: str, *args: Any) -> Outcome:
    return CALLS[call](p, h, *args)
