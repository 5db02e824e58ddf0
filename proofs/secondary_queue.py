"""Property 3: the accept-filter (incomplete) queue after an arrival.

- incq-bound: after an admitted arrival the queue holds at most max(incq_capacity(qlimit), 1)
  (freebsd-src: q+1; the pages: ⌊3q/2⌋; DragonFly: q; never less than the one that just
  arrived), in every reachable state without a lowering re-listen;
- incq-bound-lowering: the same with lowering re-listens. It holds where an arrival evicts in a
  loop down to the capacity (`incq_evict = loop`: freebsd-src), from any state at all; it fails
  where an arrival evicts one (`one`: the pages, DragonFly), since a re-listen that shrinks the
  capacity leaves the queue longer than it and each arrival then only swaps one for one;
- evict-oldest: with arrival stamps as symbolic integers increasing along the FIFO, every
  connection an arrival evicts is older than every one it keeps, the newcomer is kept, and it
  evicts between 0 and all of the waiting ones.

    python -m listenspec.proofs.secondary_queue
"""

from __future__ import annotations

import z3

from listenspec.models.arith import Term, and_, not_
from listenspec.models.profiles import Profile

from . import listener as L
from . import smt
from .listener import implies
from .property import Explain, Property, Verdict, from_outcome
from .ruleset import Rules
from .system import Claim, Prop, States, Steps, System, everywhere, prove


def capacity(p: Profile, r: Rules, qlimit: Term) -> Term:
    """The bound after an arrival (rules.incq_bound), through the injected rules."""
    return r.incq_bound(p, qlimit, rs=r)


def within(p: Profile, r: Rules) -> Prop:
    def prop(states: States) -> Term:
        return and_(*[s.incq <= capacity(p, r, s.qlimit) for s in states])

    return prop


def after_arrival(p: Profile, r: Rules) -> Claim:
    def claim(ev: str, pre: States, steps: Steps) -> Term:
        if ev != "connect":
            return True
        return and_(*[implies(st.admitted, st.state.incq <= capacity(p, r, st.state.qlimit))
                      for st in steps])

    return claim


def over_capacity(p: Profile, r: Rules) -> Explain:
    def explain(states: States) -> str:
        s = states[0]
        return (f"after the arrival incq {s.incq} > max(incq_capacity(qlimit {s.qlimit}), 1) = "
                f"{capacity(p, r, s.qlimit)}")

    return explain


def some_eviction(ev: str, pre: States, steps: Steps) -> Term:
    return and_(steps[0].admitted, steps[0].evicted > 0) if ev == "connect" else False


HOW = ("from every well-formed state (no invariant needed)",
       "inductive: incq <= max(incq_capacity(qlimit), 1)")


def _bound(p: Profile, r: Rules, lowering: bool) -> Verdict:
    sys = System(p, r, filtered=True, lowering=lowering)
    claim = after_arrival(p, r)
    out = prove(sys, claim=claim, strengthenings=(everywhere, within(p, r)),
                witness=some_eviction)
    return from_outcome(sys, r, out, everywhere, claim, HOW, over_capacity(p, r))


def check_bound(p: Profile, r: Rules) -> Verdict:
    return _bound(p, r, lowering=False)


def check_bound_lowering(p: Profile, r: Rules) -> Verdict:
    return _bound(p, r, lowering=True)


def check_oldest(p: Profile, r: Rules) -> Verdict:
    n, q, i, j = z3.Ints("n qlimit i j")
    stamp_i, stamp_j, newcomer = z3.Ints("stamp_i stamp_j stamp_new")
    lo, hi = L.qlimit_range(p)
    k = r.evictions(p, n, q)
    hyps = [
        n >= 0, n < L.U32, L.in_range(q, lo, hi),
        L.in_range(i, 0, n - 1), L.in_range(j, 0, n - 1),
        # FIFO: arrival stamps (host: next_id) increase along the queue; the newcomer's is last
        implies(i < j, stamp_i < stamp_j), implies(j < i, stamp_j < stamp_i),
        implies(i == j, stamp_i == stamp_j), newcomer > stamp_i, newcomer > stamp_j,
    ]
    evicted_i, kept_j = r.victim(i, k, n), not_(r.victim(j, k, n))
    smt.require_sat("an eviction that keeps someone", [*hyps, evicted_i, kept_j])
    claims = {
        "count": and_(k >= 0, k <= n),
        "oldest": implies(and_(evicted_i, kept_j), stamp_i < stamp_j),
        "newcomer-kept": not_(r.victim(n, k, n)),
    }
    for name, claim in claims.items():
        m = smt.refute(hyps, claim, [[n <= 4, q <= 4, stamp_i >= 0, stamp_j >= 0,
                                      newcomer <= 8]])
        if m is not None:
            vals = smt.values(m, {"n": n, "qlimit": q, "evictions": k, "i": i, "j": j,
                                  "stamp_i": stamp_i, "stamp_j": stamp_j, "evicted_i": evicted_i,
                                  "kept_j": kept_j, "stamp_new": newcomer})
            return Verdict("counterexample", f"{name} fails: {smt.show(vals)}")
    return Verdict("proved")


def _filters(p: Profile) -> bool:
    return bool(p.accept_filters) and p.filter_holds  # the queue exists and holds


PROPERTIES = (
    Property("incq-bound", "without a lowering re-listen, after an arrival incq <= "
             "max(incq_capacity(qlimit), 1)", check_bound, applies=_filters),
    Property("incq-bound-lowering", "the same with lowering re-listens (holds where the "
             "arrival evicts in a loop, fails where it evicts one)", check_bound_lowering,
             applies=_filters,
             expected=lambda p: "proved" if p.incq_evict == "loop" else "counterexample"),
    Property("evict-oldest", "an arrival evicts only connections older than all it keeps, "
             "never itself, and 0..n of them", check_oldest, applies=_filters),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
