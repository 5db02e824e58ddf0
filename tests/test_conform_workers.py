"""conform --workers: parallel runs never see each other, the result does not depend on the
number of workers, and a runner keeps its child for the next run, in a fresh namespace made
ahead of use."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from listenspec import conform, conformpool
from listenspec.conformpool import Workers
from listenspec.errors import ListenspecError
from listenspec.kernel import executor as kexec
from listenspec.kernel import libc
from listenspec.models import profiles
from listenspec.results import Err, Ret, render
from listenspec.script import Script, parse
from listenspec.targets import target

PORT = 47_011
UNIX_NAME = b"\0listenspec-test-same-name"

#: both runs bind the same fixed port and abstract AF_UNIX name, then hold them while they sleep
#: (together); a second bind of each in the same run shows the addresses really are the same
SAME_ADDRESSES = """\
s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 0)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
listen(u, 0)
s2 = socket(AF_INET, SOCK_STREAM)
bind(s2)
u2 = socket(AF_UNIX, SOCK_STREAM)
bind(u2)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
sleep(1.5)
counter("ListenOverflows")
"""


def _needs_netns() -> None:
    from listenspec.kernel.netns import isolation_problem

    problem = isolation_problem()
    if problem is not None:
        pytest.skip(f"no private network namespace: {problem}")


def _fixed(self: Any, family: int) -> bytes:
    if family == socket.AF_UNIX:
        return libc.sockaddr_un(UNIX_NAME)
    return libc.sockaddr_in("127.0.0.1", PORT)


def _run(script: Script, stack: Any) -> tuple[float, list[str], float]:
    started = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    lines = [render(r) for r in stack.run(script)]
    return started, lines, time.monotonic()


def test_parallel_runs_never_see_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_netns()
    monkeypatch.setattr(kexec.Executor, "_fresh_addr", _fixed)  # the workers inherit it
    script = parse(SAME_ADDRESSES, "<same addresses>")
    pool = Workers(2, lambda: target("linux"), _run)
    try:
        got = dict(pool.checks([script, script]))
    finally:
        pool.close()
    steps = [s.text for s in script.steps]
    for _, lines, _ in got.values():
        by = dict(zip(steps, lines, strict=True))
        assert by["bind(s)"] == by["bind(u)"] == render(Ret(0))  # both runs hold both
        assert by["bind(s2)"] == by["bind(u2)"] == render(Err("EADDRINUSE"))
        assert by["counter(\"ListenOverflows\")"] == render(Ret(1))  # its own overflow only
    # they ran at the same time: each started before the other ended
    (start1, _, end1), (start2, _, end2) = got.values()
    assert max(start1, start2) < min(end1, end2), "the two runs did not overlap"


def _summary(stats: conform.ConformStats) -> dict[str, Any]:
    """What conform prints, less the time taken and where it saved a counterexample, and less
    the per-outcome coverage counts: those are what the kernel answered, and a timing-dependent
    answer (how far a timer got) may differ between any two runs, with any number of workers."""
    d = stats.as_dict()
    del d["seconds"], d["steps_per_second"], d["saved"], d["outcomes"]
    return d


def test_the_result_does_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    _needs_netns()
    one, report1 = conform.conform("linux", 16, 5, tmp_path, max_steps=12, workers=1)
    two, report2 = conform.conform("linux", 16, 5, tmp_path, max_steps=12, workers=2)
    assert report2 == report1
    assert one.scripts == 16 and one.mismatches == 0, report1
    assert _summary(one) == _summary(two)


def test_a_planted_divergence_is_shrunk_alike_by_any_number_of_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_netns()
    wrong = attrs.evolve(profiles.PROFILES["linux"], accept_not_listening="EOPNOTSUPP")
    monkeypatch.setitem(profiles.PROFILES, "linux", wrong)
    found = []
    for n in (1, 2):
        stats, report = conform.conform("linux", 60, 1, tmp_path / str(n), max_steps=12,
                                        workers=n)
        assert stats.mismatches == 1 and "<-- differs" in report
        found.append((_summary(stats), report.split(":\n", 1)[1]))
    assert found[0] == found[1]
    shrunk = parse(found[0][0]["counterexample"])
    assert len(shrunk.steps) <= 12 and any(s.call.name == "accept" for s in shrunk.steps)


def test_a_runner_keeps_its_child_and_gives_each_script_a_fresh_namespace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _needs_netns()
    from listenspec.kernel import kernel_runner, run_on_kernel, runner

    killed: list[int] = []
    real_kill = runner._kill_and_reap

    def spy(pid: int) -> None:
        killed.append(pid)
        real_kill(pid)

    monkeypatch.setattr(runner, "_kill_and_reap", spy)
    # each run writes a sysctl and leaves a listener and a connection open: the next must see
    # neither (a fresh namespace, nothing open but the pipes)
    script = parse('sysctl("net.core.somaxconn")\nsysctl("net.core.somaxconn", 7)\n'
                   "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 100)\nnetstat(s)\n"
                   "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n")
    r = kernel_runner()
    namespaces, pids = [], []
    try:
        for _ in range(3):
            got = [render(x) for x in run_on_kernel(script, runner=r)]
            assert got[0] == "4096" and got[4] == "0/0/7", got
            spare = r._spare
            assert spare is not None  # kept for the next run
            assert _ready(spare)  # in its next namespace, with only the pipes open
            namespaces.append(os.readlink(f"/proc/{spare.pid}/ns/net"))
            pids.append(spare.pid)
            fds = set(os.listdir(f"/proc/{spare.pid}/fd"))
            assert len(fds) <= 6, fds  # 0, 1, 2, the two pipes and the namespace it makes from
        assert len(set(pids)) == 1 and len(set(namespaces)) == 3
        assert os.readlink("/proc/self/ns/net") not in namespaces
        assert not killed  # no run's child was killed
    finally:
        r.close()
    assert killed == pids[:1]  # close() ends the kept child
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)


def _ready(child: object) -> bool:
    """The kept child's "ready" comes soon after its last result."""
    from listenspec.kernel import runner

    assert isinstance(child, runner._Child)
    if not child.ready:
        child.ready = runner._await_ready(child.results, 5.0, child.pending)
        child.pending = b""
    return child.ready


