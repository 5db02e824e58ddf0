"""models/outcome.py: a call the system may answer several ways (a connection to an address
that several SO_REUSEPORT listeners share) is one outcome with its distinct alternatives, in
the order the transition made them; a checker follows every one (runner.branches)."""

from __future__ import annotations

from listenspec.models.outcome import Outcome, with_alternatives
from listenspec.models.state import Host
from listenspec.results import Ret


def _outs(*values: int) -> list[Outcome]:
    h = Host()
    return [Outcome(h, Ret(v)) for v in values]


def test_one_way_has_no_alternatives() -> None:
    (only,) = _outs(0)
    assert with_alternatives([only]) == only
    assert with_alternatives(_outs(0, 0, 0)) == only


def test_alternatives_are_the_distinct_others_in_order() -> None:
    a, b, c = _outs(0, 1, 2)
    got = with_alternatives([a, b, a, c, b])
    assert got.result == a.result and got.alternatives == (b, c)
    assert [o.result for o in got.outcomes] == [Ret(0), Ret(1), Ret(2)]
    assert with_alternatives([a, b]).alternatives == (b,)
    assert with_alternatives([b, a, a]).outcomes == (b, a)
