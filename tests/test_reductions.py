"""The explorer's reductions (symmetry, partial-order reduction, lazy socket creation) and its
split into shares and worker processes keep what it finds: the same violations of deliberately
broken rules at the same depth, the same states seen, the same counts for any number of
workers; and each reduction does reduce."""

from __future__ import annotations

from typing import Any

import pytest
from injected import (
    acceptable_listener_writable,
    admit_one_more,
    assert_reproduces,
    clamp_one_more,
    evict_one_fewer,
)
from test_explore import observation

from listenspec import explore as ex
from listenspec import footprint as fp
from listenspec import statekey as sk
from listenspec.alphabet import Alphabet
from listenspec.composite import run_call
from listenspec.expand import Expander
from listenspec.models.profiles import get

#: one reduction off at a time, against all of them on
CONFIGS: dict[str, dict[str, Any]] = {
    "all": {"symmetry": True, "por": True, "lazy": True},
    "no-symmetry": {"symmetry": False, "por": True, "lazy": True},
    "no-por": {"symmetry": True, "por": False, "lazy": True},
    "no-lazy": {"symmetry": True, "por": True, "lazy": False},
    "none": {"symmetry": False, "por": False, "lazy": False},
}


def _first_depths(r: ex.ExploreResult) -> dict[str, int]:
    """invariant -> the length of the shortest counterexample breaking it"""
    out: dict[str, int] = {}
    for broken, n in zip(r.broken, r.depths, strict=True):
        for name in broken:
            out[name] = min(out.get(name, n), n)
    return out


SLOW = pytest.mark.slow


@pytest.mark.parametrize(("inject", "invariant", "depth", "configs"), [
    (clamp_one_more, "clamp", 3, list(CONFIGS)),
    (admit_one_more, "queue-bound", 6, ["all", "none"]),
    pytest.param(admit_one_more, "queue-bound", 6, list(CONFIGS), marks=SLOW),
    pytest.param(evict_one_fewer, "incq-bound", 7, list(CONFIGS), marks=SLOW),
])
def test_every_reduction_finds_the_same_violations_at_the_same_depth(
        monkeypatch: pytest.MonkeyPatch, inject: Any, invariant: str, depth: int,
        configs: list[str]) -> None:
    inject(monkeypatch)
    # freebsd-src (14.2) filters hold nothing, so the accept-filter queue fills on main only
    profile = "freebsd-main" if invariant == "incq-bound" else "freebsd-src"
    found = {}
    for name in configs:
        kw = CONFIGS[name]
        r = ex.explore(profile, depth, progress=False, max_violations=0, **kw)
        assert r.complete
        found[name] = _first_depths(r)
        script = r.violations[0]
        assert_reproduces(profile, script, r.broken[0][0])
    assert found["all"][invariant] == depth
    assert all(f == found["none"] for f in found.values()), found


@pytest.mark.parametrize(("profile", "depth", "domains"), [
    ("freebsd-src", 5, ("AF_INET",)),
    ("linux", 4, ("AF_INET", "AF_UNIX")),
    ("bsd-4.4", 5, ("AF_INET",)),
])
def test_every_reduction_sees_the_same_states(profile: str, depth: int,
                                              domains: tuple[str, ...]) -> None:
    for collect in (observation, sk.state_key):
        seen = {name: ex.explore(profile, depth, domains=domains, progress=False,
                                 collect=collect, **kw).states
                for name, kw in CONFIGS.items() if kw["symmetry"] or collect is observation}
        assert all(s == seen["all"] for s in seen.values())


def test_each_reduction_reduces() -> None:
    r = {name: ex.explore("freebsd-src", 5, progress=False, **kw) for name, kw in CONFIGS.items()}
    # symmetry and lazy creation store fewer states; the partial-order reduction tries fewer
    # moves (it never removes a state)
    assert r["all"].distinct_states < r["no-symmetry"].distinct_states
    assert r["all"].distinct_states < r["no-lazy"].distinct_states
    assert r["all"].distinct_states == r["no-por"].distinct_states
    assert r["all"].transitions < r["no-por"].transitions
    assert r["all"].transitions < r["none"].transitions


