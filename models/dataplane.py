"""The data path of connected sockets: send(), recv(), shutdown(), poll(), and what closing a
socket does to the other end. Pure, like host.py: each call walks its table of checks
(tables.CHECKS) and applies the outcome the table names.

What a socket knows of its connection (state.Socket): `rcv` (what arrived and was not read, one
entry per send), `shut` (sk_shutdown: no more to read / to send), `fin` (TCP: the peer's FIN
arrived), `peer_gone` (the other end's socket is closed) and `error` (so_error). A connection
still queued on a listener keeps what its client sent in the queue entry (state.Pending), where
accept filters and TCP_DEFER_ACCEPT look at it; accept() hands it to the new socket.
"""

from __future__ import annotations

from collections.abc import Callable

from . import rules
from .ops import bump, release, reset_socket
from .outcome import Outcome, transition
from .outcome import put as _put
from .outcome import sock_of as _s
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import BOTH, ORPHAN, RCV, SND, Host, Pending, Socket, SockState, evolve
from .tables import Ctx, advance, resolve
from .values import Err, Events, Ret, Str
from .walk import decide
from .walk import refused as _refused

#: shutdown(2)'s `how`, as the sk_shutdown bits it sets (SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2)
HOW = {"SHUT_RD": RCV, "SHUT_WR": SND, "SHUT_RDWR": BOTH}
#: how much one recv() reads at most (the kernel executor passes a buffer this long)
RECV_MAX = 65536
#: the incomplete-queue entries that are Linux request socks (no child socket yet): deferred
#: by the listener's TCP_DEFER_ACCEPT, or waiting for the final ACK a client that set it holds
REQUEST_SOCKS = frozenset({"defer", "ack"})


def _decide(call: str, p: Profile, h: Host, again: Callable[[Host], Ctx]
            ) -> tuple[Host, Ctx, str | None, str | None]:
    h, c, row, errno = decide(call, p, h, again)
    return h, c, (row.outcome if row is not None else None), errno


# --------------------------------------------------------------------------- send


