"""The rules, each written once, over ints or Z3 terms (see arith.py).

The executor (host.py), the Hypothesis machines, the explorer, the proofs and the docs all call
these functions; nothing else in the project restates a rule.
"""

from __future__ import annotations

import sys
from typing import Any

import attrs

from .arith import Term, and_, ite, min_, not_, or_, u32, udiv, ugt
from .profiles import Base, Profile

#: The decisions below call the other rules through `rs` (default: this module, looked up at
#: call time), so a proof that injects a broken rule (proofs.ruleset.Rules) or a test that
#: monkeypatches one here reaches the rules a decision is made of, too.
_THIS: Any = sys.modules[__name__]

# --------------------------------------------------------------------------- the backlog clamp


def effective_backlog(p: Profile, backlog: Term, limit: Term) -> Term:
    """The qlimit that listen(s, backlog) sets, given the hard limit in force."""
    if p.clamp == "signed":
        # FreeBSD solisten_proto(): `if (backlog < 0 || backlog > somaxconn) backlog = somaxconn`
        return ite(or_(backlog < 0, backlog > limit), limit, backlog)
    if p.clamp == "unsigned":
        # Linux __sys_listen_socket(): `if ((unsigned int)backlog > somaxconn) backlog = somaxconn`
        return ite(ugt(u32(backlog), limit), limit, backlog)
    # 4.4BSD solisten(): `if (backlog < 0) backlog = 0; so_qlimit = min(backlog, SOMAXCONN)`
    return min_(ite(backlog < 0, 0, backlog), limit)


def sysctl_accepts(lo: int, hi: int, value: Term) -> Term:
    """Whether a sysctl write of `value` is accepted (else EINVAL)."""
    return and_(value >= lo, value <= hi)


# --------------------------------------------------------------------------- admission


def base(kind: Base, q: Term, c_unsigned: bool) -> Term:
    """The queue-length bound a profile derives from the effective backlog q."""
    if kind == "q":
        return q
    if kind == "q+1":
        return q + 1
    if c_unsigned:
        return udiv(u32(3 * q), 2)  # C: `3 * sol_qlimit / 2` in u_int arithmetic
    return udiv(3 * q, 2)


def admission_count(p: Profile, qlen: Term, half_open: Term) -> Term:
    """What admission compares with the bound: the completed queue, plus the half-open
    connections where they count against the backlog (4.4BSD's q0)."""
    return qlen + half_open if p.admit_counts_half_open else qlen


def admits(p: Profile, qlen: Term, half_open: Term, qlimit: Term) -> Term:
    """Whether a new connection is admitted to a listener with these queue lengths."""
    counted = admission_count(p, qlen, half_open)
    bound = base(p.admit_base, qlimit, p.admit_u32)
    if p.admit_u32:
        # FreeBSD refuses iff `sol_qlen > 3 * sol_qlimit / 2`; Linux iff `ack_backlog > max`.
        return not_(ugt(counted, bound)) if p.admit_inclusive else ugt(bound, counted)
    return counted <= bound if p.admit_inclusive else counted < bound


def relisten_kept(p: Profile, qlen: Term, incqlen: Term, new_qlimit: Term) -> tuple[Term, Term]:
    """How many connections of each queue a listen() on a listening socket keeps: all of them.

    solisten_proto() jumps to `listening:` and only rewrites sol_qlimit; Linux
    __inet_listen_sk() only rewrites sk_max_ack_backlog (reference/linux.md §1).
    """
    return qlen, incqlen


def relisten_refused(p: Profile, qlen: Term, new_qlimit: Term) -> Term:
    """gVisor (profile.relisten_shrink_errno): listen() on a listener refuses a backlog that
    admits fewer completed connections than it holds (`endpoints.Len() > backlog`, the backlog
    already one more than asked: max_completed)."""
    if p.relisten_shrink_errno is None:
        return False
    return qlen > max_completed(p, new_qlimit)


