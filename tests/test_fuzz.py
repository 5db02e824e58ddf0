"""Every entry point, fuzzed at a small count in the default run (issue 14): no input crashes
the parsers, the checker, the model or any CLI command, or takes over 5 s. The same harness runs
at scale with `python benchmarks/fuzz.py --inputs 100000` (see docs/reliability.md)."""

from __future__ import annotations

import pytest

from listenspec.fuzz import Crash, entries, fuzz
from listenspec.fuzz.entries import Invocation, _cli, _parse_entry
from listenspec.fuzz.inputs import MEGABYTE

#: inputs per entry point here: enough to draw every kind of input a few times, in seconds
SMALL = 25


@pytest.mark.parametrize("entry", sorted(entries()))
def test_no_input_crashes_or_hangs(entry: str) -> None:
    tally = fuzz(entry, SMALL, seed_value=0)
    assert tally.inputs == SMALL
    assert (tally.crashes, tally.hangs) == (0, 0), tally.findings[:3]
    assert tally.ok + tally.errors == SMALL


@pytest.mark.parametrize("data", [
    b"listen(3, " + b"1" * MEGABYTE + b")\n",
    b'send(3, "' + b"\xff" * 1000 + b'")\n',
    b"listen(" + b"(" * 100_000 + b"\n",
    b"\xed\xa0\x80\n",  # an encoded surrogate: not UTF-8
])
def test_the_hardest_kinds_are_clean_errors(data: bytes) -> None:
    assert _parse_entry(False)(data) == "error"
    assert _parse_entry(True)(data) == "error"


def test_the_harness_sees_a_crash_and_a_bad_exit() -> None:
    # The fuzzer must be able to fail: an exception escaping main() and an exit 3 are crashes.
    from listenspec import profile_table

    real = profile_table.table
    try:
        profile_table.table = lambda chosen: 1 // 0  # type: ignore[assignment,misc]
        found = _cli(Invocation(("profiles",)))
    finally:
        profile_table.table = real
    assert isinstance(found, Crash) and "exit 3" in found.what and "ZeroDivisionError" in found.what
    assert _cli(Invocation(("profiles",))) == "ok"
    assert _cli(Invocation(("profiles", "--width", "x"))) == "error"


# --- walks (listenspec/fuzz/walks.py): the explorer's moves, one at a time


def test_a_walk_is_a_script_that_runs_under_its_profile() -> None:
    import random

    from listenspec.fuzz.walks import walk
    from listenspec.models.profiles import get
    from listenspec.runner import run_model
    from listenspec.script import parse

    for i in range(20):
        text = walk(random.Random(i), "linux", 12).decode()
        script = parse(text, "<walk>")
        assert 1 <= len(script.steps) <= 12
        assert len(run_model(script, get("linux"))) == len(script.steps)
    assert len({walk(random.Random(i), "linux", 12) for i in range(20)}) > 15


def test_walks_find_a_crash_planted_in_the_lifecycle_table() -> None:
    # Without the row that lets a bound socket close, closing one is a model crash; walks over
    # every domain must meet it within a few hundred draws (measured: 29 of these 300), and
    # a walk stops at the call that crashed, so that `run` meets it too.
    import random

    from listenspec.fuzz.entries import _run
    from listenspec.fuzz.walks import walk
    from listenspec.models import tables
    from listenspec.models.state import SockState

    row = (SockState.BOUND, "close")
    saved = tables.LIFECYCLE.pop(row)
    try:
        found = []
        for i in range(300):
            data = walk(random.Random(i), "freebsd-src", 20)
            try:
                _run((data, "freebsd-src"))
            except AssertionError as e:
                found.append((data.decode().splitlines()[-1], str(e)))
    finally:
        tables.LIFECYCLE[row] = saved
    assert found
    assert all(last.startswith("close(") and "from bound on close" in why
               for last, why in found), found[:3]
