"""The checker: does a profile allow a trace, and where does it first differ?"""

from __future__ import annotations

import attrs

from .models.profiles import Profile
from .results import Result, matches
from .runner import ModelRun
from .script import Script, Step


@attrs.frozen
class Verdict:
    step: Step
    expected: Result  # what the profile gives
    actual: Result  # what the trace says
    ok: bool


def check(trace: Script, profile: Profile) -> list[Verdict]:
    """Replay the trace's calls on the model; stop after the first line the profile disallows."""
    run = ModelRun(profile)
    verdicts: list[Verdict] = []
    for step in trace.steps:
        assert step.expected is not None, "check() takes a parsed trace"
        executed = run.step(step)
        ok = matches(executed.result, step.expected)
        verdicts.append(Verdict(step, executed.result, step.expected, ok))
        if not ok:
            break
    return verdicts
