"""The docs site and the verify report (issue 6).

The site is built once per session with the one documented command, offline; the pages are then
checked for generated content. A second, in-process build adds a clause to the catalogue whose
topic has no page and checks that the build fails naming it.
"""

from __future__ import annotations

import html.parser
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from listenspec.errors import ListenspecError
from listenspec.models.profiles import PROFILES
from listenspec.report import write_report
from listenspec.spec import clauses as catalogue

ROOT = Path(__file__).resolve().parents[1]
#: what a docs build needs that is missing here, each named as what to install
MISSING = [*(f"{m} (pip install -e '.[docs]')" for m in ("mkdocs", "material", "matplotlib")
             if importlib.util.find_spec(m) is None),
           *(["Graphviz dot (Debian: apt-get install graphviz)"] if shutil.which("dot") is None
             else [])]


def NEEDS_MKDOCS(f: Any) -> Any:
    """A test on a built site: slow (the build takes a minute), skipped naming what is
    missing."""
    skip = pytest.mark.skipif(bool(MISSING), reason="the docs build needs "
                              + ", ".join(MISSING))
    return pytest.mark.slow(skip(f))

#: the rows of DESIGN.md's divergence table ("Divergences worth showing").
DESIGN_POINTS = (
    "max completed queue for effective backlog q",
    "negative backlog",
    "TCP connection to a full queue",
    "AF_UNIX connect to a full queue",
    "listen on unbound AF_UNIX",
    "accept-filter queue",
    "hard-limit sysctl range",
)

PAGES = ("index.html", "format.html", "divergences.html", "profiles.html", "lifecycle.html",
         "assurance.html", "check-your-stack.html", "cli.html", "systems/index.html",
         "seeds/index.html", "sources/index.html", "format-contract.html", "reliability.html")


#: what only the generated part of a page contains (default: a table)
GENERATED = {"check-your-stack.html": "freebsd-src expects"}


def _offline_env() -> dict[str, str]:
    """Any attempt to fetch something goes to a closed port: the build must not need it."""
    env = dict(os.environ)
    dead = "http://127.0.0.1:9"
    env.update({"http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead,
                "HTTPS_PROXY": dead, "ALL_PROXY": dead, "no_proxy": "", "NO_PROXY": "",
                "NO_MKDOCS_2_WARNING": "1"})
    return env


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


