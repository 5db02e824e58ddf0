"""How long a half-open connection lives on each system, found by running the model's timers
(the system pages say it, the queue pictures draw it)."""

from __future__ import annotations

import functools

from ..models import rules, timers
from ..models.profiles import PROFILES
from ..runner import ModelRun
from ..script import parse

#: the sysctl that sets how often a half-open connection resends before it is dropped
HALF_OPEN_SYSCTL = {"reqsk": "net.ipv4.tcp_synack_retries",
                    "syncache": "net.inet.tcp.syncache.rexmtlimit"}


@functools.cache
def half_open_lifetime(profile: str) -> float:
    """Seconds from a SYN to the end of its half-open connection, found by letting the model's
    clock run (timers.advance_clock) on a listener that got one SYN: the first instant at
    which the listener holds no half-open connection."""
    p = PROFILES[profile]
    run = ModelRun(p)
    list(run.run(parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\nsyn(s)\n",
                       f"<{profile}>")))
    sid, state = run.names["s"].sid, run.state
    assert sid is not None
    listener = state.socks[sid].listener
    assert listener is not None and listener.half_open, "syn() made no half-open connection"
    lo, hi = state.clock, state.clock + 3600 * rules.SECOND
    while lo < hi:  # the half-open set only shrinks as time passes: bisect the instant
        mid = (lo + hi) // 2
        after = timers.advance_clock(p, state, mid).socks[sid].listener
        if after is not None and after.half_open:
            lo = mid + 1
        else:
            hi = mid
    return (lo - state.clock) / rules.SECOND
