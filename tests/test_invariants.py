"""models/invariants.py can fail: each named invariant, fed a step that breaks it just past its
boundary, names itself, and at the boundary stays silent. (The real model never breaks one, so
without these a weakened check would pass every other test: the mutation run's survivors.)"""

from __future__ import annotations

import attrs
import pytest

from listenspec.models import invariants, rules
from listenspec.models.outcome import Outcome
from listenspec.models.profiles import PROFILES
from listenspec.models.state import ORPHAN, Host, Listener, Pending
from listenspec.results import Err, Ret
from listenspec.runner import ModelRun
from listenspec.script import parse

LINUX = PROFILES["linux"]
SRC = PROFILES["freebsd-src"]  # incomplete queue q+1, evicting in a loop
F13 = PROFILES["freebsd-13"]  # 3q/2, one eviction per arrival


def _state(text: str, profile: object = LINUX) -> tuple[Host, ModelRun]:
    run = ModelRun(profile)  # type: ignore[arg-type]
    for step in parse(text).steps:
        run.step(step)
    return run.state, run


LISTENING = "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n"


def _fd_of(h: Host) -> int:
    """The descriptor of the one socket (the model's numbering is its own business)."""
    ((fd, _sid),) = h.fds.items()
    return fd


def _listener(h: Host) -> tuple[int, Listener]:
    ((sid, lst),) = invariants._listeners(h).items()
    return sid, lst


def _with(h: Host, sid: int, **changes: object) -> Host:
    sock = h.socks[sid]
    lst = attrs.evolve(sock.listener, **changes)  # type: ignore[misc]
    return attrs.evolve(h, socks=h.socks.set(sid, attrs.evolve(sock, listener=lst)))


def _pending(n: int) -> tuple[Pending, ...]:
    return tuple(Pending(conn=100 + i, client=200 + i, born=0) for i in range(n))


def _broken(profile: object, before: Host, call: str, args: tuple[object, ...], after: Host,
            result: object = Ret(0), refused: bool = False) -> list[str]:
    out = Outcome(after, result, refused=refused)  # type: ignore[arg-type]
    return invariants.check_step(profile, before, call, args, out)  # type: ignore[arg-type]


def test_every_invariant_has_a_test_here() -> None:
    tested = {"refused-unchanged", "clamp", "queue-bound", "incq-bound", "evict-oldest",
              "relisten-keeps", "fds-consistent", "poll-listener"}
    assert set(invariants.INVARIANTS) == tested


def test_a_refusal_that_changes_the_state() -> None:
    h, _ = _state(LISTENING)
    assert _broken(LINUX, h, "accept", (3,), h, Err("EAGAIN"), refused=True) == []
    changed = attrs.evolve(h, clock=h.clock + 1)
    assert _broken(LINUX, h, "accept", (3,), changed, Err("EAGAIN"),
                   refused=True) == ["refused-unchanged"]
    assert _broken(LINUX, h, "accept", (3,), changed, Err("EAGAIN")) == []


def test_descriptors_and_addresses_name_open_sockets() -> None:
    h, _ = _state(LISTENING + "f = open()\n")
    assert list(invariants.check_state(LINUX, h)) == []  # a file's descriptor names -1
    ghost = attrs.evolve(h, fds=h.fds.set(9, 12345))
    assert list(invariants.check_state(LINUX, ghost)) == ["fds-consistent"]
    sid, _ = _listener(h)
    ((addr, _held),) = h.addrs.items()
    for held, broken in (((sid, ORPHAN), []), ((), ["fds-consistent"]),
                         ((sid, 12345), ["fds-consistent"])):
        got = list(invariants.check_state(LINUX, attrs.evolve(h, addrs=h.addrs.set(addr, held))))
        assert got == broken, held


