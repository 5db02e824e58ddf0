"""Source citations as links: a citation string of models/sources.py (or a profile's `cite`, a
check's `source`) rendered with every part a reader can open made a link.

- a seed file (`seeds/000_….txt`) links to its page on the site;
- a digest (`reference/freebsd.md §2a`, `spec/sources/linux-6.18.md §0`) links to its page and
  section on the site;
- a kernel source file (`sys/kern/uipc_socket.c solisten_proto()`) links to that file in the
  system's upstream repository at the fixed revision of `UPSTREAMS` (the function is named in
  the link's text: a repository viewer cannot point at a function).

The URLs are built from these tables, never written by hand; `unlinked_paths` lets a test find
a source file a citation names that no table can place.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from . import md


@attrs.frozen
class Upstream:
    """Where a system's source is read from: a repository at one fixed revision."""

    system: str
    repo: str  # owner/name on GitHub
    rev: str  # a tag or a commit: never a branch, so a link keeps pointing at what was cited
    root: str = ""  # the path of the kernel tree inside the repository
    why: str = ""

    def url(self, path: str, rev: str | None = None) -> str:
        return f"https://github.com/{self.repo}/blob/{rev or self.rev}/{self.root}{path}"


UPSTREAMS: dict[str, Upstream] = {
    "freebsd": Upstream(
        "FreeBSD", "freebsd/freebsd-src", "release/14.2.0",
        why="the release the freebsd-src profile's digest reads (spec/sources/freebsd.md, "
            "14.2); reference/freebsd.md quotes main snapshots of the same functions"),
    "linux": Upstream(
        "Linux", "torvalds/linux", "v6.18",
        why="the release this project's kernel executor measures (6.18.44 is a stable update "
            "of v6.18; spec/sources/linux-6.18.md)"),
    "dragonfly": Upstream(
        "DragonFly BSD", "DragonFlyBSD/DragonFlyBSD", "fd27efb403e6d6fc0fa2677de5f037a2417056f6",
        why="the revisions reference/freebsd.md §8 read (per file, below)"),
    "bsd-4.4": Upstream(
        "4.4BSD-Lite2", "chenshuo/4.4BSD-Lite2", "16308ddb",
        why="the import of 4.4BSD-Lite2 reference/freebsd.md §8 read (there is no upstream "
            "repository of 4.4BSD)"),
}

#: files a digest read at a revision of their own (system, path) -> revision
FILE_REVS: dict[tuple[str, str], str] = {
    ("dragonfly", "sys/kern/uipc_socket.c"): "002c1265",
}

#: how a citation spells a path that is not the file's path in the tree
PATH_ALIASES = {"usr.bin/netstat inet.c": "usr.bin/netstat/inet.c"}

#: the words before a path that name a system other than the one its tree implies
SYSTEM_WORDS = {"DragonFly": "dragonfly", "4.4BSD-Lite2": "bsd-4.4"}

#: digests and seeds: the file in the repository, and the page of the site that renders it
DOCUMENTS: dict[str, tuple[str, str]] = {
    "reference/freebsd.md": ("spec/reference/freebsd.md", "sources/reference-freebsd.md"),
    "reference/linux.md": ("spec/reference/linux.md", "sources/reference-linux.md"),
    "spec/sources/freebsd.md": ("spec/sources/freebsd.md", "sources/freebsd-14.2.md"),
    "spec/sources/linux-6.18.md": ("spec/sources/linux-6.18.md", "sources/linux-6.18.md"),
    "spec/sources/gvisor-2022-12.md": ("spec/sources/gvisor-2022-12.md",
                                       "sources/gvisor-2022-12.md"),
}

SEED_RE = re.compile(r"seeds/(\d{3})_[0-9a-f]{16}\.txt")
DOC_RE = re.compile(r"(spec/sources/[\w.-]+\.md|reference/(?:freebsd|linux)\.md)"
                    r"(?: (§[0-9]+[a-z]?(?:\.[0-9]+)?|[A-Z][0-9]+)\b)?")
#: a file read in another repository at a named revision: `owner/name@commit path`
REPO_AT_RE = re.compile(r"(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[0-9a-f]{7,40}) "
                        r"(?P<path>(?:sys|net|include|usr\.bin|tests)/[\w./-]*\w\.[ch])\b"
                        r"(?: (?P<fn>[A-Za-z_]\w*\(\)))?")
#: a file named without its folder, as a digest of one system writes it (the digest the
#: citation starts with says which system)
BARE_RE = re.compile(r"(?<![\w/.@-])(?P<name>[a-z][a-z0-9_]*\.[ch])\b"
                     r"(?: (?P<fn>[A-Za-z_]\w*\(\)))?")
BASENAMES: dict[str, dict[str, str]] = {
    "freebsd": {n: f"sys/kern/{n}" for n in (
        "uipc_socket.c", "uipc_usrreq.c", "uipc_accf.c", "uipc_domain.c", "sys_generic.c",
        "kern_sysctl.c", "kern_time.c")}
    | {n: f"sys/netinet/{n}" for n in (
        "tcp_usrreq.c", "tcp_syncache.c", "tcp_input.c", "tcp_timer.h", "in_pcb.c",
        "accf_data.c", "accf_http.c", "accf_dns.c", "accf_tls.c")},
    "linux": {"af_unix.c": "net/unix/af_unix.c", "af_inet.c": "net/ipv4/af_inet.c",
              "tcp_input.c": "net/ipv4/tcp_input.c", "tcp.c": "net/ipv4/tcp.c",
              "tcp_minisocks.c": "net/ipv4/tcp_minisocks.c",
              "sysctl_net_ipv4.c": "net/ipv4/sysctl_net_ipv4.c",
              "inet_connection_sock.c": "net/ipv4/inet_connection_sock.c",
              "sock.c": "net/core/sock.c"},
}
#: which system a citation's digest is about (for BASENAMES)
DOC_SYSTEM = {"reference/freebsd.md": "freebsd", "spec/sources/freebsd.md": "freebsd",
              "reference/linux.md": "linux", "spec/sources/linux-6.18.md": "linux"}