#: a site `listenspec docs --out DIR` built from this very checkout earlier in the same run
#: (.ci/run sets it: the build it has just made is the one documented command's, and building
#: it again here cost CI a minute); the checks below then read that site
BUILT_SITE_ENV = "LISTENSPEC_TEST_SITE"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if built := os.environ.get(BUILT_SITE_ENV):
        path = Path(built)
        if not (path / "index.html").is_file():
            pytest.fail(f"{BUILT_SITE_ENV}={built}: no built site there (no index.html)")
        return path
    out = tmp_path_factory.mktemp("site")
    before = _tree(ROOT / "docs")
    # bounded, generously: the build runs every verify stage and the kernel traces, and takes
    # about 90 s on a loaded 2-core machine, far longer when it shares it with several runs
    done = subprocess.run([sys.executable, "-m", "listenspec.docsgen", str(out)], cwd=ROOT,
                          env=_offline_env(), capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _tree(ROOT / "docs") == before, "the build wrote generated files into docs/"
    return out


def _text(path: Path) -> str:
    """A page's visible text (tags stripped), for checks that must not match markup."""
    class P(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    p = P()
    p.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(p.parts).split())


# --------------------------------------------------------------------------- the site


@NEEDS_MKDOCS
def test_every_page_exists_with_generated_content(site: Path) -> None:
    from listenspec.docsgen.topics import TOPICS

    pages = [*PAGES, *(f"topics/{t}.html" for t in TOPICS),
             *(f"systems/{p}.html" for p in PROFILES)]
    for page in pages:
        raw = (site / page).read_text(encoding="utf-8")
        assert "listenspec:" not in raw.replace("listenspec:</", ""), f"{page}: unexpanded"
        needle = GENERATED.get(page, "<table")
        assert needle in raw, f"{page}: no generated content ({needle!r})"
    for name in ("fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com"):
        assert not any(name in p.read_text(encoding="utf-8", errors="replace")
                       for p in site.rglob("*.html")), f"{name}: the site is not offline"
    for page in site.rglob("*.html"):  # nothing a page loads comes from the network
        raw = page.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="https?:', raw), page


@NEEDS_MKDOCS
def test_start_page_has_the_quick_start_and_a_five_line_script_under_every_profile(
        site: Path) -> None:
    text = _text(site / "index.html")
    assert "pip install -e '.[dev]' && listenspec verify" in text
    script = (ROOT / "docs" / "scripts" / "tour.lsn").read_text().strip().splitlines()
    assert len(script) == 5
    for p in PROFILES:
        assert p in text
    from listenspec.results import render
    from listenspec.runner import run_model
    from listenspec.script import parse

    for p in ("freebsd-9", "linux"):
        last = render(run_model(parse("\n".join(script)), PROFILES[p])[-1].result)
        assert last in text


@NEEDS_MKDOCS
def test_topic_pages_list_their_clauses_behaviour_examples_and_proofs(site: Path) -> None:
    from listenspec.docsgen.topics import TOPICS

    for slug, t in TOPICS.items():
        text = _text(site / "topics" / f"{slug}.html")
        for c in catalogue.CLAUSES:
            if c.topic == slug:
                assert c.id in text and c.text[:40] in text, (slug, c.id)
        assert "Behaviour per profile" in text
        for param in t.params:
            assert PROFILES["freebsd-src"].cite[param][:30] in text, (slug, param)
        if t.invariants:
            assert "Invariants and their proofs" in text
    admission = (site / "topics" / "admission.html").read_text()
    assert "../examples/admission_tcp.lsn" in admission
    assert (site / "examples" / "admission_tcp.lsn").is_file()


@NEEDS_MKDOCS
def test_divergence_page_has_the_design_points_each_backed_by_built_traces(site: Path) -> None:
    from listenspec.docsgen import divergences, traces

    text = _text(site / "divergences.html")
    points = {p.point: p for p in divergences.POINTS}
    for name in DESIGN_POINTS:
        assert name in points, f"DESIGN.md point {name!r} has no row"
        pt = points[name]
        script = ROOT / "docs" / "scripts" / f"{pt.slug}.lsn"
        assert (site / "scripts" / f"{pt.slug}.lsn").is_file()
        loaded = traces.load_script(script)
        assert loaded.key_lines, pt.slug
        results = {p: divergences.key_results(loaded, p) for p in PROFILES}
        assert len({tuple(r) for r in results.values()}) > 1, f"{pt.slug} no longer diverges"
        for p in ("freebsd-src", "linux"):
            for r in results[p]:
                assert r in text, (pt.slug, p, r)
    assert "Netsem" in text and "admits while len < ⌊3q/2⌋" in text


@NEEDS_MKDOCS
def test_state_diagram_and_cli_reference_are_generated(site: Path) -> None:
    import html as _html

    from listenspec.docsgen.cliref import subcommand_names
    from listenspec.models.tables import LIFECYCLE

    svg = _html.unescape((site / "generated" / "lifecycle.svg").read_text())
    assert "<svg" in svg
    for (state, event), _ in LIFECYCLE.items():
        assert state.value in svg and event in svg
    cli = _text(site / "cli.html")
    for name in subcommand_names():
        assert f"listenspec {name}" in cli


def _build_in_process(out: Path) -> None:
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(str(ROOT / "mkdocs.yml"), site_dir=str(out)))


