"""Counterexamples and witnesses as scripts, run on the concrete model to check they show it.

A run found by the bounded search is written as a listenspec script (one listener `s`, or `a`
and `b` for the two copies of a product) and executed by the model's own runner; after every
event the concrete listeners are projected back onto the abstract tuple and the property is
evaluated on those concrete numbers. The script is reported only with what the model answered.
"""

from __future__ import annotations

import attrs

from listenspec.models.profiles import Profile
from listenspec.models.state import Host
from listenspec.results import NewFd, Result
from listenspec.results import render as render_result
from listenspec.runner import ModelRun
from listenspec.script import parse

from . import listener as L
from .listener import Step
from .ruleset import Rules
from .system import Claim, Event, Prop, States, System, Trace


def listener_names(copies: int) -> list[str]:
    return ["s"] if copies == 1 else [chr(ord("a") + i) for i in range(copies)]


@attrs.define
class Script:
    """Script lines, grouped by the abstract event each group performs."""

    lines: list[str] = attrs.field(factory=list)
    ends: list[int] = attrs.field(factory=list)  # index after the last line of each group
    clients: int = 0

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def end_event(self) -> None:
        self.ends.append(len(self.lines))

    def client(self) -> str:
        self.clients += 1
        return f"c{self.clients}"

    def text(self) -> str:
        return "\n".join(self.lines)


def sysctl_line(name: str, value: int) -> str:
    return f'sysctl("{name}", {value})'


def render(sys: System, tr: Trace) -> Script:
    """The script that performs trace `tr` on system `sys`."""
    p = sys.p
    sc = Script()
    names = listener_names(sys.copies)
    if tr.init["limit"] != p.default("limit"):
        sc.add(sysctl_line(L.limit_sysctls(p)[0].name, tr.init["limit"]))
    if tr.init["cookies"] != p.default("syncookies"):
        sc.add(sysctl_line(L.cookie_sysctls(p)[0].name, tr.init["cookies"]))
    for n in names:
        backlog = tr.init["backlog" if sys.copies == 1 else f"backlog_{n}"]
        sc.add(f"{n} = socket(AF_INET, SOCK_STREAM)", f"listen({n}, {backlog})")
        if sys.filtered:
            sc.add(f'setsockopt({n}, SO_ACCEPTFILTER, "dataready")')
    sc.end_event()
    for ev, args in tr.events:
        _render_event(sys, sc, ev, args, names)
        sc.end_event()
    for n in names:
        sc.add(f"netstat({n})")
    return sc


def _render_event(sys: System, sc: Script, ev: Event, args: dict[str, int],
                  names: list[str]) -> None:
    if ev.host_wide:
        assert ev.sysctl is not None
        sc.add(sysctl_line(ev.sysctl, args["v"]))
        return
    for i, n in enumerate(names):
        if not sys.receives(ev, i):
            continue
        if ev.call == "connect":
            c = sc.client()
            sc.add(f"{c} = socket(AF_INET, SOCK_STREAM)", f"connect({c}, {n})")
        elif ev.call == "syn":
            sc.add(f"syn({n})")
        elif ev.call == "accept":
            sc.add(f"accept({n})")
        elif ev.call == "listen":
            sc.add(f"listen({n}, {args['b']})")
        else:  # pragma: no cover - the search uses only the events above
            raise AssertionError(f"no script line for {ev.name}")


@attrs.frozen
class Run:
    """A script as run by the concrete model."""

    annotated: str  # the script, each line followed by `# = result` (still a valid script)
    results: tuple[Result, ...]
    states: tuple[States, ...]  # the listeners projected after each event group
    admitted: tuple[tuple[bool, ...], ...]  # per event group: did each copy's connect succeed


def run(p: Profile, sc: Script, copies: int) -> Run:
    script = parse(sc.text() + "\n", "<proof>")
    mr = ModelRun(p)
    results: list[Result] = []
    states: list[States] = []
    admitted: list[tuple[bool, ...]] = []
    names = listener_names(copies)
    start = 0
    for end in sc.ends:
        flags = [False] * copies
        for step in script.steps[start:end]:
            res = mr.step(step).result
            results.append(res)
            if step.call.name == "connect":
                target = getattr(step.call.args[1], "name", "")
                client = getattr(step.call.args[0], "name", "")
                flags[names.index(target)] = queued(mr.state, _sid(mr, target), _sid(mr, client))
        start = end
        states.append(tuple(L.project(p, mr.state, _sid(mr, n)) for n in names))
        admitted.append(tuple(flags))
    for step in script.steps[start:]:
        results.append(mr.step(step).result)
    lines = []
    for text, res in zip(sc.lines, results, strict=True):
        lines.append(text if isinstance(res, NewFd) else f"{text}  # = {render_result(res)}")
    return Run("\n".join(lines), tuple(results), tuple(states), tuple(admitted))


def queued(h: Host, listener: int, client: int) -> bool:
    """Whether client's connection waits in one of the listener's queues (was admitted). Not
    the connect() result: FreeBSD with rst_on_sock_fail=0 returns 0 for a refused one."""
    lst = h.socks[listener].listener
    assert lst is not None
    return any(e.client == client for e in (*lst.comp, *lst.incomp))


def _sid(mr: ModelRun, name: str) -> int:
    sid = mr.names[name].sid
    assert sid is not None
    return sid


def confirm(sys: System, r: Rules, tr: Trace, prop: Prop, claim: Claim) -> tuple[bool, str]:
    """Run the trace's script on the model; (does it break prop or claim, the annotated script)."""
    sc = render(sys, tr)
    if not r.is_real:
        return False, sc.text() + "\n# (rules injected: not run on the model, which runs the "\
                                  "real rules)"
    ran = run(sys.p, sc, sys.copies)
    if not prop(ran.states[0]):
        return True, ran.annotated
    for (ev, _), pre, post, flags in zip(tr.events, ran.states[:-1], ran.states[1:],
                                         ran.admitted[1:], strict=True):
        steps = tuple(Step(s, admitted=f) for s, f in zip(post, flags, strict=True))
        if not prop(post) or not claim(ev.name, pre, steps):
            return True, ran.annotated
    return False, ran.annotated
