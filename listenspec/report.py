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
_CORE = ("clauses", "examples", "seconds")
_MAX_CELL = 300  # a figure longer than this is cut: a report must stay readable


# --------------------------------------------------------------------------- a tiny document


@attrs.frozen
class Heading:
    level: int
    text: str


@attrs.frozen
class Para:
    text: str


@attrs.frozen
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@attrs.frozen
class Pre:
    text: str


Block = Heading | Para | Table | Pre


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


def document(ok: bool, summary: Mapping[str, Any]) -> list[Block]:
    doc: list[Block] = [Heading(1, "listenspec verify report")]
    secs = summary.get("seconds")
    doc.append(Para(f"Verdict: {'ALL PASSED' if ok else 'FAILED'}"
                    + (f" in {secs} s" if secs is not None else "") + "."))
    doc.append(Heading(2, "Machine"))
    doc.append(Table(("", ""), tuple(machine().items())))

    matrix = summary.get("clauses")
    if isinstance(matrix, Mapping) and matrix:
        doc.append(Heading(2, "Clauses × profiles"))
        ex = summary.get("examples")
        if isinstance(ex, Mapping):
            doc.append(Para(f"{ex.get('total', '?')} example traces checked, "
                            f"{ex.get('failed', '?')} failed."))
        profiles: list[str] = []
        for row in matrix.values():
            profiles += [p for p in row if p not in profiles]
        counts: dict[str, int] = {}
        for row in matrix.values():
            for v in row.values():
                counts[v] = counts.get(v, 0) + 1
        doc.append(Para("Cells: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                        + "."))
        doc.append(Table(("clause", *profiles), tuple(
            (cid, *(row.get(p, "") for p in profiles)) for cid, row in matrix.items())))

    for name, value in summary.items():
        if name in _CORE:
            continue
        doc.append(Heading(2, f"Stage: {name}"))
        if isinstance(value, Mapping) and "ok" in value:
            doc.append(Para(f"Result: {'ok' if value['ok'] else 'FAILED'}."))
            value = {k: v for k, v in value.items() if k != "ok"}
        doc.extend(figures(value))
    doc.append(Para(f"Written by listenspec {__version__}: `listenspec verify --report`."))
    return doc


# --------------------------------------------------------------------------- renderers


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: list[Block]) -> str:
    out: list[str] = []
    for b in doc:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Pre):
            out.append("```\n" + b.text + "\n```")
        else:
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |",
                     "|" + "|".join(" --- " for _ in b.header) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left;font-size:.9em}th{background:#f3f3f3}td.pass,td.ok{background:#e6f4e6}
td.FAIL,td.FAILED,td.uncovered{background:#fbe3e3;font-weight:bold}td.n-a{color:#999}
pre{background:#f6f6f6;padding:.5em}"""


def _td(s: str) -> str:
    cls = {"pass": "pass", "ok": "ok", "FAIL": "FAIL", "FAILED": "FAILED",
           "uncovered": "uncovered", "n/a": "n-a"}.get(s)
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{html.escape(s)}</td>"


def to_html(doc: list[Block]) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>listenspec verify report</title>", f"<style>{_CSS}</style></head><body>"]
    for b in doc:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Pre):
            out.append(f"<pre>{html.escape(b.text)}</pre>")
        else:
            out.append("<table><thead><tr>"
                       + "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                       + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(_td(c) for c in r) + "</tr>" for r in b.rows]
            out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(path: Path, ok: bool, summary: dict[str, Any]) -> None:
    """Write the report to `path`: Markdown for .md / .markdown, HTML for .html / .htm."""
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown"):
        text = to_markdown(document(ok, summary))
    elif suffix in (".html", ".htm"):
        text = to_html(document(ok, summary))
    else:
        raise ListenspecError(f"cannot tell the report format from {suffix or 'no extension'!r}:"
                              " use .md or .html", file=str(path))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ListenspecError(f"cannot write the report: {e.strerror or e}",
                              file=str(path)) from None


if __name__ == "__main__":  # pragma: no cover - `python -m listenspec.report OUT [--quick]`
    from .verify import verify

    passed, found = verify(quick="--quick" in sys.argv)
    write_report(Path(sys.argv[1]), passed, found)
