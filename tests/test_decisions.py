"""The listener's decisions (rules.arrival, rules.syn_arrival) are total and exclusive: for every
profile, every queue state, backlog and syncookies value, exactly one outcome holds. Checked with
Z3 over the rules themselves, and shown to fail on a deliberately broken decision."""

from __future__ import annotations

import attrs
import pytest
import z3

from listenspec.models import rules
from listenspec.models.arith import Term
from listenspec.models.profiles import PROFILES

V = z3.Ints("qlen incqlen half_open qlimit cookies cache_total")


def _exactly_one(*xs: Term) -> Term:
    return z3.PbEq([(x, 1) for x in xs], 1)


def _valid(claim: Term) -> bool:
    s = z3.Solver()
    s.add(*[v >= 0 for v in V[:3]], V[5] >= 0)
    s.add(z3.Not(claim))
    return s.check() == z3.unsat


def _arrival(profile: str, tcp: bool, filtered: bool, deferring: bool) -> rules.Arrival:
    qlen, incqlen, half_open, qlimit, cookies, _ = V
    return rules.arrival(PROFILES[profile], tcp=tcp, qlen=qlen, incqlen=incqlen,
                         half_open=half_open, qlimit=qlimit, cookies=cookies,
                         filtered=filtered, deferring=deferring)


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("tcp,filtered,deferring", [(True, False, False), (True, True, False),
                                                     (True, False, True), (False, False, False),
                                                     (False, True, False)])
def test_an_arrival_has_exactly_one_outcome(profile: str, tcp: bool, filtered: bool,
                                            deferring: bool) -> None:
    d = _arrival(profile, tcp, filtered, deferring)
    as_bool = [z3.BoolVal(x) if isinstance(x, bool) else x
               for x in (d.dropped, d.overflow, d.to_comp, d.to_incomp)]
    assert _valid(_exactly_one(*as_bool))
    evict = d.evict if not isinstance(d.evict, int) else z3.IntVal(d.evict)
    assert _valid(z3.Implies(z3.Not(as_bool[3]), evict == 0))


def test_a_broken_decision_is_caught() -> None:
    d = _arrival("linux", True, False, False)
    broken = attrs.evolve(d, to_comp=z3.Or(d.to_comp, d.dropped))  # queues what it dropped
    assert not _valid(_exactly_one(broken.dropped, broken.overflow, broken.to_comp,
                                   z3.BoolVal(False)))


@pytest.mark.parametrize("profile", list(PROFILES))
def test_a_syn_is_stored_only_when_answered(profile: str) -> None:
    qlen, incqlen, half_open, qlimit, cookies, cache_total = V
    d = rules.syn_arrival(PROFILES[profile], qlen=qlen, incqlen=incqlen, half_open=half_open,
                          qlimit=qlimit, cookies=cookies, cache_total=cache_total)
    b = [z3.BoolVal(x) if isinstance(x, bool) else x
         for x in (d.dropped, d.overflow, d.stored, d.answered)]
    assert _valid(z3.Implies(b[2], b[3]))  # stored -> answered
    assert _valid(z3.Implies(z3.Or(b[0], b[1]), z3.Not(b[3])))  # dropped -> no SYN-ACK
