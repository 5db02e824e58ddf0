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
MISSING = [*(f"{m} (pip install -e '.[docs]')" for m in ("mkdocs", "material")
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

PAGES = ("index.html", "format/index.html", "divergences/index.html", "profiles/index.html",
         "lifecycle/index.html", "assurance/index.html", "check-your-stack/index.html",
         "cli/index.html", "reliability/index.html")


#: what only the generated part of a page contains (default: a table)
GENERATED = {"check-your-stack/index.html": "freebsd-src expects"}


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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    before = _tree(ROOT / "docs")
    done = subprocess.run([sys.executable, "-m", "listenspec.docsgen", str(out)], cwd=ROOT,
                          env=_offline_env(), capture_output=True, text=True, timeout=300,
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

    pages = [*PAGES, *(f"topics/{t}/index.html" for t in TOPICS)]
    for page in pages:
        raw = (site / page).read_text(encoding="utf-8")
        assert "listenspec:" not in raw.replace("listenspec:</", ""), f"{page}: unexpanded"
        needle = GENERATED.get(page, "<table")
        assert needle in raw, f"{page}: no generated content ({needle!r})"
    for name in ("fonts.googleapis.com", "fonts.gstatic.com"):
        assert not any(name in p.read_text(encoding="utf-8", errors="replace")
                       for p in site.rglob("*.html")), f"{name}: the site is not offline"


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
        text = _text(site / "topics" / slug / "index.html")
        for c in catalogue.CLAUSES:
            if c.topic == slug:
                assert c.id in text and c.text[:40] in text, (slug, c.id)
        assert "Behaviour per profile" in text
        for param in t.params:
            assert PROFILES["freebsd-src"].cite[param][:30] in text, (slug, param)
        if t.invariants:
            assert "Invariants and their proofs" in text
    admission = (site / "topics" / "admission" / "index.html").read_text()
    assert "../examples/admission_tcp.lsn" in admission
    assert (site / "examples" / "admission_tcp.lsn").is_file()


@NEEDS_MKDOCS
def test_divergence_page_has_the_design_points_each_backed_by_built_traces(site: Path) -> None:
    from listenspec.docsgen import divergences, traces

    text = _text(site / "divergences" / "index.html")
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
    cli = _text(site / "cli" / "index.html")
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

    # a clause under a topic that has a page appears there with no change to the docs
    monkeypatch.setattr(catalogue, "CLAUSES", (*catalogue.CLAUSES[:-1], placed))
    _build_in_process(tmp_path / "ok")
    page = placed.topic
    assert "PLACED-CLAUSE" in _text(tmp_path / "ok" / "topics" / page / "index.html")
    # what the build was told not to run is said, not faked
    assurance = _text(tmp_path / "ok" / "assurance" / "index.html")
    assert "the proofs were not run for this build" in assurance
    assert "kernel traces were turned off" in _text(tmp_path / "ok" / "divergences" / "index.html")


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
    with pytest.raises(ListenspecError, match=r"\.md or \.html"):
        write_report(tmp_path / "report.txt", True, SUMMARY)
