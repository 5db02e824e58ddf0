"""The topic pages: for each topic of the clause catalogue, its clauses, the behaviour of every
profile with the source of each cell, the example scripts with every profile's trace, and the
proof status of its invariants.

`TOPICS` says which profile parameters, derived rows, refusal tables and invariants each page
shows; everything else is read from the catalogue, the profiles and the model at build time.
A catalogue topic missing here has no page, and the build fails naming its clauses.
"""

from __future__ import annotations

import attrs

from ..models import sources as S
from ..models.profiles import PROFILES, Profile
from ..results import render
from ..spec import clauses as catalogue
from ..spec.examples import Example, all_examples
from . import assurance, md, traces


@attrs.frozen
class Topic:
    slug: str  # the catalogue's topic name; the page is topics/<slug>.md
    title: str
    params: tuple[str, ...] = ()  # profile parameters shown per profile, with sources
    derived: tuple[str, ...] = ()  # rows of profile_table.derived_rows
    guards: tuple[str, ...] = ()  # calls whose table of checks (tables.CHECKS) is shown
    invariants: tuple[str, ...] = ()  # names in models.invariants.INVARIANTS
    proofs: tuple[str, ...] = ()  # proof properties `p` and `p-...` (default: the invariants)
    choices: bool = False  # list every cited choice and inherited parameter


TOPICS: dict[str, Topic] = {t.slug: t for t in (
    Topic("backlog", "Backlog and the hard limit", ("clamp", "fixed_limit", "sysctls"),
          ("listen(s, -1) gives", "default hard limit"), invariants=("clamp",)),
    Topic("admission", "Queue length and admission",
          ("admit_base", "admit_inclusive", "admit_u32", "admit_counts_half_open"),
          ("longest completed queue", "  for q = 0, 1, 2, 5, 128"),
          invariants=("queue-bound",)),
    Topic("overflow", "A connection to a full queue",
          ("tcp_overflow", "unix_overflow", "overflow_counters")),
    Topic("relisten", "Re-listen", ("clamp",), ("listen(s, -1) gives",),
          invariants=("relisten-keeps",)),
    Topic("syncache", "Syncache and half-open connections",
          ("half_open", "admit_counts_half_open", "syncache_cache_limit",
           "syncache_bucket_limit"), proofs=("syncache",)),
    Topic("filters", "Accept filters and the secondary queue",
          ("accept_filters", "incq_base", "incq_evict", "tcp_defer_accept", "recv_hiwat"),
          ("longest accept-filter queue",), invariants=("incq-bound", "evict-oldest")),
    Topic("logging", "Overflow logging", ("overflow_log", "log_suffix", "sysctls")),
    Topic("errors", "Errors", ("unbound_unix_listen", "listen_connected",
                               "accept_not_listening", "accept_dgram", "connect_on_listener",
                               "send_on_listener", "send_unconnected", "inet6", "inet_seqpacket"),
          guards=("listen", "accept"), invariants=("refused-unchanged", "fds-consistent")),
    Topic("observing", "Observing the queues", ("listenq_sockopts", "counters",
                                                "overflow_counters")),
    Topic("peers", "When the other end goes away",
          ("accept_reset", "rst_in_close_wait", "close_unread", "reset_unbinds",
           "send_order", "unix_stream_send_error", "seqpacket_error_first",
           "recv_eof_before_error", "recv_unconnected_unix_stream", "linger_max"),
          guards=("send", "recv")),
    Topic("time", "Timers: half-open requests and deferred connections",
          ("half_open", "tcp_defer_accept")),
    Topic("shutdown", "shutdown() of a listener and of a connection",
          ("shutdown_listener", "shutdown_marks_unconnected", "unix_shutdown_unconnected",
           "shut_rd_discards", "unix_listener_shut_refuses"), guards=("shutdown",)),
    Topic("readiness", "Readiness: poll() of a listener and a connection",
          ("poll_style", "poll_rdhup"), proofs=("poll-listener",)),
    Topic("reuseport", "Shared ports: SO_REUSEPORT groups",
          ("reuseport_pick", "reuseport_lb", "reuseport_unix"),
          proofs=("reuseport-group",)),
    Topic("choices", "Choices where the sources are silent", choices=True),
)}


def page_of(topic: str) -> str:
    return f"topics/{topic}.md"


def anchor(clause_id: str) -> str:
    return "clause-" + "".join(ch if ch.isalnum() else "-" for ch in clause_id.lower())


