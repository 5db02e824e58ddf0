"""One script on several systems side by side (`listenspec compare`): a column per profile (the
model) and per target (a real stack), each line marked where the systems differ.

A profile's column shows what `listenspec run --profile P` prints. Where the system may answer
a call several ways (which SO_REUSEPORT listener a connection reaches), the column also lists,
in the cell, every other answer the profile allows at that line after the lines above it as
shown (`fd (or -1 EAGAIN)`), and the line counts the ways (`ways`).

A line is marked
- `same`: every two columns show results that agree (`checker.allows`: log placeholders match
  any text, a descriptor number matches `fd`);
- `may agree`: some columns show different results, but for every such pair one column's
  result is one the other's profile allows at that line, reading the first column's results
  above it as a trace (the checker's own judgement, `check(keep_going=True)`); that is, the
  difference is only which of the allowed ways each system took;
- `differs`: some pair of columns disagrees and neither allows the other's result there.
A cell a target could not produce (`unsupported("why")`) is not compared with anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from .checker import MAX_WORLDS, allows, check
from .columns import Table
from .models.profiles import Profile
from .results import Result, Unsupported, render
from .runner import ModelRun
from .script import Script

SAME, MAY_AGREE, DIFFERS = "same", "may agree", "differs"
#: the gutter marks of the text and Markdown tables
MARKS = {SAME: "", MAY_AGREE: "~", DIFFERS: "≠"}


@attrs.frozen
class Column:
    name: str  # its header: a profile's name, or the target's ("kernel" for linux)
    kind: str  # "profile" or "target"
    results: tuple[Result, ...]  # what the system gives, one per step
    # per step: every other result the profile allows there, after the steps above as shown
    others: tuple[tuple[Result, ...], ...]
    ways: tuple[int, ...]  # per step: how many ways the profile could take it (1: one)
    profile: Profile | None = None
    describe: str = ""  # a target's own one-line description

    def cell(self, i: int) -> str:
        text = render(self.results[i])
        if self.others[i]:
            text += " (or " + " or ".join(render(r) for r in self.others[i]) + ")"
        return text


def profile_column(script: Script, profile: Profile) -> Column:
    """The profile's answers, as `run` gives them, with every other answer it allows at each line
    after the lines above as shown (the runs that agree with the column so far are all kept, as
    the checker keeps them)."""
    worlds = [ModelRun(profile)]
    results: list[Result] = []
    others: list[tuple[Result, ...]] = []
    ways: list[int] = []
    for step in script.steps:
        per_world = [w.branches(step) for w in worlds]  # (taking a step advances a run)
        branches = [b for bs in per_world for b in bs]
        shown = branches[0][0].result  # the first way of the first run: what `run` prints
        results.append(shown)
        distinct: list[Result] = []
        for executed, _ in branches[1:]:
            r = executed.result
            if r != shown and r not in distinct:
                distinct.append(r)
        others.append(tuple(distinct))
        ways.append(max(len(bs) for bs in per_world))
        worlds = [run for executed, run in branches if executed.result == shown][:MAX_WORLDS]
    return Column(profile.name, "profile", tuple(results), tuple(others), tuple(ways), profile)


def target_column(name: str, results: Sequence[Result], describe: str = "") -> Column:
    n = len(results)
    label = "kernel" if name == "linux" else name
    return Column(label, "target", tuple(results), ((),) * n, (1,) * n, None, describe)


def _as_trace(script: Script, results: Sequence[Result]) -> Script:
    return Script(script.file, tuple(attrs.evolve(s, expected=r)
                                     for s, r in zip(script.steps, results, strict=True)))


@attrs.frozen
class Comparison:
    script: Script
    columns: tuple[Column, ...]
    marks: tuple[str, ...]  # per step: SAME, MAY_AGREE or DIFFERS
    # target column -> profile -> the first line the profile does not allow (None: allowed)
    verdicts: dict[str, dict[str, int | None]]

    def table(self) -> Table:
        return Table(("line", "script"), tuple(c.name for c in self.columns),
                     tuple((str(s.line), s.text) for s in self.script.steps),
                     tuple(tuple(c.cell(i) for c in self.columns)
                           for i in range(len(self.script.steps))),
                     tuple(MARKS[m] for m in self.marks))

    def notes(self) -> list[str]:
        """What the marks mean (only those that occur), the lines a profile may take several
        ways, what was not compared, and each target's verdict under each profile."""
        out: list[str] = []
        if DIFFERS in self.marks:
            out.append(f"{MARKS[DIFFERS]}  the systems differ on this line: two columns "
                       "disagree, and neither is a profile that allows the other's result "
                       "there")
        if MAY_AGREE in self.marks:
            out.append(f"{MARKS[MAY_AGREE]}  the columns differ only in which allowed way the "
                       "systems took: each differing result is one the other profile allows "
                       "here (after the lines above as that column shows them)")
        for i, step in enumerate(self.script.steps):
            several = [c.name for c in self.columns if c.ways[i] > 1]
            if several:
                n = max(c.ways[i] for c in self.columns)
                out.append(f"line {step.line}: {', '.join(several)} may answer `{step.text}` "
                           f"in {n} ways; each column shows the one `run` gives (and in "
                           "'(or ...)' any other result a way gives later)")
        for c in self.columns:
            skipped = [self.script.steps[i].line for i, r in enumerate(c.results)
                       if isinstance(r, Unsupported)]
            if skipped:
                out.append(f"{c.name}: line(s) {', '.join(map(str, skipped))} not compared: "
                           "the target could not perform the call (unsupported), so there is "
                           "no result to compare")
        for name, per in self.verdicts.items():
            ok = [p for p, line in per.items() if line is None]
            bad = [f"{p} (line {line})" for p, line in per.items() if line is not None]
            parts = []
            if ok:
                parts.append(f"allowed by {', '.join(ok)}")
            if bad:
                parts.append(f"not by {', '.join(bad)}")
            out.append(f"{name}'s trace, checked (`listenspec check`): {'; '.join(parts)}")
        return out

    def as_json(self) -> dict[str, Any]:
        lines = []
        for i, step in enumerate(self.script.steps):
            lines.append({
                "line": step.line,
                "call": step.text,
                "results": {c.name: render(c.results[i]) for c in self.columns},
                "also_allowed": {c.name: [render(r) for r in c.others[i]]
                                 for c in self.columns if c.others[i]},
                "ways": {c.name: c.ways[i] for c in self.columns if c.ways[i] > 1},
                "mark": self.marks[i],
            })
        return {
            "script": self.script.file,
            "systems": [{"name": c.name, "kind": c.kind,
                         **({"describe": c.describe} if c.kind == "target" else {})}
                        for c in self.columns],
            "lines": lines,
            "targets": self.verdicts,
        }


