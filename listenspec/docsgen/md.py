"""Small Markdown writers shared by the generators: tables, code, escaping.

Cells go through `text` or `code` so that a `|` or a newline in data (a script line, a source
citation) can never break a table's layout.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence


def text(s: object) -> str:
    """A table cell holding plain text (Markdown inside is not interpreted)."""
    return html.escape(str(s), quote=False).replace("|", "&#124;").replace("\n", "<br>")


def code(s: object) -> str:
    """A table cell holding code."""
    return f"<code>{text(s)}</code>"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells must already be escaped (see `text` and `code`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def fence(body: str, lang: str = "") -> str:
    """A fenced code block; the fence is longer than any backtick run in the body."""
    ticks = "```"
    while ticks in body:
        ticks += "`"
    return f"{ticks}{lang}\n{body.rstrip()}\n{ticks}"


def indent(block: str, by: int = 4) -> str:
    """Indent a block (content of an admonition or a collapsible section)."""
    pad = " " * by
    return "\n".join(pad + line if line.strip() else "" for line in block.splitlines())


def details(title: str, body: str, *, open_: bool = False, kind: str = "example") -> str:
    """A collapsible block (pymdownx.details)."""
    marker = "???+" if open_ else "???"
    return f'{marker} {kind} "{title}"\n\n{indent(body)}\n'


def admonition(kind: str, title: str, body: str) -> str:
    return f'!!! {kind} "{title}"\n\n{indent(body)}\n'