def clause_link(clause_id: str, base: str, title: str = "") -> str:
    """A link to a clause on its topic page; its id never breaks across lines. A clause whose
    topic has no page is named without a link (the build then fails, see coverage.py)."""
    name = f'<span class="ls-nobr">{md.text(clause_id)}</span>'
    c = next((c for c in catalogue.CLAUSES if c.id == clause_id), None)
    if c is None or c.topic not in TOPICS:
        return name
    t = f' "{md.text(title)}"' if title else ""
    return f"[{name}]({base}{page_of(c.topic)}#{anchor(clause_id)}{t})"


def seed_label(seed: str) -> str:
    """`000 (freebsd-9)`: the seed's number and the profile that formalises it."""
    owner = next((p.name for p in PROFILES.values() if p.basis == seed), None)
    num = seed.removeprefix("seeds/")[:3]
    return f"{num} ({owner})" if owner else seed


def covering(clause_ids: set[str]) -> list[Example]:
    return [ex for ex in all_examples() if clause_ids & set(ex.clauses)]


# --------------------------------------------------------------------------- sections


def clauses_section(topic: str, emitted: dict[str, str]) -> str:
    chosen = [c for c in catalogue.CLAUSES if c.topic == topic]
    examples = all_examples()
    rows = []
    for c in chosen:
        emitted[c.id] = page_of(topic)
        seeds = ", ".join(seed_label(s) for s in c.seeds) or "none: a listenspec choice"
        by = [ex.name for ex in examples if c.id in ex.clauses]
        rows.append([
            f'<a id="{anchor(c.id)}"></a>**{md.text(c.id)}**',
            md.text(c.text),
            md.text(seeds),
            md.text(", ".join(c.profiles)),
            ", ".join(md.code(r) for r in c.rules),
            ", ".join(md.code(n) for n in by) or "**uncovered**",
        ])
    head = (f"{len(chosen)} clause{'s' * (len(chosen) != 1)} of the catalogue "
            f"(`listenspec clauses`), each in the project's own words.")
    return "## Clauses\n\n" + head + "\n\n" + md.table(
        ["id", "rule", "seed pages", "profiles", "implemented by", "example scripts"], rows)


def _param_table(param: str, ps: list[Profile]) -> str:
    from ..profile_table import render

    rows = [[md.code(p.name), md.text(render(param, getattr(p, param), p)),
             md.text(p.cite[param])] for p in ps]
    return md.table(["profile", md.code(param), "source"], rows)


def behaviour_section(t: Topic) -> str:
    from ..profile_table import derived_rows

    ps = list(PROFILES.values())
    parts = ["## Behaviour per profile"]
    if t.derived:
        rows = [[md.code(p.name), *(md.text(derived_rows(p)[k]) for k in t.derived)]
                for p in ps]
        parts.append("Computed by the model's own rules from each profile's parameters "
                     "(`listenspec profiles`):")
        parts.append(md.table(["profile", *(md.text(k.strip()) for k in t.derived)], rows))
    for param in t.params:
        parts.append(f"### `{param}`")
        parts.append(_param_table(param, ps))
    if t.choices:
        parts.append(choices_table(ps))
    for call in t.guards:
        parts.append(f"### What `{call}()` refuses, in order")
        parts.append(guards_table(call))
    if len(parts) == 1:
        parts.append("No profile parameter: every profile behaves alike here.")
    return "\n\n".join(parts)


def choices_table(ps: list[Profile]) -> str:
    """Every parameter a profile takes from a choice or from another profile."""
    from ..profile_table import render

    rows = []
    counts: dict[str, dict[str, int]] = {p.name: {"choice": 0, "inherited": 0} for p in ps}
    for p in ps:
        for param in p.parameters:
            src = p.cite[param]
            if src.startswith((S.CHOICE, "inherited")):
                kind = "choice" if src.startswith(S.CHOICE) else "inherited"
                counts[p.name][kind] += 1
                rows.append([md.code(p.name), md.code(param),
                             md.text(render(param, getattr(p, param), p)), kind, md.text(src)])
    summary = md.table(["profile", "parameters", "stated by its own source", "inherited",
                        "listenspec choice"], [
        [md.code(p.name), str(len(p.parameters)),
         str(len(p.parameters) - sum(counts[p.name].values())),
         str(counts[p.name]["inherited"]), str(counts[p.name]["choice"])] for p in ps])
    full = md.table(["profile", "parameter", "value", "kind", "source"], rows)
    return ("How much of each profile its own source states, and how much is inherited or "
            "chosen:\n\n" + summary + "\n\n"
            + md.details(f"Every inherited or chosen parameter ({len(rows)} cells), with where "
                         "its value comes from", full, kind="abstract"))


