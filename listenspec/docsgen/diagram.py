"""The socket life cycle drawn from the model's own table (models/tables.py LIFECYCLE).

The Graphviz source is generated from the table, then `dot -Tsvg` draws it. A docs build
without Graphviz fails here with a message saying how to install it: a diagram silently left
out would be a page that drifted from the model.
"""

from __future__ import annotations

import shutil
import subprocess

from ..models.tables import LIFECYCLE

INSTALL_HINT = ("Graphviz's `dot` is needed to draw the life-cycle diagram: "
                "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz`")


class DiagramError(RuntimeError):
    pass


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source() -> str:
    """The LIFECYCLE table as a Graphviz digraph, one edge per (state, event) entry."""
    states: list[str] = []
    for (src, _event), dst in LIFECYCLE.items():
        for s in (src.value, dst.value):
            if s not in states:
                states.append(s)
    # Edges between the same two states are merged into one labelled arrow, so the picture
    # stays readable; every event still appears in a label.
    edges: dict[tuple[str, str], list[str]] = {}
    for (src, event), dst in LIFECYCLE.items():
        edges.setdefault((src.value, dst.value), []).append(event)
    lines = [
        "digraph lifecycle {",
        '  graph [rankdir=LR, bgcolor="transparent", fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for s in states:
        extra = ', fillcolor="#dfeedd", penwidth=2' if s == "listening" else ""
        extra += ", shape=doublecircle" if s == "closed" else ""
        lines.append(f"  {_q(s)} [label={_q(s)}{extra}];")
    for (a, b), events in edges.items():
        lines.append(f"  {_q(a)} -> {_q(b)} [label={_q(', '.join(events))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(source: str | None = None) -> str:
    """Draw with `dot -Tsvg`; raise DiagramError (never skip) when Graphviz is missing."""
    exe = shutil.which("dot")
    if exe is None:
        raise DiagramError(INSTALL_HINT)
    done = subprocess.run([exe, "-Tsvg"], input=source or dot_source(), capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise DiagramError(f"dot -Tsvg failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout
