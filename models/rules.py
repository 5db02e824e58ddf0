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


def request_queue_full(half_open: Term, deferred: Term, qlimit: Term) -> Term:
    """Linux inet_csk_reqsk_queue_is_full(): the request (SYN) queue, which holds half-open
    connections and TCP_DEFER_ACCEPT-deferred ones, is bounded by the same backlog; `>` since
    3479c7549fb1 (reference/linux.md §2)."""
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

    synflood: Term  # Linux: the request queue is full (counted, logged once per listener)
    dropped: Term  # Linux: ... and without syncookies the SYN is dropped (ListenDrops)
    cookie: Term  # Linux: the handshake went by syncookie: no request sock, no deferral
    overflow: Term  # the completed queue is full: refused (how: overflow_answer)
    to_comp: Term  # queued as completed
    to_incomp: Term  # queued as incomplete: on an accept filter, or deferred (TCP_DEFER_ACCEPT)
    evict: Term  # how many of the oldest incomplete connections go first (to_incomp only)


def arrival(p: Profile, *, tcp: bool, qlen: Term, incqlen: Term, half_open: Term,
            qlimit: Term, cookies: Term, filtered: bool, deferring: bool,
            rs: Any = None) -> Arrival:
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
        full = r.request_queue_full(half_open, incqlen, qlimit)
        dropped = and_(full, cookies == 0)
        cookie = or_(cookies == 2, full)
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

    synflood: Term  # Linux: the request queue is full (counted, logged once per listener)
    dropped: Term  # Linux: ... and without syncookies: dropped (ListenDrops)
    overflow: Term  # Linux: the accept queue is full: dropped (the overflow counters)
    stored: Term  # a half-open entry is kept (syncache entry, request sock, 4.4BSD q0)
    answered: Term  # a SYN-ACK went back (stored, or a cookie): syn() returns 0


def syn_arrival(p: Profile, *, qlen: Term, incqlen: Term, half_open: Term, qlimit: Term,
                cookies: Term, cache_total: Term, rs: Any = None) -> SynArrival:
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
        full = r.request_queue_full(half_open, incqlen, qlimit)
        dropped = and_(full, cookies == 0)
        overflow = and_(not_(dropped), not_(r.admits(p, qlen, 0, qlimit)))
        answered = and_(not_(dropped), not_(overflow))
        stored = and_(answered, not_(or_(cookies == 2, full)))
        return SynArrival(full, dropped, overflow, stored, answered)
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


def filter_ready(name: str, data: bytes, eof: bool, hiwat: int) -> bool:
    """Whether a connection held by accept filter `name` is released to the completed queue."""
    if name == "dataready":
        return len(data) >= 1 or eof  # accf_data: soreadable()
    if name == "httpready":
        return _http_ready(data, eof, hiwat)
    return False


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


def defer_retrans_to_secs(retrans: int) -> int:
    period = 0
    if retrans > 0:
        timeout = period = 1
        for _ in range(retrans - 1):
            timeout = min(timeout * 2, 120)
            period += timeout
    return period