@pytest.mark.parametrize("seed_value", [None, 7])
def test_the_shrinking_pass_draws_the_scripts_the_first_pass_drew(seed_value: int | None) -> None:
    # without a seed Hypothesis derives one from the test function: both passes must use the
    # same function, or the mismatch found in the first would not be drawn in the second
    from hypothesis import Phase

    from listenspec.scriptgen import script_text, scripts

    gen = scripts(max_steps=25, syn=True, profile="linux")
    first = [script_text(s) for s in conform._draw(gen, 15, seed_value)]
    again: list[str] = []
    conform._hypothesis(gen, 15, seed_value, [Phase.generate, Phase.shrink],
                        lambda s: again.append(script_text(s)))
    assert again == first


# --- the scheduler: sleepers first, the longest first, and nothing queued behind one


def _timed(script: Script, stack: Any) -> tuple[int, float, float]:
    started = time.monotonic()
    time.sleep(conformpool.waits(script))  # as a kernel run waits out its sleep() steps
    return os.getpid(), started, time.monotonic()


def test_sleepers_go_first_and_nothing_waits_behind_one(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n")
    short = parse("s = socket(AF_INET, SOCK_STREAM)\nsleep(0.2)\n")
    long = parse("s = socket(AF_INET, SOCK_STREAM)\nsleep(0.5)\nsleep(0.5)\n")
    scripts = [quick, short, quick, long, quick, quick, quick]
    pool = Workers(3, contextlib.nullcontext, _timed)
    sent: list[int] = []
    when: dict[int, float] = {}
    real_send = conformpool._send

    def spy(fd: int, obj: Any) -> None:  # the parent's sends only: the workers are forked
        sent.append(obj[0])
        when[obj[0]] = time.monotonic()
        real_send(fd, obj)

    monkeypatch.setattr(conformpool, "_send", spy)
    try:
        got = dict(pool.checks(scripts))
    finally:
        pool.close()
    assert sorted(got) == list(range(len(scripts)))
    # the sleepers first, the longest first, started apart (so they do not wake together)
    assert sent[0] == 3 and [i for i in sent if i in (1, 3)] == [3, 1]
    assert when[1] - when[3] >= conformpool.SLEEPER_SPACING / conformpool.cores()
    # of 3 workers on this machine's cores one at least is kept for scripts that do not sleep,
    # and none is queued behind a sleeper: every quick script is done before the long one is
    assert all(got[i][2] < got[3][2] for i in (0, 2, 4, 5, 6))
    assert {got[i][0] for i in (0, 2, 4, 5, 6)}.isdisjoint({got[3][0]})


def test_the_sleeper_lanes_leave_a_core_to_the_rest() -> None:
    assert conformpool.sleeper_lanes(2, 2) == 1
    assert conformpool.sleeper_lanes(3, 2) == 2
    assert conformpool.sleeper_lanes(8, 2) == 6
    assert conformpool.sleeper_lanes(32, 2) == 30
    assert conformpool.sleeper_lanes(32, 64) == 16
    assert conformpool.waits(parse("sleep(0.25)\nsleep(1)\nlisten(3, 1)\n")) == 1.25
    assert conformpool.busy_lanes(32, 2) == 4 and conformpool.busy_lanes(3, 2) == 3


def test_scripts_that_do_not_sleep_hold_at_most_the_busy_lanes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    quick = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n")
    monkeypatch.setattr(conformpool, "cores", lambda: 1)  # busy lanes: 2 of the 6 workers
    pool = Workers(6, contextlib.nullcontext, _timed)
    try:
        got = dict(pool.checks([quick] * 12))
    finally:
        pool.close()
    assert len({pid for pid, _, _ in got.values()}) <= 2


def test_checks_start_while_the_scripts_are_still_being_drawn() -> None:
    quick = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n")
    pool = Workers(2, contextlib.nullcontext, _timed)

    def draw(put: Any) -> None:  # a slow draw: 6 scripts, 0.1 s apart (in its own process)
        for _ in range(6):
            time.sleep(0.1)
            put(quick)

    try:
        started = time.monotonic()
        source = conformpool.Drawing(draw)
        got = dict(pool.checks(source))
    finally:
        pool.close()
    assert sorted(got) == list(range(6)) and source.result() == [quick] * 6
    # the first was checked before the last can have been drawn
    assert got[0][2] < started + 0.6


def test_a_failed_draw_fails_the_checks_and_a_stopped_one_keeps_its_scripts() -> None:
    quick = parse("listen(3, 1)\n")

    def broken(put: Any) -> None:
        put(quick)
        raise ValueError("the generator failed")

    pool = Workers(2, contextlib.nullcontext, _timed)
    try:
        with pytest.raises(ValueError, match="the generator failed"):
            list(pool.checks(conformpool.Drawing(broken)))
    finally:
        pool.close()

    def endless(put: Any) -> None:
        while True:
            put(quick)
            time.sleep(0.001)

    source = conformpool.Drawing(endless)
    time.sleep(0.05)
    source.stop()
    assert source.complete and source.scripts and source.result() == source.scripts


def test_workers_forked_after_prepare_do_not_probe_the_kernel_again() -> None:
    from listenspec.kernel.netns import isolation_problem
    from listenspec.kernel.probes import probed
    from listenspec.targets import prepare

    prepare("linux")
    isolated = isolation_problem() is None
    before = probed.cache_info().misses

    def probes_made(script: Script, stack: Any) -> int:
        probed(isolated=isolated)  # as the worker's first kernel run asks
        return probed.cache_info().misses

    pool = Workers(2, contextlib.nullcontext, probes_made)
    try:
        got = dict(pool.checks([parse("s = socket(AF_INET, SOCK_STREAM)\n")] * 2))
    finally:
        pool.close()
    assert set(got.values()) == {before}


def _ran(script: Script, stack: Any) -> tuple[int, int]:
    return os.getpid(), len(script.steps)


def _judged(script: Script, ran: tuple[int, int]) -> tuple[int, int, int, int]:
    return (*ran, os.getpid(), os.sched_getscheduler(0))


def test_judges_check_what_the_workers_ran_at_idle_priority() -> None:
    scripts = [parse("s = socket(AF_INET, SOCK_STREAM)\n" * k) for k in range(1, 8)]
    pool = Workers(3, contextlib.nullcontext, _ran, then=_judged, judges=2)
    try:
        got = dict(pool.checks(scripts))
        one = pool.check(scripts[2])
    finally:
        pool.close()
    assert sorted(got) == list(range(7))
    assert [got[i][1] for i in range(7)] == list(range(1, 8))  # each judged its own run
    runners = {g[0] for g in got.values()}
    judges = {g[2] for g in got.values()}
    assert runners.isdisjoint(judges) and len(judges) <= 2 and os.getpid() not in judges
    assert {g[3] for g in got.values()} == {os.SCHED_IDLE}
    assert one[1] == 3 and one[3] == os.SCHED_IDLE


def test_a_judge_that_fails_fails_the_checks() -> None:
    def broken(script: Script, ran: Any) -> None:
        raise ValueError("the check failed")

    pool = Workers(2, contextlib.nullcontext, _ran, then=broken)
    try:
        with pytest.raises(ListenspecError, match="the check failed"):
            list(pool.checks([parse("listen(3, 1)\n")] * 3))
    finally:
        pool.close()
