"""Time: sleep() is the only way it passes, and as it passes the retransmission timers fire.

- Linux request socks (half-open entries and TCP_DEFER_ACCEPT connections): the reqsk timer
  fires at 1, 3, 7, ... s (TCP_TIMEOUT_INIT doubling, capped at TCP_RTO_MAX); rules.
  syn_ack_recalc() decides at each firing whether the request expires or a SYN-ACK goes out,
  and a deferred connection's client answers that SYN-ACK, which makes the child once the
  deferral is over and the accept queue has room (spec/sources/linux-6.18.md §8).
- FreeBSD syncache entries: retransmitted at 1.0, 3.2, 7.4, ... s, dropped at the first firing
  after net.inet.tcp.syncache.rexmtlimit retransmissions (15.6 s with the default 3;
  spec/sources/freebsd.md B12).
- 4.4BSD: an embryonic connection is dropped at TCPTV_KEEP_INIT (75 s).

The model fires a timer at its due time; a kernel fires it a little later (its timer wheel
rounds a timeout up by at most 1/8; the calls of a script take time too), so a script that
compares with a kernel keeps its sleeps clear of the moments a timer is due.
"""

from __future__ import annotations

from . import rules
from .dataplane import child_made, stale_request_hit
from .ops import bump, reset_socket, setting
from .outcome import Outcome, put, transition
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import HalfOpen, Host, Listener, Pending, Socket, evolve
from .values import Ret


@transition
def sleep(p: Profile, h: Host, seconds: object) -> Outcome:
    until = h.clock + int(seconds * 1_000_000)  # type: ignore[operator]
    return Outcome(advance_clock(p, h, until), Ret(0))


def advance_clock(p: Profile, h: Host, until: int) -> Host:
    """Let time pass to `until`, firing every timer due on the way, earliest first."""
    while True:
        due = _next_due(p, h)
        if due is None or due[0] > until:
            return evolve(h, clock=until)
        when, sid, kind, index = due
        h = evolve(h, clock=when)
        h = _fire(p, h, h.socks[sid], kind, index)


def _next_due(p: Profile, h: Host) -> tuple[int, int, str, int] | None:
    best: tuple[int, int, str, int] | None = None
    for sid, sock in h.socks.items():
        for i, (born, ticks) in enumerate(sock.stale):
            cand = (born + rules.reqsk_fires_after(ticks), sid, "stale", i)
            best = cand if best is None or cand < best else best
        for i, d in enumerate(sock.stale_requests):
            # the request's own timer, or the client's segment (a held ACK, a resend)
            cand = (_deferred_due(d), sid, "stale-ack" if d.upcall == "ack" else
                    "stale-request", i)
            best = cand if best is None or cand < best else best
            if d.dropped is not None:
                cand = (_resend_due(d), sid, "stale-ack", i)
                best = cand if best is None or cand < best else best
        lst = sock.listener
        if lst is None:
            continue
        for i, e in enumerate(lst.half_open):
            cand = (_half_open_due(p, e), sid, "half-open", i)
            best = cand if best is None or cand < best else best
        if p.half_open == "reqsk":
            for i, d in enumerate(lst.incomp):
                if d.upcall in ("defer", "ack"):
                    cand = (_deferred_due(d), sid, "deferred", i)
                    best = cand if best is None or cand < best else best
                if d.dropped is not None:
                    cand = (_resend_due(d), sid, "resend", i)
                    best = cand if best is None or cand < best else best
    return best


def _resend_due(d: Pending) -> int:
    assert d.dropped is not None
    return d.born + d.dropped + sum(rules.client_resend_gap(n) for n in range(d.resent + 1))


def _half_open_due(p: Profile, e: HalfOpen) -> int:
    if p.half_open == "reqsk":
        return e.born + rules.reqsk_fires_after(e.ticks)
    if p.half_open == "syncache":
        return e.born + sum(rules.syncache_timeout(n) for n in range(e.ticks + 1))
    return e.born + rules.Q0_LIFETIME


def _deferred_due(d: Pending) -> int:
    if d.upcall == "ack":
        return d.born + rules.TCP_DELACK_MAX
    return d.born + rules.reqsk_fires_after(d.ticks)


def _fire(p: Profile, h: Host, lsock: Socket, kind: str, index: int) -> Host:
    if kind == "stale":
        return _stale_fires(p, h, lsock, index)
    if kind in ("stale-request", "stale-ack"):
        return stale_request_hit(p, h, lsock, lsock.stale_requests[index].client,
                                 answer=kind == "stale-ack")
    lst = lsock.listener
    assert lst is not None
    if kind == "half-open":
        return _half_open_fires(p, h, lsock, lst, index)
    if kind == "resend":
        return _client_resends(p, h, lsock, lst, index)
    return _deferred_fires(p, h, lsock, lst, index)


def _reqsk_limit(p: Profile, h: Host, lsock: Socket) -> int:
    """The retries a request sock of this Linux listener may have, read at each firing
    (reqsk_timer_handler()): tcp_synack_retries, lowered by rules.reqsk_retries while the
    request queue (half-open, deferred and stopped-listener requests alike) is crowded."""
    retries = setting(p, h, "synack_retries")
    lst = lsock.listener
    if lst is None or not p.reqsk_prunes:
        return retries
    ticks = [*(e.ticks for e in lst.half_open), *(d.ticks for d in lst.incomp if not d.cookie),
             *(t for _born, t in lsock.stale)]
    return rules.reqsk_retries(retries, len(ticks), ticks.count(0), lst.qlimit)


