"""A page per system that reads like its manual page ("listen(2) on FreeBSD 13, per
listenspec"), generated from the profile, the clause catalogue and the check tables.

Every sentence ends with the clauses it rests on (linked to the clause on its topic page, and
to the sentence of the seed page that states it, where this system's page does) and the source
of each profile parameter that decides it (citations.cite: seed pages, digests and kernel
files as links). Figures in a sentence are computed by the model's rules or by running a
script on the model, never typed here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs

from ..models import rules
from ..models import sources as S
from ..models.profiles import PROFILES, Profile
from ..models.tables import CHECKS, Check
from ..profile_table import derived_rows, formula, render
from ..spec import clauses as catalogue
from . import citations, md, seeds, sequence, timing, topics, traces

#: how a page names each system in its title
TITLES = {
    "freebsd-9": "FreeBSD 9", "freebsd-10": "FreeBSD 10", "freebsd-13": "FreeBSD 13",
    "freebsd-src": "the FreeBSD source", "freebsd-main": "FreeBSD main",
    "dragonfly": "DragonFly BSD", "intime": "INtime",
    "linux": "Linux", "bsd-4.4": "4.4BSD", "gvisor": "gVisor's netstack",
}


#: where each system's re-listen is read (every profile keeps the queues: rules.relisten_kept)
RELISTEN_SOURCE = {"linux": S.LX_INET_LISTEN, "dragonfly": S.DF_SOLISTEN,
                   "bsd-4.4": S.BSD44_SOLISTEN}


def page_of(profile: str) -> str:
    return f"systems/{profile}.md"


def title(profile: str) -> str:
    return f"listen(2) on {TITLES.get(profile, profile)}, per listenspec"


@attrs.frozen
class Sentence:
    text: str  # Markdown, already escaped
    clauses: tuple[str, ...] = ()
    params: tuple[str, ...] = ()  # profile parameters whose sources back it
    sources: tuple[str, ...] = ()  # further citations (a check row's source)


@functools.cache
def _seed_anchors() -> dict[str, frozenset[str]]:
    """seed file -> the clauses its page marks (seeds.locate), so a link never misses."""
    from . import repo_root

    repo = repo_root()
    out = {}
    for s in seeds.seeds():
        found, _ = seeds.locate(s, seeds.paragraphs((repo / "spec" / s.file)
                                                    .read_text(encoding="utf-8")))
        out[s.file] = frozenset(found)
    return out


def _refs(p: Profile, s: Sentence, base: str) -> str:
    parts = []
    clauses = [c for c in s.clauses if p.name in catalogue.BY_ID[c].profiles]
    if clauses:
        links = []
        for cid in clauses:
            link = topics.clause_link(cid, base)
            if cid in _seed_anchors().get(p.basis, frozenset()):
                num = p.basis.removeprefix("seeds/")[:3]
                link += (f" ([page {num}]({base}{citations.seed_page(num)}"
                         f"#{topics.anchor(cid)}))")
            links.append(link)
        parts.append("clause " + ", ".join(links))
    cites = list(dict.fromkeys([p.cite[x] for x in s.params] + list(s.sources)))
    if cites:
        parts.append("source: " + "; ".join(citations.cite(c, base) for c in cites))
    return f" <small>({' · '.join(parts)})</small>" if parts else ""


def _para(p: Profile, sentences: Sequence[Sentence], base: str) -> str:
    return "\n\n".join(s.text + _refs(p, s, base) for s in sentences)


@functools.cache
def _ran(profile: str, text: str) -> tuple[str, ...]:
    return traces._model(text, f"<{profile}>", profile)


def _run1(p: Profile, setup: str, call: str) -> str:
    """The model's result for `call` after `setup` under p."""
    return _ran(p.name, setup + call + "\n")[-1]


# --------------------------------------------------------------------------- sections


