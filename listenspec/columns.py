"""Side-by-side columns that fit a width: a key column (repeated in every block), then one column
per system, paged into as many blocks as it takes; a cell wider than its column is wrapped onto
further lines, never cut. Also the same table as Markdown. Pure: text in, text out.
"""

from __future__ import annotations

import textwrap

import attrs

#: the least width a system column is given before it is wrapped
MIN_COLUMN = 8
GAP = "  "


@attrs.frozen
class Table:
    """Rows of cells under headers; each row has key parts (say a line number and a script
    line), repeated in every block, and a mark for the gutter."""

    key_headers: tuple[str, ...]
    headers: tuple[str, ...]  # one per column
    keys: tuple[tuple[str, ...], ...]  # one per row, one part per key header
    cells: tuple[tuple[str, ...], ...]  # [row][column]
    marks: tuple[str, ...]  # one per row: a short mark in the gutter ("" for none)

    def _parts(self) -> list[int]:
        return [_natural(h, [k[i] for k in self.keys]) for i, h in enumerate(self.key_headers)]

    def key_indent(self) -> int:
        """How far in the key's last part starts (past every other part): a wrapped key's
        further lines start there."""
        return sum(w + len(GAP) for w in self._parts()[:-1])

    def joined_keys(self) -> tuple[tuple[str, str], list[tuple[str, str]]]:
        """The key parts as one text column: the header's and each row's (padded leading
        parts, last part); only the last part is ever wrapped."""
        widths = self._parts()

        def join(parts: tuple[str, ...]) -> tuple[str, str]:
            padded = [p.rjust(w) if p.isdigit() else p.ljust(w)
                      for p, w in zip(parts[:-1], widths, strict=False)]
            return "".join(p + GAP for p in padded), parts[-1]

        return join(self.key_headers), [join(k) for k in self.keys]


def _wrap_key(key: tuple[str, str], width: int) -> list[str]:
    lead, last = key
    if len(lead) >= width:  # no room beside the leading parts: the last part goes below
        return [lead.rstrip(), *_wrap(last, width)]
    pieces = _wrap(last, width - len(lead))
    return [lead + pieces[0], *(" " * len(lead) + p for p in pieces[1:])]


def _wrap(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    # break_long_words: a token longer than the column goes on over several lines, whole
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False,
                         drop_whitespace=True) or [""]


def _natural(header: str, cells: list[str]) -> int:
    return max([len(header), *(len(c) for c in cells)])


def _layout(t: Table, width: int | None) -> tuple[int, int, list[int]]:
    """The gutter's width, the key column's and each column's (wrapped to fit `width`)."""
    gutter = max([0, *(len(m) for m in t.marks)])
    gutter = gutter + 1 if gutter else 0
    key_header, keys = t.joined_keys()
    keyw = _natural("".join(key_header), ["".join(k) for k in keys])
    cols = [_natural(h, [r[i] for r in t.cells]) for i, h in enumerate(t.headers)]
    if width is None:
        return gutter, keyw, cols
    # the key column gives way (wraps) only as far as it takes for the widest column, or half
    # the width if that is less, to fit beside it; its last part keeps MIN_COLUMN if it can
    widest = min(max(cols, default=0), width // 2)
    floor = min(keyw, t.key_indent() + MIN_COLUMN, width - gutter - len(GAP) - 1)
    keyw = max(min(keyw, width - gutter - len(GAP) - widest), floor)
    cap = max(width - gutter - keyw - len(GAP), 1)
    return gutter, keyw, [min(w, cap) for w in cols]


def blocks(t: Table, width: int | None) -> list[list[int]]:
    """The column indexes of each block: as many columns side by side as fit `width` (each
    block at least one column); one block when width is None."""
    gutter, keyw, cols = _layout(t, width)
    if width is None:
        return [list(range(len(cols)))]
    out: list[list[int]] = [[]]
    used = gutter + keyw
    for i, w in enumerate(cols):
        if out[-1] and used + len(GAP) + w > width:
            out.append([])
            used = gutter + keyw
        out[-1].append(i)
        used += len(GAP) + w
    return out


def to_text(t: Table, width: int | None = None) -> str:
    """The table as aligned text, every line at most `width` long (when given; a key's
    last part keeps MIN_COLUMN where it can), each block repeating the key column."""
    gutter, keyw, cols = _layout(t, width)
    key_header, keys = t.joined_keys()
    out: list[str] = []
    for block in blocks(t, width):
        widths = [keyw, *(cols[i] for i in block)]
        if out:
            out.append("")
        rows = [("", key_header, [t.headers[i] for i in block])]
        rows += [(t.marks[r], keys[r], [t.cells[r][i] for i in block])
                 for r in range(len(keys))]
        for n, (mark, key, cells) in enumerate(rows):
            pieces = [_wrap_key(key, keyw),
                      *(_wrap(c, w) for c, w in zip(cells, widths[1:], strict=True))]
            for k in range(max(len(p) for p in pieces)):
                left = (mark if k == 0 else "").ljust(gutter)
                parts = [(p[k] if k < len(p) else "").ljust(w)
                         for p, w in zip(pieces, widths, strict=True)]
                out.append((left + GAP.join(parts)).rstrip())
            if n == 0:
                out.append((" " * gutter + GAP.join("-" * w for w in widths)).rstrip())
    return "\n".join(out)


def _md(cell: str) -> str:
    if not cell:
        return ""
    text = cell.replace("|", "\\|")
    return f"`{text}`" if "`" not in text else text


def to_markdown(t: Table, mark_header: str = "") -> str:
    """The table as a Markdown (GFM) table: a column for the marks, the keys, the columns."""
    head = [mark_header, *t.key_headers, *t.headers]
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in head) + " |",
             "|" + "|".join(" --- " for _ in head) + "|"]
    for mark, key, cells in zip(t.marks, t.keys, t.cells, strict=True):
        parts = [k if k.isdigit() else _md(k) for k in key]
        lines.append("| " + " | ".join([mark, *parts, *(_md(c) for c in cells)]) + " |")
    return "\n".join(lines)
