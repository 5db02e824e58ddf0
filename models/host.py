"""One pure transition per call of the script format: (profile, state, arguments) -> Outcome.

Arguments are already resolved by the runner: descriptors are ints, a connect/syn/bind target is
the address id (and domain) of the socket the script named. No I/O, no clock, no randomness: the
same inputs always give the same outcome. A call refused by a check (tables.CHECKS) returns the
very state it was given, with `refused=True`. Where a system may answer one of several ways (which
SO_REUSEPORT listener a connection reaches), the Outcome lists the others in `alternatives`.

The data path (send, recv, shutdown, poll, what closing a connection does) is in dataplane.py,
time (sleep and the retransmission timers) in timers.py, the options in options.py.
"""

from __future__ import annotations

from collections.abc import Callable

from listenspec.calls import BY_NAME

from . import dataplane as dataplane  # its @transition functions: send, recv, shutdown, poll
from . import options as options  # setsockopt(), getsockopt()
from . import rules
from . import timers as timers  # sleep()
from .ops import (
    bump,
    forget,
    holders,
    implicit_bind,
    join,
    new_fd,
    new_id,
    overflow,
    release,
    reset_client,
    synflood,
    take_port,
)
from .ops import limit as limit
from .ops import setting as setting
from .outcome import TRANSITIONS, transition, with_alternatives
from .outcome import Outcome as Outcome  # re-exported: callers see one module of transitions
from .outcome import put as _put
from .outcome import refuse as _refuse
from .outcome import sock_of as _s
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import (
    FILE,
    RCV,
    SND,
    FMap,
    HalfOpen,
    Host,
    Listener,
    Pending,
    Socket,
    SockState,
    evolve,
)
from .state import Target as Target  # re-exported: the runner builds them
from .tables import Ctx, advance, reach, refusal, resolve
from .values import Err, Lines, NewFd, Queue, Ret
from .walk import decide, refused


def initial(p: Profile) -> Host:
    """A freshly booted host under profile p: every sysctl at its default, counters at 0."""
    values: dict[str, int] = {}
    for s in p.sysctls:
        values.setdefault(s.key, s.default)
    return Host(sysctl=FMap(values), counters=FMap(dict.fromkeys(p.counters, 0)))


# --------------------------------------------------------------------------- calls


@transition
def socket(p: Profile, h: Host, domain: str, type_: str) -> Outcome:
    if domain == "AF_INET6" and not p.inet6:
        return _refuse(h, "EAFNOSUPPORT")
    if domain != "AF_UNIX" and type_ == "SOCK_SEQPACKET":
        return _refuse(h, p.inet_seqpacket)
    h, sid = new_id(h)
    h = _put(h, Socket(sid=sid, domain=domain, type=type_))
    h, fd = new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


@transition
def open_(p: Profile, h: Host) -> Outcome:
    h, fd = new_fd(h, FILE)
    return Outcome(h, NewFd(), fd=fd)


@transition
def bind(p: Profile, h: Host, fd: int, target: Target | None = None) -> Outcome:
    """bind(S): a fresh address; bind(S, T): the address T's socket is (or was) bound to."""
    given = h
    h, c, row, errno = decide("bind", p, h, lambda h2: resolve(h2, fd, target))
    if errno is not None:
        return refused(given, h, errno)
    sock = _s(c)
    if row is not None and row.outcome == "unchanged":
        return Outcome(h, Ret(0))
    if row is not None and row.outcome == "join":
        assert target is not None and target.addr is not None
        return Outcome(join(h, sock, target.addr, wildcard=False), Ret(0))
    return Outcome(implicit_bind(h, sock, wildcard=row is not None), Ret(0))


