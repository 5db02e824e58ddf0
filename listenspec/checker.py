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


def check(trace: Script, profile: Profile) -> list[Verdict]:
    """Replay the trace's calls on the model; stop after the first line the profile disallows.

    A line whose result is `unsupported(...)` (its executor could not make the call) is neither
    run on the model nor compared; it is marked skipped.
    """
    run = ModelRun(profile)
    verdicts: list[Verdict] = []
    for step in trace.steps:
        assert step.expected is not None, "check() takes a parsed trace"
        if isinstance(step.expected, Unsupported):
            run.skip(step)  # not performed there, so not here either
            verdicts.append(Verdict(step, step.expected, step.expected, True, skipped=True))
            continue
        executed = run.step(step)
        ok = matches(executed.result, step.expected)
        verdicts.append(Verdict(step, executed.result, step.expected, ok))
        if not ok:
            break
    return verdicts
