"""The five seed manual pages on the site (spec/seeds/), each clause that cites a page marked
where the page states it, anchored (`seeds/000.md#clause-real-max-1-5`) and linked to the
clause's topic page.

`STATED` says, per clause, the words of the pages that state it (alternatives: the pages word
things differently). A clause that cites a page whose text holds none of them is listed on that
page as cited but not found there, never silently dropped: the catalogue may cite a page whose
capture is cut off.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from ..models import sources as S
from ..models.profiles import PROFILES
from ..spec import clauses as catalogue
from . import md, topics

#: clause id -> phrases of the pages that state it (any one; whitespace-insensitive)
STATED: dict[str, tuple[str, ...]] = {
    "LIFECYCLE": ("a socket is first created with socket",),
    "STREAM-ONLY": ("applies only to sockets of type SOCK_STREAM or SOCK_SEQPACKET",),
    "RETURN": ("returns the value 0 if successful", ".Rv -std listen"),
    "BACKLOG-MAX": ("the maximum length the queue of pending connections may grow to",),
    "REAL-MAX-1.5": ("1.5 times more than the value specified in the backlog argument",),
    "DF-MAX-Q": ("the maximum length the queue of pending connections may grow to",),
    "RELISTEN": ("A subsequent listen",),
    "HARD-LIMIT": ("specifies a hard limit on backlog",),
    "CLAMP": ("backlog is silently forced to",),
    "NEGATIVE-MAX": ("use a negative backlog to request the maximum allowable value",),
    "SOACCEPTQUEUE": ("kern.ipc.somaxconn is still available but hidden",
                      "kern.ipc.soacceptqueue specifies a hard limit"),
    "INTIME-NO-SYSCTL": ("Not supported by INtime",),
    "FULL-REFUSED": ("an indication of ECONNREFUSED",),
    "FULL-TCP-DROP": ("the connection will be silently dropped",),
    "NETSTAT": ("Current queue lengths of listening sockets can be queried",),
    "OVERFLOW-LOG": ("the kernel will emit a LOG_DEBUG syslog message",),
    "OVERFLOW-RATE": ("kern.ipc.sooverinterval specifies a per-socket limit",),
    "PRE-SYNCACHE": ("also determined the length of the incomplete connection queue",),
    "SYNCACHE": ("held entirely in the syncache, which is unaffected by queue lengths",),
    "NO-INFLATED-BACKLOG": ("Inflated backlog values to help handle denial of service attacks "
                            "are no longer necessary",),
    "ACCF-QUEUE": ("a second queue will be used to hold sockets",),
    "ACCF-PROMOTE": ("these sockets will be moved over into the completed connection queue",),
    "ACCF-EVICT": ("the oldest socket which has not yet met its accept filter criteria will be "
                   "terminated",),
    "ACCF-SIZE": ("like the primary listen queue, is sized according to the backlog",),
    "ERR-EBADF": ("is not a valid descriptor",),
    "ERR-ENOTSOCK": ("is not a socket",),
    "ERR-EOPNOTSUPP": ("is not of a type that supports the",),
    "ERR-EINVAL": ("already connected, or in the process of being connected",),
    "ERR-EDESTADDRREQ": ("does not support listening on an unbound socket",),
}


@attrs.frozen
class Seed:
    num: str  # "000"
    file: str  # the citation: seeds/000_….txt
    profile: str  # the profile that formalises it
    system: str


def seeds() -> list[Seed]:
    out = []
    for f in S.SEEDS:
        owner = next(p for p in PROFILES.values() if p.basis == f)
        out.append(Seed(f.removeprefix("seeds/")[:3], f, owner.name, owner.system))
    return sorted(out, key=lambda s: s.num)


def by_num(num: str) -> Seed:
    for s in seeds():
        if s.num == num:
            return s
    raise KeyError(f"no seed page {num!r} (known: {', '.join(s.num for s in seeds())})")


def paragraphs(text: str) -> list[str]:
    """The page's paragraphs: a blank line ends one; an indented line continues the previous
    indented line (a formatted manual page wraps its lines); any other line stands alone."""
    out: list[str] = []
    prev_indented = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            prev_indented = False
            continue
        indented = line[:1] in (" ", "\t")
        if indented and prev_indented and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
        prev_indented = indented
    return [" ".join(p.split()) for p in out]


def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(w) for w in phrase.split()), re.IGNORECASE)


def citing(seed: Seed) -> list[catalogue.Clause]:
    return [c for c in catalogue.CLAUSES if seed.file in c.seeds]


def locate(seed: Seed, paras: list[str]) -> tuple[dict[str, tuple[int, int, int]], list[str]]:
    """Where each clause citing the page is stated: clause -> (paragraph, start, end), and the
    clauses found nowhere on it."""
    found: dict[str, tuple[int, int, int]] = {}
    missing = []
    for c in citing(seed):
        hit = None
        for phrase in STATED.get(c.id, ()):
            rx = _pattern(phrase)
            hit = next(((i, m.start(), m.end()) for i, p in enumerate(paras)
                        if (m := rx.search(p))), None)
            if hit:
                break
        if hit:
            found[c.id] = hit
        else:
            missing.append(c.id)
    return found, missing


def _clause_link(cid: str, base: str) -> str:
    text = next((c.text for c in catalogue.CLAUSES if c.id == cid), "")
    return topics.clause_link(cid, base, text)


def render(seed: Seed, repo: Path, base: str) -> str:
    text = (repo / "spec" / seed.file).read_text(encoding="utf-8")
    paras = paragraphs(text)
    found, missing = locate(seed, paras)
    marks: dict[int, list[tuple[int, int, str]]] = {}
    for cid, (i, start, end) in found.items():
        marks.setdefault(i, []).append((start, end, cid))
    blocks = []
    for i, p in enumerate(paras):
        spans = sorted(marks.get(i, []))
        out, at, tags = [], 0, []
        for start, end, cid in spans:
            tags.append(cid)
            anchor = f'<a id="{topics.anchor(cid)}"></a>'
            if start < at:  # a phrase two clauses share (or overlapping ones): anchor only
                out.append(anchor)
                continue
            out.append(md.text(p[at:start]))
            out.append(f"{anchor}<mark>{md.text(p[start:end])}</mark>")
            at = end
        out.append(md.text(p[at:]))
        line = md.paragraph("".join(out))
        if tags:
            line += " <small>(" + ", ".join(_clause_link(c, base) for c in tags) + ")</small>"
        blocks.append(line)
    owner = PROFILES[seed.profile]
    head = (f"The seed manual page `{seed.file}` (`spec/{seed.file}` in the repository), which "
            f"the [`{seed.profile}`]({base}systems/{seed.profile}.md) profile formalises "
            f"({md.text(owner.system)}). It is a web capture, kept as it was captured (the "
            f"navigation text around the page is no part of any clause). "
            f"[Download the text]({base}seeds/{seed.file.removeprefix('seeds/')}).\n\n"
            f"Each sentence a clause of the catalogue rests on is marked, anchored and "
            f"linked to the clause: {len(found)} of the {len(found) + len(missing)} clauses "
            f"that cite this page.")
    parts = [head]
    if missing:
        parts.append(md.admonition(
            "note", "Cited, but not stated in this capture",
            "These clauses cite this page, but no sentence of the captured text states them "
            "(a capture may be cut off): " + ", ".join(_clause_link(c, base) for c in missing)
            + "."))
    body = "\n\n".join(blocks)
    parts.append('<div class="ls-seed" markdown>\n\n' + body + "\n\n</div>")
    return "\n\n".join(parts)


def index(base: str) -> str:
    rows = []
    for s in seeds():
        paras_ok = len(citing(s))
        rows.append([f"[{s.num}]({base}seeds/{s.num}.md)", md.code(s.file),
                     f"[`{s.profile}`]({base}systems/{s.profile}.md)", md.text(s.system),
                     str(paras_ok)])
    return md.table(["page", "file", "profile", "system", "clauses citing it"], rows)