def test_a_listener_that_polls_against_its_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    h, _ = _state(LISTENING)
    sid, _ = _listener(h)
    assert list(invariants.check_state(LINUX, h)) == []
    full = _with(h, sid, comp=_pending(1))
    assert list(invariants.check_state(LINUX, full)) == []
    real = rules.poll_events
    for lie in ({"POLLIN": 1}, {"POLLOUT": 1}):
        monkeypatch.setattr(rules, "poll_events", lambda p, f, lie=lie: lie)
        assert list(invariants.check_state(LINUX, h)) == ["poll-listener"], lie
        # not asked of a listener with a pending error or one shut down
        err = attrs.evolve(h, socks=h.socks.set(sid, attrs.evolve(h.socks[sid], error="EIO")))
        shut = attrs.evolve(h, socks=h.socks.set(sid, attrs.evolve(h.socks[sid], shut=1)))
        assert list(invariants.check_state(LINUX, err)) == []
        assert list(invariants.check_state(LINUX, shut)) == []
    monkeypatch.setattr(rules, "poll_events", lambda p, f: {"POLLIN": 1})
    assert list(invariants.check_state(LINUX, full)) == []
    monkeypatch.setattr(rules, "poll_events", lambda p, f: {})
    assert list(invariants.check_state(LINUX, full)) == ["poll-listener"]
    monkeypatch.setattr(rules, "poll_events", real)


def test_listen_clamps_the_backlog() -> None:
    before, _ = _state("s = socket(AF_INET, SOCK_STREAM)\n")
    after, _ = _state(LISTENING)
    sid, _ = _listener(after)
    fd = _fd_of(before)  # s's descriptor, the same in both states
    lim = LINUX.default("limit")

    def at(q: int) -> Host:
        return _with(after, sid, qlimit=q)

    assert _broken(LINUX, before, "listen", (fd, 2), at(2)) == []
    assert _broken(LINUX, before, "listen", (fd, 2), at(3)) == ["clamp"]
    assert _broken(LINUX, before, "listen", (fd, lim), at(lim)) == []
    assert _broken(LINUX, before, "listen", (fd, lim + 1), at(lim)) == []
    assert _broken(LINUX, before, "listen", (fd, lim + 1), at(lim + 1)) == ["clamp"]
    assert _broken(LINUX, before, "listen", (fd, -1), at(0)) == []
    assert _broken(LINUX, before, "listen", (fd, -1), at(-1)) == ["clamp"]
    assert _broken(LINUX, before, "listen", (fd, 0), at(1)) == ["clamp"]
    # a failed listen is not held to it
    assert _broken(LINUX, before, "listen", (fd, 2), at(3), Err("EINVAL")) == []


def test_a_relisten_keeps_both_queues() -> None:
    h, _ = _state(LISTENING)
    sid, _ = _listener(h)
    fd = _fd_of(h)
    before = _with(h, sid, comp=_pending(1), incomp=_pending(2)[1:])
    assert _broken(LINUX, before, "listen", (fd, 2), before) == []
    for changed in (_with(before, sid, comp=()), _with(before, sid, incomp=())):
        assert _broken(LINUX, before, "listen", (fd, 2), changed) == ["relisten-keeps"]


def test_an_admission_stays_within_the_completed_bound() -> None:
    h, _ = _state(LISTENING)
    sid, lst = _listener(h)
    top = rules.max_completed(LINUX, lst.qlimit)
    before = _with(h, sid, comp=_pending(top - 1))
    assert _broken(LINUX, before, "connect", (4, None), _with(h, sid, comp=_pending(top))) == []
    over = _with(h, sid, comp=_pending(top + 1))
    assert _broken(LINUX, before, "connect", (4, None), over) == ["queue-bound"]
    # a queue already past the bound (a lowering re-listen) that does not grow is not flagged
    assert _broken(LINUX, over, "connect", (4, None), over) == []
    # nor is a listener that is new in this step
    assert _broken(LINUX, h, "connect", (4, None), h) == []


FILTERED = ('s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n'
            'setsockopt(s, SO_ACCEPTFILTER, "dataready")\n')


