"""Explorer-like scripts for the fuzzers: random walks over the explorer's own alphabet.

conform's generator (scriptgen) writes scenarios: a listener, clients, reads, timers. The
explorer instead tries every declared call on every open descriptor. At stop 25 it found a
crash in about a second (listen() of a bound AF_UNIX socket that was reset while queued, on
every BSD profile) that 1.6 M fuzzed inputs had never built. A walk takes the explorer's moves
(`Alphabet.compile()`, all three domains and the reads) one at a time: a call is drawn, then
one of its moves in the state the walk has reached. Half of `run`'s inputs are walks.

What that buys, measured by removing one LIFECYCLE row at a time (1,000 inputs each, seed 0;
docs/reliability.md): walks are weaker than scriptgen's scenarios at what needs a handshake,
and find more of the close rows of sockets that never connected. Neither found that
listen() crash in 1,000 inputs; the walks find it about once in 10,000 on bsd-4.4.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache

from hypothesis import strategies as st

from ..alphabet import Alphabet, Move, action_calls
from ..calls import CALLS
from ..checked import render_script
from ..models import host
from ..models.host import initial
from ..models.profiles import get
from ..models.state import Host
from ..script import format_call
from .inputs import PROFILE_NAMES, RANDOMS

DOMAINS = ("AF_INET", "AF_INET6", "AF_UNIX")
#: steps per walk: past the explorer's usual depth (8 to 11) but short enough to draw quickly
MAX_STEPS = 30
#: bounds on the alphabet's backlog and limit samples, one past the explorer's default (2)
MAX_BACKLOG = 3


@cache
def _moves(profile: str, domains: tuple[str, ...]) -> Callable[[Host], list[Move]]:
    return Alphabet(get(profile), MAX_BACKLOG, MAX_BACKLOG, domains, reads=True).compile()


def walk(r: random.Random, profile: str, steps: int,
         domains: tuple[str, ...] = DOMAINS, calls: frozenset[str] | None = None) -> bytes:
    """A script of up to `steps` calls over sockets of `domains`, each a move drawn from the
    state the previous ones reached. It ends early at a call the model crashed on, so that
    the fuzzed entry point meets that call (this function never raises on a model crash)."""
    p = get(profile)
    moves = _moves(profile, domains)
    h = initial(p)
    path = []
    for _ in range(steps):
        # a call first, then one of its moves: by moves alone, the many calls on descriptors
        # would crowd out socket() and the sysctls as sockets open
        by_call: dict[str, list[Move]] = {}
        for m in moves(h):
            if calls is None or m[0][0] in calls:
                by_call.setdefault(m[0][0], []).append(m)
        if not by_call:
            break
        action, call, args = r.choice(r.choice(list(by_call.values())))
        path.append(action)
        try:
            h = host.CALLS[call](p, h, *args).state
        except Exception:  # the crash is the fuzzed entry point's to find
            break
    return render_script([format_call(c, b) for c, b in action_calls(p, path)]).encode()


def _drawn(r: random.Random, profile: str) -> tuple[bytes, str]:
    # one domain most of the time: a walk over all three spreads its few steps thin
    domains = DOMAINS if r.random() < 0.25 else (r.choice(DOMAINS),)
    # swarm testing (Groce et al., ISSTA 2012): each walk leaves out about half the calls, so
    # that the ones it keeps come often enough to build on each other
    calls = frozenset(c.name for c in CALLS if c.name == "socket" or r.random() < 0.5)
    return walk(r, profile, r.randint(1, MAX_STEPS), domains, calls), profile


#: (a walk's script, the profile it was drawn under)
WALKS: st.SearchStrategy[tuple[bytes, str]] = st.builds(_drawn, RANDOMS, PROFILE_NAMES)
