"""The connection to a full queue, per system, as a sequence picture (SVG, drawn here: no
Graphviz needed).

Nothing in a picture is hand-written per system: the kind of exchange is the model's
`rules.overflow_answer` for the profile (at its default settings, or with a sysctl set), and
the figures under it (how many connections fit, what connect() returns, which counters move,
what netstat shows) come from running a script on the model when the site is built.
"""

from __future__ import annotations

import html

import attrs

from ..models import rules
from ..models.profiles import PROFILES, Profile
from ..results import render
from ..runner import run_model
from ..script import parse


@attrs.frozen
class Exchange:
    """What one profile does with the connection that finds its queue full."""

    domain: str  # AF_INET | AF_UNIX
    kind: str  # rules.overflow_answer: drop | reset | unqueued | refuse
    fits: int  # connections the queue took first (listen(s, 1))
    result: str  # what connect() returns for the one that did not fit
    counters: tuple[tuple[str, int], ...]  # counters that moved, by how much
    netstat: str  # the listener afterwards
    setting: str = ""  # a sysctl written first ("" for the defaults)

    def key(self) -> tuple[object, ...]:
        return (self.domain, self.kind, self.fits, self.result, self.counters, self.netstat,
                self.setting)


def _script(p: Profile, domain: str, fits: int, setting: str) -> str:
    lines = [f'sysctl("{setting.split("=")[0]}", {setting.split("=")[1]})'] if setting else []
    lines += [f"s = socket({domain}, SOCK_STREAM)"]
    lines += ["bind(s)"] if domain == "AF_UNIX" else []
    lines += ["listen(s, 1)"]
    for i in range(fits):
        lines += [f"c{i} = socket({domain}, SOCK_STREAM)", f"connect(c{i}, s)"]
    lines += [f"x = socket({domain}, SOCK_STREAM)"]
    lines += [f'counter("{c}")' for c in p.counters]
    lines += ["connect(x, s)"]
    lines += [f'counter("{c}")' for c in p.counters]
    lines += ["netstat(s)"]
    return "\n".join(lines) + "\n"


def exchange(p: Profile, domain: str = "AF_INET", setting: str = "") -> Exchange:
    """Run the model: fill a listen(s, 1) queue, then connect once more."""
    rst = int(setting.split("=")[1]) if "rst_on_sock_fail" in setting else \
        p.default("rst_on_sock_fail")
    kind = rules.overflow_answer(p, tcp=domain != "AF_UNIX", rst_on_sock_fail=rst)
    q = rules.effective_backlog(p, 1, p.default("limit"))
    fits = int(rules.max_completed(p, q))
    text = _script(p, domain, fits, setting)
    results = [render(e.result) for e in run_model(parse(text, "<sequence>"), p)]
    steps = text.splitlines()
    first = len(steps) - 2 - 2 * len(p.counters)  # where the counters before connect(x) start
    before = results[first:first + len(p.counters)]
    connect = results[first + len(p.counters)]
    after = results[first + len(p.counters) + 1:-1]
    moved = tuple((c, int(a) - int(b)) for c, b, a in zip(p.counters, before, after,
                                                              strict=True) if a != b)
    for r in results[:first]:  # the queue must take the first ones: else the picture lies
        if r.startswith("-1"):
            raise ValueError(f"{p.name}: filling a listen(s, 1) queue failed ({r}): {text}")
    return Exchange(domain, kind, fits, connect, moved, results[-1], setting)


def groups(domain: str = "AF_INET") -> list[tuple[list[str], Exchange]]:
    """Profiles whose exchange is the same, in profile order."""
    out: list[tuple[list[str], Exchange]] = []
    for p in PROFILES.values():
        ex = exchange(p, domain)
        for names, seen in out:
            if seen.key() == ex.key():
                names.append(p.name)
                break
        else:
            out.append(([p.name], ex))
    return out