def request_queue_full(half_open: Term, deferred: Term, qlimit: Term,
                       inclusive: bool = False) -> Term:
    """Linux inet_csk_reqsk_queue_is_full(): the request (SYN) queue, which holds half-open
    connections and TCP_DEFER_ACCEPT-deferred ones, is bounded by the same backlog; `>` since
    3479c7549fb1 (reference/linux.md §2). gVisor (profile.request_queue_inclusive) answers with
    a cookie once `pendingEndpoints == capacity-1`, i.e. at qlimit."""
    if inclusive:
        return half_open + deferred >= qlimit
    return half_open + deferred > qlimit


def max_completed(p: Profile, qlimit: Term) -> Term:
    """The longest completed queue `admits` allows for this qlimit (without accept filters)."""
    bound = base(p.admit_base, qlimit, p.admit_u32)
    return bound + 1 if p.admit_inclusive else bound


# --------------------------------------------------------------------------- the secondary queue


def incq_capacity(p: Profile, qlimit: Term) -> Term:
    return base(p.incq_base, qlimit, False)


def incq_bound(p: Profile, qlimit: Term, rs: Any = None) -> Term:
    """The longest the incomplete queue is after an arrival: its capacity, but never less than
    the one connection that just arrived (an empty queue evicts nobody)."""
    cap = (rs or _THIS).incq_capacity(p, qlimit)
    return ite(cap >= 1, cap, 1)


def evictions(p: Profile, incqlen: Term, qlimit: Term) -> Term:
    """How many of the oldest incomplete connections an arrival terminates before it is queued.

    freebsd-src: `while (sol_incqlen > sol_qlimit)` evict the head; the pages: "if this
    secondary queue is full ... the oldest socket ... will be terminated" (one).
    """
    cap = incq_capacity(p, qlimit)
    full = and_(incqlen >= cap, incqlen > 0)
    if p.incq_evict == "loop":
        return ite(full, min_(incqlen, incqlen - cap + 1), 0)
    return ite(full, 1, 0)


def evicted(position: Term, k: Term, n: Term) -> Term:
    """Is `position` (0 = the oldest) of an n-long incomplete queue among the k an arrival
    terminates? Always the oldest ones: TAILQ_FIRST in solisten_enqueue(), "the oldest socket"
    on the pages."""
    return position < k


# --------------------------------------------------------------------------- a listener's decisions


@attrs.frozen
class Arrival:
    """What a listener does with a connection whose handshake reaches it (connect()).

    Every field is a Term: a bool or int for the executor, a Z3 term in the proofs. Exactly one
    of `dropped`, `overflow`, `to_comp`, `to_incomp` holds.
    """

    synflood: Term  # Linux: the request queue is full, or syncookies=2 (counted; logged once)
    dropped: Term  # Linux: full, and without syncookies the SYN is dropped (ListenDrops)
    cookie: Term  # Linux: the handshake went by syncookie: no request sock, no deferral
    overflow: Term  # the completed queue is full: refused (how: overflow_answer)
    to_comp: Term  # queued as completed
    to_incomp: Term  # queued as incomplete: on an accept filter, or deferred (TCP_DEFER_ACCEPT)
    evict: Term  # how many of the oldest incomplete connections go first (to_incomp only)


def arrival(p: Profile, *, tcp: bool, qlen: Term, incqlen: Term, half_open: Term,
            qlimit: Term, cookies: Term, filtered: bool, deferring: bool,
            max_syn_backlog: Term = 2048, rs: Any = None) -> Arrival:
    """The whole decision for a connection reaching a listener with these queue lengths.

    tcp_conn_request() (reference/linux.md §2): a full request queue without syncookies drops
    the SYN; with them the SYN-ACK carries a cookie and the final ACK makes the child at once.
    sonewconn()/solisten_clone() (reference/freebsd.md §2a): admission by the profile's bound;
    solisten_enqueue() (§2b): with an accept filter every child goes to the incomplete queue,
    after the oldest are terminated. Linux TCP_DEFER_ACCEPT: the bare ACK is dropped and the
    connection waits as a request sock (reference/linux.md §4).
    """
    r = rs or _THIS
    if tcp and p.half_open == "reqsk":
        # tcp_syn_flood_action() runs when the queue is full or syncookies=2 (every SYN then
        # goes by cookie, and is counted: spec/sources/linux-6.18.md §9.2)
        full = r.request_queue_full(half_open, incqlen, qlimit, p.request_queue_inclusive)
        cookie = or_(cookies == 2, full)
        # a connecting peer is never proven alive (no TCP metrics: the kernel executor runs
        # with tcp_no_metrics_save=1), so its SYN meets the last quarter as a bare one does
        quarter = and_(cookies == 0, not_(cookie), r.admits(p, qlen, 0, qlimit),
                       r.syn_backlog_reserved(max_syn_backlog, half_open + incqlen))
        dropped = or_(and_(full, cookies == 0), quarter)
        full = cookie
    else:
        full = dropped = cookie = False
    admitted = and_(not_(dropped), r.admits(p, qlen, half_open if tcp else 0, qlimit))
    overflow = and_(not_(dropped), not_(admitted))
    evict: Term = 0
    if filtered:
        to_comp, to_incomp = False, admitted
        evict = ite(admitted, r.evictions(p, incqlen, qlimit), 0)
    elif tcp and deferring:
        to_comp, to_incomp = and_(admitted, cookie), and_(admitted, not_(cookie))
    else:
        to_comp, to_incomp = admitted, False
    return Arrival(full, dropped, cookie, overflow, to_comp, to_incomp, evict)


