"""The verify report: `listenspec verify --report FILE` writes what verify found, as Markdown
(.md) or HTML (.html), for a bug report or a CI artifact.

The report holds the verdict, the machine it ran on and the listenspec version, the clauses ×
profiles matrix, and every further stage's figures (proofs with their times, exploration,
machines, conformance) exactly as the summary carries them: stages are rendered generically, so
a stage added later appears without a change here.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import __version__
from .errors import ListenspecError

#: summary keys that are not stages
_CORE = ("clauses", "examples", "seconds", "quick")
_MAX_CELL = 300  # a figure longer than this is cut: a report must stay readable


# --------------------------------------------------------------------------- a tiny document


@attrs.frozen
class Link:
    text: str
    href: str  # "#anchor" inside the report


@attrs.frozen
class Code:
    text: str


Inline = str | Link | Code


@attrs.frozen
class Cell:
    """A table cell that is more than text: a link, a class (its colour in HTML), code."""

    text: str
    href: str = ""
    cls: str = ""
    code: bool = False


@attrs.frozen
class Heading:
    level: int
    text: str
    anchor: str = ""


@attrs.frozen
class Para:
    parts: tuple[Inline, ...] | str

    @property
    def inline(self) -> tuple[Inline, ...]:
        return (self.parts,) if isinstance(self.parts, str) else self.parts


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str | Cell, ...], ...]
    row_classes: tuple[str, ...] = ()  # per row ("" for none): a differing line is "diff"
    row_anchors: tuple[str, ...] = ()  # per row ("" for none)


@attrs.frozen
class Pre:
    text: str


@attrs.frozen
class Details:
    """A collapsible part (HTML <details>, which GitHub also renders in Markdown)."""

    summary: str
    blocks: tuple[Block, ...]
    open: bool = False


Block = Heading | Para | Table | Pre | Details


def machine() -> dict[str, str]:
    """Where verify ran: enough to reproduce, nothing private (no host or user name)."""
    return {
        "listenspec": __version__,
        "platform": platform.platform(),
        "kernel release": platform.release(),
        "machine": platform.machine(),
        "CPUs": str(os.cpu_count() or "unknown"),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "written": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    if v is None:
        return "—"
    if isinstance(v, list | tuple) and all(not isinstance(x, Mapping | list | tuple) for x in v):
        text = ", ".join(_scalar(x) for x in v) or "—"
    else:
        text = str(v)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _is_records(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and bool(v) and all(
        isinstance(x, Mapping) for x in v)


def _records_table(records: Sequence[Mapping[str, Any]], first: str | None = None,
                   keys: Sequence[str] | None = None) -> Table:
    cols: list[str] = []
    for r in records:
        for k in r:
            if k not in cols:
                cols.append(k)
    header = ([first] if first is not None else []) + cols
    rows = []
    for i, r in enumerate(records):
        lead = [keys[i]] if keys is not None else []
        rows.append(tuple(lead + [_scalar(r.get(c)) for c in cols]))
    return Table(tuple(header), tuple(rows))


def figures(value: Any) -> list[Block]:
    """A stage's figures as tables: scalars as name/value rows, a mapping of mappings (one per
    profile, say) or a list of records (one per proof) as one table, anything else as text."""
    if not isinstance(value, Mapping):
        return [_records_table(value)] if _is_records(value) else [Para(_scalar(value))]
    blocks: list[Block] = []
    scalars = [(k, v) for k, v in value.items()
               if not isinstance(v, Mapping) and not _is_records(v)]
    if scalars:
        blocks.append(Table(("figure", "value"), tuple((str(k), _scalar(v)) for k, v in scalars)))
    nested = {k: v for k, v in value.items() if isinstance(v, Mapping)}
    if nested:
        if all(not any(isinstance(x, Mapping) for x in v.values()) for v in nested.values()):
            blocks.append(_records_table(list(nested.values()), "", list(nested)))
        else:
            for k, v in nested.items():
                blocks.append(Para(f"{k}:"))
                blocks.extend(figures(v))
    for k, v in value.items():
        if _is_records(v):
            blocks.append(Para(f"{k}:"))
            blocks.append(_records_table(v))
    return blocks


def trace_anchor(example: str, profile: str) -> str:
    return "trace-" + "".join(ch if ch.isalnum() else "-" for ch in f"{example}-{profile}")


def _records(value: Any) -> list[Mapping[str, Any]]:
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _trace_blocks(t: Mapping[str, Any]) -> list[Block]:
    """One script × profile: where it first differs, then every line with both results."""
    ex, prof = str(t.get("example")), str(t.get("profile"))
    ok = bool(t.get("ok"))
    lines = _records(t.get("lines"))
    bad = [ln for ln in lines if not ln.get("ok")]
    blocks: list[Block] = [Heading(3, f"{ex} × {prof}: {'pass' if ok else 'FAIL'}",
                                   trace_anchor(ex, prof))]
    about: list[Inline] = ["Script ", Code(str(t.get("script"))), ", expected trace ",
                           Code(str(t.get("trace")))]
    clauses = [str(c) for c in t.get("clauses") or ()]
    if clauses:
        about += ["; covers ", ", ".join(clauses)]
    blocks.append(Para((*about, ".")))
    if t.get("problem"):
        blocks.append(Para(("Problem: ", str(t["problem"]))))
    first = t.get("first_difference")
    if isinstance(first, Mapping):
        at: list[Inline] = [" (", Code(f"{t.get('script')}:{first.get('script_line')}"), ")"] \
            if first.get("script_line") else []
        blocks.append(Para(("First difference: ", Code(f"{t.get('trace')}:{first.get('line')}"),
                            *at, ": ", Code(str(first.get("call"))), ": expected ",
                            Code(str(first.get("expected"))), ", the model gives ",
                            Code(str(first.get("model"))),
                            f". {len(bad)} of {len(lines)} lines differ (marked ✗).")))
    elif ok:
        blocks.append(Para(f"All {len(lines)} lines agree with the model."))
    if lines:
        rows: list[tuple[str | Cell, ...]] = []
        classes, anchors = [], []
        for ln in lines:
            differs = not ln.get("ok")
            is_first = isinstance(first, Mapping) and ln.get("line") == first.get("line")
            mark = ("✗ first difference" if is_first else "✗") if differs else (
                "skipped" if ln.get("skipped") else "✓")
            rows.append((str(ln.get("line")), str(ln.get("script_line") or ""),
                         Cell(str(ln.get("call")), code=True),
                         Cell(str(ln.get("expected")), code=True),
                         Cell(str(ln.get("model")), code=True),
                         Cell(mark, cls="FAIL" if differs else "")))
            classes.append("diff" if differs else "")
            anchors.append(f"{trace_anchor(ex, prof)}-L{ln.get('line')}" if is_first else "")
        blocks.append(Table(("trace line", "script line", "call", "expected (trace file)",
                             "the model gives", ""), tuple(rows), tuple(classes),
                            tuple(anchors)))
    return blocks


def _traces_by_key(summary: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    ex = summary.get("examples")
    traces = _records(ex.get("traces")) if isinstance(ex, Mapping) else []
    return {(str(t.get("example")), str(t.get("profile"))): t for t in traces}


def _clause_grid(matrix: Mapping[str, Mapping[str, str]],
                 traces: Mapping[tuple[str, str], Mapping[str, Any]]) -> Table:
    """Clauses × profiles; a failing cell links to the trace that fails it."""
    profiles: list[str] = []
    for row in matrix.values():
        profiles += [p for p in row if p not in profiles]
    rows = []
    for cid, row in matrix.items():
        cells: list[str | Cell] = [cid]
        for p in profiles:
            v = row.get(p, "")
            failing = [t for (ex, prof), t in traces.items()
                       if prof == p and not t.get("ok") and cid in (t.get("clauses") or ())]
            if v == "FAIL" and failing:
                first = failing[0]
                more = f" ({len(failing)} traces)" if len(failing) > 1 else ""
                cells.append(Cell(f"FAIL: {first.get('example')}{more}",
                                  f"#{trace_anchor(str(first.get('example')), p)}", "FAIL"))
            else:
                cells.append(Cell(v, cls=_CLASS.get(v, "")))
        rows.append(tuple(cells))
    return Table(("clause", *profiles), tuple(rows))


def _script_grid(traces: Mapping[tuple[str, str], Mapping[str, Any]],
                 profiles: Sequence[str]) -> Table:
    """Scripts × profiles, every cell a link to its annotated trace."""
    examples = list(dict.fromkeys(ex for ex, _ in traces))
    rows = []
    for ex in examples:
        cells: list[str | Cell] = [Cell(ex, code=True)]
        for p in profiles:
            t = traces.get((ex, p))
            if t is None:
                cells.append(Cell("—", cls="n-a"))
            else:
                word = "pass" if t.get("ok") else "FAIL"
                cells.append(Cell(word, f"#{trace_anchor(ex, p)}", word))
        rows.append(tuple(cells))
    return Table(("script", *profiles), tuple(rows))


def _proof_blocks(value: Mapping[str, Any]) -> list[Block]:
    """The proofs: a property × profile grid in which a counterexample the property expects
    (a bound that needs its hypothesis) is shown as expected, not as a failure."""
    results = _records(value.get("results"))
    rest = {k: v for k, v in value.items()
            if k not in ("results", "counterexamples", "unexpected", "proved", "cells")}
    if not results:
        return figures(value)

    def ok(r: Mapping[str, Any]) -> bool:
        if "ok" in r:
            return bool(r["ok"])
        return r.get("status") in ("n/a", r.get("expected") or "proved")

    applies = [r for r in results if r.get("status") != "n/a"]
    cex = [r for r in applies if r.get("status") == "counterexample" and ok(r)]
    unexpected = [r for r in results if not ok(r)]
    proved = [r for r in applies if r.get("status") == "proved" and ok(r)]
    blocks: list[Block] = [Para((
        f"{len(results)} property × profile cells: {len(proved)} proved, {len(cex)} expected "
        "counterexamples (each shows that a bound needs its hypothesis: a documented "
        "divergence, not a failure; ", Code("listenspec prove"), " prints them as scripts), "
        f"{len(results) - len(applies)} do not apply, {len(unexpected)} not as expected."))]
    props = list(dict.fromkeys(str(r.get("property")) for r in results))
    profs = list(dict.fromkeys(str(r.get("profile")) for r in results))
    by = {(str(r.get("property")), str(r.get("profile"))): r for r in results}
    rows = []
    for prop in props:
        cells: list[str | Cell] = [Cell(prop, code=True)]
        for prof in profs:
            r = by.get((prop, prof))
            secs = f" ({_scalar(r['seconds'])} s)" if r and r.get("seconds") is not None else ""
            if r is None or r.get("status") == "n/a":
                cells.append(Cell("n/a", cls="n-a"))
            elif not ok(r):
                cells.append(Cell(f"{r.get('status')}, expected {r.get('expected') or 'proved'}"
                                  + secs, cls="FAIL"))
            elif r.get("status") == "counterexample":
                cells.append(Cell("counterexample (expected)" + secs, cls="expected"))
            else:
                cells.append(Cell(str(r.get("status")) + secs, cls="pass"))
        rows.append(tuple(cells))
    blocks.append(Table(("property", *profs), tuple(rows)))
    if rest:
        blocks.extend(figures(rest))
    return blocks


#: stages whose figures have a layout of their own; any other stage is rendered generically
_STAGE_BLOCKS = {"proofs": _proof_blocks}
_CLASS = {"pass": "pass", "ok": "ok", "FAIL": "FAIL", "FAILED": "FAILED",
          "uncovered": "uncovered", "n/a": "n-a"}


def document(ok: bool, summary: Mapping[str, Any]) -> list[Block]:
    doc: list[Block] = [Heading(1, "listenspec verify report")]
    secs = summary.get("seconds")
    doc.append(Para(f"Verdict: {'ALL PASSED' if ok else 'FAILED'}"
                    + (f" in {secs} s" if secs is not None else "") + "."))
    traces = _traces_by_key(summary)
    failing = [t for t in traces.values() if not t.get("ok")]
    if failing:
        doc.append(Heading(2, "Failures", "failures"))
        doc.append(Para(f"{len(failing)} example trace{'s' * (len(failing) != 1)} differ from "
                        "what the model gives (the whole trace of each is below, every line "
                        "annotated):"))
        rows = tuple((Cell(f"{t.get('example')} × {t.get('profile')}",
                           f"#{trace_anchor(str(t.get('example')), str(t.get('profile')))}",
                           "FAIL"),
                      Cell(str(t.get("where") or t.get("trace")), code=True),
                      *_first_cells(t)) for t in failing)
        doc.append(Table(("script × profile", "where", "call", "expected", "the model gives"),
                         rows))
    uncovered = [(cid, p) for cid, row in (summary.get("clauses") or {}).items()
                 for p, v in row.items() if v == "uncovered"]
    stages_failed = [name for name, v in summary.items()
                     if name not in _CORE and isinstance(v, Mapping) and v.get("ok") is False]
    if uncovered or stages_failed:
        if not failing:
            doc.append(Heading(2, "Failures", "failures"))
        if uncovered:
            doc.append(Para(f"{len(uncovered)} clause × profile cells no example covers: "
                            + ", ".join(f"{c} × {p}" for c, p in uncovered) + "."))
        if stages_failed:
            parts: list[Inline] = ["Stages that failed: "]
            for i, name in enumerate(stages_failed):
                parts += [", " if i else "", Link(name, f"#stage-{name}")]
            doc.append(Para((*parts, ".")))
    doc.append(Heading(2, "Machine"))
    doc.append(Table(("", ""), tuple(machine().items())))

    matrix = summary.get("clauses")
    if isinstance(matrix, Mapping) and matrix:
        doc.append(Heading(2, "Clauses × profiles"))
        ex = summary.get("examples")
        if isinstance(ex, Mapping):
            doc.append(Para(f"{ex.get('total', '?')} example traces checked, "
                            f"{ex.get('failed', '?')} failed."))
        counts: dict[str, int] = {}
        for row in matrix.values():
            for v in row.values():
                counts[v] = counts.get(v, 0) + 1
        doc.append(Para("Cells: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                        + "." + (" A failing cell links to the trace that fails it."
                                 if failing else "")))
        doc.append(_clause_grid(matrix, traces))
    if traces:
        profiles = list(dict.fromkeys(p for _, p in traces))
        doc.append(Heading(2, "Scripts × profiles", "scripts"))
        doc.append(Para("Every example script under every profile it applies to; each cell "
                        "links to its trace, every line annotated."))
        doc.append(_script_grid(traces, profiles))

    for name, value in summary.items():
        if name in _CORE:
            continue
        doc.append(Heading(2, f"Stage: {name}", f"stage-{name}"))
        printed: list[str] = []
        if isinstance(value, Mapping) and "ok" in value:
            doc.append(Para(f"Result: {'ok' if value['ok'] else 'FAILED'}."))
            lines = value.get("lines")
            printed = [str(x) for x in lines] if isinstance(lines, list) else []
            value = {k: v for k, v in value.items() if k not in ("ok", "lines")}
        render_stage = _STAGE_BLOCKS.get(name)
        doc.extend(render_stage(value) if render_stage and isinstance(value, Mapping)
                   else figures(value))
        if printed:  # what verify printed for the stage
            doc.append(Details("What the stage printed", (Pre("\n".join(printed)),)))

    if traces:
        doc.append(Heading(2, "Traces", "traces"))
        doc.append(Para("Each script × profile: the reviewed expected trace and what the model "
                        "gives, line by line; ✗ marks a line where they differ. Failing traces "
                        "come first and are open."))
        for t in failing:
            doc.extend(_trace_blocks(t))
        for t in traces.values():
            if t.get("ok"):
                head, *body = _trace_blocks(t)
                doc.append(head)
                doc.append(Details(f"{len(_records(t.get('lines')))} lines, all agree",
                                   tuple(body)))
    doc.append(Para((f"Written by listenspec {__version__}: ", Code("listenspec verify --report"),
                     ".")))
    return doc


def _first_cells(t: Mapping[str, Any]) -> tuple[str | Cell, ...]:
    first = t.get("first_difference")
    if not isinstance(first, Mapping):
        return (str(t.get("problem") or ""), "", "")
    return (Cell(str(first.get("call")), code=True), Cell(str(first.get("expected")), code=True),
            Cell(str(first.get("model")), code=True))


# --------------------------------------------------------------------------- renderers


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md_code(s: str) -> str:
    ticks = "`"
    while ticks in s:
        ticks += "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}" if s else ""


def _md_inline(parts: Sequence[Inline]) -> str:
    out = []
    for x in parts:
        if isinstance(x, Link):
            out.append(f"[{x.text}]({x.href})")
        elif isinstance(x, Code):
            out.append(_md_code(x.text))
        else:
            out.append(x)
    return "".join(out)


def _md_cell(c: str | Cell, bold: bool = False) -> str:
    if isinstance(c, str):
        text = c
    else:
        text = _md_code(c.text) if c.code else c.text
        if c.href:
            text = f"[{text}]({c.href})"
    text = _md_escape(text)
    return f"**{text}**" if bold and text else text


def _md_blocks(doc: Sequence[Block]) -> list[str]:
    out: list[str] = []
    for b in doc:
        if isinstance(b, Heading):
            anchor = f'<a id="{b.anchor}"></a>\n\n' if b.anchor else ""
            out.append(anchor + "#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(_md_inline(b.inline))
        elif isinstance(b, Pre):
            out.append("```\n" + b.text + "\n```")
        elif isinstance(b, Details):
            out.append(f"<details{' open' if b.open else ''}><summary>{html.escape(b.summary)}"
                       "</summary>")
            out.extend(_md_blocks(b.blocks))
            out.append("</details>")
        else:
            lines = ["| " + " | ".join(_md_escape(h) for h in b.header) + " |",
                     "|" + "|".join(" --- " for _ in b.header) + "|"]
            for i, r in enumerate(b.rows):
                diff = i < len(b.row_classes) and b.row_classes[i] == "diff"
                anchor = b.row_anchors[i] if i < len(b.row_anchors) else ""
                cells = [_md_cell(c, bold=diff) for c in r]
                if anchor:
                    cells[0] = f'<a id="{anchor}"></a>' + cells[0]
                lines.append("| " + " | ".join(cells) + " |")
            out.append("\n".join(lines))
    return out


def to_markdown(doc: list[Block]) -> str:
    return "\n\n".join(_md_blocks(doc)) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:80em;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left;font-size:.9em;vertical-align:top}th{background:#f3f3f3}
td.pass,td.ok{background:#e6f4e6}
td.FAIL,td.FAILED,td.uncovered{background:#fbe3e3;font-weight:bold}
tr.diff td{background:#fde8e8}tr.diff td code{font-weight:bold}
td.expected{background:#eef1f8;color:#334}td.n-a{color:#999}
code{white-space:pre;font-size:.95em}a{color:inherit}td a{text-decoration:underline}
:target{outline:3px solid #e0a000}details>summary{cursor:pointer;color:#555;margin:.3em 0}
pre{background:#f6f6f6;padding:.5em}"""


