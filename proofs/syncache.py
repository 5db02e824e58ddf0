"""Property 5: does a SYN flood starve completed connections?

Two copies of a listener with the same backlog see the same events, except that bare SYNs
(half-open connections that never complete) reach copy a only. Claim: every connection is
admitted by a exactly when it is by b, i.e. admission does not depend on how many half-open
connections exist. Inductive on the FreeBSD >= 4.5 profiles (the syncache keeps half-open
connections off the listen queues: sonewconn() runs only for a completed handshake). On 4.4BSD
the half-open connections sit in so_q0 and count against the backlog (`so_qlen + so_q0len >
3 * so_qlimit / 2`): the search finds the SYN flood that starves the listener. On Linux the same
happens only with net.ipv4.tcp_syncookies=0, when a full request queue drops the SYN; gVisor
has no such sysctl (a full request queue always answers with a cookie), so there it holds.

    python -m listenspec.proofs.syncache
"""

from __future__ import annotations

from collections.abc import Sequence

from listenspec.models.arith import Term, and_
from listenspec.models.profiles import Profile

from . import listener as L
from .property import Property, Verdict, from_outcome
from .ruleset import Rules
from .system import States, Steps, System, everywhere, prove


def same_admission(ev: str, pre: States, steps: Steps) -> Term:
    return steps[0].admitted == steps[1].admitted if ev == "connect" else True


def in_step(states: States) -> Term:
    """The invariant: the copies differ in their half-open connections only."""
    a, b = states
    return and_(a.qlen == b.qlen, a.incq == b.incq, a.qlimit == b.qlimit)


def flooded_admits(ev: str, pre: States, steps: Steps) -> Term:
    """Vacuity: a connection is admitted while the flooded copy holds half-open ones."""
    return and_(steps[0].admitted, pre[0].half_open > 0) if ev == "connect" else False


def flooded(states: States) -> str:
    a, b = states
    return (f"a has {a.half_open} half-open, b {b.half_open}; the last connection was admitted "
            f"by one copy only (queues now a {a.qlen}, b {b.qlen}, qlimit {a.qlimit})")


def check_independence(p: Profile, r: Rules) -> Verdict:
    def same_backlog(backlogs: Sequence[Term], states: States) -> Term:
        return backlogs[0] == backlogs[1]

    sys = System(p, r, copies=2, syn_copies=(0,), init_relation=same_backlog)
    out = prove(sys, claim=same_admission, strengthenings=(in_step,), witness=flooded_admits)
    return from_outcome(sys, r, out, everywhere, same_admission,
                        ("inductive: the copies differ only in half-open connections",),
                        flooded)


def _always_cookies(p: Profile) -> bool:
    """A request queue whose SYN cookies cannot be turned off (no syncookies sysctl: gVisor)."""
    return p.half_open == "reqsk" and not L.cookie_sysctls(p) and p.default("syncookies") != 0


PROPERTIES = (
    Property("syncache-independence", "whether a connection is admitted does not depend on "
             "the half-open connections (SYNs reach copy a only)", check_independence,
             expected=lambda p: "proved" if p.half_open == "syncache" or _always_cookies(p)
             else "counterexample"),
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