def overflow_answer(p: Profile, *, tcp: bool, rst_on_sock_fail: int) -> str:
    """How the client of a connection refused by a full queue learns it:
    `refuse` (AF_UNIX: connect() fails with profile.unix_overflow, the client unchanged),
    `reset` (the handshake completed, then an RST: ECONNRESET), `unqueued` (FreeBSD with
    rst_on_sock_fail=0: the final ACK is dropped after the syncache entry is gone, so the client
    is established and nothing reached the listener, reference/freebsd.md §6) or `drop` (the
    SYN or the final ACK is dropped: no answer, EINPROGRESS)."""
    if not tcp:
        return "refuse"
    if p.tcp_overflow == "reset":
        return "reset" if rst_on_sock_fail else "unqueued"
    return "drop"


@attrs.frozen
class SynArrival:
    """What a listener does with a bare SYN that is never completed (syn())."""

    synflood: Term  # Linux: the request queue is full, or syncookies=2 (counted; logged once)
    dropped: Term  # Linux: full without syncookies, or the last quarter: dropped (ListenDrops)
    overflow: Term  # Linux: the accept queue is full: dropped (the overflow counters)
    stored: Term  # a half-open entry is kept (syncache entry, request sock, 4.4BSD q0)
    answered: Term  # a SYN-ACK went back (stored, or a cookie): syn() returns 0
    quarter: Term = False  # Linux: dropped to keep tcp_max_syn_backlog's last quarter


def syn_backlog_reserved(max_syn_backlog: Term, requests: Term) -> Term:
    """tcp_conn_request() without syncookies: the SYN of a peer not proven alive
    (tcp_peer_is_proven()) is dropped while the listener's requests leave less than a quarter
    of tcp_max_syn_backlog free (`max_syn_backlog - inet_csk_reqsk_queue_len(sk) <
    (max_syn_backlog >> 2)`; spec/sources/linux-6.18.md §9.3)."""
    return max_syn_backlog - requests < udiv(max_syn_backlog, 4)


def syn_arrival(p: Profile, *, qlen: Term, incqlen: Term, half_open: Term, qlimit: Term,
                cookies: Term, cache_total: Term, max_syn_backlog: Term = 2048,
                rs: Any = None) -> SynArrival:
    """The whole decision for a SYN reaching a listener.

    syncache_add() (reference/freebsd.md §6): independent of the listen queues; a full cache
    answers with a cookie when syncookies are on. tcp_conn_request() (reference/linux.md §2):
    the request queue as for connect(), then an accept queue that is full drops the SYN. 4.4BSD
    sonewconn() on the SYN: half-open connections count against the backlog (§8).
    """
    r = rs or _THIS
    if p.half_open == "syncache":
        stored = cache_total < p.syncache_cache_limit
        return SynArrival(False, False, False, stored, or_(stored, cookies != 0))
    if p.half_open == "reqsk":
        full = r.request_queue_full(half_open, incqlen, qlimit, p.request_queue_inclusive)
        cookie = or_(cookies == 2, full)
        overflow = and_(not_(and_(full, cookies == 0)), not_(r.admits(p, qlen, 0, qlimit)))
        # without syncookies the last quarter of tcp_max_syn_backlog is kept for peers proven
        # alive; a bare SYN's peer is not (tcp_conn_request(), linux-6.18.md §9.3)
        quarter = and_(cookies == 0, not_(cookie), not_(overflow),
                       r.syn_backlog_reserved(max_syn_backlog, half_open + incqlen))
        dropped = or_(and_(full, cookies == 0), quarter)
        answered = and_(not_(dropped), not_(overflow))
        stored = and_(answered, not_(cookie))
        return SynArrival(cookie, dropped, overflow, stored, answered, quarter)
    stored = r.admits(p, qlen, half_open, qlimit)
    return SynArrival(False, False, False, stored, stored)


