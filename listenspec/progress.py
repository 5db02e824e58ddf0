"""A one-line progress bar on a terminal, and nothing at all when the stream is piped."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

#: the least time between two redraws
INTERVAL = 0.2


class Progress:
    """`label [#####     ] done/total note` on one line of stderr, redrawn at most every 0.2 s;
    disabled (every call does nothing) unless stderr is a terminal or `enabled` says so."""

    def __init__(self, label: str = "", enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.last = 0.0
        self.width = 0

    def update(self, done: int, total: int | None, note: str = "", *,
               force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < INTERVAL:
            return
        self.last = now
        parts = [self.label] if self.label else []
        if total:
            filled = int(20 * min(done, total) / total)
            parts.append(f"[{'#' * filled:<20}] {done:,}/{total:,}")
        else:
            parts.append(f"{done:,}")
        if note:
            parts.append(note)
        line = " ".join(parts)[: max(shutil.get_terminal_size().columns - 1, 20)]
        self.stream.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.stream.flush()

    def close(self) -> None:
        """Clear the line (so what is printed next starts at the left)."""
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0