def description(p: Profile) -> list[Sentence]:
    limit = p.default("limit")
    q = {b: rules.effective_backlog(p, b, limit) for b in (-1, 0, 5, limit + 1)}
    seqpacket = _run1(p, "", "socket(AF_INET, SOCK_SEQPACKET)")
    out = [
        Sentence("A server creates a socket with `socket()`, marks it listening with "
                 "`listen(s, backlog)` and takes connections with `accept()`. `listen()` "
                 "applies only to `SOCK_STREAM` and `SOCK_SEQPACKET` sockets "
                 f"(an `AF_INET` `SOCK_SEQPACKET` socket cannot be made here: "
                 f"`socket()` gives `{seqpacket}`).",
                 ("LIFECYCLE", "STREAM-ONLY"), ("inet_seqpacket",)),
    ]
    clamp_words = {
        "signed": "A `backlog` below zero, or above the hard limit, is silently replaced by "
                  "the hard limit;",
        "unsigned": "The `backlog` is compared with the hard limit as an unsigned number, so "
                    "one above the limit and every negative one is silently replaced by the "
                    "hard limit;",
        "zero-min": "A negative `backlog` counts as 0, and one above the hard limit is "
                    "replaced by it;",
    }[p.clamp]
    out.append(Sentence(
        f"{clamp_words} the result is the effective backlog q: "
        f"`listen(s, -1)` gives q = {q[-1]}, `listen(s, 0)` q = {q[0]}, `listen(s, 5)` "
        f"q = {q[5]}, `listen(s, {limit + 1})` q = {q[limit + 1]}.",
        ("CLAMP", "NEGATIVE-MAX", "HARD-LIMIT"), ("clamp",)))
    limits = [s for s in p.sysctls if s.key == "limit"]
    if limits:
        main = next(s for s in limits if not s.hidden)
        hidden = [s for s in limits if s.hidden]
        text = (f"The hard limit is the sysctl `{main.name}` (default {main.default}; a write "
                f"of {main.lo} … {main.hi} is accepted, anything else is `EINVAL`).")
        if hidden:
            text += (" " + ", ".join(f"`{s.name}`" for s in hidden)
                     + " reads and writes the same value, hidden from `sysctl -a`.")
        out.append(Sentence(text, ("HARD-LIMIT", "SOACCEPTQUEUE"), ("sysctls",)))
    else:
        call = 'sysctl("kern.ipc.somaxconn")'
        out.append(Sentence(
            f"The hard limit is fixed at {p.fixed_limit}: no sysctl sets it "
            f"(`{call}` gives `{_run1(p, '', call)}`).",
            ("INTIME-NO-SYSCTL", "HARD-LIMIT"), ("fixed_limit", "sysctls")))
    out.append(Sentence(
        "A `listen()` on a socket that is already listening changes only its limit: the "
        "connections already queued stay queued, even when there are more of them than the "
        "new limit allows; new ones are admitted by the new limit.",
        ("RELISTEN",), (), (RELISTEN_SOURCE.get(p.name, S.FB_SOLISTEN),)))
    return out