# --------------------------------------------------------------------------- overflow logging


def ratecheck(lastover: Term | None, now: Term, interval: Term) -> Term:
    """kern_time.c ratecheck(): fires when never fired before, or `now - last >= interval`."""
    if lastover is None:
        return True
    return now - lastover >= interval


def overflow_logged(p: Profile, *, prio: int, lastover: int | None, now: int,
                    interval_s: int) -> bool:
    """Whether an overflow is logged: the profile logs, sooverprio is not negative, and the
    per-socket rate limit allows it (solisten_clone(), reference/freebsd.md §3)."""
    return bool(p.overflow_log and prio >= 0
                and ratecheck(lastover, now, interval_s * 1_000_000))


def overflow_log_line(p: Profile, where: str, qlen: int, occurrences: int) -> str:
    return (
        f"sonewconn: pcb <pcb> ({where}): Listen queue overflow: {qlen} already in queue "
        f"awaiting acceptance ({occurrences} occurrences){p.log_suffix}"
    )


# --------------------------------------------------------------------------- accept filters


def filter_ready(name: str, data: bytes, eof: bool, hiwat: int, reset: bool = False) -> bool:
    """Whether a connection held by accept filter `name` is released to the completed queue."""
    if name == "dataready":
        return len(data) >= 1 or eof or reset  # accf_data: soreadable(), so_error too
    if name == "httpready":
        return _http_ready(data, eof, hiwat)
    if name == "dnsready":
        return _dns_ready(data, hiwat)
    if name == "tlsready":
        return _tls_ready(data, eof or reset, hiwat)
    return False


def _tls_ready(data: bytes, eof: bool, hiwat: int) -> bool:
    # accf_tls.c so_hastls(): CANTRCVMORE or a full buffer release; a TLS handshake record
    # (0x16) waits for its whole length (up to 16384) (spec/sources/freebsd.md B3)
    if eof or len(data) >= hiwat:
        return True
    if len(data) < 5:
        return False
    if data[0] != 0x16:
        return True
    reclen = int.from_bytes(data[3:5], "big")
    return reclen > 16384 or len(data) >= 5 + reclen


def _dns_ready(data: bytes, hiwat: int) -> bool:
    # accf_dns.c sohasdns()/skippacket(): a full buffer, or a whole length-prefixed message;
    # a FIN without one does not release it (spec/sources/freebsd.md B3)
    if len(data) >= hiwat:
        return True
    return len(data) >= 2 and int.from_bytes(data[:2], "big") + 2 <= len(data)


def _http_ready(data: bytes, eof: bool, hiwat: int) -> bool:
    # accf_http.c: sohashttpget -> soparsehttpvers -> soishttpconnected, each re-reading the
    # whole buffer; any state it cannot parse releases the connection ("fallout").
    if eof or len(data) >= hiwat:
        return True
    if len(data) - 1 < 1:
        return False
    if data[:1] == b"G":
        cmp = b"ET "
    elif data[:1] == b"H":
        cmp = b"EAD "
    else:
        return True
    rest = data[1:]
    if len(rest) < len(cmp):
        return not cmp.startswith(rest)
    if not rest.startswith(cmp):
        return True
    # soparsehttpvers: find the first character after the second run of spaces.
    spaces, inspaces = 0, False
    for i, ch in enumerate(data):
        if ch == 0x20:
            if not inspaces:
                spaces += 1
                inspaces = True
            continue
        if ch in (0x0D, 0x0A):
            return True
        if spaces != 2:
            inspaces = False
            continue
        left = data[i:]
        if len(left) < len(b"HTTP/1.0"):
            return not b"HTTP/1.".startswith(left)  # a prefix of the version may still come
        if left.startswith((b"HTTP/1.0", b"HTTP/1.1")):
            return data.endswith((b"\n\n", b"\n\r\n"))  # soishttpconnected
        return True
    return False


