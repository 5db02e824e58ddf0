"""The cited digests on the site: spec/reference/{freebsd,linux}.md and spec/sources/*.md, as
they are in the repository, each numbered section anchored so a citation such as
`reference/freebsd.md §2a` links to it (`#s2a`, citations.section_anchor).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import citations, md

#: a numbered heading: `## 2a. …`, `### 0.1 …`, `### C3. …`
HEADING_RE = re.compile(r"^(#{2,6}) (\d+[a-z]?(?:\.\d+)*|[A-Z]\d+)\.?( .*)$")

ABOUT = {
    "reference/freebsd.md": "FreeBSD (current source), DragonFly BSD and 4.4BSD-Lite2: the "
                            "digest the freebsd-src, dragonfly and bsd-4.4 profiles cite.",
    "reference/linux.md": "Linux 6.x, with the experiments that confirmed each rule: the "
                          "digest the linux profile cites.",
    "spec/sources/freebsd.md": "FreeBSD 14.2, read for the freebsd-src profile, with where the "
                               "model agrees and disagrees.",
    "spec/sources/linux-6.18.md": "Linux 6.18.44 measured by the probes in "
                                  "benchmarks/probes/linux/, with the profile's position.",
}


def render(key: str, repo: Path) -> str:
    if key not in citations.DOCUMENTS:
        raise KeyError(f"no document {key!r} (known: {', '.join(citations.DOCUMENTS)})")
    path = citations.DOCUMENTS[key][0]
    text = (repo / path).read_text(encoding="utf-8")
    out, note_done = [], False
    for line in text.splitlines():
        m = HEADING_RE.match(line)
        if m:
            anchor = citations.section_anchor(m.group(2))
            if "{" in line:  # attr_list would read the heading's own braces: an anchor before
                out += [f'<a id="{anchor}"></a>', ""]
            else:
                line = f"{line} {{ #{anchor} }}"
        out.append(line)
        if line.startswith("# ") and not note_done:
            out.append(f"\n*`{path}` in the repository, cited as `{key}`; shown as it is "
                       "there.*\n")
            note_done = True
    return "\n".join(out)


def index(base: str) -> str:
    rows = [[f"[{md.text(key)}]({base}{page})", md.code(path), md.text(ABOUT.get(key, ""))]
            for key, (path, page) in citations.DOCUMENTS.items()]
    return md.table(["cited as", "file", "what it holds"], rows)
