"""The profiles side by side: one row per parameter, one column per profile, with sources.

Used by `listenspec profiles` and by the docs; values are rendered from the profile data, and
the derived rows (the longest queues) are computed by the model's own rules.
"""

from __future__ import annotations

from typing import Any

from .models import rules
from .models.profiles import PROFILES, Profile


def formula(kind: str, inclusive: bool, half_open: bool = False) -> str:
    text = {"3q/2": "⌊3q/2⌋", "q": "q", "q+1": "q+1"}[kind]
    if inclusive:
        text = {"q": "q+1", "q+1": "q+2"}.get(text, text + "+1")
    return f"{text} (completed + half-open)" if half_open else text


def render(param: str, value: Any, p: Profile) -> str:
    if param == "sysctls":
        if not value:
            return f"none (fixed {p.fixed_limit})" if p.fixed_limit is not None else "none"
        return ", ".join(
            f"{s.name}{' (hidden)' if s.hidden else ''}={s.default} [{s.lo}..{s.hi}]"
            for s in value
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        if not value:
            return "—"
        return ", ".join(" ".join(v) if isinstance(v, tuple) else str(v) for v in value)
    if value is None or value == "":
        return "—"
    return str(value)


def derived_rows(p: Profile) -> dict[str, str]:
    """Rows computed from the rules: what a reader most wants to compare."""
    limit = p.default("limit")
    examples = ", ".join(
        f"{q}→{rules.max_completed(p, q)}" for q in (0, 1, 2, 5, 128) if q <= limit
    )
    return {
        "longest completed queue": formula(p.admit_base, p.admit_inclusive,
                                           p.admit_counts_half_open),
        "  for q = 0, 1, 2, 5, 128": examples,
        "longest accept-filter queue": (
            formula(p.incq_base, False) if p.accept_filters or p.tcp_defer_accept else "—"
        ),
        "listen(s, -1) gives": str(rules.effective_backlog(p, -1, limit)),
        "default hard limit": str(limit),
    }


def table(profiles: list[Profile] | None = None) -> list[list[str]]:
    """Rows of cells; the first row is the header."""
    ps = profiles or list(PROFILES.values())
    rows: list[list[str]] = [["parameter", *(p.name for p in ps)]]
    derived = [derived_rows(p) for p in ps]
    for key in derived[0]:
        rows.append([key, *(d[key] for d in derived)])
    for param in ps[0].parameters:
        rows.append([param, *(render(param, getattr(p, param), p) for p in ps)])
    return rows


def sources(profiles: list[Profile] | None = None) -> list[tuple[str, str, str]]:
    """(parameter, profile, source) for every cell of the table."""
    ps = profiles or list(PROFILES.values())
    return [(param, p.name, p.cite[param]) for param in ps[0].parameters for p in ps]


def format_text(rows: list[list[str]], width: int = 28, columns: int | None = None) -> str:
    """An aligned plain-text table; long cells are cut with an ellipsis. With `columns` (a
    terminal's width), the profiles are split into as many blocks as it takes to fit, each
    block repeating the parameter column, rather than letting every line wrap."""
    def cut(s: str) -> str:
        return s if len(s) <= width else s[: width - 1] + "…"

    cells = [[cut(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for i in range(1, len(widths)):
        if columns is not None and blocks[-1] and used + 2 + widths[i] > columns:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(i)
        used += 2 + widths[i]
    out: list[str] = []
    for block in blocks:
        keep = [0, *block]
        if out:
            out.append("")
        for n, r in enumerate(cells):
            out.append("  ".join(r[i].ljust(widths[i]) for i in keep).rstrip())
            if n == 0:
                out.append("  ".join("-" * widths[i] for i in keep))
    return "\n".join(out)