@NEEDS_MKDOCS
def test_a_clause_without_a_page_fails_the_build(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from mkdocs.exceptions import Abort

    for var, value in (("LISTENSPEC_DOCS_KERNEL", "0"), ("LISTENSPEC_DOCS_PROOFS", "0"),
                       ("LISTENSPEC_DOCS_STAGES", "none")):
        monkeypatch.setenv(var, value)
    orphan = attrs.evolve(catalogue.CLAUSES[0], id="ORPHAN-CLAUSE", topic="nowhere")
    placed = attrs.evolve(catalogue.CLAUSES[0], id="PLACED-CLAUSE", text="A new rule.")
    monkeypatch.setattr(catalogue, "CLAUSES", (*catalogue.CLAUSES, orphan))
    with caplog.at_level(logging.ERROR, logger="mkdocs"), pytest.raises(Abort):
        _build_in_process(tmp_path / "fails")
    assert "clause ORPHAN-CLAUSE has no page" in caplog.text

    # a clause under a topic that has a page appears there with no change to the docs; and a
    # machine without Graphviz still builds, saying on the page what is missing and why
    from listenspec.docsgen import diagram

    monkeypatch.setattr(catalogue, "CLAUSES", (*catalogue.CLAUSES[:-1], placed))
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    _build_in_process(tmp_path / "ok")
    ok = tmp_path / "ok"
    page = placed.topic
    assert "PLACED-CLAUSE" in _text(ok / "topics" / f"{page}.html")
    # what the build was told not to run is said, not faked
    assurance = _text(ok / "assurance.html")
    assert "the proofs were not run for this build" in assurance
    assert "kernel traces were turned off" in _text(ok / "divergences.html")
    lifecycle = _text(ok / "lifecycle.html")
    assert "apt-get install graphviz" in lifecycle and "Picture not drawn" in lifecycle
    from listenspec.models.tables import LIFECYCLE

    for (state, event), nxt in LIFECYCLE.items():
        assert f"{state.value} {event} {nxt.value}" in lifecycle
    assert not (ok / "generated" / "lifecycle.svg").exists()
    assert not list((ok / "generated").glob("queues-*.svg"))
    assert "apt-get install graphviz" in _text(ok / "systems" / "linux.html")
    assert list((ok / "generated" / "overflow").glob("*.svg"))  # drawn without Graphviz


def test_docs_says_what_a_build_without_graphviz_leaves_out(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import listenspec.docsgen as docsgen
    from listenspec.docsgen import diagram

    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    ran: list[list[str]] = []

    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(docsgen.subprocess, "run", fake_run)
    assert docsgen.build(Path("/nonexistent-site")) == 0
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "Traceback" not in err
    assert ran and "mkdocs" in ran[0]


def test_directives_and_diagram_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec.docsgen import diagram, directives

    where = directives.Where(directives.Build(ROOT / "docs", ROOT), "x.md")
    with pytest.raises(directives.DirectiveError, match="unknown directive"):
        directives.expand("<!-- listenspec:no-such-thing -->\n", where)
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    with pytest.raises(diagram.DiagramError, match="Graphviz"):
        diagram.svg()


def test_docs_subcommand_registers() -> None:
    import argparse

    from listenspec.docsgen import register

    ap = argparse.ArgumentParser()
    register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["docs", "--out", "x", "--serve"])
    assert (args.command, args.out, args.serve) == ("docs", "x", True)


# --------------------------------------------------------------------------- the report

SUMMARY = {
    "clauses": {"CLAMP": {"freebsd-src": "pass", "linux": "FAIL"},
                "DF-MAX-Q": {"freebsd-src": "n/a", "linux": "n/a"}},
    "examples": {"total": 2, "failed": 1},
    "proofs": {"ok": True, "results": [
        {"property": "clamp", "profile": "linux", "status": "proved", "seconds": 0.12},
        {"property": "queue-bound", "profile": "linux", "status": "proved", "seconds": 0.5}]},
    "exploration": {"ok": True, "linux": {"distinct_states": 580, "seconds": 0.06}},
    "conformance": {"ok": False, "scripts": 100, "mismatches": 1, "counterexample": "a | b"},
    "seconds": 4.2,
}


@pytest.mark.parametrize("suffix", [".md", ".html"])
def test_report_writes_both_formats(tmp_path: Path, suffix: str) -> None:
    import platform

    path = tmp_path / f"report{suffix}"
    write_report(path, False, SUMMARY)
    out = path.read_text(encoding="utf-8")
    for needle in ("FAILED", "CLAMP", "FAIL", "queue-bound", "0.5", "580", "mismatches",
                   platform.release(), platform.python_version(), "0.1.0"):
        assert needle in out, needle
    if suffix == ".md":
        assert re.search(r"^\| clause \| freebsd-src \| linux \|$", out, re.M)
        assert "a \\| b" in out  # a pipe in a figure cannot break the table
    else:
        assert out.startswith("<!DOCTYPE html>") and out.count("<table>") >= 4
        assert 'class="FAIL"' in out


def test_report_refuses_an_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ListenspecError, match=r"\.md, \.html or \.json"):
        write_report(tmp_path / "report.txt", True, SUMMARY)