def test_independent_moves_commute() -> None:
    """The footprints' claim, checked on every pair of moves the reduction calls independent
    in states up to depth 5 where a listener has a connection queued: both orders reach the
    same key, and each move gives the same result whether or not the other went first."""
    p = get("freebsd-src")
    moves = Alphabet(p).compile()
    states = ex.explore(p, 5, progress=False, collect=lambda h: h, lazy=False).states
    assert states is not None
    busy = [h for h in states if any(s.listener and s.listener.comp for s in h.socks.values())]
    pairs = 0
    for h in sorted(busy, key=sk.state_key)[::4]:
        tried = []
        for action, call, args in moves(h):
            out, broken = run_call(p, h, call, args)
            if out is None:
                continue
            r = fp.reads(h, call, [action[j] for j in _fds(action)], _target(action))
            tried.append((action, call, args, out, broken, r, fp.writes(h, out.state)))
        for i, (_a1, c1, g1, o1, b1, r1, w1) in enumerate(tried):
            for _a2, c2, g2, o2, b2, r2, w2 in tried[i + 1:]:
                if not fp.independent(r1, w1, r2, w2):
                    continue
                pairs += 1
                after1, got2 = run_call(p, o1.state, c2, g2)
                after2, got1 = run_call(p, o2.state, c1, g1)
                assert after1 is not None and after2 is not None
                assert sk.state_key(after1.state) == sk.state_key(after2.state)
                assert after1.result == o2.result and after2.result == o1.result
                assert (got1, got2) == (b1, b2)
    assert pairs > 500


def _fds(action: tuple[Any, ...]) -> tuple[int, ...]:
    from listenspec.alphabet import fd_positions
    return fd_positions(action)[0]


def _target(action: tuple[Any, ...]) -> int | None:
    from listenspec.alphabet import fd_positions
    t = fd_positions(action)[1]
    return None if t is None else action[t]


@pytest.mark.parametrize("kw", [{"shares": 3}, {"workers": 2}])
def test_any_number_of_workers_gives_the_same_search(monkeypatch: pytest.MonkeyPatch,
                                                      kw: dict[str, int]) -> None:
    admit_one_more(monkeypatch)
    one = ex.explore("freebsd-src", 6, progress=False)
    many = ex.explore("freebsd-src", 6, progress=False, **kw)
    assert many.layers == one.layers and many.transitions == one.transitions
    assert many.violations == one.violations and many.violations


@pytest.mark.parametrize(("alphabet", "depth"), [("full", 6), ("anchor", 6)])
def test_state_invariants_once_per_key_find_what_checks_on_every_call_find(
        monkeypatch: pytest.MonkeyPatch, alphabet: str, depth: int) -> None:
    # a state invariant that breaks only once a connection is queued, and a step invariant
    # that breaks on the same calls, so some calls break both (one set of findings)
    acceptable_listener_writable(monkeypatch)
    admit_one_more(monkeypatch)
    got = {}
    for once in (True, False):
        monkeypatch.setattr(Expander, "state_once", once)
        r = ex.explore("freebsd-src", depth, alphabet=alphabet, max_violations=5,
                       progress=False)
        got[once] = (r.violations, r.broken, r.depths, r.layers, r.transitions)
    assert got[True] == got[False]
    assert ["poll-listener"] in got[True][1]
    assert_reproduces("freebsd-src", got[True][0][0], got[True][1][0][0])


@pytest.mark.parametrize("alphabet", ["full", "anchor"])
def test_a_stored_successor_still_gets_its_state_findings_with_a_step_finding(
        monkeypatch: pytest.MonkeyPatch, alphabet: str) -> None:
    # Each state expanded as if every successor were stored already: a call that also breaks
    # a step invariant reports its state findings too, exactly as checks on every call do
    # (else its set of findings would differ); only state findings alone may be left out.
    acceptable_listener_writable(monkeypatch)
    admit_one_more(monkeypatch)
    p = get("freebsd-src")
    prep = ex._prepare(p, alphabet, 2, 2, ("AF_INET",), False, True)
    keys = ex.explore(p, 5, alphabet=alphabet, progress=False, max_violations=0,
                      collect=sk.state_key).states
    assert keys
    both = 0
    for key in keys:
        found = []
        for once in (True, False):
            monkeypatch.setattr(Expander, "state_once", once)
            e = Expander(p, prep).expand(key, remaining=3, known=lambda k: True)
            found.append(sorted((sorted(b), i, at) for b, i, at in e.violations))
        with_step = [[v for v in f if set(v[0]) - STATE_INVARIANTS] for f in found]
        assert with_step[0] == with_step[1]
        assert all(v in found[1] for v in found[0])
        both += any(b == ["poll-listener", "queue-bound"] for b, _, _ in with_step[0])
    assert both, "no call broke both invariants: the test checks nothing"


#: the invariants invariants.check_state makes
STATE_INVARIANTS = {"fds-consistent", "poll-listener"}