PATH_RE = re.compile(
    r"(?:(?P<word>DragonFly|4\.4BSD-Lite2) )?"
    r"(?<![\w/.])(?P<path>usr\.bin/netstat inet\.c|(?:sys|net|include|usr\.bin)/[\w./-]*\w\.[ch]\b)"
    r"(?: (?P<fn>[A-Za-z_]\w*\(\)))?")
#: anything else that looks like a kernel source path (what `unlinked_paths` reports)
LOOKS_LIKE_PATH = re.compile(r"(?<![\w/.])(?:sys|net|include|usr\.bin)/[\w./-]+")


def seed_page(num: str) -> str:
    return f"seeds/{num}.md"


def section_anchor(section: str) -> str:
    """`§2a` -> `s2a`, `§0.1` -> `s0-1`: the id a digest page gives its numbered heading."""
    return "s" + section.removeprefix("§").replace(".", "-")


def system_of(path: str, word: str | None) -> str:
    if word:
        return SYSTEM_WORDS[word]
    return "linux" if path.startswith(("net/", "include/")) else "freebsd"


def source_url(path: str, word: str | None = None) -> tuple[Upstream, str]:
    path = PATH_ALIASES.get(path, path)
    system = system_of(path, word)
    up = UPSTREAMS[system]
    return up, up.url(path, FILE_REVS.get((system, path)))


def cite(text: str, base: str) -> str:
    """A citation as Markdown for a table cell or a sentence: escaped text with links.

    base: the relative path from the page to the site root (`../` for a page in a folder).
    """
    spans: list[tuple[int, int, str]] = []  # (start, end, link); on a tie the first added wins
    for m in SEED_RE.finditer(text):
        spans.append((m.start(), m.end(),
                      f"[{md.text(m.group(0))}]({base}{seed_page(m.group(1))})"))
    for m in DOC_RE.finditer(text):
        page = DOCUMENTS[m.group(1)][1]
        anchor = f"#{section_anchor(m.group(2))}" if m.group(2) else ""
        spans.append((m.start(), m.end(), f"[{md.text(m.group(0))}]({base}{page}{anchor})"))
    for m in REPO_AT_RE.finditer(text):
        url = f"https://github.com/{m.group('repo')}/blob/{m.group('rev')}/{m.group('path')}"
        start = m.start("path")
        spans.append((start, m.end(), f'[{md.text(text[start:m.end()])}]({url} '
                                      f'"{md.text(m.group("repo"))} at {m.group("rev")}")'))
    for m in PATH_RE.finditer(text):
        up, url = source_url(m.group("path"), m.group("word"))
        label = m.group(0)
        spans.append((m.start(), m.end(),
                      f'[{md.text(label)}]({url} "{up.system} at {up.rev[:12]}")'))
    first_doc = DOC_RE.search(text)
    system = DOC_SYSTEM.get(first_doc.group(1), "") if first_doc else ""
    for m in BARE_RE.finditer(text) if system else ():
        path = BASENAMES[system].get(m.group("name"))
        if path is None:
            continue
        up = UPSTREAMS[system]
        spans.append((m.start(), m.end(),
                      f'[{md.text(m.group(0))}]({up.url(path)} "{up.system} at {up.rev[:12]}:'
                      f' {path}")'))
    spans.sort(key=lambda span: span[0])  # stable: a repository@revision beats the table
    out, at = [], 0
    for start, end, link in spans:
        if start < at:  # overlapping matches: the first one wins
            continue
        out.append(md.text(text[at:start]))
        out.append(link)
        at = end
    out.append(md.text(text[at:]))
    return "".join(out)


def unlinked_paths(text: str) -> list[str]:
    """Source paths in `text` that `cite` would leave as plain text."""
    linked = [(m.start("path"), m.end("path")) for m in PATH_RE.finditer(text)]
    return [m.group(0) for m in LOOKS_LIKE_PATH.finditer(text)
            if not any(s <= m.start() < e for s, e in linked)]


def document_file(repo: Path, name: str) -> Path:
    """The repository file a citation names (`reference/freebsd.md`, `seeds/000_….txt`)."""
    if name in DOCUMENTS:
        return repo / DOCUMENTS[name][0]
    if name.startswith("spec/"):  # a digest of this repository, named from its root
        return repo / name
    return repo / "spec" / name


def upstream_table() -> str:
    """The revisions every source link points at, for the sources page."""
    def rev_link(u: Upstream, rev: str) -> str:  # a commit shown short, as git does
        shown = rev[:12] if re.fullmatch(r"[0-9a-f]{13,40}", rev) else rev
        return f"[`{shown}`](https://github.com/{u.repo}/tree/{rev})"

    rows = [[md.text(u.system), f"[{md.text(u.repo)}](https://github.com/{u.repo})",
             rev_link(u, u.rev), md.text(u.why)] for u in UPSTREAMS.values()]
    rows += [[md.text(UPSTREAMS[s].system + ": " + path), md.text(UPSTREAMS[s].repo),
              rev_link(UPSTREAMS[s], rev), "read at a revision of its own"]
             for (s, path), rev in FILE_REVS.items()]
    return md.table(["system", "repository", "revision", "why this one"], rows)