def _agree(a: Column, b: Column, ra: Result, rb: Result) -> bool:
    if a.kind == "profile":
        return allows(ra, rb)
    if b.kind == "profile":
        return allows(rb, ra)
    return ra == rb


def compare(script: Script, columns: Sequence[Column]) -> Comparison:
    """Mark every line of the script (see the module doc) and check each target's trace under
    each profile."""
    cols = tuple(columns)
    n = len(script.steps)
    # allowed[(a, b)][i]: b's result at line i is one a's profile allows, reading b's results
    # above it as a trace
    allowed: dict[tuple[int, int], list[bool]] = {}
    for ia, a in enumerate(cols):
        if a.profile is None:
            continue
        for ib, b in enumerate(cols):
            if ib != ia:
                vs = check(_as_trace(script, b.results), a.profile, keep_going=True)
                # a line the checker could not decide (it left ways out) is not shown as a
                # difference: one of the ways left out may allow it
                allowed[(ia, ib)] = [v.ok or v.undecided is not None for v in vs]
    marks = []
    for i in range(n):
        mark = SAME
        for ia, a in enumerate(cols):
            for ib in range(ia + 1, len(cols)):
                b = cols[ib]
                ra, rb = a.results[i], b.results[i]
                if isinstance(ra, Unsupported) or isinstance(rb, Unsupported):
                    continue
                if _agree(a, b, ra, rb):
                    continue
                if allowed.get((ia, ib), [False] * n)[i] or allowed.get((ib, ia),
                                                                        [False] * n)[i]:
                    mark = DIFFERS if mark == DIFFERS else MAY_AGREE
                else:
                    mark = DIFFERS
        marks.append(mark)
    verdicts: dict[str, dict[str, int | None]] = {}
    for ib, b in enumerate(cols):
        if b.kind != "target":
            continue
        per: dict[str, int | None] = {}
        for ia, a in enumerate(cols):
            if a.profile is not None:
                bad = [script.steps[i].line for i, ok in enumerate(allowed[(ia, ib)]) if not ok]
                per[a.name] = bad[0] if bad else None
        verdicts[b.name] = per
    return Comparison(script, cols, tuple(marks), verdicts)
