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
