"""The verify report says what failed (issue 12 §3): a failing script × profile names its file
and line, the expected and the model's result, and shows the whole trace with the differing line
marked; the grids link to it. Expected proof counterexamples are not shown as failures.

The failing example is made on purpose: a temporary copy of an example whose expected trace
has one wrong line.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from listenspec import verify
from listenspec.report import trace_anchor, write_report
from listenspec.spec import examples

WRONG_LINE = 13  # `netstat(s) = 3/0/0` in relisten.freebsd-9.trace


@pytest.fixture
def broken_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    src = examples.examples_dir()
    dst = tmp_path / "examples"
    dst.mkdir()
    for f in src.glob("relisten.*"):
        shutil.copy(f, dst / f.name)
    trace = dst / "relisten.freebsd-9.trace"
    lines = trace.read_text(encoding="utf-8").splitlines()
    assert lines[WRONG_LINE - 1] == "netstat(s) = 3/0/0"
    lines[WRONG_LINE - 1] = "netstat(s) = 3/0/4"  # what the model does not give
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(examples, "examples_dir", lambda: dst)
    monkeypatch.setattr(verify, "stages", lambda: [])  # the clause table is what is tested
    monkeypatch.chdir(tmp_path)  # paths are shown relative to where verify runs
    return trace


def _run(tmp_path: Path) -> tuple[bool, dict[str, object]]:
    out = io.StringIO()
    ok, summary = verify.verify(out, quick=True)
    assert "examples/relisten.freebsd-9.trace:13" in out.getvalue()  # the terminal says it too
    return ok, summary


def test_a_failing_trace_is_named_with_file_line_expected_and_actual(
        broken_examples: Path, tmp_path: Path) -> None:
    ok, summary = _run(tmp_path)
    assert not ok
    where = f"examples/relisten.freebsd-9.trace:{WRONG_LINE}"
    anchor = trace_anchor("relisten", "freebsd-9")

    write_report(tmp_path / "r.md", ok, summary)
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    failures = md[md.index("## Failures"):md.index("## Machine")]
    assert f"[relisten × freebsd-9](#{anchor})" in failures
    assert f"`{where}`" in failures and "`3/0/4`" in failures and "`3/0/0`" in failures
    # the clause cell links to the trace that fails it
    assert re.search(rf"\| RELISTEN \| \[FAIL: relisten\]\(#{anchor}\) \|", md)
    # the whole trace, the differing line bold and marked, the others not
    section = md[md.index(f'<a id="{anchor}"></a>'):]
    section = section[:section.index("\n<a id=", 1)]
    assert f"First difference: `{where}` (`examples/relisten.lsn:15`)" in section
    rows = [r for r in section.splitlines() if (r.startswith("| ") and r[2:3].isdigit())
            or r.startswith("| <a") or r.startswith("| **")]
    assert len(rows) == 20  # every line of the trace
    marked = [r for r in rows if "✗" in r]
    assert len(marked) == 1 and "**`3/0/4`**" in marked[0] and "**`3/0/0`**" in marked[0]
    assert marked[0].startswith(f'| <a id="{anchor}-L{WRONG_LINE}"></a>**{WRONG_LINE}**')
    assert all("✓" in r for r in rows if r is not marked[0])

    write_report(tmp_path / "r.html", ok, summary)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    row = re.search(rf'<tr class="diff" id="{anchor}-L{WRONG_LINE}">(.*?)</tr>', page)
    assert row is not None, "the differing line is not marked in the HTML report"
    assert "<code>3/0/4</code>" in row.group(1) and "<code>3/0/0</code>" in row.group(1)
    assert page.count('<tr class="diff"') == 1
    assert f'<h3 id="{anchor}">' in page and f'href="#{anchor}"' in page


def test_every_script_profile_cell_links_to_its_annotated_trace(
        broken_examples: Path, tmp_path: Path) -> None:
    ok, summary = _run(tmp_path)
    write_report(tmp_path / "r.html", ok, summary)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    ex = examples.load(broken_examples.with_name("relisten.lsn"))
    for p in ex.profiles:
        a = trace_anchor("relisten", p)
        assert f'href="#{a}"' in page and f'id="{a}"' in page, p
    # a passing trace is there too, every line with a tick
    passing = page[page.index(f'id="{trace_anchor("relisten", "linux")}"'):]
    passing = passing[:passing.index("</table>")]
    assert passing.count("<tr><td>") == 20 and passing.count("✓") == 20


PROOFS = {
    "clauses": {},
    "proofs": {"ok": False, "results": [
        {"property": "queue-bound", "profile": "linux", "status": "proved",
         "expected": "proved", "ok": True, "seconds": 0.1},
        {"property": "queue-bound-lowering", "profile": "linux", "status": "counterexample",
         "expected": "counterexample", "ok": True, "seconds": 0.2},
        {"property": "clamp", "profile": "linux", "status": "counterexample",
         "expected": "proved", "ok": False, "seconds": 0.3},
    ]},
}


def test_expected_counterexamples_are_not_in_the_colours_of_a_failure(tmp_path: Path) -> None:
    write_report(tmp_path / "r.html", False, PROOFS)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    cells = dict(re.findall(r'<td class="([\w-]+)">([^<]*)</td>', page))
    assert cells.get("expected", "").startswith("counterexample (expected)")
    assert cells.get("FAIL", "").startswith("counterexample, expected proved")
    assert page.count('class="FAIL"') == 1  # the unexpected one only
    write_report(tmp_path / "r.md", False, PROOFS)
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "1 expected counterexamples" in md and "1 not as expected" in md
    assert "[proofs](#stage-proofs)" in md  # the failed stage is listed under Failures
