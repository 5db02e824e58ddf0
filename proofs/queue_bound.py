"""Property 2: the completed queue never outgrows max_completed(qlimit).

Over the listener transition system (connect, syn, accept, close, re-listen, both sysctls), for
every backlog and every accepted limit:

- queue-bound: no step that lengthens the completed queue leaves it above the maximum for the
  limit in force (a claim of every step from every state, so it needs no invariant);
- queue-bound-states: without a re-listen that lowers the effective backlog, the bound holds in
  every reachable state (an inductive invariant);
- queue-bound-lowering: with such a re-listen it does not (the search finds the run);
- queue-bound-tight: for every accepted qlimit, max_completed(qlimit) connections in a row are
  all admitted, so a queue holding exactly the maximum is reachable; and a concrete script.

Accept filters are outside this system: a filter releases connections to the completed queue
without any limit check (host._feed, like FreeBSD's soisconnected()).

    python -m listenspec.proofs.queue_bound
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from listenspec.models.arith import Term, and_, or_
from listenspec.models.profiles import Profile
from listenspec.results import Queue, Ret

from . import listener as L
from . import smt
from .listener import Listener, implies
from .property import Explain, Property, Verdict, from_outcome
from .ruleset import Rules
from .system import Claim, Prop, States, Steps, System, everywhere, no_claim, prove
from .witness import Script, run


def bounded(p: Profile, r: Rules) -> Prop:
    def prop(states: States) -> Term:
        return and_(*[or_(s.qlen == 0, s.qlen <= r.max_completed(p, s.qlimit)) for s in states])

    return prop


def admissions_bounded(p: Profile, r: Rules) -> Claim:
    def claim(ev: str, pre: States, steps: Steps) -> Term:
        return and_(*[implies(st.state.qlen > s.qlen,
                              st.state.qlen <= r.max_completed(p, st.state.qlimit))
                      for s, st in zip(pre, steps, strict=True)])

    return claim


def over_the_bound(p: Profile, r: Rules) -> Explain:
    def explain(states: States) -> str:
        s = states[0]
        return (f"qlen {s.qlen} > max_completed(qlimit {s.qlimit}) = "
                f"{r.max_completed(p, s.qlimit)}")

    return explain


def some_admission(ev: str, pre: States, steps: Steps) -> Term:
    return steps[0].admitted if ev == "connect" else False


def check_step(p: Profile, r: Rules) -> Verdict:
    sys = System(p, r)
    claim = admissions_bounded(p, r)
    out = prove(sys, claim=claim, witness=some_admission)
    return from_outcome(sys, r, out, everywhere, claim,
                        ("a claim of every step, from every well-formed state",),
                        over_the_bound(p, r))


def _states(p: Profile, r: Rules, lowering: bool) -> Verdict:
    sys = System(p, r, lowering=lowering)
    prop = bounded(p, r)
    out = prove(sys, prop=prop, witness=some_admission)
    return from_outcome(sys, r, out, prop, no_claim,
                        ("inductive: 0 <= qlen <= max(0, max_completed(qlimit))",),
                        over_the_bound(p, r))


def check_states(p: Profile, r: Rules) -> Verdict:
    return _states(p, r, lowering=False)


def check_lowering(p: Profile, r: Rules) -> Verdict:
    return _states(p, r, lowering=True)


WITNESS_BACKLOG = 2

#: The maximum each profile's source states, for qlimit q >= 0, written independently of the
#: rules (DESIGN.md, "Divergences"): the proofs check that max_completed is exactly this.
_PAGES = ("⌊3q/2⌋", lambda q: 3 * q / 2, "the pages: \"1.5 times\" the backlog")
DOCUMENTED_MAX: dict[str, tuple[str, Callable[[Term], Term], str]] = {
    "freebsd-9": _PAGES, "freebsd-10": _PAGES, "freebsd-13": _PAGES, "intime": _PAGES,
    "freebsd-src": ("⌊3q/2⌋+1", lambda q: 3 * q / 2 + 1,
                    "solisten_clone(): refused once sol_qlen > 3 * sol_qlimit / 2"),
    "dragonfly": ("q", lambda q: q, "the DragonFly page: the backlog is the maximum"),
    "linux": ("q+1", lambda q: q + 1, "sk_acceptq_is_full(): ack_backlog > max_ack_backlog"),
    "bsd-4.4": ("⌊3q/2⌋+1", lambda q: 3 * q / 2 + 1,
                "sonewconn1(): refused once so_qlen + so_q0len > 3 * so_qlimit / 2"),
}


def check_tight(p: Profile, r: Rules) -> Verdict:
    # the largest limit: every qlimit in [0, top] is what listen(s, qlimit) sets under it
    top = L.qlimit_range(p)[1]
    q, k = z3.Int("qlimit"), z3.Int("k")
    s = Listener(k, 0, 0, q, top, p.default("syncookies"))
    step = L.connect(p, r, s)
    hyps = [L.in_range(q, 0, top), L.limit_ok(p, r, top)]
    smt.require_sat("a qlimit under the largest limit", hyps)
    within = and_(k >= 0, k < r.max_completed(p, q))
    smt.require_sat("a queue below its maximum", [*hyps, within])
    claim = and_(r.effective_backlog(p, q, top) == q,
                 implies(within, and_(step.admitted, step.state.qlen == k + 1)))
    m = smt.refute(hyps, claim, [[q <= 8]])
    if m is not None:
        vals = smt.values(m, {"qlimit": q, "k": k, "max_completed": r.max_completed(p, q),
                              "admitted": step.admitted})
        return Verdict("counterexample", f"connection k+1 refused below the maximum: "
                                         f"{smt.show(vals)}")
    documented = ""
    if p.name in DOCUMENTED_MAX:  # (Z3 Int division by 2 is the floor, as ⌊⌋ says)
        formula, fn, source = DOCUMENTED_MAX[p.name]
        m = smt.refute(hyps, r.max_completed(p, q) == fn(q), [[q <= 8]])
        if m is not None:
            vals = smt.values(m, {"qlimit": q, "max_completed": r.max_completed(p, q),
                                  formula: fn(q)})
            return Verdict("counterexample", f"the maximum is not {formula} ({source}): "
                                             f"{smt.show(vals)}")
        documented = f"max_completed(q) = {formula} for every q in [0, {top}] ({source}); "
    return _tight_witness(p, r, documented)


def _tight_witness(p: Profile, r: Rules, documented: str) -> Verdict:
    """listen(s, 2); max_completed(2) connections; netstat; one more, refused."""
    b = min(WITNESS_BACKLOG, p.default("limit"))
    n = int(r.max_completed(p, r.effective_backlog(p, b, p.default("limit"))))
    sc = Script()
    sc.add("s = socket(AF_INET, SOCK_STREAM)", f"listen(s, {b})")
    for _ in range(n + 1):
        c = sc.client()
        sc.add(f"{c} = socket(AF_INET, SOCK_STREAM)", f"connect({c}, s)")
        if sc.clients == n:
            sc.add("netstat(s)")
    sc.add("netstat(s)")
    claim = f"{documented}max_completed(q) connections in a row are admitted"
    if not r.is_real:
        return Verdict("proved", detail=f"{claim}; witness not run (rules injected)")
    ran = run(p, sc, 1)
    queues = [x for x in ran.results if isinstance(x, Queue)]
    connects = [x for x, line in zip(ran.results, sc.lines, strict=True)
                if line.startswith("connect")]
    full = queues[0].qlen == n and queues[1].qlen == n
    ok = full and all(x == Ret(0) for x in connects[:n]) and connects[n] != Ret(0)
    text = f"{claim}; witness for backlog {b} (max {n}):\n{ran.annotated}"
    return Verdict("proved", detail=text) if ok else Verdict("unconfirmed", detail=text)


PROPERTIES = (
    Property("queue-bound", "no step lengthens the completed queue past "
             "max_completed(qlimit), from any state", check_step),
    Property("queue-bound-states", "without a lowering re-listen, qlen <= max_completed(qlimit) "
             "in every reachable state", check_states),
    Property("queue-bound-lowering", "the same with lowering re-listens (fails: the queue "
             "keeps what it holds)", check_lowering,
             # gVisor refuses such a re-listen (profile.relisten_shrink_errno): there it holds
             expected=lambda p: "proved" if p.relisten_shrink_errno else "counterexample"),
    Property("queue-bound-tight", "a queue of exactly max_completed(qlimit) is reachable, "
             "for every accepted qlimit", check_tight),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
