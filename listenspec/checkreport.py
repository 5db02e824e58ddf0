"""What `listenspec check` says about a trace: the verdict, the first difference, every line.

`CheckReport.of(trace, profile)` runs the checker (listenspec.checker) and holds its answer;
`as_json()` is what `check --json` prints and `lines(file)` what it prints as text.
"""

from __future__ import annotations

from typing import Any

import attrs

from .checker import Verdict, check
from .models.profiles import Profile, get
from .results import render
from .script import Script

#: where the docs say what keep-going mode continues from (docs/cli.md)
KEEP_GOING_DOC = "docs/cli.md#keep-going"


@attrs.frozen
class CheckReport:
    """The checker's answer for one trace under one profile."""

    trace: str  #: the trace's file name, as given to `parse`
    profile: str  #: the profile's name
    verdicts: tuple[Verdict, ...]  #: one per line judged (all lines with keep_going)
    keep_going: bool = False

    @classmethod
    def of(cls, trace: Script, profile: Profile | str, *,
           keep_going: bool = False) -> CheckReport:
        """Check `trace` (from `parse(text, file, trace=True)`) under `profile`."""
        p = get(profile) if isinstance(profile, str) else profile
        return cls(trace.file, p.name, tuple(check(trace, p, keep_going=keep_going)),
                   keep_going)

    @property
    def ok(self) -> bool:
        """The profile allows every line of the trace."""
        return all(v.ok for v in self.verdicts)

    @property
    def differences(self) -> tuple[Verdict, ...]:
        """The lines the profile does not allow (at most one without keep_going); a line the
        checker could not decide (Verdict.undecided) is not one."""
        return tuple(v for v in self.verdicts if not v.ok and v.undecided is None)

    @property
    def first_difference(self) -> Verdict | None:
        return next((v for v in self.verdicts if not v.ok and v.undecided is None), None)

    @property
    def first_undecided(self) -> Verdict | None:
        """The first line the checker could not decide, if it comes before any difference."""
        for v in self.verdicts:
            if not v.ok:
                return v if v.undecided is not None else None
        return None

    @property
    def verdict(self) -> str:
        """allowed, differs, or undecided (the first line not allowed is undecided)."""
        if self.ok:
            return "allowed"
        return "undecided" if self.first_undecided is not None else "differs"

    @property
    def skipped(self) -> int:
        """Lines not compared: the trace's executor could not perform them."""
        return sum(v.skipped for v in self.verdicts)

    def as_json(self) -> dict[str, Any]:
        """One object: verdict, profile, first difference and the per-line results."""
        first = self.first_difference
        rows = []
        seen_difference = False
        for v in self.verdicts:
            rows.append({
                "line": v.step.line,
                "call": v.step.text,
                "result": render(v.actual),
                "expected": render(v.expected),
                "ok": v.ok,
                "skipped": v.skipped,
                # judged after an earlier difference (keep-going): maybe a consequence of it
                "after_difference": seen_difference,
                # only on a line the checker could not decide (docs/cli.md#undecided)
                **({"undecided": v.undecided} if v.undecided is not None else {}),
            })
            seen_difference = seen_difference or not v.ok
        return {
            "trace": self.trace,
            "profile": self.profile,
            "verdict": self.verdict,
            "keep_going": self.keep_going,
            "first_difference": None if first is None else _difference(first),
            "undecided": None if (u := self.first_undecided) is None else
            {**_difference(u), "why": u.undecided},
            "differences": len(self.differences),
            "not_compared": self.skipped,
            "lines": rows,
        }

    def lines(self, file: str) -> list[str]:
        """The text `listenspec check` prints: each differing line as `FILE:LINE:COL: ...`,
        or one line saying the trace is allowed."""
        if self.ok:
            note = (f" ({self.skipped} not compared: unsupported by the trace's executor)"
                    if self.skipped else "")
            return [f"{file}: all {len(self.verdicts) - self.skipped} lines allowed by "
                    f"{self.profile}{note}"]
        out = []
        undecided = self.first_undecided
        if undecided is not None:
            out.append(f"{file}:{undecided.step.line}:{undecided.step.result_col}: undecided: "
                       f"`{undecided.step.text}` has `{render(undecided.actual)}`; "
                       f"{undecided.undecided}")
            if not self.differences:
                return out
        first = self.differences[0]
        for v in self.differences:
            after = f" (after the difference at line {first.step.line})" if v is not first else ""
            out.append(f"{file}:{v.step.line}:{v.step.result_col}: {self.profile} expects "
                       f"`{v.step.text} = {render(v.expected)}`, the trace has "
                       f"`{render(v.actual)}`{after}")
        if self.keep_going:
            judged = len(self.verdicts) - self.skipped
            out.append(f"{file}: {len(self.differences)} of {judged} lines differ from "
                       f"{self.profile}; after line {first.step.line} each line is judged from "
                       f"what {self.profile} allows at the earlier differences (see "
                       f"{KEEP_GOING_DOC})")
        return out


def _difference(v: Verdict) -> dict[str, Any]:
    return {"line": v.step.line, "col": v.step.result_col, "call": v.step.text,
            "expected": render(v.expected), "result": render(v.actual)}
