"""An example's reviewed trace next to the model's, line by line: what `listenspec verify`
checks for each script × profile, kept whole so a report can show every line, not only the
first that differs.

The model replays the trace's calls as `check` does (a line its executor did not perform is
skipped, not run), but goes on after a difference: the model's own run continues, so every
later line shows both results and whether they agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from .errors import ListenspecError
from .models.profiles import PROFILES
from .results import Unsupported, matches, render
from .runner import ModelRun
from .script import parse
from .spec.examples import Example


@attrs.frozen
class Line:
    line: int  # in the trace file
    script_line: int | None  # the same call in the script (None: the trace has more lines)
    call: str
    expected: str  # the reviewed trace's result
    model: str  # what the model gives now
    ok: bool
    skipped: bool = False  # `unsupported(...)` in the trace: not run, not compared

    def as_json(self) -> dict[str, object]:
        return {"line": self.line, "script_line": self.script_line, "call": self.call,
                "expected": self.expected, "model": self.model, "ok": self.ok,
                **({"skipped": True} if self.skipped else {})}


@attrs.frozen
class Trace:
    example: str
    profile: str
    clauses: tuple[str, ...]
    trace: str  # the expected-trace file, as a reader finds it (relative to the cwd if inside)
    script: str  # the example script
    lines: tuple[Line, ...]
    problem: str = ""  # the trace could not be compared at all (missing, malformed, stale)

    @property
    def ok(self) -> bool:
        return not self.problem and all(ln.ok for ln in self.lines)

    @property
    def first(self) -> Line | None:
        """The first line where the reviewed trace and the model differ."""
        return next((ln for ln in self.lines if not ln.ok), None)

    def where(self) -> str:
        """`FILE:LINE` of the first difference (the trace file alone when it has none)."""
        first = self.first
        return f"{self.trace}:{first.line}" if first is not None else self.trace

    def detail(self) -> str:
        """One line saying what differs, for the terminal and the report."""
        if self.problem:
            return self.problem
        first = self.first
        if first is None:
            return ""
        at = f" ({self.script}:{first.script_line})" if first.script_line else ""
        return (f"{self.where()}{at}: {first.call}: expected {first.expected}, "
                f"the model gives {first.model}")

    def as_json(self) -> dict[str, object]:
        first = self.first
        return {"example": self.example, "profile": self.profile, "ok": self.ok,
                "clauses": list(self.clauses), "trace": self.trace, "script": self.script,
                "where": self.where() if not self.ok else None,
                "problem": self.problem or None,
                "first_difference": first.as_json() if first is not None else None,
                "lines": [ln.as_json() for ln in self.lines]}


def shown(path: Path) -> str:
    """A path as a reader would type it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def annotate(ex: Example, profile: str) -> Trace:
    """The example's expected trace under `profile`, every line compared with the model."""
    path = ex.trace_path(profile)
    base = Trace(ex.name, profile, ex.clauses, shown(path), shown(ex.path), ())
    if not path.exists():
        return attrs.evolve(base, problem=f"{base.trace}: no expected trace")
    try:
        trace = parse(path.read_text(encoding="utf-8"), base.trace, trace=True)
    except ListenspecError as e:
        return attrs.evolve(base, problem=str(e))
    run = ModelRun(PROFILES[profile])
    script_lines = [s.line for s in ex.script.steps]
    lines = []
    for i, step in enumerate(trace.steps):
        assert step.expected is not None  # parsed as a trace
        at = script_lines[i] if i < len(script_lines) else None
        if isinstance(step.expected, Unsupported):
            run.skip(step)
            text = render(step.expected)
            lines.append(Line(step.line, at, step.text, text, text, True, skipped=True))
            continue
        got = run.step(step).result
        lines.append(Line(step.line, at, step.text, render(step.expected), render(got),
                          matches(got, step.expected)))
    problem = ""
    calls = [s.text for s in trace.steps]
    if calls != [s.text for s in ex.script.steps]:
        problem = (f"{base.trace}: its calls are not those of {base.script}: the trace is "
                   f"stale (rewrite it with "
                   f"`python -m listenspec.spec.examples --write` and review the diff)")
    return attrs.evolve(base, lines=tuple(lines), problem=problem)
