"""The rule functions of models/rules.py value by value, where the model's traces do not tell
the cases apart but the proofs rely on them: the symbolic branch of syn_ack_recalc() against
the kernel's C, the incomplete queue's bound and evictions at an empty or minimal queue, and
arrival()'s and syn_arrival()'s decision fields (the mutation run's survivors of issue 14)."""

from __future__ import annotations

import itertools

import pytest
import z3

from listenspec.models import rules
from listenspec.models.profiles import PROFILES

LINUX = PROFILES["linux"]
SRC = PROFILES["freebsd-src"]  # incomplete queue q+1, evicting in a loop
F13 = PROFILES["freebsd-13"]  # 3q/2, one eviction per arrival
DFLY = PROFILES["dragonfly"]  # q, one eviction


def _c_syn_ack_recalc(num_timeout: int, max_retries: int, defer: int, acked: bool
                      ) -> tuple[bool, bool]:
    """net/ipv4/inet_connection_sock.c syn_ack_recalc(), as the C reads (the test's oracle)."""
    if not defer:
        return num_timeout >= max_retries, True
    expire = num_timeout >= max_retries and (not acked or num_timeout >= defer)
    resend = not acked or num_timeout >= defer - 1
    return expire, resend


def _value(t: object) -> bool:
    if isinstance(t, bool):
        return t
    assert isinstance(t, z3.BoolRef)
    got = z3.simplify(t)
    assert z3.is_true(got) or z3.is_false(got), got
    return z3.is_true(got)


GRID = list(itertools.product(range(5), range(4), range(4), (False, True)))


@pytest.mark.parametrize(("num", "retries", "defer", "acked"), GRID)
def test_syn_ack_recalc_over_ints_is_the_c(num: int, retries: int, defer: int,
                                           acked: bool) -> None:
    expire, resend = rules.syn_ack_recalc(num, retries, defer, acked)
    assert (_value(expire), _value(resend)) == _c_syn_ack_recalc(num, retries, defer, acked)


def test_syn_ack_recalc_over_z3_terms_is_the_c() -> None:
    # the proofs call it with a symbolic deferral: that branch builds an ite of both cases
    n, m, d = z3.Ints("n m d")
    a = z3.Bool("a")
    expire, resend = rules.syn_ack_recalc(n, m, d, a)
    for num, retries, defer, acked in GRID:
        at = [(n, z3.IntVal(num)), (m, z3.IntVal(retries)), (d, z3.IntVal(defer)),
              (a, z3.BoolVal(acked))]
        got = tuple(_value(t if isinstance(t, bool) else z3.substitute(t, *at))
                    for t in (expire, resend))
        assert got == _c_syn_ack_recalc(num, retries, defer, acked), (num, retries, defer, acked)


@pytest.mark.parametrize(("profile", "qlimit", "bound"), [
    (SRC, 0, 1), (SRC, 1, 2), (SRC, 4, 5), (F13, 0, 1), (F13, 1, 1), (F13, 2, 3), (F13, 4, 6),
    (DFLY, 0, 1), (DFLY, 1, 1), (DFLY, 3, 3)])
def test_the_incomplete_queue_is_never_bounded_below_the_one_that_arrived(
        profile: object, qlimit: int, bound: int) -> None:
    assert rules.incq_bound(profile, qlimit) == bound  # type: ignore[arg-type]


def test_incq_bound_asks_an_injected_rule_set_for_the_capacity() -> None:
    class Rules:  # the proofs inject their rule sets so (proofs/)
        @staticmethod
        def incq_capacity(p: object, qlimit: int) -> int:
            return qlimit * 10

    assert rules.incq_bound(SRC, 3, Rules()) == 30
    assert rules.incq_bound(SRC, 0, Rules()) == 1


@pytest.mark.parametrize(("profile", "incqlen", "qlimit", "evicted"), [
    # an empty queue evicts nobody, even at capacity 0 (qlimit 0)
    (SRC, 0, 0, 0), (F13, 0, 0, 0), (DFLY, 0, 0, 0),
    # one entry on a full queue of qlimit 0 (capacity 1 for q+1, 0 for 3q/2 and q) goes
    (SRC, 1, 0, 1), (F13, 1, 0, 1), (DFLY, 1, 0, 1),
    # at capacity and past it: q+1 loops down to room for one, the pages evict one
    (SRC, 5, 4, 1), (SRC, 4, 4, 0), (SRC, 6, 4, 2), (SRC, 8, 4, 4), (F13, 6, 4, 1), (F13, 5, 4, 0),
    (F13, 9, 4, 1), (DFLY, 3, 3, 1), (DFLY, 2, 3, 0)])
