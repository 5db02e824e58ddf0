"""Where a script leaves the system a choice: two runs of one stack (or two executors of it)
may differ from the first step the linux profile lets the system answer in more than one way
(which SO_REUSEPORT listener a connection reaches). Executor comparisons hold their traces equal
up to that step and, after it, each to the profile."""

from __future__ import annotations

from listenspec.models.profiles import PROFILES
from listenspec.results import Result, Unsupported, matches
from listenspec.runner import ModelRun
from listenspec.script import Script


def first_choice(script: Script, results: list[Result]) -> int | None:
    """The index of the first step the linux profile lets the system answer in more than one
    way, following the worlds `results` leaves open; None if there is no such step (or
    `results` leaves the profile first: then no choice is known, and a comparison of the whole
    trace line by line is the strictest reading)."""
    worlds = [ModelRun(PROFILES["linux"])]
    for i, (step, result) in enumerate(zip(script.steps, results, strict=True)):
        if isinstance(result, Unsupported):
            for w in worlds:
                w.skip(step)
            continue
        branches = [b for w in worlds for b in w.branches(step)]
        if len(branches) > 1:
            return i
        worlds = [run for executed, run in branches if matches(executed.result, result)]
        if not worlds:
            return None
    return None
