"""Property 4: listen() on a listening socket.

- relisten-keeps (4a): a re-listen removes no connection from either queue (the rule
  `relisten_kept`, through the re-listen transition), from any state, with an accept filter
  where the profile has them so the incomplete queue is not empty;
- relisten-product (4b): two copies of a listener see the same events (connect, syn, accept,
  close, sysctl writes); if copy a's effective backlog is at least copy b's, a admits every
  connection b admits. A two-copy product invariant: qlen_a >= qlen_b and a has at least b's
  room left, room = max_completed(qlimit) - (what admission counts);
- relisten-raw (4c): the same with a's *raw* backlog argument at least b's. It fails wherever a
  negative backlog means the limit: 0 > -1, yet eff(0) = 0 < eff(-1) = limit. It holds on
  4.4BSD, whose clamp (negatives to 0, then min with SOMAXCONN) is monotone.
- On Linux the product fails too, with net.ipv4.tcp_syncookies=0: a SYN is dropped when
  half-open + deferred connections exceed qlimit, and the copy with the larger backlog may have
  let more half-open connections in (the search shows the run). gVisor cannot turn SYN cookies
  off (it has no such sysctl): there the product holds.

    python -m listenspec.proofs.relisten
"""

from __future__ import annotations

from collections.abc import Sequence

from listenspec.models.arith import Term, and_
from listenspec.models.profiles import Profile

from . import listener as L
from .listener import implies
from .property import Property, Verdict, from_outcome
from .ruleset import Rules
from .system import Claim, Prop, States, Steps, System, everywhere, prove


def keeps(ev: str, pre: States, steps: Steps) -> Term:
    if ev != "listen":
        return True
    return and_(*[and_(st.state.qlen == s.qlen, st.state.incq == s.incq)
                  for s, st in zip(pre, steps, strict=True)])


def lowers_with_waiting(ev: str, pre: States, steps: Steps) -> Term:
    """Vacuity: some re-listen lowers qlimit under what the queues hold."""
    if ev != "listen":
        return False
    s, new = pre[0], steps[0].state
    return and_(new.qlimit < s.qlimit, s.qlen + s.incq > new.qlimit)


def check_keeps(p: Profile, r: Rules) -> Verdict:
    sys = System(p, r, filtered=bool(p.accept_filters) and p.filter_holds)
    out = prove(sys, claim=keeps, witness=lowers_with_waiting)
    return from_outcome(sys, r, out, everywhere, keeps, ("a claim of every re-listen, "
                                                         "from every well-formed state",))


# --------------------------------------------------------------------------- the product


def dominates(p: Profile, r: Rules) -> Prop:
    """The product invariant: a is ahead of b in backlog, in queue, and in room left."""
    def prop(states: States) -> Term:
        a, b = states
        return and_(a.qlimit >= b.qlimit, a.qlen >= b.qlen,
                    r.max_completed(p, a.qlimit) - r.admission_count(p, a.qlen, a.half_open)
                    >= r.max_completed(p, b.qlimit) - r.admission_count(p, b.qlen, b.half_open))

    return prop


def a_admits_what_b_admits(ev: str, pre: States, steps: Steps) -> Term:
    return implies(steps[1].admitted, steps[0].admitted) if ev == "connect" else True


def b_admits(ev: str, pre: States, steps: Steps) -> Term:
    return steps[1].admitted if ev == "connect" else False


def both(states: States) -> str:
    return "; ".join(f"{n}: qlimit {s.qlimit}, qlen {s.qlen}, half_open {s.half_open}"
                     for n, s in zip("ab", states, strict=True)) + \
        "; the last connection: b admitted it, a did not"


def _product(p: Profile, r: Rules, relation: str) -> Verdict:
    def init(backlogs: Sequence[Term], states: States) -> Term:
        if relation == "effective":
            return states[0].qlimit >= states[1].qlimit
        return backlogs[0] >= backlogs[1]

    sys = System(p, r, copies=2, relisten=False, init_relation=init)
    claim: Claim = a_admits_what_b_admits
    out = prove(sys, claim=claim, strengthenings=(dominates(p, r),), witness=b_admits)
    return from_outcome(sys, r, out, everywhere, claim,
                        ("inductive: qlimit_a >= qlimit_b, qlen_a >= qlen_b, room_a >= room_b",),
                        both)


def check_product(p: Profile, r: Rules) -> Verdict:
    return _product(p, r, "effective")


def check_raw(p: Profile, r: Rules) -> Verdict:
    return _product(p, r, "raw")


PROPERTIES = (
    Property("relisten-keeps", "listen() on a listening socket removes no connection from "
             "either queue", check_keeps),
    Property("relisten-product", "same events, effective backlog a >= b: a admits every "
             "connection b admits", check_product,
             # Linux with tcp_syncookies=0 drops a SYN when half-open + deferred > qlimit;
             # the larger listener may have let more half-open connections in (see report)
             expected=lambda p: "counterexample" if p.half_open == "reqsk"
             and L.cookie_sysctls(p) else "proved"),
    Property("relisten-raw", "the same with the raw backlog argument a >= b (fails where a "
             "negative backlog means the limit)", check_raw,
             expected=lambda p: "proved" if p.clamp == "zero-min" else "counterexample"),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
