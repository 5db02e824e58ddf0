"""The model's cost per step does not grow with the number of open sockets, and a run keeps no
state per step (issue 14.2). Measured by counting work, not by timing it: the figures (seconds,
peak memory for growing scripts) come from benchmarks/bench_memory.py."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from listenspec.models.profiles import get
from listenspec.models.state import FMap
from listenspec.runner import ModelRun, run_model
from listenspec.script import parse

MODEL = str(Path(__file__).resolve().parents[1] / "models")

ROUND = """c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
netstat(s)
a = accept(s)
close(a)
close(c1)
close(c2)
b = accept(s)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
close(u)
c3 = socket(AF_INET, SOCK_STREAM)
connect(c3, s)
connect(c3, s)
close(c3)
"""


def _opened(n: int, profile: str) -> ModelRun:
    """A run with n sockets open and a listener s (backlog 1, so connects overflow too)."""
    run = ModelRun(get(profile))
    text = "".join(f"k{i} = socket(AF_INET, SOCK_STREAM)\n" for i in range(n))
    for step in parse(text + "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n").steps:
        run.step(step)
    return run


def _lines_run(run: ModelRun, text: str) -> int:
    """Python lines executed in the model (models/) while the run takes these steps."""
    steps = parse(text, "<round>").steps
    # The names the round uses were bound before it, so the parser accepts it standalone.
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if not frame.f_code.co_filename.startswith(MODEL):
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        for step in steps:
            run.step(step)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("profile", ["linux", "freebsd-src", "bsd-4.4"])
def test_a_step_does_the_same_work_with_many_sockets_open(profile: str) -> None:
    text = "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n" + ROUND
    counts = []
    for n in (200, 3000):
        run = _opened(n, profile)
        _lines_run(run, text)  # once first: what is built once per run is not per step
        counts.append(_lines_run(run, text))
    few, many = counts
    assert many <= few * 1.1 + 20, (few, many)  # was ~15x: scans over every descriptor


def test_run_model_keeps_no_state_per_step() -> None:
    text = "".join(f"k{i} = socket(AF_INET, SOCK_STREAM)\n" for i in range(500))
    script = parse(text + "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n" + ROUND * 90)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        trace = run_model(script, get("linux"))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(trace) == len(script.steps) > 2000
    assert kept < 2_000_000, kept  # ~1 KB a step, not one host state (~100 KB here) a step


def test_setting_a_key_of_a_large_map_copies_nothing() -> None:
    big = FMap({i: i for i in range(50_000)})
    tracemalloc.start()
    try:
        new = big.set(7, -7).remove(8).set(50_000, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000, peak  # a copy of the dict is ~2.5 MB
    assert new[7] == -7 and 8 not in new and big[7] == 7 and 8 in big and len(big) == 50_000
