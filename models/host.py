"""One pure transition per call of the script format: (profile, state, arguments) -> Outcome.

Arguments are already resolved by the runner: descriptors are ints, a connect/syn target is the
address id (and domain) of the socket the script named. No I/O, no clock, no randomness: the
same inputs always give the same outcome. A call refused by a check (tables.CHECKS) returns the
very state it was given, with `refused=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from listenspec.calls import BY_NAME

from . import options as options  # its @transition functions: setsockopt(), getsockopt()
from . import rules
from .outcome import TRANSITIONS, transition
from .outcome import Outcome as Outcome  # re-exported: callers see one module of transitions
from .outcome import put as _put
from .outcome import refuse as _refuse
from .outcome import sock_of as _s
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import FILE, FMap, Host, Listener, Pending, Socket, SockState, evolve
from .state import Target as Target  # re-exported: the runner builds them
from .tables import Check, Ctx, advance, checks, refusal, resolve
from .values import Err, Lines, NewFd, Queue, Ret


def initial(p: Profile) -> Host:
    """A freshly booted host under profile p: every sysctl at its default, counters at 0."""
    values: dict[str, int] = {}
    for s in p.sysctls:
        values.setdefault(s.key, s.default)
    return Host(sysctl=FMap(values), counters=FMap(dict.fromkeys(p.counters, 0)))


def setting(p: Profile, h: Host, key: str) -> int:
    """A setting in force: its sysctl's current value, or the profile's fixed value."""
    value = h.sysctl.get(key)
    return p.default(key) if value is None else value


def limit(p: Profile, h: Host) -> int:
    """The hard limit on the backlog in force."""
    return setting(p, h, "limit")


# --------------------------------------------------------------------------- helpers


def _new_id(h: Host) -> tuple[Host, int]:
    return evolve(h, next_id=h.next_id + 1), h.next_id


def _new_fd(h: Host, sid: int) -> tuple[Host, int]:
    fd = 3
    while fd in h.fds:
        fd += 1
    return evolve(h, fds=h.fds.set(fd, sid)), fd


def _bump(h: Host, names: tuple[str, ...]) -> Host:
    counters = h.counters
    for n in names:
        counters = counters.set(n, counters.get(n, 0) + 1)
    return evolve(h, counters=counters)


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
    h = _bump(h, p.synflood_counters[1 if cookies else 0])
    lst = lsock.listener
    assert lst is not None
    if lst.synflood_warned or cookies == 2:
        return h, lst
    proto = "request_sock_TCPv6" if lsock.domain == "AF_INET6" else "request_sock_TCP"
    what = "Sending cookies" if cookies else "Dropping request"
    line = f"TCP: {proto}: Possible SYN flooding on port {_addr_text(lsock)}. {what}."
    h = evolve(h, log=(*h.log, line))
    lst = evolve(lst, synflood_warned=True)
    return _with_listener(h, lsock, lst), lst


def _reset_client(p: Profile, h: Host, client_sid: int, event: str) -> Host:
    """The client end of a connection the listener side terminated gets an RST."""
    client = h.socks.get(client_sid)
    if client is None or client.state is not SockState.CONNECTED:
        return h
    client = evolve(advance(client, event), error="ECONNRESET", queued_on=None)
    if p.reset_unbinds and client.addr is not None and h.addrs.get(client.addr) == client.sid:
        h = evolve(h, addrs=h.addrs.remove(client.addr))  # getsockname() still shows it
    return _put(h, client)


def _overflow(p: Profile, h: Host, lsock: Socket, tcp: bool) -> Host:
    """A connection found the completed queue full: count it and maybe log it."""
    assert lsock.listener is not None
    lst = evolve(lsock.listener, overcount=lsock.listener.overcount + 1)
    if rules.overflow_logged(p, prio=setting(p, h, "sooverprio"), lastover=lst.lastover,
                             now=h.clock, interval_s=setting(p, h, "overinterval")):
        line = rules.overflow_log_line(p, _where(lsock), len(lst.comp), lst.overcount)
        h = evolve(h, log=(*h.log, line))
        lst = evolve(lst, overcount=0, lastover=h.clock)
    h = _with_listener(h, lsock, lst)
    return _bump(h, p.overflow_counters) if tcp else h


def _decide(call: str, p: Profile, h: Host,
            again: Callable[[Host], Ctx]) -> tuple[Host, Ctx, Check | None, str | None]:
    """Walk `call`'s table under p (tables.CHECKS): apply the effect of each row that holds and
    go on; stop at the first row that says what follows. Returns the state (changed only by
    effects), the context, that row and its errno (None for an outcome row), or None rows."""
    c = again(h)
    for row in checks(call, p):
        if not row.test(p, c):
            continue
        errno = row.errno_for(p, c) if row.then and row.outcome is None else None
        if row.effect is not None:
            h = _EFFECTS[row.effect](p, h, c)
            c = again(h)
        if row.then:
            return h, c, row, errno
    return h, c, None, None


def _refused(given: Host, h: Host, errno: str) -> Outcome:
    """A refusal: the very state given, unless a row's effect changed it first."""
    return _refuse(h, errno) if h is given else Outcome(h, Err(errno))