def queue_rules(p: Profile) -> list[Sentence]:
    d = derived_rows(p)
    bound = formula(p.admit_base, p.admit_inclusive, p.admit_counts_half_open)
    counted = ("the completed queue plus the half-open connections"
               if p.admit_counts_half_open else "the completed queue")
    test = "at most" if p.admit_inclusive else "fewer than"
    base = {"3q/2": "⌊3q/2⌋", "q": "q", "q+1": "q+1"}[p.admit_base]
    out = [Sentence(
        f"A connection whose handshake completes is admitted while {counted} holds {test} "
        f"{base}, so at most **{bound}** connections wait to be accepted "
        f"(for q = 0, 1, 2, 5, 128: {d['  for q = 0, 1, 2, 5, 128']}).",
        ("BACKLOG-MAX", "REAL-MAX-1.5", "DF-MAX-Q", "PRE-SYNCACHE"),
        ("admit_base", "admit_inclusive", "admit_counts_half_open"))]
    if p.half_open == "syncache":
        out.append(Sentence(
            f"Half-open connections wait in the syncache (at most {p.syncache_cache_limit} "
            f"entries, {p.syncache_bucket_limit} per hash bucket), which the backlog does not "
            f"bound: a SYN is answered whatever the queue lengths, and a full cache answers "
            f"with a SYN cookie. Half-open connections never keep a completed one out.",
            ("SYNCACHE", "NO-INFLATED-BACKLOG"), ("half_open", "syncache_cache_limit")))
    elif p.half_open == "reqsk":
        out.append(Sentence(
            "Half-open connections wait as request socks in a queue bounded by the same "
            "backlog (it is full when it holds more than q, counting deferred connections); "
            "a SYN to a full one is answered with a SYN cookie, or with "
            "`net.ipv4.tcp_syncookies=0` dropped (`ListenDrops`), so a flood of half-open "
            "connections can keep real clients out.",
            ("SRC-LINUX-SYN-QUEUE",), ("half_open", "synflood_counters",
                                       "request_drop_counters")))
    else:
        out.append(Sentence(
            "Half-open connections wait in the incomplete queue q0 and count against the "
            "backlog: the SYN itself is admitted by the test above.",
            ("PRE-SYNCACHE",), ("half_open", "admit_counts_half_open")))
    if p.accept_filters and not p.filter_holds:
        shown = _run1(p, "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n"
                      'setsockopt(s, SO_ACCEPTFILTER, "dataready")\n'
                      "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n", "netstat(s)")
        out.append(Sentence(
            f"An accept filter ({', '.join(f'`{f}`' for f in p.accept_filters)}) can be attached "
            f"with `setsockopt(s, SO_ACCEPTFILTER, \"name\")` on a listening socket, but it holds "
            f"nothing: a new connection goes straight to the completed queue (`netstat(s)` after "
            f"one connect to `listen(s, 2)` with `dataready` attached: `{shown}`).",
            ("ACCF-QUEUE",), ("accept_filters", "filter_holds")))
    elif p.accept_filters:
        incq = formula(p.incq_base, False)
        evict = ("the oldest connection that has not met its filter is terminated"
                 if p.incq_evict == "one" else
                 "the oldest connections that have not met their filter are terminated until "
                 "the queue is below its limit")
        out.append(Sentence(
            f"With an accept filter ({', '.join(f'`{f}`' for f in p.accept_filters)}, "
            f"attached with `setsockopt(s, SO_ACCEPTFILTER, \"name\")` on a listening socket), "
            f"a new connection waits in a second queue of at most **{incq}** until it meets "
            f"the filter's criteria, then moves to the completed queue; when the second queue "
            f"is full, {evict}, and their clients are reset.",
            ("ACCF-QUEUE", "ACCF-PROMOTE", "ACCF-EVICT", "ACCF-SIZE", "SRC-ACCF-NO-LIMIT"),
            ("accept_filters", "filter_holds", "incq_base", "incq_evict")))
    else:
        res = _run1(p, "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n",
                    'setsockopt(s, SO_ACCEPTFILTER, "dataready")')
        out.append(Sentence(
            f"There are no accept filters: `setsockopt(s, SO_ACCEPTFILTER, \"dataready\")` on a "
            f"listening socket gives `{res}`.", (), ("accept_filters",)))
    if p.accept_filters:
        again = _run1(p, "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n"
                      'setsockopt(s, SO_ACCEPTFILTER, "dataready")\n',
                      'setsockopt(s, SO_ACCEPTFILTER, "httpready")')
        out.append(_life(p, f"Attaching a filter where one is attached gives `{again}`.",
                         ("accf_replace",)))
    if p.tcp_defer_accept:
        out.append(Sentence(
            f"With `TCP_DEFER_ACCEPT`, a completed connection waits as a request sock (at "
            f"most {formula(p.incq_base, False)} of them) until data arrives, and only then "
            f"needs room in the completed queue.",
            ("SRC-DEFER-ACCEPT",), ("tcp_defer_accept", "incq_base")))
    return out


