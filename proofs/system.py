"""Listener transition systems, and the two checks the proofs run on them.

A `System` is one listener (or two copies of one that see the same events, for the product
proofs) under a profile and a set of rules. `prove` tries candidate invariants by induction (the
initial states satisfy it; every event preserves it and the step claim): an inductive invariant
covers every reachable state, every backlog and every limit at once. When no candidate is
inductive, a bounded search from the initial states (BMC) looks for a real counterexample, so a
counterexample reported here is always reachable, and comes with the events that reach it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs
import z3

from listenspec.models.arith import Term, and_
from listenspec.models.profiles import Profile, Sysctl

from . import listener as L
from . import smt
from .listener import C_INT, Listener, Step
from .ruleset import Rules

States = tuple[Listener, ...]
Steps = tuple[Step, ...]
Params = Mapping[str, Term]
#: a property of the states: holds in every reachable state
Prop = Callable[[States], Term]
#: a property of one step: (event name, states before, the steps of each copy)
Claim = Callable[[str, States, Steps], Term]

@attrs.frozen
class Event:
    name: str
    params: tuple[str, ...]  # each a C int (a backlog, a sysctl value)
    apply: Callable[[Profile, Rules, Listener, Params], Step]
    host_wide: bool = False  # a sysctl write: one call, seen by every copy
    searchable: bool = True  # used by the bounded search (it has a script line)
    sysctl: str | None = None
    only: int | None = None  # a group member's own event: only this copy sees it

    @property
    def call(self) -> str:
        """The call the event is (`connect`, also for a group's `connect a`)."""
        return self.name.split()[0]


def _member(ev: Event, i: int) -> Event:
    return attrs.evolve(ev, name=f"{ev.name} {'ab'[i]}", only=i)


def _distinct(ss: Sequence[Sysctl]) -> list[Sysctl]:
    """One sysctl per accepted range: two names for one limit are one transition (FreeBSD's
    kern.ipc.soacceptqueue and its hidden alias kern.ipc.somaxconn)."""
    return list({(s.lo, s.hi): s for s in reversed(ss)}.values())[::-1]


def _limit_event(s: Sysctl) -> Event:
    return Event(f"sysctl {s.name}", ("v",),
                 lambda p, r, st, a: L.set_limit(p, r, st, s, a["v"]), host_wide=True,
                 sysctl=s.name)


def _cookie_event(s: Sysctl) -> Event:
    return Event(f"sysctl {s.name}", ("v",),
                 lambda p, r, st, a: L.set_cookies(p, r, st, s, a["v"]), host_wide=True,
                 sysctl=s.name)


CONNECT = Event("connect", (), lambda p, r, s, a: L.connect(p, r, s))
SYN = Event("syn", (), lambda p, r, s, a: L.syn(p, r, s))
ACCEPT = Event("accept", (), lambda p, r, s, a: L.accept(p, r, s))
# close() of a client or of an accepted socket leaves the listener as it is; closing the
# listener ends it (a new listen() is an initial state again).
CLOSE = Event("close", (), lambda p, r, s, a: Step(s), searchable=False)
RELISTEN = Event("listen", ("b",), lambda p, r, s, a: L.relisten(p, r, s, a["b"]))
# Only shrinks the incomplete queue, so the search never needs it (and it has no one-line
# script: which client sends is a choice).
RELEASE = Event("release", (), lambda p, r, s, a: L.release(p, r, s), searchable=False)


@attrs.frozen
class System:
    p: Profile
    r: Rules
    copies: int = 1
    filtered: bool = False  # the listener has an accept filter from the start
    relisten: bool = True  # re-listen is an event
    lowering: bool = True  # ... and it may lower the effective backlog
    syn_copies: tuple[int, ...] | None = None  # a SYN reaches only these copies (None: all)
    # what relates the copies' initial backlogs (and listeners)
    init_relation: Callable[[Sequence[Term], States], Term] | None = None
    # the copies are the members of one SO_REUSEPORT group, not a product: a connection, a
    # SYN, an accept() or a re-listen reaches one member (which one is the search's choice)
    group: bool = False

    def events(self) -> list[Event]:
        evs = [CONNECT, SYN, ACCEPT, CLOSE]
        if self.relisten:
            evs.append(RELISTEN)
        if self.group:
            evs = [_member(e, i) if e.searchable else e for e in evs
                   for i in range(self.copies if e.searchable else 1)]
        if self.filtered:
            evs.append(RELEASE)
        evs += [_limit_event(s) for s in _distinct(L.limit_sysctls(self.p))]
        evs += [_cookie_event(s) for s in _distinct(L.cookie_sysctls(self.p))]
        return evs

    def receives(self, ev: Event, copy: int) -> bool:
        if ev.only is not None:
            return copy == ev.only
        return ev is not SYN or self.syn_copies is None or copy in self.syn_copies

    # -- symbolic states
    # Variable names are unique within one query (and the same from run to run, so the
    # counterexamples are too).
    def fresh(self, tag: str) -> States:
        limit, cookies = z3.Int(f"{tag}.limit"), z3.Int(f"{tag}.cookies")

        def var(i: int, field: str) -> Term:
            return z3.Int(f"{tag}.{i}.{field}")

        return tuple(
            Listener(var(i, "qlen"), var(i, "incq"), var(i, "half_open"), var(i, "qlimit"),
                     limit, cookies, self.filtered)
            for i in range(self.copies)
        )

    def initial(self, tag: str = "init") -> tuple[States, list[Term], dict[str, Term]]:
        """Initial states (fresh listen() calls), their constraints, and their parameters."""
        backlogs = [z3.Int(f"{tag}.backlog{i}") for i in range(self.copies)]
        limit, cookies = z3.Int(f"{tag}.limit"), z3.Int(f"{tag}.cookies")
        states = tuple(L.listen(self.p, self.r, b, limit, cookies, self.filtered)
                       for b in backlogs)
        cons = [L.in_range(b, *C_INT) for b in backlogs]
        cons += [L.limit_ok(self.p, self.r, limit), L.cookies_ok(self.p, self.r, cookies)]
        if self.init_relation is not None:
            cons.append(self.init_relation(backlogs, states))
        named = {"backlog" + ("" if self.copies == 1 else f"_{'ab'[i]}"): b
                 for i, b in enumerate(backlogs)}
        return states, cons, {**named, "limit": limit, "cookies": cookies}

    def params(self, ev: Event, tag: str) -> tuple[dict[str, Term], list[Term]]:
        a = {k: z3.Int(f"{tag}.{k}") for k in ev.params}
        return a, [L.in_range(v, *C_INT) for v in a.values()]

    def step(self, ev: Event, states: States, a: Params) -> tuple[Steps, Term]:
        """Each copy's step, and whether the event may happen (the no-lowering guard)."""
        steps = tuple(ev.apply(self.p, self.r, s, a) if self.receives(ev, i) else Step(s)
                      for i, s in enumerate(states))
        enabled: Term = True
        if ev.call == "listen" and not self.lowering:
            enabled = and_(*[st.state.qlimit >= s.qlimit for s, st in zip(states, steps,
                                                                             strict=True)])
        return steps, enabled

    def well_formed(self, states: States) -> Term:
        return and_(*[L.well_formed(self.p, self.r, s) for s in states])


def states_equal(a: States, b: States) -> Term:
    return and_(*[
        and_(x.qlen == y.qlen, x.incq == y.incq, x.half_open == y.half_open,
             x.qlimit == y.qlimit, x.limit == y.limit, x.cookies == y.cookies)
        for x, y in zip(a, b, strict=True)
    ])


def no_claim(ev: str, pre: States, steps: Steps) -> Term:
    return True


def everywhere(states: States) -> Term:
    return True


# --------------------------------------------------------------------------- results


@attrs.frozen
class Trace:
    """A run from an initial state: the initial parameters, then each event and its arguments."""

    init: dict[str, int]
    events: tuple[tuple[Event, dict[str, int]], ...]
    states: tuple[dict[str, int], ...]  # abstract values after each event (copy-prefixed)

    def final(self, copies: int, filtered: bool) -> States:
        """The abstract listeners at the end of the run, as ints."""
        d = self.states[-1]
        tags = [""] if copies == 1 else [f"{c}." for c in "ab"[:copies]]
        return tuple(Listener(d[f"{t}qlen"], d[f"{t}incq"], d[f"{t}half_open"], d[f"{t}qlimit"],
                              d["limit"], d["cookies"], filtered) for t in tags)


@attrs.frozen
class Outcome:
    status: str  # proved | counterexample | unknown
    trace: Trace | None = None
    invariant: int = 0  # proved: which strengthening made the invariant inductive
    note: str = ""  # for `unknown`: the induction step that failed


def prove(sys: System, prop: Prop = everywhere, claim: Claim = no_claim,
          strengthenings: Sequence[Prop] = (everywhere,), depth: int = 8,
          witness: Claim | None = None) -> Outcome:
    """Is `prop` true in every reachable state and `claim` of every step?

    Tries `well_formed ∧ prop ∧ st` for each strengthening st as an inductive invariant. Checks
    that the initial states exist and that every event can happen in some state the invariant
    allows (vacuity); `witness`, if given, must be satisfiable on some step too (e.g. "a
    connection is admitted"), so the claim is not true only for want of a case.
    """
    init, init_cons, _ = sys.initial()
    smt.require_sat("initial states", init_cons)
    failures: list[str] = []
    for index, st in enumerate(strengthenings):
        def inv(s: States, st: Prop = st) -> Term:
            return and_(sys.well_formed(s), prop(s), st(s))

        if smt.refute(init_cons, inv(init)) is not None:
            failures.append("the initial states break the candidate invariant")
            continue
        broken = _first_non_inductive(sys, inv, claim, witness)
        if broken is None:
            return Outcome("proved", invariant=index)
        failures.append(broken)
    trace = search(sys, prop, claim, depth)
    if trace is not None:
        return Outcome("counterexample", trace)
    return Outcome("unknown", note="; ".join(failures) + f"; no counterexample in {depth} steps")


def _first_non_inductive(sys: System, inv: Prop, claim: Claim,
                         witness: Claim | None) -> str | None:
    witnessed = witness is None
    pre = sys.fresh("pre")
    smt.require_sat("a state the invariant allows", [inv(pre)])
    for ev in sys.events():
        a, a_cons = sys.params(ev, f"arg.{ev.name}")
        steps, enabled = sys.step(ev, pre, a)
        post = tuple(s.state for s in steps)
        hyps = [inv(pre), *a_cons, enabled]
        if enabled is not True:  # (arguments are any C int: always satisfiable)
            smt.require_sat(f"{ev.name} can happen in an invariant state", hyps)
        if witness is not None and not witnessed \
                and smt.find([*hyps, witness(ev.name, pre, steps)]) is not None:
            witnessed = True
        cti = smt.refute(hyps, and_(inv(post), claim(ev.name, pre, steps)))
        if cti is not None:
            vals = smt.values(cti, {**_named(pre, "pre"), **a})
            return f"not inductive under {ev.name}: {smt.show(vals)}"
    if not witnessed:
        raise smt.Vacuous("no step satisfies the witness condition")
    return None


def _named(states: States, prefix: str = "") -> dict[str, Term]:
    """Readable names for the state variables: `qlen`, or `a.qlen`/`b.qlen` for two copies."""
    out: dict[str, Term] = {}
    lead = f"{prefix}." if prefix else ""
    for i, s in enumerate(states):
        tag = lead + (f"{'ab'[i]}." if len(states) > 1 else "")
        out |= {f"{tag}qlen": s.qlen, f"{tag}incq": s.incq, f"{tag}half_open": s.half_open,
                f"{tag}qlimit": s.qlimit}
    out |= {f"{lead}limit": states[0].limit, f"{lead}cookies": states[0].cookies}
    return out


def search(sys: System, prop: Prop, claim: Claim, depth: int) -> Trace | None:
    """Bounded model checking: the shortest run (up to `depth` events) that breaks prop/claim.

    Small argument values are tried first so the counterexample reads well as a script.
    """
    events = [e for e in sys.events() if e.searchable]
    init, init_cons, init_params = sys.initial("bmc")
    solver = smt.solver()
    solver.add(*init_cons)
    path: list[States] = [init]
    choices: list[tuple[Term, dict[str, dict[str, Term]]]] = []
    bad_now: Term = z3.Not(prop(init))
    args: list[Term] = [v for k, v in init_params.items() if k.startswith("backlog")]
    defaults = [init_params["limit"] == sys.p.default("limit"),
                init_params["cookies"] == sys.p.default("syncookies")]
    for k in range(depth + 1):
        solver.push()
        solver.add(bad_now)
        r = solver.check()
        if r == z3.unknown:
            raise smt.Unknown(solver.reason_unknown())
        if r == z3.sat:
            m = solver.model()
            natural = [L.in_range(v, 0, 8) for v in args]
            small = [L.in_range(v, -2, 8) for v in args]
            for hint in ([*natural, *defaults], [*small, *defaults], [*small, defaults[0]], small):
                solver.push()
                solver.add(*hint)
                found = solver.check() == z3.sat
                if found:
                    m = solver.model()
                solver.pop()
                if found:
                    break
            solver.pop()
            return _trace(m, init_params, choices, events, path)
        solver.pop()
        if k == depth:
            break
        pre = path[-1]
        post = sys.fresh(f"s{k + 1}")
        choice = z3.Int(f"event{k}")
        params: dict[str, dict[str, Term]] = {}
        alts, bads = [], []
        for i, ev in enumerate(events):
            a, a_cons = sys.params(ev, f"e{k}.{i}")
            params[ev.name] = a
            steps, enabled = sys.step(ev, pre, a)
            post_i = tuple(s.state for s in steps)
            alts.append(and_(choice == i, *a_cons, enabled, states_equal(post, post_i)))
            bads.append(and_(choice == i, z3.Not(claim(ev.name, pre, steps))))
            args += a.values()
        solver.add(z3.Or(*alts))
        path.append(post)
        choices.append((choice, params))
        bad_now = z3.Or(*bads, z3.Not(prop(post)))
    return None


def _trace(m: z3.ModelRef, init_params: dict[str, Term],
           choices: list[tuple[Term, dict[str, dict[str, Term]]]], events: list[Event],
           path: list[States]) -> Trace:
    taken: list[tuple[Event, dict[str, int]]] = []
    for choice, args in choices:
        ev = events[int(smt.value(m, choice))]
        taken.append((ev, {k: int(smt.value(m, v)) for k, v in args[ev.name].items()}))
    states = tuple({k: int(smt.value(m, v)) for k, v in _named(s).items()} for s in path)
    init = {k: int(smt.value(m, v)) for k, v in init_params.items()}
    # the search may find the violation before the last unrolled step; keep what it used
    return Trace(init, tuple(taken), states)
