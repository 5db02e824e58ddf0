"""What a proof is (a named property with a check per profile) and what it returns."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from listenspec.models.profiles import Profile

from . import listener as L
from . import smt
from .ruleset import Rules
from .system import Claim, Outcome, Prop, States, System, Trace
from .witness import confirm

#: proved | counterexample | n/a; and, only when a proof itself is broken: vacuous (its
#: hypotheses cannot hold), unknown (Z3 gave up, or no invariant and no counterexample found),
#: unconfirmed (a counterexample the concrete model does not reproduce).
Status = str


@attrs.frozen
class Verdict:
    status: Status
    counterexample: str | None = None  # concrete values, and a script where it is a run
    detail: str | None = None  # for a proof: how (which invariant), or a checked witness


@attrs.frozen
class Property:
    name: str
    statement: str
    check: Callable[[Profile, Rules], Verdict]
    applies: Callable[[Profile], bool] = lambda p: True
    expected: Callable[[Profile], str] = lambda p: "proved"  # proved | counterexample

    def run(self, p: Profile, rules: Rules) -> Verdict:
        if not self.applies(p):
            return Verdict("n/a")
        try:
            return self.check(p, rules)
        except smt.Vacuous as e:
            return Verdict("vacuous", detail=str(e))
        except smt.Unknown as e:
            return Verdict("unknown", detail=f"z3: {e}")


#: what a counterexample's final abstract state means, in words (with its numbers)
Explain = Callable[[States], str]


def describe(sys: System, tr: Trace, explain: Explain | None) -> str:
    evs = ", ".join(
        ev.name + (f"({', '.join(str(v) for v in args.values())})" if args else "")
        for ev, args in tr.events
    )
    shown = {k: v for k, v in tr.init.items() if k != "cookies" or L.cookie_sysctls(sys.p)}
    init = ", ".join(f"{k}={v}" for k, v in shown.items())
    last = explain(tr.final(sys.copies, sys.filtered)) if explain else smt.show(tr.states[-1])
    return f"listen with {init}; then {evs or '(nothing)'}: {last}"


def from_outcome(sys: System, rules: Rules, out: Outcome, prop: Prop, claim: Claim,
                 how: tuple[str, ...] = (), explain: Explain | None = None) -> Verdict:
    """A system check's outcome as a verdict; a counterexample is run on the concrete model."""
    if out.status == "proved":
        detail = how[out.invariant] if out.invariant < len(how) else None
        return Verdict("proved", detail=detail)
    if out.status == "unknown":
        return Verdict("unknown", detail=out.note)
    assert out.trace is not None
    shown, script = confirm(sys, rules, out.trace, prop, claim)
    text = f"{describe(sys, out.trace, explain)}\n{script}"
    if rules.is_real and not shown:
        return Verdict("unconfirmed", text, "the concrete model does not reproduce this run")
    return Verdict("counterexample", text)