def overflow(p: Profile) -> list[Sentence]:
    tcp = sequence.exchange(p)
    unix = sequence.exchange(p, "AF_UNIX")
    counted = (", and counted in " + ", ".join(f"`{c}`" for c in p.overflow_counters)
               if p.overflow_counters else "; no counter counts it")
    out = [Sentence(
        f"A TCP connection that finds the completed queue full: {sequence.WORDS[tcp.kind]} "
        f"(`connect()` gives `{tcp.result}`){counted}.",
        ("FULL-TCP-DROP", "SRC-RST-ON-SOCK-FAIL"), ("tcp_overflow", "overflow_counters")),
        Sentence(f"An `AF_UNIX` `connect()` to a full queue is refused at once: "
                 f"`{unix.result}`.", ("FULL-REFUSED",), ("unix_overflow",))]
    if p.sysctl("net.inet.tcp.syncache.rst_on_sock_fail") is not None:
        off = sequence.exchange(p, setting="net.inet.tcp.syncache.rst_on_sock_fail=0")
        out.append(Sentence(
            f"With `net.inet.tcp.syncache.rst_on_sock_fail=0`, {sequence.WORDS[off.kind]} "
            f"(`connect()` gives `{off.result}`).", ("SRC-RST-ON-SOCK-FAIL",), ("sysctls",)))
    if p.overflow_log:
        out.append(Sentence(
            "Each overflow is logged at `LOG_DEBUG` (`sonewconn: … Listen queue overflow: N "
            "already in queue awaiting acceptance (K occurrences)`), at most once per "
            "`kern.ipc.sooverinterval` seconds per socket; the overflows in between are "
            "counted and reported with the next message.",
            ("OVERFLOW-LOG", "OVERFLOW-RATE"), ("overflow_log", "log_suffix")))
    else:
        out.append(Sentence("An overflow is not logged.", ("CHOICE-NO-LOG",),
                            ("overflow_log",)))
    return out


#: a sentence about a listener's life names the clauses whose rules use its parameters
def _by_params(p: Profile, params: tuple[str, ...], implemented_by: tuple[str, ...] = ()
               ) -> tuple[str, ...]:
    """Every catalogue clause that applies to p and names one of `params` ("profile.<param>")
    or of `implemented_by` (e.g. "timers.sleep") among its rules, so a clause added later is
    linked too."""
    names = {f"profile.{x}" for x in params} | set(implemented_by)
    return tuple(c.id for c in catalogue.CLAUSES
                 if p.name in c.profiles and names.intersection(c.rules))


def _life(p: Profile, text: str, params: tuple[str, ...], *, cited: tuple[str, ...] = (),
          implemented_by: tuple[str, ...] = ()) -> Sentence:
    """A sentence decided by `params` (its clauses found from them and from the model
    functions `implemented_by`) whose sources also include the parameters `cited` (too
    general to pick its clauses, e.g. sysctls)."""
    return Sentence(text, _by_params(p, params, implemented_by), (*params, *cited))