#: a link to a passing trace opens its collapsed lines (the report works without it)
_OPEN_TARGET = ("function o(){var e=document.getElementById(decodeURIComponent("
                "location.hash.slice(1)));var n=e&&e.nextElementSibling;"
                "if(n&&n.tagName==='DETAILS')n.open=true}addEventListener('hashchange',o);o()")


def _html_inline(parts: Sequence[Inline]) -> str:
    out = []
    for x in parts:
        if isinstance(x, Link):
            out.append(f'<a href="{html.escape(x.href)}">{html.escape(x.text)}</a>')
        elif isinstance(x, Code):
            out.append(f"<code>{html.escape(x.text)}</code>")
        else:
            out.append(html.escape(x))
    return "".join(out)


def _td(c: str | Cell) -> str:
    if isinstance(c, str):
        c = Cell(c, cls=_CLASS.get(c, ""))
    inner = f"<code>{html.escape(c.text)}</code>" if c.code else html.escape(c.text)
    if c.href:
        inner = f'<a href="{html.escape(c.href)}">{inner}</a>'
    attr = f' class="{c.cls}"' if c.cls else ""
    return f"<td{attr}>{inner}</td>"


def _html_blocks(doc: Sequence[Block]) -> list[str]:
    out: list[str] = []
    for b in doc:
        if isinstance(b, Heading):
            idattr = f' id="{b.anchor}"' if b.anchor else ""
            out.append(f"<h{b.level}{idattr}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_html_inline(b.inline)}</p>")
        elif isinstance(b, Pre):
            out.append(f"<pre>{html.escape(b.text)}</pre>")
        elif isinstance(b, Details):
            out.append(f"<details{' open' if b.open else ''}><summary>{html.escape(b.summary)}"
                       "</summary>")
            out.extend(_html_blocks(b.blocks))
            out.append("</details>")
        else:
            out.append("<table><thead><tr>"
                       + "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                       + "</tr></thead><tbody>")
            for i, r in enumerate(b.rows):
                cls = b.row_classes[i] if i < len(b.row_classes) else ""
                anchor = b.row_anchors[i] if i < len(b.row_anchors) else ""
                attrs_ = (f' class="{cls}"' if cls else "") + (f' id="{anchor}"' if anchor else "")
                out.append(f"<tr{attrs_}>" + "".join(_td(c) for c in r) + "</tr>")
            out.append("</tbody></table>")
    return out


def to_html(doc: list[Block]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>listenspec verify report</title>", f"<style>{_CSS}</style></head><body>",
           *_html_blocks(doc), f"<script>{_OPEN_TARGET}</script>", "</body></html>"]
    return "\n".join(out) + "\n"


def write_report(path: Path, ok: bool, summary: dict[str, Any]) -> None:
    """Write the report to `path`: Markdown for .md / .markdown, HTML for .html / .htm, and for
    .json what `verify --json` prints, with "ok" (what `listenspec docs` reads from
    LISTENSPEC_DOCS_VERIFY)."""
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        text = to_markdown(document(ok, summary))
    elif suffix in (".html", ".htm"):
        text = to_html(document(ok, summary))
    elif suffix == ".json":
        text = json.dumps({"ok": ok, **summary}, indent=1, default=str) + "\n"
    else:
        raise ListenspecError(f"cannot tell the report format from {suffix or 'no extension'!r}:"
                              " use .md, .html or .json", file=str(path))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ListenspecError(f"cannot write the report: {e.strerror or e}",
                              file=str(path)) from None


if __name__ == "__main__":  # pragma: no cover - `python -m listenspec.report OUT [--quick]`
    from .verify import verify

    passed, found = verify(quick="--quick" in sys.argv)
    write_report(Path(sys.argv[1]), passed, found)