# --------------------------------------------------------------------------- poll(2)

#: the poll flags a trace names, in the order a trace lists them
POLL_FLAGS = ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLRDHUP", "POLLNVAL")
#: poll() of a descriptor that is not open, per poll_style: poll(2) reports it in revents;
#: select(2) fails (4.4BSD selscan(): EBADF)
POLL_NOT_OPEN = {"linux": "POLLNVAL", "bsd": "POLLNVAL", "select": "EBADF", "gvisor": "POLLNVAL"}


@attrs.frozen
class PollFacts:
    """What readiness is computed from: a socket's state, as Terms."""

    kind: str  # tcp | udp | unix-stream | unix-seqpacket | unix-dgram
    listening: Term
    acceptable: Term  # a listener: the completed queue is not empty
    closed: Term  # not connected (TCP CLOSE; an unconnected AF_UNIX stream socket)
    connected: Term
    readable: Term  # data waits to be read
    error: Term  # an error is pending (so_error / sk_err)
    rcv_shut: Term  # no more to read (sk_shutdown & RCV_SHUTDOWN; SBS_CANTRCVMORE)
    snd_shut: Term  # no more to send (SEND_SHUTDOWN; SBS_CANTSENDMORE)
    ended: Term = False  # TCP: it had a connection, now over (reset, refused, both FINs through)


def poll_events(p: Profile, f: PollFacts) -> dict[str, Term]:
    """The revents of poll(2) for events POLLIN|POLLPRI|POLLOUT|POLLRDHUP, flag -> Term.

    linux: tcp_poll() for TCP, unix_poll() / unix_dgram_poll() for AF_UNIX, datagram_poll()
    for UDP (spec/sources/linux-6.18.md §4). bsd: sopoll_generic() and pollscan(), which clears
    POLLOUT wherever POLLHUP is set (spec/sources/freebsd.md B6). select: 4.4BSD's soo_select()
    read and write sets, as POLLIN and POLLOUT. A profile without POLLRDHUP never reports it.
    """
    events = _poll_events(p, f)
    if not p.poll_rdhup:
        events.pop("POLLRDHUP", None)
    return events


def _poll_events(p: Profile, f: PollFacts) -> dict[str, Term]:
    both = and_(f.rcv_shut, f.snd_shut)
    connreq = f.kind in ("tcp", "unix-stream", "unix-seqpacket")
    if p.poll_style == "select":
        # soreadable() / sowriteable(): a listener reads when a connection or an error waits
        readable = or_(f.readable, f.error, f.rcv_shut, and_(f.listening, f.acceptable))
        writable = or_(and_(not_(f.listening), or_(f.connected, not connreq)), f.snd_shut,
                       f.error)
        return {"POLLIN": readable, "POLLOUT": writable}
    if p.poll_style == "linux":
        if f.kind == "tcp":
            rest: dict[str, Term] = {
                "POLLIN": or_(f.rcv_shut, f.readable), "POLLOUT": True, "POLLERR": f.error,
                "POLLHUP": or_(both, f.closed), "POLLRDHUP": f.rcv_shut}
            return {k: ite(f.listening, f.acceptable if k == "POLLIN" else False, v)
                    for k, v in rest.items()}
        connection_based = f.kind in ("unix-stream", "unix-seqpacket")
        return {
            "POLLIN": or_(f.rcv_shut, f.readable, and_(f.listening, f.acceptable)),
            "POLLOUT": not_(f.listening), "POLLERR": f.error,
            "POLLHUP": or_(both, and_(f.closed, connection_based)), "POLLRDHUP": f.rcv_shut}
    if p.poll_style == "gvisor":
        return _gvisor_poll(f)
    hup = both
    out = and_(or_(f.connected, not connreq, f.snd_shut, f.error), not_(hup))
    conn = {"POLLIN": or_(f.readable, f.error, f.rcv_shut), "POLLOUT": out, "POLLERR": False,
            "POLLHUP": hup, "POLLRDHUP": f.rcv_shut}
    lst = {"POLLIN": or_(f.acceptable, f.error), "POLLOUT": False, "POLLERR": False,
           "POLLHUP": and_(not_(f.acceptable), f.error), "POLLRDHUP": False}
    return {k: ite(f.listening, lst[k], conn[k]) for k in conn}