# --------------------------------------------------------------------------- issue 12 §4


@NEEDS_MKDOCS
def test_every_link_opens_a_file_from_disk(site: Path) -> None:
    """From file://, a link to a folder opens a directory listing: every link names a file,
    and every #anchor is on its page."""
    from listenspec.docsgen import layout

    assert layout.links(site) == []
    assert not (site / "profiles").exists() and (site / "profiles.html").is_file()
    assert (site / "search" / "search_index.js").is_file()  # search works without a server
    assert (site / "javascripts" / "iframe-worker.js").is_file()


@NEEDS_MKDOCS
def test_a_page_per_system_reads_like_its_manual_page(site: Path) -> None:
    from listenspec.docsgen import sequence, systems, timing, traces
    from listenspec.models.tables import checks
    from listenspec.profile_table import formula

    tcp_full = traces.load_script(ROOT / "docs" / "scripts" / "tcp-full.lsn")
    key = next(i for i, st in enumerate(tcp_full.script.steps) if st.line in tcp_full.key_lines)
    for name, p in PROFILES.items():
        raw = (site / "systems" / f"{name}.html").read_text(encoding="utf-8")
        text = _text(site / "systems" / f"{name}.html")
        assert systems.title(name) in text
        for head in ("NAME", "DESCRIPTION", "THE QUEUES", "A CONNECTION TO A FULL QUEUE",
                     "A LISTENER'S LIFE", "ERRORS", "SYSCTLS", "EVERY PARAMETER"):
            assert head in text, (name, head)
        assert f"{timing.half_open_lifetime(p.name):g} s after its SYN" in text, name
        for sysctl in p.sysctls:
            assert systems.sysctl_words(sysctl.key) in text, (name, sysctl.name)
        bound = formula(p.admit_base, p.admit_inclusive, p.admit_counts_half_open)
        assert f"at most {bound} connections wait" in text, name
        # every sentence of the description ends with its clauses and sources
        desc = raw[raw.index('id="description"'):raw.index('id="observing-the-queues"')]
        sentences = re.findall(r"<p>(.*?)</p>", desc, re.S)
        claims = [x for x in sentences if not x.startswith(("Computed by", "<img"))]
        assert claims and all("<small>(" in x for x in claims), name
        assert all("clause" in x or "source:" in x for x in claims), name
        # the errors table is the model's check table, filtered to this system, in order
        errors = raw[raw.index('id="errors"'):]
        first_table = errors[errors.index("<tbody>"):errors.index("</tbody>")]
        assert first_table.count("<tr>") == len(checks("listen", p)), name
        # the picture of the exchange says what running the model says
        ex = sequence.exchange(p)
        assert ex.result == traces.model_results(tcp_full, name)[key], name
        shown = list((site / "generated" / "overflow").glob(f"{name}-af-inet-*.svg"))
        assert any(f"connect(x, s) = {ex.result}" in f.read_text() for f in shown), name


