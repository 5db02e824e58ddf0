"""What the built site must cover: every clause of the catalogue on some page, every profile
on its system page, every seed manual page, and every divergence point on the divergences page.
Checked after all pages are rendered, so a clause added to the catalogue under a topic with no
page fails the build, naming the clause.
"""

from __future__ import annotations

from ..spec import clauses as catalogue
from . import divergences, topics
from .directives import Build


def problems(build: Build) -> list[str]:
    out = []
    for c in catalogue.CLAUSES:
        if c.id in build.clauses:
            continue
        if c.topic not in topics.TOPICS:
            out.append(f"clause {c.id} has no page: its topic {c.topic!r} has none (add it to "
                       f"TOPICS in listenspec/docsgen/topics.py and write "
                       f"docs/{topics.page_of(c.topic)})")
        else:
            out.append(f"clause {c.id} has no page: docs/{topics.page_of(c.topic)} is missing "
                       f"or lacks `<!-- listenspec:topic {c.topic} -->`")
    from ..models.profiles import PROFILES
    from . import seeds, systems

    for name in PROFILES:
        if name not in build.systems:
            out.append(f"profile {name} has no page: write docs/{systems.page_of(name)} with "
                       f"`<!-- listenspec:system {name} -->` (and a title in "
                       "listenspec/docsgen/systems.py TITLES)")
    for s in seeds.seeds():
        if s.num not in build.seeds:
            out.append(f"seed page {s.file} is on no page: write docs/seeds/{s.num}.md with "
                       f"`<!-- listenspec:seed {s.num} -->`")
    for slug in divergences.missing_points(build.points):
        out.append(f"divergence point {slug!r} is on no page: add "
                   f"`<!-- listenspec:divergence {slug} -->` to docs/divergences.md")
    return out
