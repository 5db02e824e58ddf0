"""SO_REUSEPORT: two listeners that share a port, each with its own queue and backlog.

A connection, a SYN, an accept() or a re-listen reaches one member (Linux hashes onto any
member, FreeBSD picks the last bound or hashes a SO_REUSEPORT_LB group: which one is the
search's choice here); the sysctls reach both. rules.arrival decides against the reached
member's queue alone, as the model's connect() does for the member tables.reach names.

- reuseport-group: without a lowering re-listen, the group's completed queues together never
  hold more than the sum of the members' maxima, max(0, max_completed(q_a)) +
  max(0, max_completed(q_b)) (inductive, with each member's own bound);
- reuseport-one-queue: they may hold more than the larger member alone allows (the search
  finds the run: a group's capacity is the sum, not the largest backlog).

A counterexample is written as a script with two listeners `a` and `b`, each on its own port:
which member a connection reaches is the step's choice, and the member decides alone.

    python -m listenspec.proofs.reuseport
"""

from __future__ import annotations

from listenspec.models.arith import Term, ite
from listenspec.models.profiles import Profile

from .property import Explain, Property, Verdict, from_outcome
from .queue_bound import bounded
from .ruleset import Rules
from .system import Prop, States, Steps, System, no_claim, prove


def _cap(p: Profile, r: Rules, q: Term) -> Term:
    m = r.max_completed(p, q)
    return ite(m > 0, m, 0)


def total_bound(p: Profile, r: Rules) -> Prop:
    def prop(states: States) -> Term:
        a, b = states
        return a.qlen + b.qlen <= _cap(p, r, a.qlimit) + _cap(p, r, b.qlimit)

    return prop


def larger_member_bound(p: Profile, r: Rules) -> Prop:
    def prop(states: States) -> Term:
        a, b = states
        return a.qlen + b.qlen <= ite(a.qlimit >= b.qlimit, _cap(p, r, a.qlimit),
                                      _cap(p, r, b.qlimit))

    return prop


def some_member_admits(ev: str, pre: States, steps: Steps) -> Term:
    return steps[0].admitted if ev == "connect a" else False


def explain(p: Profile, r: Rules) -> Explain:
    def show(states: States) -> str:
        a, b = states
        return (f"a holds {a.qlen} (qlimit {a.qlimit}, max {_cap(p, r, a.qlimit)}), "
                f"b holds {b.qlen} (qlimit {b.qlimit}, max {_cap(p, r, b.qlimit)})")

    return show


def _group(p: Profile, r: Rules, prop: Prop) -> Verdict:
    sys = System(p, r, copies=2, group=True, lowering=False)
    each = bounded(p, r)
    out = prove(sys, prop=prop, strengthenings=(each,), witness=some_member_admits)
    return from_outcome(sys, r, out, prop, no_claim,
                        ("inductive: each member's qlen <= max(0, max_completed(its qlimit))",),
                        explain(p, r))


def check_group(p: Profile, r: Rules) -> Verdict:
    return _group(p, r, total_bound(p, r))


def check_one_queue(p: Profile, r: Rules) -> Verdict:
    return _group(p, r, larger_member_bound(p, r))


PROPERTIES = (
    Property("reuseport-group", "two SO_REUSEPORT listeners together hold at most the sum of "
             "their maxima (without a lowering re-listen)", check_group),
    Property("reuseport-one-queue", "the same bounded by the larger member's maximum alone "
             "(fails: the group's capacity is the sum)", check_one_queue,
             expected=lambda p: "counterexample"),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