def _stale_fires(p: Profile, h: Host, lsock: Socket, i: int) -> Host:
    """The timer of a request left by a listener that shutdown(SHUT_RD) stopped fires
    (reqsk_timer_handler()): the request goes if its socket does not listen now (`!=
    TCP_LISTEN`: drop); if it listens again, the request lives on as the new listener's own
    do, counted in its request queue."""
    born, ticks = lsock.stale[i]
    rest = lsock.stale[:i] + lsock.stale[i + 1:]
    if lsock.listener is None or rules.syn_ack_recalc(ticks, _reqsk_limit(p, h, lsock), 0,
                                                      False)[0]:
        return put(h, evolve(lsock, stale=rest))
    return put(h, evolve(lsock, stale=(*rest[:i], (born, ticks + 1), *rest[i:])))


def _half_open_fires(p: Profile, h: Host, lsock: Socket, lst: Listener, i: int) -> Host:
    e = lst.half_open[i]
    if p.half_open == "reqsk":
        expire, _resend = rules.syn_ack_recalc(e.ticks, _reqsk_limit(p, h, lsock), 0, False)
    elif p.half_open == "syncache":
        # syncache_timer() drops the entry when sc_rxmits > rexmtlimit; syncache_timeout()
        # counts the insert's timeout too, so at the (ticks + 1)-th firing sc_rxmits is
        # ticks + 1 (spec/sources/freebsd.md B12: with 3, SYN-ACKs at 1.0, 3.2, 7.4 s and the
        # entry gone at 15.6 s)
        expire = e.ticks + 1 > setting(p, h, "rexmtlimit")
    else:
        expire = True
    rest = lst.half_open[:i] + lst.half_open[i + 1:]
    if expire:
        return _with_listener(h, lsock, evolve(lst, half_open=rest))
    ticked = evolve(e, ticks=e.ticks + 1)
    return _with_listener(h, lsock, evolve(lst, half_open=(*lst.half_open[:i], ticked,
                                                                 *lst.half_open[i + 1:])))


def _deferred_fires(p: Profile, h: Host, lsock: Socket, lst: Listener, i: int) -> Host:
    d = lst.incomp[i]
    others = lst.incomp[:i] + lst.incomp[i + 1:]
    if d.upcall == "ack":
        return _delayed_ack(p, h, lsock, lst, i)
    expire, resend = rules.syn_ack_recalc(d.ticks, _reqsk_limit(p, h, lsock),
                                          lsock.defer_accept, True)
    if expire:  # inet_csk_reqsk_queue_drop(): the request goes, its client is not told
        client = h.socks.get(d.client)
        if client is not None and client.queued_on == lsock.sid:
            # the client stays established; data it sends later draws an RST
            h = put(h, evolve(client, queued_on=None, peer_gone=True))
        return _with_listener(h, h.socks[lsock.sid], evolve(lst, incomp=others))
    d = evolve(d, ticks=d.ticks + 1)
    if resend and d.ticks >= lsock.defer_accept:
        # the client answers the SYN-ACK; the deferral is over: tcp_check_req() makes the child
        return _segment_arrives(p, h, lsock, lst, i, d)
    incomp = (*lst.incomp[:i], d, *lst.incomp[i + 1:])
    return _with_listener(h, h.socks[lsock.sid], evolve(lst, incomp=incomp))


def _delayed_ack(p: Profile, h: Host, lsock: Socket, lst: Listener, i: int) -> Host:
    """The final ACK a TCP_DEFER_ACCEPT client held arrives (tcp_check_req()): the child goes
    to the accept queue if it has room; else the ACK is dropped and counted (the request is
    marked acked, so the next SYN-ACK retransmission's answer completes it, as for a deferred
    request whose deferral is over), or with tcp_abort_on_overflow the client is reset."""
    return _segment_arrives(p, h, lsock, lst, i, evolve(lst.incomp[i], upcall="defer"))


def _client_resends(p: Profile, h: Host, lsock: Socket, lst: Listener, i: int) -> Host:
    """The client sends again the segment its request sock dropped (with whatever Nagle held
    back since): the child if the accept queue has room now, else dropped and counted again."""
    d = lst.incomp[i]
    return _segment_arrives(p, h, lsock, lst, i, evolve(d, resent=d.resent + 1))


def _segment_arrives(p: Profile, h: Host, lsock: Socket, lst: Listener, i: int,
                     kept: Pending) -> Host:
    """A segment of the client reaches request sock `i` (tcp_check_req()): the child goes to
    the accept queue if it has room; else the segment is dropped and counted, the request
    staying as `kept`, or with tcp_abort_on_overflow the client is reset."""
    d = lst.incomp[i]
    others = lst.incomp[:i] + lst.incomp[i + 1:]
    if rules.admits(p, len(lst.comp), 0, lst.qlimit):
        child = evolve(d, upcall=None, dropped=None, resent=0)
        h = _with_listener(h, lsock, evolve(lst, comp=(*lst.comp, child), incomp=others))
        return child_made(p, h, lsock, d.client)
    h = bump(h, p.overflow_counters)
    if setting(p, h, "abort_on_overflow"):
        h = bump(h, p.bumps("embryonic-reset"))
        client = h.socks.get(d.client)
        if client is not None:
            h = reset_socket(p, h, client, "peer-reset")
        return _with_listener(h, h.socks[lsock.sid], evolve(lst, incomp=others))
    incomp = (*lst.incomp[:i], kept, *lst.incomp[i + 1:])
    return _with_listener(h, h.socks[lsock.sid], evolve(lst, incomp=incomp))