@transition
def listen(p: Profile, h: Host, fd: int, backlog: int) -> Outcome:
    given = h
    h, c, _, errno = decide("listen", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return refused(given, h, errno)
    sock = _s(c)
    qlimit = rules.effective_backlog(p, backlog, limit(p, h))
    if sock.listener is not None:  # re-listen
        lst = sock.listener
        if p.relisten_shrink_errno is not None and rules.relisten_refused(p, len(lst.comp),
                                                                          qlimit):
            return _refuse(h, p.relisten_shrink_errno)
        keep_comp, keep_inc = rules.relisten_kept(p, len(lst.comp), len(lst.incomp), qlimit)
        # a TCP listener refuses only after gVisor's shutdown(SHUT_RD), which its listen()
        # undoes (shutdown_listener "refuse"); an AF_UNIX one stays shut (sk_shutdown stays)
        lst = evolve(lst, qlimit=qlimit, comp=lst.comp[:keep_comp],
                           incomp=lst.incomp[len(lst.incomp) - keep_inc:],
                           refusing=lst.refusing and sock.domain == "AF_UNIX")
        return Outcome(_with_listener(h, sock, lst), Ret(0))
    if not c.holds_addr:
        # TCP binds an ephemeral port, on the wildcard address, or on the address a stopped
        # listener kept (SOCK_BINDADDR_LOCK: tcp_disconnect() resets only an unlocked one)
        h = implicit_bind(h, sock, wildcard=sock.addr is None or sock.wildcard)
        sock = h.socks[sock.sid]
    refusing = sock.domain == "AF_UNIX" and bool(sock.shut & 1) and p.unix_listener_shut_refuses
    # a stopped listener's requests (dataplane._stop_listening) are this listener's now
    sock = evolve(advance(sock, "listen"), listener=Listener(
        qlimit=qlimit, refusing=refusing, incomp=sock.stale_requests), stale_requests=())
    return Outcome(_put(h, sock), Ret(0))


# --------------------------------------------------------------------------- connect


@transition
def connect(p: Profile, h: Host, fd: int, target: Target) -> Outcome:
    """connect(): tables.CHECKS["connect"] decides, in the profile's order, up to the outcome;
    where several listeners share the address, one outcome per listener it may reach."""
    choices = len(reach(p, h, target))
    outs = [_connect_once(p, h, fd, target, i) for i in range(choices)]
    return with_alternatives(outs)


def _connect_once(p: Profile, h: Host, fd: int, target: Target, pick: int) -> Outcome:
    given = h
    h, c, row, errno = decide("connect", p, h,
                              lambda h2: resolve(h2, fd, target, p=p, pick=pick))
    assert row is not None, "the last row of connect's table always holds"
    if errno is not None:
        return refused(given, h, errno)
    assert row.outcome is not None
    out = CONNECT_OUTCOMES[row.outcome](p, h, c)
    return _keep_peer_family(p, out, c)


def _keep_peer_family(p: Profile, out: Outcome, c: Ctx) -> Outcome:
    """A TCP connect that went out gave the socket a local address of the target's family,
    which stays whatever became of the connection (profile.local_family_errno: gVisor)."""
    sock = c.sock
    if not p.local_family_errno or sock is None or c.target is None \
            or sock.type != "SOCK_STREAM" or sock.domain != "AF_INET6":
        return out
    now = out.state.socks.get(sock.sid)
    if now is None or now.peer_family is not None:
        return out
    return evolve(out, state=_put(out.state, evolve(now, peer_family=c.target.domain)))


def _end_pending(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.sock is not None
    return _end_connect(h, c.sock)


def _unix_overflow(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.lsock is not None
    return Outcome(overflow(p, h, c.lsock, tcp=False), Err(p.unix_overflow))


def _self_connect(p: Profile, h: Host, c: Ctx) -> Outcome:
    # TCP simultaneous open with itself (RFC 793): the socket ends up connected to itself.
    assert c.sock is not None
    client = advance(advance(c.sock, "connect"), "established")
    client = evolve(client, connect_pending=_pending(p, "ok"), sent_syn=True,
                          peer=client.sid)
    return Outcome(_put(h, client), Ret(0))


def _self_abort(p: Profile, h: Host, c: Ctx) -> Outcome:
    # Linux: the socket was shut for sending before it connected, so once the simultaneous
    # open completes its FIN goes out and comes back to it: FIN_WAIT -> TIME_WAIT, CLOSE
    assert c.sock is not None and p.self_connect_shut_send is not None
    client = advance(advance(c.sock, "connect"), "established")
    client = evolve(client, connect_pending=_pending(p, "failed"), sent_syn=True,
                    peer=client.sid)
    h = dataplane.receive_fin(p, _put(h, client), client)
    return Outcome(h, Err(p.self_connect_shut_send))


def _refused_rst(p: Profile, h: Host, c: Ctx) -> Outcome:
    # Linux: the attempt took a port, and the RST gave it back (tcp_done() puts the port and
    # sets SHUTDOWN_MASK; getsockname() still shows the port).
    client = c.sock
    assert client is not None
    if client.addr is None:
        h, addr = new_id(h)
        client = evolve(client, addr=addr)
    else:
        h = release(h, client)
    client = evolve(client, connect_pending="failed", sent_syn=True, shut=3)
    return Outcome(_put(h, client), Err("ECONNREFUSED"))


def _dead_connect(p: Profile, h: Host, c: Ctx) -> Outcome:
    """gVisor: connect() on a TCP socket closed for good reports its pending error once (and
    clears it), then ECONNABORTED; the socket stays as it is."""
    sock = c.sock
    assert sock is not None
    result = Err(sock.error or "ECONNABORTED")
    return Outcome(_put(h, evolve(sock, error=None, connect_pending=None)), result)


def _refused_dead(p: Profile, h: Host, c: Ctx) -> Outcome:
    """gVisor: a refused connect closes the TCP socket for good, and leaves a second copy of
    the refusal for getsockopt(SO_ERROR) (the executor's settling read the first)."""
    client = c.sock
    assert client is not None
    if client.addr is None:  # the attempt took a port, which getsockname() goes on showing
        h, addr = new_id(h)
        client = evolve(client, addr=addr)
    client = advance(advance(client, "connect"), "failed")
    client = evolve(client, last_error="ECONNREFUSED", sent_syn=True, connect_pending=None)
    return Outcome(_put(h, client), Err("ECONNREFUSED"))
def _refused_drop(p: Profile, h: Host, c: Ctx) -> Outcome:
    # FreeBSD: the RST drops the connection (tcp_drop(): in_pcbdrop() frees the port); the
    # socket is disconnected for good (spec/sources/freebsd.md B2)
    client = c.sock
    assert client is not None
    client = evolve(advance(advance(client, "connect"), "reset"), sent_syn=True, shut=3)
    return Outcome(release(_put(h, client), client), Err("ECONNREFUSED"))


def _dgram(p: Profile, h: Host, c: Ctx) -> Outcome:
    """A datagram connect only records the peer; no listen queue is involved."""
    client = c.sock
    assert client is not None
    if (p.dgram_reconnect_same is not None or p.v6_pinned_errno is not None) \
            and c.target is not None:  # what the profile's later checks need of the peer
        client = evolve(client, dgram_peer=c.target.addr,
                              peer_family=c.target.domain)
    if client.state is not SockState.CONNECTED:
        client = advance(advance(client, "connect"), "established")
    if client.domain != "AF_UNIX" and client.addr is None:  # a UDP connect binds a port
        h, client = take_port(h, client, wildcard=True)
    return Outcome(_put(h, client), Ret(0))


def _reach(p: Profile, h: Host, c: Ctx) -> Outcome:
    assert c.lsock is not None and c.sock is not None
    return _arrive(p, h, c.lsock, c.sock)


def _pending(p: Profile, how: str) -> str | None:
    return how if p.sticky_connecting else None


def _end_connect(h: Host, sock: Socket) -> Outcome:
    """Linux: a connect() after a settled non-blocking one only reports how that one ended:
    0 if it is still established, else the pending error (or ECONNABORTED) (__inet_stream_connect
    SS_CONNECTING case); a socket a shutdown() left SS_DISCONNECTING is EINVAL."""
    if sock.connect_pending == "disconnecting":
        return _refuse(h, "EINVAL")
    if sock.connect_pending == "ok" and sock.state is SockState.CONNECTED:
        return Outcome(_put(h, evolve(sock, connect_pending=None)), Ret(0))
    result = Err(sock.error or "ECONNABORTED")
    if sock.state is SockState.DISCONNECTED:  # reset meanwhile: the socket is unconnected again
        sock = advance(sock, "disconnect")
    # tcp_disconnect(): the queues are purged and sk_shutdown, SOCK_DONE cleared
    sock = evolve(sock, connect_pending=None, error=None, shut=0, fin=False, rcv=(),
                        peer=None, peer_gone=False)
    return Outcome(_put(h, sock), result)


def _arrive(p: Profile, h: Host, lsock: Socket, client: Socket) -> Outcome:
    """A connection attempt from `client` reaches listener `lsock`: rules.arrival decides, this
    applies the decision to the state."""
    lst = lsock.listener
    assert lst is not None
    tcp = client.domain != "AF_UNIX"
    if tcp:
        client = evolve(client, sent_syn=True)
    cookies = setting(p, h, "syncookies")
    d = rules.arrival(p, tcp=tcp, qlen=len(lst.comp), incqlen=lst.requests,
                      half_open=len(lst.half_open) + len(lsock.stale), qlimit=lst.qlimit,
                      cookies=cookies,
                      filtered=lst.accept_filter is not None and p.filter_holds,
                      deferring=lsock.defer_accept > 0,
                      max_syn_backlog=setting(p, h, "max_syn_backlog"))
    if d.synflood:
        h, lst = synflood(p, h, lsock, cookies)
        lsock = h.socks[lsock.sid]
    if d.dropped:
        return _dropped(bump(h, p.request_drop_counters), client)
    if d.overflow:
        h = overflow(p, h, lsock, tcp=tcp)
        answer = rules.overflow_answer(p, tcp=tcp,
                                       rst_on_sock_fail=setting(p, h, "rst_on_sock_fail"))
        return OVERFLOW_ANSWERS[answer](p, h, client)
    if d.cookie and tcp:
        h = bump(h, p.bumps("cookie-sent") + p.bumps("cookie-recv"))
    h, conn = new_id(h)
    entry = Pending(conn=conn, client=client.sid, born=h.clock)
    if d.to_incomp and lst.accept_filter is not None:
        # A TCP child is at once soisconnected() and so parks on the filter's upcall; an
        # AF_UNIX child keeps SO_ACCEPTFILTER and waits (solisten_enqueue()).
        n = len(lst.incomp)
        gone = [rules.evicted(i, d.evict, n) for i in range(n)]
        for e, out in zip(lst.incomp, gone, strict=True):
            if out:
                h = reset_client(p, h, e.client, "evicted")
        kept = tuple(e for e, out in zip(lst.incomp, gone, strict=True) if not out)
        entry = evolve(entry, upcall=lst.accept_filter if tcp else None)
        lst = evolve(lst, incomp=(*kept, entry))
    elif d.to_incomp:  # deferred: waits as a request sock until data (or a FIN) arrives
        lst = evolve(lst, incomp=(*lst.incomp, evolve(entry, upcall="defer")))
    elif tcp and _holds_ack(p, client):
        # a client that set TCP_DEFER_ACCEPT holds its final ACK (for data to carry it): the
        # listener keeps a request sock until the ACK, data or a FIN comes
        lst = evolve(lst, incomp=(*lst.incomp, evolve(entry, upcall="ack", cookie=d.cookie)))
    else:
        lst = evolve(lst, comp=(*lst.comp, entry))
    h = _with_listener(h, h.socks[lsock.sid], lst)
    client = advance(advance(client, "connect"), "established")
    client = evolve(client, queued_on=lsock.sid,
                          connect_pending=_pending(p, "ok") if tcp else None)
    if tcp and dataplane.child_shut_wr(p, lsock) and not d.to_incomp and not _holds_ack(p, client):
        # the child is made shut for sending, so its FIN reaches the client at once
        client = evolve(client, fin=True, shut=client.shut | RCV)
    if tcp and client.addr is None:  # the connect bound an ephemeral port
        h, client = take_port(h, client)
    return Outcome(_put(h, client), Ret(0))


def _holds_ack(p: Profile, client: Socket) -> bool:
    """The client set TCP_DEFER_ACCEPT and so holds the handshake's final ACK
    (profile.client_defer_holds_ack)."""
    return p.client_defer_holds_ack and client.defer_accept > 0


def _refused_unix(p: Profile, h: Host, client: Socket) -> Outcome:
    return Outcome(h, Err(p.unix_overflow))  # refused at once; the client is left as it was


def _reset_at_once(p: Profile, h: Host, client: Socket) -> Outcome:
    client = evolve(advance(advance(client, "connect"), "reset"), shut=3)
    return Outcome(_put(h, client), Err("ECONNRESET"))


def _unqueued(p: Profile, h: Host, client: Socket) -> Outcome:
    # the handshake completed, the connection never reached the listener: the other end is
    # gone from the start
    client = evolve(advance(advance(client, "connect"), "established"), peer_gone=True)
    return Outcome(_put(h, client), Ret(0))


def _dropped_answer(p: Profile, h: Host, client: Socket) -> Outcome:
    return _dropped(h, client)


#: tables.CHECKS["connect"] outcomes -> the transition that applies each
CONNECT_OUTCOMES: dict[str, Callable[[Profile, Host, Ctx], Outcome]] = {
    "end-pending": _end_pending,
    "unix-overflow": _unix_overflow,
    "dgram": _dgram,
    "self-connect": _self_connect,
    "self-abort": _self_abort,
    "refused-rst": _refused_rst,
    "dead": _dead_connect,
    "refused-dead": _refused_dead,
    "refused-drop": _refused_drop,
    "arrive": _reach,
}

#: rules.overflow_answer -> how the client's state shows it
OVERFLOW_ANSWERS: dict[str, Callable[[Profile, Host, Socket], Outcome]] = {
    "refuse": _refused_unix,
    "reset": _reset_at_once,
    "unqueued": _unqueued,
    "drop": _dropped_answer,
}


def _dropped(h: Host, client: Socket) -> Outcome:
    """A silent drop: per the contract the executor abandons the attempt and closes C."""
    fds = h.fds
    for fd in fds.keys_of(client.sid):
        fds = fds.remove(fd)
    h = evolve(h, fds=fds)
    advance(advance(client, "connect"), "abandoned")  # the lifecycle table must allow it
    return Outcome(forget(h, client), Err("EINPROGRESS"))


# --------------------------------------------------------------------------- syn


@transition
def syn(p: Profile, h: Host, target: Target) -> Outcome:
    """A peer sends a bare SYN to the target and never completes the handshake."""
    choices = len(reach(p, h, target))
    return with_alternatives([_syn_once(p, h, target, i) for i in range(choices)])


def _syn_once(p: Profile, h: Host, target: Target, pick: int) -> Outcome:
    c = resolve(h, None, target, p=p, pick=pick)
    if (errno := refusal("syn", p, c)) is not None:
        return _refuse(h, errno)
    lsock = c.lsock
    assert lsock is not None
    lst = lsock.listener
    assert lst is not None
    cookies = setting(p, h, "syncookies")
    total = sum(len(s.listener.half_open) for s in h.socks.values() if s.listener)
    d = rules.syn_arrival(p, qlen=len(lst.comp), incqlen=lst.requests,
                          half_open=len(lst.half_open) + len(lsock.stale), qlimit=lst.qlimit,
                          cookies=cookies,
                          cache_total=total, max_syn_backlog=setting(p, h, "max_syn_backlog"))
    if d.synflood:
        h, lst = synflood(p, h, lsock, cookies)
        lsock = h.socks[lsock.sid]
    if d.dropped:
        return Outcome(bump(h, p.request_drop_counters), Err("EINPROGRESS"))
    if d.overflow:
        return Outcome(bump(h, p.overflow_counters), Err("EINPROGRESS"))
    if d.stored:
        h, stamp = new_id(h)
        lst = evolve(lst, half_open=(*lst.half_open, HalfOpen(stamp, h.clock)))
        h = _with_listener(h, lsock, lst)
    elif d.answered and p.half_open == "reqsk":
        h = bump(h, p.bumps("cookie-sent"))  # a cookie SYN-ACK went out
    return Outcome(h, Ret(0) if d.answered else Err("EINPROGRESS"))


# --------------------------------------------------------------------------- accept, close


@transition
def accept(p: Profile, h: Host, fd: int) -> Outcome:
    given = h
    h, c, _, errno = decide("accept", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return refused(given, h, errno)
    lsock = _s(c)
    assert lsock.listener is not None
    head, *rest = lsock.listener.comp
    h = _with_listener(h, lsock, evolve(lsock.listener, comp=tuple(rest)))
    if head.reset and p.accept_reset == "ECONNABORTED":
        # FreeBSD tcp_usr_accept(): a connection reset while queued is dequeued and refused
        return Outcome(h, Err("ECONNABORTED"))
    h, sid = new_id(h)
    client = h.socks.get(head.client)
    # getsockname() on the accepted socket gives the listener's address
    # the child's options: a copy of the listener's (sk_clone_lock(), solisten_clone()), but
    # a Linux AF_UNIX child is a fresh socket (unix_create1())
    inherits = lsock.domain != "AF_UNIX" or p.unix_child_inherits
    shut = SND if dataplane.child_shut_wr(p, lsock) else 0
    server = advance(Socket(sid=sid, domain=lsock.domain, type=lsock.type, addr=lsock.addr,
                            shut=shut,
                            linger=lsock.linger if inherits else None,
                            reuseport=lsock.reuseport and inherits and p.child_keeps_reuseport,
                            reuseport_lb=lsock.reuseport_lb and inherits), "accepted")
    server = dataplane.accepted(p, server, head,
                                client if client is not None
                                and client.queued_on == lsock.sid else None)
    if server.peer is not None and client is not None:
        h = _put(h, evolve(client, queued_on=None, peer=sid))
    h = _put(h, server)
    h, fd = new_fd(h, sid)
    return Outcome(h, NewFd(), fd=fd)


@transition
def close(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("close", p, c)) is not None:
        return _refuse(h, errno)
    h = evolve(h, fds=h.fds.remove(fd))
    sock = c.sock
    if sock is None or h.fds.keys_of(sock.sid):
        return Outcome(h, Ret(0))  # a file, or a socket still open through another descriptor
    advance(sock, "close")
    if sock.listener is not None:
        h = dataplane.listener_closes(p, h, sock)
    else:
        h = dataplane.connection_closes(p, h, sock)
    return Outcome(forget(h, h.socks[sock.sid]), Ret(0))


# --------------------------------------------------------------------------- the host


@transition
def sysctl(p: Profile, h: Host, name: str, value: int | None) -> Outcome:
    spec = p.sysctl(name)
    if spec is None:
        return _refuse(h, "ENOENT")
    if value is None:
        return Outcome(h, Ret(h.sysctl[spec.key]))
    if spec.write_errno is not None:  # a read-only file
        return _refuse(h, spec.write_errno)
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
    shown = sum(not (e.hidden or e.cookie) for e in lst.incomp)
    incq = shown + (len(lst.half_open) if p.half_open != "syncache" else 0)
    return Outcome(h, Queue(len(lst.comp), incq, lst.qlimit))


@transition
def syslog(p: Profile, h: Host) -> Outcome:
    return Outcome(evolve(h, log=()), Lines(h.log))


@transition
def counter(p: Profile, h: Host, name: str) -> Outcome:
    if name not in p.counters:
        return _refuse(h, "ENOENT")
    return Outcome(h, Ret(h.counters.get(name, 0)))


def holders_of(h: Host, addr: int | None) -> tuple[int, ...]:
    """The sockets (or orphans) holding an address (for tools that look at the state)."""
    return holders(h, addr)


#: call name -> transition (the @transition functions of host.py, dataplane.py, timers.py and
#: options.py); the runner, the machines and the explorer dispatch through this table
CALLS: dict[str, Callable[..., Outcome]] = TRANSITIONS
_declared, _defined = set(BY_NAME), set(CALLS)
assert _declared == _defined, (
    f"calls without a transition: {sorted(_declared - _defined)}; "
    f"transitions of no declared call: {sorted(_defined - _declared)}")


def apply(p: Profile, h: Host, call: str, *args: object) -> Outcome:
    return CALLS[call](p, h, *args)