def _autobind(p: Profile, h: Host, c: Ctx) -> Host:
    """Take an ephemeral port on the wildcard address, unless the socket holds one."""
    assert c.sock is not None
    return h if c.holds_addr else _bind(h, c.sock, wildcard=True)


def _clear_error(p: Profile, h: Host, c: Ctx) -> Host:
    assert c.sock is not None
    return _put(h, evolve(c.sock, error=None))


#: tables.Check.effect -> the state change
_EFFECTS: dict[str, Callable[[Profile, Host, Ctx], Host]] = {
    "autobind": _autobind,
    "clear-error": _clear_error,
}


# --------------------------------------------------------------------------- calls


@transition
def socket(p: Profile, h: Host, domain: str, type_: str) -> Outcome:
    if domain == "AF_INET6" and not p.inet6:
        return _refuse(h, "EAFNOSUPPORT")
    if domain != "AF_UNIX" and type_ == "SOCK_SEQPACKET":
        return _refuse(h, p.inet_seqpacket)
    h, sid = _new_id(h)
    h = _put(h, Socket(sid=sid, domain=domain, type=type_))
    h, fd = _new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


@transition
def open_(p: Profile, h: Host) -> Outcome:
    h, fd = _new_fd(h, FILE)
    return Outcome(h, NewFd(), fd=fd)


@transition
def bind(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("bind", p, c)) is not None:
        return _refuse(h, errno)
    return Outcome(_bind(h, _s(c)), Ret(0))


def _take_port(h: Host, sock: Socket, *, wildcard: bool = False) -> tuple[Host, Socket]:
    """Give the socket a fresh local address it holds (its state is the caller's business)."""
    h, addr = _new_id(h)
    h = evolve(h, addrs=h.addrs.set(addr, sock.sid))
    sock = evolve(sock, addr=addr, wildcard=wildcard)
    return _put(h, sock), sock


def _bind(h: Host, sock: Socket, *, wildcard: bool = False) -> Host:
    """bind(2), or an implicit bind (on the wildcard address) by listen/send/connect."""
    moved = advance(sock, "bind") if sock.state is not SockState.BOUND else sock
    h, _sock = _take_port(h, moved, wildcard=wildcard)
    return h


