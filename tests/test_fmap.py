"""models.state.FMap is persistent: every version keeps its own contents, however the versions
are made from one another and in whatever order they are read (it shares one dict between them,
issue 14.2)."""

from __future__ import annotations

import copy
import itertools
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from listenspec.models import state
from listenspec.models.state import FMap

KEYS = st.integers(0, 12)
OPS = st.lists(
    st.tuples(st.integers(0, 10_000), st.sampled_from(["set", "remove", "read"]), KEYS,
              st.integers(0, 3)),
    max_size=60,
)


def _gap(d: dict[int, int], start: int) -> int:
    g = start
    while g in d:
        g += 1
    return g


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, st.integers(0, 3), max_size=8), OPS, st.sampled_from([0, 4, 32]))
def test_every_version_keeps_its_contents(initial: dict[int, int],
                                          ops: list[tuple[int, str, int, int]],
                                          small: int) -> None:
    # SMALL 0: every version shares the dict (rerooting); 32: every one copies (copy on write);
    # 4: families that cross between the two.
    old, state.SMALL = state.SMALL, small
    try:
        _versions_keep_their_contents(initial, ops)
    finally:
        state.SMALL = old


def _versions_keep_their_contents(initial: dict[int, int],
                                  ops: list[tuple[int, str, int, int]]) -> None:
    versions: list[tuple[FMap[int, int], dict[int, int]]] = [(FMap(initial), dict(initial))]
    for pick, op, key, value in ops:
        fm, d = versions[pick % len(versions)]  # branch from any version, old or new
        if op == "set":
            versions.append((fm.set(key, value), {**d, key: value}))
        elif op == "remove" and key in d:
            versions.append((fm.remove(key), {k: v for k, v in d.items() if k != key}))
        else:
            assert dict(fm.items()) == d
            assert fm.first_gap(3) == _gap(d, 3)
            assert set(fm.keys_of(value)) == {k for k, v in d.items() if v == value}
    for fm, d in reversed(versions):  # and read them all again, in another order
        assert len(fm) == len(d) and dict(fm) == d and fm.get(99) is None
        assert all(fm[k] == v and k in fm for k, v in d.items())
        assert fm == FMap(d) and hash(fm) == hash(FMap(d))
        assert fm.first_gap(0) == _gap(d, 0)
    for (a, da), (b, db) in itertools.pairwise(versions):
        assert (a == b) == (da == db)  # equality between versions of one family


def test_iterating_a_version_while_reading_another_sees_its_own_contents() -> None:
    a = FMap({i: i for i in range(1, state.SMALL + 2)})
    b = a.set(3, 3)
    seen = []
    for k, v in a.items():
        assert 3 in b  # reads b, which moves the shared dict to b
        seen.append((k, v))
    assert seen == [(i, i) for i in range(1, state.SMALL + 2)]


def test_a_long_forward_run_is_cheap_and_the_first_version_survives() -> None:
    first: FMap[int, int] = FMap()
    fm = first
    for i in range(20_000):
        fm = fm.set(fm.first_gap(3), i)
    assert len(fm) == 20_000 and fm.first_gap(3) == 20_003
    assert len(first) == 0 and dict(first) == {}  # 20,000 differences back, iteratively
    assert len(fm) == 20_000 and fm[20_002] == 19_999


def test_remove_of_a_missing_key_is_a_key_error() -> None:
    try:
        FMap({1: 2}).remove(5)
    except KeyError:
        return
    raise AssertionError("no KeyError")


def test_copies_and_pickles_are_independent() -> None:
    a = FMap({1: 1})
    b = a.set(2, 2)
    for other in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert other == a and dict(other) == {1: 1}
    assert dict(b) == {1: 1, 2: 2}


def test_iterating_a_version_while_another_changes_its_size() -> None:
    # the shared dict moves to b (one key more, one less) while a's items are being read
    a = FMap({i: i for i in range(1, state.SMALL + 2)})
    b = a.set(1000, -1).remove(5)
    seen = []
    for k, v in a.items():
        assert 1000 in b and 5 not in b
        seen.append((k, v))
    # (in some order: rerooting deletes and re-inserts keys)
    assert sorted(seen) == [(i, i) for i in range(1, state.SMALL + 2)]


def test_a_map_of_int_and_str_keys_keeps_its_gaps() -> None:
    # first_gap() remembers gaps of int keys; removing a key of another type leaves them be
    m: FMap[object, int] = FMap({**{i: i for i in range(3, 3 + state.SMALL + 4)}, "x": 0})
    assert m.first_gap(3) == 3 + state.SMALL + 4  # type: ignore[misc]
    n = m.remove("x").remove(10)
    assert "x" not in n and n.first_gap(3) == 10  # type: ignore[misc]
    assert m.first_gap(3) == 3 + state.SMALL + 4 and "x" in m  # type: ignore[misc]


def test_the_dict_a_large_version_hands_out_is_its_own() -> None:
    # a version of SMALL keys made by removing one from a larger, shared family: the dict _d
    # gives is this version's contents even after another version is read
    big = FMap({i: i for i in range(state.SMALL + 1)})
    small = big.remove(0)
    assert len(small) == state.SMALL
    d = small._d
    assert 0 in big  # reading big moves the shared dict back to it
    assert d == {i: i for i in range(1, state.SMALL + 1)}


def test_setting_the_value_a_key_holds_is_the_same_map() -> None:
    v = ("a",)
    fm = FMap({1: v, 2: ("b",)})
    assert fm.set(1, v) is fm
    other = fm.set(1, tuple(["a"]))  # an equal value, another object
    assert other == fm
    assert fm.set(3, v) is not fm and dict(fm.set(3, v)) == {1: v, 2: ("b",), 3: v}
