"""The explorer's reductions (symmetry, partial-order reduction, lazy socket creation) and its
split into shares and worker processes keep what it finds: the same violations of deliberately
broken rules at the same depth, the same states seen, the same counts for any number of
workers; and each reduction does reduce."""

from __future__ import annotations

from typing import Any

import pytest
from injected import admit_one_more, assert_reproduces, clamp_one_more, evict_one_fewer
from test_explore import observation

from listenspec import explore as ex
from listenspec import footprint as fp
from listenspec import statekey as sk
from listenspec.alphabet import Alphabet
from listenspec.composite import run_call
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
