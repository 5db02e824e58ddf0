"""The profiles page: every profile's value of every parameter side by side, in a layout that
fits a screen, and each profile's values with their sources, one tab per profile.

The comparison is an HTML table: neighbouring profiles with the same value share one cell
(`colspan`), list values go one item a line, the parameter column stays in view when the table
scrolls sideways (CSS class `ls-wide`, docs/stylesheets/listenspec.css), and code never breaks
inside a word.
"""

from __future__ import annotations

import html
from typing import Any

from ..models.profiles import PROFILES, Profile, Sysctl
from ..profile_table import derived_rows
from ..profile_table import render as render_value
from . import citations, md, systems


def _items(param: str, value: Any, p: Profile) -> list[str]:
    """A value as the lines of its cell: one item of a list a line."""
    if param == "sysctls" and value:
        return [f"{s.name}{' (hidden)' if s.hidden else ''} = {s.default}, {s.lo} … {s.hi}"
                for s in value if isinstance(s, Sysctl)]
    if isinstance(value, tuple) and value and param != "synflood_counters":
        return [" ".join(v) if isinstance(v, tuple) else str(v) for v in value]
    if param == "synflood_counters":
        off, on = value
        return [f"cookies off: {', '.join(off) or '—'}", f"cookies on: {', '.join(on) or '—'}"]
    return [render_value(param, value, p)]


def _cell(lines: list[str], span: int, of: int) -> str:
    inner = "<br>".join(f"<code>{html.escape(x)}</code>" for x in lines)
    if span == of and of > 1:
        inner = f'<span class="ls-all">all:</span> {inner}'
    attr = f' colspan="{span}"' if span > 1 else ""
    cls = ' class="ls-same"' if span > 1 else ""
    return f"<td{attr}{cls}>{inner}</td>"


def _row(name: str, cells: list[list[str]], *, code_name: bool) -> str:
    out = [f"<th>{'<code>' + html.escape(name) + '</code>' if code_name else html.escape(name)}"
           "</th>"]
    i = 0
    while i < len(cells):
        j = i
        while j + 1 < len(cells) and cells[j + 1] == cells[i]:
            j += 1
        out.append(_cell(cells[i], j - i + 1, len(cells)))
        i = j + 1
    return "<tr>" + "".join(out) + "</tr>"


def comparison(base: str) -> str:
    ps = list(PROFILES.values())
    head = "".join(f'<th><a href="{base}{systems.page_of(p.name)[:-3]}.html">'
                   f"{html.escape(p.name)}</a></th>" for p in ps)
    rows = []
    derived = [derived_rows(p) for p in ps]
    for key in derived[0]:
        rows.append(_row(key.strip(), [[d[key]] for d in derived], code_name=False))
    for param in ps[0].parameters:
        rows.append(_row(param, [_items(param, getattr(p, param), p) for p in ps],
                         code_name=True))
    return ('<div class="ls-wide ls-profiles" id="comparison">\n<table>\n<thead><tr>'
            "<th>parameter</th>" + head + "</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody>\n</table>\n</div>")


def tabs(base: str) -> str:
    """One tab per profile: its parameters, values and sources (pymdownx.tabbed)."""
    parts = []
    for p in PROFILES.values():
        rows = [[md.code(param), "<br>".join(md.code(x) for x in _items(param, getattr(p, param),
                                                                         p)),
                 citations.cite(p.cite[param], base)] for param in p.parameters]
        body = (f"[{md.text(systems.title(p.name))}]({base}{systems.page_of(p.name)}) reads "
                f"these as sentences.\n\n" + md.table(["parameter", "value", "source"], rows))
        parts.append(f'=== "{p.name}"\n\n{md.indent(body)}\n')
    return "\n".join(parts)


def render(base: str) -> str:
    return (comparison(base) + "\n\n## Sources\n\nWhere every value comes from "
            "(`listenspec profiles --sources`), one tab per profile; a source names a seed "
            "page, a cited digest section or a kernel source file and function, each a "
            "link:\n\n" + tabs(base))
