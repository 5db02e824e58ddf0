"""Every picture the site shows, by path, with what draws it: the hook adds them to the build
(generated, never written into docs/) and the directives refer to them by the same names.

A picture drawn with Graphviz is left out when `dot` is missing (diagram.available()); the page
that shows it then says so (diagram.missing_note). The others need only Python packages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import attrs

from ..models.profiles import PROFILES
from . import diagram, plot, queues, sequence

LIFECYCLE = "generated/lifecycle.svg"
MAX_QUEUE_PLOT = "generated/max-completed.svg"


@attrs.frozen
class Picture:
    path: str
    draw: Callable[[], str]
    needs_dot: bool = False


def queue_path(profile: str) -> str:
    return f"generated/queues-{profile}.svg"


def _tag(ex: sequence.Exchange) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{ex.domain}-{ex.kind}-{ex.setting}".lower()).strip("-")


def system_sequences(profile: str) -> list[tuple[str, sequence.Exchange]]:
    """The sequence pictures of a system's page: (path, exchange)."""
    return [(f"generated/overflow/{profile}-{_tag(ex)}.svg", ex)
            for ex in sequence.variants(PROFILES[profile])]


def group_sequences(domain: str) -> list[tuple[str, list[str], sequence.Exchange]]:
    """One picture per distinct exchange over all profiles: (path, profiles, exchange)."""
    return [(f"generated/overflow/all-{names[0]}-{_tag(ex)}.svg", names, ex)
            for names, ex in sequence.groups(domain)]


def _sequence_title(names: list[str], ex: sequence.Exchange) -> str:
    what = "an AF_UNIX connect()" if ex.domain == "AF_UNIX" else "a TCP connection"
    return f"{', '.join(names)}: {what} to a full queue"


def all_pictures() -> list[Picture]:
    out = [Picture(LIFECYCLE, diagram.svg, needs_dot=True),
           Picture(MAX_QUEUE_PLOT, plot.svg)]
    for name, p in PROFILES.items():
        out.append(Picture(queue_path(name), functools.partial(queues.svg, p), needs_dot=True))
        for path, ex in system_sequences(name):
            out.append(Picture(path, functools.partial(sequence.svg, ex,
                                                       _sequence_title([name], ex))))
    for domain in ("AF_INET", "AF_UNIX"):
        for path, names, ex in group_sequences(domain):
            out.append(Picture(path, functools.partial(sequence.svg, ex,
                                                       _sequence_title(names, ex))))
    return out