@transition
def send(p: Profile, h: Host, fd: int, data: bytes) -> Outcome:
    given = h
    h, c, _, errno = _decide("send", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return _refused(given, h, errno)
    sock = _s(c)
    return Outcome(deliver(p, h, sock, data), Ret(len(data)))


def deliver(p: Profile, h: Host, sender: Socket, data: bytes) -> Host:
    """What `sender` sends reaches the other end: its queue entry while it waits on a listener,
    else the peer socket's receive queue; a TCP peer that is gone answers with an RST."""
    if sender.queued_on is not None:
        return feed(p, h, sender, data=data) if data else h
    peer = h.socks.get(sender.peer) if sender.peer is not None else None
    if peer is not None:
        if not data and sender.type != "SOCK_SEQPACKET":
            return h  # an empty stream send moves nothing (a SEQPACKET one is a record)
        if peer.shut & RCV and p.shut_rd_discards:
            return h  # FreeBSD sorflush(): the read side is gone
        return _put(h, evolve(peer, rcv=(*peer.rcv, data)))
    if sender.peer_gone and sender.domain != "AF_UNIX" and sender.type == "SOCK_STREAM":
        # the other end's socket closed: its orphan answers data with an RST; after the peer's
        # FIN that RST sets EPIPE on Linux (tcp_reset(): CLOSE_WAIT), ECONNRESET on FreeBSD
        return reset_socket(p, h, sender, "peer-reset")
    return h


def feed(p: Profile, h: Host, client: Socket, *, data: bytes = b"", eof: bool = False,
         reset: bool = False) -> Host:
    """Data, a FIN or an RST from `client` reaches its queued connection: filters may release
    it, a deferral may end, a request sock may vanish."""
    assert client.queued_on is not None
    lsock = h.socks[client.queued_on]
    lst = lsock.listener
    if lst is None:
        return stale_request_hit(p, h, lsock, client.sid, answer=not reset)
    comp = [_touch(e, client, data, eof, reset) for e in lst.comp]
    incomp: list[Pending] = []
    made = False  # a request sock of this client became a child
    for e in lst.incomp:
        if e.client != client.sid:
            incomp.append(e)
            continue
        e = _touch(e, client, data, eof, reset)
        if e.upcall in REQUEST_SOCKS:
            if reset:
                # Linux tcp_check_req(): an RST drops the request sock, its client not told
                # (inet_csk_reqsk_queue_drop()), and counts EmbryonicRsts
                h = bump(h, p.bumps("embryonic-reset"))
                continue
            if eof and not data and not p.defer_ends_on_fin:
                incomp.append(e)  # a bare ACK to it: the deferral waits for its time (timers)
                continue
            if e.dropped is not None and not eof:
                # the client's dropped segment is still unacknowledged: Nagle holds this data
                # back (tcp_nagle_check()); it goes out with the resent one (timers.py)
                incomp.append(e)
                continue
            # data or a FIN (profile.defer_ends_on_fin) ends the deferral; the child needs room
            # in the accept queue.
            if rules.admits(p, len(comp), 0, lst.qlimit):
                comp.append(evolve(e, upcall=None, dropped=None, resent=0))
                made = True
            elif h.sysctl.get("abort_on_overflow", 0):  # tcp_check_req(): embryonic_reset
                h = bump(bump(h, p.overflow_counters), p.bumps("embryonic-reset"))
                h = reset_socket(p, h, h.socks[client.sid], "peer-reset")
            else:
                h = bump(h, p.overflow_counters)
                # dropped: the client sends it again on its retransmission timer (timers.py)
                incomp.append(e if e.dropped is not None else
                              evolve(e, dropped=h.clock - e.born, resent=0))
        elif e.upcall is not None and rules.filter_ready(e.upcall, e.data, e.eof, p.recv_hiwat,
                                                         e.reset):
            comp.append(evolve(e, upcall=None))  # soisconnected(): no limit check
        else:
            incomp.append(e)
    h = _with_listener(h, h.socks[lsock.sid], evolve(lst, comp=tuple(comp), incomp=tuple(incomp)))
    return child_made(p, h, lsock, client.sid) if made else h


def child_shut_wr(p: Profile, lsock: Socket) -> bool:
    """A Linux TCP listener shut for sending (shutdown(SHUT_WR) before listen()) makes its
    children shut for sending too (profile.child_inherits_shut_wr)."""
    return (p.child_inherits_shut_wr and lsock.domain != "AF_UNIX"
            and lsock.type == "SOCK_STREAM" and bool(lsock.shut & SND))


def child_made(p: Profile, h: Host, lsock: Socket, client_sid: int) -> Host:
    """A request sock of `lsock` became a child in its accept queue (tcp_check_req(): the
    deferral ended, or the client's held ACK came): a child shut for sending (child_shut_wr)
    sends its FIN to the client then, as one made at the handshake does (host._arrive());
    measured on this kernel."""
    client = h.socks.get(client_sid)
    if client is None or client.queued_on != lsock.sid or not child_shut_wr(p, lsock):
        return h
    return receive_fin(p, h, client)


def _touch(e: Pending, client: Socket, data: bytes, eof: bool, reset: bool) -> Pending:
    if e.client != client.sid:
        return e
    records = (*e.records, data) if data or client.type == "SOCK_SEQPACKET" else e.records
    return evolve(e, data=e.data + data, records=records, eof=e.eof or eof,
                        reset=e.reset or reset)


# --------------------------------------------------------------------------- accept


def accepted(p: Profile, server: Socket, entry: Pending, client: Socket | None) -> Socket:
    """The socket accept() makes for a queue entry: what its client sent, and how the client's
    end stands (still there, closed with a FIN, or reset)."""
    server = evolve(server, rcv=entry.records)
    tcp = server.domain != "AF_UNIX"
    if entry.reset:  # Linux: a dead connection (tcp_reset() on the child; inet_csk_accept())
        return evolve(advance(server, "peer-reset"), error="ECONNRESET", shut=BOTH,
                            peer_gone=True)
    if client is not None and entry.eof:
        # the client only shut its sending side (SHUT_WR) before accept(): TCP CLOSE_WAIT, with
        # the client still there to be reset by an abortive close; AF_UNIX: unix_shutdown()
        # shut the child's read side only, so it still sends to the client (both measured)
        return evolve(server, peer=client.sid, fin=tcp, shut=server.shut | RCV)
    if client is None:
        # the client closed before accept() (its close fed the entry a FIN): TCP CLOSE_WAIT;
        # AF_UNIX: no more either way (unix_release_sock() sets the peer's SHUTDOWN_MASK)
        return evolve(server, peer_gone=True, fin=tcp, shut=server.shut | RCV if tcp else BOTH)
    return evolve(server, peer=client.sid)


# --------------------------------------------------------------------------- close


def listener_closes(p: Profile, h: Host, sock: Socket) -> Host:
    """soclose() / inet_csk_listen_stop(): every queued connection is aborted (an RST to its
    client), or, on Linux with net.ipv4.tcp_migrate_req=1, handed to another listener of the
    same SO_REUSEPORT group. Deferred connections (request socks) vanish quietly."""
    lst = sock.listener
    assert lst is not None
    heir = _migration_heir(p, h, sock)
    if heir is not None and heir.listener is not None:
        moved = evolve(heir.listener, comp=heir.listener.comp + lst.comp,
                             incomp=heir.listener.incomp + lst.incomp)
        h = _with_listener(h, heir, moved)
        for e in (*lst.comp, *lst.incomp):
            h = bump(h, p.bumps("migrated"))
            client = h.socks.get(e.client)
            if client is not None and client.queued_on == sock.sid:
                h = _put(h, evolve(client, queued_on=heir.sid))
        return h
    for e in (*lst.comp, *lst.incomp):
        client = h.socks.get(e.client)
        if client is None or client.queued_on != sock.sid:
            continue
        if sock.domain == "AF_UNIX" and p.unix_close_hangs_up:
            # gVisor: the queued client stays connected to a peer that is gone (send: EPIPE)
            if client.state is SockState.CONNECTED:
                h = _put(h, evolve(client, queued_on=None, shut=BOTH, peer_gone=True))
            continue
        if e.upcall in REQUEST_SOCKS:
            # Linux: closing the listener drops a request sock quietly; its client stays
            # established until it sends (measured)
            h = _put(h, evolve(client, queued_on=None, peer_gone=True))
            continue
        h = reset_socket(p, h, client, "peer-reset")
    return h


def _migration_heir(p: Profile, h: Host, sock: Socket) -> Socket | None:
    if not h.sysctl.get("migrate_req", 0) or not sock.reuseport or sock.addr is None:
        return None
    for sid in h.addrs.get(sock.addr, ()):
        other = h.socks.get(sid)
        if other is not None and other.sid != sock.sid and other.state is SockState.LISTENING \
                and other.reuseport and other.type == sock.type:
            return other
    return None


def stale_request_hit(p: Profile, h: Host, lsock: Socket, client_sid: int, *,
                      answer: bool) -> Host:
    """A request a stopped listener left meets an event while its socket does not listen
    (reqsk_timer_handler(), tcp_v4_rcv(): `!= TCP_LISTEN`: the request is dropped). A segment
    of the client then finds no socket and draws an RST (`answer`), a FIN too (measured on
    this kernel: a client that shut its sending side is reset; one that closed loses its port
    with it); a timer or an RST goes unanswered, the client left established with its peer
    gone."""
    h = _put(h, evolve(lsock, stale_requests=tuple(
        e for e in lsock.stale_requests if e.client != client_sid)))
    client = h.socks.get(client_sid)
    if client is None or client.queued_on != lsock.sid:
        return h
    if answer:
        return reset_socket(p, h, client, "peer-reset")
    return _put(h, evolve(client, queued_on=None, peer_gone=True))


def connection_closes(p: Profile, h: Host, sock: Socket) -> Host:
    """What the other end learns when a socket that is not listening closes."""
    for e in sock.stale_requests:  # its requests go with it, their clients not told
        h = stale_request_hit(p, h, h.socks[sock.sid], e.client, answer=False)
    sock = h.socks[sock.sid]
    tcp = sock.domain != "AF_UNIX" and sock.type == "SOCK_STREAM"
    if sock.type == "SOCK_DGRAM" or sock.state is not SockState.CONNECTED:
        return h
    abort = tcp and (sock.linger == 0 or (bool(sock.rcv) and p.close_unread == "rst"))
    if tcp and sock.linger == 0:
        h = bump(h, p.bumps("abort-on-data"))
    elif abort:
        h = bump(h, p.bumps("abort-on-close"))
    if sock.queued_on is not None and sock.queued_on in h.socks:
        h = feed(p, h, sock, eof=not abort, reset=abort)
        if h.socks[sock.sid].state is not sock.state:
            return h  # its FIN drew an RST (stale_request_hit()): over, no orphan holds the port
    else:
        peer = h.socks.get(sock.peer) if sock.peer is not None and sock.peer != sock.sid \
            else None
        if peer is not None:
            h = _peer_learns(p, h, sock, peer, abort)
    if tcp and not abort and not sock.fin:
        h = _orphan(h, sock)  # an active close: FIN_WAIT / TIME_WAIT keep the port a while
    return h


def _peer_learns(p: Profile, h: Host, sock: Socket, peer: Socket, abort: bool) -> Host:
    if sock.domain == "AF_UNIX":
        # unix_release_sock(): the peer can neither send nor read more; unread data resets it
        error = "ECONNRESET" if sock.rcv else peer.error
        return _put(h, evolve(peer, shut=BOTH, error=error, peer_gone=True))
    if abort:
        if peer.state is SockState.CONNECTED:
            return reset_socket(p, h, evolve(peer, peer_gone=True), "peer-reset")
        return h
    if peer.state is not SockState.CONNECTED:
        return h
    return receive_fin(p, h, evolve(peer, peer_gone=True))


def receive_fin(p: Profile, h: Host, sock: Socket) -> Host:
    """A TCP socket gets its peer's FIN. Had it sent its own already, the connection is over on
    its side (FIN_WAIT2 -> TIME_WAIT): TCP CLOSE, with the TIME_WAIT holding its port."""
    sock = evolve(sock, fin=True, shut=sock.shut | RCV)
    if not sock.shut & SND:
        return _put(h, sock)
    return _closed(h, sock, active=True)


def send_fin(p: Profile, h: Host, sock: Socket) -> Host:
    """A connected TCP socket sends its FIN (shutdown(SHUT_WR)): it is the active closer unless
    the peer's FIN came first, in which case its side is over (LAST_ACK -> CLOSE)."""
    if sock.fin:
        return _closed(h, evolve(sock, shut=sock.shut | SND), active=False)
    return _put(h, evolve(sock, shut=sock.shut | SND))


def _closed(h: Host, sock: Socket, *, active: bool) -> Host:
    sock = evolve(advance(sock, "closed"), shut=BOTH, queued_on=None)
    h = _put(h, sock)
    return _orphan(h, sock) if active else release(h, sock)


def _orphan(h: Host, sock: Socket) -> Host:
    """The closed socket's port stays held (by the kernel's orphan of the connection)."""
    if sock.addr is None:
        return h
    held = h.addrs.get(sock.addr, ())
    new = tuple(ORPHAN if s == sock.sid else s for s in held)
    if sock.sid not in held:
        new = (*held, ORPHAN)  # an accepted socket: on its listener's port
    return evolve(h, addrs=h.addrs.set(sock.addr, new))


# --------------------------------------------------------------------------- recv


@transition
def recv(p: Profile, h: Host, fd: int) -> Outcome:
    given = h
    h, c, outcome, errno = _decide("recv", p, h, lambda h2: resolve(h2, fd))
    if errno is not None:
        return _refused(given, h, errno)
    sock = _s(c)
    if outcome == "eof":
        return Outcome(h, Ret(0))
    assert outcome == "read"
    if sock.type == "SOCK_SEQPACKET":
        data, rest = sock.rcv[0], sock.rcv[1:]
    else:
        whole = b"".join(sock.rcv)
        data, tail = whole[:RECV_MAX], whole[RECV_MAX:]
        rest = (tail,) if tail else ()
    h = _put(h, evolve(sock, rcv=rest))
    return Outcome(h, Str.of_bytes(data) if data else Ret(0))


# --------------------------------------------------------------------------- shutdown


@transition
def shutdown(p: Profile, h: Host, fd: int, how: str) -> Outcome:
    bits = HOW[how]
    given = h
    h, c, outcome, errno = _decide(
        "shutdown", p, h, lambda h2: evolve(resolve(h2, fd), how=bits))
    if errno is not None:
        return _refused(given, h, errno)
    assert outcome is not None
    return SHUTDOWN_OUTCOMES[outcome](p, h, c)


def _stop_listening(p: Profile, h: Host, c: Ctx) -> Outcome:
    """Linux inet_shutdown() of a TCP listener with SHUT_RD: tcp_disconnect() stops it (every
    queued connection reset) and the socket is unconnected again. A port the kernel chose
    (bind(S) asks for port 0; listen() autobinds) goes: tcp_set_state(TCP_CLOSE) puts it back
    unless SOCK_BINDPORT_LOCK, which only a bind() naming the port sets (bind(S, T)), so such a
    socket may bind() again (net/ipv4/tcp.c tcp_set_state(), af_inet.c __inet_bind(); found by
    `listenspec conform --examples 400 --seed 6`, checked on this kernel)."""
    sock = _s(c)
    assert c.how is not None
    if not c.how & RCV:
        return Outcome(h, Ret(0))
    lst = sock.listener
    assert lst is not None
    # the request socks stay in the SYN table, each with its timer (timers.py decides at each
    # firing whether it goes: at once unless the socket listens again); inet_csk_listen_stop()
    # only empties the accept queue, so a deferred request keeps its client too
    stale = tuple((e.born, e.ticks) for e in lst.half_open)
    requests = tuple(evolve(e, hidden=True) for e in lst.incomp if e.upcall in REQUEST_SOCKS)
    h = _with_listener(h, sock, evolve(lst, incomp=tuple(
        e for e in lst.incomp if e.upcall not in REQUEST_SOCKS)))
    sock = h.socks[sock.sid]
    h = listener_closes(p, h, sock)
    sock = h.socks[sock.sid]
    if not sock.port_given:
        h = release(h, sock)
    # tcp_disconnect() also clears sk_shutdown: a later listen()'s children are not shut
    sock = evolve(advance(sock, "unlisten"), listener=None, stale=sock.stale + stale,
                  stale_requests=sock.stale_requests + requests, stopped=True, shut=0)
    return Outcome(_put(h, sock), Ret(0))


def _refuse_listening(p: Profile, h: Host, c: Ctx) -> Outcome:
    """gVisor shutdown(SHUT_RD) of a TCP listener (endpoint.go shutdownLocked(), StateListen):
    every queued connection is reset; the endpoint stays listening and bound, shut for
    reading: a connection attempt is answered by an RST and accept() is EINVAL, until listen()
    opens it again."""
    sock = _s(c)
    assert c.how is not None
    if not c.how & RCV:
        return Outcome(h, Ret(0))
    h = listener_closes(p, h, sock)
    sock = h.socks[sock.sid]
    assert sock.listener is not None
    lst = evolve(sock.listener, comp=(), incomp=(), half_open=(), refusing=True)
    return Outcome(_with_listener(h, sock, lst), Ret(0))


def _listener_abort(p: Profile, h: Host, c: Ctx) -> Outcome:
    """FreeBSD soshutdown() of a listener: ENOTCONN; SHUT_RD also sets so_error ECONNABORTED,
    which the next accept() returns (the queues stay)."""
    sock = _s(c)
    assert c.how is not None
    if c.how & RCV:
        h = _put(h, evolve(sock, error="ECONNABORTED"))
    return Outcome(h, Err("ENOTCONN"))


def _shut(p: Profile, h: Host, c: Ctx) -> Outcome:
    """A connection (or, on Linux, any AF_UNIX socket) shuts a direction: the other end stops
    receiving (a FIN) or sending; a settled connect counts as confirmed (inet_shutdown())."""
    sock = _s(c)
    assert c.how is not None
    tcp = sock.domain != "AF_UNIX" and sock.type == "SOCK_STREAM"
    fin = tcp and bool(c.how & SND) and not sock.shut & SND and sock.state is SockState.CONNECTED
    sock = evolve(sock, shut=sock.shut | (c.how & ~SND if fin else c.how))
    if sock.connect_pending == "ok":
        sock = evolve(sock, connect_pending=None)
    if c.how & RCV and p.shut_rd_discards:
        sock = evolve(sock, rcv=())
    if sock.listener is not None and c.how & RCV and p.unix_listener_shut_refuses:
        sock = evolve(sock, listener=evolve(sock.listener, refusing=True))
    h = _put(h, sock)
    if fin:
        h = send_fin(p, h, sock)
        sock = h.socks[sock.sid]
    if sock.queued_on is not None and c.how & SND and sock.queued_on in h.socks:
        return Outcome(feed(p, h, sock, eof=True), Ret(0))
    if fin and sock.peer == sock.sid:  # connected to itself: its own FIN arrives
        return Outcome(receive_fin(p, h, h.socks[sock.sid]), Ret(0))
    peer = h.socks.get(sock.peer) if sock.peer is not None and sock.peer != sock.sid else None
    if peer is not None:
        if sock.domain == "AF_UNIX":
            mirror = (RCV if c.how & SND else 0) | (SND if c.how & RCV else 0)
            h = _put(h, evolve(peer, shut=peer.shut | mirror))
        elif fin and peer.state is SockState.CONNECTED:
            h = receive_fin(p, h, peer)
    return Outcome(h, Ret(0))


#: tables.CHECKS["shutdown"] outcomes -> the transition that applies each
SHUTDOWN_OUTCOMES: dict[str, Callable[[Profile, Host, Ctx], Outcome]] = {
    "stop-listening": _stop_listening,
    "refuse-listening": _refuse_listening,
    "listener-abort": _listener_abort,
    "shut": _shut,
}


# --------------------------------------------------------------------------- poll


@transition
def poll(p: Profile, h: Host, fd: int) -> Outcome:
    c = resolve(h, fd)
    if c.sock is None:
        if c.is_file:
            return Outcome(h, Events(("POLLIN", "POLLOUT")))
        bad = rules.POLL_NOT_OPEN[p.poll_style]
        return Outcome(h, Events((bad,)) if bad in rules.POLL_FLAGS else Err(bad))
    flags = rules.poll_events(p, poll_facts(c.sock))
    names = tuple(f for f in rules.POLL_FLAGS if flags.get(f, False) is True)
    return Outcome(h, Events(names) if names else Ret(0))


def poll_facts(sock: Socket) -> rules.PollFacts:
    """What a socket's readiness is computed from (rules.poll_events)."""
    st = sock.state
    if sock.domain != "AF_UNIX":
        kind = "tcp" if sock.type == "SOCK_STREAM" else "udp"
    else:
        kind = {"SOCK_STREAM": "unix-stream", "SOCK_SEQPACKET": "unix-seqpacket"}.get(
            sock.type, "unix-dgram")
    closed = (st in (SockState.FRESH, SockState.BOUND, SockState.DISCONNECTED) if kind == "tcp"
              else st in (SockState.FRESH, SockState.BOUND))
    lst = sock.listener
    return rules.PollFacts(
        kind=kind, listening=st is SockState.LISTENING,
        acceptable=bool(lst is not None and lst.comp), closed=closed,
        connected=st is SockState.CONNECTED, readable=bool(sock.rcv),
        error=sock.error is not None, rcv_shut=bool(sock.shut & RCV),
        snd_shut=bool(sock.shut & SND),
        ended=kind == "tcp" and st is SockState.DISCONNECTED)