def life(p: Profile) -> list[Sentence]:
    """Peers that leave, time, shutdown(), readiness and SO_REUSEPORT: each figure a result
    of the model on a short script."""
    listen2 = "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n"
    one = listen2 + "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n"
    empty, ready = _run1(p, listen2, "poll(s)"), _run1(p, one, "poll(s)")
    reset = one + "setsockopt(c, SO_LINGER, 0)\nclose(c)\n"
    ran = _ran(p.name, one + "shutdown(s, SHUT_RD)\npoll(s)\n"
               "c2 = socket(AF_INET, SOCK_STREAM)\nconnect(c2, s)\na = accept(s)\n")
    shut = (ran[-5], ran[-4], ran[-2], ran[-1])  # shutdown, poll, connect, accept
    out = [
        _life(p, f"`poll(s)` on a listener reports `{empty}` while its completed queue is "
                 f"empty and `{ready}` once a connection waits to be accepted.",
              ("poll_style",), implemented_by=("rules.poll_events",)),
        _life(p, "A client that resets its connection before it is accepted "
                 "(`setsockopt(c, SO_LINGER, 0)`, then `close(c)`) leaves it queued "
                 f"(`poll(s)` gives `{_run1(p, reset, 'poll(s)')}`); "
                 f"`accept(s)` then gives `{_run1(p, reset, 'accept(s)')}`.",
              ("accept_reset",)),
        _life(p, f"`shutdown(s, SHUT_RD)` on a listener with one queued connection gives "
                 f"`{shut[0]}`; after it `poll(s)` gives `{shut[1]}`, a new `connect()` "
                 f"`{shut[2]}` and `accept(s)` `{shut[3]}`.",
              ("shutdown_listener",)),
    ]
    lifetime = timing.half_open_lifetime(p.name)
    knob = timing.HALF_OPEN_SYSCTL.get(p.half_open)
    setting = p.sysctl(knob) if knob is not None else None
    how = (f"with `{knob}` at its default {setting.default}" if setting is not None
           else "no sysctl changes it here" if knob is not None
           else "a fixed connection-establishment timer")
    out.append(_life(p, f"Time passes only in `sleep()`: a half-open connection whose "
                        f"handshake never completes is dropped {lifetime:g} s after its SYN "
                        f"({how}; computed by running the model's timers).",
                     ("half_open",), cited=("sysctls",), implemented_by=("timers.sleep",)))
    pair = ("s1 = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s1, SO_REUSEPORT, 1)\nbind(s1)\n"
            "s2 = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s2, SO_REUSEPORT, 1)\n"
            "bind(s2, s1)\nlisten(s1, 2)\nlisten(s2, 2)\n")
    reaches = {"hash": "any listening member (the kernel hashes the connection's addresses; "
                       "a checker accepts each)",
               "last": "the member that listened last"}[p.reuseport_pick]
    lb = _run1(p, pair, "setsockopt(s1, SO_REUSEPORT_LB, 1)")
    unix = _run1(p, "u = socket(AF_UNIX, SOCK_STREAM)\n", "setsockopt(u, SO_REUSEPORT, 1)")
    out.append(_life(p, f"Sockets that set `SO_REUSEPORT` before `bind()` may share a port and "
                        f"all listen on it; a connection reaches {reaches}. "
                        f"`setsockopt(s, SO_REUSEPORT_LB, 1)` gives `{lb}`; on an `AF_UNIX` "
                        f"socket `setsockopt(u, SO_REUSEPORT, 1)` gives `{unix}`.",
                     ("reuseport_pick", "reuseport_lb", "reuseport_unix")))
    big = 70000
    linger = _run1(p, "c = socket(AF_INET, SOCK_STREAM)\n", f"setsockopt(c, SO_LINGER, {big})")
    out.append(_life(p, f"`SO_LINGER` takes a time in seconds; "
                        f"`setsockopt(c, SO_LINGER, {big})` gives `{linger}`.",
                     ("linger_max",)))
    return out


def observing(p: Profile) -> list[Sentence]:
    setup = "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 3)\n"
    opt = _run1(p, setup, "getsockopt(s, SO_LISTENQLIMIT)")
    out = [Sentence("`netstat -L` shows a listener's queues as completed/incomplete/limit "
                    f"(`netstat(s)` after `listen(s, 3)`: `{_run1(p, setup, 'netstat(s)')}`).",
                    ("NETSTAT",))]
    conn = _run1(p, setup, "getsockopt(s, SO_ACCEPTCONN)")
    out.append(_life(p, f"`getsockopt(s, SO_ACCEPTCONN)` on a listener gives `{conn}`.",
                     ("option_bits",)))
    if p.listenq_sockopts:
        out.append(Sentence(f"`getsockopt()` reads them too: `SO_LISTENQLIMIT` gives `{opt}`, "
                            "`SO_LISTENQLEN` and `SO_LISTENINCQLEN` the lengths.", (),
                            ("listenq_sockopts",)))
    else:
        out.append(Sentence(f"No socket option reads them: `getsockopt(s, SO_LISTENQLIMIT)` "
                            f"gives `{opt}`.", (), ("listenq_sockopts",)))
    if p.counters:
        out.append(Sentence("Counters: " + ", ".join(f"`{c}`" for c in p.counters) + ".", (),
                            ("counters",)))
    return out


