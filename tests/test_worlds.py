"""A line the checker computes once and carries to the other ways of reading the trace
(listenspec/worlds.py) gives exactly what computing it in every way gives."""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listenspec import footprint, worlds
from listenspec.checker import check
from listenspec.models.profiles import get
from listenspec.results import Err, Result
from listenspec.runner import ModelRun
from listenspec.script import Script, parse
from listenspec.scriptgen import scripts

GROUP = "\n".join([
    "a = socket(AF_INET, SOCK_STREAM)", "b = socket(AF_INET, SOCK_STREAM)",
    "setsockopt(a, SO_REUSEPORT, 1)", "setsockopt(b, SO_REUSEPORT, 1)",
    "bind(a)", "bind(b, a)", "listen(a, 5)", "listen(b, 5)",
    "l = socket(AF_INET, SOCK_STREAM)", "listen(l, 5)",
    "c1 = socket(AF_INET, SOCK_STREAM)", "connect(c1, a)",
    "c2 = socket(AF_INET, SOCK_STREAM)", "connect(c2, a)",
    "c3 = socket(AF_INET, SOCK_STREAM)", "connect(c3, l)",
    "x = accept(l)", "listen(c1, 1)", "netstat(b)",
])


def _traced(script: Script, profile: str, rng: random.Random) -> Script:
    """The script as a stack the profile allows might trace it: at each line with several
    outcomes, one drawn at random."""
    run = ModelRun(get(profile))
    steps = []
    for step in script.steps:
        ways = run.branches(step)
        executed, run = ways[rng.randrange(len(ways))]
        steps.append(attrs.evolve(step, expected=executed.result))
    return Script(script.file, tuple(steps))


def _ways(trace: Script, profile: str) -> int:
    """The most ways of reading the trace the checker holds at once."""
    most, runs = 1, [ModelRun(get(profile))]
    for step in trace.steps:
        runs = [r for ways in worlds.branches(runs, step) for _, r in ways]
        most = max(most, len(runs))
    return most


def test_the_group_trace_is_read_several_ways() -> None:
    # what the tests below rest on: the trace forks, so lines are carried
    assert _ways(_traced(parse(GROUP, "<group>"), "linux", random.Random(1)), "linux") == 4


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(script=scripts(max_steps=25, profile="linux"), seed=st.integers(0, 2**16),
       wrong=st.integers(-1, 30))
def test_carrying_lines_gives_every_verdict_computing_them_gives(script: Script, seed: int,
                                                                  wrong: int) -> None:
    trace = _traced(script, "linux", random.Random(seed))
    if 0 <= wrong < len(trace.steps):  # one line the profile does not allow: keep_going on
        steps = list(trace.steps)
        bad: Result = Err("EPROTO")
        steps[wrong] = attrs.evolve(steps[wrong], expected=bad)
        trace = Script(trace.file, tuple(steps))
    carried = check(trace, "linux", keep_going=True, audit=True)
    assert carried == check(trace, "linux", keep_going=True, share=False)


@pytest.mark.parametrize("profile", ["freebsd-src", "gvisor"])
def test_carrying_lines_agrees_on_other_profiles(profile: str) -> None:
    rng = random.Random(7)
    trace = _traced(parse(GROUP, "<group>"), profile, rng)
    assert check(trace, profile, audit=True) == check(trace, profile, share=False)


def test_a_refused_line_leaves_every_way_its_very_state() -> None:
    trace = _traced(parse(GROUP + "\nlisten(x, 1)\nbind(a)", "<group>"), "linux",
                    random.Random(1))
    runs = [ModelRun(get("linux"))]
    for step in trace.steps[:-1]:
        runs = [r for ways in worlds.branches(runs, step) for _, r in ways]
    assert len(runs) > 1
    before = [r.state for r in runs]
    taken = worlds.branches(runs, trace.steps[-1])  # bind(a) again: EINVAL, nothing changes
    assert all(len(ways) == 1 for ways in taken)
    assert [ways[0][0].result for ways in taken] == [Err("EINVAL")] * len(runs)
    assert all(ways[0][1].state is b for ways, b in zip(taken, before, strict=True))


def test_the_audit_catches_a_read_set_that_leaves_out_the_group(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Deliberately broken: aiming at an address reads nothing. The second connect(c2, a) is
    # then carried between ways whose listeners hold different queues, and the audit sees it.
    trace = _traced(parse(GROUP, "<group>"), "linux", random.Random(1))
    monkeypatch.setattr(footprint.Reads, "at_address", lambda self, addr: 0)
    with pytest.raises(AssertionError, match="connect"):
        check(trace, "linux", audit=True)
