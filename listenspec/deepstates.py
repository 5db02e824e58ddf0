"""The deep states a Hypothesis machine aims for, and how one step shows it reached one.

Observed from the states, not re-derived: an overflow is a listener whose overflow count (or
last-logged time) moved; an eviction is a queued connection that vanished.
"""

from __future__ import annotations

from typing import Any

from .models import rules
from .models.host import Outcome
from .models.profiles import Profile
from .models.state import Host, Listener
from .models.values import Err

#: deep state -> what it is. Measured per run by benchmarks/deep_states.py.
DEEP_STATES: dict[str, str] = {
    "queue-full": "a completed queue exactly full: 0 < qlen == max_completed(qlimit)",
    "overflow-refused": "a connection refused (reset, dropped) because the queue was full",
    "accf-evict": "an arrival terminated the oldest connection of an accept-filter queue",
    "overflow-logged+suppressed": "an overflow logged, and a later one kept quiet by the "
                                  "rate limit (kern.ipc.sooverinterval)",
    "relisten-below-qlen": "listen() on a listening socket with a backlog below its qlen",
}


def applicable_deep_states(p: Profile) -> tuple[str, ...]:
    """The deep states that can exist under p (no accept filters, no log: those cannot)."""
    out = ["queue-full", "overflow-refused"]
    if p.accept_filters and p.filter_holds:
        out.append("accf-evict")
    if p.overflow_log:
        out.append("overflow-logged+suppressed")
    out.append("relisten-below-qlen")
    return tuple(out)


def _listeners(h: Host) -> dict[int, Listener]:
    return {sid: s.listener for sid, s in h.socks.items() if s.listener is not None}


def step_events(p: Profile, before: Host, call: str, args: tuple[Any, ...],
                out: Outcome) -> set[str]:
    """What one step reached: deep states, and the log events `run_deep_states` combines.

    Observed from the states, not re-derived: an overflow is a listener whose overflow count
    (or last-logged time) moved; an eviction is a queued connection that vanished.
    """
    ev: set[str] = set()
    after = out.state
    la = _listeners(after)
    for lst in la.values():
        if lst.comp and len(lst.comp) == rules.max_completed(p, lst.qlimit):
            ev.add("queue-full")
    if out.refused or call not in ("connect", "listen"):
        return ev
    lb = _listeners(before)
    if call == "listen":
        old = lb.get(before.fds.get(args[0], -1))
        new = la.get(before.fds.get(args[0], -1))
        if old is not None and new is not None and new.qlimit < len(old.comp):
            ev.add("relisten-below-qlen")
        return ev
    for sid, old in lb.items():
        new = la.get(sid)
        if new is None:
            continue
        if (new.overcount, new.lastover) != (old.overcount, old.lastover):
            if isinstance(out.result, Err):
                ev.add("overflow-refused")
            if len(after.log) > len(before.log):
                ev.add("overflow-logged")
            elif old.lastover is not None and new.lastover == old.lastover:
                ev.add("overflow-suppressed")
        if old.incomp:
            kept = {e.conn for e in (*new.incomp, *new.comp)}
            if any(e.conn not in kept for e in old.incomp):
                ev.add("accf-evict")
    return ev


def run_deep_states(events: set[str]) -> set[str]:
    """The deep states (DEEP_STATES keys) one run reached, from all its step events."""
    out = events & set(DEEP_STATES)
    if {"overflow-logged", "overflow-suppressed"} <= events:
        out.add("overflow-logged+suppressed")
    return out