#: the clauses behind a check row, by what the row answers (tables.Check.then)
THEN_CLAUSES = {
    "EBADF": ("ERR-EBADF",), "ENOTSOCK": ("ERR-ENOTSOCK",),
    "EOPNOTSUPP": ("ERR-EOPNOTSUPP", "STREAM-ONLY"),
    "profile.listen_connected": ("ERR-EINVAL",),
    "profile.listen_once_connected": ("SRC-LINUX-ONCE-CONNECTED",),
    "profile.unbound_unix_listen": ("ERR-EDESTADDRREQ", "CHOICE-UNIX-UNBOUND"),
    "profile.accept_not_listening": ("LIFECYCLE",),
    "-> end-pending": ("SRC-LINUX-CONNECTING",),
    "-> unix-overflow": ("FULL-REFUSED",),
    "-> arrive": ("BACKLOG-MAX",),
}


def _row_source(p: Profile, row: Check) -> str:
    """A check row's source, the profile parameter's own citation where it names one."""
    if row.then.startswith("profile."):
        return p.cite[row.then.removeprefix("profile.")]
    return row.source


def errors_table(p: Profile, call: str, base: str) -> str:
    rows = []
    for row in CHECKS[call]:
        if not row.applies(p):
            continue
        if row.outcome is not None:
            then = md.text("→ " + topics.outcome_words(row.outcome))
        elif not row.then:
            then = md.text("(goes on)")
        else:
            then = md.code(row.errno_for(p))
        clauses = [c for c in THEN_CLAUSES.get(row.then, ())
                   if p.name in catalogue.BY_ID[c].profiles]
        clause_links = ", ".join(topics.clause_link(c, base) for c in clauses)
        effect = (" " + md.text(f"(first: {topics.effect_words(row.effect)})")
                  if row.effect else "")
        rows.append([then, md.text(row.when) + effect, clause_links,
                     citations.cite(_row_source(p, row), base)])
    return md.table(["gives", "when", "clause", "source"], rows)


#: what each sysctl the profiles model sets, by its key (profiles.Sysctl.key)
SYSCTL_WORDS = {
    "limit": "the hard limit on the backlog",
    "overinterval": "seconds between two overflow messages of a socket",
    "sooverprio": "the priority of the overflow message (negative: none)",
    "rst_on_sock_fail": "reset (1) or silently drop (0) a connection the full queue refuses",
    "syncookies": "SYN cookies: 0 off, 1 when the request queue is full, 2 always",
    "abort_on_overflow": "reset (non-zero) instead of ignoring a handshake's last ACK that "
                         "finds the completed queue full",
    "max_syn_backlog": "with SYN cookies off, a new SYN is dropped once fewer than a quarter "
                       "of this many request slots are free",
    "synack_retries": "how often a half-open request resends its SYN-ACK before it is dropped",
    "migrate_req": "move the requests of a closed SO_REUSEPORT listener to another member (1)",
    "rexmtlimit": "how often a syncache entry resends its SYN-ACK before it is dropped",
    "somaxconn": "shown, not used: gVisor reads it from a file a write cannot change (EIO); "
                 "the backlog's limit is its own",
}


def sysctl_words(key: str) -> str:
    if key not in SYSCTL_WORDS:
        raise KeyError(f"the docs say nothing of the sysctl key {key!r}: describe it in "
                       "docsgen/systems.py SYSCTL_WORDS")
    return SYSCTL_WORDS[key]


def sysctl_table(p: Profile, base: str) -> str:
    if not p.sysctls:
        return (f"None: the hard limit is fixed at {p.fixed_limit} "
                f"<small>(source: {citations.cite(p.cite['sysctls'], base)})</small>.")
    rows = [[md.code(s.name), md.text(sysctl_words(s.key)), str(s.default),
             md.text(f"{s.lo} … {s.hi}"), "hidden from `sysctl -a`" if s.hidden else ""]
            for s in p.sysctls]
    return (md.table(["name", "what it sets", "default", "a write accepts", ""], rows)
            + f"\n\n<small>Source: {citations.cite(p.cite['sysctls'], base)}.</small>")


def parameters_table(p: Profile, base: str) -> str:
    rows = []
    for param in p.parameters:
        src = p.cite[param]
        kind = ("inherited" if src.startswith("inherited") else
                "choice" if src.startswith(S.CHOICE) else "stated")
        rows.append([md.code(param), md.code(render(param, getattr(p, param), p)), kind,
                     citations.cite(src, base)])
    return md.table(["parameter", "value", "kind", "source"], rows)