@transition
def listen(p: Profile, h: Host, fd: int, backlog: int) -> Outcome:
    given = h
    h, c, _, errno = _decide("listen", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return _refused(given, h, errno)
    sock = _s(c)
    qlimit = rules.effective_backlog(p, backlog, limit(p, h))
    if sock.listener is not None:  # re-listen
        lst = sock.listener
        keep_comp, keep_inc = rules.relisten_kept(p, len(lst.comp), len(lst.incomp), qlimit)
        lst = evolve(lst, qlimit=qlimit, comp=lst.comp[:keep_comp],
                           incomp=lst.incomp[len(lst.incomp) - keep_inc:])
        return Outcome(_with_listener(h, sock, lst), Ret(0))
    if not c.holds_addr:  # TCP binds an ephemeral port, on the wildcard address
        h = _bind(h, sock, wildcard=True)
        sock = h.socks[sock.sid]
    sock = evolve(advance(sock, "listen"), listener=Listener(qlimit=qlimit))
    return Outcome(_put(h, sock), Ret(0))


@transition
def connect(p: Profile, h: Host, fd: int, target: Target) -> Outcome:
    """connect(): tables.CHECKS["connect"] decides, in the profile's order, up to the outcome."""
    given = h
    h, c, row, errno = _decide("connect", p, h, lambda h2: resolve(h2, fd, target))
    assert row is not None, "the last row of connect's table always holds"
    if errno is not None:
        return _refused(given, h, errno)
    assert row.outcome is not None
    return _CONNECT_OUTCOMES[row.outcome](p, h, c)


def _end_pending(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.sock is not None
    return _end_connect(h, c.sock)


def _unix_overflow(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.lsock is not None
    return Outcome(_overflow(p, h, c.lsock, tcp=False), Err(p.unix_overflow))


def _self_connect(p: Profile, h: Host, c: Ctx) -> Outcome:
    # TCP simultaneous open with itself (RFC 793): the socket ends up connected to itself.
    assert c.sock is not None
    client = advance(advance(c.sock, "connect"), "established")
    return Outcome(_put(h, evolve(client, connect_pending=_pending(p, "ok"),
                                        sent_syn=True)), Ret(0))


def _refused_rst(p: Profile, h: Host, c: Ctx) -> Outcome:
    # Linux: the attempt took a port, and the RST gave it back (tcp_done() puts the port;
    # getsockname() still shows it).
    client = c.sock
    assert client is not None
    if client.addr is None:
        h, addr = _new_id(h)
        client = evolve(client, addr=addr)
    elif h.addrs.get(client.addr) == client.sid:
        h = evolve(h, addrs=h.addrs.remove(client.addr))
    client = evolve(client, connect_pending="failed", sent_syn=True)
    return Outcome(_put(h, client), Err("ECONNREFUSED"))


def _dgram(p: Profile, h: Host, c: Ctx) -> Outcome:
    """A datagram connect only records the peer; no listen queue is involved."""
    client = c.sock
    assert client is not None
    if client.state is not SockState.CONNECTED:
        client = advance(advance(client, "connect"), "established")
    if client.domain != "AF_UNIX" and client.addr is None:  # a UDP connect binds a port
        h, client = _take_port(h, client, wildcard=True)
    return Outcome(_put(h, client), Ret(0))


def _reach(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.lsock is not None and c.sock is not None
    return _arrive(p, h, c.lsock, c.sock)


def _pending(p: Profile, how: str) -> str | None:
    return how if p.sticky_connecting else None


def _end_connect(h: Host, sock: Socket) -> Outcome:
    """Linux: a connect() after a settled non-blocking one only reports how that one ended:
    0 if it is still established, else the pending error (or ECONNABORTED) (__inet_stream_connect
    SS_CONNECTING case)."""
    if sock.connect_pending == "ok" and sock.state is SockState.CONNECTED:
        return Outcome(_put(h, evolve(sock, connect_pending=None)), Ret(0))
    result = Err(sock.error or "ECONNABORTED")
    if sock.state is SockState.DISCONNECTED:  # reset meanwhile: the socket is unconnected again
        sock = advance(sock, "disconnect")
    return Outcome(_put(h, evolve(sock, connect_pending=None, error=None)), result)


def _arrive(p: Profile, h: Host, lsock: Socket, client: Socket) -> Outcome:
    """A connection attempt from `client` reaches listener `lsock`: rules.arrival decides, this
    applies the decision to the state."""
    lst = lsock.listener
    assert lst is not None
    tcp = client.domain != "AF_UNIX"
    if tcp:
        client = evolve(client, sent_syn=True)
    cookies = setting(p, h, "syncookies")
    d = rules.arrival(p, tcp=tcp, qlen=len(lst.comp), incqlen=len(lst.incomp),
                      half_open=len(lst.half_open), qlimit=lst.qlimit, cookies=cookies,
                      filtered=lst.accept_filter is not None, deferring=lsock.defer_accept > 0)
    if d.synflood:
        h, lst = _synflood(p, h, lsock, cookies)
        lsock = h.socks[lsock.sid]
    if d.dropped:
        return _dropped(_bump(h, p.request_drop_counters), client)
    if d.overflow:
        h = _overflow(p, h, lsock, tcp=tcp)
        answer = rules.overflow_answer(p, tcp=tcp,
                                       rst_on_sock_fail=setting(p, h, "rst_on_sock_fail"))
        return _OVERFLOW_ANSWERS[answer](p, h, client)
    h, conn = _new_id(h)
    entry = Pending(conn=conn, client=client.sid)
    if d.to_incomp and lst.accept_filter is not None:
        # A TCP child is at once soisconnected() and so parks on the filter's upcall; an
        # AF_UNIX child keeps SO_ACCEPTFILTER and waits (solisten_enqueue()).
        n = len(lst.incomp)
        gone = [rules.evicted(i, d.evict, n) for i in range(n)]
        for e, out in zip(lst.incomp, gone, strict=True):
            if out:
                h = _reset_client(p, h, e.client, "evicted")
        kept = tuple(e for e, out in zip(lst.incomp, gone, strict=True) if not out)
        entry = evolve(entry, upcall=lst.accept_filter if tcp else None)
        lst = evolve(lst, incomp=(*kept, entry))
    elif d.to_incomp:  # deferred: waits as a request sock until data (or a FIN) arrives
        lst = evolve(lst, incomp=(*lst.incomp, evolve(entry, upcall="defer")))
    else:
        lst = evolve(lst, comp=(*lst.comp, entry))
    h = _with_listener(h, h.socks[lsock.sid], lst)
    client = advance(advance(client, "connect"), "established")
    client = evolve(client, queued_on=lsock.sid,
                          connect_pending=_pending(p, "ok") if tcp else None)
    if tcp and client.addr is None:  # the connect bound an ephemeral port
        h, client = _take_port(h, client)
    return Outcome(_put(h, client), Ret(0))


def _refused_unix(p: Profile, h: Host, client: Socket) -> Outcome:
    return Outcome(h, Err(p.unix_overflow))  # refused at once; the client is left as it was


def _reset_at_once(p: Profile, h: Host, client: Socket) -> Outcome:
    return Outcome(_put(h, advance(advance(client, "connect"), "reset")), Err("ECONNRESET"))


def _unqueued(p: Profile, h: Host, client: Socket) -> Outcome:
    return Outcome(_put(h, advance(advance(client, "connect"), "established")), Ret(0))


def _dropped_answer(p: Profile, h: Host, client: Socket) -> Outcome:
    return _dropped(h, client)


#: tables.CHECKS["connect"] outcomes -> the transition that applies each
_CONNECT_OUTCOMES: dict[str, Callable[[Profile, Host, Ctx], Outcome]] = {
    "end-pending": _end_pending,
    "unix-overflow": _unix_overflow,
    "dgram": _dgram,
    "self-connect": _self_connect,
    "refused-rst": _refused_rst,
    "arrive": _reach,
}

#: rules.overflow_answer -> how the client's state shows it
_OVERFLOW_ANSWERS: dict[str, Callable[[Profile, Host, Socket], Outcome]] = {
    "refuse": _refused_unix,
    "reset": _reset_at_once,
    "unqueued": _unqueued,
    "drop": _dropped_answer,
}


def _dropped(h: Host, client: Socket) -> Outcome:
    """A silent drop: per the contract the executor abandons the attempt and closes C."""
    fds = FMap({fd: sid for fd, sid in h.fds.items() if sid != client.sid})
    h = evolve(h, fds=fds)
    advance(advance(client, "connect"), "abandoned")  # the lifecycle table must allow it
    return Outcome(_forget(h, client), Err("EINPROGRESS"))


def _forget(h: Host, sock: Socket) -> Host:
    """Remove a closed socket and free its address."""
    if sock.addr is not None and h.addrs.get(sock.addr) == sock.sid:
        h = evolve(h, addrs=h.addrs.remove(sock.addr))
    return evolve(h, socks=h.socks.remove(sock.sid))


@transition
def syn(p: Profile, h: Host, target: Target) -> Outcome:
    """A peer sends a bare SYN to the target and never completes the handshake."""
    c = resolve(h, None, target)
    if (errno := refusal("syn", p, c)) is not None:
        return _refuse(h, errno)
    lsock = c.lsock
    assert lsock is not None
    lst = lsock.listener
    assert lst is not None
    cookies = setting(p, h, "syncookies")
    total = sum(len(s.listener.half_open) for s in h.socks.values() if s.listener)
    d = rules.syn_arrival(p, qlen=len(lst.comp), incqlen=len(lst.incomp),
                          half_open=len(lst.half_open), qlimit=lst.qlimit, cookies=cookies,
                          cache_total=total)
    if d.synflood:
        h, lst = _synflood(p, h, lsock, cookies)
        lsock = h.socks[lsock.sid]
    if d.dropped:
        return Outcome(_bump(h, p.request_drop_counters), Err("EINPROGRESS"))
    if d.overflow:
        return Outcome(_bump(h, p.overflow_counters), Err("EINPROGRESS"))
    if d.stored:
        h = _add_half_open(h, lsock, lst)
    return Outcome(h, Ret(0) if d.answered else Err("EINPROGRESS"))


def _add_half_open(h: Host, lsock: Socket, lst: Listener) -> Host:
    """One more half-open peer on the listener (a syncache entry, a request sock, or q0)."""
    h, stamp = _new_id(h)
    return _with_listener(h, lsock, evolve(lst, half_open=(*lst.half_open, stamp)))


@transition
def accept(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("accept", p, c)) is not None:
        return _refuse(h, errno)
    lsock = _s(c)
    assert lsock.listener is not None
    head, *rest = lsock.listener.comp
    h = _with_listener(h, lsock, evolve(lsock.listener, comp=tuple(rest)))
    h, sid = _new_id(h)
    client = h.socks.get(head.client)
    # getsockname() on the accepted socket gives the listener's address
    server = advance(Socket(sid=sid, domain=lsock.domain, type=lsock.type, addr=lsock.addr),
                     "accepted")
    if client is not None and client.queued_on == lsock.sid:
        server = evolve(server, peer=client.sid)
        h = _put(h, evolve(client, queued_on=None, peer=sid))
    h = _put(h, server)
    h, fd = _new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


@transition
def send(p: Profile, h: Host, fd: int, data: bytes) -> Outcome:
    given = h
    h, c, _, errno = _decide("send", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return _refused(given, h, errno)
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
        e = evolve(e, data=e.data + data, eof=e.eof or eof)
        if e.upcall == "defer":
            # Linux: data or a FIN ends the deferral; the child needs room in the accept queue.
            if rules.admits(p, len(comp), 0, lst.qlimit):
                comp.append(evolve(e, upcall=None))
            else:
                h = _bump(h, p.overflow_counters)
                incomp.append(e)
        elif e.upcall is not None and rules.filter_ready(e.upcall, e.data, e.eof, p.recv_hiwat):
            comp.append(evolve(e, upcall=None))  # soisconnected(): no limit check
        else:
            incomp.append(e)
    return _with_listener(h, lsock, evolve(lst, comp=tuple(comp), incomp=tuple(incomp)))


@transition
def close(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("close", p, c)) is not None:
        return _refuse(h, errno)
    h = evolve(h, fds=h.fds.remove(fd))
    sock = c.sock
    if sock is None or any(sid == sock.sid for sid in h.fds.values()):
        return Outcome(h, Ret(0))  # a file, or a socket still open through another descriptor
    if sock.listener is not None:
        # soclose(): every queued connection, complete or not, is aborted (RST to the client).
        for e in (*sock.listener.comp, *sock.listener.incomp):
            if e.upcall == "defer":
                # Linux: a deferred connection is a request sock; closing the listener drops
                # it quietly, and its client stays established until it sends (measured).
                client = h.socks.get(e.client)
                if client is not None:
                    h = _put(h, evolve(client, queued_on=None))
                continue
            h = _reset_client(p, h, e.client, "peer-reset")
    if sock.queued_on is not None and sock.queued_on in h.socks:
        h = _feed(p, h, sock, eof=True)
    advance(sock, "close")
    return Outcome(_forget(h, h.socks[sock.sid]), Ret(0))


# --------------------------------------------------------------------------- the host


@transition
def sysctl(p: Profile, h: Host, name: str, value: int | None) -> Outcome:
    spec = p.sysctl(name)
    if spec is None:
        return _refuse(h, "ENOENT")
    if value is None:
        return Outcome(h, Ret(h.sysctl[spec.key]))
    if not rules.sysctl_accepts(spec.lo, spec.hi, value):
        return _refuse(h, "EINVAL")
    return Outcome(evolve(h, sysctl=h.sysctl.set(spec.key, value)), Ret(0))


@transition
def netstat(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("netstat", p, c)) is not None:
        return _refuse(h, errno)
    lst = _s(c).listener
    if lst is None:
        return Outcome(h, Queue(0, 0, 0))
    incq = len(lst.incomp) + (len(lst.half_open) if p.half_open != "syncache" else 0)
    return Outcome(h, Queue(len(lst.comp), incq, lst.qlimit))


@transition
def sleep(p: Profile, h: Host, seconds: Decimal) -> Outcome:
    return Outcome(evolve(h, clock=h.clock + int(seconds * 1_000_000)), Ret(0))


@transition
def syslog(p: Profile, h: Host) -> Outcome:
    return Outcome(evolve(h, log=()), Lines(h.log))


@transition
def counter(p: Profile, h: Host, name: str) -> Outcome:
    if name not in p.counters:
        return _refuse(h, "ENOENT")
    return Outcome(h, Ret(h.counters.get(name, 0)))


#: call name -> transition (host.py's and options.py's @transition functions); the runner, the
#: machines and the explorer dispatch through this table
CALLS: dict[str, Callable[..., Outcome]] = TRANSITIONS
_declared, _defined = set(BY_NAME), set(CALLS)
assert _declared == _defined, (
    f"calls without a transition: {sorted(_declared - _defined)}; "
    f"transitions of no declared call: {sorted(_defined - _declared)}")


def apply(p: Profile, h: Host, call: str, *args: Any) -> Outcome:
    return CALLS[call](p, h, *args)