def _gvisor_poll(f: PollFacts) -> dict[str, Term]:
    """gVisor's Readiness() (spec/sources/gvisor-2022-12.md §8, measured): TCP not yet
    connected is HUP alone; a TCP connection over in both directions (or dead) is ready for
    everything asked plus HUP; an AF_UNIX socket that is not connected is ready for nothing
    (a datagram one is writable once connected); POLLRDHUP is never reported."""
    conn_in = or_(f.readable, f.rcv_shut)
    if f.kind == "tcp":
        over = or_(f.ended, and_(f.rcv_shut, f.snd_shut))
        fresh = and_(f.closed, not_(over))
        rest: dict[str, Term] = {
            "POLLIN": or_(over, and_(not_(fresh), conn_in)), "POLLPRI": over,
            "POLLOUT": not_(fresh), "POLLERR": or_(over, f.error),
            "POLLHUP": or_(over, fresh), "POLLRDHUP": False}
        return {k: ite(f.listening, f.acceptable if k == "POLLIN" else False, v)
                for k, v in rest.items()}
    if f.kind == "udp":
        return {"POLLIN": conn_in, "POLLOUT": True, "POLLERR": f.error, "POLLHUP": False,
                "POLLRDHUP": False}
    return {"POLLIN": or_(and_(f.listening, f.acceptable), and_(f.connected, conn_in),
                          and_(f.kind == "unix-dgram", f.readable)),
            "POLLOUT": f.connected, "POLLERR": f.error, "POLLHUP": False, "POLLRDHUP": False}


# --------------------------------------------------------------------------- timers

SECOND = 1_000_000  # the clock counts microseconds
#: Linux: TCP_TIMEOUT_INIT (1 s) and TCP_RTO_MAX (120 s), include/net/tcp.h
TCP_TIMEOUT_INIT = SECOND
TCP_RTO_MAX = 120 * SECOND
#: Linux TCP_DELACK_MAX (HZ/5): how long a client that set TCP_DEFER_ACCEPT holds its final ACK
#: (tcp_rcv_synsent_state_process(); spec/sources/linux-6.18.md §8)
TCP_DELACK_MAX = SECOND // 5
#: Linux TCP_RTO_MIN (HZ/5, include/net/tcp.h): a loopback connection's retransmission timeout
#: (its round trip is next to nothing, so the floor decides)
TCP_RTO_MIN = SECOND // 5


def client_resend_gap(n: int) -> int:
    """Linux: how long after its n-th sending (0: the first) a client sends again a segment
    a request sock dropped on a full accept queue (the client took the connection as
    established, so the segment waits for an ACK that never comes). First the tail loss probe:
    2·srtt + TCP_RTO_MIN with one packet out (net/ipv4/tcp_output.c
    tcp_schedule_loss_probe()), then retransmissions whose timeout starts at TCP_RTO_MIN and
    doubles (net/ipv4/tcp_timer.c tcp_retransmit_timer()), capped at TCP_RTO_MAX: sent again
    0.2, 0.4, 0.8, 1.6, 3.2 s after the first sending (measured by the kernel executor, Linux
    6.18). The client giving up after tcp_retries2 (15) resends, over 100 s on, is not
    modelled."""
    return TCP_RTO_MIN if n == 0 else min(TCP_RTO_MIN << (n - 1), TCP_RTO_MAX)


def reqsk_timeout(num_timeout: int) -> int:
    """Linux reqsk_timer_handler(): the next SYN-ACK timeout, `TCP_TIMEOUT_INIT << n` capped at
    TCP_RTO_MAX (spec/sources/linux-6.18.md §8)."""
    return min(TCP_TIMEOUT_INIT << min(num_timeout, 8), TCP_RTO_MAX)