def variants(p: Profile) -> list[Exchange]:
    """The exchanges worth a picture on a system's page: TCP at the defaults, TCP with the
    sysctl that changes the answer (where the profile has it), and AF_UNIX."""
    out = [exchange(p)]
    if p.sysctl("net.inet.tcp.syncache.rst_on_sock_fail") is not None:
        out.append(exchange(p, setting="net.inet.tcp.syncache.rst_on_sock_fail=0"))
    out.append(exchange(p, "AF_UNIX"))
    return out


# --------------------------------------------------------------------------- the picture

#: the messages of each kind of exchange: (from, label); "C" client, "L" listener, "x" lost
MESSAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "drop": (("C", "SYN"), ("x", "dropped: no answer"), ("C", "SYN, retransmitted"),
             ("x", "dropped again … the client gives up")),
    "reset": (("C", "SYN"), ("L", "SYN-ACK (the syncache answers)"), ("C", "ACK"),
              ("L", "RST: no room in the completed queue")),
    "unqueued": (("C", "SYN"), ("L", "SYN-ACK (the syncache answers)"),
                 ("C", "ACK: dropped, the syncache entry is gone"),),
    "refuse": (("C", "connect()"), ("L", "refused at once"),),
}

WORDS = {
    "drop": "the connection request is silently dropped",
    "reset": "the handshake completes, then the listener's side resets the connection",
    "unqueued": "the handshake completes, but nothing reaches the listener",
    "refuse": "connect() is refused at once",
}


def _t(s: str) -> str:
    return html.escape(s, quote=True)


def svg(ex: Exchange, title: str) -> str:
    """Two lifelines, client and listener, the messages between them, the outcome below."""
    msgs = MESSAGES[ex.kind]
    width, left, right, top, step = 640, 130, 510, 78, 46
    height = top + step * len(msgs) + 104
    counters = ", ".join(f"{c} +{n}" for c, n in ex.counters) or "no counter moves"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
           f'font-size="15" role="img" aria-label="{_t(title)}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
           'markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
           'fill="#333"/></marker></defs>',
           f'<text x="{width / 2}" y="24" text-anchor="middle" font-weight="bold">'
           f"{_t(title)}</text>"]
    lane = ("AF_UNIX client" if ex.domain == "AF_UNIX" else "TCP client")
    for x, name, sub in ((left, lane, "connect(x, s)"),
                         (right, "listener s", f"listen(s, 1): {ex.fits} queued, full")):
        out.append(f'<rect x="{x - 95}" y="36" width="190" height="34" rx="6" fill="#eef3fb" '
                   f'stroke="#456"/><text x="{x}" y="58" text-anchor="middle">{_t(name)}</text>')
        out.append(f'<text x="{x}" y="88" text-anchor="middle" font-size="12" fill="#555">'
                   f"{_t(sub)}</text>")
        out.append(f'<line x1="{x}" y1="94" x2="{x}" y2="{height - 96}" stroke="#789" '
                   'stroke-dasharray="5,4"/>')
    y = top + 36
    for who, label in msgs:
        if who == "x":  # a lost segment: a cross at the listener's side
            out.append(f'<text x="{right - 12}" y="{y - 18}" text-anchor="end" font-size="13" '
                       f'fill="#a33">{_t(label)}</text>')
            y += step // 2
            continue
        x1, x2 = (left, right) if who == "C" else (right, left)
        out.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y + 14}" stroke="#333" '
                   'stroke-width="1.6" marker-end="url(#a)"/>')
        out.append(f'<text x="{(left + right) / 2}" y="{y - 6}" text-anchor="middle">'
                   f"{_t(label)}</text>")
        y += step
    base = height - 80
    lines = [f"connect(x, s) = {ex.result}", f"the listener: {counters}; netstat(s) = "
             f"{ex.netstat}"]
    if ex.setting:
        lines.append(f"with sysctl {ex.setting}")
    for n, text in enumerate(lines):
        weight = ' font-weight="bold"' if n == 0 else ""
        out.append(f'<text x="{width / 2}" y="{base + 22 * n}" text-anchor="middle"{weight}>'
                   f"{_t(text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
