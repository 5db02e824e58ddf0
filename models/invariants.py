"""The named invariants: one definition, used by the Hypothesis machines, the explorer, the
tests and (by name and meaning) the Z3 proofs.

Each check looks at one transition (the state before, the call, the outcome) and returns the
names of the invariants it breaks. State-only checks are the ones that hold in every reachable
state; step checks are those that only make sense across a step (what an admission may do).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import rules
from .dataplane import poll_facts
from .host import Outcome, limit
from .profiles import Profile
from .state import FILE, ORPHAN, Host, Listener
from .values import Ret

#: invariant name -> what it says (the docs and reports print these).
INVARIANTS: dict[str, str] = {
    "refused-unchanged": "a call refused by a guard returns the state it was given",
    "clamp": "listen() sets 0 <= qlimit <= limit, and qlimit = backlog for backlog in [0, limit]",
    "queue-bound": "no admission makes the completed queue longer than max_completed(qlimit)",
    "incq-bound": "after an arrival the accept-filter queue holds at most its capacity "
                  "(freebsd-src: q+1), unless a lowering re-listen left it longer",
    "evict-oldest": "the connections an arrival terminates are the oldest waiting ones",
    "relisten-keeps": "listen() on a listening socket removes no connection from either queue",
    "fds-consistent": "every descriptor names an open socket or a file; every bound address "
                      "names an open socket",
    "poll-listener": "a listener with no pending error, never shut down, polls POLLIN exactly "
                     "when its completed queue is not empty, and never POLLOUT (the facts the "
                     "Z3 proof poll-listener assumes hold in every reachable state)",
}


def _listeners(h: Host) -> dict[int, Listener]:
    return {sid: s.listener for sid, s in h.socks.items() if s.listener is not None}


def check_state(p: Profile, h: Host) -> Iterator[str]:
    for fd, sid in h.fds.items():
        if sid != FILE and sid not in h.socks:
            yield "fds-consistent"
            return
        del fd
    for _addr, held in h.addrs.items():
        if not held or any(sid != ORPHAN and sid not in h.socks for sid in held):
            yield "fds-consistent"
            return
    for s in h.socks.values():
        if s.listener is None or s.error is not None or s.shut:
            continue
        ev = rules.poll_events(p, poll_facts(s))
        if bool(ev.get("POLLIN")) != bool(s.listener.comp) or ev.get("POLLOUT"):
            yield "poll-listener"
            return


def check_step(p: Profile, before: Host, call: str, args: tuple[Any, ...],
               out: Outcome, *, state: bool = True) -> list[str]:
    """Names of the invariants this transition breaks (empty if none). The state checks are
    not made again on a state the call returned unchanged (the very object it was given): they
    were made on the step that reached it, and a refusal is half of the explorer's calls.
    With state=False they are left to the caller (the explorer makes them once per state key:
    listenspec/expand.py)."""
    after = out.state
    broken: list[str] = [] if after is before or not state else list(check_state(p, after))
    if out.refused and after is not before:
        broken.append("refused-unchanged")
    if call not in ("listen", "connect"):
        return broken
    lb, la = _listeners(before), _listeners(after)
    if call == "listen" and out.result == Ret(0):  # (a failed listen may still take a port)
        backlog = args[1]
        sid = before.fds[args[0]]
        q = after.socks[sid].listener.qlimit  # type: ignore[union-attr]
        lim = limit(p, before)
        if lim >= 0 and not (0 <= q <= lim and (not 0 <= backlog <= lim or q == backlog)):
            broken.append("clamp")
        if sid in lb:
            old, new = lb[sid], la[sid]
            if old.comp != new.comp or old.incomp != new.incomp:
                broken.append("relisten-keeps")
    if call == "connect":
        for sid, new in la.items():
            if sid not in lb:
                continue
            old = lb[sid]
            if len(new.comp) > len(old.comp) and len(new.comp) > rules.max_completed(p, new.qlimit):
                broken.append("queue-bound")
            arrived = [e for e in new.incomp if e not in old.incomp]
            if arrived:
                gone = [e for e in old.incomp if e not in new.incomp]
                if tuple(gone) != old.incomp[: len(gone)]:
                    broken.append("evict-oldest")
                cap = rules.incq_bound(p, new.qlimit)
                if p.incq_evict == "loop":
                    if new.requests > cap:
                        broken.append("incq-bound")
                elif new.requests > cap and old.requests < cap:
                    broken.append("incq-bound")
    return broken
