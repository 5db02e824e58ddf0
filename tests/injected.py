"""Deliberately broken rules, injected by the machine and explorer tests, and the check that a
counterexample they find reproduces with the runner."""

from __future__ import annotations

from typing import Any

import pytest

from listenspec.checked import replay
from listenspec.models import rules
from listenspec.models.profiles import get
from listenspec.runner import ModelRun
from listenspec.script import parse


def admit_one_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """`admits` off by one: lets in one connection more than the profile allows."""
    orig = rules.admits
    monkeypatch.setattr(rules, "admits",
                        lambda p, qlen, ho, q: orig(p, max(qlen - 1, 0), ho, q))


def evict_one_fewer(monkeypatch: pytest.MonkeyPatch) -> None:
    """`evictions` off by one: a full accept-filter queue keeps one connection too many."""
    orig = rules.evictions
    monkeypatch.setattr(rules, "evictions", lambda p, n, q: max(orig(p, n, q) - 1, 0))


def listener_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`poll_events` says a listener is writable (no listener ever is)."""
    orig = rules.poll_events

    def broken(p: Any, f: rules.PollFacts) -> dict[str, Any]:
        ev = orig(p, f)
        return {**ev, "POLLOUT": True} if f.listening else ev
    monkeypatch.setattr(rules, "poll_events", broken)


def acceptable_listener_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`poll_events` says a listener with a connection to accept is writable (the
    poll-listener state invariant breaks only once a connection is queued)."""
    orig = rules.poll_events

    def broken(p: Any, f: rules.PollFacts) -> dict[str, Any]:
        ev = orig(p, f)
        return {**ev, "POLLOUT": True} if f.listening and f.acceptable else ev
    monkeypatch.setattr(rules, "poll_events", broken)


def assert_reproduces(profile: str, script: str, invariant: str) -> None:
    """The script runs with the runner, and its last call is the one breaking `invariant`."""
    steps = parse(script).steps
    bad = replay(profile, script)
    assert bad, "the counterexample does not reproduce"
    line, broken = bad[0]
    assert invariant in broken
    assert line == steps[-1].line
    list(ModelRun(get(profile)).run(parse(script)))  # runs to the end without an exception


def clamp_one_more(monkeypatch: pytest.MonkeyPatch) -> None:
    """`effective_backlog` off by one: a backlog above the limit gets limit + 1."""
    orig = rules.effective_backlog
    monkeypatch.setattr(rules, "effective_backlog",
                        lambda p, b, lim: lim + 1 if b > lim else orig(p, b, lim))
