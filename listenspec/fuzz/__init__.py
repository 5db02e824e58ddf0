"""Fuzzing every entry point (issue 14): the script and trace parsers, the checker, the model run,
and every CLI command's arguments, with Hypothesis drawing the inputs.

    from listenspec.fuzz import fuzz
    tally = fuzz("script", inputs=1000, seed=0)

`inputs` holds the strategies (what is drawn), `entries` the entry points (what is driven, and
what counts as a crash), `harness` the loop that counts. benchmarks/fuzz.py runs it at scale,
one process per entry point, and prints the figures; tests/test_fuzz.py runs it at a small count.
"""

from __future__ import annotations

from .entries import COMMANDS, Crash, entries
from .harness import HANG_SECONDS, WALL_SECONDS, Finding, Tally, fuzz

__all__ = ["COMMANDS", "HANG_SECONDS", "WALL_SECONDS", "Crash", "Finding", "Tally", "entries",
           "fuzz"]