#: what each named outcome and effect of tables.CHECKS does, for the docs
OUTCOME_WORDS = {
    "refused-dead": "ECONNREFUSED; the socket is closed for good, ECONNREFUSED left for "
                    "SO_ERROR (gVisor)",
    "dead": "its pending error once, then ECONNABORTED (gVisor: the endpoint is in its error "
            "state for good)",
    "end-pending": "reports how the settled connect ended (0, or its error / ECONNABORTED)",
    "unix-overflow": "the overflow is counted (and logged), connect fails with "
                     "profile.unix_overflow",
    "dgram": "the peer is recorded (a UDP socket takes a port)",
    "self-connect": "connected to itself",
    "self-abort": "connected to itself, and closed by its own FIN",
    "refused-rst": "ECONNREFUSED; the socket keeps the port's number but not the port",
    "arrive": "rules.arrival decides (admitted, deferred, filtered, refused or dropped)",
    "refused-drop": "ECONNREFUSED; the RST drops the connection: the socket is reset",
    "wildcard": "bound to port 0 of the wildcard address (a fresh address)",
    "join": "bound beside the sockets holding that address (SO_REUSEPORT)",
    "unchanged": "0, and nothing changes",
    "read": "the waiting data is read",
    "eof": "0: end of file",
    "shut": "the directions asked for are shut (SHUT_WR sends a FIN)",
    "stop-listening": "SHUT_RD stops the listener (its queued connections are reset)",
    "refuse-listening": "SHUT_RD resets the queued connections; the socket stays listening, "
                        "refusing new ones",
    "listener-abort": "ENOTCONN; SHUT_RD sets so_error to ECONNABORTED",
}
EFFECT_WORDS = {
    "autobind": "binds the socket to the wildcard address first (kept even if refused)",
    "clear-error": "clears the pending error",
    "mark-shut": "marks the directions shut",
}


def outcome_words(name: str) -> str:
    """What a named outcome of tables.CHECKS does, in words (a new one must be described)."""
    if name not in OUTCOME_WORDS:
        raise KeyError(f"tables.CHECKS names the outcome {name!r}, which "
                       f"listenspec/docsgen/topics.py OUTCOME_WORDS does not describe")
    return OUTCOME_WORDS[name]


def effect_words(name: str) -> str:
    if name not in EFFECT_WORDS:
        raise KeyError(f"tables.CHECKS names the effect {name!r}, which "
                       f"listenspec/docsgen/topics.py EFFECT_WORDS does not describe")
    return EFFECT_WORDS[name]


def guards_table(call: str) -> str:
    """A call's checks (tables.CHECKS) in order, what follows each under every profile, which
    profiles make it, what state it changes, and its source."""
    from ..models.tables import CHECKS

    rows = []
    for n, g in enumerate(CHECKS[call], 1):
        makers = [p for p in PROFILES.values() if g.applies(p)]
        if g.outcome is not None:
            then = md.text("→ " + outcome_words(g.outcome))
        elif not g.then:
            then = md.text("(goes on)")
        else:
            by: dict[str, list[str]] = {}
            for p in makers:
                by.setdefault(g.errno_for(p), []).append(p.name)
            then = "<br>".join(
                md.code(e) + ("" if len(by) == 1 else " " + md.text(f"({', '.join(names)})"))
                for e, names in by.items())
        who = ("all" if len(makers) == len(PROFILES)
               else md.text(", ".join(p.name for p in makers) or "none")
               + (" " + md.text(f"({g.applies_when})") if g.applies_when else ""))
        effect = md.text(effect_words(g.effect)) if g.effect else ""
        rows.append([str(n), md.text(g.when), then, who, effect, md.text(g.source)])
    return md.table(["#", "when", "then", "profiles", "changes first", "source"], rows)