def _basis(p: Profile, base: str) -> str:
    if p.basis.startswith("seeds/"):
        num = p.basis.removeprefix("seeds/")[:3]
        return f"the manual page [{num}]({base}{citations.seed_page(num)})"
    return f"the kernel source, as cited in {citations.cite(p.basis, base)}"


def picture(path: str, alt: str, base: str) -> str:
    return f"![{md.text(alt)}]({base}{path}){{ .ls-picture }}"


def render_page(name: str, base: str, *, queue_svg: str | None,
                sequences: list[tuple[str, sequence.Exchange]]) -> str:
    """The page; queue_svg is the generated queue picture's path (None: no Graphviz)."""
    from . import diagram

    p = PROFILES[name]
    others = [f"[{md.text(TITLES[o])}]({base}{page_of(o)})" for o in PROFILES if o != name]
    parts = [
        f"# {md.text(title(name))}",
        f"Generated from the `{name}` profile ({md.text(p.system)}), which formalises "
        f"{_basis(p, base)}. Each sentence ends with the clauses it rests on and the source "
        f"of each parameter that decides it; where that source is silent the profile "
        f"inherits from `freebsd-src` or makes a listenspec choice, and the source says so. "
        f"The figures were computed by the model when this page was built. "
        f"Other systems: {', '.join(others)}.",
        "## NAME\n\n`listen` — listen for connections on a socket",
        "## SYNOPSIS\n\n```c\n#include <sys/socket.h>\n\nint listen(int s, int backlog);\n```",
        "## DESCRIPTION", _para(p, description(p), base),
        "## THE QUEUES", _para(p, queue_rules(p), base),
    ]
    if queue_svg is not None:
        parts.append(picture(queue_svg, f"The listener's queues on {TITLES[name]}", base))
    else:
        parts.append(md.admonition("note", "Picture not drawn",
                                   diagram.missing_note("The picture of the queues")))
    parts += ["## A CONNECTION TO A FULL QUEUE", _para(p, overflow(p), base),
              "Computed by the model (`rules.overflow_answer`, then a script that fills a "
              "`listen(s, 1)` queue and connects once more):",
              "\n\n".join(picture(path, f"{TITLES[name]}: a {ex.domain} connection to a full "
                                  "queue", base) for path, ex in sequences)]
    parts += ["## A LISTENER'S LIFE", _para(p, life(p), base),
              "## OBSERVING THE QUEUES", _para(p, observing(p), base),
              "## RETURN VALUES",
              "`listen()` returns 0 on success; otherwise -1, with `errno` set to say why"
              + _refs(p, Sentence("", ("RETURN",)), base) + ".",
              "## ERRORS",
              "`listen()` checks, in this order (the model's table `tables.CHECKS`, filtered "
              "to this system), and the first that holds gives its error; a refused call "
              "changes nothing unless the row says what it changes first:",
              errors_table(p, "listen", base),
              "`accept()`:", errors_table(p, "accept", base),
              md.details("connect(): every check, in order", errors_table(p, "connect", base),
                         kind="abstract"),
              "## SYSCTLS", sysctl_table(p, base),
              "## EVERY PARAMETER",
              md.details(f"The {len(p.parameters)} parameters of the `{name}` profile, with "
                         "their sources (`listenspec profiles --sources`)",
                         parameters_table(p, base), kind="abstract"),
              "## SEE ALSO",
              f"[All profiles side by side]({base}profiles.md), "
              f"[divergences]({base}divergences.md), "
              f"[the seed manual pages]({base}seeds/index.md), "
              f"[sources and revisions]({base}sources/index.md)."]
    return "\n\n".join(parts)


def index(base: str) -> str:
    rows = [[f"[{md.text(title(n))}]({base}{page_of(n)})", md.code(n), md.text(p.system),
             _basis(p, base)] for n, p in PROFILES.items()]
    return md.table(["page", "profile", "system", "formalises"], rows)