@pytest.mark.parametrize("profile", [SRC, F13], ids=["loop", "one"])
def test_arrivals_evict_the_oldest_and_keep_the_incomplete_bound(profile: object) -> None:
    h, _ = _state(FILTERED, profile)
    sid, lst = _listener(h)
    cap = rules.incq_bound(profile, lst.qlimit)  # type: ignore[arg-type]
    waiting = _pending(cap + 2)
    before = _with(h, sid, incomp=waiting[:cap])
    # the oldest goes, the newcomer joins at the end: within the bound
    ok = _with(h, sid, incomp=(*waiting[1:cap], waiting[cap]))
    assert _broken(profile, before, "connect", (4, None), ok) == []
    # the second oldest went instead
    wrong = _with(h, sid, incomp=(waiting[0], *waiting[2:cap], waiting[cap]))
    assert _broken(profile, before, "connect", (4, None), wrong) == ["evict-oldest"]
    # nobody went: one past the bound (flagged whenever the queue loops; one eviction per
    # arrival is held to it only when the queue was below its capacity)
    over = _with(h, sid, incomp=(*waiting[:cap], waiting[cap]))
    expect = ["incq-bound"] if profile is SRC else []
    assert _broken(profile, before, "connect", (4, None), over) == expect
    below = _with(h, sid, incomp=waiting[:cap - 1])
    jump = _with(h, sid, incomp=(*waiting[:cap - 1], *waiting[cap:cap + 2]))
    assert _broken(profile, below, "connect", (4, None), jump) == ["incq-bound"]
    # an arrival to exactly the bound is fine, from below
    exact = _with(h, sid, incomp=waiting[:cap])
    assert _broken(profile, below, "connect", (4, None), exact) == []
    # and a step that adds nobody checks no eviction order
    fewer = _with(h, sid, incomp=waiting[1:cap])
    assert _broken(profile, before, "connect", (4, None), fewer) == []


def test_the_clamp_at_a_limit_of_zero_and_a_backlog_at_the_limit() -> None:
    before, _ = _state("s = socket(AF_INET, SOCK_STREAM)\n")
    after, _ = _state(LISTENING)
    sid, _ = _listener(after)
    lim = LINUX.default("limit")
    # a backlog equal to the limit must be kept as it is
    fd = _fd_of(before)
    assert _broken(LINUX, before, "listen", (fd, lim), _with(after, sid, qlimit=lim - 1)) == [
        "clamp"]
    # somaxconn 0: the limit is 0, and still held
    zero = attrs.evolve(before, sysctl=before.sysctl.set("limit", 0))
    assert _broken(LINUX, zero, "listen", (fd, 2), _with(after, sid, qlimit=0)) == []
    assert _broken(LINUX, zero, "listen", (fd, 2), _with(after, sid, qlimit=1)) == ["clamp"]


def test_a_step_that_only_releases_a_waiting_connection_is_no_eviction() -> None:
    # an accept filter releasing the second oldest (its data came) adds nobody: no order check
    h, _ = _state(FILTERED, SRC)
    sid, _ = _listener(h)
    waiting = _pending(3)
    before = _with(h, sid, incomp=waiting)
    released = _with(h, sid, incomp=(waiting[0], waiting[2]), comp=(waiting[1],))
    assert _broken(SRC, before, "connect", (4, None), released) == []


def test_a_step_checks_the_state_it_reaches_once() -> None:
    # check_step() checks the state a call reached (by default), not again a state the call
    # returned unchanged (the step that reached it did), and leaves them to the caller with
    # state=False (the explorer checks once per state key)
    h, _ = _state(LISTENING)
    ghost = attrs.evolve(h, fds=h.fds.set(9, 12345))
    assert _broken(LINUX, h, "netstat", (3,), ghost) == ["fds-consistent"]
    assert _broken(LINUX, ghost, "netstat", (3,), ghost) == []
    out = Outcome(ghost, Ret(0))
    assert invariants.check_step(LINUX, h, "netstat", (3,), out, state=False) == []
    assert invariants.check_step(LINUX, h, "netstat", (3,), out, state=True) == ["fds-consistent"]