def reqsk_fires_after(firings: int) -> int:
    """How long after a Linux request sock was made its reqsk timer fires for the
    (firings + 1)-th time: the sum of the timeouts before (reqsk_timeout())."""
    return sum(reqsk_timeout(n) for n in range(firings + 1))


def syn_ack_recalc(num_timeout: Term, max_retries: Term, defer: Term, acked: Term
                   ) -> tuple[Term, Term]:
    """Linux syn_ack_recalc() (net/ipv4/inet_connection_sock.c): (expire, resend) of a request
    sock whose timer fires after `num_timeout` earlier firings."""
    if not isinstance(defer, int) or defer:
        expire = and_(num_timeout >= max_retries, or_(not_(acked), num_timeout >= defer))
        resend = or_(not_(acked), num_timeout >= defer - 1)
        if isinstance(defer, int):
            return expire, resend
        return (ite(defer == 0, num_timeout >= max_retries, expire),
                ite(defer == 0, True, resend))
    return num_timeout >= max_retries, True


def reqsk_retries(max_retries: int, qlen: int, young: int, backlog: int) -> int:
    """Linux reqsk_timer_handler() (net/ipv4/inet_connection_sock.c): the retries a firing
    request sock may have. While the listener's requests (`qlen`, the request queue's length)
    fill more than half of max(8, its backlog), old ones are pruned: the limit drops by one,
    to no less than 2, for each doubling of the never-fired (`young`) requests, counted twice,
    that qlen still reaches ("we reserve half of room for young embrions")."""
    if qlen << 1 <= max(8, backlog):
        return max_retries
    young <<= 1
    while max_retries > 2 and qlen >= young:
        max_retries -= 1
        young <<= 1
    return max_retries


#: FreeBSD tcp_backoff[] (sys/netinet/tcp_timer.c) and the syncache's timing: the first
#: timeout is tcp_rexmit_initial (1 s), later ones rexmit_initial * backoff + tcp_rexmit_slop
#: (200 ms), clamped to 64 s (spec/sources/freebsd.md B12)
TCP_BACKOFF = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 512)
SYNCACHE_SLOP = 200_000
SYNCACHE_MAX = 64 * SECOND
#: 4.4BSD tcp_timer.h TCPTV_KEEP_INIT: an embryonic connection is dropped after 75 s
Q0_LIFETIME = 75 * SECOND


def syncache_timeout(rxmits: int) -> int:
    """The time from a syncache entry's `rxmits`-th transmission to its next timer."""
    if rxmits == 0:
        return SECOND
    return min(SECOND * TCP_BACKOFF[min(rxmits, len(TCP_BACKOFF) - 1)] + SYNCACHE_SLOP,
               SYNCACHE_MAX)


# --------------------------------------------------------------------------- Linux TCP_DEFER_ACCEPT


def defer_secs_to_retrans(seconds: int) -> int:
    """net/ipv4/tcp.c secs_to_retrans(seconds, TCP_TIMEOUT_INIT/HZ = 1, TCP_RTO_MAX/HZ = 120)."""
    res = 0
    if seconds > 0:
        timeout = period = 1
        res = 1
        while seconds > period and res < 255:
            res += 1
            timeout = min(timeout * 2, 120)
            period += timeout
    return res


def defer_store(p: Profile, seconds: int) -> int:
    """What setsockopt(TCP_DEFER_ACCEPT, seconds) keeps: Linux SYN-ACK retransmissions; gVisor
    (profile.defer_accept_max_seconds) whole seconds, negatives as 0, at most the maximum."""
    if p.defer_accept_max_seconds is None:
        return defer_secs_to_retrans(seconds)
    return min(max(seconds, 0), p.defer_accept_max_seconds)


def defer_read(p: Profile, stored: int) -> int:
    """What getsockopt(TCP_DEFER_ACCEPT) reads back of what defer_store kept."""
    if p.defer_accept_max_seconds is None:
        return defer_retrans_to_secs(stored)
    return stored


def defer_retrans_to_secs(retrans: int) -> int:
    period = 0
    if retrans > 0:
        timeout = period = 1
        for _ in range(retrans - 1):
            timeout = min(timeout * 2, 120)
            period += timeout
    return period
