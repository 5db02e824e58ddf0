"""A run on a real stack is a run of the script only while its steps take next to no time
(listenspec/kernel/timing.py): the drift each run reports, when a run is late, and that a run
made late by a pause is made again."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from listenspec.kernel.timing import ATTEMPTS, LATE_AFTER, PAUSE, Late, first_late, paused
from listenspec.results import Ret
from listenspec.script import parse


def test_a_run_is_late_from_the_first_step_whose_drift_passes_the_budget() -> None:
    assert first_late([]) is None
    assert first_late([0.001, 0.002, LATE_AFTER]) is None  # at the budget is not past it
    assert first_late([0.001, LATE_AFTER + 0.001, 0.5]) == 1


def test_only_a_single_slow_step_counts_as_a_pause() -> None:
    steady = [i * PAUSE / 2 for i in range(1, 10)]  # late, but every step a little
    assert first_late(steady) is not None and not paused(steady)
    assert paused([0.001, 0.001 + PAUSE, 0.2])
    # a slow step after the first late one is not what made the run late
    assert not paused([0.04, 0.08, 0.12, 0.12 + PAUSE])


def test_a_late_run_says_where_and_how_late() -> None:
    text = Late(step=3, drift=0.25, runs=ATTEMPTS).describe()
    assert "0.250 s outside sleep()" in text and f"after {ATTEMPTS} runs" in text


if sys.platform.startswith("linux"):
    from listenspec.kernel.netns import isolation_problem

    PROBLEM = isolation_problem()
else:  # pragma: no cover
    PROBLEM = "not Linux"
needs_netns = pytest.mark.skipif(PROBLEM is not None, reason=f"no private network namespace: "
                                                              f"{PROBLEM}")


def script(text: str):  # type: ignore[no-untyped-def]
    return parse(textwrap.dedent(text).strip() + "\n", "<test>")


@needs_netns
def test_sleep_is_not_drift() -> None:
    from listenspec.kernel.runner import Runner

    runner = Runner(isolated=True, ahead=False)
    try:
        runner.run(script("sleep(0.3)\ns = socket(AF_INET, SOCK_STREAM)").steps, 10.0)
    finally:
        runner.close()
    assert len(runner.drifts) == 2 and runner.drifts[-1] < LATE_AFTER
    assert runner.late is None


@needs_netns
def test_a_run_made_late_by_a_pause_is_made_again(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """The first run's child pauses in one step (as a busy machine would make it); the run is
    made again, and the second, on time, is the one returned."""
    from listenspec.kernel import executor
    from listenspec.kernel.runner import Runner

    marker = tmp_path / "paused"
    real = executor.Executor.run_step

    def pausing(self: executor.Executor, step):  # type: ignore[no-untyped-def]
        if step.call.name == "listen" and not marker.exists():
            marker.write_text("once")
            time.sleep(LATE_AFTER + 0.05)
        return real(self, step)

    monkeypatch.setattr(executor.Executor, "run_step", pausing)  # the forked child inherits it
    runner = Runner(isolated=True, ahead=False)
    try:
        results = runner.run(script("""
            s = socket(AF_INET, SOCK_STREAM)
            listen(s, 1)
            getsockopt(s, SO_ACCEPTCONN)
        """).steps, 10.0)
    finally:
        runner.close()
    assert marker.exists()  # the first run did pause
    assert runner.late is None and max(runner.drifts) < LATE_AFTER
    assert results[1:] == [Ret(0), Ret(1)]


@needs_netns
def test_a_run_that_stays_late_is_returned_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec.kernel import executor
    from listenspec.kernel.runner import Runner

    real = executor.Executor.run_step

    def always_pausing(self: executor.Executor, step):  # type: ignore[no-untyped-def]
        if step.call.name == "listen":
            time.sleep(LATE_AFTER + 0.05)
        return real(self, step)

    monkeypatch.setattr(executor.Executor, "run_step", always_pausing)
    runner = Runner(isolated=True, ahead=False)
    try:
        results = runner.run(script("""
            s = socket(AF_INET, SOCK_STREAM)
            listen(s, 1)
        """).steps, 10.0)
    finally:
        runner.close()
    assert results[1] == Ret(0)
    assert runner.late == Late(step=1, drift=runner.drifts[1], runs=ATTEMPTS)


@needs_netns
def test_run_says_from_which_line_a_run_stayed_late(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from listenspec.cli import main
    from listenspec.kernel import executor

    real = executor.Executor.run_step

    def always_pausing(self: executor.Executor, step):  # type: ignore[no-untyped-def]
        if step.call.name == "listen":
            time.sleep(LATE_AFTER + 0.05)
        return real(self, step)

    monkeypatch.setattr(executor.Executor, "run_step", always_pausing)
    path = tmp_path / "late.lsn"
    path.write_text("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n")
    assert main(["run", str(path), "--kernel"]) == 0
    out, err = capsys.readouterr()
    assert "listen(s, 1) = 0" in out
    assert f"{path}:2: note: the run had spent" in err and f"after {ATTEMPTS} runs" in err
