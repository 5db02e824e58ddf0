"""The Hypothesis machines: they run for every profile, catch broken rules with a shrunk
counterexample script that the runner reproduces, and reach the deep states they aim at."""

from __future__ import annotations

import argparse
import io
import unittest
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase
from injected import admit_one_more, assert_reproduces, evict_one_fewer

from listenspec import deepstates, measure, stages
from listenspec import machines as m
from listenspec.checked import CheckedRun, replay
from listenspec.commands import machines as machines_cmd
from listenspec.models import rules
from listenspec.models.profiles import PROFILES, get
from listenspec.script import parse


@pytest.mark.parametrize("profile", list(PROFILES))
def test_machine_runs_clean_for_every_profile(profile: str) -> None:
    m.run_machine(profile, examples=15, steps=25, seed_value=0)


@pytest.mark.parametrize(("inject", "invariant"), [
    (admit_one_more, "queue-bound"),
    (evict_one_fewer, "incq-bound"),
])
def test_injected_bug_is_caught_with_a_reproducing_script(
        monkeypatch: pytest.MonkeyPatch, inject: Any, invariant: str) -> None:
    """The quick version (no shrinking): the first failing run already carries a script."""
    inject(monkeypatch)
    with pytest.raises(m.InvariantBroken) as info:
        m.run_machine("freebsd-main", examples=60, steps=15, seed_value=1,
                      counterexample_dir=None, phases=(Phase.generate,))
    message = str(info.value)
    assert invariant in message
    script = message[message.index("# counterexample"):]
    assert_reproduces("freebsd-main", script, invariant)


@pytest.mark.slow
@pytest.mark.parametrize(("inject", "invariant"), [
    (admit_one_more, "queue-bound"),
    (evict_one_fewer, "incq-bound"),
])
def test_injected_bug_is_caught_shrunk_saved_and_reproducible(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        inject: Any, invariant: str) -> None:
    inject(monkeypatch)
    with pytest.raises(m.InvariantBroken) as info:
        m.run_machine("freebsd-main", examples=60, steps=15, seed_value=1,
                      counterexample_dir=tmp_path)
    message = str(info.value)
    assert invariant in message
    saved = list(tmp_path.glob("freebsd-main-machine-*.lsn"))
    assert len(saved) == 1, "exactly the shrunk (final) example is saved"
    script = saved[0].read_text()
    assert script in message  # the exception carries the script too
    assert script in capsys.readouterr().err  # and it was printed
    assert_reproduces("freebsd-main", script, invariant)
    assert len(parse(script).steps) <= 12, f"not shrunk:\n{script}"


def test_machine_for_testcase_uses_the_given_settings(tmp_path: Path) -> None:
    cls = m.machine_for("bsd-4.4", max_examples=3, stateful_step_count=10, database=None,
                        counterexample_dir=tmp_path)
    case = cls.TestCase
    assert case.settings.max_examples == 3
    assert case.settings.stateful_step_count == 10
    assert cls.profile is get("bsd-4.4")
    result = unittest.TextTestRunner(stream=io.StringIO()).run(case("runTest"))
    assert result.wasSuccessful()
    assert set(m.all_machines(max_examples=1)) == set(PROFILES)


def test_step_events_recognise_each_deep_state() -> None:
    p = get("freebsd-main")
    run = CheckedRun(p)
    events: set[str] = set()
    for step in parse("""
l = socket(AF_INET, SOCK_STREAM)
listen(l, 0)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, l)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, l)
c3 = socket(AF_INET, SOCK_STREAM)
connect(c3, l)
listen(l, 0)
f = socket(AF_INET, SOCK_STREAM)
listen(f, 0)
setsockopt(f, SO_ACCEPTFILTER, "dataready")
c4 = socket(AF_INET, SOCK_STREAM)
connect(c4, f)
c5 = socket(AF_INET, SOCK_STREAM)
connect(c5, f)
c6 = socket(AF_INET, SOCK_STREAM)
connect(c6, f)
""").steps:
        out, args, before = run.do(step.call, step.bind)
        assert not run.broken
        events |= deepstates.step_events(p, before, step.call.name, args, out)
    reached = deepstates.run_deep_states(events)
    assert reached == set(deepstates.applicable_deep_states(p)) == set(deepstates.DEEP_STATES)
    assert deepstates.applicable_deep_states(get("linux")) == (
        "queue-full", "overflow-refused", "relisten-below-qlen")


def test_deep_states_are_reached() -> None:
    """A small sample; benchmarks/deep_states.py measures the shares over 1,000 runs."""
    stats = measure.measure("freebsd-main", runs=60, steps=30)
    assert stats.runs == 60
    for d in stats.applicable:
        assert stats.share(d) > 0.03, measure.format_stats([stats])
    assert not stats.violations


def test_cli_and_verify_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    machines_cmd.register(sub)
    args = ap.parse_args(["machines", "--profile", "intime", "--examples", "5", "--steps", "10",
                          "--seed", "3", "--save-dir", str(tmp_path)])
    assert args.func(args) == 0
    assert "intime: ok" in capsys.readouterr().out
    res = stages.machines(True)
    assert res.name == "machines" and set(res.figures) == set(PROFILES)


def test_replay_reports_model_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(rules, "effective_backlog", boom)
    bad = replay("freebsd-src", "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n")
    assert bad and bad[0][0] == 2 and "model-error" in bad[0][1][0]