def example_block(ex: Example, *, open_: bool, base: str) -> str:
    """An example script with every profile's trace side by side, downloadable and runnable."""
    loaded = traces.load_script(ex.path)
    body = [
        f"Covers {', '.join(f'`{c}`' for c in ex.clauses)}. "
        f"[Download `{ex.name}.lsn`]({base}examples/{ex.name}.lsn), then "
        f"`listenspec run {ex.name}.lsn --profile freebsd-src`.",
        md.fence(loaded.text, "text"),
        "Traces, computed by the model when this page was built (profiles with identical "
        "traces share a column; results that differ are bold):",
        traces.side_by_side(loaded, ex.profiles),
    ]
    stale = [p for p in ex.profiles
             if ex.trace_path(p).exists()
             and [render(s.expected) for s in ex.expected(p).steps if s.expected]
             != list(traces.model_results(loaded, p))]
    if stale:
        body.append(md.admonition(
            "warning", "The model disagrees with the reviewed expected traces",
            f"Under {', '.join(stale)} the model gives a different trace from "
            f"`spec/examples/{ex.name}.PROFILE.trace`; `listenspec verify` fails until one "
            "of them is fixed."))
    title = loaded.title or ex.name
    return md.details(f"{ex.name}: {title}", "\n\n".join(body), open_=open_)


def examples_section(topic: str, base: str) -> str:
    ids = {c.id for c in catalogue.CLAUSES if c.topic == topic}
    exs = covering(ids)
    if not exs:
        return "## Examples\n\nNo example script covers this topic yet."
    blocks = [example_block(ex, open_=(n == 0), base=base) for n, ex in enumerate(exs)]
    return "## Examples\n\n" + "\n".join(blocks)


def proof_rows(names: list[str], pr: assurance.Proofs) -> list[list[str]]:
    """name | what it says | what the proofs found, for invariants and proof properties."""
    from ..models.invariants import INVARIANTS

    rows = []
    for name in names:
        says = INVARIANTS.get(name) or pr.statement(name)
        if pr.problem:
            found = "not available in this build"
        else:
            found = md.text(assurance.status_cell(pr.for_property(name)))
        rows.append([md.code(name), md.text(says), found])
    return rows


def counterexamples(names: list[str], pr: assurance.Proofs) -> str:
    """The counterexamples the proofs found, each a concrete case (often a runnable script)."""
    blocks = []
    for name in names:
        seen: dict[str, list[str]] = {}
        for r in pr.for_property(name):
            if r.counterexample:
                seen.setdefault(r.counterexample, []).append(r.profile)
        for text, profiles in seen.items():
            expected = all(r.ok for r in pr.for_property(name) if r.profile in profiles)
            title = (f"{name} on {', '.join(profiles)}: counterexample"
                     f"{' (expected)' if expected else ', NOT AS EXPECTED'}")
            blocks.append(md.details(title, md.fence(text, "text"), kind="bug"))
    return "\n".join(blocks)


def proofs_section(t: Topic) -> str:
    from ..models.invariants import INVARIANTS

    if not t.invariants and not t.proofs:
        return ""
    for name in t.invariants:
        if name not in INVARIANTS:
            raise KeyError(f"topic {t.slug!r} names invariant {name!r}, which "
                           f"models/invariants.py does not define")
    pr = assurance.proofs()
    names = list(t.invariants)
    if not pr.problem:
        names += [n for n in pr.properties(t.proofs or t.invariants) if n not in names]
    when = f"from {pr.given}" if pr.given else "run when this page was built"
    note = (f"Z3 proofs over the model's own rules, for every value rather than samples, "
            f"{when} ({pr.seconds:.1f} s for all proofs)." if not pr.problem
            else f"Proofs: {md.text(pr.problem)}.")
    parts = ["## Invariants and their proofs",
             note + " See also [how sure we are](../assurance.md).",
             md.table(["invariant or property", "what it says", "what the proofs found"],
                      proof_rows(names, pr))]
    if not pr.problem:
        cex = counterexamples(names, pr)
        if cex:
            parts.append("Where a property fails, the proof gives a concrete case; where it is "
                         "a run, it is a script you can run with `listenspec run`:")
            parts.append(cex)
    return "\n\n".join(parts)


def render_topic(slug: str, emitted: dict[str, str]) -> str:
    t = TOPICS.get(slug)
    if t is None:
        raise KeyError(f"no topic {slug!r} in listenspec/docsgen/topics.py")
    parts = [clauses_section(slug, emitted), behaviour_section(t),
             examples_section(slug, base="../"), proofs_section(t)]
    return "\n\n".join(p for p in parts if p)
