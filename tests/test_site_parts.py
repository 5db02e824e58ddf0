"""The parts of the docs site that need no build (issue 12 §4): source citations as links at
fixed revisions, the pictures computed by the model, the seed pages' clause anchors, and the
link check that catches what breaks when a site is opened from disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from listenspec.docsgen import citations, layout, plot, queues, seeds, sequence, timing
from listenspec.models import rules
from listenspec.models import sources as S
from listenspec.models.profiles import PROFILES
from listenspec.models.tables import CHECKS
from listenspec.profile_table import formula
from listenspec.spec import clauses as catalogue

ROOT = Path(__file__).resolve().parents[1]


def _every_citation() -> set[str]:
    texts = {v for v in vars(S).values() if isinstance(v, str) and "/" in v}
    for p in PROFILES.values():
        texts.update(p.cite.values())
    texts.update(row.source for rows in CHECKS.values() for row in rows)
    texts.update(c.text for c in catalogue.CLAUSES)
    return texts


def test_every_kernel_source_a_citation_names_becomes_a_link() -> None:
    for text in _every_citation():
        assert citations.unlinked_paths(text) == [], text
    fb = citations.cite(S.FB_SOLISTEN, "")
    assert ("(https://github.com/freebsd/freebsd-src/blob/release/14.2.0/"
            "sys/kern/uipc_socket.c" in fb)
    assert "[reference/freebsd.md §1](sources/reference-freebsd.md#s1)" in fb
    lx = citations.cite(S.LX_CONN_REQUEST, "../")
    assert "https://github.com/torvalds/linux/blob/v6.18/net/ipv4/tcp_input.c" in lx
    df = citations.cite(S.DF_SOLISTEN, "")
    assert "DragonFlyBSD/DragonFlyBSD/blob/002c1265/sys/kern/uipc_socket.c" in df
    bsd = citations.cite(S.BSD44_SONEWCONN, "")
    assert "chenshuo/4.4BSD-Lite2/blob/16308ddb/sys/kern/uipc_socket2.c" in bsd
    seed = citations.cite(S.SEED_FREEBSD_13, "../")
    assert seed == f"[{S.SEED_FREEBSD_13}](../seeds/001.md)"
    # a file read in another repository links there, at the revision the citation names
    fork = citations.cite(S.FB_MAIN, "")
    assert "https://github.com/CHERI-Alliance/freebsd-src/blob/03c9adbd/sys/kern/uipc_socket.c" \
        in fork and "freebsd/freebsd-src/blob" not in fork
    # a file named without its folder, in a FreeBSD digest's citation, is FreeBSD's
    poll = citations.cite(S.FB14_POLL, "")
    assert "freebsd/freebsd-src/blob/release/14.2.0/sys/kern/uipc_socket.c" in poll
    assert "freebsd/freebsd-src/blob/release/14.2.0/sys/kern/sys_generic.c" in poll
    assert "(sources/freebsd-14.2.md#sB6)" in poll


def test_every_cited_document_is_in_the_repository() -> None:
    """The citations name files a user who cloned the project has (not ../shared/)."""
    names = set()
    for text in _every_citation():
        names.update(m.group(0) for m in citations.SEED_RE.finditer(text))
        names.update(m.group(1) for m in citations.DOC_RE.finditer(text))
    assert len(names) >= 7
    for name in names:
        assert citations.document_file(ROOT, name).is_file(), name
    assert (ROOT / "docs" / "format-contract.md").is_file()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme


def test_the_pictures_are_computed_by_the_model() -> None:
    for names, ys in plot.series():
        for n in names:
            p = PROFILES[n]
            assert ys == [rules.max_completed(p, rules.effective_backlog(p, b, p.default("limit")))
                          for b in plot.BACKLOGS]
    for p in PROFILES.values():
        src = queues.dot_source(p)
        assert f"at most {formula(p.admit_base, p.admit_inclusive, p.admit_counts_half_open)}" \
            in src
        assert p.unix_overflow in src
        assert f"dropped {timing.half_open_lifetime(p.name):g} s after the SYN" in src
        ex = sequence.exchange(p)
        assert ex.kind == rules.overflow_answer(p, tcp=True,
                                                rst_on_sock_fail=p.default("rst_on_sock_fail"))
        assert ex.fits == rules.max_completed(p, rules.effective_backlog(p, 1, 128))
        svg = sequence.svg(ex, "t")
        assert f"connect(x, s) = {ex.result}" in svg
    # an accept-filter queue is drawn only where an attached filter holds connections
    for p in PROFILES.values():
        assert ("accept-filter queue" in queues.dot_source(p)) == bool(
            p.accept_filters and p.filter_holds), p.name
    fb = sequence.exchange(PROFILES["freebsd-src"])
    assert (fb.kind, fb.result) == ("reset", "-1 ECONNRESET")
    off = sequence.exchange(PROFILES["freebsd-src"],
                            setting="net.inet.tcp.syncache.rst_on_sock_fail=0")
    assert (off.kind, off.result) == ("unqueued", "0")


def test_a_seed_page_that_does_not_state_a_clause_citing_it_says_so() -> None:
    """Seed 001 is a capture without the first paragraph: the clauses that cite it for that
    paragraph are listed as not found there, the others are anchored."""
    s = seeds.by_num("001")
    paras = seeds.paragraphs((ROOT / "spec" / s.file).read_text(encoding="utf-8"))
    found, missing = seeds.locate(s, paras)
    assert "OVERFLOW-LOG" in found and "SOACCEPTQUEUE" in found
    assert "LIFECYCLE" in missing and "OVERFLOW-LOG" not in missing
    page = seeds.render(s, ROOT, "../")
    assert '<a id="clause-overflow-log"></a><mark>' in page
    assert "Cited, but not stated in this capture" in page


def test_the_link_check_catches_folders_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_text("<p id='here'>x</p>")
    (tmp_path / "index.html").write_text(
        '<a href="sub/">folder</a><a href="sub/index.html#here">ok</a>'
        '<a href="sub/index.html#gone">anchor</a><a href="nope.html">file</a>'
        '<a href="https://example.org/">external</a><a href="#top">top</a>')
    problems = layout.links(tmp_path)
    assert any("sub/: a folder" in p for p in problems)
    assert any("#gone" in p for p in problems)
    assert any("nope.html: no such file" in p for p in problems)
    assert any("#top" in p for p in problems)
    assert len(problems) == 4


@pytest.mark.parametrize("text,kept", [("freebsd-10", True), ("-1 EINPROGRESS", True),
                                       ("EINVAL", False)])
def test_inline_code_keeps_its_words_whole(text: str, kept: bool) -> None:
    from listenspec.docsgen import md

    out = md.keep_words(f"<p><code>{text}</code></p>")
    assert ('class="ls-nobr"' in out) == kept
    assert out.replace('<span class="ls-nobr">', "").replace("</span>", "") == \
        f"<p><code>{text}</code></p>"


def test_a_system_page_says_what_the_model_does_in_a_listeners_life() -> None:
    """The life section's figures are the model's results (a profile whose answer changes
    changes the page), and every sysctl any profile models is described."""
    from listenspec.docsgen import systems
    from listenspec.models.profiles import Profile
    from listenspec.results import render
    from listenspec.runner import ModelRun
    from listenspec.script import parse

    def last(p: Profile, text: str) -> str:
        return render(list(ModelRun(p).run(parse(text, "<t>")))[-1].result)

    reset = ("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\nc = socket(AF_INET, SOCK_STREAM)"
             "\nconnect(c, s)\nsetsockopt(c, SO_LINGER, 0)\nclose(c)\naccept(s)\n")
    answers = {}
    for p in PROFILES.values():
        text = " ".join(s.text for s in systems.life(p))
        answers[p.name] = text
        assert "SO_REUSEPORT" in text and "sleep()" in text
        assert f"{timing.half_open_lifetime(p.name):g} s after its SYN" in text
        assert f"`accept(s)` then gives `{last(p, reset)}`" in text
        for s in p.sysctls:
            assert systems.sysctl_words(s.key)
    # Linux hands a reset connection to accept(); FreeBSD fails it with ECONNABORTED
    assert "`accept(s)` then gives `fd`" in answers["linux"]
    assert "`accept(s)` then gives `-1 ECONNABORTED`" in answers["freebsd-src"]
    # the timers decide the lifetime: 1+2+4+8+16+32 s on Linux (five SYN-ACK resends)
    assert timing.half_open_lifetime("linux") == 63
    assert timing.half_open_lifetime("bsd-4.4") == rules.Q0_LIFETIME / rules.SECOND
    lx = PROFILES["linux"]
    assert "EDOM" not in " ".join(s.text for s in systems.life(lx))
    assert "`-1 EDOM`" in answers["freebsd-src"]
    # the clauses behind a sentence are found from the parameters it rests on
    linked = {c for s in systems.life(PROFILES["freebsd-src"]) for c in s.clauses}
    named = {"profile.accept_reset", "profile.shutdown_listener", "profile.linger_max",
             "profile.poll_style", "profile.half_open", "rules.poll_events", "timers.sleep"}
    expected = {c.id for c in catalogue.CLAUSES
                if "freebsd-src" in c.profiles and named.intersection(c.rules)}
    assert expected <= linked
    with pytest.raises(KeyError, match="SYSCTL_WORDS"):
        systems.sysctl_words("no-such-key")


def test_a_clause_added_later_is_linked_from_the_sentence_it_backs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import attrs

    from listenspec.docsgen import systems

    new = attrs.evolve(catalogue.CLAUSES[0], id="NEW-SHUTDOWN", profiles=("linux",),
                       rules=("profile.shutdown_listener",), topic="shutdown")
    monkeypatch.setattr(catalogue, "CLAUSES", (*catalogue.CLAUSES, new))
    shut = [s for s in systems.life(PROFILES["linux"]) if "SHUT_RD" in s.text]
    assert len(shut) == 1 and "NEW-SHUTDOWN" in shut[0].clauses
    assert not any("NEW-SHUTDOWN" in s.clauses for s in systems.life(PROFILES["freebsd-src"]))


def test_the_link_check_parses_each_page_once_from_a_relative_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `python -m listenspec.docsgen.layout site`: with the site named relatively, each link
    # with an anchor used to parse its target page again (130 s for the real site in CI)
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "index.html").write_text('<h1 id="top">x</h1>' + '<a href="a/b.html#s">b</a>' * 50)
    (site / "a" / "b.html").write_text('<h2 id="s">s</h2><a href="../index.html#top">i</a>')
    parsed: list[Path] = []
    real = layout._parse

    def counting(path: Path) -> object:
        parsed.append(path)
        return real(path)

    monkeypatch.setattr(layout, "_parse", counting)
    monkeypatch.chdir(tmp_path)
    assert layout.links(Path("site")) == []
    assert sorted(parsed) == sorted([site / "index.html", site / "a" / "b.html"])
