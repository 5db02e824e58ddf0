"""The kernel executor's counters: `lookup(name)` is `snapshot().get(name)`, found without
building the snapshot, on this machine's /proc/net files and on made-up ones whose section and
field names collide every way the three name forms allow."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

if not sys.platform.startswith("linux"):  # pragma: no cover
    pytest.skip("the counters are Linux's /proc/net files", allow_module_level=True)

from listenspec.kernel.counters import Counters


def _reading(*paths: Path) -> Counters:
    counters = Counters()
    counters.close()
    counters._fds = [os.open(p, os.O_RDONLY | os.O_CLOEXEC) for p in paths]
    return counters


def _names(counters: Counters) -> set[str]:
    return {*counters.snapshot(), "NoSuchCounter", "TcpExt.", "Tcp", ".ListenDrops", ""}


def test_lookup_is_the_snapshots_value_for_this_machines_counters() -> None:
    counters = Counters()  # this process's namespace: only read
    try:
        snap = counters.snapshot()
        assert "TcpExt.ListenOverflows" in snap and "ListenOverflows" in snap
        for name in _names(counters):
            assert counters.lookup(name) == counters.snapshot().get(name), name
    finally:
        counters.close()


_WORD = st.sampled_from(["Tcp", "TcpExt", "Ext", "A", "TcpA", "ExtA", ".A"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Tcp", "TcpExt", "Ip", "Ext"]),
                          st.lists(_WORD, min_size=1, max_size=4)), min_size=1, max_size=4),
       st.lists(st.sampled_from(["Tcp", "TcpExt", "Ip", "Ext", "A", ".A"]), max_size=3))
def test_lookup_is_the_snapshots_value_whatever_the_names(
        tmp_path_factory: pytest.TempPathFactory, sections: list[tuple[str, list[str]]],
        queries: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("counters")
    text = "".join(f"{prefix}: {' '.join(keys)}\n{prefix}: "
                   f"{' '.join(str(10 * i + j) for j in range(len(keys)))}\n"
                   for i, (prefix, keys) in enumerate(sections))
    (tmp / "netstat").write_text(text)
    counters = _reading(tmp / "netstat")
    try:
        snap = counters.snapshot()
        for name in {*snap, *("".join(queries[:k]) for k in range(len(queries) + 1))}:
            assert counters.lookup(name) == snap.get(name), (name, text)
    finally:
        counters.close()