def test_evictions_at_and_around_the_capacity(profile: object, incqlen: int, qlimit: int,
                                              evicted: int) -> None:
    assert rules.evictions(profile, incqlen, qlimit) == evicted  # type: ignore[arg-type]


def _arrival(**kw: object) -> rules.Arrival:
    args: dict[str, object] = dict(tcp=True, qlen=0, incqlen=0, half_open=0, qlimit=4,
                                   cookies=1, filtered=False, deferring=False)
    args.update(kw)
    got = rules.arrival(LINUX if not args.pop("bsd", False) else SRC, **args)  # type: ignore[arg-type]
    return got


def _fields(a: rules.Arrival) -> tuple[bool, bool, bool, int]:
    return bool(a.overflow), bool(a.to_comp), bool(a.to_incomp), int(a.evict)


@pytest.mark.parametrize(("kw", "fields"), [
    # a plain TCP arrival with room: straight to the completed queue, nothing evicted
    ({}, (False, True, False, 0)),
    ({"tcp": False}, (False, True, False, 0)),
    # a full completed queue (Linux: more than the backlog)
    ({"qlen": 5}, (True, False, False, 0)),
    # TCP_DEFER_ACCEPT: a request sock waits as incomplete, unless the SYN went by cookie
    ({"deferring": True}, (False, False, True, 0)),
    ({"deferring": True, "half_open": 5}, (False, True, False, 0)),
    ({"deferring": True, "cookies": 2}, (False, True, False, 0)),
    ({"deferring": True, "qlen": 5}, (True, False, False, 0)),
    ({"deferring": True, "tcp": False}, (False, True, False, 0)),
    # an accept filter (freebsd-src): every child is incomplete, after the oldest go
    ({"bsd": True, "filtered": True}, (False, False, True, 0)),
    ({"bsd": True, "filtered": True, "incqlen": 6}, (False, False, True, 2)),
    ({"bsd": True, "filtered": True, "incqlen": 6, "qlen": 7}, (True, False, False, 0)),
])
def test_the_arrival_decision(kw: dict[str, object], fields: tuple[bool, bool, bool, int]
                              ) -> None:
    assert _fields(_arrival(**kw)) == fields


def test_a_bare_syn_meets_the_last_quarter_of_the_default_tcp_max_syn_backlog() -> None:
    # 2048 - 1537 = 511 < 512 (2048 >> 2): dropped without syncookies; 1536 leaves 512
    def syn(half_open: int) -> rules.SynArrival:
        return rules.syn_arrival(LINUX, qlen=0, incqlen=0, half_open=half_open, qlimit=4096,
                                 cookies=0, cache_total=0)

    assert _value(syn(1537).dropped) and _value(syn(1537).quarter)
    assert not _value(syn(1536).dropped) and _value(syn(1536).stored)


@pytest.mark.parametrize(("kw", "fields"), [
    # (synflood, dropped, overflow, stored, answered); the proofs count `stored` without
    # looking at `dropped` or `overflow` first (proofs/listener.py), so each must be exact
    ({}, (False, False, False, True, True)),
    ({"half_open": 5}, (True, False, False, False, True)),  # full: a cookie
    ({"half_open": 5, "cookies": 0}, (True, True, False, False, False)),  # full, no cookies
    ({"qlen": 5}, (False, False, True, False, False)),  # the accept queue is full
    ({"qlen": 5, "cookies": 0}, (False, False, True, False, False)),
    ({"cookies": 2}, (True, False, False, False, True)),  # every SYN by cookie
])
def test_the_syn_arrival_decision(kw: dict[str, int], fields: tuple[bool, ...]) -> None:
    args = dict(qlen=0, incqlen=0, half_open=0, qlimit=4, cookies=1, cache_total=0)
    args.update(kw)
    d = rules.syn_arrival(LINUX, **args)
    assert tuple(_value(bool(x) if isinstance(x, int) else x)
                 for x in (d.synflood, d.dropped, d.overflow, d.stored, d.answered)) == fields


def test_a_connecting_peer_meets_the_last_quarter_of_the_default_tcp_max_syn_backlog() -> None:
    # arrival()'s default, as syn_arrival()'s: 2048 - 1537 < 512 drops without syncookies
    def connect(half_open: int) -> rules.Arrival:
        return rules.arrival(LINUX, tcp=True, qlen=0, incqlen=0, half_open=half_open,
                             qlimit=4096, cookies=0, filtered=False, deferring=False)

    assert _value(connect(1537).dropped) and not _value(connect(1536).dropped)


def test_the_syncache_timeout_past_the_backoff_table_stays_at_its_clamp() -> None:
    # rexmtlimit may be larger than tcp_backoff[] is long: the last entry (and 64 s) holds
    assert [rules.syncache_timeout(n) for n in (12, 13, 20, 100)] == [rules.SYNCACHE_MAX] * 4
