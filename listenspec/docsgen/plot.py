"""The longest completed queue against the backlog, one line per profile, computed by the
model's own rules (rules.effective_backlog, then rules.max_completed) and drawn with matplotlib
as SVG when the site is built. Profiles with the same line share it (the legend names them).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..models import rules
from ..models.profiles import PROFILES, Profile

_ROW = "longest completed queue"  # profile_table.derived_rows: the formula, for the legend
BACKLOGS = tuple(range(0, 13))  # listen(s, 0) .. listen(s, 12); -1 is the hard limit: off the scale


def longest(p: Profile, backlog: int) -> int:
    """The longest completed queue `listen(s, backlog)` allows at the default hard limit."""
    q = rules.effective_backlog(p, backlog, p.default("limit"))
    return int(rules.max_completed(p, q))


def series(backlogs: Sequence[int] = BACKLOGS) -> list[tuple[list[str], list[int]]]:
    """[(profiles, longest queue per backlog)], profiles with identical lines grouped."""
    groups: list[tuple[list[str], list[int]]] = []
    for p in PROFILES.values():
        ys = [longest(p, b) for b in backlogs]
        for names, seen in groups:
            if seen == ys:
                names.append(p.name)
                break
        else:
            groups.append(([p.name], ys))
    return groups


def svg(backlogs: Sequence[int] = BACKLOGS) -> str:
    import matplotlib

    matplotlib.use("Agg")  # no display: the build runs anywhere
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ..profile_table import derived_rows

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "listenspec",
                         "font.size": 13, "font.family": "sans-serif"})
    fig, ax = plt.subplots(figsize=(9, 5.2), facecolor="white")  # legible in dark mode too
    markers = "osD^vP*X"
    groups = series(backlogs)
    for n, (names, ys) in enumerate(groups):
        # a small offset keeps lines that coincide on part of the range apart
        shift = (n - (len(groups) - 1) / 2) * 0.06
        ax.plot([b + shift for b in backlogs], ys, marker=markers[n % len(markers)],
                linewidth=2, markersize=6,
                label=f"{', '.join(names)}: {derived_rows(PROFILES[names[0]])[_ROW]}")
    ax.set_xlabel("backlog passed to listen(s, backlog)")
    ax.set_ylabel("longest completed queue")
    ax.set_xticks(list(backlogs))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=11, frameon=False)
    ax.set_title("Connections that can wait to be accepted (default hard limit)", fontsize=13)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": "listenspec"})
    plt.close(fig)
    return out.getvalue()
