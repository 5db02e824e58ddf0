"""One listening socket seen through the numbers the rules read, and its transitions.

This is host.py restricted to one TCP listener: the state is the tuple (qlen, incqlen,
half_open, qlimit, limit, syncookies). Every decision is the model's own rule (rules.arrival,
rules.syn_arrival, rules.relisten_kept, ...), evaluated over Z3 terms through the injected
`Rules`; this module only applies the decision to the counts, as host.py applies it to the
state. tests/test_proofs.py still checks the projection against `host.apply` on random states.

Not modelled: AF_UNIX (no half-open count), Linux TCP_DEFER_ACCEPT, and more than one listener
sharing the syncache.
"""

from __future__ import annotations

import attrs

from listenspec.models import host
from listenspec.models.arith import Term, and_, ite, not_, or_
from listenspec.models.profiles import INT_MAX, INT_MIN, Profile, Sysctl
from listenspec.models.state import Host

from .ruleset import Rules

U32 = 2**32
C_INT = (INT_MIN, INT_MAX)  # what a script (and a C caller) can pass as a backlog or sysctl value


@attrs.frozen
class Listener:
    qlen: Term  # completed queue
    incq: Term  # accept-filter queue
    half_open: Term  # syncache entries / request socks / 4.4BSD q0 of this listener
    qlimit: Term  # the effective backlog
    limit: Term  # the hard limit in force (a sysctl, or fixed)
    cookies: Term  # the syncookies sysctl (1, its default, where there is none)
    filtered: bool = False  # an accept filter is set (a constant of a system, never symbolic)


@attrs.frozen
class Step:
    state: Listener
    admitted: Term = False  # connect: the connection was queued (completed or incomplete)
    evicted: Term = 0  # connect with a filter: how many of the oldest incomplete ones went


# --------------------------------------------------------------------------- profile data


def limit_sysctls(p: Profile) -> tuple[Sysctl, ...]:
    return tuple(s for s in p.sysctls if s.key == "limit")


def cookie_sysctls(p: Profile) -> tuple[Sysctl, ...]:
    return tuple(s for s in p.sysctls if s.key == "syncookies")


def limit_ok(p: Profile, r: Rules, limit: Term) -> Term:
    """`limit` is a value the hard limit can hold: accepted by its sysctl, or the fixed one."""
    ss = limit_sysctls(p)
    if not ss:
        return limit == p.default("limit")
    return or_(*[r.sysctl_accepts(s.lo, s.hi, limit) for s in ss])


def cookies_ok(p: Profile, r: Rules, cookies: Term) -> Term:
    ss = cookie_sysctls(p)
    if not ss:
        return cookies == p.default("syncookies")
    return or_(*[r.sysctl_accepts(s.lo, s.hi, cookies) for s in ss])


def qlimit_range(p: Profile) -> tuple[int, int]:
    """Where an effective backlog can lie: between min(0, lowest limit) and the highest limit."""
    ss = limit_sysctls(p)
    if not ss:
        lim = p.default("limit")
        return min(0, lim), lim
    return min(0, *(s.lo for s in ss)), max(s.hi for s in ss)


def implies(a: Term, b: Term) -> Term:
    return or_(not_(a), b)


def in_range(x: Term, lo: int, hi: int) -> Term:
    return and_(x >= lo, x <= hi)


def well_formed(p: Profile, r: Rules, s: Listener) -> Term:
    """What holds of every listener state, whatever happened before (checked inductive)."""
    lo, hi = qlimit_range(p)
    return and_(
        s.qlen >= 0,
        # sol_qlen is a u_int. Admission keeps it far below 2^32, but an accept filter's release
        # has no limit check (nothing bounds the completed queue then), so not with a filter.
        True if s.filtered else s.qlen < U32,
        s.incq >= 0, s.incq < U32,
        s.half_open >= 0,
        True if s.filtered else s.incq == 0,
        in_range(s.qlimit, lo, hi),
        limit_ok(p, r, s.limit),
        cookies_ok(p, r, s.cookies),
    )


# --------------------------------------------------------------------------- transitions


def listen(p: Profile, r: Rules, backlog: Term, limit: Term, cookies: Term,
           filtered: bool = False) -> Listener:
    """listen() on a fresh socket (and, with `filtered`, SO_ACCEPTFILTER right after)."""
    return Listener(0, 0, 0, r.effective_backlog(p, backlog, limit), limit, cookies, filtered)


def relisten(p: Profile, r: Rules, s: Listener, backlog: Term) -> Step:
    q = r.effective_backlog(p, backlog, s.limit)
    qlen, incq = r.relisten_kept(p, s.qlen, s.incq, q)
    # gVisor refuses a backlog below what the queue holds, and keeps the old one
    q = ite(r.relisten_refused(p, s.qlen, q), s.qlimit, q)
    return Step(attrs.evolve(s, qlen=qlen, incq=incq, qlimit=q))


def connect(p: Profile, r: Rules, s: Listener) -> Step:
    """A TCP connection completes its handshake with the listener: rules.arrival decides."""
    d = r.arrival(p, tcp=True, qlen=s.qlen, incqlen=s.incq, half_open=s.half_open,
                  qlimit=s.qlimit, cookies=s.cookies, filtered=s.filtered and p.filter_holds,
                  deferring=False, rs=r)
    return Step(attrs.evolve(s, qlen=ite(d.to_comp, s.qlen + 1, s.qlen),
                             incq=ite(d.to_incomp, s.incq - d.evict + 1, s.incq)),
                or_(d.to_comp, d.to_incomp), d.evict)


def syn(p: Profile, r: Rules, s: Listener) -> Step:
    """A bare SYN that is never completed: rules.syn_arrival decides (one listener owns the
    whole syncache)."""
    d = r.syn_arrival(p, qlen=s.qlen, incqlen=s.incq, half_open=s.half_open, qlimit=s.qlimit,
                      cookies=s.cookies, cache_total=s.half_open, rs=r)
    return Step(attrs.evolve(s, half_open=ite(d.stored, s.half_open + 1, s.half_open)))


def accept(p: Profile, r: Rules, s: Listener) -> Step:
    return Step(attrs.evolve(s, qlen=ite(s.qlen > 0, s.qlen - 1, s.qlen)))


def release(p: Profile, r: Rules, s: Listener) -> Step:
    """The accept filter releases one waiting connection (host._feed: no limit check)."""
    ready = s.incq > 0
    return Step(attrs.evolve(s, incq=ite(ready, s.incq - 1, s.incq),
                             qlen=ite(ready, s.qlen + 1, s.qlen)))


def set_limit(p: Profile, r: Rules, s: Listener, sysctl: Sysctl, value: Term) -> Step:
    ok = r.sysctl_accepts(sysctl.lo, sysctl.hi, value)
    return Step(attrs.evolve(s, limit=ite(ok, value, s.limit)))


def set_cookies(p: Profile, r: Rules, s: Listener, sysctl: Sysctl, value: Term) -> Step:
    ok = r.sysctl_accepts(sysctl.lo, sysctl.hi, value)
    return Step(attrs.evolve(s, cookies=ite(ok, value, s.cookies)))


# --------------------------------------------------------------------------- projection


def project(p: Profile, h: Host, sid: int) -> Listener:
    """The concrete listener `sid` of host h as the abstract tuple."""
    lst = h.socks[sid].listener
    assert lst is not None
    return Listener(
        qlen=len(lst.comp), incq=len(lst.incomp), half_open=len(lst.half_open),
        qlimit=lst.qlimit, limit=host.limit(p, h), cookies=host.setting(p, h, "syncookies"),
        filtered=lst.accept_filter is not None,
    )
