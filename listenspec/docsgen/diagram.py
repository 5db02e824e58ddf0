"""The socket life cycle drawn from the model's own table (models/tables.py LIFECYCLE).

The Graphviz source is generated from the table, then `dot -Tsvg` draws it (the queue
pictures of queues.py too). A build on a machine without Graphviz still works: `available()`
says so, the pages show the table the picture would be drawn from with a note saying what to
install, and `listenspec docs` says it on stderr. A picture is never silently left out.
"""

from __future__ import annotations

import shutil
import subprocess

from ..models.tables import LIFECYCLE

INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu) or "
                "`brew install graphviz` (macOS)")


class DiagramError(RuntimeError):
    pass


def available() -> bool:
    """Whether Graphviz's `dot` is on the PATH."""
    return shutil.which("dot") is not None


def missing_note(what: str) -> str:
    """What a page says where a picture would be, on a build without Graphviz."""
    return (f"{what} is drawn with Graphviz, which this build did not find: "
            f"{INSTALL_HINT}, then rebuild.")


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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
        # top to bottom and large type: the picture is read at page width, not zoomed
        '  graph [rankdir=TB, bgcolor="white", fontname="Helvetica", nodesep=0.4, '
        'ranksep=0.55, pad=0.2];',
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", '
        'fontsize=17, margin="0.2,0.08"];',
        '  edge [fontname="Helvetica", fontsize=15];',
    ]
    for s in states:
        extra = ', fillcolor="#dfeedd", penwidth=2' if s == "listening" else ""
        extra += ", shape=doublecircle" if s == "closed" else ""
        lines.append(f"  {_q(s)} [label={_q(s)}{extra}];")
    for (a, b), events in edges.items():
        label = " " + ",\n ".join(events)  # one event a line: narrow, legible labels
        lines.append(f"  {_q(a)} -> {_q(b)} [label={_q(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(source: str | None = None) -> str:
    """Draw with `dot -Tsvg`; raise DiagramError (never skip) when Graphviz is missing."""
    exe = shutil.which("dot")
    if exe is None:
        raise DiagramError(f"Graphviz's `dot` is needed to draw this picture: {INSTALL_HINT}")
    done = subprocess.run([exe, "-Tsvg"], input=source or dot_source(), capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise DiagramError(f"dot -Tsvg failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout
