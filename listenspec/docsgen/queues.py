"""The listener's queues as a picture, one per profile: where a connection waits (half-open
store, accept-filter or deferral queue, completed queue) and the edges between them (admission,
overflow, eviction, release, accept, reset), drawn with Graphviz from the profile's data and the
model's rules.

Every bound in a picture is the formula the model's rules use (profile_table.formula over the
profile's parameters); every answer is rules.overflow_answer; the client's side of each edge is
an event of tables.LIFECYCLE, checked to exist, so a renamed event fails the build.
"""

from __future__ import annotations

from ..models import rules
from ..models.profiles import Profile
from ..models.tables import LIFECYCLE
from ..profile_table import formula
from . import diagram, timing

_EVENTS = {event for _, event in LIFECYCLE}

ANSWER_WORDS = {
    "drop": "silently dropped: the client\ngets no answer (EINPROGRESS)",
    "reset": "the handshake completes, then\nRST: the client gets ECONNRESET",
    "unqueued": "the final ACK is dropped: the client\nis connected, nothing is queued",
}


def _event(name: str) -> str:
    if name not in _EVENTS:
        raise ValueError(f"tables.LIFECYCLE has no event {name!r}: update docsgen/queues.py")
    return name


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(label: str | None, extra: dict[str, str]) -> str:
    parts = ([f"label={_q(label)}"] if label is not None else [])
    parts += [f"{k}={_q(v)}" for k, v in extra.items()]
    return f" [{', '.join(parts)}]" if parts else ""


def node(name: str, label: str, **extra: str) -> str:
    return f"  {name}{_attrs(label, extra)};"


def edge(a: str, b: str, label: str | None = None, **extra: str) -> str:
    return f"  {a} -> {b}{_attrs(' ' + label if label else None, extra)};"


RED = {"color": "#a33", "fontcolor": "#a33"}


def _expiry(p: Profile) -> str:
    """A half-open connection whose handshake never completes is dropped when its timers run
    out (timing.half_open_lifetime runs the model's clock): a line of the store's label, so
    the picture grows no wider."""
    return f"\nno ACK: dropped {timing.half_open_lifetime(p.name):g} s after the SYN"


def half_open_nodes(p: Profile) -> list[str]:
    """Where a SYN waits before the handshake completes, and the edges to admission."""
    if p.half_open == "syncache":
        return [node("half", f"syncache: half-open connections\nat most "
                             f"{p.syncache_cache_limit} entries, not bounded\nby the backlog; "
                             "full: SYN cookies" + _expiry(p)),
                edge("tcp", "half", "SYN, answered\nwith a SYN-ACK"),
                edge("half", "admit", "ACK: the handshake\ncompletes")]
    if p.half_open == "reqsk":
        return [node("half", "request queue: half-open (+ deferred)\nfull above q: SYN "
                             "cookies, or with\ntcp_syncookies=0 the SYN is dropped"
                             + _expiry(p)),
                edge("tcp", "half",
                     "SYN, answered with a SYN-ACK\n(a full accept queue\ndrops the SYN)"),
                edge("half", "admit", "ACK: the handshake\ncompletes")]
    # q0 (4.4BSD): the SYN itself is admitted, and half-open connections count
    return [node("half", "incomplete queue q0\nhalf-open connections,\ncounted by admission"
                 + _expiry(p)),
            edge("tcp", "admit", "SYN (sonewconn)"),
            edge("admit", "half", "yes"),
            edge("half", "comp", "ACK: no check")]


def second_queue_nodes(p: Profile) -> list[str]:
    """Accept filters (FreeBSD) or TCP_DEFER_ACCEPT (Linux): a second queue before the
    completed one."""
    out = []
    incq = formula(p.incq_base, False)
    if p.accept_filters and p.filter_holds:
        oldest = ("the oldest is terminated" if p.incq_evict == "one"
                  else "the oldest are terminated,\ndown to the limit")
        out += [node("incq", f"accept-filter queue\n({', '.join(p.accept_filters)})\n"
                             f"at most {incq}", fillcolor="#f3ecfa"),
                node("evicted", f"{oldest}:\ntheir clients are reset\n({_event('evicted')})",
                     fillcolor="#fbe3e3"),
                edge("admit", "incq", "yes, with an\naccept filter", style="dashed"),
                edge("incq", "comp", "the filter is met:\nmoved over, no\nlimit check"),
                edge("incq", "evicted", "full", **RED)]
    if p.tcp_defer_accept:
        out += [node("defer", "deferred (TCP_DEFER_ACCEPT):\nwaits as a request sock",
                     fillcolor="#f3ecfa"),
                edge("admit", "defer", "yes, deferring", style="dashed"),
                edge("defer", "comp", "data arrives")]
    return out


def dot_source(p: Profile) -> str:
    tcp_answer = rules.overflow_answer(p, tcp=True,
                                       rst_on_sock_fail=p.default("rst_on_sock_fail"))
    assert rules.overflow_answer(p, tcp=False, rst_on_sock_fail=0) == "refuse"
    bound = formula(p.admit_base, p.admit_inclusive, p.admit_counts_half_open)
    counted = "completed + half-open" if p.admit_counts_half_open else "completed"
    cmp = "≤" if p.admit_inclusive else "<"
    base = {"3q/2": "⌊3q/2⌋", "q": "q", "q+1": "q+1"}[p.admit_base]
    counters = ",\n".join(p.overflow_counters)
    lines = [
        "digraph queues {",
        '  graph [rankdir=TB, bgcolor="white", fontname="Helvetica", nodesep=0.35, '
        "ranksep=0.4, pad=0.2];",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", '
        'fontsize=15, margin="0.18,0.08"];',
        '  edge [fontname="Helvetica", fontsize=13];',
        node("tcp", "TCP client: SYN", shape="plaintext", style=""),
        node("unix", "AF_UNIX client: connect()", shape="plaintext", style=""),
        node("admit", f"admission:\n{counted}\n{cmp} {base}?", shape="diamond",
             fillcolor="#fff7e0", fontsize="14"),
        node("comp", f"completed queue\nat most {bound}", fillcolor="#dfeedd", penwidth="2"),
        node("accept", "accept()", shape="ellipse"),
        node("over", f"TCP: {ANSWER_WORDS[tcp_answer]}\nAF_UNIX: refused, {p.unix_overflow}",
             fillcolor="#fbe3e3"),
        node("closed", "close(s): every queued\nconnection is reset", fillcolor="#f1f1f1"),
        *half_open_nodes(p),
        edge("unix", "admit"),
    ]
    if p.half_open != "q0":
        lines.append(edge("admit", "comp", "yes" if p.filter_holds or not p.accept_filters
                          else "yes (an accept filter,\nif attached, holds nothing)"))
    lines.append(edge("admit", "over", "no" + (f": +1\n{counters}" if counters else ""), **RED))
    lines += second_queue_nodes(p)
    lines += [edge("comp", "accept", "accept(): the oldest first"),
              edge("comp", "closed", _event("peer-reset"), style="dotted"),
              "  { rank=same; tcp; unix; }", "}"]
    return "\n".join(lines) + "\n"


def svg(p: Profile) -> str:
    return diagram.svg(dot_source(p))
