"""A call is declared once (listenspec/calls.py), and everything else follows from that: declare
a new call, give it a model transition (and an executor method), and the parser, the runner,
the explorer's alphabet, the Hypothesis machines, the conformance generator, the docs' call
table and the kernel executor's dispatch all take it up with no other change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listenspec import calls
from listenspec.alphabet import Alphabet
from listenspec.calls import CallSpec, Param
from listenspec.errors import ListenspecError
from listenspec.explore import explore
from listenspec.kernel.executor import Executor
from listenspec.machines import machine_for, run_machine
from listenspec.models import host
from listenspec.models.outcome import Outcome, refuse
from listenspec.models.profiles import PROFILES
from listenspec.models.state import Host
from listenspec.models.tables import refusal, resolve
from listenspec.models.values import Ret
from listenspec.results import Result, render
from listenspec.runner import run_model
from listenspec.script import Call, parse
from listenspec.scriptgen import scripts

POKE = CallSpec("poke", ((Param("S", "desc"), Param("N", "value")),), "a call made up here",
                "int", explore=lambda a: [(7,)])


def _poke(p: object, h: Host, fd: int, n: int) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("netstat", p, c)) is not None:  # type: ignore[arg-type]
        return refuse(h, errno)
    return Outcome(h, Ret(n))


def _kernel_poke(self: Executor, call: Call) -> Result:
    return Ret(int(call.args[1]))  # type: ignore[call-overload]


@contextmanager
def declared() -> Iterator[None]:
    calls.declare(POKE)
    host.CALLS["poke"] = _poke
    Executor._poke = _kernel_poke  # type: ignore[attr-defined]
    try:
        yield
    finally:
        calls.undeclare("poke")
        del host.CALLS["poke"]
        del Executor._poke  # type: ignore[attr-defined]


def test_the_parser_and_the_runner_take_it_up() -> None:
    text = "s = socket(AF_INET, SOCK_STREAM)\npoke(s, 3)\npoke(400, 1)\n"
    with pytest.raises(ListenspecError, match="unknown call 'poke'"):
        parse(text)
    with declared():
        results = [render(e.result) for e in run_model(parse(text), PROFILES["linux"])]
        assert results == ["fd", "3", "-1 EBADF"]
        with pytest.raises(ListenspecError, match="poke takes 2 argument"):
            parse("poke(3)\n")
        with pytest.raises(ListenspecError, match="cannot be bound"):
            parse("x = poke(3, 1)\n")
    with pytest.raises(ListenspecError, match="unknown call 'poke'"):
        parse(text)


def test_the_explorer_tries_it() -> None:
    p = PROFILES["freebsd-src"]
    before = explore(p, 3, progress=False)
    with declared():
        assert "poke(S, VALUE) 7" in Alphabet(p).describe()
        after = explore(p, 3, progress=False)
    assert after.distinct_states == before.distinct_states  # poke changes nothing
    assert after.transitions > before.transitions


def test_the_machines_get_a_rule_for_it() -> None:
    with declared():
        cls = machine_for("linux")
        assert hasattr(cls, "call_poke")
        run_machine("linux", examples=10, steps=20, seed_value=1)
    assert not hasattr(machine_for("linux"), "call_poke")


def test_the_generator_writes_it() -> None:
    seen: list[bool] = []

    @settings(max_examples=60, database=None, deadline=None)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        s = data.draw(scripts(max_steps=25))
        seen.append(any(step.call.name == "poke" for step in s.steps))

    with declared():
        draw()
    assert any(seen)


def test_the_docs_table_and_the_kernel_dispatch_take_it_up() -> None:
    from pathlib import Path

    from listenspec.docsgen.directives import HANDLERS, Build, Where

    with declared():
        where = Where(Build(Path("docs"), Path(".")), "x.md")
        table = HANDLERS["calls"](where, [])
        assert "poke(S, VALUE)" in table and "a call made up here" in table
        ex = Executor(isolated=False)
        try:
            assert "poke" in ex._calls
        finally:
            ex.close()
