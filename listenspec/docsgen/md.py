"""Small Markdown writers shared by the generators: tables, code, escaping.

Cells go through `text` or `code` so that a `|` or a newline in data (a script line, a source
citation) can never break a table's layout.
"""

from __future__ import annotations

import html
import re
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


#: what makes a line more than a paragraph in Markdown when it starts it
_BLOCK_START = re.compile(r"^(#|>|[-+*=](?:\s|$)|\d+[.)](?:\s|$))")


def paragraph(s: str) -> str:
    """A line of already escaped text kept a plain paragraph, whatever it starts with
    (`#include`, `- `, `1.`, which Markdown would read as a heading or a list)."""
    m = _BLOCK_START.match(s)
    if m is None:
        return s
    if s[:1].isdigit():  # `1.` starts a list: escape its dot
        n = len(m.group(0).rstrip()) - 1
        return s[:n] + "\\" + s[n:]
    return "\\" + s


_PLAIN_CODE = re.compile(r"<code>([^<]*)</code>")
_BREAKABLE = re.compile(r"[^\s]*[^\w\s][^\s]*")


def keep_words(page_html: str) -> str:
    """Inline code never breaks inside a word: a browser breaks a line after a `-` or a `/`
    (`freebsd-` / `10`, `--` / `profile`), so every such word of plain inline code is kept
    whole (class ls-nobr: white-space: nowrap). Copied text is unchanged."""
    def one(m: re.Match[str]) -> str:
        inner = _BREAKABLE.sub(lambda w: f'<span class="ls-nobr">{w.group(0)}</span>',
                               m.group(1))
        return f"<code>{inner}</code>"
    return _PLAIN_CODE.sub(one, page_html)
