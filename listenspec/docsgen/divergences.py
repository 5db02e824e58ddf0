"""The divergences page: where the manual pages, the FreeBSD source, Linux, 4.4BSD and Netsem
disagree, one point per row, each backed by a script whose traces the build computes.

A point names its script (docs/scripts/NAME.lsn, with `# key` on the lines that show it) and
the profile parameters responsible; the cells of the summary table are the model's results on
the key lines. Netsem is not a profile, so its column is text citing DESIGN.md. The build fails
if a point's profiles no longer give different traces: a divergence that vanished from the model
must vanish from the page too.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ..models.profiles import PROFILES
from . import md, traces

#: the summary table's columns: a heading and the profiles it stands for.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("manual pages", ("freebsd-9", "freebsd-10", "freebsd-13", "dragonfly", "intime")),
    ("FreeBSD source", ("freebsd-src",)),
    ("Linux", ("linux",)),
    ("4.4BSD", ("bsd-4.4",)),
)

NETSEM_SOURCE = "Netsem (the HOL4 TCP/sockets specification), as summarised in DESIGN.md"


@attrs.frozen
class Point:
    slug: str  # also the script's name: docs/scripts/<slug>.lsn
    point: str
    params: tuple[str, ...]  # the profile parameters behind the difference
    netsem: str  # Netsem's answer, from DESIGN.md's table ("—": Netsem does not cover it)


#: at least the rows of the divergence table in DESIGN.md, in its order.
POINTS: tuple[Point, ...] = (
    Point("max-queue", "max completed queue for effective backlog q",
          ("admit_base", "admit_inclusive", "admit_counts_half_open"),
          "admits while len < ⌊3q/2⌋"),
    Point("negative-backlog", "negative backlog", ("clamp",), "0"),
    Point("tcp-full", "TCP connection to a full queue", ("tcp_overflow",), "—"),
    Point("unix-full", "AF_UNIX connect to a full queue", ("unix_overflow",), "—"),
    Point("unix-unbound", "listen on unbound AF_UNIX", ("unbound_unix_listen",), "—"),
    Point("accf-queue", "accept-filter queue", ("accept_filters", "incq_base", "incq_evict"),
          "—"),
    Point("sysctl-range", "hard-limit sysctl range", ("sysctls",), "—"),
)

BY_SLUG = {p.slug: p for p in POINTS}


def script_path(docs_dir: Path, slug: str) -> Path:
    return docs_dir / "scripts" / f"{slug}.lsn"


def load(docs_dir: Path, pt: Point) -> traces.Loaded:
    loaded = traces.load_script(script_path(docs_dir, pt.slug))
    if not loaded.key_lines:
        raise ValueError(f"docs/scripts/{pt.slug}.lsn marks no line with `# key`")
    return loaded


def key_steps(loaded: traces.Loaded) -> list[int]:
    """Indexes of the steps on `# key` lines."""
    return [i for i, s in enumerate(loaded.script.steps) if s.line in loaded.key_lines]


def key_results(loaded: traces.Loaded, profile: str) -> list[str]:
    res = traces.model_results(loaded, profile)
    return [res[i] for i in key_steps(loaded)]


def cell(loaded: traces.Loaded, index: int, profiles: tuple[str, ...]) -> str:
    """One step's result under these profiles, naming the profiles where they disagree."""
    by: dict[str, list[str]] = {}
    for p in profiles:
        by.setdefault(traces.model_results(loaded, p)[index], []).append(p)
    if len(by) == 1:
        return md.code(next(iter(by)))
    return "<br>".join(f"{md.code(r)} ({md.text(', '.join(ps))})" for r, ps in by.items())


def check_diverges(loaded: traces.Loaded, pt: Point) -> None:
    every = [p for _, ps in COLUMNS for p in ps]
    if len({tuple(key_results(loaded, p)) for p in every}) < 2:
        raise ValueError(f"divergence {pt.slug!r}: every profile now gives the same result on "
                         f"the key lines of docs/scripts/{pt.slug}.lsn; update the page")


def summary_table(docs_dir: Path) -> str:
    """One row per key line of each point's script; a point's first row names it. The last
    column is this machine's kernel, where the build could run it."""
    loaded = {pt.slug: load(docs_dir, pt) for pt in POINTS}
    kernels = {slug: traces.kernel_results(ld) for slug, ld in loaded.items()}
    with_kernel = any(k.results is not None for k in kernels.values())
    rows = []
    for pt in POINTS:
        ld = loaded[pt.slug]
        check_diverges(ld, pt)
        kres = kernels[pt.slug].results
        for n, i in enumerate(key_steps(ld)):
            first = n == 0
            row = [f"[{md.text(pt.point)}](#{pt.slug})" if first else "",
                   md.code(ld.script.steps[i].text),
                   *(cell(ld, i, ps) for _, ps in COLUMNS),
                   md.text(pt.netsem) if first else ""]
            if with_kernel:
                row.append(md.code(kres[i]) if kres is not None else "not run")
            rows.append(row)
    header = ["point", "script line", *(md.text(h) for h, _ in COLUMNS), "Netsem (DESIGN.md)"]
    if with_kernel:
        header.append("this machine's kernel")
    note = next((k.environment for k in kernels.values() if k.results is not None), "")
    tail = (f"\n\nThe kernel column was measured when this page was built: "
            f"{md.text(note)}." if with_kernel else
            f"\n\nThis machine's kernel: not available in this build "
            f"({md.text(next(iter(kernels.values())).problem)}).")
    return md.table(header, rows) + tail


def point_section(docs_dir: Path, slug: str, emitted: set[str]) -> str:
    """The traces and sources behind one point (the prose above it is hand-written)."""
    pt = BY_SLUG.get(slug)
    if pt is None:
        raise KeyError(f"no divergence point {slug!r} in listenspec/docsgen/divergences.py")
    emitted.add(slug)
    loaded = load(docs_dir, pt)
    check_diverges(loaded, pt)
    from ..profile_table import render

    src_rows = []
    for heading, ps in COLUMNS:
        for p in ps:
            prof = PROFILES[p]
            for param in pt.params:
                src_rows.append([md.text(heading), md.code(p), md.code(param),
                                 md.text(render(param, getattr(prof, param), prof)),
                                 md.text(prof.cite[param])])
    kernel = traces.kernel_results(loaded)
    parts = [
        f"[Download `{pt.slug}.lsn`](scripts/{pt.slug}.lsn) and run it with "
        f"`listenspec run {pt.slug}.lsn --profile NAME`; ★ marks the lines that show the point.",
        md.fence(loaded.text, "text"),
        traces.side_by_side(loaded, list(PROFILES), kernel=kernel),
    ]
    if kernel.results is not None:
        parts.append(f"The last column is this machine's kernel ({md.text(kernel.environment)}),"
                     f" measured when the page was built. {traces.kernel_verdict(loaded, kernel)}")
    else:
        parts.append(f"This machine's kernel: not available in this build "
                     f"({md.text(kernel.problem)}).")
    parts.append(f"Netsem: {md.text(pt.netsem)} ({NETSEM_SOURCE}).")
    parts.append(md.details("Where each profile's value comes from",
                            md.table(["column", "profile", "parameter", "value", "source"],
                                     src_rows), kind="quote"))
    return "\n\n".join(parts)


def missing_points(emitted: set[str]) -> list[str]:
    return [p.slug for p in POINTS if p.slug not in emitted]