@NEEDS_MKDOCS
def test_seed_pages_anchor_each_clause_that_cites_them(site: Path) -> None:
    from listenspec.docsgen import seeds, topics

    for s in seeds.seeds():
        raw = (site / "seeds" / f"{s.num}.html").read_text(encoding="utf-8")
        paras = seeds.paragraphs((ROOT / "spec" / s.file).read_text(encoding="utf-8"))
        found, missing = seeds.locate(s, paras)
        assert len(found) >= 15, (s.num, missing)
        for cid in found:
            assert f'id="{topics.anchor(cid)}"' in raw, (s.num, cid)
        if missing:
            note = _text(site / "seeds" / f"{s.num}.html")
            assert "Cited, but not stated in this capture" in note
            assert all(cid in note for cid in missing)
        assert (site / s.file).is_file()  # the text itself, to download
    # a system page links into its seed page, at the clause
    assert 'href="../seeds/001.html#clause-overflow-log"' in (
        site / "systems" / "freebsd-13.html").read_text(encoding="utf-8")


@NEEDS_MKDOCS
def test_source_citations_are_links_at_fixed_revisions(site: Path) -> None:
    raw = (site / "systems" / "freebsd-src.html").read_text(encoding="utf-8")
    assert ("https://github.com/freebsd/freebsd-src/blob/release/14.2.0/sys/kern/uipc_socket.c"
            in raw)
    linux = (site / "systems" / "linux.html").read_text(encoding="utf-8")
    assert "https://github.com/torvalds/linux/blob/v6.18/net/socket.c" in linux
    assert 'href="../sources/reference-linux.html#s1"' in linux
    digest = (site / "sources" / "reference-linux.html").read_text(encoding="utf-8")
    assert 'id="s1"' in digest and 'id="s2"' in digest


#: where a reviewer finds the screenshots (CI sets it; else a temporary folder)
SHOTS_ENV = "LISTENSPEC_SCREENSHOTS"
NEEDS_BROWSER = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("google-chrome") is None,
    reason="the browser check needs Chromium (Debian: apt-get install chromium)")


@NEEDS_BROWSER
@NEEDS_MKDOCS
def test_the_site_in_a_real_browser(site: Path, tmp_path: Path) -> None:
    """Headless Chromium opens every page from disk and measures what a reader would see:
    no page or cell wider than the window, no word broken across two lines in a table or in
    inline code, a table that scrolls keeps its first column, pictures big enough to read;
    every profile of the profiles table in view at 1920 px; search works offline."""
    import struct

    from listenspec.docsgen import layout

    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path / "shots")
    problems, layouts, taken = layout.check(site, shots)
    assert problems == []
    assert {lay.page for lay in layouts} == set(layout.pages(site))
    assert sum(lay.found["words"] for lay in layouts) > 10_000  # the measure measured

    def profiles_table(width: int) -> dict[str, Any]:
        lay = next(x for x in layouts if x.page == "profiles.html" and x.width == width)
        return next(t for t in lay.found["tables"] if "ls-profiles" in t["cls"])

    wide = profiles_table(layout.WIDE)
    assert wide["cols"] == len(PROFILES) + 1
    # every profile in view at 1920 px, or (ten profiles since gvisor) the table scrolls with
    # its parameter column in view, as at 1280 px
    assert (wide["hidden"] == 0 and not wide["scrolls"]) or (wide["scrolls"] and wide["sticky"])
    narrow = profiles_table(layout.NARROW)
    assert narrow["scrolls"] and narrow["sticky"]  # the parameter column stays in view
    lifecycle = next(x for x in layouts if x.page == "lifecycle.html" and x.width == layout.WIDE)
    pics = {p["src"]: p for p in lifecycle.found["pictures"]}
    px = layout.smallest_text_px(site, "lifecycle.html", "generated/lifecycle.svg",
                                 pics["generated/lifecycle.svg"]["shown"])
    assert px is not None and px >= layout.MIN_TEXT_PX
    assert len(taken) == len(layout.SHOTS) + 1
    for path in taken:
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", path
        width = struct.unpack(">I", head[16:20])[0]
        assert width in (layout.WIDE, layout.NARROW), (path, width)


def test_docs_without_its_python_packages_says_what_to_pip_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import listenspec.docsgen as docsgen
    from listenspec.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(docsgen.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.setattr(docsgen.subprocess, "run",
                        lambda *a, **k: pytest.fail("mkdocs ran without matplotlib"))
    assert main(["docs", "--out", "/nonexistent-site"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "matplotlib is not installed: pip install -e '.[docs]'" in err
