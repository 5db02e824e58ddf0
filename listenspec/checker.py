"""The checker: does a profile allow a trace, and where does it first differ?"""

from __future__ import annotations

import attrs

from .models.profiles import Profile
from .results import Result, Unsupported, matches
from .runner import ModelRun
from .script import Script, Step


@attrs.frozen
class Verdict:
    step: Step
    expected: Result  # what the profile gives
    actual: Result  # what the trace says
    ok: bool
    skipped: bool = False  # the trace's executor did not perform the call: nothing to compare


#: the most ways of reading a trace the checker keeps at once (each a possible model state)
MAX_WORLDS = 64


def check(trace: Script, profile: Profile) -> list[Verdict]:
    """Replay the trace's calls on the model; stop after the first line the profile disallows.

    Where the system may answer a call several ways (which SO_REUSEPORT listener a connection
    reaches), every way whose result matches the trace is followed, so a later line can tell
    them apart; a line is allowed if any way explains it. A line whose result is
    `unsupported(...)` (its executor could not make the call) is neither run on the model nor
    compared; it is marked skipped.
    """
    worlds = [ModelRun(profile)]
    verdicts: list[Verdict] = []
    for step in trace.steps:
        assert step.expected is not None, "check() takes a parsed trace"
        if isinstance(step.expected, Unsupported):
            for w in worlds:
                w.skip(step)  # not performed there, so not here either
            verdicts.append(Verdict(step, step.expected, step.expected, True, skipped=True))
            continue
        first: Result | None = None
        matched: Result | None = None
        kept: list[ModelRun] = []
        for w in worlds:
            for executed, run in w.branches(step):
                if first is None:
                    first = executed.result
                if matches(executed.result, step.expected):
                    matched = matched or executed.result
                    kept.append(run)
        assert first is not None
        ok = bool(kept)
        verdicts.append(Verdict(step, matched if matched is not None else first, step.expected,
                                ok))
        if not ok:
            break
        worlds = _distinct(kept)[:MAX_WORLDS]
    return verdicts


def _distinct(runs: list[ModelRun]) -> list[ModelRun]:
    seen: set[object] = set()
    out = []
    for r in runs:
        key = (r.state, tuple(sorted((k, b.fd, b.sid, b.target) for k, b in r.names.items())))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
